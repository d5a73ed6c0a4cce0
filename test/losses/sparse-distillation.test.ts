/**
 * sparseDistillationLoss: the fused kernel against the same loss written with ops, its identities
 * with the dense distillationLoss, the gradient sum rules, the checks, reductions and ignored
 * rows, the non-finite policy and second order. Accuracy against an exact reference is in
 * sparse-distillation-accuracy.test.ts.
 */
import fc from "fast-check";
import { test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import {
  DTypeError, Generator, IndexError, ShapeError, Tensor, ValueError, crossEntropy, distillationLoss, exp, gather, hessian,
  jacobian, grad, log, logSoftmax, logSumExp, mul, softmax, sparseDistillationLoss, sub, sum, tensor, where,
  type SparseDistillationOptions,
} from "../../src/index.js";
import { expectClose } from "../helpers/close.js";

const leaf = (x: Tensor): Tensor => x.detach().requiresGrad_();

interface Case {
  s: Tensor;
  idx: Tensor;
  lp: Tensor;
  labels: Tensor | null;
  lead: number[];
  C: number;
  k: number;
}

/**
 * A random case: student logits [..lead, C] in ±spread, k distinct classes per row and
 * log-probabilities whose total mass is `mass` (a number, or drawn in [0.3, 0.95]).
 */
function makeCase(seed: number, o: { lead?: number[]; C?: number; k?: number; mass?: number; spread?: number; ignore?: boolean } = {}): Case {
  const rng = new Generator(seed);
  const lead = o.lead ?? [1 + rng.below(3), 1 + rng.below(2)].slice(0, 1 + rng.below(2));
  const C = o.C ?? 2 + rng.below(8);
  const k = o.k ?? 1 + rng.below(C);
  const rows = lead.reduce((a, b) => a * b, 1);
  const spread = o.spread ?? 6;
  const s = tensor(Float64Array.from({ length: rows * C }, () => (2 * rng.uniform() - 1) * spread), { shape: [...lead, C] });
  const idx = new Int32Array(rows * k);
  const lp = new Float64Array(rows * k);
  for (let r = 0; r < rows; r++) {
    const perm = Array.from({ length: C }, (_, i) => i);
    for (let i = C - 1; i > 0; i--) {
      const j = rng.below(i + 1);
      [perm[i], perm[j]] = [perm[j]!, perm[i]!];
    }
    const w = Array.from({ length: k }, () => 0.05 + rng.uniform());
    const total = w.reduce((a, b) => a + b, 0);
    const mass = o.mass ?? 0.3 + 0.65 * rng.uniform();
    for (let j = 0; j < k; j++) {
      idx[r * k + j] = perm[j]!;
      lp[r * k + j] = Math.log((mass * w[j]!) / total);
    }
  }
  const labels = tensor(Int32Array.from({ length: rows }, (_, i) => (o.ignore && i % 3 === 1 ? -100 : rng.below(C))), { shape: lead });
  return { s, idx: tensor(idx, { shape: [...lead, k] }), lp: tensor(lp, { shape: [...lead, k] }), labels, lead, C, k };
}

/** The listed classes as a 0/1 int32 mask [..lead, C] (a test-side scatter). */
function listedMask(c: Case): Tensor {
  const rows = c.lead.reduce((a, b) => a * b, 1);
  const m = new Int32Array(rows * c.C);
  const idx = c.idx.toFlatArray();
  for (let r = 0; r < rows; r++) for (let j = 0; j < c.k; j++) m[r * c.C + idx[r * c.k + j]!] = 1;
  return tensor(m, { shape: [...c.lead, c.C] });
}

/**
 * The loss written with kdgrad ops, as one would in PyTorch (tail mass from 1 − Σ P; the rows
 * here keep it ≥ 0.05), differentiated by autograd.
 */
function composite(c: Case, s: Tensor, lp: Tensor, o: SparseDistillationOptions): Tensor {
  const T = o.temperature ?? 4;
  const alpha = o.alpha ?? (o.labels === undefined ? 1 : 0.5);
  const kappa = o.scaleT2 === false ? 1 : T * T;
  const logq = logSoftmax(s.div(T), -1);
  let D: Tensor;
  if (o.tail === false) {
    const logqI = logSoftmax(gather(s.div(T), -1, c.idx), -1);
    const logp = logSoftmax(lp, -1);
    D = sum(mul(exp(logp), sub(logp, logqI)), -1);
  } else {
    const P = exp(lp);
    D = sum(mul(P, sub(lp, gather(logq, -1, c.idx))), -1);
    if (c.k < c.C) {
      const rest = where(listedMask(c), -Infinity, logq);
      const Prest = sub(1, sum(P, -1));
      D = D.add(mul(Prest, sub(log(Prest), logSumExp(rest, -1))));
    }
  }
  let L = mul(D, alpha * kappa);
  const ignoreIndex = o.ignoreIndex ?? -100;
  let counted: Tensor | null = null;
  if (o.labels !== undefined) {
    const C = c.C;
    const flat = s.reshape([-1, C]);
    const ce = crossEntropy(flat, o.labels.reshape([-1]), { reduction: "none", ignoreIndex }).reshape(c.lead);
    if (alpha < 1) L = L.add(mul(ce, 1 - alpha));
    counted = tensor(Int32Array.from(o.labels.toFlatArray().map((y) => (y === ignoreIndex ? 0 : 1))), { shape: c.lead });
    L = where(counted, L, 0);
  }
  const reduction = o.reduction ?? "mean";
  if (reduction === "none") return L;
  const total = L.sum();
  if (reduction === "sum") return total;
  const n = counted === null ? L.size : counted.toFlatArray().reduce((a, b) => a + b, 0);
  return n === 0 ? total.mul(0) : total.div(n);
}

/** Loss and both gradients of f with a random upstream (never a plain sum). */
function evaluate(f: (s: Tensor, lp: Tensor) => Tensor, c: Case, seed: number): { y: number[]; gs: number[]; gl: number[] } {
  const s = leaf(c.s);
  const lp = leaf(c.lp);
  const y = f(s, lp);
  const rng = new Generator(seed);
  const up = tensor(Float64Array.from({ length: y.size }, () => 0.5 + rng.uniform()), { shape: y.shape });
  y.backward(up);
  return { y: y.toFlatArray(), gs: s.grad!.toFlatArray(), gl: lp.grad!.toFlatArray() };
}

const optionsArb = fc.record({
  T: fc.constantFrom(0.5, 1, 2, 4, 30), alpha: fc.constantFrom(0, 0.3, 1), tail: fc.boolean(), scaleT2: fc.boolean(),
  reduction: fc.constantFrom<"mean" | "sum" | "none">("mean", "sum", "none"), labelled: fc.boolean(), ignore: fc.boolean(),
});

describe("sparseDistillationLoss: the fused kernel against the composite", () => {
  test.prop([fc.nat(), optionsArb, fc.constantFrom<"float64" | "float32">("float64", "float64", "float32")])(
    "loss and both gradients agree (1e-10 in float64, float32 ulps in float32)",
    (seed, { T, alpha, tail, scaleT2, reduction, labelled, ignore }, dtype) => {
      const c = makeCase(seed, { ignore });
      const useLabels = labelled || alpha < 1;
      const o: SparseDistillationOptions = { temperature: T, tail, scaleT2, reduction, ...(useLabels ? { labels: c.labels!, alpha } : {}) };
      const cast = dtype === "float32" ? { ...c, s: c.s.to("float32"), lp: c.lp.to("float32") } : c;
      const fused = evaluate((s, lp) => sparseDistillationLoss(s, c.idx, lp, o), cast, seed);
      // The reference always in float64, on the (rounded) inputs the fused call saw.
      const ref = evaluate((s, lp) => composite(c, s, lp, o), { ...c, s: cast.s.to("float64"), lp: cast.lp.to("float64") }, seed);
      const [rtol, atol] = dtype === "float64" ? [1e-10, 1e-12] : [2e-6, 1e-7];
      expectClose(fused.y, ref.y, { rtol, atol }, "loss");
      expectClose(fused.gs, ref.gs, { rtol, atol }, "student gradient");
      expectClose(fused.gl, ref.gl, { rtol, atol }, "logprobs gradient");
    },
  );

  test("the kernel keeps no state between rows or calls (k = C after k < C, with labels at T = 2)", () => {
    // The unlisted classes' cross-entropy sum was a module variable that a call with k = C
    // (no unlisted class) did not reset: it added the previous call's sum to this one's.
    const before = makeCase(3, { lead: [2], C: 6, k: 2 });
    sparseDistillationLoss(before.s, before.idx, before.lp, { labels: before.labels!, temperature: 2, alpha: 0.5 });
    const c = makeCase(4, { lead: [2], C: 5, k: 5, mass: 0.9 });
    const o = { labels: c.labels!, temperature: 2, alpha: 0.5 };
    const fused = evaluate((s, lp) => sparseDistillationLoss(s, c.idx, lp, o), c, 1);
    const ref = evaluate((s, lp) => composite(c, s, lp, o), c, 1);
    expectClose(fused.y, ref.y, { rtol: 1e-12, atol: 1e-14 }, "loss");
    expectClose(fused.gs, ref.gs, { rtol: 1e-10, atol: 1e-14 }, "student gradient");
  });
});

describe("sparseDistillationLoss: identities with the dense loss", () => {
  test.prop([fc.nat(), fc.constantFrom(0.5, 1, 3, 20), fc.boolean(), fc.constantFrom(0, 0.4, 1)])(
    "k = C with the teacher's whole log-softmax equals distillationLoss, with the tail option on or off",
    (seed, T, tail, alpha) => {
      const rng = new Generator(seed);
      const B = 1 + rng.below(4);
      const C = 2 + rng.below(9);
      const s = tensor(Float64Array.from({ length: B * C }, () => (2 * rng.uniform() - 1) * 8), { shape: [B, C] });
      const t = tensor(Float64Array.from({ length: B * C }, () => (2 * rng.uniform() - 1) * 8), { shape: [B, C] });
      const labels = tensor(Int32Array.from({ length: B }, () => rng.below(C)), { shape: [B] });
      // Every class listed, in a shuffled order, with log softmax(t/T) there.
      const idx = new Int32Array(B * C);
      for (let r = 0; r < B; r++) {
        const perm = Array.from({ length: C }, (_, i) => i).sort(() => rng.uniform() - 0.5);
        idx.set(perm, r * C);
      }
      const I = tensor(idx, { shape: [B, C] });
      const lp = gather(logSoftmax(t.div(T), -1), 1, I);
      const o = alpha === 1 ? { temperature: T } : { labels, temperature: T, alpha };
      const a = leaf(s);
      const sparse = sparseDistillationLoss(a, I, lp, { ...o, tail });
      sparse.backward();
      const b = leaf(s);
      const dense = distillationLoss(b, t, o);
      dense.backward();
      expectClose([sparse.item()], [dense.item()], { rtol: 1e-12, atol: 1e-14 }, "loss");
      expectClose(a.grad!, b.grad!, { rtol: 1e-10, atol: 1e-14 }, "student gradient");
    },
  );

  test.prop([fc.nat(), fc.constantFrom(0.5, 1, 4)])(
    "tail: false is distillationLoss on the gathered logits, with teacher logits T·logprobs",
    (seed, T) => {
      const c = makeCase(seed, { lead: [3] });
      const a = leaf(c.s);
      const l = leaf(c.lp);
      const sparse = sparseDistillationLoss(a, c.idx, l, { temperature: T, tail: false });
      sparse.backward();
      const b = leaf(c.s);
      const tl = leaf(c.lp.mul(T));
      const dense = distillationLoss(gather(b, 1, c.idx), tl, { temperature: T });
      dense.backward();
      expectClose([sparse.item()], [dense.item()], { rtol: 1e-12, atol: 1e-15 }, "loss");
      expectClose(a.grad!, b.grad!, { rtol: 1e-10, atol: 1e-15 }, "student gradient");
      // ∂/∂ℓ = T·∂/∂(teacher logits), since t = T·ℓ.
      expectClose(l.grad!, tl.grad!.mul(T), { rtol: 1e-10, atol: 1e-15 }, "logprobs gradient");
    },
  );

  test.prop([fc.nat(), fc.constantFrom(0.7, 1, 2.5), fc.integer({ min: 1, max: 6 })])(
    "with the tail: equal to the dense KL when the teacher's unlisted classes are shaped like the student's, and below it otherwise",
    (seed, T, k) => {
      const rng = new Generator(seed);
      const C = k + 1 + rng.below(8);
      const s = tensor(Float64Array.from({ length: C }, () => (2 * rng.uniform() - 1) * 5), { shape: [1, C] });
      const perm = Array.from({ length: C }, (_, i) => i).sort(() => rng.uniform() - 0.5);
      const listed = perm.slice(0, k);
      const shift = 3 * rng.uniform() - 1.5;
      const sv = s.toFlatArray();
      // t = s + shift on the unlisted classes (the same shape within the rest), anything on the listed.
      const tv = sv.map((x, i) => (listed.includes(i) ? 6 * rng.uniform() - 3 : x + shift));
      const t = tensor(Float64Array.from(tv), { shape: [1, C] });
      const I = tensor(Int32Array.from(listed), { shape: [1, k] });
      const lp = gather(logSoftmax(t.div(T), -1), 1, I);
      const sparse = sparseDistillationLoss(s, I, lp, { temperature: T }).item();
      const dense = distillationLoss(s, t, { temperature: T }).item();
      expect(Math.abs(sparse - dense)).toBeLessThanOrEqual(1e-12 * dense + 1e-14);
      // Any other teacher: the coarsened KL is at most the full one (and ≥ 0).
      const t2 = tensor(Float64Array.from({ length: C }, () => 6 * rng.uniform() - 3), { shape: [1, C] });
      const lp2 = gather(logSoftmax(t2.div(T), -1), 1, I);
      const sparse2 = sparseDistillationLoss(s, I, lp2, { temperature: T }).item();
      const dense2 = distillationLoss(s, t2, { temperature: T }).item();
      expect(sparse2).toBeGreaterThanOrEqual(0);
      expect(sparse2).toBeLessThanOrEqual(dense2 * (1 + 1e-12) + 1e-14);
    },
  );
});

describe("sparseDistillationLoss: sum rules and invariance", () => {
  test.prop([fc.nat(), fc.constantFrom(0.5, 1, 4), fc.constantFrom<"active" | "clamped" | "full" | "renormalised">("active", "clamped", "full", "renormalised")])(
    "every student gradient row sums to 0, and the renormalised logprobs gradient too",
    (seed, T, form) => {
      const rng = new Generator(seed);
      const C = 3 + rng.below(10);
      const k = form === "full" ? C : 1 + rng.below(C - 1);
      // clamped: Σ exp(ℓ) = 1 + 5e-7, above 1 but within the 1e-6 allowed.
      const c = makeCase(seed, { lead: [4], C, k, mass: form === "clamped" ? 1 + 5e-7 : form === "full" ? 0.999 : undefined });
      const s = leaf(c.s);
      const l = leaf(c.lp);
      const y = sparseDistillationLoss(s, c.idx, l, { temperature: T, tail: form !== "renormalised", reduction: "none" });
      y.backward(tensor(Float64Array.from({ length: 4 }, () => 0.5 + rng.uniform()), { shape: [4] }));
      const gs = s.grad!.toFlatArray();
      for (let r = 0; r < 4; r++) {
        const row = gs.slice(r * C, (r + 1) * C);
        const abs = row.reduce((a, b) => a + Math.abs(b), 0);
        expect(Math.abs(row.reduce((a, b) => a + b, 0))).toBeLessThanOrEqual(1e-14 * (1 + abs * C));
        // (k = 1 renormalised: one outcome, P̂ = Q̂ = 1, nothing to learn.)
        if (!(form === "renormalised" && k === 1)) expect(abs).toBeGreaterThan(0);
      }
      if (form === "renormalised") {
        const gl = l.grad!.toFlatArray();
        for (let r = 0; r < 4; r++) {
          const row = gl.slice(r * k, (r + 1) * k);
          expect(Math.abs(row.reduce((a, b) => a + b, 0))).toBeLessThanOrEqual(1e-14 * (1 + row.reduce((a, b) => a + Math.abs(b), 0) * k));
        }
      }
    },
  );

  test.prop([fc.nat(), fc.double({ min: -1e3, max: 1e3, noNaN: true }), fc.boolean()])(
    "a constant added to a student row changes neither the loss nor the gradients",
    (seed, shift, tail) => {
      const c = makeCase(seed, { lead: [3] });
      const o = { labels: c.labels!, alpha: 0.6, temperature: 2, tail };
      const a = evaluate((s, lp) => sparseDistillationLoss(s, c.idx, lp, o), c, seed);
      const b = evaluate((s, lp) => sparseDistillationLoss(s, c.idx, lp, o), { ...c, s: c.s.add(shift) }, seed);
      const scale = 1 + Math.abs(shift);
      expectClose(b.y, a.y, { rtol: 1e-12, atol: 1e-13 * scale }, "loss");
      expectClose(b.gs, a.gs, { rtol: 1e-9, atol: 1e-13 * scale }, "student gradient");
      expectClose(b.gl, a.gl, { rtol: 1e-9, atol: 1e-13 * scale }, "logprobs gradient");
    },
  );

  test("the loss is 0, with zero gradients, when the student's outcome probabilities are the teacher's", () => {
    const c = makeCase(11, { lead: [3], C: 9, k: 4 });
    const q = logSoftmax(c.s.div(2), -1);
    for (const tail of [true, false]) {
      const l = leaf(gather(q, 1, c.idx));
      const s = leaf(c.s);
      const y = sparseDistillationLoss(s, c.idx, l, { temperature: 2, tail });
      y.backward();
      expect(Math.abs(y.item())).toBeLessThan(1e-14);
      expect(Math.max(...s.grad!.toFlatArray().map(Math.abs))).toBeLessThan(1e-14);
    }
  });
});

describe("sparseDistillationLoss: arguments", () => {
  const c = makeCase(5, { lead: [2], C: 6, k: 3 });
  const call = (idx: number[][] | Tensor, lp?: number[][], o: SparseDistillationOptions = {}): Tensor =>
    sparseDistillationLoss(c.s, idx instanceof Tensor ? idx : tensor(idx, { dtype: "int32" }), lp === undefined ? c.lp : tensor(lp, { dtype: "float64" }), o);

  test("an index out of range is an IndexError naming the entry, the value and the range", () => {
    expect(() => call([[0, 1, 6], [0, 1, 2]])).toThrow(IndexError);
    expect(() => call([[0, 1, 6], [0, 1, 2]])).toThrow(/sparseDistillationLoss: indices\[0, 2\] = 6 is out of range \[0, 6\)/);
    expect(() => call([[0, 1, 2], [-1, 1, 2]])).toThrow(/indices\[1, 0\] = -1/);
  });

  test("a repeated index is a ValueError naming both entries", () => {
    expect(() => call([[0, 1, 2], [4, 2, 4]])).toThrow(ValueError);
    expect(() => call([[0, 1, 2], [4, 2, 4]])).toThrow(/repeat class 4 at \[1, 0\] and \[1, 2\]/);
  });

  test("probabilities summing above 1 + 1e-6 are a ValueError naming the row and the sum; up to 1 + 1e-6 they are accepted", () => {
    const third = (m: number): number[] => [Math.log(m / 3), Math.log(m / 3), Math.log(m / 3)];
    expect(() => call([[0, 1, 2], [0, 1, 2]], [third(0.5), third(1 + 3e-6)])).toThrow(ValueError);
    expect(() => call([[0, 1, 2], [0, 1, 2]], [third(0.5), third(1 + 3e-6)])).toThrow(/row 1 sum to 1\.000003/);
    expect(() => call([[0, 1, 2], [0, 1, 2]], [third(0.5), [0.1, -5, -6]])).toThrow(/above 1 \+ 1e-6/);
    const y = call([[0, 1, 2], [0, 1, 2]], [third(0.5), third(1 + 5e-7)]);
    expect(Number.isFinite(y.item())).toBe(true);
  });

  test("shapes: k = 0, k > C, mismatched leading shapes or logprobs", () => {
    const s = c.s;
    const lp = (shape: number[]): Tensor => tensor(Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => -3), { shape });
    const ix = (shape: number[]): Tensor => tensor(Int32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i % 6), { shape });
    expect(() => sparseDistillationLoss(s, ix([2, 0]), lp([2, 0]))).toThrow(/at least one class per row/);
    expect(() => sparseDistillationLoss(s, ix([2, 7]), lp([2, 7]))).toThrow(/k = 7 classes per row, more than the student's C = 6/);
    expect(() => sparseDistillationLoss(s, ix([3, 2]), lp([3, 2]))).toThrow(ShapeError);
    expect(() => sparseDistillationLoss(s, ix([2, 2]), lp([2, 3]))).toThrow(/logprobs has shape \[2,3\] but indices has shape \[2,2\]/);
    expect(() => sparseDistillationLoss(tensor(1), ix([1]), lp([1]))).toThrow(ShapeError);
  });

  test("dtypes: int32 student or logprobs, float indices", () => {
    expect(() => sparseDistillationLoss(c.s.to("int32"), c.idx, c.lp)).toThrow(DTypeError);
    expect(() => sparseDistillationLoss(c.s, c.idx.to("float32"), c.lp)).toThrow(/indices must be int32/);
    expect(() => sparseDistillationLoss(c.s, c.idx, c.lp.to("int32"))).toThrow(DTypeError);
    expect(() => sparseDistillationLoss(c.s, [0, 1] as unknown as Tensor, c.lp)).toThrow(DTypeError);
  });

  test("divergence, standardize and a tensor temperature are refused with a ValueError saying why; their defaults are accepted", () => {
    expect(() => call(c.idx, undefined, { divergence: "reverse" as "forward" })).toThrow(/divergence "reverse" is not supported: a top-k teacher gives only the forward KL/);
    expect(() => call(c.idx, undefined, { standardize: true as false })).toThrow(/standardize true is not supported/);
    expect(() => call(c.idx, undefined, { temperature: tensor(2) as unknown as number })).toThrow(/a Tensor temperature .* is not supported/);
    const base = call(c.idx).item();
    expect(call(c.idx, undefined, { divergence: "forward", standardize: false }).item()).toBe(base);
  });

  test("options: unknown keys, null, bad values", () => {
    const I = c.idx;
    expect(() => call(I, undefined, { temprature: 2 } as SparseDistillationOptions)).toThrow(/unknown key "temprature"/);
    expect(() => call(I, undefined, { tail: null } as unknown as SparseDistillationOptions)).toThrow(/options.tail is null/);
    expect(() => call(I, undefined, { tail: "yes" } as unknown as SparseDistillationOptions)).toThrow(/tail must be true or false/);
    expect(() => call(I, undefined, { temperature: 0 })).toThrow(/temperature must be in \[1e-6, 1e6\]/);
    expect(() => call(I, undefined, { alpha: 0.5 })).toThrow(/alpha must be absent or 1 without labels/);
    expect(() => call(I, undefined, { labels: tensor([0, 9], { dtype: "int32" }) })).toThrow(IndexError);
    expect(() => call(I, undefined, { labels: tensor([0], { dtype: "int32" }) })).toThrow(ShapeError);
    expect(() => call(I, undefined, { reduction: "batchmean" as "mean" })).toThrow(/reduction must be one of/);
    expect(() => call(I, undefined, { ignoreIndex: 0.5 })).toThrow(/ignoreIndex must be an integer/);
  });
});

