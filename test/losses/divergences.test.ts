/**
 * distillationLoss's divergences, options and temperature gradient: properties the math
 * implies (docs/distillation-methods.md derives each), checked on random rows. Runs per
 * backend; the float64 properties run the TypeScript kernels either way, the float32 ones
 * the selected backend's.
 */
import fc from "fast-check";
import { test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import {
  DTypeError, Generator, IndexError, ShapeError, Tensor, ValueError, clone, defineOp, distillationLoss, distillationLossComposite, hessian, mul, sigmoid,
  logSoftmax, logitMatchingLoss, noGrad, softmax, standardizeLogits, tensor, type DistillationOptions, type Divergence,
} from "../../src/index.js";
// The shipped `logits` arbitrary (kdgrad/testing/fast-check): it shrinks to near-constant rows and
// rows at the edge of float64's range, where standardization amplifies rounding by up to
// 1/eps and probabilities go subnormal; the bounds below are stated for those rows too.
import { logitRows } from "../arbitraries.js";
import { expectClose } from "../helpers/close.js";

const DIVERGENCES: readonly Divergence[] = ["forward", "reverse", "jsd", "skewForward", "skewReverse", "tvd"];
const SMOOTH: readonly Divergence[] = ["forward", "reverse", "jsd", "skewForward", "skewReverse"];
const leaf = (x: Tensor): Tensor => x.detach().requiresGrad_();
const teacherLike = (x: Tensor, seed: number, maxAbs = 10): Tensor => {
  const rng = new Generator(seed);
  return tensor(Float64Array.from({ length: x.size }, () => (2 * rng.uniform() - 1) * maxAbs), { shape: x.shape });
};
const labelsFor = (x: Tensor, seed: number, ignore = false): Tensor => {
  const rng = new Generator(seed);
  const C = x.shape[x.ndim - 1]!;
  const n = x.size / C;
  return tensor(Int32Array.from({ length: n }, (_, i) => (ignore && i > 0 && rng.below(3) === 0 ? -100 : rng.below(C))), { shape: x.shape.slice(0, -1) });
};
/** The divergence's own parameter (β or λ) in the options. */
const withMix = (d: Divergence, mix: number): DistillationOptions =>
  d === "jsd" ? { divergence: d, beta: mix } : d === "skewForward" || d === "skewReverse" ? { divergence: d, skew: mix } : { divergence: d };
/** f''(1) of each divergence written as Σ q·f(p/q): its second-order size (docs). */
const curvature = (d: Divergence, mix: number): number =>
  d === "jsd" ? mix * (1 - mix) : d === "skewForward" || d === "skewReverse" ? (1 - mix) ** 2 : 1;

/**
 * Φ₁ = max |f̃′(r)| and Φ₂ = max |f̃′(r) + r·f″(r) − f″(1)| over r ∈ [e^{−L}, e^{L}], for D = Σ q·f(p/q)
 * with f̃′ = f′ − f′(1) (docs/distillation-methods.md, "The role of T"), from each divergence's
 * f: forward r·log r, reverse −log r, jsd β·r·log r − μ log μ (μ = 1 + β(r − 1)), skewForward
 * r·log(r/μ) (μ = λr + 1 − λ), skewReverse −log μ (μ = λ + (1 − λ)r). Each expression is
 * monotone in r on either side of 1 except through its sign, so its largest size over a
 * fine grid and the two ends (2001 points, both ends included) is its maximum to the grid's
 * resolution; the grid's step (L/1000 in log r) bounds what a maximum between points adds,
 * and the test adds it (Lipschitz constants below 3 on these ranges).
 */
/** The spacing of float64 numbers at |x| (one ulp). */
const ulp = (x: number): number => (x === 0 ? 5e-324 : 2 ** (Math.floor(Math.log2(Math.abs(x))) - 52));

/**
 * How far standardized logits can move, per row, when each entry of the row moves by at most δ
 * (in addition to the rounding standardizeLogits makes itself). ŝ = (x − μ)/(σ + eps): x − μ moves
 * by 2δ per entry, so ‖Δ(x − μ)‖₂ ≤ 2δ√C and σ = ‖x − μ‖₂/√(C − 1) moves by at most 2δ√(C/(C − 1))
 * ≤ 2√2·δ; with |ŝᵢ| ≤ √(C − 1),
 *   |Δŝᵢ| ≤ [2δ + √(C − 1)·2√2·δ]/(σ + eps) = 2(1 + √(2(C − 1)))·δ/(σ + eps).
 * Its own rounding of μ and of x − μ is such a δ of 2·ulp(max|x|). Near a constant row (σ ≪ eps)
 * this is δ/eps = 1e7·δ: standardization amplifies the rounding of its input by up to 1e7, which
 * no output of it can undo. Without standardize the logits move by δ itself.
 */
/** The unbiased standard deviation of a row (as standardizeLogits takes it; 0 for one entry). */
function sigmaOf(row: number[]): number {
  const mu = row.reduce((a, b) => a + b, 0) / row.length;
  return Math.sqrt(row.reduce((a, b) => a + (b - mu) ** 2, 0) / Math.max(row.length - 1, 1));
}

function standardizedMove(x: Tensor, delta: number[], standardize: boolean): number[] {
  const rows = x.toArray() as number[][];
  return rows.map((row, r) => {
    if (!standardize) return delta[r]!;
    const C = row.length;
    const sigma = sigmaOf(row);
    const own = 2 * ulp(Math.max(...row.map(Math.abs)));
    return (2 * (1 + Math.sqrt(2 * (C - 1))) * (delta[r]! + own)) / (sigma + 1e-7);
  });
}

function derivativeBounds(d: Divergence, mix: number, L: number): [number, number] {
  const f1 = (r: number): number => {
    switch (d) {
      case "forward": return Math.log(r);
      case "reverse": return 1 - 1 / r;
      case "jsd": { const m = 1 + mix * (r - 1); return mix * Math.log(r / m); }
      case "skewForward": { const m = mix * r + 1 - mix; return Math.log(r / m) + (1 - mix) / m - (1 - mix); }
      default: { const m = mix + (1 - mix) * r; return (1 - mix) * (1 - 1 / m); }
    }
  };
  const f2 = (r: number): number => {
    switch (d) {
      case "forward": return 1 / r;
      case "reverse": return 1 / (r * r);
      case "jsd": { const m = 1 + mix * (r - 1); return (mix * (1 - mix)) / (r * m); }
      case "skewForward": { const m = mix * r + 1 - mix; return (1 - mix) ** 2 / (r * m * m); }
      default: { const m = mix + (1 - mix) * r; return (1 - mix) ** 2 / (m * m); }
    }
  };
  const c = f2(1);
  let [a, b] = [0, 0];
  for (let k = 0; k <= 2000; k++) {
    const r = Math.exp(-L + (2 * L * k) / 2000);
    a = Math.max(a, Math.abs(f1(r)));
    b = Math.max(b, Math.abs(f1(r) + r * f2(r) - c));
  }
  const slack = (3 * L) / 1000;
  return [a + slack, b + slack];
}

const divergenceArb = fc.constantFrom(...DIVERGENCES);
const mixArb = fc.double({ min: 0.05, max: 0.95, noNaN: true });

/** Loss, ∂s, ∂t and (with a tensor temperature) ∂T, flattened. */
function run(f: typeof distillationLoss, s: Tensor, t: Tensor, options: DistillationOptions, tensorT = false): number[] {
  const [x, y] = [leaf(s), leaf(t)];
  const T = tensorT ? tensor(options.temperature as number, { dtype: "float64", requiresGrad: true }) : null;
  const l = f(x, y, { ...options, ...(T ? { temperature: T } : {}) });
  const upstream = l.ndim === 0 ? undefined : tensor(Float64Array.from({ length: l.size }, (_, i) => 0.5 + ((i * 7) % 5) / 4), { shape: l.shape });
  l.backward(upstream);
  // A gradient left unset (the teacher at α = 0, in the composite) counts as zeros.
  const g = (v: Tensor): number[] => (v.grad ?? v.detach().mul(0)).toFlatArray();
  return [...l.toFlatArray(), ...g(x), ...g(y), ...(T ? g(T) : [])];
}

/**
 * Per row, a bound on the terms each gradient entry is made of (before the 1/B of 'mean'),
 * summed over the row: [student, teacher]. From the kernel's rules (kernels/divergences.ts),
 *   g_t = c_p·p ⊙ (ℓ_p − K_p) − μ_p·(p ⊙ δρ − p·Σ p·δρ),  ℓ_p = log(p/m), K_p = E_p ℓ_p,
 * and μ_p·|p ⊙ δρ| = μ_p·|κ|·|p − q|·p/m ≤ |κ|(p + q) (m ≥ μ_p·p), likewise g_s with q: the terms
 * of one entry of ∂D/∂(t/T) are at most w·(|log w| + |log m| + max|ℓ|) + 2|κ|(p + q) (TVD: p + q);
 * the soft gradient in the logits is α·T times that (scaleT2). With standardize the
 * standardization's rule dx = [(g − ḡ) − y·⟨g, y⟩·d/((n − 1)σ)]/d sums to exactly 0 for any g,
 * and its own terms are at most Σ|g|·(2 + 2√C)/(σ + eps) (|y| ≤ √(n − 1)). The hard term's
 * (student) are (1 − α)·(softmax(s)ᵢ + [i = y]), summing to 2(1 − α).
 */
function termSizes(s: Tensor, t: Tensor, d: Divergence, mix: number, T: number, alpha: number, standardize: boolean): [number[], number[]] {
  const z = (x: Tensor): Tensor => (standardize ? standardizeLogits(x) : x).div(T);
  const [lq, lp] = [logSoftmax(z(s), -1).toArray() as number[][], logSoftmax(z(t), -1).toArray() as number[][]];
  const [cp, cq, mp, mq] = d === "forward" ? [1, 0, 0, 1] : d === "reverse" ? [0, 1, 1, 0] : d === "jsd" ? [mix, 1 - mix, mix, 1 - mix]
    : d === "skewForward" ? [1, 0, mix, 1 - mix] : d === "skewReverse" ? [0, 1, 1 - mix, mix] : [0, 0, 0, 0];
  const kappa = Math.abs(cp - mp);
  const C = s.shape[1]!;
  const amplify = (x: Tensor): number[] => {
    if (!standardize) return x.sum(-1).mul(0).add(1).toFlatArray();
    const sigma = x.sub(x.mean(-1, true)).pow(2).sum(-1).div(C - 1).sqrt();
    return sigma.add(1e-7).pow(-1).mul(2 + 2 * Math.sqrt(C)).toFlatArray();
  };
  const [as, at] = [amplify(s), amplify(t)];
  const out: [number[], number[]] = [[], []];
  lq.forEach((lqr, r) => {
    const lpr = lp[r]!;
    const q = lqr.map(Math.exp);
    const p = lpr.map(Math.exp);
    const lm = q.map((qi, i) => Math.log(mp * p[i]! + mq * qi));
    const big = Math.max(...lpr.map((v, i) => Math.abs(v - lm[i]!)), ...lqr.map((v, i) => Math.abs(v - lm[i]!)));
    let [S, Tt] = [0, 0];
    for (let i = 0; i < C; i++) {
      const [pi, qi] = [p[i]!, q[i]!];
      if (d === "tvd") {
        S += pi + qi;
        Tt += pi + qi;
        continue;
      }
      if (qi > 0) S += cq * qi * (Math.abs(lqr[i]!) + Math.abs(lm[i]!) + big) + 2 * kappa * (pi + qi);
      if (pi > 0) Tt += cp * pi * (Math.abs(lpr[i]!) + Math.abs(lm[i]!) + big) + 2 * kappa * (pi + qi);
    }
    out[0].push(alpha * T * S * as[r]! + 2 * (1 - alpha));
    out[1].push(alpha * T * Tt * at[r]!);
  });
  return out;
}

describe("the fused kernels equal the composite written with ops (float64)", () => {
  test.prop([
    logitRows({ maxAbs: 20 }), fc.nat(), divergenceArb, mixArb, fc.double({ min: 0.25, max: 1000, noNaN: true }),
    fc.record({ alpha: fc.constantFrom(0, 0.3, 1), labelled: fc.boolean(), ignore: fc.boolean(), scaleT2: fc.boolean(), standardize: fc.boolean(), reduction: fc.constantFrom("mean", "sum", "none" as const), tensorT: fc.boolean(), rank3: fc.boolean() }),
  ])("loss and the gradients in s, t and T agree to 1e-10 (to 1e-10·(T/100)² beyond T = 100)", (s0, seed, d, mix, T, o) => {
    const s = o.rank3 && s0.shape[0]! % 2 === 0 ? s0.reshape([2, s0.shape[0]! / 2, s0.shape[1]!]) : s0;
    const t = teacherLike(s, seed, 20);
    const options: DistillationOptions = {
      ...withMix(d, mix), temperature: T, scaleT2: o.scaleT2, standardize: o.standardize, reduction: o.reduction,
      ...(o.labelled ? { labels: labelsFor(s, seed, o.ignore), alpha: o.alpha } : {}),
    };
    // The composite forms each divergence as Σ w·(log w − log m) from rounded logSoftmax
    // values: an absolute error of about 4ε·(log C + 1) in D, which T² turns into 2e-15·T²
    // (the fused kernels have no such floor): below 1e-10 up to T = 100, and 1e-10·(T/100)²
    // beyond. The gradients' errors grow more slowly (ε·T).
    const atol = 1e-10 * Math.max(1, (T / 100) ** 2);
    // With standardize both paths send their gradient in ŝ, t̂ back through the same
    // standardization rule, whose Jacobian has row sums up to (n + 2)/(σ + eps) (2/d from
    // (I − 11ᵀ/n)/d, n/d from ŷŷᵀ/((n − 1)σ)): the composite's error in ∂L/∂ŝ arrives multiplied
    // by that, up to 5e7 on a constant row (σ = 0). The loss and ∂L/∂T are not multiplied.
    const fused = run(distillationLoss, s, t, options, o.tensorT);
    const comp = run(distillationLossComposite, s, t, options, o.tensorT);
    const values = o.reduction === "none" ? s.size / s.shape[s.ndim - 1]! : 1;
    let amplify = 1;
    if (o.standardize) {
      for (const x of [s, t]) {
        const rows = x.reshape([-1, x.shape[x.ndim - 1]!]).toArray() as number[][];
        for (const row of rows) amplify = Math.max(amplify, (row.length + 2) / (sigmaOf(row) + 1e-7));
      }
    }
    const grads = 2 * s.size;
    expectClose(fused.slice(0, values), comp.slice(0, values), { rtol: 1e-10, atol });
    expectClose(fused.slice(values, values + grads), comp.slice(values, values + grads), { rtol: 1e-10, atol: atol * amplify });
    expectClose(fused.slice(values + grads), comp.slice(values + grads), { rtol: 1e-10, atol });
  });
});

describe("properties of every divergence", () => {
  test.prop([logitRows({ maxAbs: 20 }), fc.nat(), divergenceArb, mixArb, fc.double({ min: 0.25, max: 100, noNaN: true }), fc.boolean()])(
    "D ≥ 0, and D = 0 where s − t is constant along each row",
    (s, seed, d, mix, T, standardize) => {
      const t = teacherLike(s, seed, 20);
      const o = { ...withMix(d, mix), temperature: T, scaleT2: false, standardize, reduction: "none" as const };
      for (const v of distillationLoss(s, t, o).toFlatArray()) expect(v).toBeGreaterThanOrEqual(0);
      const shift = teacherLike(s, seed + 1, 50).slice(1, 0, 1);
      // s + c is rounded, so s − t is constant only up to δ = ½ulp(|s| + |c|) per entry; the logits
      // the divergence sees (standardized or not) then differ by h (standardizedMove) on top of a
      // constant, and logits/T by h/T, so every log-ratio of the two distributions is within 2h/T:
      // TVD ≤ e^{2h/T} − 1, the smooth divergences ≤ (e^{2h/T} − 1)² (each ≤ χ²); 1e-13 for the kernel's own rounding.
      const shifted = s.add(shift);
      const rows = (s.toArray() as number[][]).map((row, r) => 0.5 * ulp(Math.max(...row.map(Math.abs)) + Math.abs(shift.toFlatArray()[r]!)));
      const hs = standardizedMove(s, rows, standardize);
      const ht = standardizedMove(shifted, rows.map(() => 0), standardize);
      distillationLoss(s, shifted, o).toFlatArray().forEach((v, r) => {
        const m = Math.expm1((2 * (hs[r]! + ht[r]!)) / T);
        expect(v, `row ${r}`).toBeLessThan(1e-13 + (d === "tvd" ? m : m * m));
      });
    },
  );

  test.prop([logitRows({ maxAbs: 20 }), fc.nat(), divergenceArb, mixArb, fc.double({ min: 0.25, max: 50, noNaN: true }), fc.constantFrom(0, 0.5, 1), fc.boolean()])(
    "adding a per-row constant to s or to t changes neither the loss nor the gradients",
    (s, seed, d, mix, T, alpha, standardize) => {
      const t = teacherLike(s, seed);
      const c = teacherLike(s, seed + 1, 100).slice(1, 0, 1);
      const o = { ...withMix(d, mix), labels: labelsFor(s, seed), alpha, temperature: T, standardize };
      const base = run(distillationLoss, s, t, o);
      // x + c rounds by δ = ½ulp(|x| + |c|) per entry, which moves the (standardized) logits by h
      // (standardizedMove; ≈ δ without standardize, up to 1e7·δ near a constant row with it).
      // The loss and every gradient entry are smooth in the logits/T and, with standardize, in
      // the standardization's Jacobian (which moves relatively by h too): each value moves by at
      // most 8h·(1 + 1/T) of itself or of the largest gradient entry, to first order, beyond the
      // 1e-9 the kernels' own rounding takes.
      const big = Math.max(...base.map(Math.abs));
      for (const [x, moved] of [[s, run(distillationLoss, s.add(c), t, o)], [t, run(distillationLoss, s, t.add(c), o)]] as const) {
        const cs = c.toFlatArray();
        const delta = (x.toArray() as number[][]).map((row, r) => 0.5 * ulp(Math.max(...row.map(Math.abs)) + Math.abs(cs[r]!)));
        const h = Math.max(...standardizedMove(x, delta, standardize)) * 8 * (1 + 1 / T);
        expectClose(moved, base, { rtol: 1e-9 + h, atol: 1e-11 + h * big });
      }
    },
  );

  test.prop([logitRows({ maxAbs: 20, minClasses: 3 }), fc.nat(), divergenceArb, mixArb, fc.double({ min: 0.25, max: 50, noNaN: true }), fc.double({ min: 0.5, max: 2, noNaN: true })])(
    "with standardize, a positive per-row scale of s and t moves the loss only through eps = 1e-7",
    (s, seed, d, mix, T, a) => {
      const t = teacherLike(s, seed);
      const scale = tensor(Float64Array.from({ length: s.shape[0]! }, (_, i) => a * (1 + i / 4)), { shape: [s.shape[0]!, 1] });
      const o = { ...withMix(d, mix), temperature: T, standardize: true };
      const L1 = distillationLoss(s, t, o).item();
      const L2 = distillationLoss(s.mul(scale), t.mul(scale), o).item();
      // The loss is L(ŝ, t̂) (no labels), ŝ = (s − μ)/(σ + eps); scaling a row by k gives
      // (s − μ)/(σ + eps/k): each ŝᵢ moves by |ŝᵢ|·eps·|1 − 1/k|/σ at most. To first order
      // |ΔL| ≤ Σ|∂L/∂ŝ|·|Δŝ| + Σ|∂L/∂t̂|·|Δt̂|; the gradients come from the unstandardized loss
      // at ŝ, t̂ (the same function), and the second-order rest is below 1e-12·|L|.
      const [sh, th] = [leaf(standardizeLogits(s)), leaf(standardizeLogits(t))];
      // The bound is first order in the move, which is small unless σ is near eps (there a row's
      // standardized logits move by O(1) and the second-order rest is not small): the property
      // is stated for moves below 1e-4 (max over entries of |ŝᵢ|·eps·|1 − 1/k|/σ).
      const predicted = (x: Tensor): number => {
        const sd = x.sub(x.mean(-1, true)).pow(2).sum(-1, true).div(x.shape[1]! - 1).sqrt();
        return standardizeLogits(x).abs().mul(scale.pow(-1).neg().add(1).abs()).mul(1e-7).div(sd.add(1e-300)).max().item();
      };
      fc.pre(predicted(s) <= 1e-4 && predicted(t) <= 1e-4);
      const L0 = distillationLoss(sh, th, { ...withMix(d, mix), temperature: T });
      L0.backward();
      expectClose([L0.item()], [L1], { rtol: 1e-12, atol: 1e-15 });
      // A constant row has σ = 0 and ŝ = 0, and moves through eps not at all. Beside eps, each side
      // is standardized twice (x and k·x), each with its own rounding of μ and x − μ, which
      // standardizedMove bounds (amplified by 1/(σ + eps) near a constant row).
      const ks = scale.toFlatArray();
      const move = (x: Tensor, g: Tensor): number => {
        const sigma = x.sub(x.mean(-1, true)).pow(2).sum(-1, true).div(x.shape[1]! - 1).sqrt();
        const dx = standardizeLogits(x).abs().mul(scale.pow(-1).neg().add(1).abs()).mul(1e-7).div(sigma.add(1e-300));
        const own = standardizedMove(x, ks.map(() => 0), true);
        const scaled = standardizedMove(x.mul(scale), ks.map(() => 0), true);
        const rounding = (g.abs().sum(-1).toFlatArray() as number[]).reduce((acc, gr, r) => acc + gr * (own[r]! + scaled[r]!), 0);
        return g.abs().mul(dx).sum().item() + rounding;
      };
      expect(Math.abs(L2 - L1)).toBeLessThanOrEqual(move(s, sh.grad!) + move(t, th.grad!) + 1e-12 * Math.abs(L1));
    },
  );

  test.prop([logitRows({ maxAbs: 20 }), fc.nat(), divergenceArb, mixArb, fc.double({ min: 0.25, max: 50, noNaN: true }), fc.constantFrom(0, 0.5, 1), fc.boolean()])(
    "gradient rows sum to 0 (student and teacher)",
    (s, seed, d, mix, T, alpha, standardize) => {
      const t = teacherLike(s, seed);
      const [x, y] = [leaf(s), leaf(t)];
      distillationLoss(x, y, { ...withMix(d, mix), labels: labelsFor(s, seed), alpha, temperature: T, standardize }).backward();
      // Each row sums to 0 in real arithmetic (a shift of s or t changes nothing); in float64
      // each entry is formed to a few ulps of the terms it is made of (termSizes), and the
      // row's sum of C entries keeps at most 32·C·ε of their total.
      const [B, C] = s.shape as [number, number];
      const sizes = termSizes(s, t, d, mix, T, alpha, standardize);
      [x.grad!, y.grad!].forEach((g, side) => {
        (g.toArray() as number[][]).forEach((row, r) => {
          const sum = row.reduce((a, b) => a + b, 0);
          expect(Math.abs(sum), `${side ? "teacher" : "student"} row ${r}`).toBeLessThanOrEqual((32 * C * Number.EPSILON * sizes[side]![r]!) / B + 1e-300);
        });
      });
    },
  );

  test.prop([logitRows({ maxAbs: 20 }), fc.nat(), fc.double({ min: 0.25, max: 100, noNaN: true }), fc.boolean()])(
    "the reverse KL is the forward KL with the roles swapped, and both vanish on equal distributions",
    (s, seed, T, standardize) => {
      const t = teacherLike(s, seed, 20);
      const o = { temperature: T, standardize, reduction: "none" as const };
      expectClose(distillationLoss(s, t, { ...o, divergence: "reverse" }), distillationLoss(t, s, o), { rtol: 1e-12, atol: 1e-300 });
      expect(Math.max(...distillationLoss(s, s, { ...o, divergence: "reverse" }).toFlatArray())).toBe(0);
    },
  );

  test.prop([logitRows({ maxAbs: 20 }), fc.nat(), fc.double({ min: 0.25, max: 100, noNaN: true })])(
    "the JSD at β = ½ is symmetric in student and teacher, and so is its gradient",
    (s, seed, T) => {
      const t = teacherLike(s, seed, 20);
      const o = { divergence: "jsd" as const, beta: 0.5, temperature: T, reduction: "none" as const };
      expectClose(distillationLoss(s, t, o), distillationLoss(t, s, o), { rtol: 1e-12, atol: 1e-300 });
      const [a, b] = [leaf(s), leaf(t)];
      distillationLoss(a, b, o).sum().backward();
      const [c, e] = [leaf(t), leaf(s)];
      distillationLoss(c, e, o).sum().backward();
      // Each entry is formed to a few ulps of its terms (termSizes), both ways round.
      const sizes = termSizes(s, t, "jsd", 0.5, T, 1, false);
      const atol = 16 * Number.EPSILON * Math.max(...sizes[0], ...sizes[1]);
      expectClose(a.grad!, e.grad!, { rtol: 1e-10, atol });
      expectClose(b.grad!, c.grad!, { rtol: 1e-10, atol });
    },
  );

  test.prop([logitRows({ maxAbs: 1e4 }), fc.nat(), mixArb, fc.constantFrom(1e-3, 0.1, 1, 10), fc.boolean()])(
    "JSD_β ≤ H(β) = −β log β − (1 − β) log(1 − β) (log 2 at β = ½), TVD ≤ 1, even at ±1e4 and masked classes",
    (s, seed, beta, T, mask) => {
      let t = teacherLike(s, seed, 1e4);
      if (mask) t = t.add(tensor(Float64Array.from({ length: s.size }, (_, i) => (i % 3 === 1 ? -Infinity : 0)), { shape: s.shape }));
      const H = -beta * Math.log(beta) - (1 - beta) * Math.log1p(-beta);
      const o = { temperature: T, scaleT2: false, reduction: "none" as const };
      for (const v of distillationLoss(s, t, { ...o, divergence: "jsd", beta }).toFlatArray()) expect(v).toBeLessThanOrEqual(H * (1 + 4 * s.shape[1]! * Number.EPSILON));
      for (const v of distillationLoss(s, t, { ...o, divergence: "tvd" }).toFlatArray()) expect(v).toBeLessThanOrEqual(1 + 4 * s.shape[1]! * Number.EPSILON);
    },
  );

  test("the JSD's limits: divided by β it tends to the forward KL as β → 0, by 1 − β to the reverse KL as β → 1", () => {
    const s = tensor([[1, -2, 0.5, 3], [0, 0, 1, -1]], { dtype: "float64" });
    const t = tensor([[0, 1, -1, 2], [2, -1, 0, 0]], { dtype: "float64" });
    const o = { temperature: 2, scaleT2: false, reduction: "none" as const };
    const fwd = distillationLoss(s, t, o).toFlatArray();
    const rev = distillationLoss(s, t, { ...o, divergence: "reverse" }).toFlatArray();
    for (const beta of [1e-4, 1e-6]) {
      const j = distillationLoss(s, t, { ...o, divergence: "jsd", beta }).toFlatArray();
      // JSD_β/β = KL(p_t ‖ p_s) − (β/2)·χ²-type terms: the error is O(β).
      j.forEach((v, i) => expect(Math.abs(v / beta - fwd[i]!)).toBeLessThan(100 * beta));
      const k = distillationLoss(s, t, { ...o, divergence: "jsd", beta: 1 - beta }).toFlatArray();
      k.forEach((v, i) => expect(Math.abs(v / beta - rev[i]!)).toBeLessThan(100 * beta));
    }
    // And skew λ = 0 is the plain KL, to the last bits.
    expectClose(distillationLoss(s, t, { ...o, divergence: "skewForward", skew: 0 }), distillationLoss(s, t, o), { rtol: 1e-14, atol: 0 });
    expectClose(distillationLoss(s, t, { ...o, divergence: "skewReverse", skew: 0 }), distillationLoss(s, t, { ...o, divergence: "reverse" }), { rtol: 1e-14, atol: 0 });
  });
});

describe("the role of T", () => {
  test.prop([logitRows({ maxAbs: 3, minClasses: 3 }), fc.nat(), divergenceArb, mixArb, fc.constantFrom(100, 200, 500, 1000)])(
    "the unscaled soft gradient shrinks ≈100× when T grows 10× (T ≥ 100); TVD's only ≈10×",
    (s, seed, d, mix, T) => {
      const t = teacherLike(s, seed + 1, 3);
      fc.pre(Math.max(...s.sub(t).sub(s.sub(t).mean(-1, true)).abs().toFlatArray()) > 1e-3);
      const grad = (temperature: number): number => {
        const x = leaf(s);
        distillationLoss(x, t, { ...withMix(d, mix), temperature, scaleT2: false }).backward();
        return Math.sqrt(x.grad!.pow(2).sum().item());
      };
      const ratio = grad(T) / grad(10 * T);
      // T²·D has a T-free limit (f''(1)× logit matching), so ∂D/∂s = O(1/T²); T·TVD has one
      // (Σ|δ̃|/2C), so TVD's gradient is O(1/T). The relative corrections are O(R/T), with a
      // constant that grows with f'''(1)/f''(1) (largest for the skews at λ near 1); at T ≥ 100
      // and logits within ±3 they stay inside the forward KL's window of distillation.test.ts.
      if (d === "tvd") {
        expect(ratio).toBeGreaterThan(8.5);
        expect(ratio).toBeLessThan(11.8);
      } else {
        expect(ratio).toBeGreaterThan(85);
        expect(ratio).toBeLessThan(118);
      }
    },
  );

  test.prop([logitRows({ maxAbs: 5 }), fc.nat(), fc.constantFrom(...SMOOTH), mixArb, fc.double({ min: 1, max: 1e4, noNaN: true })])(
    "T²·D → f''(1) × the logit-matching loss, within the derived O(1/T) bound",
    (s, seed, d, mix, T) => {
      const t = teacherLike(s, seed + 1, 5);
      const o = { ...withMix(d, mix), temperature: T, reduction: "none" as const };
      const got = distillationLoss(s, t, o).toFlatArray();
      const centre = (x: Tensor): Tensor => x.sub(x.mean(-1, true));
      const C = s.shape[1]!;
      const lm = centre(s.sub(t)).pow(2).sum(-1).div(2 * C).toFlatArray();
      const R = (x: Tensor): number[] => centre(x).abs().max(-1).toFlatArray();
      const [Rs, Rt] = [R(s), R(t)];
      const f2 = curvature(d, mix);
      got.forEach((v, r) => {
        // docs/distillation-methods.md, "The role of T": with L = 2(R_s + R_t)/T the range of
        // log(p/q) along the path, Φ₁ = max |f̃′(r)| and Φ₂ = max |f̃′(r) + r·f″(r) − f″(1)| over
        // r ∈ [e^{−L}, e^{L}], and R = max(R_s, R_t):
        //   |T²·D − f″(1)·LM| ≤ LM·[f″(1)(e^{2R/T} − 1) + (Φ₁ + Φ₂)·e^{2R/T}].
        const L = (2 * (Rs[r]! + Rt[r]!)) / T;
        const [phi1, phi2] = derivativeBounds(d, mix, L);
        const Rm = Math.max(Rs[r]!, Rt[r]!);
        const bound = lm[r]! * (f2 * Math.expm1((2 * Rm) / T) + (phi1 + phi2) * Math.exp((2 * Rm) / T));
        expect(Math.abs(v - f2 * lm[r]!), `${d} row ${r}`).toBeLessThanOrEqual(bound + 1e-12 * f2 * lm[r]!);
      });
    },
  );

  test.prop([logitRows({ maxAbs: 5 }), fc.nat(), fc.double({ min: 10, max: 1e5, noNaN: true })])(
    "T·TVD → Σ|δ̃|/(2C), within C·(R_s² + R_t²)/T per row",
    (s, seed, T) => {
      const t = teacherLike(s, seed + 1, 5);
      const [B, C] = s.shape as [number, number];
      const centre = (x: Tensor): Tensor => x.sub(x.mean(-1, true));
      const delta = centre(s.sub(t));
      const limit = delta.abs().sum(-1).div(2 * C).toFlatArray();
      const got = distillationLoss(s, t, { divergence: "tvd", temperature: T, scaleT2: false, reduction: "none" }).mul(T).toFlatArray();
      // docs/distillation.md (a): |T(p_t − p_s)ᵢ − (t̃ − s̃)ᵢ/C| ≤ 2(R_s² + R_t²)/T per entry,
      // so |T·TVD − Σ|δ̃|/2C| ≤ ½·C·2(R_s² + R_t²)/T.
      const R = (x: Tensor): number[] => (centre(x).abs().max(-1).toFlatArray());
      const [Rs, Rt] = [R(s), R(t)];
      for (let r = 0; r < B; r++) expect(Math.abs(got[r]! - limit[r]!)).toBeLessThanOrEqual((C * (Rs[r]! ** 2 + Rt[r]! ** 2)) / T + 1e-12);
    },
  );

  test.prop([logitRows({ maxAbs: 5 }), fc.nat(), divergenceArb, mixArb, fc.double({ min: 0.5, max: 20, noNaN: true }), fc.boolean()])(
    "∂L/∂T agrees with a central difference in T",
    (s, seed, d, mix, T, scaleT2) => {
      const t = teacherLike(s, seed + 1, 5);
      const labels = labelsFor(s, seed);
      const o = { ...withMix(d, mix), labels, alpha: 0.7, scaleT2 };
      const temperature = tensor(T, { dtype: "float64", requiresGrad: true });
      distillationLoss(s, t, { ...o, temperature }).backward();
      const h = 1e-6 * T;
      const f = (v: number): number => distillationLoss(s, t, { ...o, temperature: v }).item();
      const numeric = (f(T + h) - f(T - h)) / (2 * h);
      // Central differences: truncation h²·|f'''|/6 and rounding ε·|f|/h; both below 1e-6·(1 + |f|).
      expect(Math.abs(temperature.grad!.item() - numeric)).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(f(T))));
    },
  );
});

