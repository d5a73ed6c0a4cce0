/**
 * THE TABLE: how to call every public export, keyed by name (as PyTorch's
 * OpInfo keys sample inputs by op). test/fuzz/fuzz.test.ts scans
 * src/index.ts, src/node/index.ts and the exported classes' methods at run
 * time and fails when something public has no row here, or a row names
 * nothing public. A row gives the arguments (params.ts), and optionally the
 * finiteness the docs promise for them (docs/non-finite.md), a semantic
 * check of the result, and extra names a message may use. See
 * test/fuzz/README.md, "Adding an export".
 */
import * as nodeFs from "node:fs";
import * as nodePath from "node:path";
import fc from "fast-check";
import * as kd from "../../src/index.js";
import * as kn from "../../src/node/index.js";
import * as kt from "../../src/testing/index.js";
import * as kf from "../../src/testing/fast-check.js";
import { Generator, KdgradError, Tensor } from "../../src/index.js";
import type { Entry, Finite } from "./calls.js";
import { READ_LIMIT, UserError, elements, functionPart, malformed, tensorsIn, thrownProblem } from "./oracle.js";
import {
  Bool, DTypeP, Dim, Dims, Enum, FloatDTypeP, Int, Num, Options, ShapeP, Size, T, TN, anyNumber, badInt, badSize,
  call, fixed, one, optional, special, wrongType, type Param,
} from "./params.js";
import {
  Deferred, buildSpecial, gradOutputsFor, gradientsPart, leafOf, likeTensor, npyReadable, npyValues, idxReadable, idxValues, type IdxParams, readsOf, safetensorsContent, type GradientsCase,
  type GradientsCaseParams, type GraphParams, type ModuleParams, type NpyParams, type OptimizerParams, type PathParams, type SafetensorsParams,
  SEQUENCES, buildParts, type CheckpointBytesParams, type ChildrenParams, type GradParamsParams, type OptimizerDictParams, type PartsParams,
  type ScheduleKind, type SchedulerDictParams, type SchedulerParams,
} from "./specials.js";
import {
  BAD_INTS, OMIT, SPECIAL, broadcastVariant, capShape, dimArb, list, logicalValues, obj, prng, setSpecialBuilder, shapeArb, sizeOf, tensorArb, v,
  type Arg, type DType, type Layout, type Profile, type TensorArg, type TensorOptions, type ValueKind,
} from "./values.js";

type ParamsOf = (p: Profile) => Param[];
type Row = Entry & { params?: ParamsOf };

// ------------------------------------------------------------------ predicates

const floats = (x: unknown): Tensor[] => tensorsIn(x).filter((t) => t.dtype !== "int32");
const isT = (x: unknown): x is Tensor => x instanceof Tensor;
const isCallback = (f: unknown, name: string): boolean => typeof f === "function" && f.name === name;
const num = (x: unknown): x is number => typeof x === "number";

/**
 * Every float tensor in the arguments, and every top-level number, finite with |x| ≤ bound. A bare
 * number meets float32 tensors only in float32 (as in PyTorch), so then it must also be ≤ float32's max.
 */
function within(args: unknown[], bound: number): boolean {
  const fs = floats(args);
  // With no float tensor at all (where(condition, 1e308, 0)), the numbers make a tensor of the default dtype, float32.
  const numBound = fs.every((t) => t.dtype === "float32") ? Math.min(bound, 3.4028234663852886e38) : bound;
  for (const a of args) if (num(a) && !(Number.isFinite(a) && Math.abs(a) <= numBound)) return false;
  for (const t of floats(args)) {
    if (t.size > READ_LIMIT) return false;
    for (const x of elements(t)) if (!(Number.isFinite(x) && Math.abs(x) <= bound)) return false;
  }
  return true;
}
const bounded = (bound: number) => (args: unknown[]): boolean => within(args, bound);

/** The number of elements one lane of a reduction covers (PyTorch's rule: dim [] or absent reduces every axis). */
function reducedCount(x: unknown, dim: unknown): number {
  if (!isT(x)) return 0;
  if (dim === undefined) return x.size;
  const l = num(dim) ? [dim] : Array.isArray(dim) ? dim : null;
  if (l === null) return 0;
  if (l.length === 0) return x.size;
  let n = 1;
  for (const d of l) n *= num(d) ? x.shape[d < 0 ? d + x.ndim : d] ?? 1 : 0;
  return n;
}

const stored = (dtype: string, x: number): number => (dtype === "float32" ? Math.fround(x) : x);
const same = (a: number, b: number): boolean => a === b || (Number.isNaN(a) && Number.isNaN(b));
const shapeText = (s: readonly number[]): string => `[${s.join(",")}]`;

/** Compare a tensor's elements with expected values (rounded to its dtype). */
function expectValues(t: unknown, want: readonly number[], what = "the result"): string | null {
  if (!isT(t)) return `${what} is not a Tensor`;
  if (t.size > READ_LIMIT) return null;
  const got = elements(t);
  if (got.length !== want.length) return `${what} has ${got.length} elements, expected ${want.length}`;
  for (let i = 0; i < got.length; i++) {
    const w = t.dtype === "float32" ? Math.fround(want[i]!) : want[i]!;
    if (!same(got[i]!, w)) return `${what}[${i}] is ${got[i]}, expected ${w}`;
  }
  return null;
}

// ------------------------------------------------------------------ parameter groups

/** Several related Args; `bads[i]` replaces Arg i (null: that Arg has no bad values). */
function Group(good: fc.Arbitrary<Arg[]>, bads: (fc.Arbitrary<Arg> | null)[]): Param {
  const slots = bads.flatMap((b, i) => (b === null ? [] : [[i, b] as const]));
  return {
    good,
    bad: slots.length === 0 ? null : fc.tuple(good, fc.oneof(...slots.map(([i, b]) => b.map((x) => [i, x] as const)))).map(([g, [i, x]]) => {
      const c = [...g];
      c[i] = x;
      return c;
    }),
  };
}

const wrongTensor: fc.Arbitrary<Arg> = fc.oneof(wrongType, fc.constantFrom(...SPECIAL).map(v));

/** Two operands that broadcast (or, sometimes, do not), either of which may be a bare number. */
function Pair(p: Profile, o: TensorOptions = {}, numbers = true): Param {
  const good = shapeArb(p)
    .chain((s) => fc.tuple(tensorArb(fc.constant(s), o), tensorArb(broadcastVariant(s, p.maxSize), o), anyNumber, fc.integer({ min: 0, max: 9 })))
    .map(([a, b, n, k]): Arg[] => (numbers && k === 0 ? [a, v(n)] : numbers && k === 1 ? [v(n), b] : [a, b]));
  return Group(good, [wrongTensor, wrongTensor]);
}

/** A matmul pair: vector or matrix forms, batched, broadcast batches, or mismatched inner sizes. */
function MatmulPair(p: Profile, o: TensorOptions = {}): Param {
  const d = dimArb(p);
  const good = fc
    .record({ n: d, k: d, m: d, b: fc.integer({ min: 1, max: 3 }), form: fc.constantFrom("vv", "mv", "vm", "mm", "mm", "bmm", "bcast", "mismatch", "scalar"), a: fc.nat(), c: fc.nat() })
    .chain(({ n: n0, k, m: m0, b, form }) => {
      // The output's size is capped too: with k = 0 both inputs are empty whatever n and m are,
      // and [3, 1, 4097, 0] · [2, 0, 4097] would make 10⁸ zeros (seed 15 of a survey: a hang).
      const lead = form === "bcast" ? 2 * b : form === "bmm" ? b : 1;
      const [n, m] = capShape([n0, m0], Math.max(1, Math.floor(p.maxSize / lead)));
      const shapes: Record<string, [number[], number[]]> = {
        vv: [[k], [k]], mv: [[n, k], [k]], vm: [[k], [k, m]], mm: [[n, k], [k, m]], bmm: [[b, n, k], [b, k, m]],
        bcast: [[b, 1, n, k], [2, k, m]], mismatch: [[n, k], [k + 1, m]], scalar: [[], [k]],
      };
      const [sa, sb] = shapes[form]!;
      return fc.tuple(tensorArb(fc.constant(capShape(sa, p.maxSize)), o), tensorArb(fc.constant(capShape(sb, p.maxSize)), o));
    })
    .map(([a, b]): Arg[] => [a, b]);
  return Group(good, [wrongTensor, wrongTensor]);
}

/** x [..., in], weight [out, in], bias [out] (or absent, or null), sometimes mismatched. */
function LinearArgs(p: Profile, o: TensorOptions = {}): Param {
  const d = dimArb(p);
  const good = fc
    .record({ n: d, inF: d, out: d, lead: fc.integer({ min: 0, max: 2 }), bias: fc.constantFrom("tensor", "null", "absent", "wrong"), off: fc.constantFrom(0, 0, 0, 1) })
    .chain(({ n: n0, inF, out: out0, lead, bias, off }) => {
      // The output [n, (2,) out] is capped as well as the inputs (an empty in-features axis leaves both inputs empty).
      const [n, out] = capShape([n0, out0], Math.max(1, Math.floor(p.maxSize / (lead > 1 ? 2 : 1))));
      const xs = capShape([...(lead > 0 ? [n] : []), ...(lead > 1 ? [2] : []), inF], p.maxSize);
      return fc.tuple(
        tensorArb(fc.constant(xs), o),
        tensorArb(fc.constant(capShape([out, inF + off], p.maxSize)), o),
        bias === "tensor" ? tensorArb(fc.constant([out]), o) : bias === "wrong" ? tensorArb(fc.constant([out + 1]), o) : fc.constant(bias === "null" ? v(null) : OMIT),
      );
    })
    .map(([x, w, b]): Arg[] => [x, w, b]);
  return Group(good, [wrongTensor, wrongTensor, wrongType]);
}

/** Logits of shape [B, C] (or [C], or [B, C, d]) and matching targets: int32 labels (some ignored or out of range) or class probabilities. */
function ClassArgs(p: Profile, o: { soft: boolean; forms?: string[] }): Param {
  const d = dimArb(p);
  const good = fc
    .record({ B: d, C: d, e: fc.integer({ min: 1, max: 3 }), form: fc.constantFrom(...(o.forms ?? ["2d", "2d", "1d", "kd"])), soft: fc.integer({ min: 0, max: 3 }) })
    .chain(({ B, C, e, form, soft }) => {
      const shape = capShape(form === "1d" ? [C] : form === "kd" ? [B, C, e] : [B, C], p.maxSize);
      const rows = form === "1d" ? [] : form === "kd" ? [shape[0]!, shape[2]!] : [shape[0]!];
      const classes = form === "1d" ? shape[0]! : shape[1]!;
      const target = o.soft && soft === 0
        ? tensorArb(fc.constant(shape), { dtypes: ["float32", "float64"], kinds: ["positive", "moderate"], grad: "maybe" })
        : tensorArb(fc.constant(rows), { dtypes: ["int32", "int32", "int32", "float32"], kinds: ["classes", "classes", "labels"], classes, grad: "never" });
      return fc.tuple(tensorArb(fc.constant(shape), { dtypes: ["float32", "float64"], kinds: ["moderate", "moderate", "moderate", "masked", "wide", "special", "finite-special", "huge", "plateau", "plateau"] }), target);
    })
    .map(([x, t]): Arg[] => [x, t]);
  return Group(good, [wrongTensor, wrongTensor]);
}

/** Student and teacher logits [B, C] (sometimes mismatched) for the distillation losses. */
function LogitPair(p: Profile, kinds: TensorOptions["kinds"] = ["moderate", "moderate", "masked", "wide", "special", "huge"]): Param {
  const d = dimArb(p);
  const good = fc
    .record({ B: d, C: d, mismatch: fc.integer({ min: 0, max: 12 }), r1: fc.integer({ min: 1, max: 3 }) })
    .chain(({ B, C, mismatch, r1 }) => {
      const s = capShape([B, C], p.maxSize);
      const t = mismatch === 0 ? [s[0]!, s[1]! + 1] : mismatch === 1 ? s.slice(0, r1 === 1 ? 1 : 2).concat(r1 === 3 ? [1] : []) : s;
      return fc.tuple(tensorArb(fc.constant(s), { dtypes: ["float32", "float64"], kinds }), tensorArb(fc.constant(t), { dtypes: ["float32", "float64", "float32"], kinds }));
    })
    .map(([s, t]): Arg[] => [s, t]);
  return Group(good, [wrongTensor, wrongTensor]);
}

/**
 * Student logits, teacher logits and options for the distillation losses: [B, C] logits of
 * every kind (masks, extremes), labels that mostly fit (or are absent, the wrong shape or
 * dtype, or out of range), any temperature, any alpha.
 */
function DistillArgs(p: Profile): Param {
  const d = dimArb(p);
  const kinds = fc.constantFrom<ValueKind>("moderate", "moderate", "moderate", "masked", "wide", "special", "finite-special", "huge", "plateau", "flat", "flat");
  const good = fc
    .record({
      B: d, C: d, mismatch: fc.integer({ min: 0, max: 15 }), labels: fc.constantFrom("match", "match", "match", "match", "none", "none", "none", "noisy", "wrong-shape", "float"),
      T: fc.option(TEMPERATURES, { nil: undefined, freq: 6 }), alpha: fc.option(fc.constantFrom(0, 0.3, 0.5, 0.9, 1), { nil: undefined, freq: 2 }),
      options: fc.integer({ min: 0, max: 9 }), sk: kinds, tk: kinds, sd: fc.constantFrom<DType>("float32", "float32", "float64"), td: fc.constantFrom<DType>("float32", "float32", "float64"),
      sl: fc.constantFrom<Layout>("contiguous", "contiguous", "transposed", "strided", "offset"), tgrad: fc.boolean(), sgrad: fc.integer({ min: 0, max: 3 }), seeds: fc.tuple(fc.nat(), fc.nat(), fc.nat()),
    })
    .map(({ B, C, mismatch, labels, T, alpha, options, sk, tk, sd, td, sl, tgrad, sgrad, seeds }): Arg[] => {
      const s = capShape([Math.max(B, 1), Math.max(C, 1)], p.maxSize);
      const t = mismatch === 0 ? [s[0]!, s[1]! + 1] : mismatch === 1 ? [s[0]!] : s;
      const student: TensorArg = { k: "tensor", dtype: sd, shape: s, layout: sl, kind: sk, seed: seeds[0], grad: sgrad > 0 };
      const teacher: TensorArg = { k: "tensor", dtype: td, shape: t, layout: "contiguous", kind: tk, seed: seeds[1], grad: tgrad };
      const fields: [string, Arg][] = [];
      if (labels !== "none") {
        fields.push(["labels", { k: "tensor", dtype: labels === "float" ? "float32" : "int32", shape: labels === "wrong-shape" ? [s[0]! + 1] : [s[0]!], layout: "contiguous", kind: labels === "noisy" ? "labels" : "classes", seed: seeds[2], grad: false, classes: s[1]! }]);
      }
      if (T !== undefined) fields.push(["temperature", v(T)]);
      // The divergences and the other options of issue 12, on a few calls each.
      const extra = seeds[2] % 11;
      if (extra === 1) fields.push(["divergence", v("reverse")]);
      if (extra === 2) fields.push(["divergence", v("jsd")], ["beta", v(0.3)]);
      if (extra === 3) fields.push(["divergence", v("skewForward")], ["skew", v(0.1)]);
      if (extra === 4) fields.push(["divergence", v("skewReverse")]);
      if (extra === 5) fields.push(["divergence", v("tvd")]);
      if (extra === 6) fields.push(["standardize", v(true)]);
      if (extra === 7) fields.push(["scaleT2", v(false)]);
      if (extra === 8) fields.push(["reduction", v(seeds[1] % 2 === 0 ? "sum" : "none")]);
      if (extra === 9 && labels !== "none") fields.push(["ignoreIndex", v(0)]);
      // Without labels, alpha must be absent or 1 (there is no hard-label term): mostly keep to that.
      if (alpha !== undefined && (labels !== "none" || alpha === 1 || seeds[2] % 4 === 0)) fields.push(["alpha", v(alpha)]);
      return options === 0 ? [student, teacher] : [student, teacher, obj(fields)];
    });
  // Options that must be refused (calls.ts): a misspelt key, and null where a value belongs.
  const refused = fc.constantFrom<Arg>(
    { k: "object", fields: [["temprature", v(2)]], refuse: 'the unknown option key "temprature"' },
    { k: "object", fields: [["temperature", v(4)], ["alpa", v(0.5)]], refuse: 'the unknown option key "alpa"' },
    { k: "object", fields: [["temperature", v(null)]], refuse: "the option temperature: null" },
  );
  return Group(good, [wrongTensor, wrongTensor, fc.oneof(fc.constantFrom(v(null), v(3), v("x")), Temperature.bad!.map((b) => obj([["temperature", b[0]!]])), Alpha.bad!.map((b) => obj([["alpha", b[0]!]])), refused)]);
}

/**
 * Student and teacher logits [B, C] for the distillation methods of issue 12 (dkdLoss,
 * distLoss, nkdLoss, wsldLoss) and, when `labels`, int32 targets [B]: logits of every kind,
 * sometimes a teacher of another shape, a single class or (for DIST) a single row, labels that
 * mostly fit (or are noisy, the wrong shape or float).
 */
function KdMethodArgs(p: Profile, labels: boolean): Param {
  const d = dimArb(p);
  const kinds = fc.constantFrom<ValueKind>("moderate", "moderate", "moderate", "masked", "wide", "special", "finite-special", "huge", "plateau", "flat", "flat");
  const good = fc
    .record({
      B: d, C: d, mismatch: fc.integer({ min: 0, max: 15 }), y: fc.constantFrom("match", "match", "match", "match", "noisy", "wrong-shape", "float"),
      sk: kinds, tk: kinds, sd: fc.constantFrom<DType>("float32", "float32", "float64"), td: fc.constantFrom<DType>("float32", "float32", "float64"),
      sl: fc.constantFrom<Layout>("contiguous", "contiguous", "transposed", "strided", "offset"), tgrad: fc.boolean(), seeds: fc.tuple(fc.nat(), fc.nat(), fc.nat()),
    })
    .map(({ B, C, mismatch, y, sk, tk, sd, td, sl, tgrad, seeds }): Arg[] => {
      const s = capShape([Math.max(B, 1), Math.max(C, 1)], p.maxSize);
      const t = mismatch === 0 ? [s[0]!, s[1]! + 1] : mismatch === 1 ? [s[0]!] : s;
      const student: TensorArg = { k: "tensor", dtype: sd, shape: s, layout: sl, kind: sk, seed: seeds[0], grad: true };
      const teacher: TensorArg = { k: "tensor", dtype: td, shape: t, layout: "contiguous", kind: tk, seed: seeds[1], grad: tgrad };
      if (!labels) return [student, teacher];
      const target: TensorArg = {
        k: "tensor", dtype: y === "float" ? "float32" : "int32", shape: y === "wrong-shape" ? [s[0]! + 1] : [s[0]!], layout: "contiguous",
        kind: y === "noisy" ? "labels" : "classes", seed: seeds[2], grad: false, classes: s[1]!,
      };
      return [student, teacher, target];
    });
  return Group(good, labels ? [wrongTensor, wrongTensor, wrongTensor] : [wrongTensor, wrongTensor]);
}

/** A weight of one term of a distillation method: finite and ≥ 0 (0 switches the term off); bad: negative, NaN, ∞, a string. */
const TermWeight: Param = one(fc.constantFrom(0, 0.5, 1, 1.5, 8).map(v), fc.constantFrom(-0.5, NaN, Infinity, "1").map(v));
/** The methods' temperatures: the accepted range is [1e-6, 1e6] (both ends included); the fuzz pool reaches past both. */
const MethodTemperature: Param = one(fc.constantFrom(1e-6, 0.5, 1, 2, 4, 8, 1e3, 1e6, 1e-8, 1e8, 5e-324).map(v), fc.constantFrom(0, -1, NaN, Infinity, "4", true).map(v));

/**
 * The methods' finiteness promise (docs/non-finite.md, "The distillation methods"): finite
 * logits with |x| ≤ 1e4 on both sides, the two the same [B, C] float shape with C ≥ 2 (and
 * B ≥ 2 for DIST), labels int32 [B] in range, an accepted temperature and weights — then the
 * loss and both gradients are finite.
 */
function kdMethodFinite(labels: boolean, minRows: number) {
  return (args: unknown[]): Finite => {
    const [s, t] = args;
    const y = labels ? args[2] : undefined;
    const o = (labels ? args[3] : args[2]) ?? {};
    if (!isT(s) || !isT(t) || s.ndim !== 2 || t.ndim !== 2 || s.dtype === "int32" || t.dtype === "int32") return false;
    if (s.shape[0] !== t.shape[0] || s.shape[1] !== t.shape[1] || s.shape[0]! < minRows || s.shape[1]! < 2) return false;
    if (typeof o !== "object" || o === null || Array.isArray(o)) return false;
    for (const [k, val] of Object.entries(o as Record<string, unknown>)) {
      if (k === "standardize") continue;
      if (!num(val) || !Number.isFinite(val) || val < 0) return false;
      if (k === "temperature" && !(val >= 1e-6 && val <= 1e6)) return false;
    }
    if (labels) {
      if (!isT(y) || y.dtype !== "int32" || y.ndim !== 1 || y.shape[0] !== s.shape[0]) return false;
      if (elements(y).some((k) => k < 0 || k >= s.shape[1]!)) return false;
    }
    return within([s, t], 1e4);
  };
}

/**
 * linearDistillationLoss: hidden [N, H], weight [V, H], teacherHidden [N, H'], teacherWeight
 * [V, H'] of every kind (now and then mismatched sizes or dtypes), labels [N] (some ignored or
 * out of range), chunkRows good (1 … N + 1) or bad, and DistillArgs's options.
 */
function LinearDistillArgs(p: Profile): Param {
  const d = dimArb(p);
  const kinds = fc.constantFrom<ValueKind>("moderate", "moderate", "moderate", "wide", "special", "finite-special", "huge", "flat");
  const good = fc
    .record({
      N: d, H: d, Ht: d, V: d, mismatch: fc.integer({ min: 0, max: 15 }), labels: fc.constantFrom("match", "match", "none", "noisy"),
      T: fc.option(TEMPERATURES, { nil: undefined, freq: 3 }), alpha: fc.option(fc.constantFrom(0, 0.5, 1), { nil: undefined, freq: 2 }),
      chunk: fc.option(fc.constantFrom<unknown>(1, 2, 3, 100, 0, 1.5, "2"), { nil: undefined }), extra: fc.integer({ min: 0, max: 10 }),
      kinds: fc.tuple(kinds, kinds, kinds, kinds), sd: fc.constantFrom<DType>("float32", "float64"), td: fc.constantFrom<DType>("float32", "float64"),
      tgrad: fc.boolean(), seeds: fc.tuple(fc.nat(), fc.nat(), fc.nat(), fc.nat(), fc.nat()),
    })
    .map(({ N, H, Ht, V, mismatch, labels, T, alpha, chunk, extra, kinds: [hk, wk, thk, twk], sd, td, tgrad, seeds }): Arg[] => {
      const n = Math.max(N, 1);
      const v0 = Math.max(V, 1);
      const hs = capShape([n, H], p.maxSize);
      const ws = capShape([v0, mismatch === 0 ? H + 1 : H], p.maxSize);
      const ths = capShape([mismatch === 1 ? n + 1 : n, Ht], p.maxSize);
      const tws = capShape([mismatch === 2 ? v0 + 1 : v0, Ht], p.maxSize);
      const tensorOf = (shape: number[], dtype: DType, kind: ValueKind, seed: number, grad: boolean): TensorArg =>
        ({ k: "tensor", dtype, shape, layout: "contiguous", kind, seed, grad });
      const args: Arg[] = [
        tensorOf(hs, sd, hk, seeds[0], true), tensorOf(ws, mismatch === 3 ? (sd === "float32" ? "float64" : "float32") : sd, wk, seeds[1], true),
        tensorOf(ths, td, thk, seeds[2], tgrad), tensorOf(tws, td, twk, seeds[3], tgrad),
      ];
      const fields: [string, Arg][] = [];
      if (labels !== "none") {
        fields.push(["labels", { k: "tensor", dtype: "int32", shape: [hs[0]!], layout: "contiguous", kind: labels === "noisy" ? "labels" : "classes", seed: seeds[4], grad: false, classes: ws[0]! }]);
      }
      if (T !== undefined) fields.push(["temperature", v(T)]);
      if (chunk !== undefined) fields.push(["chunkRows", v(chunk)]);
      if (extra === 1) fields.push(["divergence", v("reverse")]);
      if (extra === 2) fields.push(["divergence", v("jsd")], ["beta", v(0.3)]);
      if (extra === 3) fields.push(["divergence", v("skewReverse")]);
      if (extra === 4) fields.push(["divergence", v("tvd")]);
      if (extra === 5) fields.push(["standardize", v(true)]);
      if (extra === 6) fields.push(["scaleT2", v(false)]);
      if (extra === 7) fields.push(["reduction", v(seeds[1] % 2 === 0 ? "sum" : "none")]);
      if (alpha !== undefined && (labels !== "none" || alpha === 1 || seeds[4] % 4 === 0)) fields.push(["alpha", v(alpha)]);
      return [...args, obj(fields)];
    });
  const refused = fc.constantFrom<Arg>(
    { k: "object", fields: [["chunkrows", v(2)]], refuse: 'the unknown option key "chunkrows"' },
    { k: "object", fields: [["chunkRows", v(null)]], refuse: "the option chunkRows: null" },
  );
  return Group(good, [wrongTensor, wrongTensor, wrongTensor, wrongTensor, fc.oneof(fc.constantFrom(v(null), v(3)), Temperature.bad!.map((b) => obj([["temperature", b[0]!]])), refused)]);
}

/** x as a float64 tensor of the same shape (each value through f), for float64 references. */
function float64Of(x: Tensor, f: (v: number) => number = (v) => v): Tensor {
  return kd.tensor(elements(x).map(f), { shape: [...x.shape], dtype: "float64" });
}

/**
 * linearDistillationLoss: distillFinite's promise on the logits the products give, when every
 * entry of the four matrices is finite (an infinity times 0 is NaN) and the products are
 * formed here in float64 (their float32 rounding cannot leave the finite range at |logit| ≤ 1e4).
 */
function linearDistillFinite(args: unknown[]): Finite {
  const [h, w, th, tw, o] = args;
  if (![h, w, th, tw].every((x) => isT(x) && x.dtype !== "int32" && x.ndim === 2)) return false;
  const [H_, W_, TH, TW] = [h, w, th, tw] as Tensor[];
  if (H_.shape[1] !== W_.shape[1] || TH.shape[1] !== TW.shape[1] || H_.shape[0] !== TH.shape[0] || W_.shape[0] !== TW.shape[0]) return false;
  if (H_.dtype !== W_.dtype || TH.dtype !== TW.dtype) return false;
  if (![H_, W_, TH, TW].every((x) => x.size <= READ_LIMIT && elements(x).every(Number.isFinite))) return false;
  const logits = (x: Tensor, m: Tensor): Tensor => {
    const [n, k] = x.shape as [number, number];
    const V = m.shape[0]!;
    const xs = elements(x);
    const ms = elements(m);
    const out = new Float64Array(n * V);
    for (let r = 0; r < n; r++) for (let c = 0; c < V; c++) for (let j = 0; j < k; j++) out[r * V + c] += xs[r * k + j]! * ms[c * k + j]!;
    return new Tensor(out, [n, V]);
  };
  return distillFinite([logits(H_, W_), logits(TH, TW), o]);
}

/**
 * linearDistillationLoss forms its logits with the backend's float32 matmul (wasm sums in float32
 * lanes, the TypeScript kernel in float64), so a logit can differ between backends by about
 * 2⁻²⁴·Σ_k|h_k·w_k| (the sum's rounding, K-fold at worst, but a few ulps of the absolute sum in
 * practice), and the softmax at T by that over T. The losses and gradients are compared to 1e-5
 * (BACKEND_RTOL), so only calls whose largest such difference over T is below 1e-6 are compared:
 * a hidden state at 1e4 or 1e30 (finite-special) gives logits whose rounding alone moves the
 * distribution (a found disagreement of 1.2 at T = 4), which no kernel can avoid.
 */
function linearDistillConditioned(args: unknown[]): boolean {
  const [h, w, th, tw, o] = args;
  const T = ((o ?? {}) as Record<string, unknown>).temperature ?? 4;
  if (typeof T !== "number" || !(T > 0)) return true;
  let worst = 0;
  for (const [x, m] of [[h, w], [th, tw]] as const) {
    if (!isT(x) || !isT(m) || x.dtype !== "float32" || x.ndim !== 2 || m.ndim !== 2 || x.shape[1] !== m.shape[1]) continue;
    const xs = elements(x).map(Math.abs);
    const ms = elements(m).map(Math.abs);
    const [n, k] = x.shape as [number, number];
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < m.shape[0]!; c++) {
        let a = 0;
        for (let j = 0; j < k; j++) a += xs[r * k + j]! * ms[c * k + j]!;
        // A row with a non-finite logit is NaN on both backends (compared then as NaN); the others count.
        if (Number.isFinite(a)) worst = Math.max(worst, a);
      }
    }
  }
  return !(worst * 2 ** -24 / T > 1e-6);
}

/**
 * linearDistillationLoss's backward forms dH = G·W and dW = Gᵀ·H (G = ∂L/∂logits, [N, V]) and
 * the teacher's alike, in float32 products for float32 matrices: the wasm kernel sums in float32,
 * so an entry may differ between backends by a few ulps of Σ_c |G_rc|·|W_ck| while the entry
 * itself cancels to far less (found: a gradient of −0.00163 against a scale of 0.92, where the
 * teacher is one-hot and G's row is 1.96e-3 everywhere but two classes). The scale of each
 * matrix's gradient is the largest entry of its product formed on |G| and |the other matrix| in
 * float64, G from distillationLoss on float64 logits (the call's definition) with the same
 * upstream gradient; a call whose G this cannot form leaves the default scale.
 */
function linearDistillGradScale(args: unknown[], g0: Tensor): Map<Tensor, number> {
  const scales = new Map<Tensor, number>();
  const [h, w, th, tw, o] = args;
  if (![h, w, th, tw].every((x) => isT(x) && x.dtype !== "int32" && x.ndim === 2 && x.size <= READ_LIMIT)) return scales;
  const { chunkRows: _, ...options } = (isT(o) || o === null || typeof o !== "object" ? {} : o) as Record<string, unknown>;
  if (isT(options.temperature)) options.temperature = float64Of(options.temperature);
  /** The largest finite entry of |a|·|b| (float64 products, float64 sums). */
  const absProductMax = (a: Tensor, b: Tensor): number =>
    elements(kd.matmul(float64Of(a, Math.abs), float64Of(b, Math.abs))).reduce((most, v) => (Number.isFinite(v) && v > most ? v : most), 0);
  try {
    // G = ∂L/∂logits of distillationLoss on the float64 logits (the call's definition).
    const pairs = [[h, w], [th, tw]] as [Tensor, Tensor][];
    const logits = pairs.map(([x, m]) => kd.noGrad(() => kd.matmul(float64Of(x), kd.transpose(float64Of(m), 0, 1))).requiresGrad_(true));
    kd.distillationLoss(logits[0]!, logits[1]!, options as kd.DistillationOptions).backward(float64Of(g0));
    pairs.forEach(([x, m], i) => {
      const G = logits[i]!.grad!;
      scales.set(x, absProductMax(G, m)); // dH = G·W
      scales.set(m, absProductMax(kd.transpose(G, 0, 1), x)); // dW = Gᵀ·H
    });
  } catch {
    // distillationLoss refuses these arguments: both backends threw alike, or the default scale stands.
  }
  return scales;
}

/**
 * sparseDistillationLoss: student logits [..., C] of every kind, the teacher's top-k classes
 * (distinct per row, now and then a repeat or one out of range) and log-probabilities (mass below
 * 1, 1, within 1e-6 above, or well above; some −∞), at times of mismatched shapes or dtypes, with
 * labels (some ignored or out of range) and every option, good and bad.
 */
