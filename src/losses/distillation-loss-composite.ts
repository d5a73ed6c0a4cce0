import { defineComposite } from "../ops/define-op.js";
import { checkOptions } from "../tensor/options.js";
import type { Tensor } from "../tensor/tensor.js";
import { ValueError } from "../tensor/errors.js";
import { onesLike } from "../tensor/creation.js";
import { sum } from "../ops/sum.js";
import { where } from "../ops/where.js";
import { logSoftmax } from "../ops/log-softmax.js";
import { softmax } from "../ops/softmax.js";
import { klDiv } from "./kl-div.js";
import { crossEntropy } from "./cross-entropy.js";
import { checkAlpha, checkLabels, checkLogits, checkSameShape, checkTemperature } from "./checks.js";
import type { DistillationOptions } from "./distillation-loss.js";

/**
 * distillationLossComposite(student, teacher, options): the same loss as
 * `distillationLoss`, written the way one writes it in PyTorch and
 * differentiated by autograd through its parts:
 *
 *   α·T²·klDiv(logSoftmax(s/T), softmax(t/T), 'batchmean') + (1 − α)·crossEntropy(s, y)
 *
 * It allocates an intermediate per step and is slower; it exists to be read
 * next to the fused kernel and to test it. Thanks to klDiv's 0·log 0 = 0
 * policy it gives the same finite values at masked or underflowed teacher
 * classes. Its arguments are checked as distillationLoss checks them, and
 * every error names distillationLossComposite (not the parts it calls).
 */
export const distillationLossComposite = defineComposite(
  "distillationLossComposite",
  (student: Tensor, teacher: Tensor, opts?: DistillationOptions): Tensor => {
    const fn = "distillationLossComposite";
    const options = checkOptions(opts, fn, ["labels", "temperature", "alpha"]);
    checkLogits(student, fn, "student");
    checkLogits(teacher, fn, "teacher");
    checkSameShape(student, teacher, fn, "student", "teacher");
    const T = checkTemperature(options.temperature ?? 4, fn);
    const alpha = checkAlpha(options.alpha ?? (options.labels === undefined ? 1 : 0.5), fn);
    if (options.labels === undefined) {
      if (alpha !== 1) throw new ValueError(`${fn}: alpha must be absent or 1 without labels (there is no hard-label term), got ${alpha}`);
    } else checkLabels(options.labels, [student.shape[0]!], student.shape[1]!, fn, "labels");
    const hard = options.labels === undefined ? null : crossEntropy(student, options.labels).mul(1 - alpha);
    // A term of weight 0 is left out, as in the fused kernel: at α = 0 the teacher does not
    // enter the loss, so a non-finite teacher row cannot make it NaN (0·NaN). It stays in the
    // graph with a selected 0 (not a product with 0), so its gradient is zeros, as the
    // fused kernel's dT, and not absent.
    if (alpha === 0) return hard!.add(sum(where(onesLike(teacher, { dtype: "int32" }), 0, teacher)));
    const soft = klDiv(logSoftmax(student.div(T), -1), softmax(teacher.div(T), -1), { reduction: "batchmean" }).mul(alpha * T * T);
    return hard === null || alpha === 1 ? soft : soft.add(hard);
  },
);