describe("rows, reductions and ignored labels", () => {
  test.prop([logitRows({ maxAbs: 10, minRows: 2, maxRows: 6 }), fc.nat(), divergenceArb, mixArb, fc.boolean()])(
    "mean·count = sum = Σ none; ignored rows are 0 in 'none' and drop out of the mean",
    (s, seed, d, mix, standardize) => {
      const t = teacherLike(s, seed);
      const labels = labelsFor(s, seed, true);
      const o = { ...withMix(d, mix), labels, temperature: 3, standardize };
      const none = distillationLoss(s, t, { ...o, reduction: "none" }).toFlatArray();
      const kept = labels.toFlatArray().map((v) => v !== -100);
      none.forEach((v, i) => { if (!kept[i]) expect(v).toBe(0); });
      const sum = distillationLoss(s, t, { ...o, reduction: "sum" }).item();
      const mean = distillationLoss(s, t, o).item();
      const count = kept.filter(Boolean).length;
      expectClose([sum], [none.reduce((a, b) => a + b, 0)], { rtol: 1e-14, atol: 1e-300 });
      expectClose([mean * count], [sum], { rtol: 1e-14, atol: 1e-300 });
      // The mean over the counted rows is the loss of those rows alone.
      const rows = kept.flatMap((k, i) => (k ? [i] : []));
      const pick = (x: Tensor): Tensor => tensor(rows.flatMap((i) => (x.toArray() as number[][])[i]!), { shape: [rows.length, s.shape[1]!], dtype: "float64" });
      const alone = distillationLoss(pick(s), pick(t), { ...o, labels: tensor(rows.map((i) => labels.toFlatArray()[i]!), { dtype: "int32" }) }).item();
      expectClose([mean], [alone], { rtol: 1e-13, atol: 1e-300 });
    },
  );

  test("[B, L, C] is the same loss as its rows flattened to [B·L, C], value and gradients, for every reduction", () => {
    const rng = new Generator(3);
    const s = tensor(Float64Array.from({ length: 2 * 3 * 5 }, () => rng.normal() * 3), { shape: [2, 3, 5] });
    const t = tensor(Float64Array.from({ length: 30 }, () => rng.normal() * 3), { shape: [2, 3, 5] });
    const labels = tensor([[1, -100, 4], [0, 2, -100]], { dtype: "int32" });
    for (const d of DIVERGENCES) {
      for (const reduction of ["mean", "sum", "none"] as const) {
        const o = { ...withMix(d, 0.3), temperature: 2, alpha: 0.6, reduction };
        const a = run(distillationLoss, s, t, { ...o, labels });
        const b = run(distillationLoss, s.reshape([6, 5]), t.reshape([6, 5]), { ...o, labels: labels.reshape([6]) });
        expect(a).toEqual(b);
      }
    }
  });

  test("every row ignored: 'mean' is 0 with zero gradients (PyTorch: NaN), 'sum' 0, 'none' zeros", () => {
    const s = tensor([[1, 2, 3], [0, -1, 5]], { dtype: "float64" });
    const t = tensor([[0, 2, 1], [3, 3, 0]], { dtype: "float64" });
    const labels = tensor([-100, -100], { dtype: "int32" });
    for (const d of DIVERGENCES) {
      for (const reduction of ["mean", "sum", "none"] as const) {
        for (const tensorT of [false, true]) {
          const got = run(distillationLoss, s, t, { ...withMix(d, 0.2), labels, temperature: 2, reduction }, tensorT);
          expect(got.every((v) => v === 0), `${d} ${reduction}`).toBe(true);
        }
      }
    }
    // ignoreIndex may be any integer, a class index too.
    const l = distillationLoss(s, t, { labels: tensor([0, 0], { dtype: "int32" }), ignoreIndex: 0 });
    expect(l.item()).toBe(0);
  });

  test("the original call is unchanged: a tensor temperature that needs no gradient, and [B, L, C] with 'mean', give its exact numbers", () => {
    const rng = new Generator(9);
    const s = tensor(Float64Array.from({ length: 24 }, () => rng.normal() * 4), { shape: [2, 3, 4] });
    const t = tensor(Float64Array.from({ length: 24 }, () => rng.normal() * 4), { shape: [2, 3, 4] });
    const labels = tensor([[0, 1, 2], [3, 0, 1]], { dtype: "int32" });
    const flat = run(distillationLoss, s.reshape([6, 4]), t.reshape([6, 4]), { labels: labels.reshape([6]), temperature: 3 });
    expect(run(distillationLoss, s, t, { labels, temperature: 3 })).toEqual(flat);
    expect(run(distillationLoss, s.reshape([6, 4]), t.reshape([6, 4]), { labels: labels.reshape([6]), temperature: tensor(3, { dtype: "float64" }) })).toEqual(flat);
    // And the general kernel (reached here by 'sum') agrees with it to a few ulps.
    const viaSum = run(distillationLoss, s.reshape([6, 4]), t.reshape([6, 4]), { labels: labels.reshape([6]), temperature: 3, reduction: "sum" });
    expectClose(viaSum.map((v, i) => (i === 0 ? v / 6 : v / 6)), flat, { rtol: 1e-13, atol: 1e-16 });
  });
});

