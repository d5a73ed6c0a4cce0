import { checkFloatTensor, type Tensor } from "../tensor/tensor.js";
import { ShapeError, ValueError } from "../tensor/errors.js";
import { shapeStr } from "../tensor/shape.js";
import { asPublicCall } from "../tensor/public-call.js";
import { noGrad } from "../autograd/no-grad.js";
import { cast } from "../ops/cast.js";
import { eq } from "../ops/eq.js";
import { mean } from "../ops/mean.js";
import { predict } from "./predict.js";
import { checkLabels } from "./checks.js";

/**
 * The fraction of examples whose predicted class is their label: logits
 * [..., C] (the class axis last, as crossEntropy's default layout) and int32
 * labels [...] in [0, C). The prediction is `predict(logits)`, the argmax
 * along the class axis, ties to the lowest index (a NaN logit counts as the
 * largest, so a row holding one predicts that class; docs/non-finite.md).
 *
 * Computed as mean(eq(predict(logits), labels)) in float64: the count k of
 * correct rows is an integer summed exactly, so the result is k/N rounded
 * once, the float64 nearest to k/N (1/3 of 3 rows prints 0.3333333333333333).
 * Returns a number, not a tensor (it is a metric: nothing to differentiate).
 *
 * Refused: labels that are not int32 (DTypeError), of a shape other than
 * logits' without its last axis (ShapeError), a label outside [0, C)
 * (IndexError naming its position), and no examples at all (ValueError:
 * 0/0 has no meaning as an accuracy).
 *
 * @example accuracy(model.forward(xTest), yTest) // 0.9555…
 */
export function accuracy(logits: Tensor, labels: Tensor): number {
  const fn = "accuracy";
  checkFloatTensor(logits, fn, "logits");
  if (logits.ndim === 0) throw new ShapeError(`${fn}: logits need a class axis, got shape []`);
  const classes = logits.shape[logits.ndim - 1]!;
  const rows = logits.shape.slice(0, -1);
  checkLabels(labels, rows, classes, fn, "labels");
  if (labels.size === 0) throw new ValueError(`${fn}: there are no examples (labels has shape ${shapeStr(labels.shape)}), so there is no accuracy to compute`);
  return asPublicCall(fn, () => noGrad(() => mean(cast(eq(predict(logits), labels), "float64")).item()));
}