function SparseArgs(p: Profile): Param {
  const d = dimArb(p);
  const kinds = fc.constantFrom<ValueKind>("moderate", "moderate", "moderate", "masked", "wide", "special", "finite-special", "huge", "plateau", "flat");
  const good = fc
    .record({
      lead: fc.constantFrom<number[]>([], [2], [3], [2, 2], [1, 3]), C: d, kf: fc.double({ min: 0, max: 1, noNaN: true }), mismatch: fc.integer({ min: 0, max: 15 }),
      labels: fc.constantFrom("match", "match", "none", "none", "noisy", "float"), sk: kinds, sd: fc.constantFrom<DType>("float32", "float32", "float64"),
      ld: fc.constantFrom<DType>("float32", "float64"), sl: fc.constantFrom<Layout>("contiguous", "contiguous", "transposed", "strided", "offset"),
      lgrad: fc.boolean(), seeds: fc.tuple(fc.nat(), fc.nat(), fc.nat(), fc.nat()),
      T: fc.option(TEMPERATURES, { nil: undefined, freq: 3 }), alpha: fc.option(fc.constantFrom(0, 0.3, 1), { nil: undefined, freq: 2 }),
      tail: fc.option(fc.boolean(), { nil: undefined }), scaleT2: fc.option(fc.boolean(), { nil: undefined }),
      reduction: fc.option(fc.constantFrom("mean", "sum", "none"), { nil: undefined }), ignoreIndex: fc.option(fc.constantFrom(-100, 0, -1), { nil: undefined }),
      extra: fc.constantFrom("none", "none", "none", "divergence", "standardize", "forward"),
    })
    .map(({ lead, C, kf, mismatch, labels, sk, sd, ld, sl, lgrad, seeds, T, alpha, tail, scaleT2, reduction, ignoreIndex, extra }): Arg[] => {
      const classes = Math.max(C, 1);
      const k = mismatch === 0 ? classes + 1 : Math.max(1, Math.round(kf * classes));
      const shape = capShape([...lead, classes], p.maxSize);
      const ls = shape.slice(0, -1);
      const ik = mismatch === 1 ? [...ls, k + 1] : mismatch === 2 ? [k] : [...ls, k];
      const student: TensorArg = { k: "tensor", dtype: sd, shape, layout: sl, kind: sk, seed: seeds[0], grad: true };
      const indices: TensorArg = { k: "tensor", dtype: mismatch === 3 ? "float32" : "int32", shape: ik, layout: "contiguous", kind: "topk", seed: seeds[1], grad: false, classes };
      const logprobs: TensorArg = { k: "tensor", dtype: mismatch === 4 ? "int32" : ld, shape: [...ls, k], layout: "contiguous", kind: "logprobs", seed: seeds[2], grad: lgrad };
      const fields: [string, Arg][] = [];
      if (labels !== "none") {
        fields.push(["labels", { k: "tensor", dtype: labels === "float" ? "float32" : "int32", shape: ls, layout: "contiguous", kind: labels === "noisy" ? "labels" : "classes", seed: seeds[3], grad: false, classes }]);
      }
      if (T !== undefined) fields.push(["temperature", v(T)]);
      if (alpha !== undefined && (labels !== "none" || alpha === 1 || seeds[3] % 4 === 0)) fields.push(["alpha", v(alpha)]);
      if (tail !== undefined) fields.push(["tail", v(tail)]);
      if (scaleT2 !== undefined) fields.push(["scaleT2", v(scaleT2)]);
      if (reduction !== undefined) fields.push(["reduction", v(reduction)]);
      if (ignoreIndex !== undefined) fields.push(["ignoreIndex", v(ignoreIndex)]);
      if (extra === "divergence") fields.push(["divergence", v("reverse")]);
      if (extra === "standardize") fields.push(["standardize", v(true)]);
      if (extra === "forward") fields.push(["divergence", v("forward")], ["standardize", v(false)]);
      return [student, indices, logprobs, obj(fields)];
    });
  const refused = fc.constantFrom<Arg>(
    { k: "object", fields: [["temprature", v(2)]], refuse: 'the unknown option key "temprature"' },
    { k: "object", fields: [["tail", v(null)]], refuse: "the option tail: null" },
  );
  const badOptions = fc.oneof(
    fc.constantFrom(v(null), v(3), v("x")), Temperature.bad!.map((b) => obj([["temperature", b[0]!]])), Alpha.bad!.map((b) => obj([["alpha", b[0]!]])),
    fc.constantFrom(obj([["tail", v("yes")]]), obj([["reduction", v("batchmean")]]), obj([["ignoreIndex", v(0.5)]]), obj([["temperature", { k: "tensor", dtype: "float64", shape: [], layout: "contiguous", kind: "positive", seed: 1, grad: false }]])),
    refused,
  );
  return Group(good, [wrongTensor, wrongTensor, wrongTensor, badOptions]);
}

/**
 * sparseDistillationLoss: finite loss and gradients (docs/non-finite.md) when the student's logits
 * are finite (|x| ≤ 1e4), the logprobs finite (|x| ≤ 1e4) or −∞, the temperature accepted, and,
 * renormalised (tail: false), every counted row keeps a logprob above −∞ (else the teacher has no
 * distribution there). Whatever the call refuses (indices, masses) throws before this matters.
 */
function sparseFinite(args: unknown[]): Finite {
  const [s, idx, lp, o] = args;
  if (!isT(s) || !isT(idx) || !isT(lp) || s.dtype === "int32" || lp.dtype === "int32" || idx.dtype !== "int32") return false;
  const opts = (o ?? {}) as Record<string, unknown>;
  if (typeof opts !== "object" || opts === null) return false;
  const T = opts.temperature ?? 4;
  if (!num(T) || !Number.isFinite(T) || !(T > 0)) return false;
  if (!elements(s).every((x) => moderate(x))) return false;
  if (!elements(lp).every((x) => moderate(x) || x === -Infinity)) return false;
  if (opts.tail === false) {
    const k = lp.shape[lp.ndim - 1] ?? 1;
    const xs = elements(lp);
    for (let i = 0; i < xs.length; i += k) if (xs.slice(i, i + k).every((x) => x === -Infinity)) return false;
  }
  return true;
}

/**
 * sparseDistillationLoss's student gradient: every row sums to 0 (a shift of a student row changes
 * nothing), and each entry is at most the upstream times (α·T^{κ−1}·(1 + 1e-6) + 1 − α) per row
 * (∂D/∂(s/T) = q·P_tot − p̃, two vectors of mass at most 1 + 1e-6; the cross-entropy's softmax − onehot).
 */
function sparseGrads(args: unknown[], up: Tensor): string | null {
  const [s, , , o] = args as [Tensor, Tensor, Tensor, Record<string, unknown> | undefined];
  const opts = o ?? {};
  const T = (opts.temperature as number) ?? 4;
  const alpha = (opts.alpha as number) ?? (opts.labels === undefined ? 1 : 0.5);
  const kappa = opts.scaleT2 === false ? 0 : 2;
  const gs = s.grad;
  if (gs) {
    const limit = Math.max(0, ...elements(up).map(Math.abs)) * (alpha * T ** (kappa - 1) * (1 + 1e-6) + 1 - alpha);
    const xs = elements(gs);
    const i = xs.findIndex((x) => !(Math.abs(x) <= limit * (1 + 1e-5) + 1e-30));
    if (i >= 0) return `the student gradient is ${xs[i]} at flat index ${i}, beyond |g|·(α·T^(κ−1) + 1 − α) = ${limit}`;
  }
  return lanesSumToZero(gs, -1, "a student gradient row", up);
}

/** Temperatures: ordinary ones, and every extreme an accepted finite T > 0 can take. */
const TEMPERATURES = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(0.5, 1, 2, 4, 8, 20) },
  { weight: 2, arbitrary: fc.constantFrom(1e-300, 5e-324, 1e-40, 1e-8, 1e8, 1e21, 1e30, 1e40, 1e155, 1e300, 1.7976931348623157e308) },
);
const Temperature: Param = one(TEMPERATURES.map(v), fc.constantFrom(0, -1, -0, NaN, Infinity, -Infinity, "4", null, true).map(v));
const Alpha: Param = one(fc.constantFrom(0, 0.3, 0.5, 0.9, 1).map(v), fc.constantFrom(-0.1, 1.1, NaN, Infinity, "0.5", null).map(v));

// ------------------------------------------------------------------ finiteness of the losses

function rowsOf(t: Tensor): number[][] {
  const xs = elements(t);
  const C = t.shape[t.ndim - 1] ?? 1;
  const out: number[][] = [];
  for (let i = 0; i < xs.length; i += C) out.push(xs.slice(i, i + C));
  return out;
}

const moderate = (x: number, bound = 1e4): boolean => Number.isFinite(x) && Math.abs(x) <= bound;

/**
 * distillationLoss and its composite: with finite student logits (|x| ≤ 1e4,
 * or −∞ where the teacher is −∞ too), teacher logits finite or −∞ (each row
 * keeping a finite class), labels in range and any accepted temperature, the
 * loss and both gradients are finite (docs/non-finite.md: masked teacher
 * classes add nothing; issue item 1: every accepted T gives a right answer).
 * The reverse KL (and skewReverse at skew 0, the same divergence) is +∞ where the
 * teacher masks a class the student keeps (docs/non-finite.md): no promise there.
 */
function distillFinite(args: unknown[]): Finite {
  const [s, t, o] = args;
  if (!isT(s) || !isT(t) || s.ndim !== 2 || t.ndim !== 2 || s.dtype === "int32" || t.dtype === "int32") return false;
  if (s.shape[0] !== t.shape[0] || s.shape[1] !== t.shape[1] || s.shape[0] === 0 || s.shape[1] === 0) return false;
  const opts = (o ?? {}) as Record<string, unknown>;
  if (typeof opts !== "object" || opts === null) return false;
  const T = opts.temperature ?? 4;
  if (!num(T) || !Number.isFinite(T) || !(T > 0)) return false;
  const labels = opts.labels;
  const alpha = opts.alpha ?? (labels === undefined ? 1 : 0.5);
  if (!num(alpha) || !(alpha >= 0 && alpha <= 1)) return false;
  let ys: number[] | null = null;
  if (labels !== undefined) {
    if (!isT(labels) || labels.dtype !== "int32" || labels.ndim !== 1 || labels.shape[0] !== s.shape[0]) return false;
    ys = elements(labels);
    if (ys.some((k) => k < 0 || k >= s.shape[1]!)) return false;
  } else if (alpha !== 1) return false;
  // The reverse KL (and skewReverse at λ = 0, the same divergence) is +∞ where the teacher masks a
  // class the student keeps (docs/non-finite.md): no finite value is promised there.
  const reverse = opts.divergence === "reverse" || (opts.divergence === "skewReverse" && opts.skew === 0);
  const S = rowsOf(s);
  const Tr = rowsOf(t);
  for (let r = 0; r < S.length; r++) {
    if (alpha > 0) {
      if (!Tr[r]!.some((x) => moderate(x))) return false;
      for (let c = 0; c < S[r]!.length; c++) {
        const tv = Tr[r]![c]!;
        const sv = S[r]![c]!;
        if (!(moderate(tv) || tv === -Infinity)) return false;
        if (reverse && tv === -Infinity && sv !== -Infinity) return false;
        if (!(moderate(sv) || (sv === -Infinity && tv === -Infinity))) return false;
      }
    } else if (!S[r]!.every((x) => moderate(x) || x === -Infinity)) return false;
    if (ys !== null && alpha < 1 && !moderate(S[r]![ys[r]!]!)) return false;
    if (ys !== null && alpha < 1 && !S[r]!.some((x) => moderate(x))) return false;
  }
  return true;
}

/**
 * crossEntropy and nllLoss: finite logits (|x| ≤ 1e4), with −∞ allowed on
 * classes that are not a row's target when there is no label smoothing
 * (crossEntropy only), positive weights, and at least one counted position
 * for 'mean' (all ignored is NaN by the policy).
 */
function classFinite(fn: "crossEntropy" | "nllLoss", bound = 1e4) {
  const moderate = (x: number): boolean => Number.isFinite(x) && Math.abs(x) <= bound;
  return (args: unknown[]): Finite => {
    const [x, y, o] = args;
    if (!isT(x) || !isT(y) || x.dtype === "int32" || x.ndim === 0) return false;
    const opts = (o ?? {}) as Record<string, unknown>;
    if (typeof opts !== "object" || opts === null) return false;
    const eps = fn === "crossEntropy" ? opts.labelSmoothing ?? 0 : 0;
    if (!num(eps) || !(eps >= 0 && eps <= 1)) return false;
    const w = opts.weight;
    if (w !== undefined && w !== null) {
      const ws = isT(w) ? elements(w) : Array.isArray(w) ? w : null;
      if (ws === null || !ws.every((z) => num(z) && z > 0 && z <= 1e4)) return false;
    }
    const reduction = opts.reduction ?? "mean";
    const ignore = opts.ignoreIndex ?? -100;
    const axis = x.ndim === 1 ? 0 : 1;
    const C = x.shape[axis]!;
    const xs = elements(x);
    const inner = x.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    const at = (i: number, c: number): number => Math.floor(i / inner) * C * inner + c * inner + (i % inner);
    if (y.dtype !== "int32") {
      if (fn === "nllLoss") return false;
      if (y.ndim !== x.ndim || y.shape.some((d, i) => d !== x.shape[i])) return false;
      const positions = x.size / Math.max(1, C);
      return within([x, y], bound) && C > 0 && (positions > 0 || reduction !== "mean");
    }
    const ys = elements(y);
    let counted = 0;
    for (let i = 0; i < ys.length; i++) {
      const k = ys[i]!;
      if (k === ignore) continue;
      if (k < 0 || k >= C) return false;
      counted++;
      for (let c = 0; c < C; c++) {
        const xv = xs[at(i, c)]!;
        if (moderate(xv)) continue;
        if (fn === "crossEntropy" && xv === -Infinity && c !== k && eps === 0) continue;
        return false;
      }
    }
    // Ignored positions: their rows still go through logSoftmax but must not reach the loss; keep them finite anyway.
    if (!xs.every((z) => moderate(z) || z === -Infinity)) return false;
    if (reduction === "mean" && counted === 0) return false;
    return true;
  };
}

function klFinite(args: unknown[]): Finite {
  const [x, t, o] = args;
  if (!isT(x) || !isT(t) || x.dtype === "int32" || t.dtype === "int32") return false;
  const opts = (o ?? {}) as Record<string, unknown>;
  if (typeof opts !== "object" || opts === null) return false;
  const reduction = opts.reduction ?? "batchmean";
  if ((reduction === "mean" && x.size === 0) || (reduction === "batchmean" && x.ndim > 0 && x.shape[0] === 0)) return false;
  if (!within([x], 1e4)) return false;
  const ts = elements(t);
  return opts.logTarget === true ? ts.every((z) => (Number.isFinite(z) && z <= 30) || z === -Infinity) : ts.every((z) => Number.isFinite(z) && z >= 0 && z <= 1e4);
}

// ------------------------------------------------------------------ gradient checks

/**
 * The gradient of a function invariant to adding a constant along an axis
 * (softmax, logSoftmax, and every loss of logits through them) sums to 0
 * along that axis: d/dc f(x + c·1) = 0 = Σⱼ ∂f/∂xⱼ. Each lane of `g` along
 * `axis` must sum to 0 within 1e-4·Σ|g| + 1e-6·n·max|upstream| (float32
 * rounding of each entry costs at most 6e-8·Σ|g|; where the true gradient
 * is 0, as when a lane's upstream entries are equal, what is left is
 * rounding of size ε·|upstream| per entry).
 */
function lanesSumToZero(g: Tensor | null | undefined, axis: number, what: string, up?: Tensor): string | null {
  if (!g || g.ndim === 0) return null;
  const ax = axis < 0 ? axis + g.ndim : axis;
  if (ax < 0 || ax >= g.ndim) return null;
  const xs = elements(g);
  const len = g.shape[ax]!;
  const inner = g.shape.slice(ax + 1).reduce((a, b) => a * b, 1);
  const outer = g.shape.slice(0, ax).reduce((a, b) => a * b, 1);
  const atol = up ? 1e-6 * len * Math.max(0, ...elements(up).map(Math.abs)) : 0;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let sum = 0;
      let abs = 0;
      for (let k = 0; k < len; k++) {
        const x = xs[o * len * inner + k * inner + i]!;
        sum += x;
        abs += Math.abs(x);
      }
      if (!(Math.abs(sum) <= 1e-4 * abs + atol + 1e-30)) return `${what} lane ${o * inner + i} sums to ${sum} (Σ|g| = ${abs}); shifting every logit of a lane changes nothing, so it must sum to 0`;
    }
  }
  return null;
}

/**
 * distillationLoss and its composite: loss = (1/B)·Σ_rows [α·T²·KL(p_t‖p_s) + (1 − α)·CE],
 * so ∂loss/∂z_s = (g/B)·[α·T·(p_s − p_t) + (1 − α)·(p − onehot)]: every entry is at most
 * |g|·(α·T + 1 − α)/B in size, and every row of both gradients sums to 0 (the teacher's:
 * Σⱼ p_t,ⱼ·(log p_t,ⱼ − log p_s,ⱼ − KL) = KL − KL).
 */
function distillGrads(args: unknown[], up: Tensor): string | null {
  const [s, t, o] = args as [Tensor, Tensor, Record<string, unknown> | undefined];
  const opts = o ?? {};
  // A per-row loss ('none') has a tensor upstream: its rows are checked by the gradcheck rows.
  if (opts.reduction === "none") return null;
  const T = (opts.temperature as number) ?? 4;
  const alpha = (opts.alpha as number) ?? (opts.labels === undefined ? 1 : 0.5);
  const B = s.shape[0]!;
  const gs = s.grad;
  // The bound below is the forward KL's, T·|p_s − p_t| ≤ T with T², averaged over B rows: other
  // divergences, standardized logits (whose Jacobian carries 1/(std + 1e-7)), a sum, ignored rows
  // or an unscaled T fall outside it; their rows still sum to zero.
  const plain = (opts.divergence ?? "forward") === "forward" && opts.standardize !== true && opts.scaleT2 !== false
    && (opts.reduction ?? "mean") === "mean" && opts.ignoreIndex === undefined;
  if (gs && plain) {
    const limit = (Math.abs(up.item()) * (alpha * T + 1 - alpha)) / B;
    const xs = elements(gs);
    const i = xs.findIndex((x) => !(Math.abs(x) <= limit * (1 + 1e-5) + 1e-30));
    if (i >= 0) return `the student gradient is ${xs[i]} at flat index ${i}, beyond the bound |g|·(α·T + 1 − α)/B = ${limit}`;
  }
  return lanesSumToZero(gs, 1, "a student gradient row", up) ?? lanesSumToZero(t.grad, 1, "a teacher gradient row", up);
}

// ------------------------------------------------------------------ references

/** A lane-wise stable log-softmax in float64: (x − m) − log Σ exp(x − m), the suite's own. */
function logSoftmaxRef(xs: readonly number[]): number[] {
  const m = Math.max(...xs);
  if (!Number.isFinite(m)) return xs.map(() => NaN);
  // log Σ e^{x − m} = log1p(the sum without one maximal term): where the other terms are below
  // ε, log of the whole sum would round to 0, and −log p of the top class (e^{−67}, say) with it.
  let tail = 0;
  let skipped = false;
  for (const x of xs) {
    if (!skipped && x === m) skipped = true;
    else tail += Math.exp(x - m);
  }
  const l = Math.log1p(tail);
  return xs.map((x) => x - m - l);
}

/** The lanes of a tensor along an axis, as arrays. */
function lanes(t: Tensor, axis: number): number[][] {
  const ax = axis < 0 ? axis + t.ndim : axis;
  const xs = elements(t);
  if (t.ndim === 0) return [xs];
  const len = t.shape[ax]!;
  const inner = t.shape.slice(ax + 1).reduce((a, b) => a * b, 1);
  const outer = t.shape.slice(0, ax).reduce((a, b) => a * b, 1);
  const out: number[][] = [];
  for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) out.push(Array.from({ length: len }, (_, k) => xs[o * len * inner + k * inner + i]!));
  return out;
}

/**
 * softmax and logSoftmax are distributions along their axis: Σ p = 1 and Σ exp(y) = 1 on
 * every lane of finite (or −∞-masked) inputs with a finite entry, to n·2⁻²³ in float32 and
 * n·1e-15 in float64 (one rounding per entry). Fails on issue item 2's large equal logits.
 */
function distribution(log: boolean) {
  return (result: unknown, [x, dim]: unknown[]): string | null => {
    if (!isT(result) || !isT(x) || x.ndim === 0 || x.size === 0 || result.size > READ_LIMIT) return null;
    const axis = num(dim) ? dim : -1;
    const ins = lanes(x, axis);
    const outs = lanes(result, axis);
    for (let k = 0; k < ins.length; k++) {
      const lane = ins[k]!;
      if (!lane.every((z) => Number.isFinite(z) || z === -Infinity) || !lane.some(Number.isFinite)) continue;
      const total = outs[k]!.reduce((a, y) => a + (log ? Math.exp(y) : y), 0);
      const tol = lane.length * (result.dtype === "float32" ? 2 ** -23 : 1e-15) + 1e-12;
      if (!(Math.abs(total - 1) <= tol)) return `lane ${k} of ${log ? "exp(logSoftmax)" : "softmax"} sums to ${total}, not 1 (inputs ${JSON.stringify(lane.slice(0, 6))}${lane.length > 6 ? "…" : ""})`;
    }
    return null;
  };
}

/**
 * crossEntropy against the suite's own float64 reference (finite inputs, positive weights,
 * targets ≥ 0): lᵢ = (1 − ε)·w_y·(−lp_y) + (ε/C)·Σ_c w_c·(−lp_c) for index targets, and
 * −Σ_c w_c·q_c·lp_c with q = (1 − ε)·t + ε/C for probabilities; 'mean' divides by Σ w_y of
 * the counted positions (by the number of positions for probabilities). Every term is ≥ 0,
 * so no cancellation: within 2e-6 relative in float32 (a rounding of the result), 1e-10 in
 * float64.
 */
function crossEntropyRef(result: unknown, args: unknown[]): string | null {
  const [x, y, o] = args as [Tensor, Tensor, Record<string, unknown> | undefined];
  // Any finite logits up to 1e30 (the reference is exact there), not only moderate ones: issue item 2 is at 1e12.
  if (!isT(result) || classFinite("crossEntropy", 1e30)(args) !== true) return null;
  const opts = o ?? {};
  const eps = (opts.labelSmoothing as number) ?? 0;
  const axis = x.ndim === 1 ? 0 : 1;
  const C = x.shape[axis]!;
  const w = opts.weight == null ? null : isT(opts.weight) ? elements(opts.weight) : (opts.weight as number[]);
  if (w !== null && w.length !== C) return null;
  const wc = (c: number): number => (w ? w[c]! : 1);
  const lps = lanes(x, axis).map(logSoftmaxRef);
  const ignore = (opts.ignoreIndex as number) ?? -100;
  const loss: number[] = [];
  let denominator = 0;
  if (y.dtype === "int32") {
    const ys = elements(y);
    lps.forEach((lp, i) => {
      const k = ys[i]!;
      if (k === ignore) return void loss.push(0);
      denominator += wc(k);
      let l = eps < 1 ? (1 - eps) * wc(k) * -lp[k]! : 0;
      if (eps > 0) l += (eps / C) * lp.reduce((a, v, c) => a + wc(c) * -v, 0);
      loss.push(l);
    });
  } else {
    const ts = lanes(y, axis);
    if (ts.some((row) => row.some((t) => t < 0))) return null;
    lps.forEach((lp, i) => {
      let l = 0;
      lp.forEach((v, c) => {
        const q = eps > 0 ? (1 - eps) * ts[i]![c]! + eps / C : ts[i]![c]!;
        if (q !== 0) l -= wc(c) * q * v;
      });
      loss.push(l);
    });
    denominator = lps.length;
  }
  const reduction = opts.reduction ?? "mean";
  const want = reduction === "none" ? loss : [reduction === "sum" ? loss.reduce((a, b) => a + b, 0) : loss.reduce((a, b) => a + b, 0) / denominator];
  const got = elements(result);
  const rtol = result.dtype === "float32" ? 2e-6 : 1e-10;
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i]! - want[i]!) <= rtol * Math.abs(want[i]!) + 1e-30)) return `the loss${want.length > 1 ? `[${i}]` : ""} is ${got[i]}, the float64 reference gives ${want[i]} (relative error ${Math.abs(got[i]! - want[i]!) / Math.abs(want[i]!)})`;
  }
  return null;
}

// ------------------------------------------------------------------ gradient checks of element-wise ops

/**
 * pow's gradients where no derivative exists, as PyTorch defines them (docs/ops.md promises
 * PyTorch's value there): at a base of 0 with an exponent ≥ 0, the exponent's gradient is 0
 * (PyTorch masks x^e·log x there; issue item 5: kdgrad gives −∞ at 0⁰).
 */
function powGrads(args: unknown[], up: Tensor): string | null {
  const [a, b] = args;
  if (!isT(a) || !isT(b) || !b.grad || shapeText(a.shape) !== shapeText(b.shape) || shapeText(up.shape) !== shapeText(a.shape)) return null;
  const xs = elements(a);
  const es = elements(b);
  const gs = elements(b.grad);
  for (let i = 0; i < xs.length; i++) {
    if (xs[i] === 0 && es[i]! >= 0 && gs[i] !== 0) return `the exponent's gradient at pow(0, ${es[i]}) is ${gs[i]}; PyTorch gives 0`;
  }
  return null;
}

/**
 * maximum and minimum with a NaN operand: the result is NaN and PyTorch sends the upstream
 * gradient to both operands in full (issue item 6).
 */
function extremumGrads(args: unknown[], up: Tensor): string | null {
  const [a, b] = args;
  if (!isT(a) || !isT(b) || !a.grad || !b.grad || shapeText(a.shape) !== shapeText(b.shape) || shapeText(up.shape) !== shapeText(a.shape)) return null;
  const xa = elements(a);
  const xb = elements(b);
  const ga = elements(a.grad);
  const gb = elements(b.grad);
  const g = elements(up);
  for (let i = 0; i < xa.length; i++) {
    if ((Number.isNaN(xa[i]) || Number.isNaN(xb[i])) && (ga[i] !== g[i] || gb[i] !== g[i])) {
      return `at (${xa[i]}, ${xb[i]}) the gradients are (${ga[i]}, ${gb[i]}) for an upstream ${g[i]}; PyTorch sends it to both`;
    }
  }
  return null;
}

/** matmul and linear refuse float32 with float64 operands (issue item 22: a DTypeError naming both dtypes, as PyTorch). */
function noMixedPromotion(result: unknown, args: unknown[]): string | null {
  const dtypes = new Set(floats(args.filter(isT)).map((t) => t.dtype));
  return isT(result) && dtypes.size > 1 ? `silently promoted float32 and float64 operands to ${result.dtype} (PyTorch refuses; issue item 22)` : null;
}

// ------------------------------------------------------------------ checks

/** A result tensor of this shape and dtype whose elements all equal `value` (as stored). */
function allEqual(result: unknown, shape: readonly number[], dtype: string, value: number): string | null {
  if (!isT(result)) return "did not return a Tensor";
  if (result.dtype !== dtype) return `returned dtype ${result.dtype}, expected ${dtype}`;
  if (shapeText(result.shape) !== shapeText(shape)) return `returned shape ${shapeText(result.shape)}, expected ${shapeText(shape)}`;
  const want = stored(dtype, value);
  const xs = elements(result, 10_000);
  const i = xs.findIndex((x) => !same(x, want));
  return i < 0 ? null : `element ${i} is ${xs[i]}, but ${value} was asked for (silently stored as something else)`;
}

const optsOf = (o: unknown): Record<string, unknown> => (o !== null && typeof o === "object" ? (o as Record<string, unknown>) : {});