describe("second order", () => {
  test.prop([fc.integer({ min: 2, max: 5 }), fc.nat(), fc.constantFrom(...SMOOTH), mixArb, fc.constantFrom(0.5, 2, 7), fc.boolean()])(
    "where p_t = p_s, the soft term's Hessian in (s, t) is α·T^{k−2}·f''(1)·[[J, −J], [−J, J]]/B, J = diag p − ppᵀ",
    (C, seed, d, mix, T, scaleT2) => {
      const rng = new Generator(seed);
      const s = tensor(Float64Array.from({ length: 2 * C }, () => rng.normal() * 2), { shape: [2, C] });
      const shift = tensor([[1.5], [-0.75]], { dtype: "float64" });
      const t = s.add(shift);
      const n = 2 * C;
      const H = hessian((x: Tensor) => {
        const [a, b] = [x.slice(0, 0, n).reshape([2, C]), x.slice(0, n).reshape([2, C])];
        return distillationLoss(a, b, { ...withMix(d, mix), temperature: T, scaleT2 });
      })(tensor(Float64Array.from([...s.toFlatArray(), ...t.toFlatArray()]), { dtype: "float64" })).toArray() as number[][];
      const p = noGrad(() => softmax(s.div(T), -1)).toArray() as number[][];
      const k = (scaleT2 ? 1 : 1 / (T * T)) * curvature(d, mix) / 2;
      for (let i = 0; i < 2 * n; i++) {
        for (let j = 0; j < 2 * n; j++) {
          const [ri, ci, si] = [Math.floor((i % n) / C), i % C, i < n ? 1 : -1];
          const [rj, cj, sj] = [Math.floor((j % n) / C), j % C, j < n ? 1 : -1];
          const J = ri !== rj ? 0 : (ci === cj ? p[ri]![ci]! : 0) - p[ri]![ci]! * p[ri]![cj]!;
          expect(Math.abs(H[i]![j]! - k * si * sj * J), `${d} H[${i}][${j}]`).toBeLessThan(1e-9);
        }
      }
    },
  );
});

