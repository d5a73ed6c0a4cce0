/**
 * The catalogue behind `{ k: "special" }` Args: user callbacks, op specs,
 * modules, optimizers, autograd graphs, byte strings written by the suite's
 * own minimal safetensors and .npy writers (so malformed and foreign files
 * can be made, independent of kdgrad's encoders), the digits data set's
 * bytes, and paths in a temporary directory. Each is built from plain
 * parameters, so a call replays from its printed form.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import * as kd from "../../src/index.js";
import { Generator, Linear, Module, Tensor, noGrad } from "../../src/index.js";
import { UserError } from "./oracle.js";
import { buildTensor, drawValues, prng, setSpecialBuilder, sizeOf, type DType, type TensorArg } from "./values.js";

// ------------------------------------------------------------------ callbacks

const needTensor = (x: unknown): Tensor => {
  if (!(x instanceof Tensor)) throw new UserError("the suite's callback was given a non-tensor");
  return x;
};

/** A user op with a deliberately wrong backward (twice the true gradient of the identity): gradcheck must catch it. */
const doubledGradient = kd.defineOp({
  name: "fuzzDoubledGradient",
  forward(_ctx, x: Tensor): Tensor {
    return x.clone();
  },
  backward(_ctx, g) {
    return [g.mul(2)];
  },
});

/**
 * User code: whatever goes wrong inside a callback (a kdgrad error from an op
 * the callback calls, on inputs it was not written for) leaves it as a
 * UserError, which the library must let through untouched.
 */
function userCode<F extends (...a: any[]) => unknown>(f: F): F {
  const wrapped = (...a: unknown[]): unknown => {
    try {
      return f(...a);
    } catch (e) {
      throw e instanceof UserError ? e : new UserError(`the callback failed: ${(e as Error)?.message}`);
    }
  };
  Object.defineProperty(wrapped, "name", { value: f.name });
  return wrapped as F;
}

const RAW_CALLBACKS: Record<string, (...a: any[]) => unknown> = {
  "fn:identity": (x) => x,
  /** Σ x², whose gradient is 2x. */
  "fn:sumsq": (x) => needTensor(x).mul(needTensor(x)).sum(),
  /** Σ tanh over every tensor argument: smooth, correct gradients. */
  "fn:tanh-sum": (...xs) => {
    let acc: Tensor | null = null;
    for (const x of xs) if (x instanceof Tensor && x.dtype !== "int32") acc = acc === null ? x.tanh().sum() : acc.add(x.tanh().sum());
    if (acc === null) throw new UserError("no float tensor argument");
    return acc;
  },
  "fn:nonscalar": (x) => needTensor(x).mul(2),
  "fn:number": () => 3,
  "fn:throws": () => {
    throw new UserError();
  },
  /** Differentiates inside a differentiated function: Σ 2x, whose gradient is 2 (the transforms nest). */
  "fn:nested-grad": (x) => (kd.grad((y: Tensor) => y.mul(y).sum()) as (y: Tensor) => Tensor)(needTensor(x)).sum(),
  "fn:no-grad": (x) => noGrad(() => needTensor(x).mul(2).sum()),
  "fn:wrong-backward": (x) => doubledGradient(needTensor(x)).tanh().sum(),
  /** 1 while grad mode is on, 0 under noGrad: what noGrad and enableGrad switch. */
  "fn:grad-mode": () => kd.tensor(kd.isGradEnabled() ? 1 : 0),
};
/**
 * A fresh function object for each call (defineComposite marks the function it is given, so
 * sharing one would make calls depend on each other). "fn:nested-grad" is not wrapped: an error
 * from the user's own inner grad() must name grad.
 */
function callback(name: string): (...a: unknown[]) => unknown {
  const f = RAW_CALLBACKS[name]!;
  if (name !== "fn:nested-grad") return userCode(f);
  const fresh = (...a: unknown[]): unknown => f(...a);
  Object.defineProperty(fresh, "name", { value: name });
  return fresh;
}

// ------------------------------------------------------------------ op specs for defineOp

/**
 * A user's op spec (the spec's functions are user code: what goes wrong inside them, such as
 * "forward-returns-input" leaving nothing saved for square's backward, is a UserError).
 */
function opSpec(kind: string): unknown {
  const spec = rawOpSpec(kind) as Record<string, unknown> | null;
  if (spec === null || typeof spec !== "object") return spec;
  for (const k of ["forward", "backward"]) if (typeof spec[k] === "function") spec[k] = userCode(spec[k] as (...a: unknown[]) => unknown);
  return spec;
}

function rawOpSpec(kind: string): unknown {
  const square = {
    name: "fuzzSquare",
    forward(ctx: { save(o: object): void }, x: Tensor): Tensor {
      ctx.save({ x });
      return x.mul(x);
    },
    backward(ctx: { saved: { x: Tensor } }, g: Tensor) {
      return [g.mul(ctx.saved.x).mul(2)];
    },
  };
  switch (kind) {
    case "square":
      return square;
    case "forward-returns-number":
      return { ...square, forward: () => 3 };
    case "forward-returns-input":
      return { ...square, forward: (_c: unknown, x: Tensor) => x };
    case "backward-returns-nothing":
      return { ...square, backward: () => undefined };
    case "backward-wrong-shape":
      return { ...square, backward: (_c: unknown, g: Tensor) => [kd.zeros([7, 5], { dtype: g.dtype })] };
    case "backward-int32":
      return { ...square, backward: (_c: unknown, g: Tensor) => [kd.zeros(g.shape, { dtype: "int32" })] };
    case "backward-number":
      return { ...square, backward: () => [2] };
    case "backward-throws":
      return {
        ...square,
        backward: () => {
          throw new UserError();
        },
      };
    case "no-name":
      return { ...square, name: undefined };
    case "domain":
      // The field removed with architecture v2 (domains live in test/op-samples.ts): refused, not ignored.
      return { ...square, domain: { inputs: [{}] } };
    case "null":
      return null;
    default:
      return { forward: 3 };
  }
}

// ------------------------------------------------------------------ modules and optimizers

export interface ModuleParams {
  kind: "linear" | "mlp" | "relu" | "tanh" | "gelu" | "dropout" | "sequential-empty" | "custom" | "nested" | "repr";
  inF: number;
  outF: number;
  dtype: "float32" | "float64";
  seed: number;
  bias?: boolean;
  training?: boolean;
  activation?: "relu" | "tanh" | "gelu";
  /** For kind "repr": which of REPRS its extraRepr returns. */
  repr?: number;
}

/** What a user's extraRepr may return: text (empty, one line, several), or, by mistake, not a string. */
export const REPRS: readonly unknown[] = ["", "a=1", "two\nlines", "x=(1, 2)", 3, null, undefined, {}];

/** A user's layer with its own extraRepr, and a child (so that printing nests). */
class FuzzRepr extends Module {
  constructor(readonly repr: unknown) {
    super();
    this.registerModule("act", new kd.ReLU());
  }
  override extraRepr(): string {
    return this.repr as string;
  }
  forward(x: Tensor): Tensor {
    return x;
  }
}