/** The broadcast shape of two shapes, or null (the suite's own reference). */
function broadcastRef(a: readonly number[], b: readonly number[]): number[] | null {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = i < n - a.length ? 1 : a[i - (n - a.length)]!;
    const y = i < n - b.length ? 1 : b[i - (n - b.length)]!;
    if (x !== y && x !== 1 && y !== 1) return null;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** Values of x read as if broadcast to `shape`. */
function broadcastRead(x: Tensor | number, shape: readonly number[]): number[] {
  if (num(x)) return new Array(sizeOf(shape)).fill(x);
  const xs = elements(x);
  const n = shape.length;
  const k = x.ndim;
  const out: number[] = [];
  const idx = new Array<number>(n).fill(0);
  for (let f = 0; f < sizeOf(shape); f++) {
    let p = 0;
    let stride = 1;
    for (let i = k - 1; i >= 0; i--) {
      const d = x.shape[i]!;
      p += (d === 1 ? 0 : idx[n - k + i]!) * stride;
      stride *= d;
    }
    out.push(xs[p]!);
    for (let d = n - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}

/**
 * pow at the special values C99 (Annex F) and PyTorch define: x⁰ = 1 for
 * every x (NaN too), 1ʸ = 1 for every y (NaN and ±∞ too), (−1)^±∞ = 1.
 * JavaScript's ** differs on the last two (docs/non-finite.md: kdgrad
 * returns what PyTorch returns).
 */
function powCheck(result: unknown, args: unknown[]): string | null {
  const [a, b] = args;
  if (!isT(result) || !(isT(a) || num(a)) || !(isT(b) || num(b))) return null;
  const base = broadcastRead(a, result.shape);
  const ex = broadcastRead(b, result.shape);
  const ys = elements(result);
  for (let i = 0; i < ys.length; i++) {
    const want = ex[i] === 0 ? 1 : base[i] === 1 ? 1 : base[i] === -1 && Math.abs(ex[i]!) === Infinity ? 1 : null;
    if (want !== null && ys[i] !== want) return `pow(${base[i]}, ${ex[i]}) is ${ys[i]}; C99 and PyTorch give ${want}`;
  }
  return null;
}

/** maximum and minimum propagate a NaN from either operand (PyTorch; issue item 31). */
function nanPropagates(result: unknown, args: unknown[]): string | null {
  const [a, b] = args;
  if (!isT(result) || !(isT(a) || num(a)) || !(isT(b) || num(b))) return null;
  const xa = broadcastRead(a, result.shape);
  const xb = broadcastRead(b, result.shape);
  const ys = elements(result);
  for (let i = 0; i < ys.length; i++) {
    if ((Number.isNaN(xa[i]) || Number.isNaN(xb[i])) && !Number.isNaN(ys[i])) return `element ${i} of (${xa[i]}, ${xb[i]}) is ${ys[i]}, not NaN`;
  }
  return null;
}

function creationCheck(shapeArg: unknown, o: unknown, value: number | ((i: number) => number)) {
  return (result: unknown): string | null => {
    const opts = optsOf(o);
    const dtype = (opts.dtype as string) ?? "float32";
    if (!Array.isArray(shapeArg)) return null;
    if (typeof value === "number") return allEqual(result, shapeArg, dtype, value);
    return null;
  };
}

function rangeCheck(result: unknown, lo: number, hi: number, integer: boolean, what: string): string | null {
  if (!isT(result)) return "did not return a Tensor";
  const xs = elements(result, 10_000);
  const i = xs.findIndex((x) => !(x >= lo && x < hi) || (integer && !Number.isInteger(x)));
  return i < 0 ? null : `element ${i} is ${xs[i]}, outside ${what}`;
}

/** A Generator's draws after a call: finite and in range (a broken state shows here, or as a hang). */
function generatorWorks(g: unknown): string | null {
  if (!(g instanceof Generator)) return null;
  for (let i = 0; i < 4; i++) {
    const u = g.uniform();
    if (!(u >= 0 && u < 1)) return `uniform() then gave ${u}`;
    const n = g.normal();
    if (!Number.isFinite(n)) return `normal() then gave ${n}`;
    const w = g.nextUint32();
    if (!(Number.isInteger(w) && w >= 0 && w < 2 ** 32)) return `nextUint32() then gave ${w}`;
  }
  return null;
}

// ------------------------------------------------------------------ rows

function fn(params: ParamsOf, extra: Omit<Row, "how" | "args" | "params"> = {}): Row {
  return { how: "fn", args: (p) => call(params(p)), params, ...extra };
}

const elementwise2 = (finite: Row["finite"], check?: Row["check"], gradCheck?: Row["gradCheck"], o: TensorOptions = {}): Row =>
  fn((p) => [Pair(p, o)], { finite, check, gradCheck });

const unaryRow = (finite: Row["finite"], more: (p: Profile) => Param[] = () => []): Row =>
  fn((p) => [T(p), ...more(p)], { finite });

/** x > lo for every element (and top-level numbers finite): the domain of log, sqrt, log1p. */
const above = (lo: number) => (args: unknown[]): boolean =>
  floats(args).every((t) => elements(t).every((x) => Number.isFinite(x) && x > lo));

const reduce = (finite: (args: unknown[]) => boolean, required = false): Row =>
  fn((p) => [T(p), required ? { good: Dims.good.filter((a) => a[0]!.k !== "omit"), bad: Dims.bad } : Dims, optional(Bool)], { finite });

const creation = (value: number | null, extra: (p: Profile) => Param[] = () => []): ParamsOf =>
  (p) => [ShapeP(p), ...extra(p), optional(Options({ dtype: DTypeP, requiresGrad: Bool }))];

/** An int32 or float tensor of labels for oneHot. */
const labelTensor = (p: Profile): Param =>
  one(
    fc.record({ s: shapeArb(p, 0, 3), C: fc.integer({ min: 1, max: 6 }), seed: fc.nat(), dtype: fc.constantFrom<DType>("int32", "int32", "float32") }).map(
      ({ s, C, seed, dtype }) => ({ k: "tensor", dtype, shape: s, layout: "contiguous", kind: dtype === "int32" ? "labels" : "moderate", seed, grad: false, classes: C }) as TensorArg,
    ),
    wrongTensor,
  );

const Callback = (names: string[]): Param => one(fc.constantFrom(...names).map((n) => special(n)), fc.oneof(wrongType, fc.constant(v(3))));
const tensorList = (p: Profile, o: TensorOptions = {}): Param =>
  one(
    fc.oneof(
      shapeArb(p, 0, 3).chain((s) => fc.array(tensorArb(fc.oneof(fc.constant(s), broadcastVariant(s, p.maxSize)), o), { maxLength: 4 })).map((items) => list(items)),
      fc.array(fc.oneof(tensorArb(shapeArb(p, 0, 2), o), wrongType), { minLength: 1, maxLength: 3 }).map(list),
    ),
    fc.oneof(wrongType, tensorArb(shapeArb(p), o)),
  );

const moduleArb = (kinds: ModuleParams["kind"][] = ["linear", "mlp", "relu", "tanh", "gelu", "dropout", "sequential-empty", "custom", "nested"]): fc.Arbitrary<Arg> =>
  fc
    .record({
      kind: fc.constantFrom(...kinds), inF: fc.integer({ min: 0, max: 4 }), outF: fc.integer({ min: 0, max: 4 }),
      dtype: fc.constantFrom<"float32" | "float64">("float32", "float64"), seed: fc.nat(), bias: fc.boolean(), training: fc.boolean(),
      activation: fc.constantFrom<"relu" | "tanh" | "gelu">("relu", "tanh", "gelu"), repr: fc.nat(7),
    })
    .map((m) => special("module", m));

/** A module and an input whose last axis usually fits it. */
function ModuleInput(p: Profile, kinds: ModuleParams["kind"][]): Param {
  const good = fc
    .record({ m: moduleArb(kinds), lead: shapeArb(p, 0, 2), fits: fc.integer({ min: 0, max: 5 }), t: tensorArb(fc.constant([0]), {}) })
    .chain(({ m, lead, fits }) => {
      const inF = ((m as { params: ModuleParams }).params).inF;
      const shape = capShape(fits > 0 ? [...lead, inF] : [...lead, inF + 1], p.maxSize);
      return fc.tuple(fc.constant(m), tensorArb(fc.constant(shape), { dtypes: ["float32", "float64", "float32", "int32"] }));
    })
    .map(([m, x]): Arg[] => [m, x]);
  return Group(good, [null, wrongTensor]);
}

const optimizerParamsArb = (classes: OptimizerParams["cls"][] = ["SGD", "Adam", "AdamW"]): fc.Arbitrary<OptimizerParams> =>
  fc
    .record({
      cls: fc.constantFrom(...classes),
      shapes: fc.array(shapeArb({ name: "small", maxSize: 12 }, 0, 2), { minLength: 1, maxLength: 3 }),
      dtype: fc.constantFrom<"float32" | "float64">("float32", "float64"),
      lr: fc.constantFrom(0, 1e-3, 0.1, 1),
      momentum: fc.constantFrom(0, 0.9),
      weightDecay: fc.constantFrom(0, 0.01),
      amsgrad: fc.boolean(),
      grads: fc.constantFrom<OptimizerParams["grads"]>("moderate", "moderate", "special", "none", "other-dtype", "view"),
      seed: fc.nat(),
    })
    .map(({ cls, shapes, dtype, lr, momentum, weightDecay, amsgrad, grads, seed }) => ({
      cls, shapes, dtype, grads, seed,
      options: cls === "SGD" ? { lr, momentum, weightDecay } : { lr, weightDecay, amsgrad },
    }) satisfies OptimizerParams);
const optimizerArb = (classes?: OptimizerParams["cls"][]): fc.Arbitrary<Arg> => optimizerParamsArb(classes).map((params) => special("optimizer", params));

const generatorArb: fc.Arbitrary<Arg> = fc.nat().map((seed) => ({ k: "generator", seed }));
const GeneratorP: Param = one(generatorArb, fc.oneof(wrongType, fc.constant(v(3))));

/** A safetensors file: valid (padded or not) or with one corruption. */
const safetensorsArb: fc.Arbitrary<SafetensorsParams> = fc.record({
  entries: fc.array(
    fc.record({
      name: fc.constantFrom("w", "b", "layer.0.weight", "0", "1", "é", "x y"),
      dtype: fc.constantFrom<"F32" | "F64" | "I32" | "F16" | "BF16" | "I64">("F32", "F64", "I32", "F16", "BF16", "I64"),
      shape: shapeArb({ name: "small", maxSize: 12 }, 0, 3),
      seed: fc.nat(),
    }),
    { maxLength: 3 },
  ).map((es) => es.filter((e, i) => es.findIndex((f) => f.name === e.name) === i)),
  metadata: fc.option(fc.constantFrom<Record<string, string>>({ format: "pt" }, {}, { "a b": "c" }), { nil: undefined }),
  pad: fc.constantFrom<"none" | "spaces" | "whitespace">("spaces", "none", "whitespace"),
  mutate: fc.option(
    fc.oneof(
      fc.record({ op: fc.constantFrom<"dtype">("dtype"), i: fc.nat(), value: fc.constantFrom<unknown>("toString", "constructor", "__proto__", "hasOwnProperty", "valueOf", "F16", "BF16", "I64", "U8", "", "f32", 3, null) }),
      fc.record({ op: fc.constantFrom<"shape">("shape"), i: fc.nat(), value: fc.constantFrom<unknown>([-1], [1.5], [1e20], ["2"], null, [2 ** 53], [], [NaN], "2", [[2]]) }),
      fc.record({ op: fc.constantFrom<"offsets">("offsets"), i: fc.nat(), value: fc.constantFrom<unknown>([4, 0], [0, 2 ** 60], [-4, 0], [0.5, 4.5], [0], null, ["0", "4"], [0, 4, 8]) }),
      fc.record({ op: fc.constantFrom<"name">("name"), i: fc.nat(), value: fc.constantFrom<unknown>("__proto__", "constructor", "toString", "", "__metadata__", "hasOwnProperty") }),
      fc.record({ op: fc.constantFrom<"metadata">("metadata"), value: fc.constantFrom<unknown>({ a: 1 }, { __proto__x: "y" }, "str", null, [], { toString: "x" }) }),
      fc.record({ op: fc.constantFrom<"extra">("extra"), value: fc.constantFrom<unknown>(3, "x", null, [], { dtype: "F32" }) }),
      fc.record({ op: fc.constantFrom<"truncate" | "flip" | "append" | "length">("truncate", "flip", "append", "length"), at: fc.nat(), value: fc.constantFrom(0, 1, 7, 0x7b, 0xff, 2 ** 32, 2 ** 53, 99_999_999, 100_000_001) }),
    ),
    { nil: undefined, freq: 2 },
  ),
});

const NPY_DESCRS = ["<f4", "<f8", "<i4", ">f4", ">f8", ">i4", "<i8", ">i8", "|u1", "<f2", "<c8", "|b1", "<u4", "toString", "__proto__", "constructor", "<constructor"];
const npyArb: fc.Arbitrary<NpyParams> = fc.record({
  descr: fc.oneof({ weight: 3, arbitrary: fc.constantFrom("<f4", "<f8", "<i4") }, { weight: 2, arbitrary: fc.constantFrom(...NPY_DESCRS) }),
  shape: shapeArb({ name: "small", maxSize: 12 }, 0, 3),
  seed: fc.nat(),
  version: fc.constantFrom<1 | 2 | 3>(1, 1, 2, 3),
  fortran: fc.constantFrom(false, false, false, true),
  wide: fc.boolean(),
  mutate: fc.option(
    fc.oneof(
      fc.record({ op: fc.constantFrom<"truncate" | "flip" | "append">("truncate", "flip", "append"), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
      fc.record({
        op: fc.constant<"header">("header"),
        value: fc.constantFrom(
          "{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }",
          "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", "{'descr': '<f4', 'fortran_order': False}",
          "{'descr': '<f4', 'fortran_order': False, 'shape': (2,3,), 'extra': 1}", "{'descr': 3, 'fortran_order': False, 'shape': (), }",
          "{'descr': '<f4', 'fortran_order': 0, 'shape': (), }", "not a dict", "{'descr': '<f4' 'fortran_order': False, 'shape': (), }",
          "{'descr': '<f4', 'fortran_order': False, 'shape': (1e3,), }", "{'descr': '<f4', 'fortran_order': False, 'shape': (2.5,), }",
          "{'__proto__': '<f4', 'fortran_order': False, 'shape': (), }", "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4294967296), }",
        ),
      }),
      fc.record({ op: fc.constant<"hlen">("hlen"), at: fc.nat(), value: fc.integer({ min: 0, max: 65535 }) }),
    ),
    { nil: undefined, freq: 2 },
  ),
});

/** IDX files (MNIST's format): every element type, shapes of rank 1 to 3 (0-size included), sometimes gzipped, an unknown type byte or one corruption. */
const idxArb: fc.Arbitrary<IdxParams> = fc.record({
  type: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e) }, { weight: 1, arbitrary: fc.constantFrom(0x00, 0x0a, 0x0f, 0xff) }),
  shape: shapeArb({ name: "small", maxSize: 12 }, 1, 3),
  seed: fc.nat(),
  gzip: fc.boolean(),
  mutate: fc.option(
    fc.oneof(
      fc.record({ op: fc.constantFrom<"truncate" | "flip" | "append">("truncate", "flip", "append"), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ op: fc.constant<"magic">("magic"), value: fc.nat() }),
      fc.record({ op: fc.constant<"dims">("dims"), value: fc.constantFrom(0, 4, 200, 255) }),
    ),
    { freq: 3, nil: undefined },
  ),
});

const BytesArg = (format: "safetensors" | "npy" | "idx"): Param =>
  one(
    fc.oneof(
      { weight: 6, arbitrary: (format === "safetensors" ? safetensorsArb.map((params) => special(format, params)) : format === "npy" ? npyArb.map((params) => special(format, params)) : idxArb.map((params) => special(format, params))) },
      { weight: 1, arbitrary: fc.record({ n: fc.integer({ min: 0, max: 80 }), seed: fc.nat(), prefix: fc.constantFrom(undefined, [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], [16, 0, 0, 0, 0, 0, 0, 0, 0x7b]) }).map((params) => special("random-bytes", params)) },
    ),
    fc.oneof(wrongType, fc.constant(special("typed", { ctor: "Float32Array", n: 12, seed: 1 })), fc.constant(special("typed", { ctor: "Array", n: 12, seed: 1 }))),
  );

/** The decoded IDX tensor has the file's shape, the dtype its type byte names, and its values. */
function idxMatches(r: unknown, params: IdxParams): string | null {
  if (!isT(r)) return "did not return a Tensor";
  if (shapeText(r.shape) !== shapeText(params.shape)) return `shape ${shapeText(r.shape)}, the file holds ${shapeText(params.shape)}`;
  const dtype = params.type === 0x0d ? "float32" : params.type === 0x0e ? "float64" : "int32";
  if (r.dtype !== dtype) return `dtype ${r.dtype}, type byte 0x${params.type.toString(16)} is read as ${dtype}`;
  return expectValues(r, idxValues(params));
}

/** The decoded safetensors matches what the suite wrote (a valid file must decode to its content). */
function safetensorsMatches(result: unknown, params: SafetensorsParams): string | null {
  const want = safetensorsContent(params);
  const got = (result as { tensors?: Map<string, Tensor> })?.tensors;
  if (!(got instanceof Map)) return "did not return { tensors: Map }";
  if (got.size !== want.size) return `decoded ${got.size} tensors, the file holds ${want.size}`;
  for (const [name, w] of want) {
    const t = got.get(name);
    if (!isT(t)) return `tensor "${name}" is missing`;
    if (t.dtype !== w.dtype || shapeText(t.shape) !== shapeText(w.shape)) return `tensor "${name}" is ${t.dtype} ${shapeText(t.shape)}, the file holds ${w.dtype} ${shapeText(w.shape)}`;
    const p = expectValues(t, w.values, `tensor "${name}"`);
    if (p) return p;
  }
  return null;
}

const PathArg = (content?: fc.Arbitrary<PathParams["content"]>): Param =>
  one(
    fc.record({
      kind: fc.constantFrom<PathParams["kind"]>("existing", "existing", "existing", "fresh", "url", "dir", "under-file", "missing-dir", "empty", "proc", "dev-null"),
      content: content ?? fc.constant(undefined),
    }).map((params) => special("path", params)),
    fc.oneof(wrongType, fc.constant(v(3))),
  );

const fileContent: fc.Arbitrary<PathParams["content"]> = fc.oneof(
  npyArb.map((npy) => ({ npy })),
  safetensorsArb.map((safetensors) => ({ safetensors })),
  fc.integer({ min: 0, max: 64 }).map((garbage) => ({ garbage })),
  idxArb.map((idx) => ({ idx })),
);

/** An Error subclass: new C(message) keeps the message and is a KdgradError named after its class. */
function errorClassRow(name: string, report = false): Row {
  return {
    how: "new",
    args: () => call([one(fc.constantFrom<unknown>("a message", "", "fn: what went wrong", 3, undefined).map(v), null), ...(report ? [one(fc.constant(v({ ok: false, mode: "full", inputs: [], seed: 0 })), null)] : [])]),
    check: (result, args) => {
      const C = (kd as unknown as Record<string, new (...a: unknown[]) => Error>)[name]!;
      if (!(result instanceof C) || !(result instanceof KdgradError) || !(result instanceof Error)) return `is not an instance of ${name}, KdgradError and Error`;
      if (result.name !== name) return `has name "${result.name}", not "${name}"`;
      const want = args[0] === undefined ? "" : String(args[0]);
      if (result.message !== want) return `has message ${JSON.stringify(result.message)}, not ${JSON.stringify(want)}`;
      return null;
    },
    noBackend: true,
  };
}

/** A Tensor method that mirrors the function `of` (x.sum(...) is sum(x, ...)): the same arguments, the tensor as receiver. */
function mirror(of: string, extra: Partial<Row> = {}): Row {
  const base = ROWS[of]!;
  return {
    how: "method",
    args: (p) => {
      const [first, ...rest] = base.params!(p);
      // The receiver is the first Arg of the first parameter (for a group such as a broadcasting pair, the rest of
      // the group stays, and may still be replaced by bad values).
      const isRecv = (a: Arg[]): boolean => a[0]!.k === "tensor";
      const group = fc.sample(first!.good, { numRuns: 1, seed: 0 })[0]!.length > 1;
      const recv: Param = { good: first!.good.filter(isRecv), bad: first!.bad === null || !group ? null : first!.bad.filter(isRecv) };
      return call([recv, ...rest]);
    },
    finite: base.finite,
    check: base.check,
    gradCheck: base.gradCheck,
    gradCheckAlways: base.gradCheckAlways,
    absScale: base.absScale,
    ...extra,
  };
}

/** A method with a tensor receiver and the given other parameters. */
function method(params: ParamsOf, extra: Partial<Row> = {}, receiver: TensorOptions & { minRank?: number } = {}): Row {
  return { how: "method", args: (p) => call([fixed(tensorArb(shapeArb(p, receiver.minRank ?? 0), receiver)), ...params(p)]), ...extra };
}

const gradFnNames = ["fn:sumsq", "fn:tanh-sum", "fn:nonscalar", "fn:number", "fn:throws", "fn:nested-grad", "fn:no-grad", "fn:identity"];

export const ROWS: Record<string, Row> = {};
const R = ROWS;

// ---- creation
R.tensor = {
  how: "fn",
  args: (p) =>
    call([
      one(
        fc.oneof(
          { weight: 3, arbitrary: fc.record({ s: shapeArb(p, 0, 3), seed: fc.nat(), kind: fc.constantFrom("moderate", "special") }).map(({ s, seed, kind }) => nested(s, seed, kind as "moderate")) },
          { weight: 1, arbitrary: fc.record({ ctor: fc.constantFrom("Float32Array", "Float64Array", "Int32Array", "Uint8Array", "Int16Array", "BigInt64Array", "Array"), n: fc.integer({ min: 0, max: 6 }), seed: fc.nat() }).map((params) => special("typed", params)) },
          { weight: 1, arbitrary: anyNumber.map(v) },
          { weight: 1, arbitrary: fc.constantFrom(list([list([v(1)]), list([v(1), v(2)])]), list([v("1")]), list([v(null)]), list([v(NaN), v(Infinity), v(-0)]), list([list([]), list([])]), list([v(2 ** 31), v(0.5)])) },
        ),
        wrongType,
      ),
      optional(Options({ shape: ShapeP(p), dtype: DTypeP, requiresGrad: Bool })),
    ]),
  check: (result, [values, o]) => {
    const opts = optsOf(o);
    if (!isT(result)) return "did not return a Tensor";
    const flat = ArrayBuffer.isView(values) ? Array.from(values as unknown as ArrayLike<number>, Number) : Array.isArray(values) ? values.flat(Infinity) : [values];
    if (!flat.every(num)) return null;
    const dtype = (opts.dtype as string) ?? (ArrayBuffer.isView(values) ? result.dtype : "float32");
    if (result.dtype !== dtype) return `dtype ${result.dtype}, expected ${dtype}`;
    return expectValues(result, flat as number[]);
  },
};
function nested(shape: number[], seed: number, kind: "moderate" | "special"): Arg {
  const xs = logicalValues({ k: "tensor", dtype: "float64", shape, layout: "contiguous", kind, seed, grad: false });
  let pos = 0;
  const make = (axis: number): Arg => (axis === shape.length ? v(xs[pos++]) : list(Array.from({ length: shape[axis]! }, () => make(axis + 1))));
  return make(0);
}

R.zeros = fn(creation(0), { check: (r, [s, o]) => creationCheck(s, o, 0)(r) });
R.ones = fn(creation(1), { check: (r, [s, o]) => creationCheck(s, o, 1)(r) });
R.full = fn((p) => [ShapeP(p), Num(fc.oneof(anyNumber, fc.constantFrom(2 ** 31, -(2 ** 31) - 1, 2 ** 31 - 1, 1e12, 0.5))), optional(Options({ dtype: DTypeP, requiresGrad: Bool }))], {
  check: (r, [s, value, o]) => (num(value) ? creationCheck(s, o, value)(r) : null),
});
R.arange = {
  how: "fn",
  args: () =>
    fc
      .record({
        start: fc.oneof(fc.integer({ min: -5, max: 5 }), fc.constantFrom(0.5, 2 ** 31 - 3, -(2 ** 31) - 2, 1e12, NaN, Infinity, -Infinity, 2 ** 53)),
        count: fc.integer({ min: 0, max: 8 }),
        end: fc.constantFrom<"count" | number>("count", "count", "count", NaN, Infinity, -Infinity, 1e12, 2 ** 31 + 2, 0.5),
        step: fc.oneof(fc.constantFrom(1, 1, 2, -1, 0.5, 3), fc.constantFrom(0, NaN, Infinity, -0, 2 ** 28, 1e-300)),
        form: fc.constantFrom(1, 2, 3, 3),
        dtype: fc.constantFrom(undefined, "float32", "float64", "int32", "int8"),
      })
      .map(({ start, count, end, step, form, dtype }) => {
        // The one- and two-argument forms start at 0 and step by 1.
        const [s0, st] = form === 1 ? [0, 1] : form === 2 ? [start, 1] : [start, step];
        let e = end === "count" ? s0 + count * st : end;
        // Keep every call that would allocate a real range small: a count between 10⁵ and 10¹⁰ is legal and would fill gigabytes.
        const n = Math.ceil((e - s0) / st);
        if (!(n <= 100_000 || n >= 1e10)) e = s0 + count * st;
        const args: Arg[] = form === 1 ? [v(e)] : form === 2 ? [v(start), v(e)] : [v(start), v(e), v(step)];
        if (dtype !== undefined) {
          while (args.length < 3) args.push(args.length === 1 ? v(start) : v(step));
          if (form === 1) args.splice(0, 3, v(0), v(e), v(1));
          args.push(obj([["dtype", v(dtype)]]));
        }
        return args;
      }),
  check: (r, args) => {
    if (!isT(r)) return null;
    let [start, end, step] = args as number[];
    if (args.length === 1) [start, end, step] = [0, args[0] as number, 1];
    step ??= 1;
    const n = Math.max(0, Math.ceil((end! - start!) / step));
    const want = Array.from({ length: Math.min(n, 10_000) }, (_, i) => start! + i * step!);
    if (r.size !== n) return `has ${r.size} elements, expected ceil((end − start)/step) = ${n}`;
    return expectValues(r, want);
  },
};
R.eye = fn((p) => [Size(6), optional(Size(6)), optional(Options({ dtype: DTypeP, requiresGrad: Bool }))], {
  check: (r, [n, m]) => {
    if (!isT(r) || !num(n)) return null;
    const cols = num(m) ? m : n;
    return expectValues(r, Array.from({ length: n * cols }, (_, i) => (Math.floor(i / cols) === i % cols ? 1 : 0)));
  },
});
const randomOptions = Options({ dtype: DTypeP, requiresGrad: Bool, generator: GeneratorP });
R.rand = fn((p) => [ShapeP(p), optional(randomOptions)], { check: (r) => rangeCheck(r, 0, 1, false, "[0, 1)") });
R.randn = fn((p) => [ShapeP(p), optional(randomOptions)], { finite: () => true });
R.randint = fn(
  (p) => {
    const ints = fc.oneof(fc.integer({ min: -5, max: 5 }), fc.constantFrom(2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 32, -(2 ** 31) - 1));
    return [one(ints.map(v), badInt), one(ints.map(v), badInt), ShapeP(p), optional(Options({ dtype: DTypeP, generator: GeneratorP }))];
  },
  { check: (r, [lo, hi]) => (num(lo) && num(hi) ? rangeCheck(r, lo, hi, true, `[${lo}, ${hi})`) : null) },
);
const likeParams = (value?: boolean): ParamsOf => (p) => [T(p), ...(value ? [Num(anyNumber)] : []), optional(Options({ dtype: DTypeP, requiresGrad: Bool }))];
R.zerosLike = fn(likeParams(), { check: (r, [x, o]) => (isT(x) ? allEqual(r, x.shape, (optsOf(o).dtype as string) ?? x.dtype, 0) : null) });
R.onesLike = fn(likeParams(), { check: (r, [x, o]) => (isT(x) ? allEqual(r, x.shape, (optsOf(o).dtype as string) ?? x.dtype, 1) : null) });
R.fullLike = fn(likeParams(true), { check: (r, [x, value, o]) => (isT(x) && num(value) ? allEqual(r, x.shape, (optsOf(o).dtype as string) ?? x.dtype, value) : null) });
R.randLike = fn((p) => [T(p), optional(randomOptions)], { check: (r) => rangeCheck(r, 0, 1, false, "[0, 1)") });
R.randnLike = fn((p) => [T(p), optional(randomOptions)], { finite: () => true });

// ---- randomness
const seedP = one(fc.oneof(fc.nat(), fc.constantFrom(0, 2 ** 32, 2 ** 53 - 1)).map(v), badInt);
R.Generator = { how: "new", args: () => call([optional(seedP)]), check: (g) => generatorWorks(g), noBackend: true };
R.manualSeed = { ...fn(() => [seedP]), check: (g) => generatorWorks(g), noBackend: true };
R.defaultGenerator = { how: "value", args: () => fc.constant([]), check: (g) => (g instanceof Generator ? generatorWorks(g) : "is not a Generator"), noBackend: true };
R["Generator#manualSeed"] = { how: "method", args: () => call([fixed(generatorArb), seedP]), check: (g) => generatorWorks(g), noBackend: true };
R["Generator#getState"] = {
  how: "method",
  args: () => call([fixed(generatorArb)]),
  check: (s, [g]) => {
    if (!Array.isArray(s) || s.length !== 6) return "did not return a list of 6 numbers";
    const copy = new Generator(1).setState(s);
    const u = (g as Generator).uniform();
    return copy.uniform() === u ? null : "a generator restored from getState() does not continue the stream";
  },
  noBackend: true,
};
R["Generator#setState"] = {
  how: "method",
  args: () =>
    call([
      fixed(generatorArb),
      one(
        fc.oneof(
          fc.record({ words: fc.array(fc.nat({ max: 2 ** 32 - 1 }), { minLength: 4, maxLength: 4 }), spare: fc.boolean() }).map(({ words, spare }) => list([...words, spare ? 1 : 0, 0.25].map(v))),
          fc.constantFrom([0, 0, 0, 0, 0, 0], [NaN, NaN, NaN, NaN, 0, 0], [0, 0, 0, 0, 1, NaN], [1, 2, 3, 4, 0, 0], [1, 2, 3], [-1, 0.5, 2 ** 32, 1e12, 0, 0], [1, 2, 3, 4, 2, Infinity]).map((s) => list(s.map(v))),
        ),
        fc.oneof(wrongType, fc.constant(list([v("1"), v("2"), v("3"), v("4"), v(0), v(0)])), fc.constant(v(3))),
      ),
    ]),
  // Draws after setState: a state the generator cannot run from must be refused, not loop forever (issue item 13).
  check: (g) => generatorWorks(g),
  noBackend: true,
};
for (const m of ["nextUint32", "uniform", "uniform24", "normal"] as const) {
  R[`Generator#${m}`] = {
    how: "method",
    args: () => call([fixed(generatorArb)]),
    check: (x) => (num(x) && Number.isFinite(x) && (m === "normal" || (x >= 0 && x < (m === "nextUint32" ? 2 ** 32 : 1))) ? null : `returned ${x}`),
    noBackend: true,
  };
}
/** reseed(seed, fn): manualSeed's body, reachable from outside; `fn` is the name its message gives (a non-empty string). */
R["Generator#reseed"] = {
  how: "method",
  args: () => call([fixed(generatorArb), seedP, one(fc.constantFrom("myFunction", "Generator").map(v), fc.oneof(wrongType, fc.constantFrom(v(3), v(""))))]),
  check: (g) => generatorWorks(g),
  names: (args) => (typeof args[2] === "string" && args[2] !== "" ? [args[2]] : []),
  noBackend: true,
};
R["Generator#below"] = {
  how: "method",
  args: () => call([fixed(generatorArb), one(fc.oneof(fc.integer({ min: 1, max: 10 }), fc.constantFrom(2 ** 32, 2 ** 31, 3)).map(v), fc.oneof(badInt, fc.constantFrom(0, 2 ** 32 + 1).map(v)))]),
  check: (x, [, n]) => (num(n) && num(x) && Number.isInteger(x) && x >= 0 && x < n ? null : `returned ${x}`),
  noBackend: true,
};

// ---- shapes and errors
R.broadcastShapes = fn(
  (p) => [ShapeP(p, 0, 4), ShapeP(p, 0, 4), optional(one(fc.constantFrom("myOp", "add").map(v), fc.constantFrom(v(3), v(null)) as fc.Arbitrary<Arg>))],
  {
    check: (r, [a, b]) => {
      if (!Array.isArray(a) || !Array.isArray(b)) return null;
      const want = broadcastRef(a, b);
      return want !== null && JSON.stringify(r) === JSON.stringify(want) ? null : `returned ${JSON.stringify(r)}, expected ${JSON.stringify(want)}`;
    },
    // The third argument is the name to use in the message (the caller's own function).
    names: (args) => (typeof args[2] === "string" ? [args[2]] : []),
    noBackend: true,
  },
);
for (const e of ["KdgradError", "ShapeError", "DTypeError", "ValueError", "IndexError", "AutogradError", "FormatError", "FileError"]) R[e] = errorClassRow(e);
R.GradcheckError = errorClassRow("GradcheckError", true);
/**
 * `e.name` of every error class (spelled on each prototype, so that a minified bundle keeps it:
 * issue item 21): the class's own name, and for a user's subclass the subclass's.
 */
for (const e of ["KdgradError", "ShapeError", "DTypeError", "ValueError", "IndexError", "AutogradError", "FormatError", "FileError", "GradcheckError"]) {
  R[`${e}#name`] = {
    how: "getter",
    args: () => fc.tuple(fc.constantFrom("a message", "fn: what went wrong"), fc.boolean()).map(([message, sub]) => [special("error", { cls: e, message, sub })]),
    check: (name, [err]) => {
      const want = (err as Error).constructor.name;
      return name === want ? null : `is ${JSON.stringify(name)}, not the class's name ${JSON.stringify(want)}`;
    },
    noBackend: true,
  };
}

// ---- autograd
R.noGrad = fn(() => [Callback(["fn:grad-mode", "fn:throws", "fn:number", "fn:identity"])], { check: (r, [f]) => (isCallback(f, "fn:grad-mode") && isT(r) && r.item() !== 0 ? "the callback saw grad mode on" : null), noBackend: true });
R.enableGrad = fn(() => [Callback(["fn:grad-mode", "fn:throws", "fn:number", "fn:identity"])], { check: (r, [f]) => (isCallback(f, "fn:grad-mode") && isT(r) && r.item() !== 1 ? "the callback saw grad mode off" : null), noBackend: true });
R.isGradEnabled = { ...fn(() => []), check: (r) => (r === true ? null : `returned ${r} outside noGrad`), noBackend: true };
const argnumsP = one(fc.oneof(fc.constantFrom(0, 1).map(v), fc.constantFrom(list([v(0)]), list([v(0), v(1)]), list([]))), fc.oneof(badInt, fc.constant(list([v(0), v(0.5)]))));
const gradRun = (target: (f: unknown, a?: unknown) => (...xs: unknown[]) => unknown, [f, argnums, xs]: unknown[]): unknown =>
  target(f, argnums)(...(Array.isArray(xs) ? xs : [xs]));
const gradInputs = (p: Profile): Param => one(fc.array(tensorArb(shapeArb(p, 0, 2), { kinds: ["moderate"] }), { minLength: 1, maxLength: 2 }).map(list), wrongType);
R.grad = {
  ...fn((p) => [Callback(gradFnNames), optional(argnumsP), gradInputs(p)], { run: gradRun }),
  check: (r, [f, argnums, xs]) => {
    if (!isCallback(f, "fn:sumsq") || (argnums !== undefined && argnums !== 0) || !Array.isArray(xs) || !isT(xs[0]) || xs[0].dtype === "int32") return null;
    return expectValues(r, elements(xs[0]).map((x) => 2 * x), "grad of Σx²");
  },
};
// "fn:nested-grad" calls grad itself (user code, not wrapped): its own refusal names grad.
R.valueAndGrad = fn((p) => [Callback(gradFnNames), optional(argnumsP), gradInputs(p)], { run: gradRun, names: (args) => (isCallback(args[0], "fn:nested-grad") ? ["grad"] : []) });
const gradcheckOptions = Options({
  eps: Num(fc.constantFrom(1e-6, 1e-4, 0, -1e-6, NaN, Infinity)),
  atol: Num(fc.constantFrom(1e-6, 1e-3, Infinity, NaN, -1)),
  rtol: Num(fc.constantFrom(1e-5, 0, Infinity, NaN, -1)),
  seed: one(fc.nat().map(v), badInt),
  projections: one(fc.constantFrom(1, 3).map(v), fc.constantFrom(0, -1, 0.5, NaN, Infinity).map(v)),
  fullJacobianMax: one(fc.constantFrom(0, 4, 64).map(v), badInt),
  relative: Bool,
});
/**
 * gradcheck must never pass a wrong backward: with the deliberately wrong
 * one ("fn:wrong-backward"), a report of ok is a failure, whatever the
 * options (issue item 18: options that make the check vacuous are refused).
 */
function gradcheckCatches(name: string, secondOrder = false) {
  return (r: unknown, [f, inputs, options]: unknown[]): string | null => {
    if (!isCallback(f, "fn:wrong-backward") || !Array.isArray(inputs)) return null;
    // The callback differentiates its first argument only: that one must require grad and hold elements
    // (with an empty first input, or one that needs no gradient, the wrong backward is never used).
    const x = inputs[0];
    if (!isT(x) || !x.requiresGrad || x.dtype === "int32" || x.size === 0) return null;
    if (!inputs.every((t) => !isT(t) || within([t], 3))) return null;
    if (secondOrder) {
      // The doubled backward doubles ∂²/∂x² = −2 tanh(x)(1 − tanh²x)·u too, which vanishes at x = 0 and is
      // proportional to gradgradcheck's random cotangent u: asserted where it is well above the tolerance.
      if (!elements(x).some((z) => Math.abs(z) >= 0.25)) return null;
      if (((optsOf(options).atol as number | undefined) ?? 1e-6) > 1e-6) return null;
    }
    return (r as { ok?: boolean })?.ok === true ? `${name} reported ok for a backward that returns twice the gradient` : null;
  };
}
const gradcheckParams: ParamsOf = (p) => [
  Callback(["fn:tanh-sum", "fn:wrong-backward", "fn:wrong-backward", "fn:nonscalar", "fn:no-grad", "fn:throws", "fn:number"]),
  one(fc.array(tensorArb(shapeArb(p, 0, 2), { kinds: ["moderate"], dtypes: ["float64", "float32", "int32"] }), { minLength: 0, maxLength: 2 }).map(list), wrongType),
  optional(gradcheckOptions),
];
R.gradcheck = fn(gradcheckParams, { check: gradcheckCatches("gradcheck"), noBackend: true });
R.assertGradcheck = fn(gradcheckParams, { check: gradcheckCatches("assertGradcheck"), noBackend: true });
/** Second order: the inputs a little smaller (each check differentiates a recorded backward). */
const gradgradcheckParams: ParamsOf = (p) => gradcheckParams({ name: p.name, maxSize: 24 });
R.gradgradcheck = fn(gradgradcheckParams, { check: gradcheckCatches("gradgradcheck", true), noBackend: true });
R.assertGradgradcheck = fn(gradgradcheckParams, { check: gradcheckCatches("assertGradgradcheck", true), noBackend: true });

// ---- the function transforms (vjp, jvp, jacobian, hessian) and gradients
const transformFns = ["fn:sumsq", "fn:sumsq", "fn:tanh-sum", "fn:nonscalar", "fn:number", "fn:throws", "fn:no-grad", "fn:identity"];
/** Inputs of a transform: one or two moderate tensors (int32 sometimes), at most 24 elements (jacobian and hessian take one pass per output). */
const transformInputs = (p: Profile): Param =>
  one(fc.array(tensorArb(shapeArb({ name: p.name, maxSize: 24 }, 0, 2), { kinds: ["moderate"], dtypes: ["float32", "float64", "float32", "float64", "int32"] }), { minLength: 1, maxLength: 2 }).map(list), wrongType);
const deferred = (what: string, whiches: string[]): fc.Arbitrary<Arg> => fc.constantFrom(...whiches).map((which) => special("deferred", { what, which }));
/** x·(1 + ε) and y agree to `rtol` of the size of what was summed (the suite's float64 reference against a float32/64 result). */
function closeTo(got: number, want: number, scale: number, dtype: string, what: string): string | null {
  const tol = (dtype === "float32" ? 1e-5 : 1e-12) * (scale + 1e-30);
  return Math.abs(got - want) <= tol ? null : `${what} is ${got}, expected ${want} (tolerance ${tol})`;
}
const isSumsqOfFloat = (f: unknown, x: unknown): x is Tensor => isCallback(f, "fn:sumsq") && isT(x) && x.dtype !== "int32";
const resolveLike = (c: unknown, t: unknown): unknown => (c instanceof Deferred && isT(t) ? likeTensor(t, c.which) : c);

/** vjp(f, ...primals) then vjpFn(cotangent), with a cotangent made like the output (or the wrong shape, an int32, a wrong type). */
R.vjp = {
  how: "fn",
  args: (p) => call([Callback(transformFns), transformInputs(p), one(deferred("cotangent", ["ones", "ones", "random", "other-dtype", "int32", "wrong-shape"]), fc.oneof(wrongType, fc.constant(v(3))))]),
  run: (target, [f, primals, cot]) => {
    const [y, back] = target(f, ...(Array.isArray(primals) ? primals : [primals])) as [Tensor, (c: unknown) => Tensor[]];
    return [y, back(resolveLike(cot, y))];
  },
  // ⟨1, ∂Σx²/∂x⟩ = 2x exactly (x + x in the dtype).
  check: (r, [f, primals, cot]) => {
    if (!Array.isArray(primals) || primals.length !== 1 || !isSumsqOfFloat(f, primals[0]) || !(cot instanceof Deferred) || cot.which !== "ones") return null;
    const [, grads] = r as [Tensor, Tensor[]];
    return expectValues(grads[0], elements(primals[0]).map((x) => 2 * x), "the vjp of Σx² with cotangent 1");
  },
  noBackend: true,
};
/** jvp(f, primals, tangents), the tangents made like the primals (or mismatched, int32, too few, a wrong type). */
R.jvp = {
  how: "fn",
  args: (p) => call([Callback(transformFns), transformInputs(p), one(deferred("tangents", ["ones", "ones", "random", "other-dtype", "int32", "wrong-shape", "too-few"]), fc.oneof(wrongType, fc.constant(v(3))))]),
  run: (target, [f, primals, tangents]) => {
    const t = tangents instanceof Deferred && Array.isArray(primals)
      ? (tangents.which === "too-few" ? primals.slice(1) : primals.map((x) => resolveLike(tangents, x)))
      : tangents;
    return target(f, primals, t);
  },
  // J·1 for Σx² is Σ 2x.
  check: (r, [f, primals, tangents]) => {
    if (!Array.isArray(primals) || primals.length !== 1 || !isSumsqOfFloat(f, primals[0]) || !(tangents instanceof Deferred) || tangents.which !== "ones") return null;
    const [, dy] = r as [Tensor, Tensor];
    const xs = elements(primals[0]);
    return closeTo(dy.item(), xs.reduce((a, x) => a + 2 * x, 0), xs.reduce((a, x) => a + Math.abs(2 * x), 0), dy.dtype, "the jvp of Σx² with tangent 1");
  },
  noBackend: true,
};
const transformRun = (target: (f: unknown, a?: unknown) => (...xs: unknown[]) => unknown, [f, argnums, xs]: unknown[]): unknown =>
  target(f, argnums)(...(Array.isArray(xs) ? xs : [xs]));
R.jacobian = {
  ...fn((p) => [Callback(transformFns), optional(argnumsP), transformInputs(p)], { run: transformRun }),
  // ∂Σx²/∂x = 2x, with shape [] ++ x.shape.
  check: (r, [f, argnums, xs]) => {
    if ((argnums !== undefined && argnums !== 0) || !Array.isArray(xs) || !isSumsqOfFloat(f, xs[0])) return null;
    if (!isT(r) || shapeText(r.shape) !== shapeText(xs[0].shape)) return `the jacobian of Σx² has shape ${isT(r) ? shapeText(r.shape) : "?"}, not ${shapeText(xs[0].shape)}`;
    return expectValues(r, elements(xs[0]).map((x) => 2 * x), "the jacobian of Σx²");
  },
  noBackend: true,
};
R.hessian = {
  ...fn((p) => [Callback(transformFns), optional(argnumsP), transformInputs(p)], { run: transformRun }),
  // ∂²Σx²/∂x² = 2I, with shape x.shape ++ x.shape.
  check: (r, [f, argnums, xs]) => {
    if ((argnums !== undefined && argnums !== 0) || !Array.isArray(xs) || !isSumsqOfFloat(f, xs[0])) return null;
    const n = xs[0].size;
    const shape = [...xs[0].shape, ...xs[0].shape];
    if (!isT(r) || shapeText(r.shape) !== shapeText(shape)) return `the hessian of Σx² has shape ${isT(r) ? shapeText(r.shape) : "?"}, not ${shapeText(shape)}`;
    return expectValues(r, Array.from({ length: n * n }, (_, i) => (Math.floor(i / n) === i % n ? 2 : 0)), "the hessian of Σx²");
  },
  noBackend: true,
};
/**
 * gradients(outputs, inputs, gradOutputs, options) on a small graph: y = Σ a·b (or tanh(a), or a
 * graph already freed by backward), z = Σ a; inputs among a, b, an unused leaf and a constant;
 * gradOutputs like the outputs (ones, random, another dtype, int32, the wrong shape), empty, one
 * too many, or a wrong type.
 */
R.gradients = {
  how: "fn",
  args: (p) =>
    call([
      fixed(fc.record({ dtype: fc.constantFrom<"float32" | "float64">("float32", "float64"), shape: shapeArb({ name: p.name, maxSize: 12 }, 0, 2), seed: fc.nat(), op: fc.constantFrom<GradientsCaseParams["op"]>("mul-sum", "mul-sum", "tanh", "freed") }).map((params) => special("gradients-case", params))),
      one(deferred("outputs", ["y", "y", "yz", "constant"]), fc.oneof(wrongType, fc.constant(list([v(3)])))),
      one(deferred("inputs", ["ab", "ab", "a", "b", "unused", "constant"]), fc.oneof(wrongType, fc.constant(list([v(3)])))),
      optional(one(deferred("gradOutputs", ["ones", "ones", "random", "empty", "other-dtype", "int32", "wrong-shape", "too-many"]), fc.oneof(wrongType, fc.constant(v(3))))),
      optional(Options({ createGraph: Bool, retainGraph: Bool, allowUnused: Bool })),
    ]),
  run: (target, [c, outputs, inputs, gradOutputs, options]) => {
    const g = c as GradientsCase;
    const outs = outputs instanceof Deferred ? gradientsPart(g, "outputs", outputs.which) : outputs;
    const ins = inputs instanceof Deferred ? gradientsPart(g, "inputs", inputs.which) : inputs;
    // Made like the outputs when they are tensors; with bad outputs, the gradOutputs do not matter (one upstream of 1 each).
    const gos = !(gradOutputs instanceof Deferred) ? gradOutputs
      : Array.isArray(outs) && outs.every(isT) ? gradOutputsFor(outs, gradOutputs.which) : [];
    return target(outs, ins, gos, options);
  },
  // For y = Σ a·b with the upstream 1 (ones, or implicit): ∂y/∂a = b and ∂y/∂b = a, exactly.
  check: (r, [c, outputs, inputs, gradOutputs]) => {
    const g = c as GradientsCase;
    if (g.op !== "mul-sum" || !(outputs instanceof Deferred) || outputs.which !== "y" || !(inputs instanceof Deferred)) return null;
    if (gradOutputs !== undefined && !(gradOutputs instanceof Deferred && (gradOutputs.which === "ones" || gradOutputs.which === "empty"))) return null;
    const ins = gradientsPart(g, "inputs", inputs.which);
    const want = (t: Tensor): Tensor | null => (t === g.a ? g.b : t === g.b ? g.a : null);
    for (let i = 0; i < ins.length; i++) {
      const w = want(ins[i]!);
      const got = (r as (Tensor | null)[])[i];
      if (w === null) continue;
      const p = expectValues(got, elements(w), `gradient ${i} of Σ a·b`);
      if (p) return p;
    }
    return null;
  },
  noBackend: true,
};
R.defineOp = {
  how: "fn",
  args: (p) => call([one(fc.constantFrom("square", "square", "forward-returns-number", "forward-returns-input", "backward-returns-nothing", "backward-wrong-shape", "backward-int32", "backward-number", "backward-throws", "no-name", "domain", "null", "junk").map((k) => special("spec", k)), wrongType), fixed(tensorArb(shapeArb(p, 0, 2), { grad: "always", dtypes: ["float32", "float64"] }))]),
  // Define the op, then call it: errors may name defineOp or the op's own name (the user chose it).
  run: (target, [spec, x]) => target(spec)(x),
  names: () => ["fuzzSquare", "defineOp"],
  noBackend: true,
};
R.defineComposite = {
  how: "fn",
  // defineComposite(name, fn): the third argument (a test domain) went away with architecture v2 (domains live in test/op-samples.ts).
  args: (p) => call([one(fc.constantFrom("myComposite", "").map(v), fc.oneof(wrongType, fc.constant(v(3)))), Callback(["fn:tanh-sum", "fn:number", "fn:throws"]), fixed(tensorArb(shapeArb(p, 0, 2), { grad: "always", dtypes: ["float32", "float64"] }))]),
  run: (target, [name, f, x]) => target(name, f)(x),
  names: (args) => (typeof args[0] === "string" ? [args[0]] : []),
  noBackend: true,
};

// ---- element-wise
R.add = elementwise2(bounded(1e30));
R.sub = elementwise2(bounded(1e30));
R.mul = elementwise2(bounded(1e15));
R.div = elementwise2((args) => within(args, 1e4) && floats(args.slice(1)).every((t) => elements(t).every((x) => Math.abs(x) >= 1e-2)) && (!num(args[1]) || Math.abs(args[1]) >= 1e-2));
R.pow = elementwise2(
  (args) => within(args, 1e4) && (isT(args[0]) ? elements(args[0]).every((x) => x >= 1e-2 && x <= 1e2) : num(args[0]) && args[0] >= 1e-2 && args[0] <= 1e2) && (isT(args[1]) ? elements(args[1]).every((x) => Math.abs(x) <= 3) : num(args[1]) && Math.abs(args[1]) <= 3),
  powCheck,
  powGrads,
  // Both operands usually need grad, and exact zeros and special values are common: the gradient rules are checked there.
  { grad: "always", kinds: ["moderate", "moderate", "special", "finite-special", "positive"] },
);
const extremumOperands: TensorOptions = { grad: "always", kinds: ["moderate", "moderate", "special", "special", "masked", "finite-special"] };
R.maximum = elementwise2((args) => within(args, Number.MAX_VALUE), nanPropagates, undefined, extremumOperands);
R.minimum = elementwise2((args) => within(args, Number.MAX_VALUE), nanPropagates, undefined, extremumOperands);
// The NaN gradient rule is checked where the values are NaN, so outside the finiteness promise.
R.maximum.gradCheckAlways = extremumGrads;
R.minimum.gradCheckAlways = extremumGrads;
R.pow.gradCheckAlways = powGrads;
R.neg = unaryRow((args) => within(args, Number.MAX_VALUE));
R.abs = unaryRow((args) => within(args, Number.MAX_VALUE));
R.relu = unaryRow((args) => within(args, Number.MAX_VALUE));
R.tanh = unaryRow((args) => within(args, Number.MAX_VALUE));
R.sigmoid = unaryRow((args) => within(args, Number.MAX_VALUE));
R.clone = unaryRow((args) => within(args, Number.MAX_VALUE));
R.exp = unaryRow(bounded(80));
R.log = unaryRow((args) => ({ value: above(0)(args), grad: above(1e-4)(args) && within(args, 1e30) }));
R.log1p = unaryRow((args) => ({ value: above(-1)(args), grad: above(-1 + 1e-4)(args) && within(args, 1e30) }));
R.sqrt = unaryRow((args) => ({ value: above(-1e-300)(args) && floats(args).every((t) => elements(t).every((x) => x >= 0)), grad: above(1e-4)(args) && within(args, 1e30) }));
/** gelu is finite on every finite input, and so is its exact gradient (→ 1 and 0 at the ends; issue item 8). */
R.gelu = unaryRow((args) => within(args.slice(0, 1), Number.MAX_VALUE), () => [optional(Enum(["none", "tanh"]))]);
R.cast = fn((p) => [T(p), DTypeP], {
  finite: (args) => args[1] !== "int32" && within(args.slice(0, 1), 1e30),
  check: (r, [x, dtype]) => (isT(x) && isT(r) && typeof dtype === "string" && r.dtype === dtype ? expectValues(r, elements(x)) : null),
});
R.clamp = fn((p) => [T(p), one(fc.constantFrom<unknown>(-1, 0, 0.5, null, undefined, -Infinity, NaN, -0).map(v), wrongType), optional(one(fc.constantFrom<unknown>(1, 0, 2, null, undefined, Infinity, NaN).map(v), wrongType))], {
  finite: ([x, lo, hi]) => within([x], Number.MAX_VALUE) && (lo == null || (num(lo) && (Number.isFinite(lo) || lo === -Infinity))) && (hi == null || (num(hi) && (Number.isFinite(hi) || hi === Infinity))),
});
R.where = fn(
  (p) => [
    Group(
      shapeArb(p).chain((s) => fc.tuple(tensorArb(broadcastVariant(s, p.maxSize), { dtypes: ["int32", "int32", "float32"], kinds: ["moderate"] }), tensorArb(fc.constant(s)), tensorArb(broadcastVariant(s, p.maxSize)), anyNumber, fc.integer({ min: 0, max: 5 })))
        .map(([c, a, b, n, k]): Arg[] => [c, k === 0 ? v(n) : a, k === 1 ? v(n) : b]),
      [wrongTensor, wrongTensor, wrongTensor],
    ),
  ],
  { finite: (args) => within(args.slice(1), Number.MAX_VALUE) },
);

// ---- reductions
R.sum = reduce(bounded(1e30));
R.mean = reduce((args) => within(args.slice(0, 1), 1e30) && reducedCount(args[0], args[1]) > 0);
R.max = reduce((args) => within(args.slice(0, 1), Number.MAX_VALUE));
R.min = reduce((args) => within(args.slice(0, 1), Number.MAX_VALUE));
R.logSumExp = reduce((args) => within(args.slice(0, 1), Number.MAX_VALUE) && reducedCount(args[0], args[1]) > 0, true);
const argParams: ParamsOf = (p) => [T(p), optional(Dim), optional(Bool)];
R.argmax = fn(argParams);
R.argmin = fn(argParams);

// ---- shape and indexing
const viewFinite = (args: unknown[]): boolean => within(args.slice(0, 1), Number.MAX_VALUE);
R.reshape = fn((p) => [T(p), one(fc.oneof(shapeArb(p).map((s) => list(s.map(v))), fc.constantFrom(list([v(-1)]), list([v(-1), v(2)]), list([v(2), v(-1), v(1)]), list([v(-1), v(-1)]), list([v(0), v(-1)]))), fc.oneof(badSize.map((b) => list([b])), wrongType, fc.constant(v(3))))], { finite: viewFinite });
R.transpose = fn((p) => [T(p), Dim, Dim], { finite: viewFinite });
R.permute = fn((p) => [T(p), one(fc.array(fc.integer({ min: -4, max: 3 }), { maxLength: 4 }).map((xs) => list(xs.map(v))), fc.oneof(badInt.map((b) => list([b])), wrongType))], { finite: viewFinite });
R.expand = fn((p) => [T(p), one(fc.oneof(shapeArb(p).map((s) => list(s.map(v))), fc.array(fc.constantFrom(-1, 1, 2, 3, 0), { maxLength: 5 }).map((xs) => list(xs.map(v)))), fc.oneof(badSize.map((b) => list([b])), wrongType, fc.constant(v(3))))], { finite: viewFinite });
R.squeeze = fn((p) => [T(p), optional(one(fc.oneof(fc.integer({ min: -4, max: 3 }).map(v), fc.array(fc.integer({ min: -4, max: 3 }), { maxLength: 3 }).map((xs) => list(xs.map(v)))), badInt))], { finite: viewFinite });
R.unsqueeze = fn((p) => [T(p), Dim], { finite: viewFinite });
const bound = one(fc.oneof(fc.integer({ min: -6, max: 6 }), fc.constantFrom(2 ** 31, -(2 ** 31), 1e12, -1e12)).map(v), fc.oneof(fc.constantFrom(0.5, NaN, -0.5, 1.5, Infinity, -Infinity).map(v), wrongType));
R.slice = fn((p) => [T(p, { minRank: 0 }), Dim, optional(bound), optional(bound), optional(one(fc.integer({ min: 1, max: 3 }).map(v), fc.oneof(badInt, fc.constant(v(0)))))], { finite: viewFinite });
R.concat = fn((p) => [tensorList(p), optional(Dim)], { finite: (args) => within([args[0]], Number.MAX_VALUE) });
R.stack = fn((p) => [tensorList(p), optional(Dim)], { finite: (args) => within([args[0]], Number.MAX_VALUE) });
R.gather = fn(
  (p) => [
    Group(
      fc.record({ s: shapeArb(p, 0, 3), dim: fc.integer({ min: -3, max: 2 }), seed: fc.nat(), idxRank: fc.integer({ min: 0, max: 3 }) })
        .chain(({ s, dim, idxRank }) => {
          const ax = s.length === 0 ? 0 : ((dim % s.length) + s.length) % s.length;
          const idxShape = idxRank === 0 && s.length > 0 ? s.map((d, i) => (i === ax ? d + 1 : Math.max(1, d))) : s.map((d) => Math.max(0, Math.min(d, 2)));
          return fc.tuple(tensorArb(fc.constant(s)), fc.constant(v(dim)), tensorArb(fc.constant(idxShape), { dtypes: ["int32", "int32", "float32"], kinds: ["labels", "classes"], classes: s[ax] ?? 2 }));
        })
        .map(([x, d, i]): Arg[] => [x, d, i]),
      [wrongTensor, badInt, wrongTensor],
    ),
  ],
  { finite: viewFinite, check: gatherRef },
);
/** gather against the suite's own reading: y[i] = x[i with dim replaced by index[i]], every index in [0, size) (a 0-d input has one position: issue item 15). */
function gatherRef(result: unknown, [x, dim, index]: unknown[]): string | null {
  if (!isT(result) || !isT(x) || !isT(index) || !num(dim)) return null;
  const n = Math.max(x.ndim, 1);
  const ax = dim < 0 ? dim + n : dim;
  const size = x.ndim === 0 ? 1 : x.shape[ax]!;
  const xs = elements(x);
  const ks = elements(index);
  const ys = elements(result);
  const strides = x.shape.map((_, i) => x.shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const idx = new Array<number>(index.ndim).fill(0);
  for (let j = 0; j < ks.length; j++) {
    const k = ks[j]!;
    if (k < 0 || k >= size) return `returned a value for index ${k}, outside [0, ${size}) along dim ${dim} of shape ${shapeText(x.shape)}`;
    let p = 0;
    for (let d = 0; d < x.ndim; d++) p += (d === ax ? k : idx[d]!) * strides[d]!;
    if (!same(ys[j]!, xs[p]!)) return `element ${j} is ${ys[j]}, the input holds ${xs[p]} there`;
    for (let d = index.ndim - 1; d >= 0; d--) {
      if (++idx[d]! < index.shape[d]!) break;
      idx[d] = 0;
    }
  }
  return null;
}

R.oneHot = fn((p) => [labelTensor(p), optional(one(fc.constantFrom(-1, 1, 3, 6).map(v), fc.oneof(badSize, fc.constant(v(0)))))], {
  check: (r, [labels, n]) => {
    if (!isT(r) || !isT(labels)) return null;
    const ys = elements(labels);
    const C = num(n) && n !== -1 ? n : Math.max(0, ...ys.map((y) => y + 1));
    return expectValues(r, ys.flatMap((y) => Array.from({ length: C }, (_, c) => (c === y ? 1 : 0))));
  },
});
R.matmul = fn((p) => [MatmulPair(p)], { finite: bounded(1e4), absScale: true, check: noMixedPromotion });
R.linear = fn((p) => [LinearArgs(p)], { finite: bounded(1e4), absScale: true, check: noMixedPromotion });
const softmaxLanes = (args: unknown[], up: Tensor): string | null => lanesSumToZero((args[0] as Tensor).grad, num(args[1]) ? args[1] : -1, "a gradient lane", up);
R.softmax = fn((p) => [T(p), optional(Dim)], { finite: (args) => within(args.slice(0, 1), Number.MAX_VALUE), gradCheck: softmaxLanes, check: distribution(false) });
R.logSoftmax = fn((p) => [T(p), optional(Dim)], { finite: (args) => within(args.slice(0, 1), 1e30), gradCheck: softmaxLanes, check: distribution(true) });
// standardizeLogits(x, dim = −1, eps = 1e-7): (x − mean)/(unbiased std + eps) per lane; finite on finite
// input when eps > 0 (eps = 0 is accepted, and a constant lane is then 0/0 = NaN, as the formula says).
R.standardizeLogits = fn((p) => [T(p), optional(Dim), optional(Num(fc.constantFrom(1e-7, 0, 1e-3, -1, NaN, Infinity)))], {
  finite: (args) => within(args.slice(0, 1), 1e30) && (args[2] === undefined || (args[2] as number) > 0),
});

// ---- losses
const reductionP = Enum(["mean", "sum", "none"]);
const weightP = (p: Profile): Param => one(fc.oneof(tensorArb(shapeArb(p, 1, 1), { kinds: ["positive", "moderate"], grad: "never" }), fc.array(fc.constantFrom(0.5, 1, 2, 0), { maxLength: 6 }).map((xs) => list(xs.map(v)))), fc.oneof(wrongType, fc.constant(list([v("1")]))));
R.crossEntropy = fn((p) => [ClassArgs(p, { soft: true }), optional(Options({ reduction: reductionP, labelSmoothing: Num(fc.constantFrom(0, 0.1, 1, -0.1, 1.5, NaN)), ignoreIndex: one(fc.constantFrom(-100, 0, 1, -1).map(v), badInt), weight: weightP(p) }))], { finite: classFinite("crossEntropy"), check: crossEntropyRef, gradCheck: (args, up) => lanesSumToZero((args[0] as Tensor).grad, (args[0] as Tensor).ndim === 1 ? 0 : 1, "an input gradient row", up) });
R.nllLoss = fn((p) => [ClassArgs(p, { soft: false }), optional(Options({ reduction: reductionP, ignoreIndex: one(fc.constantFrom(-100, 0, 1).map(v), badInt), weight: weightP(p) }))], { finite: classFinite("nllLoss") });
R.klDiv = fn((p) => [Pair(p, { kinds: ["moderate", "positive", "masked", "special"] }, false), optional(Options({ reduction: Enum(["batchmean", "sum", "mean", "none"]), logTarget: Bool }))], { finite: klFinite });
R.mseLoss = fn((p) => [Pair(p, {}, false), optional(Options({ reduction: reductionP }))], {
  finite: (args) => within(args.slice(0, 2), 1e4) && !((optsOf(args[2]).reduction ?? "mean") === "mean" && isT(args[0]) && args[0].size === 0),
});
R.distillationLoss = fn((p) => [DistillArgs(p)], { finite: distillFinite, gradCheck: distillGrads });
// The composite promises finiteness, not accuracy (docs/distillation.md): no gradient check.
/**
 * The composite (autodiff through logSoftmax and klDiv) promises finiteness, not accuracy
 * (docs/distillation.md): T²·KL is formed from float32 log-probabilities. Each backend's is
 * within one float32 rounding of the exact one, ε₃₂·(1 + |log p|), so the two backends' KLs may
 * differ by Σ p·(|δlog p| + |δlog q|)·2 ≤ 4ε₃₂·(1 + max |log p|) per row, and their losses by
 * T² times that, which does not shrink with the loss. They are compared only where that is
 * within the float32 tolerance, 1e-5 of the loss (its float64 value): a flat row pair at
 * T = 20, whose loss is 1.3e-4, differed by 1.1 % (survey seed 86).
 */
function compositeConditioned(args: unknown[]): boolean {
  const [s, t, o] = args;
  if (!isT(s) || !isT(t) || (s.dtype !== "float32" && t.dtype !== "float32")) return true;
  const opts = (o ?? {}) as Record<string, unknown>;
  const T = opts.temperature ?? 4;
  if (typeof T !== "number" || !(T > 0) || !Number.isFinite(T)) return true;
  let L: number[];
  try {
    L = elements(kd.noGrad(() => kd.distillationLossComposite(float64Of(s), float64Of(t), opts as kd.DistillationOptions)));
  } catch {
    return true;
  }
  let logs = 0;
  for (const x of [s, t]) {
    for (const row of rowsOf(x)) {
      const z = row.map((v) => v / T).filter(Number.isFinite);
      if (z.length === 0) continue;
      const m = Math.max(...z);
      const lse = m + Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0));
      for (const v of z) logs = Math.max(logs, Math.abs(v - lse));
    }
  }
  const noise = 4 * 2 ** -24 * Math.max(1, T * T) * (1 + logs);
  return L.every((l) => !Number.isFinite(l) || noise <= 1e-5 * Math.abs(l));
}
R.distillationLossComposite = fn((p) => [DistillArgs(p)], { finite: distillFinite, backendComparable: compositeConditioned });
// The distillation methods of issue 12: finite logits give a finite loss and finite gradients.
R.dkdLoss = fn((p) => [KdMethodArgs(p, true), optional(Options({ alpha: TermWeight, beta: TermWeight, temperature: MethodTemperature, standardize: Bool }))], { finite: kdMethodFinite(true, 1) });
R.distLoss = fn((p) => [KdMethodArgs(p, false), optional(Options({ beta: TermWeight, gamma: TermWeight, temperature: MethodTemperature }))], { finite: kdMethodFinite(false, 2) });
R.nkdLoss = fn((p) => [KdMethodArgs(p, true), optional(Options({ temperature: MethodTemperature, gamma: TermWeight }))], { finite: kdMethodFinite(true, 1) });
R.wsldLoss = fn((p) => [KdMethodArgs(p, true), optional(Options({ temperature: MethodTemperature, alpha: TermWeight }))], { finite: kdMethodFinite(true, 1) });
R.sparseDistillationLoss = fn((p) => [SparseArgs(p)], { finite: sparseFinite, gradCheck: sparseGrads });
R.linearDistillationLoss = fn((p) => [LinearDistillArgs(p)], { finite: linearDistillFinite, backendComparable: linearDistillConditioned, gradScale: linearDistillGradScale });
R.logitMatchingLoss = fn((p) => [LogitPair(p, ["moderate", "moderate", "wide", "special", "masked"])], { finite: (args) => within(args, 1e4) && isT(args[0]) && args[0].size > 0 });
R.softTargets = fn((p) => [T(p, { kinds: ["moderate", "moderate", "masked", "wide", "huge", "special"] }), Temperature], {
  finite: ([x, T]) => {
    if (!isT(x) || x.ndim === 0 || x.dtype === "int32" || !num(T) || !(T > 0) || !Number.isFinite(T)) return false;
    return rowsOf(x).every((row) => row.every((z) => Number.isFinite(z) || z === -Infinity) && (row.length === 0 || row.some(Number.isFinite)));
  },
});
R.predict = fn((p) => [T(p)], {
  check: (r, [x]) => (isT(r) && isT(x) && x.ndim > 0 ? rangeCheck(r, 0, x.shape[x.ndim - 1]!, true, "the class range") : null),
});

// ---- nn
const LinearOptionsP = Options({ bias: Bool, dtype: FloatDTypeP, generator: GeneratorP });
R.Linear = { how: "new", args: () => call([Size(5), Size(5), optional(LinearOptionsP)]), check: (m, [i, o]) => (m instanceof kd.Linear && num(i) && num(o) && (m.weight.shape[0] !== o || m.weight.shape[1] !== i) ? "weight has the wrong shape" : null), noBackend: true };
R.ReLU = { how: "new", args: () => fc.constant([]), noBackend: true };
R.Tanh = { how: "new", args: () => fc.constant([]), noBackend: true };
R.GELU = { how: "new", args: () => call([optional(Options({ approximate: Enum(["none", "tanh"]) }))]), noBackend: true };
R.Dropout = { how: "new", args: () => call([optional(Num(fc.constantFrom(0, 0.5, 0.9, 1, -0.1, NaN, Infinity))), optional(Options({ generator: GeneratorP }))]), noBackend: true };
R.Sequential = { how: "new", args: () => fc.array(fc.oneof(moduleArb(), wrongType), { maxLength: 3 }), noBackend: true };
R.Module = {
  how: "fn",
  // A user's own Module subclass registering a parameter and a child under random names.
  args: (p) => call([one(fc.constantFrom("w", "bias", "a.b", "", "constructor", "__proto__", "toString").map(v), fc.oneof(wrongType, fc.constant(v(3)))), T(p, { dtypes: ["float32", "float64", "int32"] }), one(fc.constantFrom("child", "w", "").map(v), wrongType), one(moduleArb(["relu", "linear"]), wrongType)]),
  run: (Base: typeof kd.Module, [pname, t, cname, child]) => {
    class UserModule extends Base {
      constructor() {
        super();
        this.registerParameter(pname as string, t as Tensor);
        this.registerModule(cname as string, child as kd.Module);
      }
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    const m = new UserModule();
    return m.namedParameters();
  },
  names: () => ["Module", "registerParameter", "registerModule", "Module.registerParameter", "Module.registerModule"],
  noBackend: true,
};
const moduleMethod = (params: (p: Profile) => Param[] = () => [], extra: Partial<Row> = {}): Row => ({
  how: "method",
  args: (p) => call([fixed(moduleArb()), ...params(p)]),
  noBackend: true,
  ...extra,
});
R["Module#namedChildren"] = moduleMethod();
R["Module#namedParameters"] = moduleMethod();
R["Module#parameters"] = moduleMethod();
R["Module#train"] = moduleMethod(() => [optional(Bool)]);
R["Module#eval"] = moduleMethod();
R["Module#zeroGrad"] = moduleMethod();
R["Module#stateDict"] = moduleMethod();
R["Module#loadStateDict"] = {
  how: "method",
  args: () =>
    fc
      .record({ m: moduleArb(["linear", "mlp", "custom", "nested"]).map((a) => (a as { params: ModuleParams }).params), other: fc.boolean(), change: fc.constantFrom("none", "missing", "extra", "shape", "int32", "number", "float64", "object", "proto-key"), strict: fc.constantFrom<unknown>(undefined, true, false), bad: fc.option(wrongType, { freq: 4 }) })
      .map(({ m, other, change, strict, bad }) => [
        special("module", m),
        bad ?? special("state-dict", { module: other ? { ...m, seed: m.seed + 1 } : m, change }),
        strict === undefined ? OMIT : obj([["strict", v(strict)]]),
      ]),
  noBackend: true,
};
R["Module#registerParameter"] = {
  how: "method",
  args: (p) => call([fixed(moduleArb(["custom", "linear"])), one(fc.constantFrom("extra", "w", "weight", "a.b", "").map(v), fc.oneof(wrongType, fc.constant(v(3)))), T(p, { dtypes: ["float32", "float64", "int32"], grad: "never" })]),
  noBackend: true,
};
R["Module#registerModule"] = {
  how: "method",
  args: () => call([fixed(moduleArb(["custom", "linear"])), one(fc.constantFrom("extra", "act", "w", "").map(v), fc.oneof(wrongType, fc.constant(v(3)))), one(moduleArb(["relu"]), fc.oneof(wrongType, fc.constant(v(3))))]),
  noBackend: true,
};
const forwardFinite = (args: unknown[]): boolean => within(args.slice(1), 1e4);
R["Linear#forward"] = { how: "method", args: (p) => call([ModuleInput(p, ["linear"])]), finite: forwardFinite };
R["ReLU#forward"] = { how: "method", args: (p) => call([ModuleInput(p, ["relu"])]), finite: (args) => within(args.slice(1), Number.MAX_VALUE) };
R["Tanh#forward"] = { how: "method", args: (p) => call([ModuleInput(p, ["tanh"])]), finite: (args) => within(args.slice(1), Number.MAX_VALUE) };
R["GELU#forward"] = { how: "method", args: (p) => call([ModuleInput(p, ["gelu"])]), finite: (args) => within(args.slice(1), Number.MAX_VALUE) };
R["Dropout#forward"] = { how: "method", args: (p) => call([ModuleInput(p, ["dropout"])]), finite: (args) => within(args.slice(1), 1e30) };
R["Sequential#forward"] = { how: "method", args: (p) => call([ModuleInput(p, ["mlp", "nested", "sequential-empty"])]), finite: forwardFinite };
R["Sequential#length"] = { how: "getter", args: () => call([fixed(moduleArb(["mlp", "nested", "sequential-empty"]))]), check: (n) => (Number.isInteger(n) ? null : `is ${n}`), noBackend: true };
R.mlp = fn(() => [one(fc.array(fc.integer({ min: 1, max: 5 }), { maxLength: 4 }).map((xs) => list(xs.map(v))), fc.oneof(badSize.map((b) => list([v(2), b])), wrongType)), optional(Options({ dropout: Num(fc.constantFrom(0, 0.5, 1, -1, NaN)), activation: Enum(["relu", "tanh", "gelu"]), generator: GeneratorP, dtype: FloatDTypeP }))], { noBackend: true });
R.countParameters = fn(() => [one(moduleArb(), wrongType)], {
  check: (n, [m]) => (m instanceof kd.Module && n !== m.parameters().reduce((a, t) => a + t.size, 0) ? `returned ${n}` : null),
  noBackend: true,
});

// ---- optim
const paramsListArb = (p: Profile): Param =>
  one(
    fc.oneof(
      fc.array(tensorArb(shapeArb(p, 0, 2), { grad: "always", dtypes: ["float32", "float64"] }), { minLength: 1, maxLength: 2 }).map(list),
      fc.constantFrom(list([]), list([v(3)])),
      fc.array(tensorArb(shapeArb(p, 1, 2), { grad: "maybe", layouts: ["strided", "contiguous"], dtypes: ["float32", "int32"] }), { minLength: 1, maxLength: 2 }).map(list),
    ),
    fc.oneof(wrongType, fc.constant(v(3))),
  );
const lrP = Num(fc.constantFrom(0, 1e-3, 0.1, -1, NaN, Infinity));
R.SGD = { how: "new", args: (p) => call([paramsListArb(p), Options({ lr: lrP, momentum: Num(fc.constantFrom(0, 0.9, -0.5, NaN)), dampening: Num(fc.constantFrom(0, 0.1, NaN)), nesterov: Bool, weightDecay: Num(fc.constantFrom(0, 0.01, -1)) })]), noBackend: true };
const adamOptions = Options({ lr: lrP, betas: one(fc.constantFrom(list([v(0.9), v(0.999)]), list([v(0), v(0)]), list([v(1), v(0.5)]), list([v(0.9)]), list([v(NaN), v(0.9)])), wrongType), eps: Num(fc.constantFrom(1e-8, 0, -1, NaN)), weightDecay: Num(fc.constantFrom(0, 0.01, -1)), amsgrad: Bool });
R.Adam = { how: "new", args: (p) => call([paramsListArb(p), optional(adamOptions)]), noBackend: true };
R.AdamW = { how: "new", args: (p) => call([paramsListArb(p), optional(adamOptions)]), noBackend: true };
R.Optimizer = {
  how: "fn",
  // A user's own optimizer: the protected constructor checks params and lr.
  args: (p) => call([paramsListArb(p), lrP]),
  run: (Base: abstract new (name: string, params: unknown, lr: number) => kd.Optimizer, [params, lr]) => {
    class UserOptimizer extends (Base as unknown as new (name: string, params: unknown, lr: number) => kd.Optimizer) {
      constructor() {
        super("UserOptimizer", params, lr as number);
      }
      step(): void {}
    }
    return new UserOptimizer();
  },
  names: () => ["UserOptimizer", "Optimizer"],
  noBackend: true,
};
/** After step() with finite gradients on finite parameters (and eps > 0 for Adam), the parameters stay finite. */
const stepFinite = (opt: unknown): string | null => {
  if (!(opt instanceof kd.Optimizer)) return null;
  const fine = opt.params.every((t) => t.grad === null || within([t.grad, t], 1e4));
  if (!fine || ((opt as { eps?: number }).eps ?? 1) === 0) return null;
  for (const t of opt.params) {
    const xs = elements(t);
    const i = xs.findIndex((x) => !Number.isFinite(x));
    if (i >= 0) return `a parameter holds ${xs[i]} after step() with finite gradients`;
  }
  return null;
};
R["SGD#step"] = { how: "method", args: () => call([fixed(optimizerArb(["SGD"]))]), run: (_t, [o]) => ((o as kd.Optimizer).step(), o), check: stepFinite };
R["Adam#step"] = { how: "method", args: () => call([fixed(optimizerArb(["Adam", "AdamW"]))]), run: (_t, [o]) => ((o as kd.Optimizer).step(), o), check: stepFinite };
R["Optimizer#zeroGrad"] = { how: "method", args: () => call([fixed(optimizerArb())]), noBackend: true };
R["Optimizer#checkOption"] = { how: "method", args: () => call([fixed(optimizerArb()), one(fc.constantFrom("lr", "momentum").map(v), wrongType), Num(anyNumber), Bool, one(fc.constant(v("a finite number")), wrongType)]), noBackend: true };

// ---- io
/** The dtypes option of encodeSafetensors and saveSafetensors: some tensor names (and names of none) mapped to codes, good and bad. */
const SafetensorsDtypes: Param = Options({
  dtypes: one(
    fc.array(fc.tuple(fc.constantFrom("a", "b", "0", "1", "zz", "__proto__"), fc.constantFrom("F16", "BF16", "F32", "F64", "I32", "I64")), { maxLength: 3 })
      .map((pairs) => obj(pairs.filter(([n], i) => pairs.findIndex(([m]) => m === n) === i).map(([n, c]) => [n, v(c)]))),
    fc.oneof(wrongType, fc.constant(obj([["a", v("F8_E4M3")]])), fc.constant(obj([["a", v("toString")]])), fc.constant(obj([["a", v(3)]]))),
  ),
});

/**
 * A value stored as `code` and read back: exact for F32/F64/I32/I64 (and for float64 → F64), the
 * nearest value of the format otherwise (within half its ulp: relative 2⁻¹¹ for F16, 2⁻⁸ for BF16,
 * 2⁻²⁴ for F32 from float64, or half the smallest subnormal), non-finite values as they were.
 */
function storedAs(got: number, x: number, code: string, from: string): boolean {
  if (!Number.isFinite(x)) return Object.is(got, x) || (Number.isNaN(x) && Number.isNaN(got));
  const [rel, abs] = code === "F16" ? [2 ** -11, 2 ** -25] : code === "BF16" ? [2 ** -8, 2 ** -134] : code === "F32" && from === "float64" ? [2 ** -24, 2 ** -150] : [0, 0];
  return Math.abs(got - x) <= rel * Math.abs(x) + abs;
}

R.encodeSafetensors = fn(
  () => [
    one(fc.record({ names: fc.array(fc.constantFrom("a", "b", "0", "1", "__metadata__", "__proto__", "constructor", "", "é", "not-a-tensor"), { maxLength: 4 }), map: fc.boolean(), seed: fc.nat() }).map((params) => special("named-tensors", params)), fc.oneof(wrongType, fc.constant(v(3)))),
    optional(one(fc.constantFrom<unknown>({}, { format: "pt" }, { a: 1 }, { __proto__: "x" } as unknown, { toString: "y" }, null, "str", [] as unknown).map(v), wrongType)),
    optional(SafetensorsDtypes),
  ],
  {
    // Round trip: what encodeSafetensors writes, decodeSafetensors reads back (rounded to the dtype asked for).
    check: (bytes, [tensors, , options]) => {
      if (!(bytes instanceof Uint8Array)) return "did not return bytes";
      const decoded = kd.decodeSafetensors(bytes);
      const back = decoded.tensors;
      const asked = ((options as { dtypes?: Record<string, string> } | undefined)?.dtypes ?? {}) as Record<string, string>;
      const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors as object);
      for (const [name, t] of entries) {
        const got = back.get(name);
        if (!isT(got) || !isT(t)) return `tensor "${name}" does not come back`;
        const code = Object.hasOwn(asked, name) ? asked[name]! : decoded.dtypes.get(name)!;
        if (decoded.dtypes.get(name) !== code) return `tensor "${name}" was stored as ${decoded.dtypes.get(name)}, not ${code}`;
        const want = elements(t);
        const have = elements(got);
        const i = want.findIndex((x, j) => !storedAs(have[j]!, x, code, t.dtype));
        if (i >= 0) return `round trip: tensor "${name}" stored as ${code}: [${i}] is ${have[i]}, from ${want[i]}`;
      }
      return null;
    },
    noBackend: true,
  },
);
/** The raw Arg at position i is a file the suite wrote validly (safetensors: padded with spaces or not at all). */
function validFile(i: number, path: boolean): boolean {
  const raw = currentRaw[i];
  if (raw?.k !== "special" || raw.params === undefined) return false;
  let params: unknown = raw.params;
  if (path) {
    if (raw.name !== "path") return false;
    const pp = raw.params as PathParams;
    if (pp.kind !== "existing" && pp.kind !== "url") return false;
    if (pp.content?.idx !== undefined) return idxReadable(pp.content.idx);
    params = pp.content?.safetensors ?? pp.content?.npy;
    if (params === undefined) return false;
    return "entries" in (params as object) ? validSafetensors(params as SafetensorsParams) : npyReadable(params as NpyParams);
  }
  if (raw.name === "safetensors") return validSafetensors(params as SafetensorsParams);
  if (raw.name === "npy") return npyReadable(params as NpyParams);
  if (raw.name === "idx") return idxReadable(params as IdxParams);
  return false;
}
const validSafetensors = (p: SafetensorsParams): boolean => p.mutate === undefined && p.pad !== "whitespace";

R.decodeSafetensors = fn(() => [BytesArg("safetensors")], {
  mustReturn: () => validFile(0, false),
  // A file the suite wrote validly (unpadded headers included: the format does not require padding) decodes to its content.
  check: (r, _args) => {
    const raw = currentRaw[0];
    if (raw?.k !== "special" || raw.name !== "safetensors") return null;
    const params = raw.params as SafetensorsParams;
    if (params.mutate !== undefined) return null;
    return safetensorsMatches(r, params);
  },
  noBackend: true,
});
R.encodeNpy = fn((p) => [T(p)], {
  check: (bytes, [t]) => (bytes instanceof Uint8Array && isT(t) ? expectValues(kd.decodeNpy(bytes), elements(t), "round trip") : null),
  noBackend: true,
});
R.decodeNpy = fn(() => [BytesArg("npy")], {
  mustReturn: () => validFile(0, false),
  // A readable file decodes to its values; '<i8' whose values fit int32 is read as int32 (issue item 23).
  check: (r) => {
    const raw = currentRaw[0];
    if (raw?.k !== "special" || raw.name !== "npy") return null;
    const params = raw.params as NpyParams;
    if (!npyReadable(params)) return null;
    if (!isT(r)) return "did not return a Tensor";
    if (shapeText(r.shape) !== shapeText(params.shape)) return `shape ${shapeText(r.shape)}, the file holds ${shapeText(params.shape)}`;
    return expectValues(r, npyValues(params));
  },
  noBackend: true,
});
// decodeIdx: a readable file decodes to its shape and values (integers as int32, float32, float64).
R.decodeIdx = fn(() => [BytesArg("idx")], {
  mustReturn: () => validFile(0, false),
  check: (r) => {
    const raw = currentRaw[0];
    if (raw?.k !== "special" || raw.name !== "idx") return null;
    const params = raw.params as IdxParams;
    if (!idxReadable(params)) return null;
    return idxMatches(r, params);
  },
  noBackend: true,
});
R.digitsFromBytes = fn(() => [one(fc.record({ mutate: fc.option(fc.constantFrom("x-short", "x-pixel", "x-null", "y-short", "y-label", "y-array", "split-null", "split-missing", "split-dup", "split-overlap", "split-nonint", "split-negative", "split-cover", "split-outside", "all-null", "all-number"), { nil: undefined }), seed: fc.nat() }).map((params) => special("digits-bytes", params)), wrongType)], {
  check: (r) => {
    const d = r as kd.Digits;
    if (!d?.train || !isT(d.train.x) || d.train.x.shape[0] !== 1347 || d.test.x.shape[0] !== 450 || d.train_10pct.x.shape[0] !== 135) return "the splits do not have 1347, 450 and 135 rows";
    return null;
  },
  noBackend: true,
});

// ---- data
R.batches = fn(
  (p) => [
    Group(
      fc.record({ n: fc.integer({ min: 0, max: 9 }), f: shapeArb(p, 0, 2), seed: fc.nat(), yShape: fc.constantFrom("n", "n", "other", "scalar") }).chain(({ n, f, yShape }) =>
        fc.tuple(tensorArb(fc.constant([n, ...f])), tensorArb(fc.constant(yShape === "n" ? [n] : yShape === "scalar" ? [] : [n + 1]), { dtypes: ["int32", "float32"] })),
      ).map(([x, y]): Arg[] => [x, y]),
      [wrongTensor, wrongTensor],
    ),
    Options({ batchSize: one(fc.integer({ min: 1, max: 4 }).map(v), fc.oneof(badSize, fc.constant(v(0)))), shuffle: Bool, generator: GeneratorP, dropLast: Bool }),
  ],
  {
    // Iterate the lazy result: every batch is made.
    run: (target, args) => {
      const b = target(...args) as kd.Batches;
      return { length: b.length, all: [...b] };
    },
    check: (r, [x, , o]) => {
      const { length, all } = r as { length: number; all: kd.Batch[] };
      if (all.length !== length) return `length is ${length} but ${all.length} batches came`;
      if (!isT(x)) return null;
      const seen = all.flatMap((b) => b.indices);
      if (new Set(seen).size !== seen.length) return "a row appears in two batches";
      if (!optsOf(o).dropLast && seen.length !== x.shape[0]) return `the batches hold ${seen.length} rows of ${x.shape[0]}`;
      const rowSize = x.size / Math.max(1, x.shape[0]!);
      const xs = elements(x);
      for (const b of all) {
        const p = expectValues(b.x, b.indices.flatMap((i) => xs.slice(i * rowSize, (i + 1) * rowSize)), "a batch's x");
        if (p) return p;
      }
      return null;
    },
  },
);
R.selectRows = fn((p) => [T(p, { minRank: 0 }), one(fc.oneof(fc.array(fc.integer({ min: -1, max: 5 }), { maxLength: 5 }).map((xs) => list(xs.map(v))), fc.constant(special("typed", { ctor: "Int32Array", n: 0, seed: 0 }))), fc.oneof(badInt.map((b) => list([v(0), b])), wrongType))], {
  finite: viewFinite,
  check: (r, [t, idx]) => {
    if (!isT(t) || !isT(r) || !Array.isArray(idx)) return null;
    const rowSize = t.size / Math.max(1, t.shape[0]!);
    const xs = elements(t);
    return expectValues(r, (idx as number[]).flatMap((i) => xs.slice(i * rowSize, (i + 1) * rowSize)));
  },
});

// ---- backends
R.getBackend = { ...fn(() => []), check: (b) => (b === "js" || b === "wasm" ? null : `returned ${String(b)}`), noBackend: true };
R.setBackend = { ...fn(() => [one(fc.constantFrom("js", "wasm").map(v), fc.constantFrom<unknown>("WASM", "", "toString", "__proto__", null, 3, undefined).map(v))]), check: (_r, [b]) => (kd.getBackend() === b ? null : `getBackend() is ${kd.getBackend()} after setBackend(${String(b)})`), noBackend: true };
// setNumThreads changes how the WebAssembly kernels split their calls, never what they compute
// (test/threads.test.ts): good counts and the refused kinds of value; getNumThreads is an integer ≥ 1.
R.setNumThreads = { ...fn(() => [one(fc.integer({ min: 1, max: 8 }).map(v), fc.constantFrom<unknown>(0, -1, 1.5, NaN, Infinity, 257, 2 ** 31, "2", null, undefined, true, 2n).map(v))]), check: (_r, [n]) => (kd.getNumThreads() === n || kd.getNumThreads() === 1 ? null : `getNumThreads() is ${kd.getNumThreads()} after setNumThreads(${String(n)})`), noBackend: true };
R.getNumThreads = { ...fn(() => []), check: (n) => (Number.isInteger(n) && (n as number) >= 1 ? null : `returned ${String(n)}`), noBackend: true };
R.threadInfo = { ...fn(() => []), check: (i) => {
  const o = i as kd.ThreadInfo;
  return Number.isInteger(o.threads) && o.threads >= 1 && Number.isInteger(o.workers) && Number.isInteger(o.ready) && o.ready <= o.workers && Number.isInteger(o.jobs) && typeof o.reason === "string" && (o.host === null) === (o.reason !== "")
    ? null : `returned ${JSON.stringify(o)}`;
}, noBackend: true };
R.wasmAvailable = { ...fn(() => []), check: (b) => (typeof b === "boolean" ? null : `returned ${String(b)}`), noBackend: true };

// ---- Tensor: constructor, statics, methods
R.Tensor = {
  how: "new",
  args: () =>
    call([
      one(fc.record({ ctor: fc.constantFrom("Float32Array", "Float64Array", "Int32Array", "Uint8Array", "Array"), n: fc.integer({ min: 0, max: 8 }), seed: fc.nat() }).map((params) => special("typed", params)), wrongType),
      one(fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }).map((xs) => list(xs.map(v))), fc.oneof(badSize.map((b) => list([b])), wrongType)),
      optional(one(fc.array(fc.integer({ min: -2, max: 4 }), { maxLength: 3 }).map((xs) => list(xs.map(v))), fc.oneof(badInt.map((b) => list([b])), wrongType))),
      optional(one(fc.integer({ min: 0, max: 4 }).map(v), badInt)),
    ]),
  noBackend: true,
};
R["Tensor.empty"] = { how: "static", args: (p) => call([ShapeP(p), DTypeP]), noBackend: true, check: (r, [s, d]) => (Array.isArray(s) && typeof d === "string" ? allEqual(r, s, d, 0) : null) };
for (const name of ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "neg", "exp", "log", "log1p", "sqrt", "abs", "tanh", "sigmoid", "relu", "clamp", "sum", "mean", "max", "min", "argmax", "argmin", "logSumExp", "transpose", "squeeze", "unsqueeze", "slice", "gather", "matmul", "softmax", "logSoftmax", "clone", "reshape", "permute", "expand"]) {
  R[`Tensor#${name}`] = mirror(name);
}
/** x.reshape(2, 3), x.permute(1, 0), x.expand(2, 3): the sizes or axes as separate arguments. */
for (const [name, of] of [["reshape", "reshape"], ["permute", "permute"], ["expand", "expand"]] as const) {
  R[`Tensor#${name}`] = {
    ...mirror(of),
    args: (p) =>
      fc.tuple(mirror(of).args(p), fc.boolean()).map(([args, spread]) => {
        const [recv, shape, ...rest] = args;
        return spread && shape?.k === "list" ? [recv!, ...shape.items, ...rest] : args;
      }),
  };
}
R["Tensor#broadcastTo"] = mirror("expand");
R["Tensor#T"] = { how: "getter", args: (p) => call([fixed(tensorArb(shapeArb(p)))]), finite: viewFinite };
R["Tensor#to"] = { how: "method", args: (p) => call([fixed(tensorArb(shapeArb(p))), DTypeP]), finite: ROWS.cast!.finite, check: ROWS.cast!.check };
R["Tensor#ndim"] = { how: "getter", args: (p) => call([fixed(tensorArb(shapeArb(p)))]), check: (n, [x]) => (n === (x as Tensor).shape.length ? null : `is ${n}`), noBackend: true };
R["Tensor#size"] = { how: "getter", args: (p) => call([fixed(tensorArb(shapeArb(p)))]), check: (n, [x]) => (n === sizeOf((x as Tensor).shape) ? null : `is ${n}`), noBackend: true };
R["Tensor#isLeaf"] = { how: "getter", args: (p) => call([fixed(tensorArb(shapeArb(p)))]), noBackend: true };
R["Tensor#isContiguous"] = method(() => [], { noBackend: true });
R["Tensor#contiguous"] = method(() => [], { check: (r, [x]) => (isT(x) ? expectValues(r, elements(x)) : null) });
R["Tensor#copyData"] = method(() => [], {
  check: (r, [x]) => (ArrayBuffer.isView(r) && isT(x) ? (Array.from(r as Float64Array).every((y, i) => same(y, elements(x)[i]!)) && (r as Float64Array).length === x.size ? null : "does not hold the elements in row-major order") : "did not return a typed array"),
  noBackend: true,
});
R["Tensor#asStrided"] = method(() => [one(fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }).map((xs) => list(xs.map(v))), fc.oneof(badSize.map((b) => list([b])), wrongType)), one(fc.array(fc.integer({ min: -2, max: 4 }), { maxLength: 3 }).map((xs) => list(xs.map(v))), fc.oneof(badInt.map((b) => list([b])), wrongType)), one(fc.integer({ min: 0, max: 8 }).map(v), badInt)], { noBackend: true });
R["Tensor#at"] = {
  how: "method",
  args: (p) => fc.tuple(tensorArb(shapeArb(p)), fc.array(fc.oneof(fc.integer({ min: -4, max: 4 }), fc.constantFrom(...BAD_INTS)), { maxLength: 4 })).map(([x, idx]) => [x, ...idx.map(v)]),
  check: (r, [x, ...idx]) => {
    if (!isT(x)) return null;
    let flat = 0;
    for (let i = 0; i < x.ndim; i++) flat = flat * x.shape[i]! + (((idx[i] as number) % x.shape[i]!) + x.shape[i]!) % x.shape[i]!;
    return same(r as number, elements(x)[flat]!) ? null : `returned ${r}, the element is ${elements(x)[flat]}`;
  },
  noBackend: true,
};
R["Tensor#item"] = method(() => [], { check: (r, [x]) => (isT(x) && !same(r as number, elements(x)[0]!) ? `returned ${r}` : null), noBackend: true });
R["Tensor#toArray"] = method(() => [], { check: (r, [x]) => (isT(x) && JSON.stringify([r].flat(Infinity)) !== JSON.stringify(elements(x)) ? "does not hold the elements" : null), noBackend: true });
R["Tensor#toFlatArray"] = method(() => [], { check: (r, [x]) => (isT(x) && JSON.stringify(r) !== JSON.stringify(elements(x)) ? "does not hold the elements" : null), noBackend: true });
R["Tensor#toString"] = {
  how: "method",
  // Small tensors of every kind, and now and then a stride-0 view of up to 2³¹ − 1 elements (the most a
  // tensor may hold) over one stored value, whose storage counts the elements read: printing must summarise
  // it, reading about what it prints, not copy it (issue item 19).
  args: (p) => fc.oneof({ weight: 9, arbitrary: tensorArb(shapeArb(p)).map((x) => [x as Arg]) }, { weight: 1, arbitrary: fc.constantFrom(2 ** 31 - 1, 1e9).map((n) => [special("big-expanded", { n })]) }),
  check: (s, [x]) => {
    if (typeof s !== "string" || !s.startsWith("tensor(")) return `returned ${String(s).slice(0, 40)}`;
    const reads = readsOf.get(x as Tensor)?.();
    return reads !== undefined && reads > 1000 ? `read ${reads} elements of a view of ${(x as Tensor).size} to print it (it prints a summary of a few)` : null;
  },
  noBackend: true,
};
/** A recorded graph (the backward receivers above, some already walked): graphOf reads it, toDot prints it. */
const recordedGraph = (p: Profile): fc.Arbitrary<Arg> =>
  fc.record({ dtype: fc.constantFrom<"float32" | "float64">("float32", "float64"), shape: shapeArb(p, 0, 2), op: fc.constantFrom<GraphParams["op"]>("leaf", "sum", "sum", "mul2", "view", "no-grad", "freed", "int-leaf"), seed: fc.nat() }).map((params) => special("graph", params));
