/**
 * The losses' second order: the Hessian blocks derived beside each rule
 * (src/losses/*.ts; docs/distillation.md, "The second-order view") against
 * kdgrad's own hessian/jacobian, their finiteness at masked classes and
 * outside a target's support, and that a gradient computed with createGraph
 * has the same value, bit for bit, as the ordinary one (fusedWithGraph).
 * test/all-ops.test.ts runs gradgradcheck and jvp on every loss as well.
 */
import { test } from "@fast-check/vitest";
import fc from "fast-check";
import { describe, expect } from "vitest";
import {
  Tensor, crossEntropy, distillationLoss, getBackend, grad, gradients, hessian, jacobian, klDiv, logitMatchingLoss, mseLoss,
  nllLoss, noGrad, softmax, tensor,
} from "../../src/index.js";

const f64 = (v: number[][]): Tensor => tensor(v, { dtype: "float64" });
const int = (v: number[]): Tensor => tensor(v, { dtype: "int32" });
/** A [B, C, B, C] (or [B, C]) tensor as nested arrays. */
const nested = (t: Tensor): any => t.toArray();

/**
 * ∂/∂b of ∂L/∂a at (a, b): the mixed block, shape a.shape ++ b.shape. The inner
 * gradient is taken at an `a` that requires grad, so that grad records it (a
 * transform records its gradient only when its own argument is differentiated
 * from outside: src/autograd/functional.ts).
 */
function mixed(L: (a: Tensor, b: Tensor) => Tensor, a: Tensor, b: Tensor): Tensor {
  const live = a.detach().requiresGrad_();
  return jacobian((v: Tensor) => grad((u: Tensor) => L(u, v))(live), 0)(b);
}

/** A(p) = diag(p) − ppᵀ, the softmax Jacobian. */
const centred = (p: number[]): number[][] => p.map((pi, i) => p.map((pj, j) => (i === j ? pi : 0) - pi * pj));

function expectBlock(H: number[][][][], b: number, want: number[][], tol: number, what: string): void {
  const C = want.length;
  const B = H.length;
  for (let r = 0; r < B; r++) {
    for (let i = 0; i < C; i++) {
      for (let q = 0; q < B; q++) {
        for (let j = 0; j < C; j++) {
          const got = H[r]![i]![q]![j]!;
          const w = r === b && q === b ? want[i]![j]! : r === q ? NaN : 0;
          if (Number.isNaN(w)) continue; // another row's own block, checked with that row
          expect(Math.abs(got - w), `${what} row ${b} [${i}][${j}]: ${got} vs ${w}`).toBeLessThanOrEqual(tol * (1 + Math.abs(w)));
        }
      }
    }
  }
}

/**
 * The blocks of docs/distillation.md for row r (B = s.shape[0]); at a teacher class with
 * p_t = 0, w = p_t ⊙ (d − KL) is 0 (0·log 0 = 0).
 */
function expectedBlocks(s: Tensor, t: Tensor, T: number, alpha: number, r: number): { ss: number[][]; st: number[][]; tt: number[][] } {
  const B = s.shape[0]!;
  const ps = (noGrad(() => softmax(s.div(T), -1)).toArray() as number[][])[r]!;
  const pt = (noGrad(() => softmax(t.div(T), -1)).toArray() as number[][])[r]!;
  const sigma = (noGrad(() => softmax(s, -1)).toArray() as number[][])[r]!;
  const d = pt.map((p, i) => (p > 0 ? Math.log(p) - Math.log(ps[i]!) : 0));
  const kl = pt.reduce((acc, p, i) => acc + p * d[i]!, 0);
  const w = pt.map((p, i) => p * (d[i]! - kl));
  const As = centred(ps);
  const Ac = centred(sigma);
  const At = centred(pt);
  return {
    ss: As.map((row, i) => row.map((v, j) => (alpha * v + (1 - alpha) * Ac[i]![j]!) / B)),
    st: At.map((row) => row.map((v) => (-alpha * v) / B)),
    tt: At.map((row, i) => row.map((v, j) => (alpha * (v + (i === j ? w[i]! : 0) - pt[i]! * w[j]! - w[i]! * pt[j]!)) / B)),
  };
}

