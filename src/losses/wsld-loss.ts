import { defineOp } from "../ops/define-op.js";
import { Tensor } from "../tensor/tensor.js";
import type { FloatDType } from "../tensor/dtype.js";
import { kernel } from "../kernels/registry.js";
import { compare, contiguousData } from "../ops/elementwise.js";
import { add } from "../ops/add.js";
import { div } from "../ops/div.js";
import { exp } from "../ops/exp.js";
import { logSoftmax } from "../ops/log-softmax.js";
import { maximum } from "../ops/maximum.js";
import { mul } from "../ops/mul.js";
import { neg } from "../ops/neg.js";
import { oneHot } from "../ops/one-hot.js";
import { softmax } from "../ops/softmax.js";
import { sub } from "../ops/sub.js";
import { sum } from "../ops/sum.js";
import { where } from "../ops/where.js";
import { handOverGradients, withGraph } from "./fused-gradients.js";
import { checkPair, checkTargets, checkTermWeight } from "./kd-method-checks.js";
import { checkOptions } from "../tensor/options.js";

/** Options of `wsldLoss` (weighted soft labels): the temperature and the weight α of the soft term. */
export interface WsldOptions {
  /** T in [1e-6, 1e6], for the soft term. Default 2. */
  temperature?: number;
  /** α, the weight of the soft term (finite, ≥ 0). Default 2.5. */
  alpha?: number;
}

/**
 * wsldLoss(student, teacher, labels, { temperature = 2, alpha = 2.5 }) — weighted soft
 * labels (Zhou et al., ICLR 2021), fused. student and teacher are logits [B, C], labels
 * int32 [B]; the result is a scalar:
 *
 *   L = (1/B) Σ_rows [ ce_s + α·T²·w·soft ],
 *   ce_s = −log softmax(s)_y,  ce_t = −log softmax(t)_y   (T = 1),
 *   soft = −Σ_j p_j·log q_j,   q = softmax(s/T), p = softmax(t/T),
 *   w = 1 − exp(−max(0, ce_s/(ce_t + 1e-7)))   with ce_s and ce_t stop-gradients.
 *
 * The weight: a row where the student already does better than the teacher on the label
 * (ce_s ≪ ce_t) gets w ≈ 0 (the teacher's soft labels would pull it back: their bias),
 * one where the student does much worse gets w ≈ 1. soft is a cross-entropy, not a KL: it
 * includes the teacher's entropy H(p), constant for the student.
 *
 * Backward, student. ∂ce_s/∂s = softmax(s) − e_y; ∂soft/∂z = q − p (as the KL's: Σp = 1);
 * w is a constant; ∂/∂s = (1/T)·∂/∂z, times T²:
 *   ∂L/∂s = [softmax(s) − e_y + α·T·w·(q − p)]/B.
 * Teacher. ce_t enters only through w (a stop-gradient: no derivative); with
 * ∂p_k/∂z_t,j = p_k(δ_kj − p_j),
 *   ∂soft/∂z_t,j = −p_j·(log q_j − Σ p log q),   ∂L/∂t = −α·T·w·p ⊙ (log q − E_p[log q])/B.
 * At s = t this is −αTw·p ⊙ (log p − E_p log p), the entropy's gradient, not 0.
 * Checks. Each row of both gradients sums to 0. At large T, T·(q − p) → (s̃ − t̃)/C: the
 * student gradient has a T-independent limit, as KD's (the T² compensates the 1/T²),
 * while the value grows like α·T²·w·log C (the entropy of the nearly uniform p).
 *
 * Second order. With σ = softmax(s), A(p) = diag(p) − ppᵀ, v = p ⊙ (log q − E_p log q):
 *   ∂²L/∂s²  = [A(σ) + α·w·A(q)]/B,   ∂²L/∂s∂t = −α·w·A(p)/B,
 *   ∂²L/∂t²  = −α·w·[diag(v) − pvᵀ − vpᵀ]/B
 * (w is constant in both inputs). Check: each block maps the all-ones vector to 0; the
 * mixed block is symmetric with the teacher's ∂(−αTw·v/B)/∂s = −αw·A(p)/B.
 *
 * The backward hands over the fused kernel's gradients; with createGraph the same values
 * carry the graph of the formulas above written with ops (fusedWithGraph), w computed from
 * the detached logits, and log q selected to 0 where p = 0 before any product.
 *
 * Numerics: src/kernels/js/wsld.ts (every part non-negative and formed in log space;
 * w = −expm1(−r)). Non-finite values: a class the teacher masks adds nothing to soft; w = 0
 * leaves the soft term out (never 0·∞); the student masking its target gives +∞; both
 * masking it gives w = ∞/∞ = NaN, as in PyTorch; NaN in, NaN out. α = 0 does not read the
 * teacher.
 *
 * @example
 * const loss = wsldLoss(zs, noGrad(() => teacher.forward(x)), labels);   // T = 2, α = 2.5
 */