describe("sparseDistillationLoss: reductions and ignored rows", () => {
  test.prop([fc.nat(), fc.boolean()])("'none' gives the rows, 'sum' their sum, 'mean' their mean over the counted rows", (seed, tail) => {
    const c = makeCase(seed, { lead: [2, 3], ignore: true });
    const o = { labels: c.labels!, alpha: 0.7, temperature: 2, tail };
    const rows = sparseDistillationLoss(c.s, c.idx, c.lp, { ...o, reduction: "none" }).toFlatArray();
    const labels = c.labels!.toFlatArray();
    rows.forEach((v, i) => {
      if (labels[i] === -100) expect(v).toBe(0);
    });
    const total = rows.reduce((a, b) => a + b, 0);
    const counted = labels.filter((y) => y !== -100).length;
    expect(sparseDistillationLoss(c.s, c.idx, c.lp, { ...o, reduction: "sum" }).item()).toBeCloseTo(total, 12);
    expect(sparseDistillationLoss(c.s, c.idx, c.lp, o).item()).toBeCloseTo(total / counted, 12);
  });

  test("an ignored row is not read: its indices and logprobs may be padding, and its gradients are 0", () => {
    const c = makeCase(8, { lead: [3], C: 7, k: 3 });
    const idx = c.idx.toFlatArray();
    const lp = c.lp.toFlatArray();
    // Row 1 is padding: index −1, repeated, logprobs 0 (probabilities summing to 3).
    idx.splice(3, 3, -1, -1, 9);
    lp.splice(3, 3, 0, 0, 0);
    const labels = tensor([2, -100, 5], { dtype: "int32" });
    const s = leaf(c.s);
    const l = leaf(tensor(lp, { shape: [3, 3], dtype: "float64" }));
    const y = sparseDistillationLoss(s, tensor(idx, { shape: [3, 3], dtype: "int32" }), l, { labels, alpha: 0.5, temperature: 2 });
    y.backward();
    expect(Number.isFinite(y.item())).toBe(true);
    expect(s.grad!.toFlatArray().slice(7, 14).every((v) => v === 0)).toBe(true);
    expect(l.grad!.toFlatArray().slice(3, 6).every((v) => v === 0)).toBe(true);
    // Without the label, the same row is refused.
    expect(() => sparseDistillationLoss(c.s, tensor(idx, { shape: [3, 3], dtype: "int32" }), l, { labels: tensor([2, 1, 5], { dtype: "int32" }), alpha: 0.5 })).toThrow(IndexError);
  });

  test("every row ignored: 'mean' is 0 with zero gradients (not 0/0)", () => {
    const c = makeCase(9, { lead: [2], C: 5, k: 2 });
    const s = leaf(c.s);
    const l = leaf(c.lp);
    const y = sparseDistillationLoss(s, c.idx, l, { labels: tensor([-100, -100], { dtype: "int32" }), alpha: 0.5 });
    y.backward();
    expect(y.item()).toBe(0);
    expect(s.grad!.toFlatArray().every((v) => v === 0)).toBe(true);
    expect(l.grad!.toFlatArray().every((v) => v === 0)).toBe(true);
  });

  test("rank 1 (one row) and rank 3 ([B, L, V] with [B, L] labels)", () => {
    const one = makeCase(10, { lead: [], C: 6, k: 2 });
    const y1 = sparseDistillationLoss(one.s, one.idx, one.lp, { reduction: "none" });
    expect(y1.shape).toEqual([]);
    const three = makeCase(12, { lead: [2, 3], C: 6, k: 2 });
    const y3 = sparseDistillationLoss(three.s, three.idx, three.lp, { labels: three.labels!, reduction: "none" });
    expect(y3.shape).toEqual([2, 3]);
    // Row (1, 2) of the 3-D call is the 1-D call on that row.
    const row = (t: Tensor, k: number): Tensor => t.reshape([6, k]).slice(0, 5, 6).reshape([k]);
    const alone = sparseDistillationLoss(row(three.s, 6), row(three.idx, 2), row(three.lp, 2), { labels: tensor(three.labels!.toFlatArray()[5]!, { dtype: "int32" }), reduction: "none" });
    expect(y3.toFlatArray()[5]).toBeCloseTo(alone.item(), 14);
  });
});