const rows = fc.array(fc.array(fc.double({ min: -6, max: 6, noNaN: true }), { minLength: 4, maxLength: 4 }), { minLength: 2, maxLength: 2 });

describe("distillationLoss: the three Hessian blocks of docs/distillation.md", () => {
  test.prop([rows, rows, fc.constantFrom(0.5, 1, 4, 30), fc.constantFrom(0.3, 1), fc.nat()], { numRuns: 15 })(
    "∂²/∂s² = [αA(p_s) + (1 − α)A(σ)]/B, ∂²/∂s∂t = −αA(p_t)/B, ∂²/∂t² = α[A(p_t) + diag(w) − p_t wᵀ − w p_tᵀ]/B",
    (sv, tv, T, alpha, seed) => {
      const s = f64(sv);
      const t = f64(tv);
      const B = 2;
      const labels = int([seed % 4, (seed >> 2) % 4]);
      const options = alpha < 1 ? { labels, temperature: T, alpha } : { temperature: T };
      const L = (a: Tensor, b: Tensor): Tensor => distillationLoss(a, b, options);
      const Hss = nested(hessian((a: Tensor) => L(a, t))(s));
      const Hst = nested(mixed(L, s, t));
      const Htt = nested(hessian((b: Tensor) => L(s, b))(t));
      for (let r = 0; r < B; r++) {
        const want = expectedBlocks(s, t, T, alpha, r);
        expectBlock(Hss, r, want.ss, 1e-11, "∂²L/∂s²");
        expectBlock(Hst, r, want.st, 1e-11, "∂²L/∂s∂t");
        expectBlock(Htt, r, want.tt, 1e-11, "∂²L/∂t²");
      }
    },
  );

  test("masked classes: every block finite (0·log 0 = 0 holds in the second order) and as derived, the masked rows 0", () => {
    // Row 0: the teacher masks class 1; row 1: both mask class 2 (the student also masks nothing else).
    const s = f64([[0.3, -1.2, 2.5, 0.7], [1.1, 0.2, -Infinity, -2.2]]);
    const t = f64([[-0.5, -Infinity, 1.7, -1.3], [0.4, 2.1, -Infinity, 0.0]]);
    const options = { labels: int([0, 3]), temperature: 2, alpha: 0.5 };
    const L = (a: Tensor, b: Tensor): Tensor => distillationLoss(a, b, options);
    const blocks = {
      ss: hessian((a: Tensor) => L(a, t))(s),
      st: mixed(L, s, t),
      tt: hessian((b: Tensor) => L(s, b))(t),
      ts: mixed((b: Tensor, a: Tensor) => L(a, b), t, s),
    };
    for (const [name, H] of Object.entries(blocks)) {
      expect(H.toFlatArray().every(Number.isFinite), name).toBe(true);
    }
    // The mixed blocks are each other's transpose (a symmetric Hessian), including at the masks.
    const st = nested(blocks.st) as number[][][][];
    const ts = nested(blocks.ts) as number[][][][];
    for (let r = 0; r < 2; r++) for (let i = 0; i < 4; i++) for (let q = 0; q < 2; q++) for (let j = 0; j < 4; j++) {
      expect(Math.abs(st[r]![i]![q]![j]! - ts[q]![j]![r]![i]!)).toBeLessThanOrEqual(1e-15);
    }
    for (let r = 0; r < 2; r++) {
      const want = expectedBlocks(s, t, 2, 0.5, r);
      expectBlock(nested(blocks.ss), r, want.ss, 1e-12, "∂²L/∂s², masked");
      expectBlock(st, r, want.st, 1e-12, "∂²L/∂s∂t, masked");
      expectBlock(nested(blocks.tt), r, want.tt, 1e-12, "∂²L/∂t², masked");
    }
    // The teacher's masked class has p_t = 0: no curvature along it in the teacher block.
    const tt = nested(blocks.tt) as number[][][][];
    for (let j = 0; j < 4; j++) {
      expect(tt[0]![1]![0]![j]! + 0).toBe(0);
      expect(tt[1]![2]![1]![j]! + 0).toBe(0);
    }
  });
});

