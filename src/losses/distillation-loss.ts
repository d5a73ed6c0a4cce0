import { defineOp } from "../ops/define-op.js";
import { checkOptions } from "../tensor/options.js";
import { Tensor } from "../tensor/tensor.js";
import { ValueError } from "../tensor/errors.js";
import { promoteTypes, type FloatDType } from "../tensor/dtype.js";
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
import { checkAlpha, checkLabels, checkLogits, checkSameShape, checkTemperature } from "./checks.js";
import { fusedWithGraph } from "./fused-with-graph.js";

export interface DistillationOptions {
  /** Hard labels [B] (int32). Without them the loss is the soft term alone. */
  labels?: Tensor;
  /** T in [1e-6, 1e6] (checkTemperature: a ValueError outside). Default 4. */
  temperature?: number;
  /** Weight of the soft term, in [0, 1]. Default 0.5; must be absent or 1 without labels. */
  alpha?: number;
}

/**
 * distillationLoss(student, teacher, { labels, temperature = 4, alpha = 0.5 })
 * — Hinton's knowledge-distillation loss, fused:
 *
 *   L = α·T²·KL(p_t ‖ p_s) + (1 − α)·CE(s, y),   p_s = softmax(s/T), p_t = softmax(t/T),
 *
 * with KL averaged over the B rows ('batchmean') and CE the mean
 * cross-entropy at T = 1. student and teacher are logits [B, C]; the result
 * is a scalar. Without labels, L = T²·KL (alpha must then be absent or 1).
 *
 * Backward. Write zₛ = s/T and z_t = t/T, and for one row
 * KL = Σᵢ p_t,i (log p_t,i − log p_s,i).
 *
 * Student. log p_s,i = zₛ,i − log Σⱼ e^{zₛ,j}, so ∂ log p_s,i/∂zₛ,k = δᵢₖ − p_s,k and
 *   ∂KL/∂zₛ,k = −Σᵢ p_t,i (δᵢₖ − p_s,k) = p_s,k − p_t,k   (Σᵢ p_t,i = 1).
 * Then ∂/∂s = (1/T)·∂/∂zₛ, and the T² factor leaves T·(p_s − p_t). The CE
 * part is the usual softmax(s) − onehot(y). Dividing by the batch:
 *   ∂L/∂s = [α·T·(p_s − p_t) + (1 − α)·(softmax(s) − onehot(y))] / B.
 *
 * Teacher. With dᵢ = log p_t,i − log p_s,i, ∂p_t,i/∂z_t,k = p_t,i(δᵢₖ − p_t,k) and
 * ∂ log p_t,i/∂z_t,k = δᵢₖ − p_t,k:
 *   ∂KL/∂z_t,k = Σᵢ [p_t,i(δᵢₖ − p_t,k)·dᵢ + p_t,i(δᵢₖ − p_t,k)]
 *             = p_t,k·d_k − p_t,k·KL + (p_t,k − p_t,k) = p_t,k (d_k − KL),
 * so ∂L/∂t = α·T·p_t ⊙ ((log p_t − log p_s) − KL_row) / B.
 *
 * Checks. Both gradients sum to 0 over each row (a constant added to a row
 * of s or t changes nothing): Σ(p_s − p_t) = 0, Σ(softmax − onehot) = 0 and
 * Σ p_t (d − KL) = KL − KL = 0. As T → ∞, T·(p_s − p_t) → ((s − s̄) − (t − t̄))/C
 * (logit matching, docs/distillation.md); the unscaled gradient is 1/T² of
 * that, which is why the soft term is multiplied by T².
 *
 * The teacher gets a gradient only when it requires one (online or mutual
 * distillation); a teacher computed under noGrad costs nothing extra.
 *
 * Second order (docs/distillation.md, "The second-order view"). For one row
 * let A(p) = diag(p) − ppᵀ, the softmax Jacobian (the Hessian of logSumExp),
 * σ = softmax(s) and w = p_t ⊙ (d − KL), so that ∂L/∂t = α·T·w/B. With
 * ∂p_s/∂s = A(p_s)/T, ∂p_t/∂t = A(p_t)/T and ∂σ/∂s = A(σ):
 *   ∂²L/∂s²   = [α·A(p_s) + (1 − α)·A(σ)]/B         (T from the gradient, 1/T from the chain:
 *                                                   the T² of the loss cancels),
 *   ∂²L/∂s∂t = −α·A(p_t)/B                           (from −αT·p_t/B),
 *   ∂²L/∂t²   = α·[A(p_t) + diag(w) − p_t wᵀ − w p_tᵀ]/B.
 * The teacher block: with z = t/T, ∂dᵢ/∂z_k = δᵢₖ − p_t,k (log p_s does not move
 * with t) and ∂KL/∂z_k = w_k, so
 *   ∂wᵢ/∂z_k = p_t,i(δᵢₖ − p_t,k)(dᵢ − KL) + p_t,i(δᵢₖ − p_t,k − w_k)
 *           = [diag(w) − w p_tᵀ + A(p_t) − p_t wᵀ]ᵢₖ,
 * times αT/B and 1/T. The mixed block read from the teacher's side is the
 * same: ∂wᵢ/∂z_s,k = p_t,i(−δᵢₖ + p_s,k − (p_s,k − p_t,k)) = −A(p_t)ᵢₖ (symmetry).
 * Checks: every block maps the all-ones vector to 0 (A(p)·1 = p − p = 0, and
 * Σw = KL − KL = 0 gives (diag(w) − p wᵀ − w p_tᵀ)·1 = w − 0 − w = 0): a shift of a
 * row of s or t moves neither gradient. At p_t = p_s, w = 0 and the soft blocks
 * are (α/B)·[[A, −A], [−A, A]]: positive semidefinite, zero along s − t = const.
 *
 * The backward. Ordinarily it hands over the gradients the fused kernel formed in
 * the forward pass (times the upstream): nothing is recomputed. When backward
 * creates a graph, it returns the same values carrying the graph of the gradient
 * formulas above written with ops (softmax, logSoftmax, where; fusedWithGraph),
 * whose derivatives are these blocks. A teacher class with p_t = 0 (masked at −∞,
 * or underflowed) is selected out of d − KL before any product (where, not a
 * multiplication by p_t = 0), so log p_t = −∞ never meets a 0 in the second order:
 * masked classes stay finite there too. Terms of weight 0 are left out (α = 0:
 * no teacher, α = 1: no cross-entropy), as in the kernel.
 *
 * Non-finite policy (docs/non-finite.md). A teacher class with p_t = 0
 * (masked with −∞, or underflowed at a large logit gap) adds nothing
 * (0·log 0 = 0): loss and both gradients stay finite, where PyTorch's
 * composite gives NaN. Teacher mass on a class the student masks makes the
 * KL really infinite: the loss is +∞. NaN in, NaN out.
 *
 * Numerics: the `distillation` kernel (src/kernels/distillation.ts; the kernel
 * layer chooses among the algorithms below). Sums are accumulated in
 * float64. For a regular row the KL is formed in the log-ratio form,
 * Γ/(1 + M) + h(M) with x = (t − s)/T centred at its q-mean, which keeps it to
 * a relative ε·(a few dozen) at every accepted T, in particular at large T
 * where KL is O(1/T²) and Σ p_t·(log p_t − log p_s) would lose ε·T² of it; other
 * rows (masks the student does not share, NaN, huge spreads) use that direct
 * sum. With float32 inputs, α > 0 and a teacher that needs no gradient (the
 * usual frozen teacher), src/kernels/distillation-f32.ts (and its WebAssembly
 * twin) uses float32-accurate exponentials in the same log-ratio form, which
 * keeps 1e-6 relative accuracy however small the KL is (docs/distillation.md,
 * "Float32 kernels": proven for the TypeScript kernel, tested on adversarial
 * rows for the WebAssembly one).
 *
 * @example
 * const teacherLogits = noGrad(() => teacher.forward(x));
 * distillationLoss(student.forward(x), teacherLogits, { labels, temperature: 4, alpha: 0.7 }).backward();
 */