/** graphOf(y, { names }): the output is the last node, its values are y's, and every edge goes forward. */
R.graphOf = {
  ...fn((p) => [one(recordedGraph(p), fc.oneof(wrongType, fc.constant(v(3)))), optional(Options({ names: one(tensorArb(shapeArb(p, 0, 1)).map((t) => obj([["x", t]])), fc.constantFrom(obj([["x", v(3)]]), v([]), v("x"))) }))]),
  check: (r, [y]) => {
    if (!isT(y)) return null;
    const g = r as kd.Graph;
    if (g.output !== g.nodes.length - 1) return `the output is node ${g.output} of ${g.nodes.length}`;
    if (shapeText(g.nodes[g.output]!.shape) !== shapeText(y.shape)) return "the output node has another shape than y";
    if (g.edges.some((e) => e.from >= e.to)) return "an edge goes backward";
    return expectValues(y, g.nodes[g.output]!.value, "the output node's values");
  },
  noBackend: true,
};
/** toDot(graphOf(y)): one node statement per node, one edge statement per edge; any other value is refused. */
R.toDot = {
  how: "fn",
  args: (p) => call([one(recordedGraph(p), fc.oneof(wrongType, fc.constant(obj([["nodes", v([])]]))))]),
  run: (target, [y]) => target(isT(y) ? kd.graphOf(y) : y),
  check: (r, [y]) => {
    if (!isT(y) || typeof r !== "string") return null;
    const g = kd.graphOf(y);
    const statements = r.split("\n").filter((l) => /^ {2}n\d+ /.test(l));
    return statements.length === g.nodes.length + g.edges.length ? null : `${statements.length} statements for ${g.nodes.length} nodes and ${g.edges.length} edges`;
  },
  noBackend: true,
};
R["Tensor#backward"] = {
  how: "method",
  args: (p) =>
    call([
      fixed(fc.record({ dtype: fc.constantFrom<"float32" | "float64">("float32", "float64"), shape: shapeArb(p, 0, 2), op: fc.constantFrom<GraphParams["op"]>("leaf", "sum", "sum", "mul2", "view", "no-grad", "freed", "int-leaf"), seed: fc.nat() }).map((params) => special("graph", params))),
      optional(one(fc.oneof(tensorArb(shapeArb(p, 0, 2), { grad: "never" }), fc.constant(v(undefined))), fc.oneof(wrongType, fc.constant(v(3))))),
      optional(Options({ retainGraph: Bool, createGraph: Bool })),
    ]),
  // The leaf's .grad keeps the leaf's dtype and shape (issue item 16).
  check: (_r, [y]) => {
    const leaf = leafOf.get(y as Tensor);
    const g = leaf?.grad;
    if (!leaf || !g) return null;
    if (g.dtype !== leaf.dtype) return `left a ${g.dtype} .grad on a ${leaf.dtype} leaf`;
    if (shapeText(g.shape) !== shapeText(leaf.shape)) return `left a .grad of shape ${shapeText(g.shape)} on a leaf of shape ${shapeText(leaf.shape)}`;
    return malformed(g);
  },
  noBackend: true,
};
R["Tensor#requiresGrad_"] = { how: "method", args: () => call([fixed(fc.record({ dtype: fc.constantFrom<"float32" | "float64">("float32", "float64"), shape: fc.constant([2]), op: fc.constantFrom<GraphParams["op"]>("leaf", "mul2", "int-leaf", "no-grad"), seed: fc.nat() }).map((params) => special("graph", params))), optional(one(fc.boolean().map(v), fc.constantFrom(v(1), v("yes"), v(null))))]), noBackend: true };
R["Tensor#retainGrad"] = method(() => [], { noBackend: true });
R["Tensor#detach"] = method(() => [], { check: (r, [x]) => (isT(x) ? expectValues(r, elements(x)) : null), noBackend: true });
R["Tensor#zeroGrad"] = method(() => [], { noBackend: true });

