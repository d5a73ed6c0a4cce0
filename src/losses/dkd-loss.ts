import { defineComposite, defineOp } from "../ops/define-op.js";
import { Tensor } from "../tensor/tensor.js";
import { ValueError } from "../tensor/errors.js";
import type { FloatDType } from "../tensor/dtype.js";
import { kernel } from "../kernels/registry.js";
import { compare, contiguousData } from "../ops/elementwise.js";
import { add } from "../ops/add.js";
import { div } from "../ops/div.js";
import { logSoftmax } from "../ops/log-softmax.js";
import { logSumExp } from "../ops/log-sum-exp.js";
import { mul } from "../ops/mul.js";
import { neg } from "../ops/neg.js";
import { oneHot } from "../ops/one-hot.js";
import { sigmoid } from "../ops/sigmoid.js";
import { softmax } from "../ops/softmax.js";
import { sub } from "../ops/sub.js";
import { sum } from "../ops/sum.js";
import { where } from "../ops/where.js";
import { handOverGradients, withGraph } from "./fused-gradients.js";
import { checkPair, checkTargets, checkTermWeight } from "./kd-method-checks.js";
import { checkOptions } from "../tensor/options.js";
import { standardizeLogits } from "../ops/standardize-logits.js";

/** Options of `dkdLoss` (decoupled KD): the weights of its target-class (α) and non-target (β) terms, the temperature, and logit standardization. */
export interface DkdOptions {
  /** α, the weight of TCKD (finite, ≥ 0). Default 1. */
  alpha?: number;
  /** β, the weight of NCKD (finite, ≥ 0). Default 8. */
  beta?: number;
  /** T in [1e-6, 1e6]. Default 4. */
  temperature?: number;
  /** Standardize each row of s and t, (z − mean)/(unbiased std + 1e-7), before dividing by T. Default false. */
  standardize?: boolean;
}