describe("non-finite inputs", () => {
  test.prop([logitRows({ maxAbs: 1e4, minClasses: 3 }), fc.nat(), divergenceArb, mixArb, fc.constantFrom(1e-6, 1, 4, 100, 1e6), fc.boolean()])(
    "logits over ±1e4 and extreme T: finite loss and gradients, for every divergence",
    (s, seed, d, mix, T, standardize) => {
      const t = teacherLike(s, seed, 1e4);
      const got = run(distillationLoss, s, t, { ...withMix(d, mix), labels: labelsFor(s, seed), alpha: 0.5, temperature: T, standardize }, true);
      for (const v of got) expect(Number.isFinite(v)).toBe(true);
    },
  );

  test("a class where both probabilities are near the smallest subnormal (e^−744): the skewed KLs' gradients stay finite and equal those with that teacher class masked", () => {
    // The mixture m = μ_p·p + μ_q·q of two probabilities at 5e-324 rounds to 0, and p/m was 0/0 =
    // NaN in every gradient of the row (found by the shipped logits arbitrary). Such a class adds
    // at most 1e-320 to anything, so masking the teacher's side of it must change nothing visible.
    const s = tensor([[-2976.1384272530927, 0, 0, 0], [0, 1, 0, -1]], { dtype: "float64" });
    const t = tensor([[3431.5608753506076, -448.7322271801841, -9491.97761281535, 6407.361643530658], [1, 0, 2, 0]], { dtype: "float64" });
    const masked = t.clone();
    masked.data[0] = -Infinity;
    for (const divergence of ["skewForward", "skewReverse"] as const) {
      for (const skew of [0.1, 0.75]) {
        const o: DistillationOptions = { divergence, skew, temperature: 4, labels: tensor([0, 2], { dtype: "int32" }), alpha: 0.5 };
        const got = run(distillationLoss, s, t, o);
        for (const v of got) expect(Number.isFinite(v), `${divergence} λ = ${skew}`).toBe(true);
        const want = run(distillationLoss, s, masked, o);
        // The teacher's gradient at the masked class is 0 by the policy; here it is the subnormal truth.
        expectClose(got.slice(0, 9), want.slice(0, 9), { rtol: 1e-14, atol: 1e-300 });
        expectClose(got.slice(10), want.slice(10), { rtol: 1e-14, atol: 1e-300 });
      }
    }
  });

  test("masked classes: a class both sides mask adds nothing; where one side alone masks, D is finite or +∞ as the math says", () => {
    const s = tensor([[0, 1, -Infinity, 2], [0, -Infinity, 1, 0.5]], { dtype: "float64" });
    const t = tensor([[1, -Infinity, -Infinity, 0], [0, 3, 1, -Infinity]], { dtype: "float64" });
    // Row 0: the teacher masks class 1 (the student has mass there); both mask class 2.
    // Row 1: the student masks class 1 (the teacher has mass there); the teacher masks class 3.
    const o = { temperature: 2, scaleT2: false, reduction: "none" as const };
    const D = (d: Divergence): number[] => distillationLoss(s, t, { ...withMix(d, 0.3), ...o }).toFlatArray();
    const [f, r, j, sf, sr, tv] = DIVERGENCES.map(D);
    // KL(p_t ‖ p_s) is +∞ where the teacher has mass the student lacks (row 1), finite in row 0.
    expect(Number.isFinite(f![0]!)).toBe(true);
    expect(f![1]).toBe(Infinity);
    // KL(p_s ‖ p_t): +∞ in both rows (the student has mass on classes the teacher masks).
    expect(r).toEqual([Infinity, Infinity]);
    // The mixtures have full support: JSD and both skews (λ = 0.3 > 0) are finite.
    for (const v of [...j!, ...sf!, ...sr!, ...tv!]) expect(Number.isFinite(v)).toBe(true);
    // …and equal the composite's values there.
    for (const d of ["jsd", "skewForward", "skewReverse", "tvd"] as const) {
      expectClose(distillationLoss(s, t, { ...withMix(d, 0.3), ...o }), distillationLossComposite(s, t, { ...withMix(d, 0.3), ...o }), { rtol: 1e-12, atol: 1e-15 });
    }
    // Gradients through the finite ones are finite, and 0 at a class both sides mask.
    for (const d of ["jsd", "skewForward", "skewReverse", "tvd"] as const) {
      const [x, y] = [leaf(s), leaf(t)];
      distillationLoss(x, y, { ...withMix(d, 0.3), temperature: 2 }).backward();
      const [gs, gt] = [x.grad!.toArray() as number[][], y.grad!.toArray() as number[][]];
      for (const v of [...gs.flat(), ...gt.flat()]) expect(Number.isFinite(v), d).toBe(true);
      expect(gs[0]![2]).toBe(0);
      expect(gt[0]![2]).toBe(0);
    }
  });

  test("NaN in, NaN out (that row only, with 'none'); a weight-0 term's NaN is never read", () => {
    const s = tensor([[0, NaN, 1], [0, 1, 2]], { dtype: "float64" });
    const t = tensor([[0, 1, 2], [1, 0, 2]], { dtype: "float64" });
    for (const d of DIVERGENCES) {
      const l = distillationLoss(s, t, { ...withMix(d, 0.3), temperature: 2, reduction: "none" }).toFlatArray();
      expect(Number.isNaN(l[0]!), d).toBe(true);
      expect(Number.isFinite(l[1]!), d).toBe(true);
      const nanTeacher = tensor([[0, NaN, 1], [0, 1, 2]], { dtype: "float64" });
      expect(Number.isNaN(distillationLoss(t, nanTeacher, { ...withMix(d, 0.3), temperature: 2 }).item())).toBe(true);
      // α = 0: the teacher is not read.
      expect(Number.isFinite(distillationLoss(t, nanTeacher, { ...withMix(d, 0.3), labels: tensor([0, 1], { dtype: "int32" }), alpha: 0 }).item())).toBe(true);
    }
  });
});

