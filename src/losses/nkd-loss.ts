import { defineOp } from "../ops/define-op.js";
import { Tensor } from "../tensor/tensor.js";
import type { FloatDType } from "../tensor/dtype.js";
import { kernel } from "../kernels/registry.js";
import { compare, contiguousData } from "../ops/elementwise.js";
import { add } from "../ops/add.js";
import { div } from "../ops/div.js";
import { logSoftmax } from "../ops/log-softmax.js";
import { mul } from "../ops/mul.js";
import { oneHot } from "../ops/one-hot.js";
import { softmax } from "../ops/softmax.js";
import { sub } from "../ops/sub.js";
import { sum } from "../ops/sum.js";
import { where } from "../ops/where.js";
import { handOverGradients, withGraph } from "./fused-gradients.js";
import { checkPair, checkTargets, checkTermWeight } from "./kd-method-checks.js";
import { checkOptions } from "../tensor/options.js";

/** Options of `nkdLoss` (normalized KD): the temperature and the weight γ of the non-target term. */
export interface NkdOptions {
  /** T in [1e-6, 1e6], for the non-target term. Default 1. */
  temperature?: number;
  /** γ, the weight of the non-target term (finite, ≥ 0). Default 1.5. */
  gamma?: number;
}

/**
 * nkdLoss(student, teacher, labels, { temperature = 1, gamma = 1.5 }) — Normalized KD
 * (Yang et al., ICCV 2023), fused. student and teacher are logits [B, C] (C ≥ 2), labels
 * int32 [B]; the result is a scalar. For one row with target y and O = {j ≠ y}:
 *
 *   L = (1/B) Σ_rows [ −w·log softmax(s)_y − γ·T²·Σ_O p̂_j·log q̂_j ],
 *   w = sg(softmax(t)_y)   (T = 1; sg: a stop-gradient, the teacher's confidence as a constant),
 *   q̂ = softmax over O of s/T, p̂ = softmax over O of t/T   (the target column removed).
 *
 * The first term is the cross-entropy weighted by the teacher's target probability; the
 * second is the cross-entropy of the normalised non-target distributions (NKD replaces
 * KD's (1 − p_t,y)-scaled non-target part by a normalised one, as DKD does, in
 * cross-entropy form). No separate cross-entropy: the first term plays its part.
 *
 * Backward, student. ∂(−log softmax(s)_y)/∂s = softmax(s) − e_y (w is a constant);
 * ∂(−Σ_O p̂ log q̂)/∂z_j = −p̂_j + q̂_j·Σ_O p̂ = q̂_j − p̂_j on O (log q̂_k = z_k − lse_O z, and
 * Σ p̂ = 1), 0 at y; ∂/∂s = (1/T)·∂/∂z and the T² leave T:
 *   ∂L/∂s = [w·(softmax(s) − e_y) + γ·T·(q̂ − p̂)]/B.
 * Teacher. The first term has none (the stop-gradient: the derivative of the formula as
 * written). With ∂p̂_k/∂z_t,j = p̂_k(δ_kj − p̂_j) on O:
 *   ∂(−Σ p̂ log q̂)/∂z_t,j = −p̂_j·(log q̂_j − Σ_O p̂ log q̂),
 *   ∂L/∂t_j = −γ·T·p̂_j·(log q̂_j − E_p̂[log q̂])/B on O, 0 at y.
 * (log q̂_j − E_p̂[log q̂] = z_j − E_p̂[z]: the normaliser cancels.) The teacher gradient does
 * not vanish at s = t: it is −γT·p̂ ⊙ (log p̂ − E log p̂), the entropy's, because the term is a
 * cross-entropy, H(p̂) + KL(p̂ ‖ q̂).
 * Checks. Each row of both gradients sums to 0 (Σ(softmax − e_y) = 0, Σ(q̂ − p̂) = 0,
 * Σ p̂(… − E) = 0). At large T, q̂ − p̂ ≈ (s̃ − t̃)_O/((C − 1)·T) and the student gradient tends
 * to a T-independent limit, as KD's; the loss itself grows like γT²·log(C − 1) (the entropy
 * of the nearly uniform p̂, a constant for the student).
 *
 * Second order. With A_O(p) = diag(p) − ppᵀ on O and σ = softmax(s):
 *   ∂²L/∂s²  = [w·A(σ) + γ·A_O(q̂)]/B,        ∂²L/∂s∂t = −γ·A_O(p̂)/B   (w is constant: no t),
 *   ∂²L/∂t²  = −γ·[diag(v) − p̂vᵀ − v p̂ᵀ]/B,  v = p̂ ⊙ (log q̂ − E_p̂ log q̂)
 * (∂vᵢ/∂z_t,j = p̂ᵢ(δᵢⱼ − p̂ⱼ)(log q̂ᵢ − E) − p̂ᵢ·vⱼ). Check: each block maps the all-ones
 * vector to 0 (Σv = 0), and the mixed block equals the transpose of ∂(∂L/∂t)/∂s
 * = −γ·∂v/∂z_s = −γ·A_O(p̂) (∂ log q̂ᵢ/∂z_s,j = δᵢⱼ − q̂ⱼ, and Σp̂ᵢ(δᵢⱼ − q̂ⱼ − (p̂ⱼ − q̂ⱼ)) = p̂ⱼ(δ − p̂)).
 *
 * The backward hands over the fused kernel's gradients; with createGraph the same values
 * carry the graph of the formulas above written with ops (fusedWithGraph), with w computed
 * from the detached teacher (so no derivative reaches t through it) and log q̂ selected to 0
 * where p̂ = 0 (the target, a masked class) before any product.
 *
 * Numerics: src/kernels/js/nkd.ts (every part of the loss non-negative and formed in log
 * space: relative accuracy at every T). Non-finite values: a class the teacher masks adds
 * nothing; w = 0 (the teacher masks the target) drops the first term, even where the
 * student masks the target too (0·log 0 = 0); student −∞ where the teacher has mass gives
 * +∞; NaN in, NaN out.
 *
 * @example
 * const loss = nkdLoss(zs, noGrad(() => teacher.forward(x)), labels, { temperature: 1, gamma: 1.5 });
 */
