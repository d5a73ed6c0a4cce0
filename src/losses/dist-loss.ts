import { defineOp } from "../ops/define-op.js";
import { Tensor } from "../tensor/tensor.js";
import { ValueError } from "../tensor/errors.js";
import { kernel } from "../kernels/registry.js";
import { compare, contiguousData } from "../ops/elementwise.js";
import { div } from "../ops/div.js";
import { maximum } from "../ops/maximum.js";
import { mean } from "../ops/mean.js";
import { mul } from "../ops/mul.js";
import { softmax } from "../ops/softmax.js";
import { sqrt } from "../ops/sqrt.js";
import { sub } from "../ops/sub.js";
import { sum } from "../ops/sum.js";
import { add } from "../ops/add.js";
import { where } from "../ops/where.js";
import { handOverGradients, withGraph } from "./fused-gradients.js";
import { checkPair, checkTermWeight } from "./kd-method-checks.js";
import { checkOptions } from "../tensor/options.js";

/** The guard on each centred norm, max(‖·‖, NORM_EPS): DIST's ε (the authors' code and torchdistill's). */
export const NORM_EPS = 1e-8;

/** Options of `distLoss` (DIST): the weights of the inter-class (β) and intra-class (γ) correlation terms, and the temperature. */
export interface DistOptions {
  /** β, the weight of the inter-class (row) relation (finite, ≥ 0). Default 1. */
  beta?: number;
  /** γ, the weight of the intra-class (column) relation (finite, ≥ 0). Default 1. */
  gamma?: number;
  /** T in [1e-6, 1e6]. Default 1. */
  temperature?: number;
}