describe("crossEntropy: the Hessian is Aᵢ·sᵢ·(diag(p) − ppᵀ), Aᵢ the total coefficient", () => {
  test("weights and label smoothing, 'mean' (sᵢ = 1/Σ w[yᵢ]); an ignored position has none", () => {
    const x = f64([[0.5, -1, 2], [1, 1, -0.5], [0.2, 0.1, 0]]);
    const y = int([2, 0, -100]);
    const weight = [0.5, 2, 1.5];
    const eps = 0.2;
    const H = nested(hessian((a: Tensor) => crossEntropy(a, y, { weight, labelSmoothing: eps }))(x)) as number[][][][];
    const s = 1 / (weight[2]! + weight[0]!);
    const smooth = (eps / 3) * (weight[0]! + weight[1]! + weight[2]!);
    const p = noGrad(() => softmax(x, -1)).toArray() as number[][];
    expectBlock(H, 0, centred(p[0]!).map((r) => r.map((v) => s * ((1 - eps) * weight[2]! + smooth) * v)), 1e-13, "row 0");
    expectBlock(H, 1, centred(p[1]!).map((r) => r.map((v) => s * ((1 - eps) * weight[0]! + smooth) * v)), 1e-13, "row 1");
    expectBlock(H, 2, [[0, 0, 0], [0, 0, 0], [0, 0, 0]], 0, "ignored row 2");
  });

  test("probability targets: ∂dx_k/∂t_c = sᵢ(1 − ε)w_c(p_k − δ_kc), and the loss is linear in t", () => {
    const x = f64([[0.5, -1, 2], [1, 1, -0.5]]);
    const q = f64([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]]);
    const weight = [0.5, 2, 1.5];
    const eps = 0.1;
    const L = (a: Tensor, b: Tensor): Tensor => crossEntropy(a, b, { weight, labelSmoothing: eps, reduction: "sum" });
    const J = nested(mixed(L, x, q)) as number[][][][];
    const p = noGrad(() => softmax(x, -1)).toArray() as number[][];
    for (let r = 0; r < 2; r++) {
      expectBlock(J, r, p[r]!.map((pk, k) => weight.map((wc, c) => (1 - eps) * wc * (pk - (k === c ? 1 : 0)))), 1e-13, `row ${r}`);
    }
    expect(hessian((b: Tensor) => L(x, b))(q).toFlatArray().every((v) => v === 0)).toBe(true);
  });
});

describe("klDiv, mseLoss, logitMatchingLoss", () => {
  test("klDiv: ∂²/∂t² = s/t and ∂²/∂x∂t = −s inside the support, 0 (not NaN) outside it even at x = −∞", () => {
    const x = f64([[-Infinity, -1, -0.5]]);
    const t = f64([[0, 0.4, 0.6]]);
    const L = (a: Tensor, b: Tensor): Tensor => klDiv(a, b, { reduction: "sum" });
    const Htt = nested(hessian((b: Tensor) => L(x, b))(t))[0] as number[][][];
    const Hxt = nested(mixed(L, x, t))[0] as number[][][];
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        const inside = i === j && i > 0;
        expect(Htt[i]![0]![j]).toBeCloseTo(inside ? 1 / t.toFlatArray()[i]! : 0, 14);
        expect(Hxt[i]![0]![j]! + 0).toBe(inside ? -1 : 0); // + 0: −0 and 0 alike
      }
    }
    // logTarget: ∂²/∂t² = eᵗ(t − x + 2); t = −∞ is outside the support.
    const lt = f64([[-Infinity, Math.log(0.4)]]);
    const xl = f64([[-Infinity, -1]]);
    const H = nested(hessian((b: Tensor) => klDiv(xl, b, { reduction: "sum", logTarget: true }))(lt))[0] as number[][][];
    expect(H[0]![0]![0]! + 0).toBe(0);
    expect(H[1]![0]![1]).toBeCloseTo(0.4 * (Math.log(0.4) + 1 + 2), 14);
  });

  test("mseLoss: the Hessian is 2/n·I in x and −2/n·I across (x, t)", () => {
    const x = f64([[1, 2], [3, 4]]);
    const t = f64([[0, 2], [5, 4]]);
    const H = hessian((a: Tensor) => mseLoss(a, t))(x).toFlatArray();
    const J = mixed((u: Tensor, v: Tensor) => mseLoss(u, v), x, t).toFlatArray();
    for (let k = 0; k < 16; k++) {
      expect(H[k]! + 0).toBe(k % 5 === 0 ? 0.5 : 0);
      expect(J[k]! + 0).toBe(k % 5 === 0 ? -0.5 : 0);
    }
  });

  test("logitMatchingLoss: the Hessian in the student is the centring matrix (I − 11ᵀ/C)/(C·B)", () => {
    const s = f64([[0.3, -1.2, 2.5], [1.1, 0.2, -0.4]]);
    const t = f64([[-0.5, 0.9, 1.7], [0.4, 2.1, -1.0]]);
    const H = nested(hessian((a: Tensor) => logitMatchingLoss(a, t))(s)) as number[][][][];
    for (let r = 0; r < 2; r++) {
      expectBlock(H, r, [0, 1, 2].map((i) => [0, 1, 2].map((j) => ((i === j ? 1 : 0) - 1 / 3) / 6)), 1e-15, `row ${r}`);
    }
  });
});

