/**
 * One fuzzed call: how an entry of the table is called, which names its
 * error messages may use, and the checks run on what it returns or throws
 * (test/fuzz/README.md, "The rules").
 */
import type fc from "fast-check";
import * as kd from "../../src/index.js";
import * as kn from "../../src/node/index.js";
import * as kt from "../../src/testing/index.js";
import * as kf from "../../src/testing/fast-check.js";
import { Tensor, getBackend, isGradEnabled, manualSeed, setBackend } from "../../src/index.js";
import { buildArgs, prng, showArgs, type Arg, type Profile } from "./values.js";
import { READ_LIMIT, elements, malformed, nonFinite, tensorsIn, thrownProblem } from "./oracle.js";

/** Whether the documented policy promises finite values (and finite gradients) for a call's arguments. */
export type Finite = boolean | { value: boolean; grad: boolean };

/**
 * One row of the table (test/fuzz/table.ts), keyed by what the user calls:
 *   "add"             the export `add(...)`
 *   "node:saveNpy"    the export of "kdgrad/node"
 *   "testing:allClose", "testing/fast-check:logits"   the exports of "kdgrad/testing" and "kdgrad/testing/fast-check"
 *   "Linear"          `new Linear(...)` (how: "new")
 *   "Tensor#sum"      the method `x.sum(...)`; the first Arg is the receiver
 *   "Tensor.empty"    the static `Tensor.empty(...)`
 *   "Sequential#length" a getter (how: "getter")
 */
export interface Entry {
  how: "fn" | "new" | "method" | "static" | "getter" | "value";
  args: (p: Profile) => fc.Arbitrary<Arg[]>;
  /** What the documented policy promises about finiteness for these (built) arguments. */
  finite?: (args: unknown[]) => Finite;
  /** A semantic check of the returned value: what is wrong, or null. */
  check?: (result: unknown, args: unknown[]) => string | null;
  /** A check of the leaves' gradients after backward (run where `finite` promises finite gradients). */
  gradCheck?: (args: unknown[], upstream: Tensor) => string | null;
  /** The same, run after every backward (for rules about non-finite values). */
  gradCheckAlways?: (args: unknown[], upstream: Tensor) => string | null;
  /** These arguments are valid (a file the suite wrote validly): throwing is a failure too. */
  mustReturn?: (args: unknown[]) => boolean;
  /** Names a message may use besides the default ones (see `namesFor`). */
  names?: (args: unknown[]) => string[];
  /** A call that is more than one expression (iterate a lazy result, call the function `grad` returns, …). */
  run?: (target: any, args: unknown[]) => unknown;
  /** Leave the entry out of the backend comparison (it has no numeric output, or changes the backend itself). */
  noBackend?: boolean;
  /** The backend comparison's scale for float32 results: the same call on |inputs| in float64 (matmul, linear). */
  absScale?: boolean;
  /**
   * The backend comparison's scale for the float32 gradients of a call whose backward multiplies
   * float32 matrices (linearDistillationLoss: dH = G·W, dW = Gᵀ·H): for some of the (built)
   * arguments' leaves, the largest entry of that backward product formed on |G| and |inputs| in
   * float64, given the upstream gradient the comparison uses. A sum of V products in float32 is
   * within V·2⁻²⁴ of that scale of the exact one (a few ulps of it in practice), while the
   * gradient itself may cancel far below it. Leaves it leaves out keep the default scale.
   */
  gradScale?: (args: unknown[], upstream: Tensor) => Map<Tensor, number>;
  /**
   * Whether the backends can be expected to agree on these (built) arguments: a call that feeds
   * float32 products into a softmax is compared only where the products' rounding cannot move the
   * softmax beyond the comparison's tolerance (linearDistillationLoss). Absent: always compared.
   */
  backendComparable?: (args: unknown[]) => boolean;
}

