import { defineComposite } from "../ops/define-op.js";
import { onesLike } from "../tensor/creation.js";
import type { Tensor } from "../tensor/tensor.js";
import { promoteTypes } from "../tensor/dtype.js";
import { isGradEnabled } from "../autograd/no-grad.js";
import { compare } from "../ops/elementwise.js";
import { abs } from "../ops/abs.js";
import { add } from "../ops/add.js";
import { cast } from "../ops/cast.js";
import { div } from "../ops/div.js";
import { log } from "../ops/log.js";
import { logSoftmax } from "../ops/log-softmax.js";
import { mul } from "../ops/mul.js";
import { neg } from "../ops/neg.js";
import { reshape } from "../ops/reshape.js";
import { softmax } from "../ops/softmax.js";
import { standardizeLogits } from "../ops/standardize-logits.js";
import { sub } from "../ops/sub.js";
import { sum } from "../ops/sum.js";
import { where } from "../ops/where.js";
import { klDiv } from "./kl-div.js";
import { crossEntropy } from "./cross-entropy.js";
import { classConstants, type ClassLayout } from "./class-layout.js";
import { STANDARDIZE_EPS, distillationCall, type DistillationCall, type DistillationOptions } from "./distillation-options.js";

/**
 * distillationLossComposite(student, teacher, options): the same loss as
 * `distillationLoss`, with the same options, written the way one writes it in PyTorch and
 * differentiated by autograd through its parts. It allocates an intermediate per step and is
 * slower; it exists to be read next to the fused kernels and to test them. Its arguments are
 * checked as distillationLoss checks them, and every error names distillationLossComposite.
 *
 * The original call ([B, C] logits, the forward KL, a number T, 'mean', no standardization,
 * no ignored row) is
 *
 *   α·T²·klDiv(logSoftmax(s/T), softmax(t/T), 'batchmean') + (1 − α)·crossEntropy(s, y),
 *
 * and thanks to klDiv's 0·log 0 = 0 policy it gives the same finite values at masked or
 * underflowed teacher classes. Every other call is distillationForm below.
 */
export const distillationLossComposite = defineComposite(
  "distillationLossComposite",
  (student: Tensor, teacher: Tensor, options: DistillationOptions = {}): Tensor => {
    const o = distillationCall(student, teacher, options, "distillationLossComposite");
    const T = o.temperature !== null && o.temperature.requiresGrad && isGradEnabled() ? o.temperature : o.T;
    const original = typeof T === "number" && student.ndim === 2 && o.divergence === "forward" && o.scaleT2 && !o.standardize
      && o.reduction === "mean" && o.kept === null;
    if (!original) return distillationForm(student, teacher, T, o);
    const hard = o.labelsTensor === null ? null : crossEntropy(student, o.labelsTensor).mul(1 - o.alpha);
    // A term of weight 0 is left out, as in the fused kernel: at α = 0 the teacher does not
    // enter the loss, so a non-finite teacher row cannot make it NaN (0·NaN). It stays in the
    // graph with a selected 0 (not a product with 0), so its gradient is zeros, as the
    // fused kernel's dT, and not absent.
    if (o.alpha === 0) return hard!.add(sum(where(onesLike(teacher, { dtype: "int32" }), 0, teacher)));
    const soft = klDiv(logSoftmax(student.div(T), -1), softmax(teacher.div(T), -1), { reduction: "batchmean" }).mul(o.alpha * T * T);
    return hard === null || o.alpha === 1 ? soft : soft.add(hard);
  },
);

/**
 * The distillation loss of a checked call, written with ops (a composite: autograd
 * differentiates it, to any order). Used by distillationLossComposite, and by
 * distillationLoss's backward when it creates a graph (its gradients, taken by autograd,
 * are the forms whose derivatives are the loss's second derivatives). T is a number or a
 * scalar tensor (then ∂L/∂T flows through it).
 *
 * Per row, with q = softmax(ŝ/T), p = softmax(t̂/T) (ŝ, t̂ standardized when asked, else s, t):
 *   forward  Σ p·(log p − log q)          reverse  Σ q·(log q − log p)
 *   jsd      β·KL(p ‖ m) + (1 − β)·KL(q ‖ m),  m = β·p + (1 − β)·q
 *   skewForward KL(p ‖ λp + (1 − λ)q),      skewReverse KL(q ‖ λq + (1 − λ)p)
 *   tvd      ½·Σ|p − q|
 * each KL over its first argument's support: Σ where(w > 0, w·(log w − log m), 0), with the
 * difference selected to 0 before the product (log w = −∞ never meets w = 0, in the value or
 * in any derivative), and log m of a mixture taken as log(where(m > 0, m, 1)). Then
 *   row = α·T^k·D + (1 − α)·CE,  CE = −log softmax(s)_y,  k = 2 (scaleT2) or 0,
 * 0 at an ignored row (whose logits are replaced by 0 first, so that nothing in it, however
 * large or non-finite, reaches a gradient), and the reduction.
 */