/**
 * distLoss(student, teacher, { beta = 1, gamma = 1, temperature = 1 }) — DIST, knowledge
 * distillation from a stronger teacher (Huang et al., NeurIPS 2022), fused. student and
 * teacher are logits [B, C] with B ≥ 2 (the intra-class relation correlates each class
 * over the batch; a batch of one row is a ValueError); the result is a scalar:
 *
 *   L = T²·[β·(1 − (1/B)·Σᵢ ρ(Y_s,i, Y_t,i)) + γ·(1 − (1/C)·Σⱼ ρ(Y_s[:, j], Y_t[:, j]))],
 *   Y = softmax(logits/T) row by row,
 *   ρ(a, b) = ⟨ã, b̃⟩/(max(‖ã‖, ε)·max(‖b̃‖, ε)),  x̃ = x − mean(x),  ε = 1e-8,
 *
 * the Pearson correlation of each row (inter-class relation) and of each column
 * (intra-class relation). The guard ε is on each norm, as torchdistill's DISTLoss (through
 * PyTorch's cosine_similarity); the authors' code adds ε to the product of the norms
 * instead (a relative difference of about 1e-8/(‖ã‖·‖b̃‖), 3e-6 on typical rows).
 *
 * Backward. For one pair with both norms above ε, N_a = ‖ã‖, â = ã/N_a, b̂ = b̃/N_b,
 * ρ = ⟨â, b̂⟩. The centring is a projection P (symmetric, Pã = ã), and
 * ∂N_a/∂ã = â, so
 *   ∂ρ/∂a = P·∂ρ/∂ã = (b̂ − ρ·â)/N_a,   ∂ρ/∂b = (â − ρ·b̂)/N_b.
 * When a norm is at or below ε the guard makes it the constant ε (derivative 0):
 *   ∂ρ/∂a = b̃/(max(N_a, ε)·max(N_b, ε)) − [N_a > ε]·ρ·ã/N_a².
 * With G = ∂L/∂Y_s = −T²·[β/B·∂ρ_row/∂a + γ/C·∂ρ_col/∂a] (entry (i, j) collects its row's
 * and its column's correlation), the softmax of s/T gives
 *   ∂L/∂s = (1/T)·Y_s ⊙ (G − ⟨G, Y_s⟩_row),   ∂L/∂t likewise with ∂ρ/∂b and Y_t.
 * Checks. ⟨∂ρ/∂a, ã⟩ = (ρ − ρ)/… = 0 (ρ ignores a positive scale of ã) and Σ ∂ρ/∂a = 0
 * (nor a constant shift); each row of ∂L/∂s sums to 0 (the softmax). At s = t every
 * unguarded ρ is 1 and b̂ = â: the gradients vanish.
 * T: ρ ignores the scale of ã, and at large T, Ỹ ≈ (z − z̄)/(C·T) is the centred logits
 * scaled by 1/(CT): ρ_row → corr(s_i, t_i) and ρ_col → the correlation of the row-centred
 * logits down column j, both independent of T. So 1 − ρ tends to a constant, and L and
 * its logit gradient grow like T² (the T² compensates nothing here, unlike KD's), until
 * ‖Ỹ‖ ≈ R/(C·T) falls to ε = 1e-8 (T ≈ 1e8·R/C, R the centred logit spread) and the guard
 * takes over (docs/distillation-methods.md, "DIST").
 *
 * Second order. For one unguarded pair write g = ∂ρ/∂a = (b̂ − ρâ)/N_a and h = ∂ρ/∂b. With
 * ∂â/∂ã = (P − ââᵀ)/N_a, ∂N_a/∂ã = â and ∂ρ/∂ã = g:
 *   ∂g/∂a = −(g âᵀ + â gᵀ)/N_a − ρ·(P − ââᵀ)/N_a²,     ∂g/∂b = (P − b̂b̂ᵀ)/(N_a·N_b) − â hᵀ/N_a,
 * (and the mirror images for h). Check: ∂g/∂a is symmetric, and (∂g/∂a)·â = −g/N_a (gᵀâ = 0): g
 * is homogeneous of degree −1 in ã, as it must be (ρ ignores the scale). Guarded, the norm is a
 * constant: g = b̃/(ε·N_b′) has ∂g/∂b̃ = P/(ε·N_b′) − …, and ∂g/∂a = 0 (a linear form in ã). These
 * give H = ∂G/∂Y_s = −T²·[β/B·∂g_row/∂a + γ/C·∂g_col/∂a] (rows and columns couple every entry of
 * Y_s), and through the softmax, per row and with u = Y ⊙ (G − ⟨G, Y⟩) (the gradient before 1/T),
 *   ∂²L/∂s² = (1/T²)·[A(Y_s)·H·A(Y_s) + diag(u) − Y_s uᵀ − u Y_sᵀ],   A(Y) = diag(Y) − YYᵀ,
 * the second term being the softmax's own curvature contracted with G (∇²⟨G, softmax(z)⟩ =
 * diag(u) − yuᵀ − uyᵀ, the structure of the distillation loss's teacher block). The mixed and
 * teacher blocks have the same form with ∂g/∂b, ∂h/∂b. Check: every block maps a row's all-ones
 * vector to 0 (A(Y)·1 = 0 and Σu = 0). The ops form below is this gradient written with
 * differentiable ops (centring, norms, products, softmax), so autograd produces these blocks; they
 * are compared with an ops composite's Hessians (test/losses/kd-methods.test.ts), and gradgradcheck
 * and jvp run on it (test/all-ops.test.ts).
 *
 * The backward hands over the fused kernel's gradients; with createGraph the same values
 * carry the graph of the ops form of the formulas above (fusedWithGraph). In the form the
 * guarded norm is √max(‖ã‖², ε²), equal to max(‖ã‖, ε) and constant below ε, and never a
 * square root at 0.
 *
 * Numerics: src/kernels/js/dist.ts (1 − ρ formed as ‖â − b̂‖²/2 from the difference of the
 * two softmaxes in the log-ratio form: no cancellation when the student matches the
 * teacher). Non-finite values: a class masked at −∞ on both sides stays finite; NaN in,
 * NaN out; a constant row hits the guard (ρ = 0), as in PyTorch.
 *
 * @example
 * const loss = distLoss(zs, teacherLogits, { beta: 2, gamma: 2, temperature: 4 }).add(crossEntropy(zs, labels));
 */
