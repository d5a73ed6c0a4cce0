/**
 * The fuzz suite's oracle: what makes one call fail (test/fuzz/README.md,
 * "The rules"). It reads tensors through its own strided loop, not through
 * kdgrad's kernels, so a broken kernel cannot hide its own output.
 */
import { KdgradError, Tensor } from "../../src/index.js";

/** Thrown by the suite's own callbacks (user code); the library must let it through untouched. */
export class UserError extends Error {
  constructor(message = "user callback failed") {
    super(message);
    this.name = "UserError";
  }
}

/** The function part of a message: the text before the first ": " (the whole message if there is none). */
export function functionPart(message: string): string {
  const i = message.indexOf(": ");
  return i < 0 ? message : message.slice(0, i);
}

/** Why a thrown value breaks the rules, or null if it is a KdgradError that names one of `names`. */
export function thrownProblem(e: unknown, names: readonly string[]): string | null {
  if (e instanceof UserError) return null;
  if (!(e instanceof KdgradError)) {
    const what = e instanceof Error ? `${e.constructor.name}: ${e.message}` : `a non-Error value ${String(e)}`;
    return `threw ${what} (not a KdgradError)`;
  }
  if (typeof e.message !== "string" || e.message.length === 0) return `threw ${e.name} with an empty message`;
  const head = functionPart(e.message);
  if (!names.includes(head)) {
    return `threw ${e.name} whose message names "${head}", not the function called (${names.map((n) => `"${n}"`).join(" or ")}): ${e.message.split("\n")[0]}`;
  }
  if (e.name !== e.constructor.name) return `threw ${e.constructor.name} whose name property is "${e.name}"`;
  return null;
}

const STORAGE = [Float32Array, Float64Array, Int32Array] as const;
const DTYPE_OF = new Map<unknown, string>([[Float32Array, "float32"], [Float64Array, "float64"], [Int32Array, "int32"]]);

/** Why a tensor is not well formed (bad shape, strides, offset, storage or dtype), or null. */
export function malformed(t: Tensor): string | null {
  const shape = t.shape as unknown;
  const strides = t.strides as unknown;
  if (!Array.isArray(shape) || !Array.isArray(strides)) return "shape or strides is not an array";
  if (!STORAGE.some((C) => t.data instanceof C)) return `storage is a ${(t.data as object)?.constructor?.name}, not Float32Array, Float64Array or Int32Array`;
  if (DTYPE_OF.get(t.data.constructor) !== t.dtype) return `dtype "${t.dtype}" but storage ${t.data.constructor.name}`;
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) return `shape [${shape.join(",")}] holds a size that is not a non-negative integer`;
  if (strides.length !== shape.length) return `strides [${strides.join(",")}] do not match shape [${shape.join(",")}]`;
  if (strides.some((s) => !Number.isInteger(s))) return `strides [${strides.join(",")}] hold a non-integer`;
  if (!Number.isInteger(t.offset) || t.offset < 0) return `offset ${t.offset} is not a non-negative integer`;
  let size = 1;
  for (const d of shape as number[]) size *= d;
  if (size > 0) {
    let lo = t.offset;
    let hi = t.offset;
    (shape as number[]).forEach((d, i) => {
      const s = (strides as number[])[i]! * (d - 1);
      if (s < 0) lo += s;
      else hi += s;
    });
    if (lo < 0 || hi >= t.data.length) return `view [${lo}, ${hi}] reads outside its storage of ${t.data.length} elements (shape [${shape.join(",")}], strides [${strides.join(",")}], offset ${t.offset})`;
  }
  return null;
}

/** A tensor's elements in row-major order, read through its strides (at most `limit` of them). */
export function elements(t: Tensor, limit = Infinity): number[] {
  const shape = t.shape;
  const n = shape.length;
  let size = 1;
  for (const d of shape) size *= d;
  const out: number[] = [];
  const idx = new Array<number>(n).fill(0);
  for (let k = 0; k < Math.min(size, limit); k++) {
    let p = t.offset;
    for (let i = 0; i < n; i++) p += idx[i]! * t.strides[i]!;
    out.push(t.data[p]!);
    for (let d = n - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}

/** The first non-finite element of a float tensor, as a description, or null. */
export function nonFinite(t: Tensor, what: string): string | null {
  if (t.dtype === "int32") return null;
  const xs = elements(t);
  const i = xs.findIndex((x) => !Number.isFinite(x));
  return i < 0 ? null : `${what} is ${xs[i]} at flat index ${i} of shape [${t.shape.join(",")}] where the policy promises a finite value`;
}

/** Every Tensor reachable in a value: itself, array items, Map values and object fields (two levels deep). */
export function tensorsIn(x: unknown, depth = 3): Tensor[] {
  if (x instanceof Tensor) return [x];
  if (depth === 0 || x === null || typeof x !== "object") return [];
  if (ArrayBuffer.isView(x)) return [];
  const items: unknown[] = x instanceof Map ? [...x.values()] : Array.isArray(x) ? x : Object.values(x);
  return items.flatMap((v) => tensorsIn(v, depth - 1));
}

/** Largest tensor the oracle reads element by element; bigger results (huge expanded views) are only checked for form. */
export const READ_LIMIT = 200_000;