export const wsldLoss = defineOp({
  name: "wsldLoss",
  forward(ctx, student: Tensor, teacher: Tensor, labels: Tensor, options: WsldOptions = {}): Tensor {
    const fn = "wsldLoss";
    const o = checkOptions(options as WsldOptions | undefined, fn, ["temperature", "alpha"]);
    const { B, C, T, dtype } = checkPair(student, teacher, o.temperature ?? 2, 1, fn);
    const y = checkTargets(labels, B, C, fn);
    const alpha = checkTermWeight(o.alpha ?? 2.5, fn, "alpha");
    const dS = ctx.needsInputGrad[0] === true ? Tensor.empty([B, C], student.dtype) : null;
    const dT = ctx.needsInputGrad[1] === true ? Tensor.empty([B, C], teacher.dtype) : null;
    const loss = kernel("wsld", dtype, B * C)(contiguousData(student), contiguousData(teacher), y, B, C, T, alpha, dS ? dS.data : null, dT ? dT.data : null);
    ctx.save({ dS, dT, student, teacher, labels, T, alpha });
    const out = Tensor.empty([], dtype);
    out.data[0] = loss;
    return out;
  },
  backward(ctx, g) {
    const { dS, dT, student, teacher, labels, T, alpha } = ctx.saved as {
      dS: Tensor | null; dT: Tensor | null; student: Tensor; teacher: Tensor; labels: Tensor; T: number; alpha: number;
    };
    if (!ctx.createGraph) return [...handOverGradients(ctx, g, dS, dT), null, null];
    const [formS, formT] = wsldGradientForms(student, teacher, labels, T, alpha, dS !== null, dT !== null);
    return [...withGraph("wsldLoss", g, dS, dT, formS, formT), null, null];
  },
});

/** wsldLoss's gradients written with ops (before the upstream factor); null where not wanted. */
function wsldGradientForms(s: Tensor, t: Tensor, labels: Tensor, T: number, alpha: number, needS: boolean, needT: boolean): [Tensor | null, Tensor | null] {
  const fn = "wsldLoss";
  const [B, C] = s.shape as [number, number];
  const target = oneHot(labels, C);
  const ey = oneHot(labels, C, { dtype: s.dtype as FloatDType });
  // w from the detached logits (a constant of the form).
  const ce = (x: Tensor): Tensor => neg(sum(where(target, logSoftmax(x.detach(), -1), 0), -1, true));
  const w = sub(1, exp(neg(maximum(div(ce(s), add(ce(t), 1e-7)), 0))));
  const q = softmax(div(s, T), -1);
  const p = softmax(div(t, T), -1);
  let formS: Tensor | null = null;
  let formT: Tensor | null = null;
  if (needS) {
    formS = sub(softmax(s, -1), ey);
    if (alpha > 0) formS = add(formS, mul(mul(w, sub(q, p)), alpha * T));
    formS = div(formS, B);
  }
  if (needT && alpha > 0) {
    const lq = where(compare(fn, "gt", p, 0), logSoftmax(div(s, T), -1), 0);
    const v = mul(p, sub(lq, sum(mul(p, lq), -1, true)));
    formT = mul(mul(w, v), (-alpha * T) / B);
  }
  return [formS, formT];
}