/**
 * dkdLoss(student, teacher, labels, { alpha = 1, beta = 8, temperature = 4, standardize = false })
 * — Decoupled Knowledge Distillation (Zhao et al., CVPR 2022), fused. student and
 * teacher are logits [B, C] (C ≥ 2), labels int32 [B]; the result is a scalar:
 *
 *   L = (1/B) Σ_rows T²·(α·TCKD + β·NCKD).
 *
 * For one row with target y (the label), O = {j ≠ y} the other classes, z = s/T, and
 * p_s = softmax(z):
 *   P_s = p_s,y, P̄_s = 1 − P_s the student's split (target, rest); P_t, P̄_t the teacher's;
 *   TCKD = KL([P_t, P̄_t] ‖ [P_s, P̄_s]) = P_t·log(P_t/P_s) + P̄_t·log(P̄_t/P̄_s);
 *   q̂ = softmax of z over O alone (p_s,j/P̄_s), p̂ the teacher's; NCKD = KL(p̂ ‖ q̂).
 * The target is removed from NCKD exactly (mdistiller subtracts 1000 from its logit, which
 * leaves it in when logits/T exceed about 1000). No cross-entropy term: add
 * crossEntropy(student, labels) yourself, as DKD does.
 *
 * The binary logit. P_s depends on z only through Λ_s = z_y − lse_O(z) (log-odds: P_s = σ(Λ_s),
 * P̄_s = σ(−Λ_s)), so 1 − P_s is never formed by subtraction: lse_O is a log-sum-exp over the
 * other classes (at logits of ±1e4, 1 − p_y in float64 is 0 or NaN). In log-odds,
 *   TCKD = P_t(Λ_t − Λ_s) − softplus(Λ_t) + softplus(Λ_s)                     (*)
 * (log P_t = Λ_t − softplus(Λ_t), log P̄_t = −softplus(Λ_t), likewise for P_s).
 *
 * The DKD identity. KL(p_t ‖ p_s) over all C classes, with p_t,j = P̄_t·p̂_j and p_s,j = P̄_s·q̂_j
 * on O, splits as
 *   KL = P_t·log(P_t/P_s) + Σ_O P̄_t·p̂_j·log((P̄_t·p̂_j)/(P̄_s·q̂_j)) = TCKD + P̄_t·NCKD,
 * so Hinton's loss is KD = T²·(TCKD + (1 − p_t,y)·NCKD): DKD with α = β = 1 is KD plus
 * T²·p_t,y·NCKD, and in general DKD(α, β = α) = α·KD + α·T²·mean(p_t,y·NCKD) ≥ α·KD. KD
 * couples NCKD to the teacher's confidence (a confident teacher, P_t → 1, switches the
 * non-target knowledge off); DKD weighs it by β instead (tested: test/losses/kd-methods.test.ts).
 *
 * Backward, student. With ∂Λ_s/∂z = e_y − q̂ (q̂ read as 0 at y: ∂lse_O/∂z_j = q̂_j on O)
 * and (*), ∂TCKD/∂Λ_s = σ(Λ_s) − P_t = P_s − P_t, so
 *   ∂TCKD/∂z = (P_s − P_t)·(e_y − q̂),     ∂NCKD/∂z_j = q̂_j − p̂_j on O, 0 at y
 * (the KL gradient of docs/distillation.md over O). ∂/∂s = (1/T)·∂/∂z and the T² leave T:
 *   ∂L/∂s = (T/B)·[α(P_s − P_t)(e_y − q̂) + β(q̂ − p̂)].
 * Teacher. ∂TCKD/∂Λ_t = P_t·P̄_t·(Λ_t − Λ_s) (from (*): ∂/∂Λ_t = P_t + Λ_t·P_tP̄_t − Λ_s·P_tP̄_t − P_t), and
 * ∂Λ_t/∂z_t = e_y − p̂; NCKD's teacher gradient is p̂ ⊙ (ℓ̂ − NCKD), ℓ̂ = log p̂ − log q̂:
 *   ∂L/∂t = (T/B)·[α·P_t·P̄_t·(Λ_t − Λ_s)·(e_y − p̂) + β·p̂ ⊙ (ℓ̂ − NCKD)].
 * Checks. Each row of both gradients sums to 0 (Σ(e_y − q̂) = 1 − 1, Σ(q̂ − p̂) = 0,
 * Σ p̂(ℓ̂ − NCKD) = NCKD − NCKD): a constant added to a row of s or t changes nothing. At
 * s = t, P_s = P_t and q̂ = p̂: both vanish. With β = α = 1 and P̄_t·(…) in place of β the
 * gradients are those of KD (the identity, differentiated in s: a does not move with s).
 * T: at large T (centred logits R ≪ T), P_s − P_t and q̂ − p̂ are O(1/T), so the gradient tends
 * to a T-independent limit (logit matching of the split and of the non-target logits),
 * as for KD: the T² is what keeps it O(1) (docs/distillation-methods.md).
 *
 * Second order. For one row (the T² of the loss cancels the 1/T² of the chain), with
 * v_s = e_y − q̂, v_t = e_y − p̂ and A_O(p) = diag(p) − ppᵀ on O (∂²lse_O/∂z² = A_O(q̂), so
 * ∂v_s/∂z_s = −A_O(q̂)):
 *   ∂²L/∂s²  = [α(P_s·P̄_s·v_s v_sᵀ − (P_s − P_t)·A_O(q̂)) + β·A_O(q̂)]/B,
 *   ∂²L/∂s∂t = −[α·P_t·P̄_t·v_s v_tᵀ + β·A_O(p̂)]/B,
 *   ∂²L/∂t²  = [α((P_tP̄_t(P̄_t − P_t)(Λ_t − Λ_s) + P_tP̄_t)·v_t v_tᵀ − P_tP̄_t(Λ_t − Λ_s)·A_O(p̂))
 *              + β(A_O(p̂) + diag(w) − p̂wᵀ − wp̂ᵀ)]/B,   w = p̂ ⊙ (ℓ̂ − NCKD),
 * (the last β block is the distillation loss's teacher block over O). Check: every block
 * maps the all-ones vector to 0 (v·1 = 0, A·1 = 0, Σw = 0); the student block is
 * positive semidefinite at P_t = P_s.
 *
 * The backward. Ordinarily it hands over the gradients the fused kernel formed in the
 * forward pass. With createGraph it returns the same values carrying the graph of the
 * formulas above written with ops (the target selected out with where(−∞), softmax,
 * logSoftmax, logSumExp, sigmoid; fusedWithGraph), whose derivatives are these blocks.
 * Where p̂ = 0 (the target, a masked class) ℓ̂ is selected to 0 before any product, and
 * Λ_t − Λ_s is selected to 0 where P_t·P̄_t = 0, so a masked class or target never meets
 * 0·∞. Terms of weight 0 are left out, as in the kernel.
 *
 * standardize: each row of s and t is first replaced by (z − mean z)/(std z + 1e-7)
 * (unbiased std; Sun et al., CVPR 2024), differentiably (the standardizeLogits op); the
 * fused loss then sees the standardized logits. A positive scale of a row then changes nothing (up to the 1e-7).
 *
 * Numerics and non-finite values: src/kernels/js/dkd.ts (both KLs in the log-ratio form of
 * the distillation kernel where the row allows, the binary one from the same sums). A
 * non-target class the teacher masks adds nothing; a target the teacher masks gives a = 0;
 * teacher mass where the student masks gives +∞; NaN in, NaN out. With standardize, a row
 * holding −∞ or NaN has no mean and becomes NaN.
 *
 * @example
 * const loss = dkdLoss(zs, noGrad(() => teacher.forward(x)), labels).add(crossEntropy(zs, labels));
 */