describe("float32 inputs", () => {
  test.prop([logitRows({ maxAbs: 20 }), fc.nat(), divergenceArb, mixArb, fc.double({ min: 0.25, max: 100, noNaN: true }), fc.boolean()])(
    "float32 logits give the float64 loss of the same values to 1e-6 relative, and float32 gradients",
    (s, seed, d, mix, T, standardize) => {
      const s32 = s.to("float32");
      const t32 = teacherLike(s, seed, 20).to("float32");
      const o = { ...withMix(d, mix), labels: labelsFor(s, seed), alpha: 0.5, temperature: T, standardize };
      const [x, y] = [leaf(s32), leaf(t32)];
      const l = distillationLoss(x, y, o);
      l.backward();
      expect(l.dtype).toBe("float32");
      expect(x.grad!.dtype).toBe("float32");
      const ref = distillationLoss(s32.to("float64"), t32.to("float64"), o).item();
      expectClose([l.item()], [ref], { rtol: 1e-6, atol: 0 });
    },
  );
});

describe("argument checks name the function, the argument and the value", () => {
  const s = tensor([[1, 2, 3], [0, 1, 0]], { dtype: "float64" });
  const t = tensor([[0, 1, 3], [1, 1, 0]], { dtype: "float64" });
  const cases: [string, () => unknown, new (...a: never[]) => Error, RegExp][] = [
    ["jsd β = 0", () => distillationLoss(s, t, { divergence: "jsd", beta: 0 }), ValueError, /^distillationLoss: beta = 0 .*use divergence "forward"$/],
    ["jsd β = 1", () => distillationLoss(s, t, { divergence: "jsd", beta: 1 }), ValueError, /^distillationLoss: beta = 1 .*use divergence "reverse"$/],
    ["jsd β out", () => distillationLoss(s, t, { divergence: "jsd", beta: 1.5 }), ValueError, /beta must be in the open interval \(0, 1\), got 1\.5/],
    ["jsd β NaN", () => distillationLoss(s, t, { divergence: "jsd", beta: NaN }), ValueError, /got NaN/],
    ["β without jsd", () => distillationLoss(s, t, { beta: 0.5 }), ValueError, /beta applies only to divergence "jsd", got beta 0\.5 with divergence "forward"/],
    ["skew = 1", () => distillationLoss(s, t, { divergence: "skewForward", skew: 1 }), ValueError, /^distillationLoss: skew must be in \[0, 1\), got 1 /],
    ["skew < 0", () => distillationLoss(s, t, { divergence: "skewReverse", skew: -0.1 }), ValueError, /skew must be in \[0, 1\), got -0\.1/],
    ["skew without a skew", () => distillationLoss(s, t, { divergence: "tvd", skew: 0.1 }), ValueError, /skew applies only to/],
    ["divergence", () => distillationLoss(s, t, { divergence: "kl" as Divergence }), ValueError, /^distillationLoss: divergence must be one of "forward", .*, got "kl"$/],
    ["scaleT2", () => distillationLoss(s, t, { scaleT2: 1 as unknown as boolean }), ValueError, /^distillationLoss: scaleT2 must be true or false, got 1$/],
    ["standardize", () => distillationLoss(s, t, { standardize: "yes" as unknown as boolean }), ValueError, /standardize must be true or false, got "yes"/],
    ["ignoreIndex", () => distillationLoss(s, t, { ignoreIndex: 0.5 }), ValueError, /ignoreIndex must be an integer, got 0\.5/],
    ["reduction", () => distillationLoss(s, t, { reduction: "batchmean" as "mean" }), ValueError, /reduction must be one of 'mean', 'sum', 'none', got "batchmean"/],
    ["tensor T shape", () => distillationLoss(s, t, { temperature: tensor([2], { dtype: "float64" }) }), ShapeError, /^distillationLoss: temperature as a Tensor must be a scalar \(shape \[\]\), got \[1\]$/],
    ["tensor T dtype", () => distillationLoss(s, t, { temperature: tensor(2, { dtype: "int32" }) }), DTypeError, /temperature must be a number or a float32\/float64 scalar Tensor, got an int32 Tensor/],
    ["tensor T range", () => distillationLoss(s, t, { temperature: tensor(-1, { dtype: "float64", requiresGrad: true }) }), ValueError, /^distillationLoss: temperature must be in \[1e-6, 1e6\], got -1 \(a Tensor\)$/],
    ["tensor T NaN", () => distillationLoss(s, t, { temperature: tensor(NaN, { dtype: "float64" }) }), ValueError, /got NaN \(a Tensor\)/],
    ["labels shape 3-D", () => distillationLoss(s.reshape([1, 2, 3]), t.reshape([1, 2, 3]), { labels: tensor([0, 1], { dtype: "int32" }) }), ShapeError, /labels has shape \[2\] but the input needs \[1,2\]/],
    ["label", () => distillationLoss(s, t, { labels: tensor([0, -1], { dtype: "int32" }) }), IndexError, /labels\[1\] = -1 is out of range \[0, 3\) and is not ignoreIndex \(-100\)/],
    ["no classes", () => distillationLoss(tensor(new Float64Array(0), { shape: [2, 0] }), tensor(new Float64Array(0), { shape: [2, 0] })), ShapeError, /student must have at least one class, got shape \[2,0\]/],
    ["composite", () => distillationLossComposite(s, t, { divergence: "jsd", beta: 0 }), ValueError, /^distillationLossComposite: beta = 0/],
  ];
  for (const [name, f, cls, message] of cases) {
    test(name, () => {
      expect(f).toThrow(cls);
      expect(f).toThrow(message);
    });
  }
});