/** A module with its own parameter and a child, as a user would write one. */
class FuzzCustom extends Module {
  readonly w: Tensor;
  constructor(n: number, dtype: "float32" | "float64", seed: number) {
    super();
    this.w = this.registerParameter("w", buildTensor({ k: "tensor", dtype, shape: [n], layout: "contiguous", kind: "moderate", seed, grad: false }));
    this.registerModule("act", new kd.Tanh());
  }
  forward(x: Tensor): Tensor {
    return x.mul(this.w);
  }
}

export function buildModule(p: ModuleParams): Module {
  const g = new Generator(p.seed);
  let m: Module;
  switch (p.kind) {
    case "linear":
      m = new Linear(p.inF, p.outF, { dtype: p.dtype, generator: g, bias: p.bias ?? true });
      break;
    case "mlp":
      m = kd.mlp([Math.max(1, p.inF), 3, Math.max(1, p.outF)], { dtype: p.dtype, generator: g, activation: p.activation ?? "relu", dropout: p.training ? 0.25 : 0 });
      break;
    case "relu":
      m = new kd.ReLU();
      break;
    case "tanh":
      m = new kd.Tanh();
      break;
    case "gelu":
      m = new kd.GELU({ approximate: p.activation === "tanh" ? "tanh" : "none" });
      break;
    case "dropout":
      m = new kd.Dropout(0.5, { generator: g });
      break;
    case "sequential-empty":
      m = new kd.Sequential();
      break;
    case "custom":
      m = new FuzzCustom(p.inF, p.dtype, p.seed);
      break;
    case "repr":
      m = new FuzzRepr(REPRS[(p.repr ?? 0) % REPRS.length]);
      break;
    default:
      m = new kd.Sequential(new Linear(p.inF, p.outF, { dtype: p.dtype, generator: g }), new kd.Sequential(new kd.ReLU(), new Linear(p.outF, p.outF, { dtype: p.dtype, generator: g })));
  }
  if (p.training === false) m.eval();
  return m;
}

export interface OptimizerParams {
  cls: "SGD" | "Adam" | "AdamW";
  shapes: number[][];
  dtype: "float32" | "float64";
  options: Record<string, unknown>;
  /** The gradients set before step(): moderate values, special values, none, float64 on float32 parameters, or a strided view. */
  grads: "moderate" | "special" | "none" | "other-dtype" | "view";
  seed: number;
  /** Fields a user set by hand after construction (a learning rate, an initialLr), bad ones included. */
  set?: { lr?: unknown; initialLr?: unknown };
}

export function buildOptimizer(p: OptimizerParams): kd.Optimizer {
  const params = p.shapes.map((s, i) => buildTensor({ k: "tensor", dtype: p.dtype, shape: s, layout: "contiguous", kind: "moderate", seed: p.seed + i, grad: true }));
  params.forEach((t, i) => {
    if (p.grads === "none") return;
    const dtype: DType = p.grads === "other-dtype" ? (p.dtype === "float32" ? "float64" : "float32") : p.dtype;
    t.grad = buildTensor({ k: "tensor", dtype, shape: s(t), layout: p.grads === "view" ? "strided" : "contiguous", kind: p.grads === "special" ? "special" : "moderate", seed: p.seed + 100 + i, grad: false });
  });
  const C = (kd as unknown as Record<string, new (ps: Tensor[], o: unknown) => kd.Optimizer>)[p.cls]!;
  const opt = new C(params, p.options);
  if (p.set) Object.assign(opt, p.set);
  lastOptimizer = opt;
  return opt;
}

/** The optimizer built last (a schedule's children are built on the optimizer the call's first argument holds). */
let lastOptimizer: kd.Optimizer | null = null;
const s = (t: Tensor): number[] => [...t.shape];

// ------------------------------------------------------------------ autograd graphs (receivers of backward)

export interface GraphParams {
  dtype: "float32" | "float64";
  shape: number[];
  op: "leaf" | "sum" | "mul2" | "view" | "no-grad" | "freed" | "int-leaf";
  seed: number;
}

/** The number of elements read so far from a "big-expanded" tensor's storage. */
export const readsOf = new WeakMap<Tensor, () => number>();

/** A tensor to call backward on; `leafOf` gives the leaf whose .grad the call fills. */
export const leafOf = new WeakMap<Tensor, Tensor>();
export function buildGraph(p: GraphParams): Tensor {
  const leaf = buildTensor({ k: "tensor", dtype: p.op === "int-leaf" ? "int32" : p.dtype, shape: p.shape, layout: "contiguous", kind: "moderate", seed: p.seed, grad: p.op !== "no-grad" && p.op !== "int-leaf" });
  let y: Tensor;
  switch (p.op) {
    case "leaf":
    case "no-grad":
    case "int-leaf":
      y = leaf;
      break;
    case "sum":
      y = leaf.mul(leaf).sum();
      break;
    case "mul2":
      y = leaf.mul(2);
      break;
    case "view":
      y = leaf.reshape([-1]);
      break;
    case "freed":
      y = leaf.mul(leaf).sum();
      y.backward();
      leaf.grad = null;
      break;
  }
  leafOf.set(y, leaf);
  return y;
}

// ------------------------------------------------------------------ safetensors and .npy writers

const enc = new TextEncoder();

function rawBytes(dtype: string, values: number[], littleEndian = true): Uint8Array {
  const size = dtype === "F64" || dtype === "I64" ? 8 : dtype === "F16" || dtype === "BF16" || dtype === "I16" ? 2 : dtype === "U8" || dtype === "BOOL" || dtype === "I8" ? 1 : 4;
  const out = new Uint8Array(values.length * size);
  const view = new DataView(out.buffer);
  values.forEach((x, i) => {
    if (dtype === "F32") view.setFloat32(i * 4, x, littleEndian);
    else if (dtype === "F64") view.setFloat64(i * 8, x, littleEndian);
    else if (dtype === "I32") view.setInt32(i * 4, x, littleEndian);
    else if (dtype === "I64") view.setBigInt64(i * 8, BigInt(Math.trunc(x)), littleEndian);
    else if ((dtype === "F16" || dtype === "BF16") && halfValues.includes(x)) view.setUint16(i * 2, exactHalfBits(x, dtype), littleEndian);
    else for (let b = 0; b < size; b++) out[i * size + b] = (x * 7 + b) & 0xff;
  });
  return out;
}

/**
 * Values every F16 and BF16 holds exactly (k/8 for |k| < 256, ±0, ±∞, NaN), for the suite's own
 * files of those dtypes, written from float32 bits: BF16 is the top half of a float32 (the low
 * half is 0 for these), F16 re-biases the exponent (15 for 127) and keeps the top 10 fraction bits.
 */
const halfValues: readonly number[] = [0, -0, 1, -2, 0.5, -0.125, 3.75, 31.875, -100, 255, 0.375, Infinity, -Infinity, NaN];
function exactHalfBits(x: number, dtype: "F16" | "BF16"): number {
  const bits = new Uint32Array(Float32Array.of(x).buffer)[0]!;
  if (dtype === "BF16") return x !== x ? 0x7fc0 : bits >>> 16;
  const sign = (bits >>> 16) & 0x8000;
  const e = (bits >>> 23) & 0xff;
  if (x !== x) return 0x7e00;
  if (e === 0xff) return sign | 0x7c00;
  if (e === 0) return sign;
  return sign | ((e - 127 + 15) << 10) | ((bits & 0x7fffff) >>> 13);
}
function halfPick(n: number, seed: number): number[] {
  const r = prng(seed);
  return Array.from({ length: n }, () => halfValues[Math.floor(r() * halfValues.length)]!);
}