export const distillationLoss = defineOp({
  name: "distillationLoss",
  forward(ctx, student: Tensor, teacher: Tensor, opts?: DistillationOptions): Tensor {
    const fn = "distillationLoss";
    const options = checkOptions(opts, fn, ["labels", "temperature", "alpha"]);
    checkLogits(student, fn, "student");
    checkLogits(teacher, fn, "teacher");
    checkSameShape(student, teacher, fn, "student", "teacher");
    const T = checkTemperature(options.temperature ?? 4, fn);
    const [B, C] = student.shape as [number, number];
    let labels: Int32Array | null = null;
    let alpha: number;
    if (options.labels === undefined) {
      alpha = checkAlpha(options.alpha ?? 1, fn);
      if (alpha !== 1) {
        throw new ValueError(`${fn}: alpha must be absent or 1 without labels (there is no hard-label term), got ${alpha}`);
      }
    } else {
      alpha = checkAlpha(options.alpha ?? 0.5, fn);
      labels = checkLabels(options.labels, [B], C, fn, "labels");
    }
    const dtype = promoteTypes(student.dtype, teacher.dtype, fn);
    // The gradients are formed in the same passes as the loss, for the inputs that want one.
    const dS = ctx.needsInputGrad[0] === true ? Tensor.empty([B, C], student.dtype) : null;
    const dT = ctx.needsInputGrad[1] === true ? Tensor.empty([B, C], teacher.dtype) : null;
    const loss = kernel("distillation", dtype, B * C)(
      contiguousData(student), contiguousData(teacher), labels, B, C, T, alpha, dS ? dS.data : null, dT ? dT.data : null,
    );
    ctx.save({ dS, dT, student, teacher, labels: labels === null ? null : options.labels, T, alpha });
    const y = Tensor.empty([], dtype);
    y.data[0] = loss;
    return y;
  },
  backward(ctx, g) {
    const { dS, dT } = ctx.saved as { dS: Tensor | null; dT: Tensor | null };
    const scale = g.item();
    if (!ctx.createGraph) {
      // The saved gradients are nobody else's once the graph is freed: handed over, a
      // leaf's .grad takes them without a copy (a scaled one is fresh anyway).
      const give = (d: Tensor | null): Tensor | null => {
        if (d === null) return null;
        if (scale !== 1) return ctx.handOver(mul(d, scale));
        return ctx.lastUse ? ctx.handOver(d) : d;
      };
      return [give(dS), give(dT), null];
    }
    const [formS, formT] = distillationGradientForms(ctx.saved, g);
    const value = (d: Tensor): Tensor => (scale !== 1 ? mul(d, scale) : d);
    return [
      dS === null ? null : formS === null ? value(dS) : fusedWithGraph("distillationLoss", value(dS), formS),
      dT === null ? null : formT === null ? value(dT) : fusedWithGraph("distillationLoss", value(dT), formT),
      null,
    ];
  },
});

