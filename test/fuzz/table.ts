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
import { Generator, KdgradError, Tensor } from "../../src/index.js";
import type { Entry, Finite } from "./calls.js";
import { READ_LIMIT, elements, functionPart, malformed, tensorsIn } from "./oracle.js";
import {
  Bool, DTypeP, Dim, Dims, Enum, FloatDTypeP, Int, Num, Options, ShapeP, Size, T, TN, anyNumber, badInt, badSize,
  call, fixed, one, optional, special, wrongType, type Param,
} from "./params.js";
import {
  Deferred, gradOutputsFor, gradientsPart, leafOf, likeTensor, npyReadable, npyValues, readsOf, safetensorsContent,
  type GradientsCase, type GradientsCaseParams, type GraphParams, type ModuleParams, type NpyParams, type OptimizerParams, type PathParams, type SafetensorsParams,
} from "./specials.js";
import {
  BAD_INTS, OMIT, SPECIAL, broadcastVariant, capShape, dimArb, list, logicalValues, obj, shapeArb, sizeOf, tensorArb, v,
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
    .chain((s) => fc.tuple(tensorArb(fc.constant(s), o), tensorArb(broadcastVariant(s), o), anyNumber, fc.integer({ min: 0, max: 9 })))
    .map(([a, b, n, k]): Arg[] => (numbers && k === 0 ? [a, v(n)] : numbers && k === 1 ? [v(n), b] : [a, b]));
  return Group(good, [wrongTensor, wrongTensor]);
}

/** A matmul pair: vector or matrix forms, batched, broadcast batches, or mismatched inner sizes. */
function MatmulPair(p: Profile, o: TensorOptions = {}): Param {
  const d = dimArb(p);
  const good = fc
    .record({ n: d, k: d, m: d, b: fc.integer({ min: 1, max: 3 }), form: fc.constantFrom("vv", "mv", "vm", "mm", "mm", "bmm", "bcast", "mismatch", "scalar"), a: fc.nat(), c: fc.nat() })
    .chain(({ n, k, m, b, form }) => {
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
    .chain(({ n, inF, out, lead, bias, off }) => {
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
  const S = rowsOf(s);
  const Tr = rowsOf(t);
  for (let r = 0; r < S.length; r++) {
    if (alpha > 0) {
      if (!Tr[r]!.some((x) => moderate(x))) return false;
      for (let c = 0; c < S[r]!.length; c++) {
        const tv = Tr[r]![c]!;
        const sv = S[r]![c]!;
        if (!(moderate(tv) || tv === -Infinity)) return false;
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
  const T = (opts.temperature as number) ?? 4;
  const alpha = (opts.alpha as number) ?? (opts.labels === undefined ? 1 : 0.5);
  const B = s.shape[0]!;
  const gs = s.grad;
  if (gs) {
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
  let sum = 0;
  for (const x of xs) sum += Math.exp(x - m);
  const l = Math.log(sum);
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
      shapeArb(p, 0, 3).chain((s) => fc.array(tensorArb(fc.oneof(fc.constant(s), broadcastVariant(s)), o), { maxLength: 4 })).map((items) => list(items)),
      fc.array(fc.oneof(tensorArb(shapeArb(p, 0, 2), o), wrongType), { minLength: 1, maxLength: 3 }).map(list),
    ),
    fc.oneof(wrongType, tensorArb(shapeArb(p), o)),
  );

const moduleArb = (kinds: ModuleParams["kind"][] = ["linear", "mlp", "relu", "tanh", "gelu", "dropout", "sequential-empty", "custom", "nested"]): fc.Arbitrary<Arg> =>
  fc
    .record({
      kind: fc.constantFrom(...kinds), inF: fc.integer({ min: 0, max: 4 }), outF: fc.integer({ min: 0, max: 4 }),
      dtype: fc.constantFrom<"float32" | "float64">("float32", "float64"), seed: fc.nat(), bias: fc.boolean(), training: fc.boolean(),
      activation: fc.constantFrom<"relu" | "tanh" | "gelu">("relu", "tanh", "gelu"),
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

const optimizerArb = (classes: OptimizerParams["cls"][] = ["SGD", "Adam", "AdamW"]): fc.Arbitrary<Arg> =>
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
    .map(({ cls, shapes, dtype, lr, momentum, weightDecay, amsgrad, grads, seed }) =>
      special("optimizer", {
        cls, shapes, dtype, grads, seed,
        options: cls === "SGD" ? { lr, momentum, weightDecay } : { lr, weightDecay, amsgrad },
      } satisfies OptimizerParams),
    );

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

const BytesArg = (format: "safetensors" | "npy"): Param =>
  one(
    fc.oneof(
      { weight: 6, arbitrary: (format === "safetensors" ? safetensorsArb : npyArb).map((params) => special(format, params)) },
      { weight: 1, arbitrary: fc.record({ n: fc.integer({ min: 0, max: 80 }), seed: fc.nat(), prefix: fc.constantFrom(undefined, [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], [16, 0, 0, 0, 0, 0, 0, 0, 0x7b]) }).map((params) => special("random-bytes", params)) },
    ),
    fc.oneof(wrongType, fc.constant(special("typed", { ctor: "Float32Array", n: 12, seed: 1 })), fc.constant(special("typed", { ctor: "Array", n: 12, seed: 1 }))),
  );

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
      shapeArb(p).chain((s) => fc.tuple(tensorArb(broadcastVariant(s), { dtypes: ["int32", "int32", "float32"], kinds: ["moderate"] }), tensorArb(fc.constant(s)), tensorArb(broadcastVariant(s)), anyNumber, fc.integer({ min: 0, max: 5 })))
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
R.distillationLossComposite = fn((p) => [DistillArgs(p)], { finite: distillFinite });
R.sparseDistillationLoss = fn((p) => [SparseArgs(p)], { finite: sparseFinite, gradCheck: sparseGrads });
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
    params = pp.content?.safetensors ?? pp.content?.npy;
    if (params === undefined) return false;
    return "entries" in (params as object) ? validSafetensors(params as SafetensorsParams) : npyReadable(params as NpyParams);
  }
  if (raw.name === "safetensors") return validSafetensors(params as SafetensorsParams);
  if (raw.name === "npy") return npyReadable(params as NpyParams);
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