// ---- kdgrad/node
const nodeRow = (params: ParamsOf, extra: Partial<Row> = {}): Row => ({ ...fn(params), noBackend: true, ...extra });
/** After a write, successful or not, no temporary file is left next to the target. */
function noTemporaries(path: unknown): string | null {
  if (typeof path !== "string" || path === "" || path.startsWith("/proc") || path.startsWith("/dev")) return null;
  const { readdirSync, existsSync } = nodeFs;
  const dir = nodePath.dirname(path);
  if (!existsSync(dir)) return null;
  const left = readdirSync(dir).filter((f: string) => f.includes(".tmp-"));
  return left.length > 0 ? `left temporary files behind: ${left.join(", ")}` : null;
}
R["node:writeFileAtomic"] = nodeRow(() => [PathArg(), one(fc.oneof(fc.constantFrom("hello", "").map(v), fc.constant(special("typed", { ctor: "Uint8Array", n: 5, seed: 3 })), fc.constant(special("typed", { ctor: "Float32Array", n: 3, seed: 3 }))), fc.oneof(wrongType, fc.constant(v(3))))], {
  check: (_r, [path, data]) => {
    const t = noTemporaries(path);
    if (t) return t;
    if (typeof path === "string" && path.startsWith("/dev")) return null;
    const p = path instanceof URL ? nodeFs.realpathSync(path) : (path as string);
    const got = new Uint8Array(nodeFs.readFileSync(p));
    const want = typeof data === "string" ? new TextEncoder().encode(data) : new Uint8Array((data as ArrayBufferView).buffer, (data as ArrayBufferView).byteOffset, (data as ArrayBufferView).byteLength);
    return got.length === want.length && got.every((b, i) => b === want[i]) ? null : `the file holds ${got.length} bytes, not the ${want.length} written`;
  },
});
R["node:saveNpy"] = nodeRow((p) => [PathArg(), T(p)], {
  check: (_r, [path, t]) => noTemporaries(path) ?? (isT(t) && typeof path === "string" && !path.startsWith("/dev") ? expectValues(kd.decodeNpy(new Uint8Array(nodeFs.readFileSync(path))), elements(t), "saved then read") : null),
});
R["node:loadNpy"] = nodeRow(() => [PathArg(fileContent.filter((c) => c?.npy !== undefined || c?.garbage !== undefined))], {
  mustReturn: () => validFile(0, true),
  check: (r, [path]) => {
    const params = currentRaw[0]?.k === "special" ? ((currentRaw[0].params as PathParams).content?.npy ?? null) : null;
    if (params === null || !npyReadable(params) || typeof path !== "string") return null;
    return isT(r) ? expectValues(r, npyValues(params)) : "did not return a Tensor";
  },
});
R["node:loadIdx"] = nodeRow(() => [PathArg(fileContent.filter((c) => c?.idx !== undefined || c?.garbage !== undefined))], {
  mustReturn: () => validFile(0, true),
  check: (r, [path]) => {
    const params = currentRaw[0]?.k === "special" ? ((currentRaw[0].params as PathParams).content?.idx ?? null) : null;
    if (params === null || !idxReadable(params) || typeof path !== "string") return null;
    return idxMatches(r, params);
  },
});
R["node:saveSafetensors"] = nodeRow(() => [PathArg(), one(fc.record({ names: fc.array(fc.constantFrom("a", "b", "__proto__", "constructor", "", "not-a-tensor"), { maxLength: 3 }), map: fc.boolean(), seed: fc.nat() }).map((params) => special("named-tensors", params)), wrongType), optional(one(fc.constantFrom<unknown>({ format: "pt" }, { a: 1 }, null).map(v), wrongType)), optional(SafetensorsDtypes)], {
  check: (_r, [path]) => noTemporaries(path),
});
R["node:loadSafetensors"] = nodeRow(() => [PathArg(fileContent.filter((c) => c?.safetensors !== undefined || c?.garbage !== undefined))], {
  mustReturn: () => validFile(0, true),
  check: (r) => {
    const params = currentRaw[0]?.k === "special" ? ((currentRaw[0].params as PathParams).content?.safetensors ?? null) : null;
    return params === null || params.mutate !== undefined ? null : safetensorsMatches(r, params);
  },
});
R["node:saveModule"] = nodeRow(() => [PathArg(), one(moduleArb(), wrongType), optional(one(fc.constantFrom<unknown>({ note: "x" }, { a: 1 }).map(v), wrongType))], { check: (_r, [path]) => noTemporaries(path) });
/**
 * openTopKShards on a file (a one-shard source), a directory, a list of both, or not a path, with
 * tensor names that now and then match the suite's files; every shard is then loaded, so the
 * shard checks run on valid files, garbage and files without indices or logprobs.
 */
R["node:openTopKShards"] = nodeRow(() => [
  one(
    fc.oneof(
      { weight: 3, arbitrary: PathArg(fileContent.filter((c) => c?.safetensors !== undefined || c?.garbage !== undefined)).good.map((a) => a[0]!) },
      { weight: 1, arbitrary: fc.array(PathArg(fileContent).good.map((a) => a[0]!), { maxLength: 3 }).map((items) => list(items)) },
    ),
    fc.oneof(wrongType, fc.constant(v(3)), fc.constant(list([v(3)]))),
  ),
  optional(Options({ indices: one(fc.constantFrom("indices", "w", "b", "0", "__proto__").map(v), fc.oneof(wrongType, fc.constant(v("")))), logprobs: one(fc.constantFrom("logprobs", "w", "b", "1").map(v), fc.oneof(wrongType, fc.constant(v("")))) })),
], {
  run: (target, args) => {
    const shards = (target as (...a: unknown[]) => kn.TopKShards)(...args);
    for (let i = 0; i < shards.length; i++) {
      const shard = shards.load(i);
      if (!isT(shard.indices) || shard.indices.dtype !== "int32" || !isT(shard.logprobs) || shard.logprobs.dtype === "int32") {
        throw new Error(`shard ${i}: indices ${shard.indices?.dtype}, logprobs ${shard.logprobs?.dtype}`);
      }
    }
    return shards;
  },
  names: () => ["TopKShards.load"],
});
R["node:loadModule"] = nodeRow(() => [PathArg(fileContent.filter((c) => c?.safetensors !== undefined || c?.garbage !== undefined)), one(moduleArb(["linear", "mlp", "relu"]), wrongType), optional(Options({ strict: Bool }))]);
R["node:loadDigits"] = nodeRow(() => [optional(one(fc.record({ kind: fc.constantFrom<"real" | "copy" | "missing" | "file">("real", "copy", "copy", "missing", "file"), change: fc.constantFrom("none", "flip-x", "remove-y", "sums-bad-line", "sums-missing-entry", "split-not-json", "split-consistent-garbage") }).map((params) => special("digits-dir", params)), fc.oneof(wrongType, fc.constant(v(3)))))], {
  check: (r) => ROWS.digitsFromBytes!.check!(r, []),
});
R["node:DEFAULT_DIGITS_DIR"] = { how: "value", args: () => fc.constant([]), check: (d) => (typeof d === "string" && nodeFs.existsSync(nodePath.join(d, "SHA256SUMS")) ? null : `is ${String(d)}, not the data directory`), noBackend: true };
R["node:FileError"] = { ...errorClassRow("FileError"), check: (r, a) => (resolveNode("FileError") === kd.FileError ? errorClassRow("FileError").check!(r, a) : "kdgrad/node's FileError is not kdgrad's") };
R["node:FormatError"] = { ...errorClassRow("FormatError"), check: (r, a) => (resolveNode("FormatError") === kd.FormatError ? errorClassRow("FormatError").check!(r, a) : "kdgrad/node's FormatError is not kdgrad's") };
// ==================================================================== kdgrad/testing (issue 14)
//
// The testing kit's entry points, keyed "testing:…" and "testing/fast-check:…": the assertions
// (allClose, assertClose, assertFinite, closeReport, AssertionError; the gradcheck family and
// GradcheckError are kdgrad's own, re-exported), the arbitraries and lossProperties. One block
// on purpose (other branches add rows too). "kdgrad/testing/vitest" is not scanned: README,
// "What is fuzzed", says why.