describe("a learned temperature", () => {
  test("CTKD's reversal layer on T = t_start + t_range·sigmoid(θ) (the op of docs/distillation-methods.md): θ gets −λ times the plain gradient", () => {
    const reverse = defineOp({
      name: "gradientReversal",
      forward(ctx, x: Tensor, lambda: number): Tensor {
        ctx.save({ lambda });
        return clone(x);
      },
      backward(ctx, g) {
        return [mul(g, -ctx.saved.lambda), null];
      },
    });
    const s = tensor([[1, -0.5, 2], [0.3, 0, -1]], { dtype: "float64" });
    const t = tensor([[0, 1, 1.5], [2, -1, 0]], { dtype: "float64" });
    const labels = tensor([2, 0], { dtype: "int32" });
    const grad = (lambda: number | null): number => {
      const theta = tensor([0.4], { dtype: "float64", requiresGrad: true });
      const T = sigmoid(theta).mul(9).add(1).reshape([]);
      distillationLoss(s, t, { labels, temperature: lambda === null ? T : reverse(T, lambda) }).backward();
      return theta.grad!.item();
    };
    const plain = grad(null);
    expect(plain).not.toBe(0);
    expectClose([grad(0.5)], [-0.5 * plain], { rtol: 1e-15, atol: 0 });
  });
});