describe("sparseDistillationLoss: non-finite inputs (docs/non-finite.md)", () => {
  const C = 6;
  const base = (): { s: number[]; idx: number[]; lp: number[] } => ({ s: [1, -2, 0.5, 3, -1, 2], idx: [3, 0], lp: [Math.log(0.5), Math.log(0.2)] });
  const run = (s: number[], idx: number[], lp: number[], o: SparseDistillationOptions = {}): { y: number; gs: number[]; gl: number[] } => {
    const a = leaf(tensor([s], { dtype: "float64" }));
    const b = leaf(tensor([lp], { dtype: "float64" }));
    const y = sparseDistillationLoss(a, tensor([idx], { dtype: "int32" }), b, { temperature: 2, ...o });
    y.backward();
    return { y: y.item(), gs: a.grad!.toFlatArray(), gl: b.grad!.toFlatArray() };
  };

  test("unlisted classes masked at −∞ in the student: finite, and no gradient there", () => {
    const { s, idx, lp } = base();
    s[1] = -Infinity;
    s[4] = -Infinity;
    const r = run(s, idx, lp);
    expect(Number.isFinite(r.y)).toBe(true);
    expect(r.gs.every(Number.isFinite)).toBe(true);
    expect(r.gs[1]).toBe(0);
    expect(r.gs[4]).toBe(0);
  });

  test("a listed class with logprob −∞ adds nothing and gets a zero logprobs gradient", () => {
    const { s, idx, lp } = base();
    const r = run(s, [...idx, 5], [...lp, -Infinity]);
    const without = run(s, idx, lp);
    // The same k + 1 outcomes but for a listed class of probability 0 (moved out of the tail).
    expect(Number.isFinite(r.y)).toBe(true);
    expect(r.gl[2]).toBe(0);
    expect(r.gs.every(Number.isFinite)).toBe(true);
    expect(without.y).toBeGreaterThan(0);
  });

  test("teacher mass on a class the student masks: +∞ (the KL is infinite); the student gradient stays finite", () => {
    const { s, idx, lp } = base();
    s[3] = -Infinity;
    const r = run(s, idx, lp);
    expect(r.y).toBe(Infinity);
    expect(r.gs.every(Number.isFinite)).toBe(true);
  });

  test("tail mass where the student masks every unlisted class: +∞", () => {
    const { s, idx, lp } = base();
    for (const c of [1, 2, 4, 5]) s[c] = -Infinity;
    const r = run(s, idx, lp);
    expect(r.y).toBe(Infinity);
    expect(r.gs.every(Number.isFinite)).toBe(true);
    expect(r.gs[1]).toBe(0);
  });

  test("NaN or +∞ in the student, an all −∞ student row, or NaN in the logprobs: NaN", () => {
    for (const [c, v] of [[0, NaN], [3, NaN], [1, Infinity]] as const) {
      const { s, idx, lp } = base();
      s[c] = v;
      const r = run(s, idx, lp);
      expect(r.y).toBeNaN();
      expect(r.gs.every(Number.isNaN)).toBe(true);
    }
    const { idx, lp } = base();
    expect(run(Array(C).fill(-Infinity), idx, lp).y).toBeNaN();
    const b = base();
    b.lp[1] = NaN;
    expect(run(b.s, b.idx, b.lp).y).toBeNaN();
    expect(run(b.s, b.idx, b.lp, { tail: false }).y).toBeNaN();
  });

  test("α = 0 does not read the logprobs' values (a NaN there changes nothing)", () => {
    const b = base();
    const labels = tensor([2], { dtype: "int32" });
    const clean = run(b.s, b.idx, b.lp, { labels, alpha: 0 });
    b.lp[0] = NaN;
    const r = run(b.s, b.idx, b.lp, { labels, alpha: 0 });
    expect(r.y).toBe(clean.y);
    expect(r.gs).toEqual(clean.gs);
    expect(r.gl).toEqual([0, 0]);
  });

  test("logits at ±1e4: the tail's student mass e⁻²⁰⁰⁰⁰ is still a log-sum-exp, not 0", () => {
    // Listed classes at +1e4, unlisted at −1e4 (T = 1): Q_rest = 4·e⁻²⁰⁰⁰⁰ underflows, its log does not.
    const s = [1e4, -1e4, -1e4, 1e4, -1e4, -1e4];
    const Prest = 1e-3;
    const lp = [Math.log((1 - Prest) / 2), Math.log((1 - Prest) / 2)];
    const r = run(s, [0, 3], lp, { temperature: 1 });
    // D = Σ P_j log(P_j/Q_j) + P_rest·(log P_rest − log Q_rest), Q_j = 1/2 (to e⁻²⁰⁰⁰⁰), log Q_rest = log 4 − 2e4 − log 2.
    const want = (1 - Prest) * Math.log(1 - Prest) + Prest * (Math.log(Prest) - (Math.log(2) - 2e4));
    expect(Math.abs(r.y - want)).toBeLessThanOrEqual(1e-12 * want);
    expect(r.gs.every(Number.isFinite) && r.gl.every(Number.isFinite)).toBe(true);
  });
});