export const nkdLoss = defineOp({
  name: "nkdLoss",
  forward(ctx, student: Tensor, teacher: Tensor, labels: Tensor, options: NkdOptions = {}): Tensor {
    const fn = "nkdLoss";
    const o = checkOptions(options as NkdOptions | undefined, fn, ["temperature", "gamma"]);
    const { B, C, T, dtype } = checkPair(student, teacher, o.temperature ?? 1, 2, fn);
    const y = checkTargets(labels, B, C, fn);
    const gamma = checkTermWeight(o.gamma ?? 1.5, fn, "gamma");
    const dS = ctx.needsInputGrad[0] === true ? Tensor.empty([B, C], student.dtype) : null;
    const dT = ctx.needsInputGrad[1] === true ? Tensor.empty([B, C], teacher.dtype) : null;
    const loss = kernel("nkd", dtype, B * C)(contiguousData(student), contiguousData(teacher), y, B, C, T, gamma, dS ? dS.data : null, dT ? dT.data : null);
    ctx.save({ dS, dT, student, teacher, labels, T, gamma });
    const out = Tensor.empty([], dtype);
    out.data[0] = loss;
    return out;
  },
  backward(ctx, g) {
    const { dS, dT, student, teacher, labels, T, gamma } = ctx.saved as {
      dS: Tensor | null; dT: Tensor | null; student: Tensor; teacher: Tensor; labels: Tensor; T: number; gamma: number;
    };
    if (!ctx.createGraph) return [...handOverGradients(ctx, g, dS, dT), null, null];
    const [formS, formT] = nkdGradientForms(student, teacher, labels, T, gamma, dS !== null, dT !== null);
    return [...withGraph("nkdLoss", g, dS, dT, formS, formT), null, null];
  },
});

/** nkdLoss's gradients written with ops (before the upstream factor); null where not wanted. */
function nkdGradientForms(s: Tensor, t: Tensor, labels: Tensor, T: number, gamma: number, needS: boolean, needT: boolean): [Tensor | null, Tensor | null] {
  const fn = "nkdLoss";
  const [B, C] = s.shape as [number, number];
  const target = oneHot(labels, C);
  const ey = oneHot(labels, C, { dtype: s.dtype as FloatDType });
  // w = sg(softmax(t)_y): from the detached teacher, a constant of the form.
  const w = sum(where(target, softmax(t.detach(), -1), 0), -1, true);
  const zsO = where(target, -Infinity, div(s, T));
  const ztO = where(target, -Infinity, div(t, T));
  const qs = softmax(zsO, -1);
  const pt = softmax(ztO, -1);
  let formS: Tensor | null = null;
  let formT: Tensor | null = null;
  if (needS) {
    formS = mul(w, sub(softmax(s, -1), ey));
    if (gamma > 0) formS = add(formS, mul(sub(qs, pt), gamma * T));
    formS = div(formS, B);
  }
  if (needT && gamma > 0) {
    const lq = where(compare(fn, "gt", pt, 0), logSoftmax(zsO, -1), 0);
    const v = mul(pt, sub(lq, sum(mul(pt, lq), -1, true)));
    formT = mul(v, (-gamma * T) / B);
  }
  return [formS, formT];
}
