import type { Tensor } from "../tensor/tensor.js";
import { argmax } from "../ops/argmax.js";
import { requireFloat } from "../tensor/dtype.js";
import { ShapeError } from "../tensor/errors.js";

/**
 * predict(logits): the predicted class of each row, argmax along the last
 * axis at T = 1 (int32, ties to the lowest index). Dividing logits by any
 * T > 0 keeps their order, so temperature never changes a prediction: it
 * is a training tool only. Not differentiable.
 */
export function predict(logits: Tensor): Tensor {
  requireFloat(logits.dtype, "predict", "logits");
  if (logits.ndim === 0) throw new ShapeError("predict: logits need a class axis, got shape []");
  return argmax(logits, -1);
}