/** The entry points besides "kdgrad", by key prefix (fuzz.test.ts scans the same modules). */
export const SUBPATHS: readonly (readonly [prefix: string, exports: Record<string, unknown>])[] = [
  ["node:", kn], ["testing:", kt], ["testing/fast-check:", kf],
];

/** A key without its entry point's prefix, and that entry point's exports. */
export function splitKey(key: string): { bare: string; exports: Record<string, unknown> } {
  for (const [prefix, exports] of SUBPATHS) if (key.startsWith(prefix)) return { bare: key.slice(prefix.length), exports };
  return { bare: key, exports: kd as Record<string, unknown> };
}

/** The value behind a key: the export, or the class whose method or static is called. */
export function resolve(key: string): unknown {
  const { bare, exports } = splitKey(key);
  return exports[bare.split(/[#.]/)[0]!];
}

/** The classes of a receiver, most derived first (their names). */
function classChain(o: unknown): string[] {
  const out: string[] = [];
  let p = o === null || o === undefined ? null : Object.getPrototypeOf(o);
  while (p && p !== Object.prototype) {
    const n = (p.constructor as { name?: string })?.name;
    if (n) out.push(n);
    p = Object.getPrototypeOf(p);
  }
  return out;
}

/**
 * The names an error message may start with (README, "The naming rule"):
 * `f` for f(...); `C` for new C(...); for o.m(...) the method `m`, and `K`
 * or `K.m` for K the receiver's class or one of its superclasses; for a
 * module's forward also those of every submodule (the layer that refused
 * the input); `s`, `C` or `C.s` for a static C.s(...).
 */
export function namesFor(key: string, entry: Entry, args: unknown[]): string[] {
  const { bare } = splitKey(key);
  const names = new Set<string>();
  if (entry.how === "method" || entry.how === "getter") {
    const [cls, m] = bare.split("#") as [string, string];
    names.add(m);
    names.add(cls);
    names.add(`${cls}.${m}`);
    const receivers = [args[0]];
    if (m === "forward") {
      // Submodules: the layer that refused the input is named.
      for (let i = 0; i < receivers.length; i++) {
        const r = receivers[i] as { namedChildren?: () => [string, unknown][] };
        if (r && typeof r.namedChildren === "function") for (const [, c] of r.namedChildren()) receivers.push(c);
      }
    }
    for (const r of receivers) for (const k of classChain(r)) {
      names.add(k);
      names.add(`${k}.${m}`);
    }
  } else if (entry.how === "static") {
    const [cls, s] = bare.split(".") as [string, string];
    names.add(s);
    names.add(cls);
    names.add(bare);
  } else names.add(bare);
  for (const n of entry.names?.(args) ?? []) names.add(n);
  return [...names];
}

/** Runs the call an entry describes on built arguments. */
export function invoke(key: string, entry: Entry, args: unknown[]): unknown {
  const target = resolve(key) as any;
  if (entry.run) return entry.run(target, args);
  switch (entry.how) {
    case "fn":
      return target(...args);
    case "new":
      return new target(...args);
    case "method": {
      const m = key.split("#")[1]!;
      const [recv, ...rest] = args as [any, ...unknown[]];
      return recv[m](...rest);
    }
    case "getter":
      return (args[0] as any)[key.split("#")[1]!];
    case "static":
      return target[key.split(".")[1]!](...args);
    case "value":
      return target;
  }
}

/** What a call must refuse (an options Arg marked `refuse`, at the top level or in a list), or null. */
export function mustRefuse(raw: readonly Arg[]): string | null {
  for (const a of raw) {
    if (a.k === "object" && a.refuse !== undefined) return a.refuse;
    if (a.k === "list") for (const b of a.items) if (b.k === "object" && b.refuse !== undefined) return b.refuse;
  }
  return null;
}

export interface Failure {
  problem: string;
  call: string;
}

export function describeCall(key: string, entry: Entry, args: readonly Arg[]): string {
  const { bare } = splitKey(key);
  const a = showArgs(args);
  switch (entry.how) {
    case "new":
      return `new ${bare}(${a})`;
    case "method":
    case "getter": {
      const [recv, ...rest] = args;
      const m = bare.split("#")[1]!;
      const r = recv ? showArgs([recv]) : "?";
      return entry.how === "getter" ? `${r}.${m}` : `${r}.${m}(${showArgs(rest)})`;
    }
    default:
      return entry.how === "value" ? bare : `${bare}(${a})`;
  }
}

function finiteParts(f: Finite | undefined): { value: boolean; grad: boolean } {
  if (f === undefined || f === false) return { value: false, grad: false };
  if (f === true) return { value: true, grad: true };
  return f;
}

/** An upstream gradient for backward: the output's shape and dtype, values in [−2, 2] from a fixed seed. */
export function upstream(y: Tensor, seed: number): Tensor {
  const r = prng(seed);
  const n = y.shape.reduce((a, b) => a * b, 1);
  const data = y.dtype === "float64" ? new Float64Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.round((r() * 4 - 2) * 16) / 16;
  return new Tensor(data, y.shape);
}

const initialBackend = getBackend();

/** Put the global state back as the suite expects it before each call. */
export function resetGlobals(): void {
  setBackend(initialBackend);
  manualSeed(0);
}

/**
 * Run one call through the oracle. Returns a failure (what went wrong and
 * the call as the user would write it) or null.
 */
export function checkCall(key: string, entry: Entry, raw: readonly Arg[], seed = 1): Failure | null {
  const call = describeCall(key, entry, raw);
  const fail = (problem: string): Failure => ({ problem, call });
  resetGlobals();
  let args: unknown[];
  try {
    args = buildArgs(raw);
  } catch (e) {
    return fail(`fuzz harness: could not build the arguments: ${(e as Error).stack}`);
  }
  const names = namesFor(key, entry, args);
  let result: unknown;
  try {
    result = invoke(key, entry, args);
  } catch (e) {
    const p = thrownProblem(e, names);
    if (!isGradEnabled()) return fail("grad mode was left disabled after the call threw");
    if (p === null && entry.mustReturn?.(args)) return fail(`refused valid input: ${(e as Error).name}: ${(e as Error).message.split("\n")[0]}`);
    return p === null ? null : fail(p);
  }
  if (!isGradEnabled()) return fail("grad mode was left disabled after the call");
  const refused = mustRefuse(raw);
  if (refused !== null) return fail(`accepted ${refused}: an options object with an unknown key (a typo) or a null value must be refused, not read as the default`);
  const outs = tensorsIn(result);
  for (const t of outs) {
    const m = malformed(t);
    if (m) return fail(`returned a malformed tensor: ${m}`);
  }
  const finite = finiteParts(entry.finite?.(args));
  if (finite.value) {
    for (const t of outs) {
      if (t.size > READ_LIMIT) continue;
      const p = nonFinite(t, "the result");
      if (p) return fail(p);
    }
  }
  if (entry.check) {
    let p: string | null;
    try {
      p = entry.check(result, args);
    } catch (e) {
      p = thrownProblem(e, names) ?? null;
      if (p) p = `while checking the result: ${p}`;
    }
    if (p) return fail(p);
  }
  // Backward through a differentiable result, with a random upstream gradient.
  if (result instanceof Tensor && result.requiresGrad && result.dtype !== "int32" && result.size <= READ_LIMIT) {
    const leaves = tensorsIn(args).filter((t) => t.requiresGrad && t.isLeaf);
    for (const l of leaves) l.grad = null;
    const g0 = upstream(result, seed);
    try {
      result.backward(g0);
    } catch (e) {
      const p = thrownProblem(e, ["backward", "Tensor.backward", ...names]);
      return p === null ? null : fail(`backward of the result: ${p}`);
    }
    for (const l of leaves) {
      const g = l.grad as Tensor | null;
      if (g === null) continue;
      if (!(g instanceof Tensor)) return fail(`backward left a .grad that is not a Tensor`);
      const m = malformed(g);
      if (m) return fail(`backward left a malformed .grad: ${m}`);
      if (g.dtype !== l.dtype) return fail(`backward left a ${g.dtype} .grad on a ${l.dtype} leaf of shape [${l.shape.join(",")}]`);
      if (g.shape.length !== l.shape.length || g.shape.some((d, i) => d !== l.shape[i])) {
        return fail(`backward left a .grad of shape [${g.shape.join(",")}] on a leaf of shape [${l.shape.join(",")}]`);
      }
      if (finite.grad && g.size <= READ_LIMIT) {
        const p = nonFinite(g, "a gradient");
        if (p) return fail(`after backward with a finite upstream gradient: ${p}`);
      }
    }
    if (finite.grad && entry.gradCheck) {
      const p = entry.gradCheck(args, g0);
      if (p) return fail(`after backward: ${p}`);
    }
    if (entry.gradCheckAlways) {
      const p = entry.gradCheckAlways(args, g0);
      if (p) return fail(`after backward: ${p}`);
    }
  }
  return null;
}

// ------------------------------------------------------------ both backends

interface Observed {
  threw?: string;
  /** Results first, then the leaves' gradients (leaf: the index among the arguments' leaves). */
  values: { dtype: string; shape: number[]; xs: number[]; scale: number; leaf?: number }[];
  other: string;
}

function observe(key: string, entry: Entry, raw: readonly Arg[], backend: "js" | "wasm", seed: number): Observed {
  resetGlobals();
  setBackend(backend);
  const args = buildArgs(raw);
  try {
    const result = invoke(key, entry, args);
    const outs = tensorsIn(result).filter((t) => t.size <= READ_LIMIT);
    const values: Observed["values"] = outs.map((t) => ({ dtype: t.dtype, shape: [...t.shape], xs: elements(t), scale: 0 }));
    if (result instanceof Tensor && result.requiresGrad && result.dtype !== "int32" && result.size <= READ_LIMIT) {
      const leaves = tensorsIn(args).filter((t) => t.requiresGrad && t.isLeaf);
      try {
        result.backward(upstream(result, seed));
        leaves.forEach((l, leaf) => {
          if (l.grad) values.push({ dtype: l.grad.dtype, shape: [...l.grad.shape], xs: elements(l.grad), scale: 0, leaf });
        });
      } catch (e) {
        return { threw: `backward: ${(e as Error).name}: ${(e as Error).message}`, values, other: "" };
      }
    }
    const other = typeof result === "string" || typeof result === "number" || typeof result === "boolean" ? String(result) : "";
    return { values, other };
  } catch (e) {
    return { threw: `${(e as Error)?.name}: ${(e as Error)?.message}`, values: [], other: "" };
  } finally {
    resetGlobals();
  }
}

/** The tolerance for float32 results (README, "Both backends"). */
export const BACKEND_RTOL = 1e-5;

/**
 * Run a call under the "js" and the "wasm" backend and compare: the same
 * error, or results of the same shapes and dtypes that agree bit for bit in
 * float64 and int32, and within BACKEND_RTOL·(max(|a|, |b|) + S) in float32,
 * S the largest finite magnitude of that output (for matmul and linear, of
 * the same call on |inputs| in float64; for linearDistillationLoss's
 * gradients, of its backward products on |G| and |inputs|, `gradScale`);
 * non-finite values must match.
 */
export function compareBackends(key: string, entry: Entry, raw: readonly Arg[], seed = 1): Failure | null {
  const call = describeCall(key, entry, raw);
  const a = observe(key, entry, raw, "js", seed);
  const b = observe(key, entry, raw, "wasm", seed);
  const fail = (problem: string): Failure => ({ problem: `backends disagree: ${problem}`, call });
  if (a.threw !== undefined || b.threw !== undefined) {
    if (a.threw !== b.threw) return fail(`js ${a.threw === undefined ? "returned" : `threw ${a.threw}`}; wasm ${b.threw === undefined ? "returned" : `threw ${b.threw}`}`);
  }
  if (a.other !== b.other) return fail(`js returned ${a.other}, wasm ${b.other}`);
  if (a.values.length !== b.values.length) return fail(`js produced ${a.values.length} tensors (results and gradients), wasm ${b.values.length}`);
  // float64 and int32 results must be identical only when no float32 tensor takes part (a float64 result can
  // depend on float32 intermediates, which wasm computes slightly differently).
  const built = buildArgs(raw);
  if (entry.backendComparable && !entry.backendComparable(built)) return null;
  const inputs = tensorsIn(built);
  const exact = inputs.every((t) => t.dtype !== "float32");
  let absScale = 0;
  if (entry.absScale) {
    // matmul and linear accumulate in float32 on wasm: with a finite input above 1e18 a partial sum may
    // overflow there and not in float64 (a documented difference of the kernels), so such calls are not compared.
    if (inputs.some((t) => t.dtype === "float32" && elements(t, READ_LIMIT).some((x) => Number.isFinite(x) && Math.abs(x) > 1e18))) return null;
    const absRaw = raw.map((x) => (x.k === "tensor" ? { ...x, dtype: x.dtype === "int32" ? x.dtype : ("float64" as const), grad: false } : x));
    resetGlobals();
    const args = buildArgs(absRaw).map((t) => (t instanceof Tensor && t.dtype !== "int32" ? new Tensor(Float64Array.from(elements(t), Math.abs), t.shape) : t));
    try {
      for (const t of tensorsIn(invoke(key, entry, args))) for (const x of elements(t)) if (Number.isFinite(x)) absScale = Math.max(absScale, Math.abs(x));
    } catch {
      // the call refuses these inputs; both backends threw alike above
    }
  }
  let gradScales = new Map<number, number>();
  if (entry.gradScale && a.values.length > 0) {
    const leaves = tensorsIn(built).filter((t) => t.requiresGrad && t.isLeaf);
    const r = a.values[0]!;
    resetGlobals();
    // upstream reads only the result's shape and dtype: the same gradient observe used.
    const byLeaf = entry.gradScale(built, upstream(Tensor.empty(r.shape, r.dtype as kd.DType), seed));
    gradScales = new Map(leaves.flatMap((l, i) => (byLeaf.has(l) ? [[i, byLeaf.get(l)!] as const] : [])));
  }
  for (let k = 0; k < a.values.length; k++) {
    const x = a.values[k]!;
    const y = b.values[k]!;
    const what = k === 0 ? "the result" : `tensor ${k} (results first, then the leaves' gradients)`;
    if (x.dtype !== y.dtype || x.shape.join(",") !== y.shape.join(",")) return fail(`${what}: js ${x.dtype} [${x.shape}] vs wasm ${y.dtype} [${y.shape}]`);
    let scale = Math.max(absScale, x.leaf === undefined ? 0 : gradScales.get(x.leaf) ?? 0);
    for (const v of x.xs) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
    for (let i = 0; i < x.xs.length; i++) {
      const u = x.xs[i]!;
      const w = y.xs[i]!;
      if (Object.is(u, w) || (Number.isNaN(u) && Number.isNaN(w))) continue;
      const tolerant = x.dtype === "float32" || (x.dtype === "float64" && !exact);
      if (!tolerant || !Number.isFinite(u) || !Number.isFinite(w)) {
        return fail(`${what} (${x.dtype} [${x.shape}]) at flat index ${i}: js ${u}, wasm ${w}${tolerant ? "" : " (must be identical: every float input is float64)"}`);
      }
      if (Math.abs(u - w) > BACKEND_RTOL * (Math.max(Math.abs(u), Math.abs(w)) + scale)) {
        return fail(`${what} (${x.dtype} [${x.shape}]) at flat index ${i}: js ${u}, wasm ${w}, difference ${Math.abs(u - w)} > ${BACKEND_RTOL}·(max(|js|, |wasm|) + ${scale})`);
      }
    }
  }
  return null;
}