/** The suite's own NumPy isclose over two value lists (already broadcast): the reference for allClose and its kin. */
function iscloseRef(x: number, y: number, rtol: number, atol: number, equalNan: boolean): boolean {
  if (Number.isNaN(x) || Number.isNaN(y)) return equalNan && Number.isNaN(x) && Number.isNaN(y);
  if (!Number.isFinite(x) || !Number.isFinite(y)) return x === y;
  return Math.abs(x - y) <= atol + rtol * Math.abs(y);
}

/**
 * A compared value read by the suite: a Tensor through its strides, a number, or rectangular
 * nested arrays of numbers; null for anything the assertions must refuse.
 */
function comparableRef(x: unknown): { shape: number[]; xs: number[] } | null {
  if (isT(x)) return { shape: [...x.shape], xs: elements(x) };
  if (num(x)) return { shape: [], xs: [x] };
  if (!Array.isArray(x)) return null;
  const xs: number[] = [];
  const walk = (a: unknown): number[] | null => {
    if (num(a)) {
      xs.push(a);
      return [];
    }
    if (!Array.isArray(a)) return null;
    if (a.length === 0) return [0];
    const inner = a.map(walk);
    if (inner.some((s) => s === null || JSON.stringify(s) !== JSON.stringify(inner[0]))) return null;
    return [a.length, ...inner[0]!];
  };
  const shape = walk(x);
  return shape === null ? null : { shape, xs };
}

/** allClose's verdict by the suite's rule, or null when the call must be refused (bad values, shapes that do not broadcast, bad tolerances). */
function closeRef(a: unknown, b: unknown, o: unknown): { ok: boolean; mismatches: number; shape: number[]; firstBad: number } | null {
  const opts = optsOf(o);
  const rtol = opts.rtol ?? 1e-5;
  const atol = opts.atol ?? 1e-8;
  const tolOk = (t: unknown): t is number => num(t) && Number.isFinite(t) && t >= 0;
  if (!tolOk(rtol) || !tolOk(atol)) return null;
  const x = comparableRef(a);
  const y = comparableRef(b);
  if (x === null || y === null) return null;
  const shape = broadcastRef(x.shape, y.shape);
  if (shape === null) return null;
  const xa = broadcastRead(isT(a) ? a : kd.tensor(x.xs, { shape: x.shape, dtype: "float64" }), shape);
  const ya = broadcastRead(isT(b) ? b : kd.tensor(y.xs, { shape: y.shape, dtype: "float64" }), shape);
  let mismatches = 0;
  let firstBad = -1;
  for (let i = 0; i < xa.length; i++) {
    if (!iscloseRef(xa[i]!, ya[i]!, rtol, atol, opts.equalNan === true)) {
      mismatches++;
      if (firstBad < 0) firstBad = i;
    }
  }
  return { ok: mismatches === 0, mismatches, shape, firstBad };
}

/** A flat index as a multi-index of `shape`. */
function multiIndexRef(flat: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length).fill(0);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = flat % shape[d]!;
    flat = Math.floor(flat / shape[d]!);
  }
  return idx;
}

/** What an assertion threw inside a row's `run` (so that `check` can compare the verdict with the reference). */
interface Threw {
  threw: string;
  name: string;
}
/** Run an assertion; its AssertionError becomes a value (any other error propagates to the oracle). */
const verdict = (f: () => unknown): unknown => {
  try {
    f();
    return "passed";
  } catch (e) {
    if (e instanceof kt.AssertionError) return { threw: e.message, name: e.name } satisfies Threw;
    throw e;
  }
};
const threw = (r: unknown): r is Threw => typeof r === "object" && r !== null && "threw" in r;

/**
 * Two values to compare: a tensor Arg of any dtype, layout and value kind, read as a tensor,
 * as nested arrays or as a number; the other derived from its values (the same, perturbed near
 * the default tolerances, NaN or ∞ here and there, broadcast from one row) or unrelated, as a
 * tensor of either float dtype or nested arrays. Bad values: wrong types, ragged or non-numeric
 * nested arrays, a typed array.
 */
function ComparePair(p: Profile): Param {
  const base = tensorArb(shapeArb(p, 0, 3), { kinds: ["moderate", "moderate", "wide", "special", "finite-special", "huge"] });
  const good = fc
    .record({
      a: base,
      asA: fc.constantFrom("tensor", "tensor", "nested", "number"),
      how: fc.constantFrom("same", "perturbed", "perturbed", "perturbed", "row", "other"),
      form: fc.constantFrom("float64", "float32", "nested"),
      seed: fc.nat(),
      other: base,
    })
    .map(({ a, asA, how, form, seed, other }): Arg[] => {
      const first: Arg = asA === "tensor" ? a : special("testing:comparable", { base: a, form: asA });
      return [first, special("testing:comparable", { base: how === "other" ? other : a, form, how: how === "other" ? "same" : how, seed })];
    });
  const badComparable = fc.oneof(
    wrongType,
    fc.constantFrom(list([list([v(1)]), list([v(1), v(2)])]), list([v("1")]), list([v(null)]), list([list([v(1)]), v(2)]), v(3n)),
    fc.constant(special("typed", { ctor: "Float64Array", n: 2, seed: 1 })),
  );
  return Group(good, [badComparable, badComparable]);
}

const tolerance = (pool: number[]): Param => Num(fc.constantFrom(...pool));
const closeOptions = Options({ rtol: tolerance([1e-5, 0, 1e-3, 0.5, -1, NaN, Infinity]), atol: tolerance([1e-8, 0, 1e-6, 1, -1e-8, NaN, Infinity]), equalNan: Bool });
const assertCloseOptions = Options({
  rtol: tolerance([1e-5, 0, 1e-3, 0.5, -1, NaN]), atol: tolerance([1e-8, 0, 1e-6, -1, Infinity]), equalNan: Bool,
  name: one(fc.constantFrom("logits.grad", "").map(v), fc.constantFrom(v(3), v(true), list([]))),
});

/** The values the special "testing:comparable" makes from a tensor Arg (see ComparePair). */
function comparableValue({ base, form, how, seed }: { base: TensorArg; form: string; how?: string; seed?: number }): unknown {
  let xs = logicalValues(base);
  let shape = [...base.shape];
  if (base.dtype === "float32") xs = xs.map(Math.fround);
  if (how === "row" && shape.length > 0 && xs.length >= shape[shape.length - 1]!) {
    shape = [shape[shape.length - 1]!];
    xs = xs.slice(0, shape[0]);
  }
  if (how === "perturbed") {
    const r = prng(seed ?? 0);
    // Steps around the default tolerances (rtol 1e-5, atol 1e-8) and a few non-finite flips.
    xs = xs.map((x) => {
      const u = r();
      if (u < 0.3) return x;
      if (u < 0.45) return x + (r() < 0.5 ? -1 : 1) * 5e-9;
      if (u < 0.6) return x * (1 + (r() < 0.5 ? -1 : 1) * 9e-6);
      if (u < 0.75) return x * (1 + (r() < 0.5 ? -1 : 1) * 2e-5);
      if (u < 0.85) return x + 1e-3;
      return [NaN, Infinity, -Infinity, -x][Math.floor(r() * 4)]!;
    });
  }
  if (form === "number") return xs.length === 1 ? xs[0] : nestedOf(xs, shape);
  if (form === "nested") return nestedOf(xs, shape);
  const dtype = form === "float32" ? "float32" : base.dtype === "int32" && how !== "perturbed" ? "int32" : "float64";
  return new Tensor(dtype === "float32" ? Float32Array.from(xs) : dtype === "int32" ? Int32Array.from(xs) : Float64Array.from(xs), shape);
}

function nestedOf(xs: readonly number[], shape: readonly number[]): unknown {
  let pos = 0;
  const make = (axis: number): unknown => (axis === shape.length ? xs[pos++] : Array.from({ length: shape[axis]! }, () => make(axis + 1)));
  return make(0);
}

R["testing:allClose"] = fn((p) => [ComparePair(p), optional(closeOptions)], {
  check: (r, [a, b, o]) => {
    const want = closeRef(a, b, o);
    if (typeof r !== "boolean") return `returned ${String(r)}, not a boolean`;
    if (want === null) return "accepted values, shapes or tolerances it must refuse";
    return r === want.ok ? null : `returned ${r}, but NumPy's rule |a − b| ≤ atol + rtol·|b| gives ${want.ok} (${want.mismatches} elements not close)`;
  },
  noBackend: true,
});
R["testing:closeReport"] = fn((p) => [ComparePair(p), optional(closeOptions)], {
  check: (r, [a, b, o]) => {
    const want = closeRef(a, b, o);
    if (want === null) return "accepted values, shapes or tolerances it must refuse";
    const rep = r as kt.CloseReport;
    if (rep.ok !== want.ok || rep.mismatches !== want.mismatches) return `says ok ${rep.ok} with ${rep.mismatches} mismatches; the suite's rule gives ${want.ok} with ${want.mismatches}`;
    if (JSON.stringify(rep.shape) !== JSON.stringify(want.shape)) return `has shape [${rep.shape}], the broadcast shape is [${want.shape}]`;
    const first = want.firstBad < 0 ? null : multiIndexRef(want.firstBad, want.shape);
    if (JSON.stringify(rep.first?.index ?? null) !== JSON.stringify(first)) return `names the first mismatch at ${JSON.stringify(rep.first?.index)}, not ${JSON.stringify(first)}`;
    if (want.mismatches > 0 && (rep.worst === null || iscloseRef(rep.worst.actual, rep.worst.expected, (optsOf(o).rtol as number) ?? 1e-5, (optsOf(o).atol as number) ?? 1e-8, optsOf(o).equalNan === true))) {
      return "its worst element is a close one";
    }
    return null;
  },
  noBackend: true,
});
R["testing:assertClose"] = fn((p) => [ComparePair(p), optional(assertCloseOptions)], {
  run: (target, args) => verdict(() => target(...args)),
  check: (r, [a, b, o]) => {
    // Shapes must be equal (unless expected is a number): a difference is a failed assertion, not a refusal.
    const x = comparableRef(a);
    const y = comparableRef(b);
    if (x === null || y === null || closeRef(0, 0, o) === null || (optsOf(o).name !== undefined && typeof optsOf(o).name !== "string")) return "accepted values or options it must refuse";
    const sameShape = num(b) || JSON.stringify(x.shape) === JSON.stringify(y.shape);
    const want = sameShape ? closeRef(a, b, o) : null;
    const pass = want !== null && want.ok;
    if (!threw(r)) return pass ? null : "passed on values that are not close (or of different shapes)";
    if (pass) return `failed on close values of equal shapes: ${r.threw.split("\n")[0]}`;
    return functionPart(r.threw) === "assertClose" && r.name === "AssertionError" ? null : `its AssertionError does not name assertClose: ${r.threw.split("\n")[0]}`;
  },
  noBackend: true,
});
R["testing:assertFinite"] = fn(
  (p) => [
    one(fc.oneof(tensorArb(shapeArb(p, 0, 3), { kinds: ["moderate", "special", "masked", "huge"] }), fc.record({ base: tensorArb(shapeArb(p, 0, 3)), form: fc.constantFrom("nested", "number") }).map((q) => special("testing:comparable", q))), fc.oneof(wrongType, fc.constant(list([v("1")])))),
    optional(Options({ name: one(fc.constantFrom("∂loss/∂x", "").map(v), fc.constantFrom(v(3), v(false))) })),
  ],
  {
    run: (target, args) => verdict(() => target(...args)),
    check: (r, [t, o]) => {
      const x = comparableRef(t);
      if (x === null || (optsOf(o).name !== undefined && typeof optsOf(o).name !== "string")) return "accepted a value or options it must refuse";
      const bad = x.xs.filter((z) => !Number.isFinite(z)).length;
      if (!threw(r)) return bad === 0 ? null : `passed a value holding ${bad} non-finite elements`;
      if (bad === 0) return `failed on finite values: ${r.threw}`;
      return r.threw.startsWith("assertFinite: ") && r.threw.includes(`has ${bad} non-finite of ${x.xs.length} elements`) ? null : `its message does not count the ${bad} non-finite elements under assertFinite: ${r.threw}`;
    },
    noBackend: true,
  },
);
R["testing:AssertionError"] = {
  how: "new",
  args: () => call([one(fc.constantFrom<unknown>("a message", "", "fn: what went wrong", 3, undefined).map(v), null)]),
  check: (e, [m]) => {
    if (!(e instanceof kt.AssertionError) || !(e instanceof KdgradError)) return "is not an AssertionError and a KdgradError";
    if (e.name !== "AssertionError") return `has name ${JSON.stringify(e.name)}`;
    return e.message === (m === undefined ? "" : String(m)) ? null : `has message ${JSON.stringify(e.message)}`;
  },
  noBackend: true,
};
R["testing:AssertionError#name"] = {
  how: "getter",
  args: () => fc.tuple(fc.constantFrom("a message", "assertClose: x"), fc.boolean()).map(([message, sub]) => [special("testing:assertion-error", { message, sub })]),
  check: (name, [e]) => (name === (e as Error).constructor.name ? null : `is ${JSON.stringify(name)}, not the class's name ${JSON.stringify((e as Error).constructor.name)}`),
  noBackend: true,
};
// The gradcheck family: kdgrad's own functions (the same objects), fuzzed as kdgrad's rows are.
for (const k of ["gradcheck", "gradgradcheck", "assertGradcheck", "assertGradgradcheck", "GradcheckError", "GradcheckError#name"]) {
  const row = R[k]!;
  const cls = k.split("#")[0]!;
  R[`testing:${k}`] = {
    ...row,
    check: (r, a) => ((kt as Record<string, unknown>)[cls] !== (kd as Record<string, unknown>)[cls] ? `kdgrad/testing's ${cls} is not kdgrad's` : row.check?.(r, a) ?? null),
  };
}

// ---- kdgrad/testing/fast-check: each call makes an arbitrary and draws a few values from it
// (the row's last Arg is the sampling seed, not an argument), which must be what the options say.

/** Make the arbitrary and draw from it: errors in either are the call's. */
const sampleRun = (n = 4) => (target: (...a: unknown[]) => fc.Arbitrary<unknown>, args: unknown[]): unknown[] => {
  const seed = args[args.length - 1] as number;
  const arb = target(...args.slice(0, -1));
  return fc.sample(arb, { numRuns: n, seed });
};
const sampleSeed: Param = fixed(fc.nat().map(v));
const smallInt = (min: number, max: number): Param => one(fc.integer({ min, max }).map(v), badInt);
const shapeBoundFields = { minRank: smallInt(0, 3), maxRank: smallInt(0, 4), minDim: smallInt(0, 3), maxDim: smallInt(0, 6) };
const rowBoundFields = { minRows: smallInt(1, 3), maxRows: smallInt(1, 4), minClasses: smallInt(1, 4), maxClasses: smallInt(1, 8) };

/** The bounds the options give, after the documented defaults. */
function shapeBoundsOf(o: Record<string, unknown>): { minRank: number; maxRank: number; minDim: number; maxDim: number } {
  const minRank = (o.minRank as number) ?? 0;
  const minDim = (o.minDim as number) ?? 1;
  return { minRank, maxRank: (o.maxRank as number) ?? Math.max(3, minRank), minDim, maxDim: (o.maxDim as number) ?? Math.max(4, minDim) };
}
function inShapeBounds(s: unknown, o: Record<string, unknown>, extraOne = false): string | null {
  const b = shapeBoundsOf(o);
  if (!Array.isArray(s) || !s.every((d) => Number.isInteger(d))) return `drew ${JSON.stringify(s)}, not a list of integers`;
  if (s.length < b.minRank || s.length > b.maxRank) return `drew ${JSON.stringify(s)}, whose rank is outside [${b.minRank}, ${b.maxRank}]`;
  if (s.some((d) => !((d >= b.minDim && d <= b.maxDim) || (extraOne && d === 1)))) return `drew ${JSON.stringify(s)}, with a size outside [${b.minDim}, ${b.maxDim}]`;
  return null;
}
const firstProblem = (xs: unknown[], f: (x: unknown) => string | null): string | null => {
  for (const x of xs) {
    const p = f(x);
    if (p) return p;
  }
  return null;
};

R["testing/fast-check:shapes"] = fn(() => [optional(Options(shapeBoundFields)), sampleSeed], {
  run: sampleRun(),
  check: (r, [o]) => firstProblem(r as unknown[], (s) => inShapeBounds(s, optsOf(o))),
  noBackend: true,
});
R["testing/fast-check:broadcastPairs"] = fn(() => [optional(Options(shapeBoundFields)), sampleSeed], {
  run: sampleRun(),
  check: (r, [o]) => firstProblem(r as unknown[], (pair) => {
    const [a, b] = pair as [number[], number[]];
    const p = inShapeBounds(a, { ...optsOf(o), minRank: shapeBoundsOf(optsOf(o)).minRank }, true) ?? inShapeBounds(b, optsOf(o), true);
    if (p) return p;
    return broadcastRef(a, b) === null ? `drew [${a}] and [${b}], which do not broadcast` : null;
  }),
  noBackend: true,
});

/** A user's arbitrary of shapes (the `shape` option may be one): good, or drawing what no tensor has. */
const shapeArbP: Param = one(
  fc.oneof(
    { weight: 3, arbitrary: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }).map((s) => list(s.map(v))) },
    { weight: 1, arbitrary: fc.constantFrom("good", "negative", "fraction", "huge", "not-a-list").map((kind) => special("testing:shape-arbitrary", { kind })) },
  ),
  fc.oneof(wrongType, fc.constantFrom(list([v(-1)]), list([v(0.5)]), list([v(1e10), v(1e10)]), list([v(2 ** 31), v(2)]))),
);
const valueBound = tolerance([-10, -1, 0, 0.25, 1, 10, 1e300, -1e300, 1e39, -1e39, NaN, Infinity]);
const tensorFields = {
  ...shapeBoundFields,
  shape: shapeArbP, dtype: DTypeP, min: valueBound, max: valueBound,
  awayFrom: one(fc.array(fc.constantFrom(0, 1, -1, 0.5, 10), { maxLength: 3 }).map((xs) => list(xs.map(v))), fc.oneof(wrongType, fc.constant(list([v(NaN)])))),
  margin: tolerance([1e-2, 0, 0.3, 2, 50, -1, NaN]),
  requiresGrad: Bool,
};

/** Values of a drawn tensor within [min, max] (rounded to float32 when it is one) and at least `margin` from each `awayFrom` point. */
function tensorProblem(t: unknown, o: Record<string, unknown>, expectShape: (s: number[]) => string | null): string | null {
  if (!isT(t)) return `drew ${String(t)}, not a Tensor`;
  const dtype = (o.dtype as string) ?? "float64";
  if (t.dtype !== dtype) return `drew a ${t.dtype} tensor, not ${dtype}`;
  if (t.requiresGrad !== (o.requiresGrad === true)) return `drew a tensor with requiresGrad ${t.requiresGrad}`;
  const shapeProblem = expectShape([...t.shape]);
  if (shapeProblem) return shapeProblem;
  const round = dtype === "float32" ? Math.fround : (x: number): number => x;
  const lo = round((o.min as number) ?? -10);
  const hi = round((o.max as number) ?? 10);
  const margin = dtype === "int32" ? 0 : (o.margin as number) ?? 1e-2;
  const away = dtype === "int32" ? [] : ((o.awayFrom as number[]) ?? []);
  for (const x of elements(t)) {
    if (!(x >= lo && x <= hi) || (dtype === "int32" && !Number.isInteger(x))) return `drew ${x}, outside [${lo}, ${hi}]`;
    for (const k of away) {
      // The pushed value is k ± margin, computed in float64 and rounded to the dtype.
      const slack = (dtype === "float32" ? 2 ** -23 : 2 ** -51) * Math.max(Math.abs(k), Math.abs(x), margin);
      if (Math.abs(x - k) < margin - slack) return `drew ${x}, closer than margin ${margin} to ${k}`;
    }
  }
  return null;
}
const shapeExpectation = (o: Record<string, unknown>) => (s: number[]): string | null => {
  const fixedShape = o.shape;
  if (Array.isArray(fixedShape)) return JSON.stringify(s) === JSON.stringify(fixedShape) ? null : `drew shape [${s}], not the fixed [${fixedShape}]`;
  if (fixedShape !== undefined) return null;
  return inShapeBounds(s, o);
};

R["testing/fast-check:tensors"] = fn(() => [optional(Options(tensorFields)), sampleSeed], {
  run: sampleRun(),
  check: (r, [o]) => firstProblem(r as unknown[], (t) => tensorProblem(t, optsOf(o), shapeExpectation(optsOf(o)))),
  noBackend: true,
});
R["testing/fast-check:views"] = fn(
  () => [optional(Options({ ...tensorFields, kinds: one(fc.subarray(["transposed", "sliced", "expanded"], { minLength: 1 }).map((ks) => list(ks.map(v))), fc.oneof(wrongType, fc.constantFrom(list([v("rotated")]), v("sliced")))) })), sampleSeed],
  {
    run: sampleRun(),
    check: (r, [o]) => firstProblem(r as unknown[], (x) => {
      const w = x as kf.TensorView;
      if (!w || !isT(w.view) || !isT(w.base) || typeof w.of !== "function") return "did not draw {kind, base, view, of}";
      const opts = optsOf(o);
      // An expanded view carries a leading axis of 2 (its stride 0) before the drawn shape.
      const drawn = w.kind === "expanded" ? (s: number[]): string | null => (s[0] === 2 ? shapeExpectation(opts)(s.slice(1)) : `drew an expanded view of shape [${s}], without its leading 2`) : shapeExpectation(opts);
      const p = tensorProblem(w.base, opts, () => null) ?? tensorProblem(w.view, opts, drawn);
      if (p) return p;
      const kinds = (opts.kinds as string[]) ?? ["transposed", "sliced", "expanded"];
      // A scalar has no axis to transpose or slice (it is expanded), a vector none to transpose (it is sliced).
      if (!kinds.includes(w.kind) && !(w.kind === "expanded" && w.view.ndim === 1) && !(w.kind === "sliced" && w.view.ndim === 1 && kinds.includes("transposed"))) return `drew a ${w.kind} view of shape [${w.view.shape}], not one of ${kinds}`;
      const again = w.of(w.base);
      return JSON.stringify(elements(again)) === JSON.stringify(elements(w.view)) ? null : "of(base) does not rebuild the view";
    }),
    noBackend: true,
  },
);

/** [B, C] within the row bounds (or the fixed shape), the dtype asked for. */
function rowProblem(t: unknown, o: Record<string, unknown>): string | null {
  if (!isT(t)) return `drew ${String(t)}, not a Tensor`;
  const dtype = (o.dtype as string) ?? "float64";
  if (t.dtype !== dtype) return `drew a ${t.dtype} tensor, not ${dtype}`;
  if (t.requiresGrad !== (o.requiresGrad === true)) return `drew a tensor with requiresGrad ${t.requiresGrad}`;
  if (t.ndim !== 2) return `drew shape [${t.shape}], not [B, C]`;
  if (Array.isArray(o.shape)) return JSON.stringify(t.shape) === JSON.stringify(o.shape) ? null : `drew shape [${t.shape}], not [${o.shape}]`;
  const minRows = (o.minRows as number) ?? 1;
  const minClasses = (o.minClasses as number) ?? 2;
  const [B, C] = t.shape as [number, number];
  if (B < minRows || B > ((o.maxRows as number) ?? Math.max(4, minRows))) return `drew ${B} rows, outside the bounds`;
  if (C < minClasses || C > ((o.maxClasses as number) ?? Math.max(8, minClasses))) return `drew ${C} classes, outside the bounds`;
  return null;
}
const rowFields = { ...rowBoundFields, shape: one(fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 6 })).map(([b, c]) => list([v(b), v(c)])), fc.oneof(wrongType, fc.constantFrom(list([v(0), v(3)]), list([v(2)]), list([v(2), v(2.5)]), list([v(1e6), v(1e6)])))), dtype: FloatDTypeP, requiresGrad: Bool };

R["testing/fast-check:logits"] = fn(
  () => [optional(Options({ ...rowFields, maxAbs: tolerance([10, 0, 1, 1e4, 1e38, 1e39, 1e300, -1, NaN, Infinity]), masked: Bool, ties: Bool })), sampleSeed],
  {
    run: sampleRun(),
    check: (r, [o]) => firstProblem(r as unknown[], (t) => {
      const opts = optsOf(o);
      const p = rowProblem(t, opts);
      if (p) return p;
      const x = t as Tensor;
      const maxAbs = x.dtype === "float32" ? Math.fround((opts.maxAbs as number) ?? 10) : (opts.maxAbs as number) ?? 10;
      for (const row of rowsOf(x)) {
        if (!row.some((z) => Number.isFinite(z))) return `drew a row with no finite logit: [${row}]`;
        const bad = row.find((z) => !(Math.abs(z) <= maxAbs || (z === -Infinity && opts.masked === true)));
        if (bad !== undefined) return `drew the logit ${bad}, beyond maxAbs ${maxAbs}${opts.masked === true ? "" : " (masks are off)"}`;
      }
      return null;
    }),
    noBackend: true,
  },
);
R["testing/fast-check:probabilities"] = fn(
  () => [optional(Options({ ...rowFields, zeros: Bool, spread: tolerance([30, 0, 1, 80, 100, 700, 701, -1, NaN]) })), sampleSeed],
  {
    run: sampleRun(),
    check: (r, [o]) => firstProblem(r as unknown[], (t) => {
      const opts = optsOf(o);
      const p = rowProblem(t, opts);
      if (p) return p;
      const x = t as Tensor;
      const eps = x.dtype === "float32" ? 2 ** -24 : 2 ** -53;
      for (const row of rowsOf(x)) {
        const sum = row.reduce((a, z) => a + z, 0);
        if (row.some((z) => !(z >= 0))) return `drew a negative or NaN probability in [${row}]`;
        if (opts.zeros === false && row.some((z) => z === 0)) return `drew a zero probability with zeros: false, in [${row}] (${x.dtype})`;
        if (!(Math.abs(sum - 1) <= 4 * (row.length + 1) * eps)) return `drew a row summing to ${sum}: [${row}]`;
      }
      return null;
    }),
    noBackend: true,
  },
);
R["testing/fast-check:labelsFor"] = fn(
  (p) => [T(p, { kinds: ["moderate", "masked", "masked", "special"] }), optional(Options({ allowMasked: Bool })), sampleSeed],
  {
    run: sampleRun(),
    check: (r, [x, o]) => firstProblem(r as unknown[], (y) => {
      if (!isT(y) || y.dtype !== "int32" || !isT(x)) return "did not draw an int32 tensor";
      if (JSON.stringify(y.shape) !== JSON.stringify(x.shape.slice(0, -1))) return `drew labels of shape [${y.shape}] for logits [${x.shape}]`;
      const C = x.shape[x.ndim - 1]!;
      const rows = rowsOf(x);
      const ys = elements(y);
      for (let i = 0; i < ys.length; i++) {
        const k = ys[i]!;
        if (!(k >= 0 && k < C)) return `drew the label ${k}, outside [0, ${C})`;
        if (optsOf(o).allowMasked !== true && rows[i]![k] === -Infinity && rows[i]!.some((z) => z !== -Infinity)) return `drew the label ${k} on a −∞ class of row ${i}`;
      }
      return null;
    }),
    noBackend: true,
  },
);
const temperatureBound = tolerance([1e-6, 1e-3, 1, 10, 1e6, 1e-7, 2e6, 0, NaN]);
R["testing/fast-check:temperatures"] = fn(() => [optional(Options({ min: temperatureBound, max: temperatureBound })), sampleSeed], {
  run: sampleRun(8),
  check: (r, [o]) => {
    const lo = (optsOf(o).min as number) ?? 1e-6;
    const hi = (optsOf(o).max as number) ?? 1e6;
    return firstProblem(r as unknown[], (T) => (num(T) && T >= lo && T <= hi ? null : `drew ${String(T)}, outside [${lo}, ${hi}]`));
  },
  noBackend: true,
});
R["testing/fast-check:TEMPERATURE_RANGE"] = {
  how: "value",
  args: () => fc.constant([]),
  check: (r) => (Array.isArray(r) && r[0] === 1e-6 && r[1] === 1e6 && r.length === 2 && Object.isFrozen(r) ? null : `is ${JSON.stringify(r)} (frozen: ${Object.isFrozen(r)}), not the frozen [1e-6, 1e6] the losses accept`),
  noBackend: true,
};
R["testing/fast-check:printable"] = fn(
  (p) => [one(fc.oneof(tensorArb(shapeArb(p, 0, 3), { kinds: ["moderate", "special", "wide"] }), fc.nat().map((seed) => special("testing:printable-tensor", { seed }))), fc.oneof(wrongType, fc.constant(v(3))))],
  {
    // fast-check prints a counterexample with fc.stringify; the text must rebuild the tensor exactly.
    check: (r, [t]) => {
      if (r !== t || !isT(r)) return "did not return the tensor it was given";
      const text = fc.stringify(r);
      let back: unknown;
      try {
        back = new Function("tensor", `return ${text};`)(kd.tensor);
      } catch (e) {
        return `prints as ${text}, which does not rebuild it: ${(e as Error).message}`;
      }
      if (!isT(back) || back.dtype !== r.dtype || JSON.stringify(back.shape) !== JSON.stringify(r.shape) || back.requiresGrad !== r.requiresGrad) {
        return `prints as ${text}, which rebuilds ${isT(back) ? `a ${back.dtype} [${back.shape}]${back.requiresGrad ? " requiring grad" : ""}` : String(back)}`;
      }
      const a = elements(r);
      const b = elements(back);
      const i = a.findIndex((x, k) => !Object.is(x, b[k]));
      return i < 0 ? null : `prints as ${text}, whose element ${i} is ${b[i]}, not ${a[i]}`;
    },
    noBackend: true,
  },
);

/**
 * lossProperties: the properties are made, then each is run once. For a correct loss of the
 * right target (kdgrad's crossEntropy, a KL of log-softmax, distillationLoss at α = 1) every
 * declared property must pass: a failure is a false alarm the kit would raise in a user's
 * suite. Otherwise a property may fail, with the verdict of the assertion that made it
 * (AssertionError, GradcheckError) or the user's own error; a refusal names lossProperties.
 */