export interface SafetensorsParams {
  entries: { name: string; dtype: "F32" | "F64" | "I32" | "F16" | "BF16" | "I64"; shape: number[]; seed: number }[];
  metadata?: Record<string, string>;
  /** Header padding: none (legal: the format does not require it), spaces to a multiple of 8, or a tab and a newline. */
  pad: "none" | "spaces" | "whitespace";
  /** One corruption, or none. */
  mutate?:
    | { op: "dtype" | "shape" | "offsets" | "name"; i: number; value: unknown }
    | { op: "metadata" | "extra"; value: unknown }
    | { op: "truncate" | "flip" | "append" | "length"; at: number; value: number };
}

const toKd: Record<string, DType> = { F32: "float32", F64: "float64", I32: "int32", F16: "float32", BF16: "float32", I64: "int32" };

/** The tensors a valid safetensors file of these params holds (name → dtype, shape, values). */
export function safetensorsContent(p: SafetensorsParams): Map<string, { dtype: DType; shape: number[]; values: number[] }> {
  const m = new Map<string, { dtype: DType; shape: number[]; values: number[] }>();
  for (const e of p.entries) {
    const n = sizeOf(e.shape);
    const values = e.dtype === "F16" || e.dtype === "BF16" ? halfPick(n, e.seed) : drawValues("special", toKd[e.dtype]!, n, e.seed);
    m.set(e.name, { dtype: toKd[e.dtype]!, shape: e.shape, values });
  }
  return m;
}

export function safetensorsBytes(p: SafetensorsParams): Uint8Array {
  const content = safetensorsContent(p);
  const fields: string[] = [];
  const mut = p.mutate;
  if (p.metadata !== undefined || mut?.op === "metadata") {
    fields.push(`"__metadata__":${mut?.op === "metadata" ? JSON.stringify(mut.value) : JSON.stringify(p.metadata)}`);
  }
  const bodies: Uint8Array[] = [];
  let offset = 0;
  [...content].forEach(([name, c], i) => {
    const e = p.entries[i]!;
    const body = rawBytes(e.dtype, c.values);
    const at = (op: string): boolean => mut !== undefined && mut.op === op && "i" in mut && mut.i % p.entries.length === i;
    const dtype = at("dtype") ? JSON.stringify((mut as { value: unknown }).value) : `"${e.dtype}"`;
    const shape = at("shape") ? JSON.stringify((mut as { value: unknown }).value) : `[${c.shape.join(",")}]`;
    const offsets = at("offsets") ? JSON.stringify((mut as { value: unknown }).value) : `[${offset},${offset + body.length}]`;
    const key = at("name") ? JSON.stringify((mut as { value: unknown }).value) : JSON.stringify(name);
    fields.push(`${key}:{"dtype":${dtype},"shape":${shape},"data_offsets":${offsets}}`);
    offset += body.length;
    bodies.push(body);
  });
  if (mut?.op === "extra") fields.push(`"extra":${JSON.stringify(mut.value)}`);
  let json = `{${fields.join(",")}}`;
  if (p.pad === "spaces") json += " ".repeat((8 - (enc.encode(json).length % 8)) % 8);
  if (p.pad === "whitespace") json += "\t\n";
  const header = enc.encode(json);
  const out = new Uint8Array(8 + header.length + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, header.length, true);
  out.set(header, 8);
  let q = 8 + header.length;
  for (const b of bodies) {
    out.set(b, q);
    q += b.length;
  }
  return byteMutation(out, mut);
}

function byteMutation(bytes: Uint8Array, mut: { op: string; at?: number; value?: unknown } | undefined): Uint8Array {
  if (mut === undefined) return bytes;
  const at = (mut.at ?? 0) % (bytes.length + 1);
  switch (mut.op) {
    case "truncate":
      return bytes.slice(0, at);
    case "flip": {
      const b = bytes.slice();
      if (b.length > 0) b[at % b.length] = (mut.value as number) & 0xff;
      return b;
    }
    case "append": {
      const b = new Uint8Array(bytes.length + ((mut.value as number) % 9) + 1);
      b.set(bytes);
      return b;
    }
    case "length": {
      const b = bytes.slice();
      const view = new DataView(b.buffer);
      const value = mut.value as number;
      if (b.length >= 8) {
        view.setUint32(0, value % 4294967296, true);
        view.setUint32(4, Math.floor(value / 4294967296) % 4294967296, true);
      }
      return b;
    }
    default:
      return bytes;
  }
}

export interface NpyParams {
  descr: string;
  shape: number[];
  seed: number;
  version: 1 | 2 | 3;
  fortran: boolean;
  /** Values of an 8-byte integer file: int32-sized, or one beyond the int32 range. */
  wide?: boolean;
  mutate?: { op: "truncate" | "flip" | "append"; at: number; value: number } | { op: "header"; value: string } | { op: "hlen"; at: number; value: number };
}

/** The values a .npy file of these params holds (read as float64 numbers). */
export function npyValues(p: NpyParams): number[] {
  const kind = p.descr.slice(1);
  const dtype: DType = kind === "f4" ? "float32" : kind === "f8" ? "float64" : "int32";
  const xs = drawValues(dtype === "int32" ? "special" : "special", dtype, sizeOf(p.shape), p.seed);
  if (p.wide && kind === "i8" && xs.length > 0) xs[xs.length - 1] = 2 ** 40 + 3;
  return dtype === "float32" ? xs.map(Math.fround) : xs;
}

/** Whether a .npy file of these params is one kdgrad reads (today or after issue item 23: '<i8' whose values fit int32). */
export function npyReadable(p: NpyParams): boolean {
  return p.mutate === undefined && !p.fortran && ["<f4", "<f8", "<i4", ">f4", ">f8", ">i4", "<i8", ">i8"].includes(p.descr) && !(p.wide && p.descr.endsWith("i8"));
}

export function npyBytes(p: NpyParams): Uint8Array {
  const kind = p.descr.slice(1);
  const le = p.descr[0] !== ">";
  const code = kind === "f4" ? "F32" : kind === "f8" ? "F64" : kind === "i4" ? "I32" : kind === "i8" ? "I64" : kind === "f2" ? "F16" : "U8";
  const body = rawBytes(code, npyValues(p), le);
  const shape = p.shape.length === 1 ? `(${p.shape[0]},)` : `(${p.shape.join(", ")})`;
  let dict = `{'descr': '${p.descr}', 'fortran_order': ${p.fortran ? "True" : "False"}, 'shape': ${shape}, }`;
  if (p.mutate?.op === "header") dict = p.mutate.value;
  const lenBytes = p.version === 1 ? 2 : 4;
  const hlenRaw = dict.length + 1;
  const pad = (64 - ((8 + lenBytes + hlenRaw) % 64)) % 64;
  const header = enc.encode(dict + " ".repeat(pad) + "\n");
  const out = new Uint8Array(8 + lenBytes + header.length + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, p.version, 0]);
  const view = new DataView(out.buffer);
  if (lenBytes === 2) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  if (p.mutate?.op === "hlen") view.setUint16(8, p.mutate.value & 0xffff, true);
  out.set(header, 8 + lenBytes);
  out.set(body, 8 + lenBytes + header.length);
  return p.mutate?.op === "header" || p.mutate?.op === "hlen" ? out : byteMutation(out, p.mutate);
}