export const dkdLoss = defineComposite(
  "dkdLoss",
  (student: Tensor, teacher: Tensor, labels: Tensor, options: DkdOptions = {}): Tensor => {
    const fn = "dkdLoss";
    const o = checkOptions(options as DkdOptions | undefined, fn, ["alpha", "beta", "temperature", "standardize"]);
    const { B, C, T } = checkPair(student, teacher, o.temperature ?? 4, 2, fn);
    checkTargets(labels, B, C, fn);
    const alpha = checkTermWeight(o.alpha ?? 1, fn, "alpha");
    const beta = checkTermWeight(o.beta ?? 8, fn, "beta");
    const standardize = o.standardize ?? false;
    if (typeof standardize !== "boolean") throw new ValueError(`${fn}: standardize must be true or false, got ${String(standardize)}`);
    const s = standardize ? standardizeLogits(student, -1, 1e-7) : student;
    const t = standardize ? standardizeLogits(teacher, -1, 1e-7) : teacher;
    return dkdFused(s, t, labels, { T, alpha, beta });
  },
);

interface DkdSettings {
  T: number;
  alpha: number;
  beta: number;
}

/** The fused op behind dkdLoss (arguments already checked). */
const dkdFused = defineOp({
  name: "dkdLoss",
  forward(ctx, student: Tensor, teacher: Tensor, labels: Tensor, k: DkdSettings): Tensor {
    const [B, C] = student.shape as [number, number];
    const dtype = student.dtype === "float64" || teacher.dtype === "float64" ? "float64" : "float32";
    const dS = ctx.needsInputGrad[0] === true ? Tensor.empty([B, C], student.dtype) : null;
    const dT = ctx.needsInputGrad[1] === true ? Tensor.empty([B, C], teacher.dtype) : null;
    const loss = kernel("dkd", dtype, B * C)(
      contiguousData(student), contiguousData(teacher), contiguousData(labels) as Int32Array, B, C, k.T, k.alpha, k.beta,
      dS ? dS.data : null, dT ? dT.data : null,
    );
    ctx.save({ dS, dT, student, teacher, labels, k });
    const y = Tensor.empty([], dtype);
    y.data[0] = loss;
    return y;
  },
  backward(ctx, g) {
    const { dS, dT, student, teacher, labels, k } = ctx.saved as {
      dS: Tensor | null; dT: Tensor | null; student: Tensor; teacher: Tensor; labels: Tensor; k: DkdSettings;
    };
    if (!ctx.createGraph) return [...handOverGradients(ctx, g, dS, dT), null, null];
    const [formS, formT] = dkdGradientForms(student, teacher, labels, k, dS !== null, dT !== null);
    return [...withGraph("dkdLoss", g, dS, dT, formS, formT), null, null];
  },
});

/**
 * dkdLoss's gradients written with ops (before the upstream factor): the student's
 * (T/B)·[α(P_s − P_t)(e_y − q̂) + β(q̂ − p̂)] and the teacher's
 * (T/B)·[α·P_t·P̄_t·(Λ_t − Λ_s)·(e_y − p̂) + β·p̂ ⊙ (ℓ̂ − NCKD)]. null for an input that wants no
 * gradient or whose every term has weight 0.
 */
function dkdGradientForms(s: Tensor, t: Tensor, labels: Tensor, k: DkdSettings, needS: boolean, needT: boolean): [Tensor | null, Tensor | null] {
  const fn = "dkdLoss";
  const { T, alpha, beta } = k;
  const [B, C] = s.shape as [number, number];
  const target = oneHot(labels, C);
  const ey = oneHot(labels, C, { dtype: s.dtype as FloatDType });
  const zs = div(s, T);
  const zt = div(t, T);
  // The other classes alone: the target at −∞ (selected, so no gradient reaches it).
  const zsO = where(target, -Infinity, zs);
  const ztO = where(target, -Infinity, zt);
  const qs = softmax(zsO, -1);
  const pt = softmax(ztO, -1);
  let formS: Tensor | null = null;
  let formT: Tensor | null = null;
  const plus = (acc: Tensor | null, v: Tensor): Tensor => (acc === null ? v : add(acc, v));
  if (alpha > 0) {
    const ls = sub(sum(where(target, zs, 0), -1, true), logSumExp(zsO, -1, true));
    const lt = sub(sum(where(target, zt, 0), -1, true), logSumExp(ztO, -1, true));
    const a = sigmoid(lt);
    if (needS) formS = mul(mul(sub(sigmoid(ls), a), sub(ey, qs)), alpha);
    if (needT) {
      const aab = mul(a, sigmoid(neg(lt)));
      const live = compare(fn, "gt", aab, 0);
      const gT = mul(aab, where(live, sub(lt, ls), 0));
      formT = mul(mul(gT, sub(ey, pt)), alpha);
    }
  }
  if (beta > 0) {
    if (needS) formS = plus(formS, mul(sub(qs, pt), beta));
    if (needT) {
      const support = compare(fn, "gt", pt, 0);
      const d = where(support, sub(logSoftmax(ztO, -1), logSoftmax(zsO, -1)), 0);
      const nckd = sum(mul(pt, d), -1, true);
      formT = plus(formT, mul(mul(pt, sub(d, nckd)), beta));
    }
  }
  const c = T / B;
  return [formS === null ? null : mul(formS, c), formT === null ? null : mul(formT, c)];
}