export function distillationForm(s: Tensor, t: Tensor, T: number | Tensor, o: DistillationCall): Tensor {
  const fn = o.fn;
  const dtype = promoteTypes(s.dtype, t.dtype, fn);
  const C = o.classes;
  const keptShape = [...o.leadShape, 1];
  let counted: Tensor | null = null;
  let target: Tensor | null = null;
  if (o.labels !== null) {
    // The labels' one-hot coefficients and the counted rows, from the kernel the
    // classification losses use (class axis last: rows × C lanes).
    const layout: ClassLayout = {
      C, axis: s.ndim - 1, lanes: { outer: o.rows, length: C, inner: 1 }, positions: o.rows, rowShape: o.leadShape, keptShape,
    };
    const c = classConstants(layout, { kind: "labels", labels: o.labels, ignoreIndex: o.ignoreIndex, weight: null, smoothing: 0 }, s.shape, s.dtype === "float64" ? "float64" : "float32");
    counted = c.counted;
    target = compare(fn, "gt", c.a, 0);
  }
  const sz = counted === null || o.kept === null ? s : where(counted, s, 0);
  const tz = counted === null || o.kept === null ? t : where(counted, t, 0);
  const Tv = typeof T === "number" ? T : cast(T, dtype);
  let row: Tensor | null = null;
  if (o.alpha > 0) {
    const hs = o.standardize ? standardizeLogits(sz, -1, STANDARDIZE_EPS) : sz;
    const ht = o.standardize ? standardizeLogits(tz, -1, STANDARDIZE_EPS) : tz;
    const D = divergenceForm(div(hs, Tv), div(ht, Tv), o);
    const k = !o.scaleT2 ? 1 : typeof Tv === "number" ? Tv * Tv : mul(Tv, Tv);
    row = mul(mul(D, k), o.alpha);
  }
  if (target !== null && o.alpha < 1) {
    const ce = neg(sum(where(target, logSoftmax(sz, -1), 0), -1, true));
    const hardRow = mul(ce, 1 - o.alpha);
    row = row === null ? hardRow : add(row, hardRow);
  }
  if (counted !== null && o.kept !== null) row = where(counted, row!, 0);
  const rows = row!;
  if (o.reduction === "none") return reshape(rows, o.leadShape);
  const total = sum(rows);
  return o.reduction === "sum" ? total : div(total, Math.max(o.counted, 1));
}

/** The divergence of each row of the scaled logits zs = ŝ/T, zt = t̂/T, as [..., 1]. */
function divergenceForm(zs: Tensor, zt: Tensor, o: DistillationCall): Tensor {
  const fn = o.fn;
  const q = softmax(zs, -1);
  const p = softmax(zt, -1);
  const ls = logSoftmax(zs, -1);
  const lt = logSoftmax(zt, -1);
  // KL(w ‖ m) over w's support, the log difference selected before the product.
  const kl = (w: Tensor, logW: Tensor, logM: Tensor): Tensor =>
    sum(mul(w, where(compare(fn, "gt", w, 0), sub(logW, logM), 0)), -1, true);
  const logOf = (m: Tensor): Tensor => log(where(compare(fn, "gt", m, 0), m, 1));
  const mix = (a: Tensor, wa: number, b: Tensor): Tensor => add(mul(a, wa), mul(b, 1 - wa));
  switch (o.divergence) {
    case "forward":
      return kl(p, lt, ls);
    case "reverse":
      return kl(q, ls, lt);
    case "jsd": {
      const lm = logOf(mix(p, o.mix, q));
      return add(mul(kl(p, lt, lm), o.mix), mul(kl(q, ls, lm), 1 - o.mix));
    }
    case "skewForward":
      return kl(p, lt, logOf(mix(p, o.mix, q)));
    case "skewReverse":
      return kl(q, ls, logOf(mix(q, o.mix, p)));
    case "tvd":
      return mul(sum(abs(sub(p, q)), -1, true), 0.5);
  }
}