// ------------------------------------------------------------------ IDX files (MNIST's format)

export interface IdxParams {
  /** The element type byte: 0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E (readable) or another (refused). */
  type: number;
  shape: number[];
  seed: number;
  /** Gzipped (kdgrad/node's loadIdx reads both; decodeIdx only the plain bytes). */
  gzip?: boolean;
  mutate?: { op: "truncate" | "flip" | "append"; at: number; value: number } | { op: "magic"; value: number } | { op: "dims"; value: number };
}

const IDX_TYPES: Record<number, { code: string; lo: number; hi: number }> = {
  0x08: { code: "U8", lo: 0, hi: 255 }, 0x09: { code: "I8", lo: -128, hi: 127 }, 0x0b: { code: "I16", lo: -32768, hi: 32767 },
  0x0c: { code: "I32", lo: -(2 ** 31), hi: 2 ** 31 - 1 }, 0x0d: { code: "F32", lo: 0, hi: 0 }, 0x0e: { code: "F64", lo: 0, hi: 0 },
};

/** The values an IDX file of these params holds: integers over the type's whole range (ends included), or special floats. */
export function idxValues(p: IdxParams): number[] {
  const t = IDX_TYPES[p.type];
  const n = sizeOf(p.shape);
  if (t === undefined) return new Array<number>(n).fill(0);
  if (t.code === "F32") return drawValues("special", "float32", n, p.seed).map(Math.fround);
  if (t.code === "F64") return drawValues("special", "float64", n, p.seed);
  const r = prng(p.seed);
  return Array.from({ length: n }, (_, i) => (i === 0 ? t.lo : i === 1 ? t.hi : t.lo + Math.floor(r() * (t.hi - t.lo + 1))));
}

/** Whether decodeIdx reads an IDX file of these params (after gunzip, for loadIdx). */
export function idxReadable(p: IdxParams): boolean {
  return p.mutate === undefined && p.type in IDX_TYPES && p.shape.length > 0;
}

/** An IDX file written from the format's description (big-endian), the suite's own writer. */
export function idxBytes(p: IdxParams, gzip = p.gzip === true): Uint8Array {
  const t = IDX_TYPES[p.type];
  const values = idxValues(p);
  const size = t === undefined ? 1 : t.code === "F64" ? 8 : t.code === "F32" || t.code === "I32" ? 4 : t.code === "I16" ? 2 : 1;
  const out = new Uint8Array(4 + 4 * p.shape.length + values.length * size);
  const view = new DataView(out.buffer);
  out.set([0, 0, p.type & 0xff, p.shape.length]);
  p.shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  const at = 4 + 4 * p.shape.length;
  values.forEach((x, i) => {
    const o = at + i * size;
    if (t === undefined || t.code === "U8") view.setUint8(o, x & 0xff);
    else if (t.code === "I8") view.setInt8(o, x);
    else if (t.code === "I16") view.setInt16(o, x, false);
    else if (t.code === "I32") view.setInt32(o, x, false);
    else if (t.code === "F32") view.setFloat32(o, x, false);
    else view.setFloat64(o, x, false);
  });
  let bytes: Uint8Array = out;
  if (p.mutate?.op === "magic") bytes[p.mutate.value % 2] = 1 + (p.mutate.value % 255);
  else if (p.mutate?.op === "dims") bytes[3] = p.mutate.value & 0xff;
  else bytes = byteMutation(out, p.mutate);
  return gzip ? new Uint8Array(gzipSync(bytes)) : bytes;
}

// ------------------------------------------------------------------ the digits data set as bytes

export interface DigitsParams {
  mutate?: "x-short" | "x-pixel" | "x-null" | "y-short" | "y-label" | "y-array" | "split-null" | "split-missing" | "split-dup" | "split-overlap" | "split-nonint" | "split-negative" | "split-cover" | "split-outside" | "all-null" | "all-number";
  seed: number;
}