const LOSSES = ["ce", "ce", "kl", "kd", "kd", "number", "const", "throws", "doubled"] as const;
const lossP = (names: readonly string[]): Param => one(fc.constantFrom(...names).map((name) => special("testing:loss", { name })), fc.oneof(wrongType, fc.constant(v(3))));
const lossOptions = Options({
  target: Enum(["labels", "probabilities", "logits"]),
  ...rowBoundFields,
  maxAbs: tolerance([5, 0, 1, 50, -1, NaN]),
  extremeAbs: tolerance([1e4, 10, 1e3, Infinity]),
  temperatures: Options({ min: temperatureBound, max: temperatureBound }),
  shiftInvariant: Bool,
  rowsSumToZero: Bool,
  targetGradient: Bool,
  reference: lossP(["ce-ref", "kd-ref", "ce"]),
  referenceTolerance: Options({ rtol: tolerance([1e-9, 1e-6, -1]), atol: tolerance([1e-12, 0, NaN]) }),
  gradcheck: Options({ rtol: tolerance([1e-5, 1e-4, -1]), seed: smallInt(0, 5), relative: Bool }),
  temperatureLaw: one(
    fc.oneof(fc.boolean().map(v), fc.constantFrom(obj([]), obj([["constant", v(2)], ["min", v(10)], ["max", v(1e3)]]), obj([["reduction", v("batchmean")], ["scaledByT2", v(true)]]))),
    fc.constantFrom(v("yes"), obj([["constant", v(-1)]]), obj([["reduction", v("mean")]]), obj([["soft", v(3)]]), obj([["min", v(0)]]), { k: "object", fields: [["constnat", v(2)]], refuse: 'the unknown option key "constnat"' } as Arg),
  ),
});
/** Whether the loss is a correct one for the options' target (then every declared property must pass). */
function lossIsRight(loss: unknown, o: Record<string, unknown>): boolean {
  const name = (loss as { kind?: string } | null)?.kind;
  const t = o.target;
  if (name === "ce") return t === "labels" || t === "probabilities";
  // KL(p‖q) has ∂/∂p = log p − log q + 1, −∞ at p = 0: finiteOnExtremes' target gradient does not hold for it.
  if (name === "kl") return t === "probabilities" && o.targetGradient !== true;
  if (name === "kd") return t === "logits";
  return false;
}
/** The reference matches the loss (the same function for the same target). */
const referenceIsRight = (loss: unknown, ref: unknown, o: Record<string, unknown>): boolean => {
  if (ref === undefined) return true;
  const l = (loss as { kind?: string }).kind;
  const r = (ref as { kind?: string } | null)?.kind;
  // The composite (kd-ref) forms T²·KL from log-softmaxes whose rounding, ε·log C each, is not
  // small next to KL ≈ L/T² once T is large (relative error ≈ ε·T²·log C/L: 2e-8 at T = 3.3e4,
  // seed 25 of a survey); it is a reference to 1e-9 only for temperatures up to 10.
  const tMax = (o.temperatures as { max?: unknown } | undefined)?.max;
  return (l === "ce" && (r === "ce" || (r === "ce-ref" && (o.target === "labels" || o.target === "probabilities")))) || (l === "kd" && r === "kd-ref" && typeof tMax === "number" && tMax <= 10);
};
R["testing/fast-check:lossProperties"] = fn(() => [lossP(LOSSES), lossOptions, sampleSeed], {
  run: (target, args) => {
    const seed = args[args.length - 1] as number;
    const props = target(...args.slice(0, -1)) as Record<string, fc.IPropertyWithHooks<unknown[]> | undefined>;
    const failures: Record<string, unknown> = {};
    for (const [name, prop] of Object.entries(props)) {
      if (prop === undefined) continue;
      const out = fc.check(prop, { numRuns: 1, seed, endOnFailure: true });
      if (out.failed) failures[name] = out.errorInstance;
    }
    return { declared: Object.keys(props).filter((k) => props[k] !== undefined), failures };
  },
  check: (r, [loss, o]) => {
    const { declared, failures } = r as { declared: string[]; failures: Record<string, unknown> };
    const opts = optsOf(o);
    for (const k of ["gradient", "finiteOnExtremes"]) if (!declared.includes(k)) return `did not make the ${k} property`;
    const wanted = { shiftInvariance: opts.shiftInvariant, rowsSumToZero: opts.rowsSumToZero, reference: opts.reference !== undefined, temperatureLaw: opts.temperatureLaw !== undefined && opts.temperatureLaw !== false };
    for (const [k, on] of Object.entries(wanted)) if (!!on !== declared.includes(k)) return `${on ? "did not make" : "made"} the ${k} property`;
    const right = lossIsRight(loss, opts) && referenceIsRight(loss, opts.reference, opts);
    for (const [name, e] of Object.entries(failures)) {
      const message = (e as Error)?.message ?? String(e);
      if (right) return `the ${name} property fails for a correct loss: ${(e as Error)?.name}: ${message.split("\n").slice(0, 3).join(" / ")}`;
      if (e instanceof UserError) continue;
      const p = thrownProblem(e, ["lossProperties", "assertClose", "assertFinite", "assertGradcheck"]);
      if (p) return `the ${name} property: ${p}`;
      if (!(e instanceof kt.AssertionError || e instanceof kd.GradcheckError) && functionPart(message) !== "lossProperties") return `the ${name} property refused with a message naming ${functionPart(message)}`;
    }
    return null;
  },
  noBackend: true,
});

/** The block's catalogue values, then the suite's (specials.ts). */
const testingSpecial = (name: string, params: unknown): unknown => {
  switch (name) {
    case "testing:comparable":
      return comparableValue(params as Parameters<typeof comparableValue>[0]);
    case "testing:assertion-error": {
      const { message, sub } = params as { message: string; sub: boolean };
      return sub ? new (class MyAssertionError extends kt.AssertionError {})(message) : new kt.AssertionError(message);
    }
    case "testing:shape-arbitrary": {
      const kind = (params as { kind: string }).kind;
      const drawn: Record<string, unknown> = { good: [2, 3], negative: [-1, 2], fraction: [1.5], huge: [1e10, 1e10], "not-a-list": "2x3" };
      return fc.constant(drawn[kind]);
    }
    case "testing:printable-tensor":
      return fc.sample(kf.tensors({ shape: [2, 2], requiresGrad: true }), { numRuns: 1, seed: (params as { seed: number }).seed })[0];
    case "testing:loss":
      return lossCallback((params as { name: string }).name);
    default:
      return buildSpecial(name, params);
  }
};
setSpecialBuilder(testingSpecial);

/** The losses lossProperties is given: user code, so an error inside one is a UserError (specials.ts). */
function lossCallback(name: string): unknown {
  const raw: Record<string, (x: Tensor, t: Tensor, T: number) => unknown> = {
    ce: (x, t) => kd.crossEntropy(x, t),
    "ce-ref": (x, t) => (t.dtype === "int32" ? kd.nllLoss(kd.logSoftmax(x, -1), t) : kd.logSoftmax(x, -1).mul(t).sum(-1).neg().mean()),
    kl: (x, p) => kd.klDiv(kd.logSoftmax(x, -1), p, { reduction: "batchmean" }),
    kd: (s, t, T) => kd.distillationLoss(s, t, { temperature: T, alpha: 1 }),
    "kd-ref": (s, t, T) => kd.distillationLossComposite(s, t, { temperature: T, alpha: 1 }),
    number: () => 3,
    const: (x) => kd.tensor(1, { dtype: x.dtype }),
    throws: () => {
      throw new UserError("the loss failed");
    },
    doubled: (x, t) => kd.crossEntropy(x, t).mul(2),
  };
  const f = raw[name]!;
  const wrapped = (...a: unknown[]): unknown => {
    try {
      return (f as (...b: unknown[]) => unknown)(...a);
    } catch (e) {
      throw e instanceof UserError ? e : new UserError(`the loss failed: ${(e as Error)?.message}`);
    }
  };
  Object.defineProperty(wrapped, "name", { value: `loss_${name.replace(/-/g, "_")}` });
  Object.defineProperty(wrapped, "kind", { value: name });
  return wrapped;
}
// ==================================================================== end kdgrad/testing


// ---- the training kit: comparisons, metrics, clipping, schedules, state dicts, checkpoints, splits

/**
 * The comparisons read against the suite's own rule: a bare number beside a float32 tensor is
 * first rounded to float32 (as PyTorch rounds a Python scalar); every other pair, int32 and
 * mixed dtypes included, compares the values exactly as numbers; NaN compares false except in ne.
 */
const COMPARISONS: Record<string, (a: number, b: number) => boolean> = {
  eq: (a, b) => a === b, ne: (a, b) => a !== b, lt: (a, b) => a < b, le: (a, b) => a <= b, gt: (a, b) => a > b, ge: (a, b) => a >= b,
};
function comparisonRef(op: string) {
  return (result: unknown, [a, b]: unknown[]): string | null => {
    if (!(isT(a) || num(a)) || !(isT(b) || num(b))) return null;
    if (!isT(result)) return "did not return a Tensor";
    if (result.dtype !== "int32") return `returned ${result.dtype}, not int32 0/1`;
    if (result.requiresGrad) return "the result requires grad (a comparison has no gradient)";
    const shape = broadcastRef(isT(a) ? a.shape : [], isT(b) ? b.shape : []);
    if (shape === null || shapeText(result.shape) !== shapeText(shape)) return `returned shape ${shapeText(result.shape)} for operands that ${shape === null ? "do not broadcast" : `broadcast to ${shapeText(shape)}`}`;
    const rounded = (x: Tensor | number, other: unknown): Tensor | number => (num(x) && isT(other) && other.dtype === "float32" ? Math.fround(x) : x);
    const xa = broadcastRead(rounded(a, b), shape);
    const xb = broadcastRead(rounded(b, a), shape);
    return expectValues(result, xa.map((x, i) => (COMPARISONS[op]!(x, xb[i]!) ? 1 : 0)));
  };
}
for (const op of Object.keys(COMPARISONS)) {
  R[op] = fn((p) => [Pair(p)], { check: comparisonRef(op) });
  R[`Tensor#${op}`] = mirror(op);
}

R.randperm = fn(() => [Size(9), optional(Options({ dtype: DTypeP, generator: GeneratorP }))], {
  check: (r, [n, o]) => {
    if (!num(n)) return null;
    if (!isT(r)) return "did not return a Tensor";
    const dtype = (optsOf(o).dtype as string | undefined) ?? "int32";
    if (r.dtype !== dtype || shapeText(r.shape) !== shapeText([n])) return `returned ${r.dtype} ${shapeText(r.shape)}, not ${dtype} [${n}]`;
    const xs = elements(r).sort((x, y) => x - y);
    return xs.every((x, i) => x === i) ? null : `is not a permutation of 0…${n - 1}: sorted, it holds ${xs.join(",")}`;
  },
  noBackend: true,
});

/** logits [..., C] with int32 labels [...] (sometimes float labels, a mismatched shape, a 0-d input, or no rows). */
function AccuracyArgs(p: Profile): Param {
  const good = fc
    .record({ lead: shapeArb(p, 0, 2), C: fc.integer({ min: 0, max: 6 }), form: fc.constantFrom("ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "float-labels", "shape", "0-d") })
    .chain(({ lead, C, form }) => {
      const xs = form === "0-d" ? [] : capShape([...lead, C], p.maxSize);
      const ys = form === "shape" ? [...xs.slice(0, -1), 2] : xs.slice(0, -1);
      return fc.tuple(
        tensorArb(fc.constant(xs), { kinds: ["moderate", "moderate", "special", "plateau", "masked", "flat"], dtypes: ["float32", "float64", "float32", "float64", "float32", "float64", "int32"] }),
        tensorArb(fc.constant(ys), { dtypes: form === "float-labels" ? ["float32"] : ["int32"], kinds: ["classes", "classes", "labels"], classes: C }),
      );
    })
    .map(([x, y]): Arg[] => [x, y]);
  return Group(good, [wrongTensor, wrongTensor]);
}
R.accuracy = fn((p) => [AccuracyArgs(p)], {
  // k/N exactly, k the rows whose argmax (ties to the lowest index, the first NaN counting as the largest) is the label.
  check: (r, [x, y]) => {
    if (!isT(x) || !isT(y)) return null;
    if (typeof r !== "number") return "did not return a number";
    const C = x.shape[x.ndim - 1]!;
    const xs = elements(x);
    const ys = elements(y);
    let k = 0;
    for (let i = 0; i < ys.length; i++) {
      let best = 0;
      for (let j = 1; j < C; j++) {
        const b = xs[i * C + best]!;
        const u = xs[i * C + j]!;
        if (!Number.isNaN(b) && (Number.isNaN(u) || u > b)) best = j;
      }
      if (best === ys[i]) k++;
    }
    return r === k / ys.length ? null : `is ${r}, but ${k} of ${ys.length} rows predict their label (${k / ys.length})`;
  },
});

// ---- printing modules
R["Module#extraRepr"] = moduleMethod(() => [], { check: (r) => (typeof r === "string" ? null : `returned ${String(r)}, not a string`) });
R["Linear#extraRepr"] = moduleMethod(() => [], {
  args: () => call([fixed(moduleArb(["linear"]))]),
  check: (r, [m]) => {
    const l = m as kd.Linear;
    const want = `in_features=${l.inFeatures}, out_features=${l.outFeatures}, bias=${l.bias === null ? "False" : "True"}`;
    return r === want ? null : `returned ${JSON.stringify(r)}, not ${JSON.stringify(want)}`;
  },
});
R["GELU#extraRepr"] = moduleMethod(() => [], {
  args: () => call([fixed(moduleArb(["gelu"]))]),
  check: (r, [m]) => (r === `approximate='${(m as kd.GELU).approximate}'` ? null : `returned ${JSON.stringify(r)}`),
});
R["Dropout#extraRepr"] = moduleMethod(() => [], {
  args: () => call([fixed(moduleArb(["dropout"]))]),
  check: (r) => (r === "p=0.5, inplace=False" ? null : `returned ${JSON.stringify(r)}, not "p=0.5, inplace=False"`),
});
/** What toString prints: the class name, each registered child as "(name): …", balanced parentheses; and never a layer whose extraRepr() is not text. */
function printedTree(r: unknown, [m]: unknown[]): string | null {
  if (!(m instanceof kd.Module)) return null;
  const repr = (m as { repr?: unknown }).repr;
  if ("repr" in m && typeof repr !== "string") return `printed a layer whose extraRepr() returned ${String(repr)} (a ${typeof repr}) as ${JSON.stringify(r)}`;
  if (typeof r !== "string") return `returned ${String(r)}, not a string`;
  if (!r.startsWith(`${m.constructor.name}(`) || !r.endsWith(")")) return `${JSON.stringify(r)} does not read ${m.constructor.name}(…)`;
  for (const [name] of m.namedChildren()) if (!r.includes(`\n  (${name}): `)) return `${JSON.stringify(r)} does not list the child "${name}"`;
  let depth = 0;
  for (const ch of r) {
    depth += ch === "(" ? 1 : ch === ")" ? -1 : 0;
    if (depth < 0) return `${JSON.stringify(r)} has unbalanced parentheses`;
  }
  return depth === 0 || typeof repr === "string" ? null : `${JSON.stringify(r)} has unbalanced parentheses`;
}
R["Module#toString"] = moduleMethod(() => [], {
  args: () => call([fixed(moduleArb(["linear", "mlp", "relu", "gelu", "dropout", "sequential-empty", "custom", "nested", "repr", "repr", "repr"]))]),
  check: printedTree,
});

// ---- clipping
/** Parameters with gradients of every kind (non-finite, huge, subnormal, other dtype, views), passed in every form. */
const gradParamsArb = (p: Profile): fc.Arbitrary<Arg> =>
  fc
    .record({
      shapes: fc.array(shapeArb(p, 0, 2), { minLength: 1, maxLength: 3 }),
      dtype: fc.constantFrom<"float32" | "float64">("float32", "float64"),
      kind: fc.constantFrom<GradParamsParams["kind"]>("moderate", "moderate", "special", "finite-special", "huge", "wide", "tiny"),
      none: fc.nat(7),
      layout: fc.constantFrom<GradParamsParams["layout"]>("same", "same", "other-dtype", "view"),
      form: fc.constantFrom<GradParamsParams["form"]>("list", "list", "list", "tensor", "set", "generator", "with-non-tensor", "empty"),
      seed: fc.nat(),
    })
    .map((params) => special("grad-params", params));
const GradParamsP = (p: Profile): Param => one(gradParamsArb(p), fc.oneof(wrongType, fc.constant(v(3))));
/** The tensors of a grad-params argument (a generator is read through the list it was made from). */
function paramTensors(x: unknown): Tensor[] {
  if (isT(x)) return [x];
  const made = (x as { tensors?: Tensor[] } | null)?.tensors;
  if (Array.isArray(made)) return made;
  return Array.isArray(x) || x instanceof Set ? [...x].filter(isT) : [];
}
type Clipped = Tensor[] & { before: (number[] | null)[]; dtypes: string[] };
/** Run a clip and return [the norm as a float64 0-d tensor (clipGradNorm), …the gradients after], with the gradients before. */
function clipRun(withNorm: boolean) {
  return (target: (...a: unknown[]) => unknown, args: unknown[]): Clipped => {
    const ts = paramTensors(args[0]);
    const before = ts.map((t) => (t.grad ? elements(t.grad) : null));
    const dtypes = ts.map((t) => t.grad?.dtype ?? "");
    const r = target(...args);
    const out = [...(withNorm ? [kd.tensor(r as number, { dtype: "float64" })] : []), ...ts.flatMap((t) => (t.grad ? [t.grad] : []))] as Clipped;
    return Object.assign(out, { before, dtypes });
  };
}
/** ‖g‖_p over all the gradients' elements, the suite's way: NaN wins, then ∞; otherwise scaled by the largest |g|. */
function normRef(values: readonly number[], p: number): number {
  if (values.some(Number.isNaN)) return NaN;
  const m = values.reduce((a, x) => Math.max(a, Math.abs(x)), 0);
  if (m === 0 || m === Infinity || p === Infinity) return m;
  let acc = 0;
  for (const x of values) acc += (Math.abs(x) / m) ** p;
  return m * acc ** (1 / p);
}
const normTypeOf = (third: unknown): unknown => (third !== null && typeof third === "object" ? (third as { normType?: unknown }).normType ?? 2 : third ?? 2);
const normTypeP: Param = (() => {
  const o = Options({ normType: one(fc.constantFrom<unknown>(1, 2, 3, 0.5, "inf", Infinity).map(v), fc.constantFrom<unknown>(0, -1, NaN, "2", "Infinity").map(v)), errorIfNonfinite: Bool });
  return {
    good: fc.oneof(fc.constantFrom<unknown>(1, 2, 3, 0.5, 1.5, 100, 1e-3, Infinity, "inf").map((x) => [v(x)]), o.good),
    bad: fc.oneof(fc.constantFrom<unknown>(0, -1, NaN, -Infinity, "2", "Infinity").map((x) => [v(x)]), o.bad!),
  };
})();
R.clipGradNorm = fn((p) => [GradParamsP(p), Num(fc.constantFrom(0, 0.5, 1, 5, 1e-300, 1e300, Infinity, -1, NaN)), optional(normTypeP)], {
  run: clipRun(true),
  check: (r, [, maxNorm, third]) => {
    const out = r as Clipped;
    const total = elements(out[0]!)[0]!;
    const raw = normTypeOf(third);
    const p = raw === "inf" ? Infinity : (raw as number);
    const values = out.before.flatMap((b) => b ?? []);
    const want = normRef(values, p);
    const sameNorm = Number.isNaN(want) ? Number.isNaN(total) : want === total || (want >= 1e300 && total >= 1e300) || Math.abs(total - want) <= 1e-9 * want;
    if (!sameNorm) return `returned the norm ${total}, but the gradients' ${p}-norm is ${want}`;
    if (!Number.isFinite(total) && (third as { errorIfNonfinite?: unknown } | undefined)?.errorIfNonfinite === true) return `scaled by a non-finite norm ${total} with errorIfNonfinite: true`;
    // c = maxNorm/(‖g‖ + 1e-6) clamped at 1 (NaN stays NaN); each gradient g·c in its dtype.
    const c0 = (maxNorm as number) / (total + 1e-6);
    const c = c0 < 1 || Number.isNaN(c0) ? c0 : 1;
    let k = 1;
    for (let i = 0; i < out.before.length; i++) {
      const b = out.before[i];
      if (b === null || b === undefined) continue;
      const after = out[k++]!;
      // c is rounded to the gradient's dtype first (as PyTorch's float32 coefficient), then g·c rounded once.
      const dtype = out.dtypes[i]!;
      const want2 = b.map((x) => stored(dtype, x * stored(dtype, c)));
      const got = elements(after);
      for (let j = 0; j < got.length; j++) {
        if (!same(got[j]!, want2[j]!)) return `gradient ${i}[${j}] is ${got[j]} after clipping, expected ${b[j]}·${c} = ${want2[j]}`;
      }
    }
    return null;
  },
});
/** ‖row‖₂ of the suite's own: scaled by the largest |w| (NaN wins, then ∞), as normRef. */
const rowNorm = (row: readonly number[]): number => normRef(row, 2);
R.maxNorm = fn((p) => [GradParamsP(p), Num(fc.constantFrom(0.5, 1, 3.5, 1e-300, 1e300, Infinity, 0, -1, NaN))], {
  // Each 2-D tensor's rows: a row of norm ≤ c (or NaN) unchanged bit for bit; a row above c
  // becomes row·(c/‖row‖) rounded in its dtype (±1 ulp: the norm's own rounding), so its
  // norm is at most c·(1 + 2⁻²²) in float32 and c·(1 + 1e-12) in float64; the count returned
  // is the number of rows scaled.
  run: (target, args) => {
    const ts = paramTensors(args[0]);
    const before = ts.map((t) => elements(t));
    const r = target(...args);
    return Object.assign([...ts], { before, count: r });
  },
  check: (r, [, c]) => {
    const out = r as Tensor[] & { before: number[][]; count: unknown };
    const limit = c as number;
    let scaled = 0;
    for (let i = 0; i < out.length; i++) {
      const t = out[i]!;
      const [rows, cols] = t.shape as [number, number];
      const b = out.before[i]!;
      const a = elements(t);
      const tol = t.dtype === "float32" ? 2 ** -22 : 1e-12;
      for (let row = 0; row < rows; row++) {
        const br = b.slice(row * cols, (row + 1) * cols);
        const ar = a.slice(row * cols, (row + 1) * cols);
        const n = rowNorm(br);
        if (!(n > limit)) {
          if (ar.some((x, j) => !same(x, br[j]!))) return `weights[${i}] row ${row} has norm ${n} ≤ ${limit} but was changed`;
          continue;
        }
        scaled++;
        const k = limit / n;
        for (let j = 0; j < cols; j++) {
          const want = stored(t.dtype, br[j]! * k);
          const ok = same(ar[j]!, want) || (Number.isFinite(want) && Math.abs(ar[j]! - want) <= tol * Math.abs(want) + Number.MIN_VALUE);
          if (!ok) return `weights[${i}] row ${row} (norm ${n}) element ${j} is ${ar[j]} after projecting onto radius ${limit}, expected ${want}`;
        }
        const after = rowNorm(ar);
        if (Number.isFinite(n) && !(after <= limit * (1 + tol))) return `weights[${i}] row ${row} has norm ${after} after projecting onto radius ${limit}`;
      }
    }
    return out.count === scaled ? null : `returned ${String(out.count)}, but ${scaled} rows were above the radius`;
  },
  noBackend: true,
});
const translateOptions = Options({ maxShift: one(fc.constantFrom(0, 1, 2, 3).map(v), badInt), height: Size(4, 1), width: Size(4, 1), generator: GeneratorP });
R.randomTranslate = fn((p) => [T(p, { minRank: 2, maxRank: 3, shape: fc.oneof(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 })).map((s) => [...s]), fc.tuple(fc.integer({ min: 0, max: 3 }), fc.constantFrom(1, 2, 4, 6, 9, 16)).map((s) => [...s])) }), optional(translateOptions)], {
  // Each output image is its input moved by some (dy, dx) with |dy|, |dx| ≤ maxShift, zeros
  // shifted in: the suite tries every shift and needs one that matches exactly.
  check: (r, [x, o]) => {
    if (!isT(r) || !isT(x)) return "did not return a Tensor";
    if (r.dtype !== x.dtype || shapeText(r.shape) !== shapeText(x.shape)) return `returned ${r.dtype} ${shapeText(r.shape)} for ${x.dtype} ${shapeText(x.shape)}`;
    const opts = optsOf(o) as { maxShift?: number; height?: number; width?: number };
    const s = opts.maxShift ?? 2;
    const [h, w] = x.ndim === 3 ? [x.shape[1]!, x.shape[2]!] : [opts.height!, opts.width!];
    const xs = elements(x);
    const ys = elements(r);
    for (let i = 0; i < x.shape[0]!; i++) {
      const img = xs.slice(i * h * w, (i + 1) * h * w);
      const got = ys.slice(i * h * w, (i + 1) * h * w);
      let found = false;
      for (let dy = -s; dy <= s && !found; dy++) {
        for (let dx = -s; dx <= s && !found; dx++) {
          found = got.every((g, k) => {
            const rr = Math.floor(k / w) - dy, cc = (k % w) - dx;
            return same(g, rr >= 0 && rr < h && cc >= 0 && cc < w ? img[rr * w + cc]! : 0);
          });
        }
      }
      if (!found) return `image ${i} is not its input shifted by at most ${s} pixels`;
    }
    return generatorWorks((opts as { generator?: unknown }).generator);
  },
  noBackend: true,
});
R.clipGradValue = fn((p) => [GradParamsP(p), Num(fc.constantFrom(0, 0.5, 1, 1e-310, 1e300, Infinity, -1, NaN))], {
  run: clipRun(false),
  check: (r, [, clipValue]) => {
    const out = r as Clipped;
    const c = clipValue as number;
    let k = 0;
    for (let i = 0; i < out.before.length; i++) {
      const b = out.before[i];
      if (b === null || b === undefined) continue;
      const got = elements(out[k++]!);
      for (let j = 0; j < got.length; j++) {
        const w = Number.isNaN(b[j]!) ? NaN : stored(out.dtypes[i]!, Math.min(Math.max(b[j]!, -c), c));
        if (!same(got[j]!, w)) return `gradient ${i}[${j}] was ${b[j]} and is ${got[j]} after clipping to ±${c}, expected ${w}`;
      }
    }
    return null;
  },
});

// ---- optimizer state dicts
/** A canonical text of an object's state, NaN and −0 kept apart (JSON would write null and 0). */
const stateText = (x: unknown): string =>
  JSON.stringify(x, (_k, y: unknown) => (typeof y === "number" ? (Object.is(y, -0) ? "-0" : String(y)) : isT(y) ? { dtype: y.dtype, shape: y.shape, values: elements(y).map(String) } : y instanceof Map ? [...y] : y));
/**
 * An optimizer's state as text. With `dtypes` (the parameters' dtypes of the optimizer that
 * loads it), each state tensor is written as that optimizer holds it after a load: converted to
 * its parameter's dtype, as loadStateDict documents (PyTorch casts the same way).
 */
function optimizerState(o: unknown, dtypes?: readonly string[]): string {
  if (!(o instanceof kd.Optimizer)) return "";
  const { momentum, beta1 } = o as unknown as { momentum?: number; beta1?: number };
  const saved = o.stateDict();
  const state = new Map<number, Record<string, kd.Tensor | number>>();
  for (const [i, s] of saved.state) {
    const dtype = dtypes?.[i];
    const entry: Record<string, kd.Tensor | number> = {};
    for (const [k, y] of Object.entries(s)) entry[k] = dtype !== undefined && isT(y) && y.dtype !== dtype ? kd.tensor(elements(y).map((x) => stored(dtype, x)), { shape: [...y.shape], dtype: dtype as kd.DType }) : y;
    state.set(i, entry);
  }
  const dict = { ...saved, state };
  return stateText({ lr: o.lr, initialLr: o.initialLr, momentum, beta1, dict });
}
/**
 * Run `body`; if it throws, `state()` must read as before: a refused call changes nothing (the
 * kit's loads check everything first). A change is thrown as a plain Error, which the oracle
 * reports as a failure, with the refusal it came with.
 */
function unchangedOnThrow<T>(state: () => string, body: () => T): T {
  const before = state();
  try {
    return body();
  } catch (e) {
    const after = state();
    if (after !== before) throw new Error(`a refused call changed its target (refused with ${(e as Error)?.name}: ${(e as Error)?.message}); before ${before.slice(0, 300)}, after ${after.slice(0, 300)}`);
    throw e;
  }
}
R["Optimizer#stateDict"] = {
  how: "method",
  args: () => call([fixed(optimizerArb())]),
  // One step first, so that there is per-parameter state (SGD with momentum, Adam).
  run: (_t, [o]) => {
    (o as kd.Optimizer).step();
    return (o as kd.Optimizer).stateDict();
  },
  check: (r, [o]) => {
    const opt = o as kd.Optimizer;
    const d = r as kd.OptimizerStateDict;
    if (d.type !== opt.constructor.name) return `type is ${String(d.type)}, not ${opt.constructor.name}`;
    const g = d.paramGroups?.[0];
    if (d.paramGroups.length !== 1 || g?.lr !== opt.lr || shapeText(g.params) !== shapeText(opt.params.map((_, i) => i))) return `paramGroups ${stateText(d.paramGroups)} do not describe the optimizer`;
    for (const [i, entry] of d.state) {
      const prm = opt.params[i];
      if (prm === undefined) return `state for parameter ${i} of ${opt.params.length}`;
      for (const [key, t] of Object.entries(entry)) if (isT(t) && (t.dtype !== prm.dtype || shapeText(t.shape) !== shapeText(prm.shape))) return `state "${key}" of parameter ${i} is ${t.dtype} ${shapeText(t.shape)}, the parameter ${prm.dtype} ${shapeText(prm.shape)}`;
    }
    // Its own state dict loads back and changes nothing.
    const before = optimizerState(opt);
    try {
      opt.loadStateDict(d);
    } catch (e) {
      return `refused its own state dict: ${(e as Error).message}`;
    }
    return optimizerState(opt) === before ? null : "loading its own state dict changed it";
  },
  noBackend: true,
};
const OPTIMIZER_DICT_MUTATIONS: fc.Arbitrary<OptimizerDictParams["mutate"]> = fc.oneof(
  fc.record({ op: fc.constant("type"), value: fc.constantFrom<unknown>("Adam", "SGD", "AdamW", "sgd", "toString", 3, undefined) }),
  fc.record({ op: fc.constant("groups"), value: fc.constantFrom<unknown>("two", [], "x", [null], null, [3]) }),
  fc.record({ op: fc.constantFrom("params", "lr", "initialLr", "hyper"), value: fc.constantFrom<unknown>(-1, NaN, Infinity, "0.1", null, undefined, [0], [], [1, 0], [0, 0, 0], [0.9, 1], [0.9], 2) }),
  fc.record({ op: fc.constant("state"), value: fc.constantFrom<unknown>(3, null, "x", undefined, []) }),
  fc.record({ op: fc.constant("state-key"), value: fc.constantFrom<unknown>(-1, 99, 1.5, NaN, "abc", "01", "1e0", " 0", 2 ** 53) }),
  fc.record({ op: fc.constant("entry"), value: fc.constantFrom<unknown>(3, null, "x", []) }),
  fc.record({ op: fc.constantFrom("entry-unknown", "entry-missing", "entry-shape", "entry-int32", "entry-view", "entry-float64") }),
  fc.record({ op: fc.constant("entry-count"), value: fc.constantFrom<unknown>(0, -1, 1.5, NaN, Infinity, "1", 2 ** 53, null) }),
);
R["Optimizer#loadStateDict"] = {
  how: "method",
  args: () =>
    fc
      .record({
        recv: optimizerParamsArb(),
        same: fc.boolean(),
        other: optimizerParamsArb(),
        steps: fc.integer({ min: 0, max: 3 }),
        mutate: fc.option(OPTIMIZER_DICT_MUTATIONS, { nil: undefined, freq: 2 }),
        json: fc.boolean(),
        bad: fc.oneof({ weight: 7, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: wrongType }),
      })
      .map(({ recv, same: alike, other, steps, mutate, json, bad }) => [
        special("optimizer", recv),
        bad ?? special("optimizer-dict", { source: alike ? { ...recv, seed: recv.seed + 1 } : other, steps, mutate, json } satisfies OptimizerDictParams),
      ]),
  run: (_t, [o, d]) => unchangedOnThrow(() => optimizerState(o), () => ((o as kd.Optimizer).loadStateDict(d as kd.OptimizerStateDict), o)),
  // A dict from an optimizer built the same way (other values, any number of steps) loads.
  mustReturn: () => {
    const raw = currentRaw[1];
    if (raw?.k !== "special" || raw.name !== "optimizer-dict") return false;
    const d = raw.params as OptimizerDictParams;
    const r = (currentRaw[0] as { params: OptimizerParams }).params;
    return (d.mutate === undefined || ["entry-view", "entry-float64"].includes(d.mutate.op)) && stateText({ ...d.source, seed: 0 }) === stateText({ ...r, seed: 0 });
  },
  // What loaded is what the dict held: the group's lr, and each state tensor in the parameter's dtype.
  check: (_r, [o, d]) => {
    const opt = o as kd.Optimizer;
    const dict = d as kd.OptimizerStateDict;
    if (opt.lr !== dict.paramGroups[0].lr) return `lr is ${opt.lr} after loading a dict with lr ${dict.paramGroups[0].lr}`;
    const mine = opt.stateDict().state;
    const entries: [unknown, Record<string, unknown>][] = dict.state instanceof Map ? [...dict.state] : Object.entries(dict.state);
    for (const [key, entry] of entries) {
      const i = Number(key);
      const got = mine.get(i);
      if (got === undefined) return `parameter ${i}'s state did not load`;
      for (const [k, t] of Object.entries(entry)) {
        const g = got[k];
        if (isT(t) ? !isT(g) || expectValues(g, elements(t)) !== null : g !== t) return `parameter ${i}'s "${k}" loaded as ${stateText(g).slice(0, 200)}, the dict held ${stateText(t).slice(0, 200)}`;
      }
    }
    return null;
  },
  noBackend: true,
};

// ---- learning-rate schedules
const SCHEDULE_KINDS: ScheduleKind[] = ["StepLR", "ExponentialLR", "ConstantLR", "LinearLR", "CosineAnnealingLR", "OneCycleLR", "SequentialLR"];
const schedulerParamsArb = (kinds: ScheduleKind[] = SCHEDULE_KINDS): fc.Arbitrary<SchedulerParams> =>
  fc.record({ kind: fc.constantFrom(...kinds), setting: fc.nat(3), optimizer: optimizerParamsArb(), steps: fc.integer({ min: 0, max: 14 }) });
const schedulerArb = (kinds?: ScheduleKind[]): fc.Arbitrary<Arg> => schedulerParamsArb(kinds).map((params) => special("scheduler", params));
function schedulerState(s: unknown): string {
  if (!(s instanceof kd.LRScheduler)) return "";
  return stateText({ dict: s.stateDict(), last: s.getLastLr(), optimizer: optimizerState(s.optimizer) });
}
/** What loading a schedule restores: its dict, its last lr, and the lr (and momentum) it sets on the optimizer. */
function scheduleRestored(s: unknown): string {
  if (!(s instanceof kd.LRScheduler)) return "";
  const { momentum, beta1 } = s.optimizer as unknown as { momentum?: number; beta1?: number };
  return stateText({ dict: s.stateDict(), last: s.getLastLr(), lr: s.optimizer.lr, momentum: s instanceof kd.OneCycleLR && s.cycleMomentum ? momentum ?? beta1 : null });
}
/** A step() may be refused only at the end of a OneCycleLR (its own, or one inside a SequentialLR), or where the lr overflows. */
const endOfCycle = (e: unknown): boolean => e instanceof kd.ValueError && /step \d+ is past totalSteps|phase of zero length|settings overflow there/.test(e.message);
/**
 * What a schedule promises, step by step: optimizer.lr is getLastLr()[0] and finite ≥ 0, lastEpoch
 * counts the steps, the lr is the schedule's closed form at lastEpoch (docs/training.md; OneCycleLR
 * within [lr_min, maxLr], its momentum between baseMomentum and maxMomentum), and stateDict()
 * through JSON loads back into it with the same lr.
 */