describe("sparseDistillationLoss: second order", () => {
  test.prop([fc.nat(), fc.boolean(), fc.constantFrom(0.5, 2)], { numRuns: 15 })(
    "the Hessian blocks of the fused loss are those of the composite",
    (seed, tail, T) => {
      const c = makeCase(seed, { lead: [2], C: 5, k: 1 + (seed % 5) });
      const o = { labels: c.labels!, alpha: 0.6, temperature: T, tail };
      const f = (s: Tensor, lp: Tensor): Tensor => sparseDistillationLoss(s, c.idx, lp, o);
      const g = (s: Tensor, lp: Tensor): Tensor => composite(c, s, lp, o);
      expectClose(hessian((s: Tensor) => f(s, c.lp))(c.s), hessian((s: Tensor) => g(s, c.lp))(c.s), { rtol: 1e-8, atol: 1e-11 }, "ss");
      expectClose(hessian((l: Tensor) => f(c.s, l))(c.lp), hessian((l: Tensor) => g(c.s, l))(c.lp), { rtol: 1e-8, atol: 1e-11 }, "ℓℓ");
      const mixed = (h: typeof f): Tensor => jacobian((l: Tensor) => grad((s: Tensor) => h(s, l))(c.s))(c.lp);
      expectClose(mixed(f), mixed(g), { rtol: 1e-8, atol: 1e-11 }, "sℓ");
    },
  );

  test("the student block maps the all-ones vector to 0, and masked classes keep it finite", () => {
    const c = makeCase(21, { lead: [1], C: 7, k: 3 });
    const s = c.s.toFlatArray();
    const listed = new Set(c.idx.toFlatArray());
    const masked = [...Array(7).keys()].find((i) => !listed.has(i))!;
    s[masked] = -Infinity;
    const H = hessian((x: Tensor) => sparseDistillationLoss(x, c.idx, c.lp, { temperature: 2 }))(tensor(s, { shape: [1, 7], dtype: "float64" }));
    const h = H.toFlatArray();
    expect(h.every(Number.isFinite)).toBe(true);
    for (let i = 0; i < 7; i++) {
      let row = 0;
      for (let j = 0; j < 7; j++) row += h[i * 7 + j]!;
      expect(Math.abs(row)).toBeLessThan(1e-14);
    }
    expect(softmax(tensor(1), 0).item()).toBe(1);
  });
});