export function digitsBytes(p: DigitsParams): unknown {
  if (p.mutate === "all-null") return null;
  if (p.mutate === "all-number") return 7;
  const N = 1797;
  const x = new Uint8Array(N * 64).map((_, i) => (i * 7 + p.seed) % 17);
  const y = new Uint8Array(N).map((_, i) => (i + p.seed) % 10);
  const r = prng(p.seed);
  const order = Array.from({ length: N }, (_, i) => i);
  for (let i = N - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const train = order.slice(0, 1347);
  const test = order.slice(1347);
  let split: unknown = { train, test, train_10pct: train.slice(0, 135) };
  let xs: unknown = x;
  let ys: unknown = y;
  switch (p.mutate) {
    case "x-short": xs = x.slice(1); break;
    case "x-pixel": x[Math.floor(r() * x.length)] = 17 + Math.floor(r() * 200); break;
    case "x-null": xs = null; break;
    case "y-short": ys = y.slice(0, 100); break;
    case "y-label": y[Math.floor(r() * N)] = 10 + Math.floor(r() * 200); break;
    case "y-array": ys = Array.from(y); break;
    case "split-null": split = null; break;
    case "split-missing": split = { train, test }; break;
    case "split-dup": split = { train: [...train.slice(0, 1346), train[0]], test, train_10pct: train.slice(0, 135) }; break;
    case "split-overlap": split = { train, test: [...test.slice(1), train[0]], train_10pct: train.slice(0, 135) }; break;
    case "split-nonint": split = { train: [...train.slice(1), 0.5], test, train_10pct: train.slice(0, 135) }; break;
    case "split-negative": split = { train: [...train.slice(1), -1], test, train_10pct: train.slice(0, 135) }; break;
    case "split-cover": split = { train: train.slice(1), test, train_10pct: train.slice(1, 136) }; break;
    case "split-outside": split = { train, test, train_10pct: [test[0], ...train.slice(0, 134)] }; break;
    default: break;
  }
  return { x: xs, y: ys, split };
}

// ------------------------------------------------------------------ files

let tmp: string | null = null;
let counter = 0;
/** A fresh directory under the suite's temporary directory (removed when the process exits). */
export function freshDir(): string {
  if (tmp === null) {
    tmp = mkdtempSync(join(tmpdir(), "kdgrad-fuzz-"));
    const dir = tmp;
    process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  }
  const d = join(tmp, String(counter++));
  mkdirSync(d);
  return d;
}

export interface PathParams {
  kind: "fresh" | "existing" | "dir" | "under-file" | "missing-dir" | "empty" | "proc" | "url" | "dev-null";
  /** What the file holds for "existing" (and "url"): valid files of each format, or corrupt bytes. */
  content?: { npy?: NpyParams; safetensors?: SafetensorsParams; garbage?: number; checkpoint?: CheckpointBytesParams; idx?: IdxParams };
}

export function buildPath(p: PathParams): string | URL {
  const d = freshDir();
  const file = join(d, "file.bin");
  const write = (): void => {
    const c = p.content ?? {};
    const bytes = c.npy ? npyBytes(c.npy) : c.safetensors ? safetensorsBytes(c.safetensors) : c.checkpoint ? checkpointBytes(c.checkpoint) : c.idx ? idxBytes(c.idx) : new Uint8Array(c.garbage ?? 0).map((_, i) => (i * 31 + 7) & 0xff);
    writeFileSync(file, bytes);
  };
  switch (p.kind) {
    case "fresh":
      return file;
    case "existing":
      write();
      return file;
    case "url":
      write();
      return pathToFileURL(file);
    case "dir":
      return d;
    case "under-file":
      writeFileSync(file, "x");
      return join(file, "inner.bin");
    case "missing-dir":
      return join(d, "no", "such", "dir", "file.bin");
    case "empty":
      return "";
    case "proc":
      return "/proc/kdgrad-fuzz-no-such/file.bin";
    case "dev-null":
      return "/dev/null";
  }
}

export interface DigitsDirParams {
  kind: "real" | "copy" | "missing" | "file";
  /** For a copy: one file changed or removed. */
  change?: "none" | "flip-x" | "remove-y" | "sums-bad-line" | "sums-missing-entry" | "split-not-json" | "split-consistent-garbage";
}

const DIGITS = new URL("../../data/digits/", import.meta.url);
export function buildDigitsDir(p: DigitsDirParams): string | undefined {
  if (p.kind === "real") return undefined;
  const d = freshDir();
  if (p.kind === "missing") return join(d, "nothing-here");
  if (p.kind === "file") {
    writeFileSync(join(d, "f"), "x");
    return join(d, "f");
  }
  for (const f of ["digits_x.u8", "digits_y.u8", "split.json", "SHA256SUMS"]) copyFileSync(new URL(f, DIGITS), join(d, f));
  const sums = (): string => new TextDecoder().decode(new Uint8Array(require_read(join(d, "SHA256SUMS"))));
  switch (p.change) {
    case "flip-x": {
      const b = new Uint8Array(require_read(join(d, "digits_x.u8")));
      b[100] = (b[100]! + 1) & 0xff;
      writeFileSync(join(d, "digits_x.u8"), b);
      break;
    }
    case "remove-y":
      rmSync(join(d, "digits_y.u8"));
      break;
    case "sums-bad-line":
      writeFileSync(join(d, "SHA256SUMS"), sums() + "not a checksum line\n");
      break;
    case "sums-missing-entry":
      writeFileSync(join(d, "SHA256SUMS"), sums().split("\n").filter((l) => !l.includes("split.json")).join("\n"));
      break;
    case "split-not-json":
    case "split-consistent-garbage": {
      // A split.json that is not JSON, with SHA256SUMS updated to match (a consistent but broken data set).
      const text = p.change === "split-not-json" ? "{not json" : JSON.stringify({ train: [0, 0], test: [], train_10pct: [] });
      writeFileSync(join(d, "split.json"), text);
      writeFileSync(join(d, "SHA256SUMS"), sums().split("\n").map((l) => (l.includes("split.json") ? `${sha256(text)}  split.json` : l)).join("\n"));
      break;
    }
    default:
      break;
  }
  return d;
}

function require_read(path: string): Buffer {
  return readFileSync(path);
}
function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

// ------------------------------------------------------------------ values made from the call's own results

/**
 * A value a row's `run` makes once the call has produced what it depends on (vjp's cotangent
 * has the output's shape; jvp's tangents the primals'; gradients' outputs and inputs are
 * tensors of one graph): `resolve` is called by `run`. Anything else in that position (a
 * wrong type, drawn as a bad value) is passed to the call as it is.
 */
export class Deferred {
  constructor(readonly what: string, readonly which: string) {}
  toString(): string {
    return `<${this.what} ${this.which}>`;
  }
}

/** A tensor like `t` (its shape), made as `which` says: ones, random values, another dtype, int32, or the wrong shape. */
export function likeTensor(t: Tensor, which: string, seed = 7): Tensor {
  const dtype: DType = which === "int32" ? "int32" : which === "other-dtype" ? (t.dtype === "float64" ? "float32" : "float64") : t.dtype === "int32" ? "float32" : t.dtype;
  const shape = which === "wrong-shape" ? [...t.shape, 2] : [...t.shape];
  if (which === "ones") return kd.ones(shape, { dtype });
  return buildTensor({ k: "tensor", dtype, shape, layout: "contiguous", kind: "moderate", seed, grad: false });
}

export interface GradientsCase {
  a: Tensor;
  b: Tensor;
  /** Σ a·b (op "mul-sum", "freed"), or tanh(a) (op "tanh"). */
  y: Tensor;
  /** Σ a. */
  z: Tensor;
  /** A leaf that requires grad but is not used. */
  unused: Tensor;
  /** A tensor that does not require grad. */
  constant: Tensor;
  op: "mul-sum" | "tanh" | "freed";
}

export interface GradientsCaseParams {
  dtype: "float32" | "float64";
  shape: number[];
  seed: number;
  op: GradientsCase["op"];
}

export function buildGradientsCase(p: GradientsCaseParams): GradientsCase {
  const leaf = (k: number, grad: boolean): Tensor => buildTensor({ k: "tensor", dtype: p.dtype, shape: p.shape, layout: "contiguous", kind: "moderate", seed: p.seed + k, grad });
  const a = leaf(0, true);
  const b = leaf(1, true);
  const y = p.op === "tanh" ? a.tanh() : a.mul(b).sum();
  if (p.op === "freed") y.backward();
  return { a, b, y, z: a.sum(), unused: leaf(2, true), constant: leaf(3, false), op: p.op };
}

/** gradients' outputs or inputs for a case, as `which` says. */
export function gradientsPart(c: GradientsCase, what: "outputs" | "inputs", which: string): Tensor[] {
  if (what === "outputs") return which === "yz" ? [c.y, c.z] : which === "constant" ? [c.constant] : [c.y];
  return which === "ab" ? [c.a, c.b] : which === "b" ? [c.b] : which === "unused" ? [c.a, c.unused] : which === "constant" ? [c.constant] : [c.a];
}

/** gradOutputs for these outputs: one like each (`which` as likeTensor's), none ("empty"), or one too many. */
export function gradOutputsFor(outputs: readonly Tensor[], which: string): Tensor[] {
  if (which === "empty") return [];
  const gs = outputs.map((o) => likeTensor(o, which));
  return which === "too-many" ? [...gs, kd.ones([])] : gs;
}

// ------------------------------------------------------------------ errors

export interface ErrorParams {
  cls: string;
  message: string;
  /** An instance of a user's own subclass (named after its class, as KdgradError promises). */
  sub: boolean;
}

export function buildError(p: ErrorParams): Error {
  const C = (kd as unknown as Record<string, new (message: string, report?: unknown) => Error>)[p.cls]!;
  const report = { ok: false, mode: "full", inputs: [], seed: 0 };
  if (!p.sub) return new C(p.message, report);
  const Sub = class UserSubError extends C {};
  return new Sub(p.message, report);
}

// ------------------------------------------------------------------ the training kit: schedules, state dicts, checkpoints

export type ScheduleKind = "StepLR" | "ExponentialLR" | "ConstantLR" | "LinearLR" | "CosineAnnealingLR" | "OneCycleLR" | "SequentialLR";
type SimpleKind = Exclude<ScheduleKind, "SequentialLR">;

/** Valid settings of each schedule (edge cases included: γ = 0, factor 0 from the start, pctStart 0, three phases). */
export const SCHEDULE_SETTINGS: Record<SimpleKind, Record<string, unknown>[]> = {
  StepLR: [{ stepSize: 1 }, { stepSize: 3, gamma: 0.5 }, { stepSize: 2, gamma: 2 }],
  ExponentialLR: [{ gamma: 0.9 }, { gamma: 0 }, { gamma: 1.5 }],
  ConstantLR: [{}, { factor: 0.5, totalIters: 2 }, { factor: 0, totalIters: 0 }],
  LinearLR: [{}, { startFactor: 0.1, endFactor: 0, totalIters: 3 }, { startFactor: 1, totalIters: 1 }],
  CosineAnnealingLR: [{ tMax: 4 }, { tMax: 1, etaMin: 1e-3 }, { tMax: 6, etaMin: 0.5 }],
  OneCycleLR: [
    { maxLr: 0.1, totalSteps: 10 },
    { maxLr: 1, totalSteps: 12, pctStart: 0.5, threePhase: true, annealStrategy: "linear" },
    { maxLr: 0.5, epochs: 2, stepsPerEpoch: 5, pctStart: 0, cycleMomentum: false },
  ],
};

/** SequentialLR's children (kind, setting) and milestones. */
export const SEQUENCES: [[SimpleKind, number][], number[]][] = [
  [[["LinearLR", 1], ["CosineAnnealingLR", 0]], [3]],
  [[["ConstantLR", 1], ["ExponentialLR", 0], ["StepLR", 1]], [2, 4]],
  [[["StepLR", 0], ["OneCycleLR", 0]], [2]],
  [[["OneCycleLR", 1]], []],
];

export function makeScheduler(kind: ScheduleKind, setting: number, opt: kd.Optimizer): kd.LRScheduler {
  if (kind === "SequentialLR") {
    const [children, milestones] = SEQUENCES[setting % SEQUENCES.length]!;
    return new kd.SequentialLR(opt, { schedulers: children.map(([k, i]) => makeScheduler(k, i, opt)), milestones });
  }
  const list = SCHEDULE_SETTINGS[kind];
  const C = (kd as unknown as Record<string, new (o: kd.Optimizer, s: unknown) => kd.LRScheduler>)[kind]!;
  return new C(opt, { ...list[setting % list.length]! });
}

/** `steps` step() calls, stopping at the first refusal (a OneCycleLR at its end). */
function stepTimes(s: kd.LRScheduler, steps: number): void {
  for (let k = 0; k < steps; k++) {
    try {
      s.step();
    } catch {
      return;
    }
  }
}

export interface SchedulerParams {
  kind: ScheduleKind;
  /** Index into the kind's settings (SCHEDULE_SETTINGS, or SEQUENCES for SequentialLR). */
  setting: number;
  optimizer: OptimizerParams;
  /** step() calls after construction. */
  steps: number;
}

export function buildScheduler(p: SchedulerParams): kd.LRScheduler {
  const s = makeScheduler(p.kind, p.setting, buildOptimizer(p.optimizer));
  stepTimes(s, p.steps);
  return s;
}

/** The children of a SequentialLR, on the optimizer built last (the call's first argument), one of them possibly wrong. */
export interface ChildrenParams {
  sequence: number;
  wrong?: "other-optimizer" | "duplicate" | "nested" | "not-a-scheduler" | "empty";
}

export function buildChildren(p: ChildrenParams): unknown[] {
  const opt = lastOptimizer ?? buildOptimizer({ cls: "SGD", shapes: [[2]], dtype: "float64", options: { lr: 0.1 }, grads: "none", seed: 0 });
  const [children] = SEQUENCES[p.sequence % SEQUENCES.length]!;
  const list: unknown[] = children.map(([k, i]) => makeScheduler(k, i, opt));
  switch (p.wrong) {
    case "other-optimizer":
      list.push(makeScheduler("StepLR", 0, buildOptimizer({ cls: "SGD", shapes: [[2]], dtype: "float64", options: { lr: 0.1 }, grads: "none", seed: 1 })));
      break;
    case "duplicate":
      list.push(list[0]);
      break;
    case "nested":
      list.push(new kd.SequentialLR(opt, { schedulers: [makeScheduler("StepLR", 0, opt)], milestones: [] }));
      break;
    case "not-a-scheduler":
      list.push(opt);
      break;
    case "empty":
      return [];
  }
  return list;
}

export interface SchedulerDictParams {
  source: SchedulerParams;
  /** One change to the saved dict: an entry replaced, added or removed. */
  mutate?: { op: "type" | "lastEpoch" | "baseLrs" | "lastLr" | "setting" | "unknown" | "missing" | "child-epoch" | "child-type" | "children"; value?: unknown; i?: number };
  /** Through JSON.stringify and JSON.parse, as saveCheckpoint keeps it. */
  json: boolean;
}

const BASE_KEYS = ["type", "lastEpoch", "baseLrs", "lastLr"];

export function buildSchedulerDict(p: SchedulerDictParams): unknown {
  const d: Record<string, unknown> = { ...buildScheduler(p.source).stateDict() };
  const m = p.mutate;
  const keys = Object.keys(d).filter((k) => !BASE_KEYS.includes(k));
  const key = keys[(m?.i ?? 0) % Math.max(keys.length, 1)];
  const children = Array.isArray(d.schedulers) ? (d.schedulers as Record<string, unknown>[]).map((c) => ({ ...c })) : null;
  if (children) d.schedulers = children;
  switch (m?.op) {
    case undefined:
      break;
    case "type":
    case "lastEpoch":
    case "baseLrs":
    case "lastLr":
      d[m.op] = m.value;
      break;
    case "setting":
      if (key !== undefined) d[key] = m.value;
      break;
    case "unknown":
      Object.defineProperty(d, String(m.value), { value: 1, enumerable: true, writable: true, configurable: true });
      break;
    case "missing":
      if (key !== undefined) delete d[key];
      break;
    case "child-epoch":
      if (children && children.length > 0) {
        const c = children[(m.i ?? 0) % children.length]!;
        c.lastEpoch = (c.lastEpoch as number) + ((m.value as number) || 1);
      }
      break;
    case "child-type":
      if (children && children.length > 0) children[0]!.type = m.value;
      break;
    case "children":
      if (children) d.schedulers = m.value === "drop" ? children.slice(1) : m.value === "add" ? [...children, children[0]] : m.value;
      break;
  }
  return p.json ? JSON.parse(JSON.stringify(d)) : d;
}

export interface OptimizerDictParams {
  source: OptimizerParams;
  /** step() calls before stateDict() (so that there is per-parameter state). */
  steps: number;
  mutate?: { op: string; value?: unknown };
  /** The state as an object with string keys, as JSON would hold it. */
  json: boolean;
}

export function buildOptimizerDict(p: OptimizerDictParams): unknown {
  const opt = buildOptimizer(p.source);
  for (let k = 0; k < p.steps; k++) opt.step();
  const sd = opt.stateDict();
  const group: Record<string, unknown> = { ...sd.paramGroups[0] };
  const state = new Map<unknown, unknown>([...sd.state].map(([i, e]) => [i, { ...e }]));
  const d: Record<string, unknown> = { type: sd.type, state, paramGroups: [group] };
  const [firstKey, firstEntry] = [...state][0] ?? [undefined, undefined];
  const entry = firstEntry as Record<string, unknown> | undefined;
  const tensorKey = entry === undefined ? undefined : Object.keys(entry).find((k) => entry[k] instanceof Tensor);
  const m = p.mutate;
  switch (m?.op) {
    case "type":
      d.type = m.value;
      break;
    case "groups":
      d.paramGroups = m.value === "two" ? [group, group] : m.value;
      break;
    case "params":
    case "lr":
    case "initialLr":
      group[m.op] = m.value;
      break;
    case "hyper":
      group[p.source.cls === "SGD" ? "momentum" : "betas"] = m.value;
      break;
    case "state":
      d.state = m.value;
      break;
    case "state-key":
      if (entry !== undefined) {
        state.delete(firstKey);
        state.set(m.value, entry);
      }
      break;
    case "entry":
      if (entry !== undefined) state.set(firstKey, m.value);
      break;
    case "entry-unknown":
      if (entry !== undefined) entry.momentum_buffer = kd.zeros([1]);
      break;
    case "entry-missing":
      if (tensorKey !== undefined) delete entry![tensorKey];
      break;
    case "entry-shape":
      if (tensorKey !== undefined) entry![tensorKey] = kd.zeros([7]);
      break;
    case "entry-int32":
      if (tensorKey !== undefined) entry![tensorKey] = kd.zeros((entry![tensorKey] as Tensor).shape, { dtype: "int32" });
      break;
    case "entry-count":
      if (entry !== undefined && "step" in entry) entry.step = m.value;
      break;
    case "entry-view":
      if (tensorKey !== undefined) {
        const t = entry![tensorKey] as Tensor;
        entry![tensorKey] = buildTensor({ k: "tensor", dtype: t.dtype as DType, shape: [...t.shape], layout: "strided", kind: "moderate", seed: 5, grad: false });
      }
      break;
    case "entry-float64":
      if (tensorKey !== undefined) entry![tensorKey] = (entry![tensorKey] as Tensor).to((entry![tensorKey] as Tensor).dtype === "float32" ? "float64" : "float32");
      break;
  }
  if (p.json && d.state instanceof Map) d.state = Object.fromEntries([...d.state].map(([k, e]) => [String(k), e]));
  return d;
}

/** What a checkpoint holds (or what one is loaded into): each part optional, one of them possibly wrong. */
export interface PartsParams {
  model?: ModuleParams;
  optimizer?: { cls: "SGD" | "Adam" | "AdamW"; steps: number; momentum: number };
  scheduler?: { kind: ScheduleKind; setting: number; steps: number };
  generator?: number;
  /** A part of the wrong kind, an unknown part, or a null part. */
  bad?: { key: string; value: "null" | "number" | "module" | "tensor" };
}

export function buildParts(p: PartsParams): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const model = p.model === undefined ? undefined : buildModule(p.model);
  if (model) out.model = model;
  if (p.optimizer !== undefined || p.scheduler !== undefined) {
    const { cls, steps, momentum } = p.optimizer ?? { cls: "SGD" as const, steps: 0, momentum: 0 };
    const own = model?.parameters() ?? [];
    const params = own.length > 0 ? own : [buildTensor({ k: "tensor", dtype: "float32", shape: [2], layout: "contiguous", kind: "moderate", seed: 3, grad: true })];
    const opt = cls === "SGD" ? new kd.SGD(params, { lr: 0.1, momentum }) : new (cls === "Adam" ? kd.Adam : kd.AdamW)(params, { lr: 0.01 });
    params.forEach((t, i) => {
      t.grad = buildTensor({ k: "tensor", dtype: t.dtype as DType, shape: [...t.shape], layout: "contiguous", kind: "moderate", seed: 40 + i, grad: false });
    });
    for (let k = 0; k < steps; k++) opt.step();
    if (p.optimizer !== undefined) out.optimizer = opt;
    if (p.scheduler !== undefined) {
      const s = makeScheduler(p.scheduler.kind, p.scheduler.setting, opt);
      stepTimes(s, p.scheduler.steps);
      out.scheduler = s;
    }
  }
  if (p.generator !== undefined) {
    const g = new Generator(p.generator);
    for (let k = 0; k < p.generator % 3; k++) g.uniform();
    out.generator = g;
  }
  if (p.bad) {
    const { key } = p.bad;
    // A module where a module belongs is not wrong: a tensor then.
    const value = p.bad.value === "module" && key === "model" ? "tensor" : p.bad.value;
    // An own property even for "__proto__" (as JSON.parse makes it).
    Object.defineProperty(out, key, { value: value === "null" ? null : value === "number" ? 3 : value === "module" ? new kd.ReLU() : kd.zeros([1]), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

export interface CheckpointBytesParams {
  parts: PartsParams;
  metadata?: Record<string, string>;
  /** One corruption: bytes cut or flipped, kdgrad's entry removed or rewritten, a tensor added or removed. */
  corrupt?: { op: "truncate" | "flip" | "no-entry" | "json" | "json-edit" | "tensor" | "drop-tensor"; at?: number; value?: unknown; path?: readonly string[] };
}

export function checkpointBytes(p: CheckpointBytesParams): Uint8Array {
  const { bad: _, ...parts } = p.parts;
  const bytes = kd.encodeCheckpoint(buildParts(parts) as kd.CheckpointParts, p.metadata === undefined ? undefined : { metadata: p.metadata });
  const c = p.corrupt;
  if (c === undefined) return bytes;
  if (c.op === "truncate" || c.op === "flip") return byteMutation(bytes, c);
  const { tensors, metadata } = kd.decodeSafetensors(bytes);
  const meta: Record<string, string> = { ...metadata };
  switch (c.op) {
    case "no-entry":
      delete meta["kdgrad.checkpoint"];
      break;
    case "json":
      meta["kdgrad.checkpoint"] = String(c.value);
      break;
    case "json-edit": {
      const j = JSON.parse(meta["kdgrad.checkpoint"]!) as Record<string, unknown>;
      let o: Record<string, unknown> = j;
      const path = c.path ?? [];
      for (const k of path.slice(0, -1)) {
        if (o[k] === null || typeof o[k] !== "object") break;
        o = o[k] as Record<string, unknown>;
      }
      if (path.length > 0) o[path[path.length - 1]!] = c.value;
      meta["kdgrad.checkpoint"] = JSON.stringify(j);
      break;
    }
    case "tensor":
      tensors.set(String(c.value), kd.zeros([2]));
      break;
    case "drop-tensor": {
      const [first] = tensors.keys();
      if (first !== undefined) tensors.delete(first);
      break;
    }
  }
  return kd.encodeSafetensors(tensors, meta);
}

export interface GradParamsParams {
  shapes: number[][];
  dtype: "float32" | "float64";
  /** The gradients' values: a ValueKind, or "tiny" (moderate values times 1e-300: subnormal sums of squares). */
  kind: "moderate" | "special" | "finite-special" | "huge" | "wide" | "tiny";
  /** Which parameters have no gradient (bit i set: grad null). */
  none: number;
  /** Gradients in the parameter's dtype, in the other float dtype, or as strided views. */
  layout: "same" | "other-dtype" | "view";
  /** How the parameters are passed: a list, one tensor, a Set, a one-shot generator, a list holding a non-tensor, an empty list. */
  form: "list" | "tensor" | "set" | "generator" | "with-non-tensor" | "empty";
  seed: number;
}

/** The parameters clipGradNorm and clipGradValue take, with their gradients set. */
export function buildGradParams(p: GradParamsParams): unknown {
  const params = p.shapes.map((shape, i) => {
    const t = buildTensor({ k: "tensor", dtype: p.dtype, shape, layout: "contiguous", kind: "moderate", seed: p.seed + i, grad: true });
    if ((p.none >> i) & 1) return t;
    const dtype: DType = p.layout === "other-dtype" ? (p.dtype === "float32" ? "float64" : "float32") : p.dtype;
    const kind = p.kind === "tiny" ? "moderate" : p.kind;
    let g = buildTensor({ k: "tensor", dtype, shape, layout: p.layout === "view" ? "strided" : "contiguous", kind, seed: p.seed + 50 + i, grad: false });
    if (p.kind === "tiny") g = new Tensor(Float64Array.from(drawValues("moderate", "float64", sizeOf(shape), p.seed + 50 + i), (x) => x * 1e-300), shape);
    t.grad = g;
    return t;
  });
  switch (p.form) {
    case "tensor":
      return params[0] ?? kd.zeros([0], { requiresGrad: true });
    case "set":
      return new Set(params);
    case "generator":
      // A one-shot iterable; the suite reads the gradients afterwards through `tensors`.
      return Object.assign(
        (function* () {
          yield* params;
        })(),
        { tensors: params },
      );
    case "with-non-tensor":
      return [...params, 3];
    case "empty":
      return [];
    default:
      return params;
  }
}

// ------------------------------------------------------------------ the builder

export function buildSpecial(name: string, params: unknown): unknown {
  if (name in RAW_CALLBACKS) return callback(name);
  switch (name) {
    case "spec":
      return opSpec(params as string);
    case "module":
      return buildModule(params as ModuleParams);
    case "optimizer":
      return buildOptimizer(params as OptimizerParams);
    case "graph":
      return buildGraph(params as GraphParams);
    case "safetensors":
      return safetensorsBytes(params as SafetensorsParams);
    case "npy":
      return npyBytes(params as NpyParams);
    case "idx":
      return idxBytes(params as IdxParams, false);
    case "random-bytes": {
      const { n, seed, prefix } = params as { n: number; seed: number; prefix?: number[] };
      const r = prng(seed);
      const b = new Uint8Array(n).map(() => Math.floor(r() * 256));
      if (prefix) b.set(prefix.slice(0, n));
      return b;
    }
    case "digits-bytes":
      return digitsBytes(params as DigitsParams);
    case "path":
      return buildPath(params as PathParams);
    case "digits-dir":
      return buildDigitsDir(params as DigitsDirParams);
    case "typed": {
      const { ctor, n, seed } = params as { ctor: string; n: number; seed: number };
      const vals = drawValues("special", "float64", n, seed);
      if (ctor === "Array") return vals;
      const C = (globalThis as unknown as Record<string, new (n: number) => { [i: number]: number | bigint; length: number }>)[ctor]!;
      const out = new C(n);
      for (let i = 0; i < n; i++) out[i] = ctor.startsWith("Big") ? BigInt(Math.trunc(Number.isFinite(vals[i]!) ? vals[i]! % 1e6 : 0)) : vals[i]!;
      return out;
    }
    case "big-expanded": {
      // A view of n elements over one stored value, its storage counting the elements read
      // (a Proxy of a Float32Array is still one, so the tensor takes it): printing must read
      // about what it prints, never all n (issue item 19). n is at most 2³¹ − 1, the most a
      // tensor may hold (docs/ops.md), so no call here allocates: a copy is never attempted
      // with memory, the counter shows it.
      const { n } = params as { n: number };
      let reads = 0;
      const target = Float32Array.of(1.5);
      const data = new Proxy(target, {
        get(t, key) {
          if (typeof key === "string" && /^[0-9]+$/.test(key)) reads++;
          const v = Reflect.get(t, key, t) as unknown;
          return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(t) : v;
        },
      });
      const x = new Tensor(data, [n], [0], 0);
      readsOf.set(x, () => reads);
      return x;
    }
    case "named-tensors": {
      const { names, map, seed } = params as { names: string[]; map: boolean; seed: number };
      const entries = names.map((n, i): [string, unknown] => [n, n === "not-a-tensor" ? 3 : buildTensor({ k: "tensor", dtype: (["float32", "float64", "int32"] as const)[i % 3]!, shape: i % 2 ? [2, 0] : [3], layout: i % 4 === 1 ? "transposed" : "contiguous", kind: "special", seed: seed + i, grad: false })]);
      if (map) return new Map(entries);
      const o: Record<string, unknown> = {};
      for (const [k, x] of entries) Object.defineProperty(o, k, { value: x, enumerable: true, writable: true, configurable: true });
      return o;
    }
    case "deferred": {
      const { what, which } = params as { what: string; which: string };
      return new Deferred(what, which);
    }
    case "gradients-case":
      return buildGradientsCase(params as GradientsCaseParams);
    case "error":
      return buildError(params as ErrorParams);
    case "scheduler":
      return buildScheduler(params as SchedulerParams);
    case "children":
      return buildChildren(params as ChildrenParams);
    case "scheduler-dict":
      return buildSchedulerDict(params as SchedulerDictParams);
    case "optimizer-dict":
      return buildOptimizerDict(params as OptimizerDictParams);
    case "parts":
      return buildParts(params as PartsParams);
    case "checkpoint-bytes":
      return checkpointBytes(params as CheckpointBytesParams);
    case "grad-params":
      return buildGradParams(params as GradParamsParams);
    case "state-dict": {
      const { module, change } = params as { module: ModuleParams; change: string };
      const m = buildModule(module);
      const sd = m.stateDict();
      const [first] = sd.keys();
      if (first !== undefined) {
        if (change === "missing") sd.delete(first);
        if (change === "extra") sd.set("extra.weight", kd.zeros([1]));
        if (change === "shape") sd.set(first, kd.zeros([7, 3]));
        if (change === "int32") sd.set(first, kd.zeros(sd.get(first)!.shape, { dtype: "int32" }));
        if (change === "number") (sd as Map<string, unknown>).set(first, 3);
        if (change === "float64") sd.set(first, sd.get(first)!.to("float64"));
      }
      if (change === "object") return Object.fromEntries(sd);
      if (change === "proto-key") {
        const o = Object.fromEntries(sd) as Record<string, unknown>;
        Object.defineProperty(o, "__proto__", { value: kd.zeros([1]), enumerable: true });
        return o;
      }
      return sd;
    }
    default:
      throw new Error(`fuzz: unknown special value ${name}`);
  }
}

setSpecialBuilder(buildSpecial);
export type { TensorArg };