/**
 * The gradients of distillationLoss written with ops, times the upstream g (a
 * scalar): the student's α·T·(softmax(s/T) − softmax(t/T))/B + (1 − α)(softmax(s) − onehot(y))/B
 * and the teacher's α·T·p_t ⊙ ((log p_t − log p_s) − KL)/B, with d = log p_t − log p_s
 * selected to 0 where p_t = 0 before it is used (0·log 0 = 0 without a NaN in its
 * derivative). null for an input that wants no gradient, or whose every term has weight 0.
 */
function distillationGradientForms(
  saved: { dS: Tensor | null; dT: Tensor | null; student: Tensor; teacher: Tensor; labels: Tensor | null; T: number; alpha: number },
  g: Tensor,
): [Tensor | null, Tensor | null] {
  const { dS, dT, student: s, teacher: t, labels, T, alpha } = saved;
  const [B, C] = s.shape as [number, number];
  const soft = alpha > 0;
  const hard = labels !== null && alpha < 1;
  let formS: Tensor | null = null;
  let formT: Tensor | null = null;
  if (soft) {
    const zs = div(s, T);
    const zt = div(t, T);
    const pt = softmax(zt, -1);
    const c = (alpha * T) / B;
    if (dS !== null) formS = mul(sub(softmax(zs, -1), pt), c);
    if (dT !== null) {
      const support = compare("distillationLoss", "gt", pt, 0);
      const d = where(support, sub(logSoftmax(zt, -1), logSoftmax(zs, -1)), 0);
      const kl = sum(mul(pt, d), -1, true);
      formT = mul(mul(pt, sub(d, kl)), mul(g, c));
    }
  }
  if (hard && dS !== null) {
    const ce = mul(sub(softmax(s, -1), oneHot(labels, C, { dtype: s.dtype as FloatDType })), (1 - alpha) / B);
    formS = formS === null ? ce : add(formS, ce);
  }
  return [formS === null ? null : mul(formS, g), formT];
}