describe("a gradient computed with createGraph has the ordinary gradient's value, bit for bit", () => {
  const s = [[0.3, -1.2, 2.5, 0.7, -3], [1.1, 0.2, -0.4, -2.2, 0.5]];
  const t = [[-0.5, 0.9, 1.7, -1.3, 2], [0.4, 2.1, -1.0, 0.0, -Infinity]];
  const probs = [[0.1, 0.2, 0.3, 0.25, 0.15], [0.5, 0, 0.2, 0.2, 0.1]];
  const cases: [string, (a: Tensor, b: Tensor) => Tensor, number[][], number[][]][] = [
    ["distillationLoss, frozen-teacher kernels", (a, b) => distillationLoss(a, b.detach(), { labels: int([1, 3]), temperature: 1000, alpha: 0.7 }), s, t],
    ["distillationLoss, both gradients", (a, b) => distillationLoss(a, b, { labels: int([1, 3]), temperature: 3, alpha: 0.7 }), s, t],
    ["distillationLoss, no labels", (a, b) => distillationLoss(a, b, { temperature: 0.5 }), s, t],
    ["crossEntropy, labels", (a) => crossEntropy(a, int([4, -100]), { labelSmoothing: 0.1, weight: [1, 2, 3, 4, 5] }), s, t],
    ["crossEntropy, probabilities", (a, b) => crossEntropy(a, b, { reduction: "sum" }), s, probs],
    ["nllLoss", (a) => nllLoss(a, int([4, 1]), { reduction: "none" }).mul(tensor([0.5, 3], { dtype: a.dtype })).sum(), s, t],
    ["klDiv", (a, b) => klDiv(a.logSoftmax(-1), b), s, probs],
    ["mseLoss", (a, b) => mseLoss(a, b.mul(0.5)), s, probs],
    ["logitMatchingLoss", (a, b) => logitMatchingLoss(a, b), s, probs],
  ];
  for (const dtype of ["float64", "float32"] as const) {
    for (const [name, f, a0, b0] of cases) {
      test(`${name} (${dtype}, ${getBackend()})`, () => {
        const a = tensor(a0, { dtype, requiresGrad: true });
        const b = tensor(b0, { dtype, requiresGrad: true });
        const used = [a, b];
        const ordinary = gradients([f(a, b)], used, [], { allowUnused: true });
        const recorded = gradients([f(a, b)], used, [], { createGraph: true, allowUnused: true });
        ordinary.forEach((g, i) => {
          if (g === null) return;
          // nllLoss's gradient is a constant (the loss is linear): no graph to carry.
          if (name !== "nllLoss") expect(recorded[i]!.requiresGrad, `${name} input ${i} carries a graph`).toBe(true);
          expect(Array.from(recorded[i]!.data), `${name} input ${i}`).toEqual(Array.from(g.data));
        });
      });
    }
  }
});