export const distLoss = defineOp({
  name: "distLoss",
  forward(ctx, student: Tensor, teacher: Tensor, options: DistOptions = {}): Tensor {
    const fn = "distLoss";
    const o = checkOptions(options as DistOptions | undefined, fn, ["beta", "gamma", "temperature"]);
    const { B, C, T, dtype } = checkPair(student, teacher, o.temperature ?? 1, 1, fn);
    if (B < 2) {
      throw new ValueError(`${fn}: the batch must have at least 2 rows (the intra-class relation correlates each class over the batch), got ${B}`);
    }
    const beta = checkTermWeight(o.beta ?? 1, fn, "beta");
    const gamma = checkTermWeight(o.gamma ?? 1, fn, "gamma");
    const dS = ctx.needsInputGrad[0] === true ? Tensor.empty([B, C], student.dtype) : null;
    const dT = ctx.needsInputGrad[1] === true ? Tensor.empty([B, C], teacher.dtype) : null;
    const loss = kernel("dist", dtype, B * C)(contiguousData(student), contiguousData(teacher), B, C, T, beta, gamma, NORM_EPS, dS ? dS.data : null, dT ? dT.data : null);
    ctx.save({ dS, dT, student, teacher, T, beta, gamma });
    const y = Tensor.empty([], dtype);
    y.data[0] = loss;
    return y;
  },
  backward(ctx, g) {
    const { dS, dT, student, teacher, T, beta, gamma } = ctx.saved as {
      dS: Tensor | null; dT: Tensor | null; student: Tensor; teacher: Tensor; T: number; beta: number; gamma: number;
    };
    if (!ctx.createGraph) return [...handOverGradients(ctx, g, dS, dT), null];
    const [formS, formT] = distGradientForms(student, teacher, T, beta, gamma, dS !== null, dT !== null);
    return [...withGraph("distLoss", g, dS, dT, formS, formT), null];
  },
});

/**
 * ∂ρ/∂a and ∂ρ/∂b of the Pearson correlations along `axis` (−1: rows, 0: columns), written
 * with ops: (b̃/(N_a·N_b) − ρ·ã/N_a², with N the guarded norms and the second term only where
 * the norm is above ε), and the symmetric one.
 */
function pearsonGradients(a: Tensor, b: Tensor, axis: number): [Tensor, Tensor] {
  const fn = "distLoss";
  const ac = sub(a, mean(a, axis, true));
  const bc = sub(b, mean(b, axis, true));
  const saa = sum(mul(ac, ac), axis, true);
  const sbb = sum(mul(bc, bc), axis, true);
  const eps2 = NORM_EPS * NORM_EPS;
  const Na = sqrt(maximum(saa, eps2));
  const Nb = sqrt(maximum(sbb, eps2));
  const NaNb = mul(Na, Nb);
  const rho = div(sum(mul(ac, bc), axis, true), NaNb);
  // ρ·ã/N_a² only where the norm is live; the other side divides by 1, not by a norm that may
  // be 0 (where's backward sends 0 there, and 0·(x/0²) would still be NaN).
  const liveA = compare(fn, "gt", saa, eps2);
  const liveB = compare(fn, "gt", sbb, eps2);
  const ga = sub(div(bc, NaNb), where(liveA, div(mul(rho, ac), where(liveA, saa, 1)), 0));
  const gb = sub(div(ac, NaNb), where(liveB, div(mul(rho, bc), where(liveB, sbb, 1)), 0));
  return [ga, gb];
}

/** distLoss's gradients written with ops (before the upstream factor); null where not wanted. */
function distGradientForms(s: Tensor, t: Tensor, T: number, beta: number, gamma: number, needS: boolean, needT: boolean): [Tensor | null, Tensor | null] {
  if (beta === 0 && gamma === 0) return [null, null];
  const [B, C] = s.shape as [number, number];
  const ys = softmax(div(s, T), -1);
  const yt = softmax(div(t, T), -1);
  const T2 = T * T;
  let Gs: Tensor | null = null;
  let Gt: Tensor | null = null;
  const plus = (acc: Tensor | null, v: Tensor): Tensor => (acc === null ? v : add(acc, v));
  for (const [weight, axis, count] of [[beta, -1, B], [gamma, 0, C]] as const) {
    if (weight === 0) continue;
    const [ga, gb] = pearsonGradients(ys, yt, axis);
    const k = (-T2 * weight) / count;
    Gs = plus(Gs, mul(ga, k));
    Gt = plus(Gt, mul(gb, k));
  }
  const through = (y: Tensor, G: Tensor): Tensor => mul(mul(y, sub(G, sum(mul(G, y), -1, true))), 1 / T);
  return [needS && Gs ? through(ys, Gs) : null, needT && Gt ? through(yt, Gt) : null];
}
