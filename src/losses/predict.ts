import { Tensor } from "../tensor/tensor.js";
import { argmaxAs } from "../ops/argmax.js";
import { requireFloat } from "../tensor/dtype.js";
import { DTypeError, ShapeError } from "../tensor/errors.js";
import { describeValue } from "../tensor/shape.js";

/**
 * predict(logits): the predicted class of each row, argmax along the last
 * axis at T = 1 (int32, ties to the lowest index). Dividing logits by any
 * T > 0 keeps their order, so temperature never changes a prediction: it
 * is a training tool only. Not differentiable.
 */
export function predict(logits: Tensor): Tensor {
  if (!(logits instanceof Tensor)) throw new DTypeError(`predict: logits must be a Tensor, got ${describeValue(logits)}`);
  requireFloat(logits.dtype, "predict", "logits");
  if (logits.ndim === 0) throw new ShapeError("predict: logits need a class axis, got shape []");
  return argmaxAs("predict", logits, -1, false);
}