function scheduleHolds(s: kd.LRScheduler, steps: number): string | null {
  for (let k = 0; k <= steps; k++) {
    if (k > 0) {
      const t = s.lastEpoch;
      const lr = s.optimizer.lr;
      try {
        s.step();
      } catch (e) {
        if (!endOfCycle(e)) return `step() from epoch ${t} threw ${(e as Error).name}: ${(e as Error).message}`;
        return s.lastEpoch === t && s.optimizer.lr === lr ? null : `a refused step() moved lastEpoch from ${t} to ${s.lastEpoch} and the lr from ${lr} to ${s.optimizer.lr}`;
      }
      if (s.lastEpoch !== t + 1) return `step() moved lastEpoch from ${t} to ${s.lastEpoch}`;
    }
    const [lr] = s.getLastLr();
    if (s.optimizer.lr !== lr) return `optimizer.lr is ${s.optimizer.lr} but getLastLr() is [${lr}] at epoch ${s.lastEpoch}`;
    if (!(Number.isFinite(lr) && lr! >= 0)) return `the lr is ${lr} at epoch ${s.lastEpoch}`;
    const want = closedForm(s, s.lastEpoch);
    if (typeof want === "number" && !(Math.abs(lr! - want) <= 1e-12 * Math.abs(want))) return `the lr is ${lr} at epoch ${s.lastEpoch}, the closed form gives ${want}`;
    if (typeof want === "string") return want;
  }
  const saved = JSON.parse(JSON.stringify(s.stateDict())) as kd.SchedulerStateDict;
  const lr = s.optimizer.lr;
  try {
    s.loadStateDict(saved);
  } catch (e) {
    return `refused its own state dict (through JSON): ${(e as Error).message}`;
  }
  return s.optimizer.lr === lr ? null : `loading its own state dict moved the lr from ${lr} to ${s.optimizer.lr}`;
}
/** The lr at epoch t from a schedule's fields (a problem as a string for OneCycleLR's range, null where not computed). */
function closedForm(s: kd.LRScheduler, t: number): number | string | null {
  const b = s.baseLrs[0]!;
  if (s instanceof kd.StepLR) return b * s.gamma ** Math.floor(t / s.stepSize);
  if (s instanceof kd.ExponentialLR) return b * s.gamma ** t;
  if (s instanceof kd.ConstantLR) return t < s.totalIters ? b * s.factor : b;
  if (s instanceof kd.LinearLR) return b * (t >= s.totalIters ? s.endFactor : s.startFactor + ((s.endFactor - s.startFactor) * t) / s.totalIters);
  if (s instanceof kd.CosineAnnealingLR) return s.etaMin + ((b - s.etaMin) * (1 + Math.cos((Math.PI * t) / s.tMax))) / 2;
  if (s instanceof kd.OneCycleLR) {
    const lr = s.optimizer.lr;
    // Within the range to rounding: the linear form (end − start)·pct + start may cancel to 0 (4 ulps of the larger end).
    const ends = [b, b / s.finalDivFactor, s.maxLr];
    const hi = Math.max(...ends) * (1 + 1e-12);
    const lo = Math.min(...ends) * (1 - 1e-12) - 1e-15 * hi;
    if (!(lr >= lo && lr <= hi)) return `OneCycleLR's lr is ${lr} at step ${t}, outside [${lo}, ${hi}]`;
    const m = s.optimizer instanceof kd.Adam ? s.optimizer.beta1 : (s.optimizer as kd.SGD).momentum;
    const [mLo, mHi] = [Math.min(s.baseMomentum, s.maxMomentum), Math.max(s.baseMomentum, s.maxMomentum)];
    if (s.cycleMomentum && !(m >= mLo * (1 - 1e-12) && m <= mHi * (1 + 1e-12))) return `OneCycleLR set the momentum to ${m} at step ${t}, outside [${mLo}, ${mHi}]`;
    return null;
  }
  if (s instanceof kd.SequentialLR) {
    let i = 0;
    while (i < s.milestones.length && s.milestones[i]! <= t) i++;
    return s.schedulers[i]!.getLastLr()[0]!;
  }
  return null;
}
/** An optimizer for a schedule: usually as built, sometimes with an lr or initialLr a user set by hand (bad ones included). */
const scheduleOptimizerArb: fc.Arbitrary<Arg> = fc
  .tuple(optimizerParamsArb(), fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom<OptimizerParams["set"]>({ initialLr: 0.5 }, { initialLr: 0 }, { initialLr: -1 }, { initialLr: NaN }, { initialLr: "0.1" }, { lr: NaN }, { lr: Infinity }, { lr: -0.5 }) }))
  .map(([params, set]) => special("optimizer", set === undefined ? params : { ...params, set }));
const ScheduleOptimizer: Param = one(scheduleOptimizerArb, fc.oneof(wrongType, fc.constant(v(3)), schedulerArb(["StepLR"])));
/** Options whose listed fields are always there in the good values (required options); bad values as Options'. */
function RequiredOptions(fields: Record<string, Param>, required: string[]): Param {
  const o = Options(fields);
  const names = Object.keys(fields);
  const good = fc
    .tuple(...names.map((n) => (required.includes(n) ? fields[n]!.good.map((a) => a[0]!) : fc.oneof(fc.constant(OMIT), fields[n]!.good.map((a) => a[0]!)))))
    .map((vals) => [obj(names.map((n, i) => [n, vals[i]!] as [string, Arg]))]);
  return { good: fc.oneof({ weight: 3, arbitrary: good }, { weight: 1, arbitrary: o.good }), bad: o.bad };
}
/** A number setting: mostly valid values, now and then an invalid one (bad: wrong types). */
const setting = (valid: number[], invalid: number[] = []): Param =>
  Num(invalid.length === 0 ? fc.constantFrom(...valid) : fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...valid) }, { weight: 1, arbitrary: fc.constantFrom(...invalid) }));
/** A count setting: small positive integers, now and then 0 (bad: non-integers, out of range, wrong types). */
const count = (...extra: number[]): Param => one(fc.oneof({ weight: 6, arbitrary: fc.constantFrom(1, 2, 3, 5) }, { weight: 1, arbitrary: fc.constantFrom(0, ...extra) }).map(v), badInt);
const factor = (...invalid: number[]): Param => setting([0, 0.1, 1 / 3, 0.5, 1], invalid);
/** A schedule's constructor: a refusal leaves the optimizer as it was; an accepted one keeps its promises over 8 steps. */
function scheduleRow(options: Param): Row {
  return {
    how: "new",
    args: () => call([ScheduleOptimizer, options]),
    run: (C: new (o: unknown, p: unknown) => kd.LRScheduler, [o, opts]) => unchangedOnThrow(() => optimizerState(o), () => new C(o, opts)),
    check: (s) => (s instanceof kd.LRScheduler ? (s.lastEpoch === 0 ? scheduleHolds(s, 8) : `lastEpoch is ${s.lastEpoch} after construction`) : "did not return a scheduler"),
    noBackend: true,
  };
}
R.StepLR = scheduleRow(RequiredOptions({ stepSize: count(), gamma: setting([0, 0.1, 0.5, 1, 2], [-1, NaN, Infinity]) }, ["stepSize"]));
R.ExponentialLR = scheduleRow(RequiredOptions({ gamma: setting([0, 0.5, 0.9, 1, 1.5], [-1, NaN, Infinity]) }, ["gamma"]));
R.ConstantLR = scheduleRow(optional(RequiredOptions({ factor: factor(1.5, -0.1, NaN), totalIters: count() }, [])));
R.LinearLR = scheduleRow(optional(RequiredOptions({ startFactor: setting([0.1, 1 / 3, 0.5, 1], [0, 1.5, NaN]), endFactor: factor(-0.1, 2), totalIters: count() }, [])));
R.CosineAnnealingLR = scheduleRow(RequiredOptions({ tMax: count(), etaMin: setting([0, 1e-3, 0.5, 1e308], [-1, NaN, Infinity]) }, ["tMax"]));
const oneCycleFields: Record<string, Param> = {
  maxLr: setting([0.1, 1, 1e-300, 1e308], [0, -1, NaN]),
  totalSteps: count(),
  epochs: count(),
  stepsPerEpoch: count(),
  pctStart: setting([0, 0.1, 0.25, 0.3, 0.5, 1], [1.5, NaN]),
  annealStrategy: Enum(["cos", "linear"]),
  cycleMomentum: Bool,
  baseMomentum: setting([0.85, 0, 0.5], [1, -1, NaN]),
  maxMomentum: setting([0.95, 0.99, 0], [1, 2]),
  divFactor: setting([25, 1, 1e-300, 1e300], [0, -1]),
  finalDivFactor: setting([1e4, 1, 1e-300, 1e300], [0]),
  threePhase: Bool,
};
/** OneCycleLR's options: maxLr with totalSteps, or with epochs and stepsPerEpoch, and any of the others (bad: as Options'). */
const oneCycleOptions: Param = (() => {
  const all = Options(oneCycleFields);
  const pick = (names: string[]) => RequiredOptions(Object.fromEntries(names.map((n) => [n, oneCycleFields[n]!])), names.filter((n) => ["maxLr", "totalSteps", "epochs", "stepsPerEpoch"].includes(n)));
  const rest = ["pctStart", "annealStrategy", "cycleMomentum", "baseMomentum", "maxMomentum", "divFactor", "finalDivFactor", "threePhase"];
  return { good: fc.oneof(pick(["maxLr", "totalSteps", ...rest]).good, pick(["maxLr", "epochs", "stepsPerEpoch", ...rest]).good, all.good), bad: all.bad };
})();
R.OneCycleLR = scheduleRow(oneCycleOptions);
/** SequentialLR's options: the children of a sequence (built on the call's optimizer, one maybe wrong) and milestones. */
const sequentialOptions: Param = {
  good: fc.integer({ min: 0, max: SEQUENCES.length - 1 }).chain((i) =>
    RequiredOptions(
      {
        schedulers: one(fc.constantFrom<ChildrenParams["wrong"]>(undefined, undefined, undefined, "other-optimizer", "duplicate", "nested", "not-a-scheduler", "empty").map((wrong) => special("children", { sequence: i, wrong })), wrongType),
        milestones: one(fc.constant(list(SEQUENCES[i]![1].map(v))), fc.constantFrom(list([]), list([v(0)]), list([v(3), v(2)]), list([v(1.5)]), list([v(NaN)]), list([v("2")]), list([v(2), v(2)]), list([v(1), v(2), v(3), v(4)]))),
      },
      ["schedulers", "milestones"],
    ).good,
  ),
  bad: fc.integer({ min: 0, max: SEQUENCES.length - 1 }).chain((i) =>
    Options({ schedulers: one(fc.constant(special("children", { sequence: i })), wrongType), milestones: one(fc.constant(list(SEQUENCES[i]![1].map(v))), wrongType) }).bad!,
  ),
};
// The optimizer as built (its children are built on it, which an optimizer with a bad lr would refuse).
R.SequentialLR = { ...scheduleRow(sequentialOptions), args: () => call([one(optimizerArb(), fc.oneof(wrongType, fc.constant(v(3)))), sequentialOptions]) };
R.LRScheduler = {
  how: "fn",
  // A user's own schedule: the protected constructor checks the optimizer, the options and the base lr.
  args: () => call([ScheduleOptimizer, optional(Options({ factor: Num(fc.constantFrom(0.5, 2, -1, NaN)) }))]),
  run: (Base: unknown, [o, opts]) => {
    const B = Base as new (name: string, o: unknown, opts: unknown, keys: string[], check: (x: Record<string, unknown>) => Record<string, unknown>) => kd.LRScheduler;
    // @ts-expect-error: a user cannot implement the schedule hooks (symbols kdgrad does not export); the constructor's checks are what is fuzzed.
    class UserLR extends B {
      constructor() {
        super("UserLR", o, opts, ["factor"], (x) => ({ factor: x.factor ?? 1 }));
      }
    }
    return unchangedOnThrow(() => optimizerState(o), () => new UserLR().stateDict());
  },
  names: () => ["UserLR", "LRScheduler"],
  noBackend: true,
};
R["LRScheduler#step"] = {
  how: "method",
  args: () => call([fixed(schedulerArb())]),
  run: (_t, [s]) => unchangedOnThrow(() => schedulerState(s), () => ((s as kd.LRScheduler).step(), s)),
  check: (s) => scheduleHolds(s as kd.LRScheduler, 2),
  noBackend: true,
};
const lastLrMatches = (r: unknown, [s]: unknown[]): string | null =>
  Array.isArray(r) && r.length === 1 && r[0] === (s as kd.LRScheduler).optimizer.lr ? null : `returned ${stateText(r)}, optimizer.lr is ${(s as kd.LRScheduler).optimizer.lr}`;
R["LRScheduler#getLastLr"] = { how: "method", args: () => call([fixed(schedulerArb())]), check: lastLrMatches, noBackend: true };
R["SequentialLR#getLastLr"] = { how: "method", args: () => call([fixed(schedulerArb(["SequentialLR"]))]), check: lastLrMatches, noBackend: true };
R["LRScheduler#stateDict"] = {
  how: "method",
  args: () => call([fixed(schedulerArb())]),
  check: (d, [s]) => {
    const text = JSON.stringify(d);
    if (stateText(JSON.parse(text)) !== stateText(d)) return `is not JSON-safe: ${text}`;
    return (d as kd.SchedulerStateDict).type === (s as object).constructor.name ? null : `type is ${String((d as kd.SchedulerStateDict).type)}`;
  },
  noBackend: true,
};
const SCHEDULER_DICT_MUTATIONS: fc.Arbitrary<SchedulerDictParams["mutate"]> = fc.oneof(
  fc.record({ op: fc.constant<"type">("type"), value: fc.constantFrom<unknown>("StepLR", "LinearLR", "OneCycleLR", "SequentialLR", "toString", 3, undefined) }),
  fc.record({ op: fc.constant<"lastEpoch">("lastEpoch"), value: fc.constantFrom<unknown>(-2, -1, 0, 1.5, NaN, 1000, 2 ** 53, 1e300, "3", null, undefined) }),
  fc.record({ op: fc.constantFrom<"baseLrs" | "lastLr">("baseLrs", "lastLr"), value: fc.constantFrom<unknown>([], [0.1, 0.2], [-1], [NaN], [Infinity], ["0.1"], "x", null, 0.1) }),
  fc.record({ op: fc.constant<"setting">("setting"), i: fc.nat(), value: fc.constantFrom<unknown>(null, -1, 0, NaN, Infinity, 1.5, 1e300, "x", true, [], [0], [3, 2]) }),
  fc.record({ op: fc.constant<"unknown">("unknown"), value: fc.constantFrom("gama", "__proto__", "toString", "extra") }),
  fc.record({ op: fc.constant<"missing">("missing"), i: fc.nat() }),
  fc.record({ op: fc.constant<"child-epoch">("child-epoch"), i: fc.nat(), value: fc.constantFrom(1, -1, 5, 0.5) }),
  fc.record({ op: fc.constant<"child-type">("child-type"), value: fc.constantFrom<unknown>("StepLR", "SequentialLR", null) }),
  fc.record({ op: fc.constant<"children">("children"), value: fc.constantFrom<unknown>("drop", "add", [], null, "x") }),
);
R["LRScheduler#loadStateDict"] = {
  how: "method",
  args: () =>
    fc
      .record({ recv: schedulerParamsArb(), same: fc.boolean(), other: schedulerParamsArb(), steps: fc.integer({ min: 0, max: 14 }), mutate: fc.option(SCHEDULER_DICT_MUTATIONS, { nil: undefined, freq: 2 }), json: fc.boolean(), bad: fc.oneof({ weight: 7, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: wrongType }) })
      .map(({ recv, same: alike, other, steps, mutate, json, bad }) => [
        special("scheduler", recv),
        bad ?? special("scheduler-dict", { source: alike ? { ...recv, steps, optimizer: { ...recv.optimizer, seed: recv.optimizer.seed + 1 } } : other, mutate, json } satisfies SchedulerDictParams),
      ]),
  run: (_t, [s, d]) => unchangedOnThrow(() => schedulerState(s), () => ((s as kd.LRScheduler).loadStateDict(d as kd.SchedulerStateDict), s)),
  // A dict from a schedule of the same kind and settings (at any position it reached) loads.
  mustReturn: () => {
    const raw = currentRaw[1];
    if (raw?.k !== "special" || raw.name !== "scheduler-dict") return false;
    const { source, mutate } = raw.params as SchedulerDictParams;
    const r = (currentRaw[0] as { params: SchedulerParams }).params;
    return mutate === undefined && source.kind === r.kind && source.setting % 3 === r.setting % 3 && source.setting % 4 === r.setting % 4 && source.optimizer.cls === r.optimizer.cls;
  },
  check: (s, [, d]) => {
    const sched = s as kd.LRScheduler;
    const dict = d as kd.SchedulerStateDict;
    const mine = sched.stateDict();
    for (const [k, x] of Object.entries(dict)) if (k !== "lastLr" && k !== "schedulers" && stateText(mine[k]) !== stateText(x)) return `"${k}" is ${stateText(mine[k])} after loading ${stateText(x)}`;
    return sched.lastEpoch < 0 ? null : scheduleHolds(sched, 3);
  },
  noBackend: true,
};

// ---- checkpoints
const partsParamsArb: fc.Arbitrary<PartsParams> = fc.record(
  {
    model: moduleArb(["linear", "mlp", "custom", "nested", "relu"]).map((a) => (a as { params: ModuleParams }).params),
    optimizer: fc.record({ cls: fc.constantFrom<"SGD" | "Adam" | "AdamW">("SGD", "Adam", "AdamW"), steps: fc.integer({ min: 0, max: 2 }), momentum: fc.constantFrom(0, 0.9) }),
    scheduler: fc.record({ kind: fc.constantFrom(...SCHEDULE_KINDS), setting: fc.nat(3), steps: fc.integer({ min: 0, max: 6 }) }),
    generator: fc.nat(),
    bad: fc.record({ key: fc.constantFrom("model", "optimizer", "scheduler", "generator", "weights", "__proto__"), value: fc.constantFrom<"null" | "number" | "module" | "tensor">("null", "number", "module", "tensor") }),
  },
  { requiredKeys: [] },
).map((p) => (p.bad !== undefined && Math.abs(p.model?.seed ?? 0) % 3 !== 0 ? { ...p, bad: undefined } : p));
const PartsP = (arb: fc.Arbitrary<PartsParams>): Param => one(arb.map((params) => special("parts", params)), fc.oneof(wrongType, fc.constant(v(3))));
const metadataP: Param = one(fc.constantFrom<unknown>({ epoch: "3" }, {}, { "a b": "c", "": "" }).map(v), fc.constantFrom<unknown>({ a: 1 }, { "kdgrad.checkpoint": "x" }, "x", [], null, { b: null }).map(v));
/** The same parts built again with other weights and another generator (so that a load has something to restore). */
const partsLike = (p: PartsParams): PartsParams => ({ ...p, ...(p.model ? { model: { ...p.model, seed: p.model.seed + 1 } } : {}), ...(p.generator !== undefined ? { generator: p.generator + 1 } : {}) });
/** The state of every part, as text. */
function partsState(x: unknown): string {
  if (x === null || typeof x !== "object") return "";
  const o = x as Record<string, unknown>;
  return stateText({
    model: o.model instanceof kd.Module ? o.model.stateDict() : null,
    optimizer: optimizerState(o.optimizer),
    scheduler: o.optimizer === undefined ? scheduleRestored(o.scheduler) : schedulerState(o.scheduler),
    generator: o.generator instanceof Generator ? o.generator.getState() : null,
  });
}
/** Each part given holds the state of the same part in `source` (the objects the checkpoint was written from). */
function partsMatch(into: Record<string, unknown>, source: Record<string, unknown>): string | null {
  for (const key of ["model", "optimizer", "scheduler", "generator"]) {
    if (into[key] === undefined) continue;
    // A subset without the model holds an optimizer over other parameters (buildParts): their dtypes decide the state's.
    const opt = key === "optimizer" && into.optimizer instanceof kd.Optimizer ? into.optimizer : null;
    const a = opt ? optimizerState(opt) : partsState({ [key]: into[key] });
    const b = opt ? optimizerState(source.optimizer, opt.params.map((t) => t.dtype)) : partsState({ [key]: source[key] });
    if (a !== b) return `after loading, the ${key} holds ${a.slice(0, 300)}, the checkpoint was written from ${b.slice(0, 300)}`;
  }
  return null;
}
/** Bytes written by encodeCheckpoint load into fresh parts built the same way and restore them. */
function roundTrips(bytes: Uint8Array, p: PartsParams, metadata: unknown): string | null {
  const source = buildParts(p);
  const into = buildParts(partsLike(p));
  let got: { metadata: Record<string, string> };
  try {
    got = kd.decodeCheckpoint(bytes, into as kd.CheckpointParts);
  } catch (e) {
    return `decodeCheckpoint refused what was written: ${(e as Error).name}: ${(e as Error).message}`;
  }
  const want = stateText(metadata ?? {});
  if (stateText(got.metadata) !== want) return `the metadata came back as ${stateText(got.metadata)}, not ${want}`;
  return partsMatch(into, source);
}
const paramsOf = (a: Arg | undefined): PartsParams | null => (a?.k === "special" && a.name === "parts" ? (a.params as PartsParams) : null);
R.encodeCheckpoint = fn(() => [PartsP(partsParamsArb), optional(Options({ metadata: metadataP }))], {
  check: (bytes, [, o]) => {
    const p = paramsOf(currentRaw[0]);
    if (p === null) return null;
    if (p.bad !== undefined) return `accepted the part ${p.bad.key}: ${p.bad.value}`;
    return bytes instanceof Uint8Array ? roundTrips(bytes, p, optsOf(o).metadata) : "did not return bytes";
  },
  noBackend: true,
});
const CORRUPTIONS: fc.Arbitrary<CheckpointBytesParams["corrupt"]> = fc.oneof(
  fc.record({ op: fc.constantFrom<"truncate" | "flip">("truncate", "flip"), at: fc.nat(), value: fc.constantFrom(0, 0x7b, 0xff, 0x22) }),
  fc.record({ op: fc.constantFrom<"no-entry" | "drop-tensor">("no-entry", "drop-tensor") }),
  fc.record({ op: fc.constant<"json">("json"), value: fc.constantFrom("{", "null", "3", "[]", '{"version":2}', '{"version":1}', '{"version":1,"model":"yes","optimizer":null,"scheduler":null,"generator":null}') }),
  fc.record({
    op: fc.constant<"json-edit">("json-edit"),
    path: fc.constantFrom(["model"], ["optimizer"], ["optimizer", "type"], ["optimizer", "counts"], ["optimizer", "counts", "0"], ["optimizer", "counts", "0", "step"], ["optimizer", "paramGroups"], ["scheduler"], ["scheduler", "lastEpoch"], ["generator"], ["version"]),
    value: fc.constantFrom<unknown>(null, 3, "x", [], {}, true, -1, 1e300, [1, 2], { step: 0 }),
  }),
  fc.record({ op: fc.constant<"tensor">("tensor"), value: fc.constantFrom("weights", "optimizer.x.y", "optimizer.0.", "optimizer.99.expAvg", "optimizer.0.momentumBuffer2", "model.", "model.extra", "optimizer.00.expAvg") }),
);
/** Checkpoint bytes (valid or corrupt, or not a checkpoint at all) and the parts to load them into: built the same way, a subset, another model, or wrong. */
function CheckpointCase(p: Profile, path: boolean): Param {
  const good = fc
    .record({
      parts: partsParamsArb.map((q) => ({ ...q, bad: undefined })),
      metadata: fc.option(fc.constantFrom<Record<string, string>>({ epoch: "3" }, { "a b": "c" }), { nil: undefined }),
      corrupt: fc.option(CORRUPTIONS, { nil: undefined, freq: 2 }),
      into: fc.constantFrom("like", "like", "like", "subset", "other-model", "bad", "garbage"),
      drop: fc.constantFrom("model", "optimizer", "scheduler", "generator"),
      bad: partsParamsArb.map((q) => q.bad ?? { key: "weights", value: "null" as const }),
      kind: fc.constantFrom<PathParams["kind"]>("existing", "existing", "existing", "url", "dir", "missing-dir", "empty", "dev-null"),
      garbage: fc.integer({ min: 0, max: 40 }),
    })
    .map(({ parts, metadata, corrupt, into, drop, bad, kind, garbage }): Arg[] => {
      const ckpt: CheckpointBytesParams = { parts, ...(metadata ? { metadata } : {}), ...(corrupt ? { corrupt } : {}) };
      const like = partsLike(parts);
      const target: PartsParams =
        into === "subset" ? { ...like, [drop]: undefined } : into === "other-model" ? { ...like, model: { ...(like.model ?? { kind: "linear", inF: 2, outF: 2, dtype: "float32", seed: 0 }), inF: (like.model?.inF ?? 2) + 1 } } : into === "bad" ? { ...like, bad } : like;
      const source: Arg = path
        ? special("path", { kind, content: into === "garbage" ? { garbage } : { checkpoint: ckpt } } satisfies PathParams)
        : into === "garbage" ? special("random-bytes", { n: garbage, seed: garbage }) : special("checkpoint-bytes", ckpt);
      return [source, special("parts", target)];
    });
  return Group(good, [path ? fc.oneof(wrongType, fc.constant(v(3))) : fc.oneof(wrongType, fc.constant(special("typed", { ctor: "Float32Array", n: 12, seed: 1 }))), fc.oneof(wrongType, fc.constant(v(3)))]);
}
/** The raw bytes' parameters and the parts they load into, when the call is a valid file and compatible parts. */
function checkpointCall(path: boolean): { ckpt: CheckpointBytesParams; into: PartsParams } | null {
  const [a, b] = currentRaw;
  const into = paramsOf(b);
  if (a?.k !== "special" || into === null) return null;
  let ckpt: CheckpointBytesParams | undefined;
  if (path && a.name === "path") {
    const pp = a.params as PathParams;
    if (pp.kind === "existing" || pp.kind === "url") ckpt = pp.content?.checkpoint;
  } else if (!path && a.name === "checkpoint-bytes") ckpt = a.params as CheckpointBytesParams;
  return ckpt === undefined ? null : { ckpt, into };
}
/** A valid file loads into parts built the same way (or a subset of them). */
function checkpointLoads(path: boolean): () => boolean {
  return () => {
    const c = checkpointCall(path);
    if (c === null || c.ckpt.corrupt !== undefined || c.into.bad !== undefined) return false;
    const o = currentRaw[2];
    const validOptions = o === undefined || o.k === "omit" || (o.k === "object" && o.refuse === undefined && o.fields.every(([k, a]) => k === "strict" && (a.k === "omit" || (a.k === "value" && typeof a.v === "boolean"))));
    if (!validOptions) return false;
    // Parts built as the checkpoint's were (partsLike: other weights, another generator seed).
    return stateText(partsLike(c.ckpt.parts)) === stateText(c.into);
  };
}
/** After a load, each part holds the state the checkpoint was written from, and the user's metadata comes back. */
function checkpointRestores(path: boolean) {
  return (r: unknown, args: unknown[]): string | null => {
    const c = checkpointCall(path);
    if (c === null || c.ckpt.corrupt !== undefined) return null;
    const got = (r as { metadata?: unknown })?.metadata;
    if (stateText(got) !== stateText(c.ckpt.metadata ?? {})) return `returned the metadata ${stateText(got)}, not ${stateText(c.ckpt.metadata ?? {})}`;
    return partsMatch(args[1] as Record<string, unknown>, buildParts(c.ckpt.parts));
  };
}
R.decodeCheckpoint = fn((p) => [CheckpointCase(p, false), optional(Options({ strict: Bool }))], {
  run: (target, args) => unchangedOnThrow(() => partsState(args[1]), () => target(...args)),
  mustReturn: checkpointLoads(false),
  check: checkpointRestores(false),
  noBackend: true,
});
R["node:saveCheckpoint"] = nodeRow(() => [PathArg(), PartsP(partsParamsArb), optional(Options({ metadata: metadataP }))], {
  check: (_r, [path, , o]) => {
    const t = noTemporaries(path);
    if (t) return t;
    const p = paramsOf(currentRaw[1]);
    if (p === null || typeof path !== "string" || path.startsWith("/dev")) return null;
    if (p.bad !== undefined) return `accepted the part ${p.bad.key}: ${p.bad.value}`;
    return roundTrips(new Uint8Array(nodeFs.readFileSync(path)), p, optsOf(o).metadata);
  },
});
R["node:loadCheckpoint"] = nodeRow((p) => [CheckpointCase(p, true), optional(Options({ strict: Bool }))], {
  run: (target, args) => unchangedOnThrow(() => partsState(args[1]), () => target(...args)),
  mustReturn: checkpointLoads(true),
  check: checkpointRestores(true),
});

// ---- splitting data
/** Tensors that share their first axis (sometimes not), or one tensor. */
function SplitTensors(p: Profile): Param {
  const good = fc
    .record({ n: fc.integer({ min: 0, max: 9 }), rests: fc.array(shapeArb(p, 0, 2), { minLength: 1, maxLength: 3 }), form: fc.constantFrom("list", "list", "list", "one", "mismatch", "0-d", "empty") })
    .chain(({ n, rests, form }) => {
      if (form === "empty") return fc.constant(list([]));
      if (form === "0-d") return tensorArb(fc.constant([])).map((t) => list([t]));
      const shapes = rests.map((r, i) => capShape([form === "mismatch" && i === 1 ? n + 1 : n, ...r], p.maxSize).map((d, j) => (j === 0 ? (form === "mismatch" && i === 1 ? n + 1 : n) : d)));
      return fc.tuple(...shapes.map((s) => tensorArb(fc.constant(s)))).map((ts) => (form === "one" ? ts[0]! : list(ts)));
    });
  return one(good, fc.oneof(wrongType, fc.constant(v(3)), fc.constant(list([v(3)]))));
}
const splitSize = Num(fc.constantFrom(0.25, 0.5, 0.1, 0.999, 1, 2, 3, 0, 1.5, -1, NaN, 1e300));
R.trainTestSplit = fn((p) => [SplitTensors(p), optional(Options({ testSize: splitSize, trainSize: splitSize, shuffle: Bool, generator: GeneratorP }))], {
  // scikit-learn's sizes; every tensor split by the same rows; without shuffle, the rows in order.
  check: (r, [x, o]) => {
    const ts = isT(x) ? [x] : (x as Tensor[]);
    if (!Array.isArray(r) || r.length !== 2 * ts.length) return `returned ${Array.isArray(r) ? r.length : typeof r} parts for ${ts.length} tensors`;
    const n = ts[0]!.shape[0]!;
    const { testSize, trainSize, shuffle = true } = optsOf(o) as { testSize?: number; trainSize?: number; shuffle?: boolean };
    const rows = (v: number | undefined, round: "ceil" | "floor"): number | undefined => (v === undefined ? undefined : v >= 1 ? v : Math[round](v * n));
    const nTest = rows(testSize, "ceil") ?? (trainSize === undefined ? Math.ceil(0.25 * n) : n - rows(trainSize, "floor")!);
    const nTrain = rows(trainSize, "floor") ?? n - nTest;
    const picked: number[][] = [];
    for (let k = 0; k < ts.length; k++) {
      const t = ts[k]!;
      const [train, test] = [r[2 * k] as Tensor, r[2 * k + 1] as Tensor];
      if (!isT(train) || !isT(test) || train.shape[0] !== nTrain || test.shape[0] !== nTest) return `tensors[${k}] split into ${isT(train) ? train.shape[0] : "?"} + ${isT(test) ? test.shape[0] : "?"} rows, scikit-learn's sizes are ${nTrain} + ${nTest}`;
      // Which rows of t each output row is (the first match; rows may repeat, so compare as multisets).
      const rowSize = t.size / Math.max(n, 1);
      const xs = elements(t);
      const rowOf = (i: number): string => stateText(xs.slice(i * rowSize, (i + 1) * rowSize));
      const outRows = [...elements(train), ...elements(test)];
      const got = Array.from({ length: nTrain + nTest }, (_, i) => stateText(outRows.slice(i * rowSize, (i + 1) * rowSize)));
      const wanted = Array.from({ length: n }, (_, i) => rowOf(i));
      if (!shuffle) {
        const order = [...Array(nTrain + nTest).keys()];
        if (got.some((g, i) => g !== wanted[order[i]!])) return `without shuffle, tensors[${k}] is not split into rows 0…${nTrain - 1} and ${nTrain}…${nTrain + nTest - 1}`;
      }
      const pool = [...wanted];
      for (const g of got) {
        const i = pool.indexOf(g);
        if (i < 0) return `tensors[${k}]'s parts hold a row that is not one of its rows (or one row twice)`;
        pool.splice(i, 1);
      }
      picked.push(got.map((g) => wanted.indexOf(g)));
    }
    return null;
  },
  noBackend: true,
});

const resolveNode = (n: string): unknown => (kn as Record<string, unknown>)[n];

/**
 * The raw Args of the call being checked (some checks need the parameters a
 * file was written from); set by the property before each call.
 */
export const currentRaw: Arg[] = [];
export function setCurrentRaw(args: readonly Arg[]): void {
  currentRaw.length = 0;
  currentRaw.push(...args);
}

export { functionPart, BAD_INTS, badSize };
