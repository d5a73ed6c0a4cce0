import { Tensor } from "../tensor/tensor.js";
import { DTypeError, IndexError, ValueError } from "../tensor/errors.js";
import { checkDtype, type DType } from "../tensor/dtype.js";
import { checkCount, describeValue, shapeStr } from "../tensor/shape.js";

/**
 * oneHot(labels, numClasses = max + 1, { dtype = "int32" }): shape
 * [...labels.shape, numClasses], 1 at each label, like
 * torch.nn.functional.one_hot. Labels must be int32 in [0, numClasses).
 * Not differentiable (its input is integer labels). A result above
 * MAX_ELEMENTS (labels.size × numClasses) is a ValueError naming both.
 */
export function oneHot(labels: Tensor, numClasses = -1, options: { dtype?: DType } = {}): Tensor {
  if (!(labels instanceof Tensor)) throw new DTypeError(`oneHot: labels must be an int32 Tensor, got ${describeValue(labels)}`);
  if (labels.dtype !== "int32") throw new DTypeError(`oneHot: labels must be int32, got ${labels.dtype}`);
  const ys = labels.contiguous().data;
  let c = numClasses;
  if (c === -1) {
    c = 0;
    for (let i = 0; i < ys.length; i++) c = Math.max(c, ys[i]! + 1);
  } else if (typeof c !== "number" || !Number.isInteger(c) || c < 1) {
    throw new ValueError(`oneHot: numClasses must be a positive integer or -1, got ${describeValue(numClasses)}`);
  }
  if (options === null || typeof options !== "object") throw new ValueError(`oneHot: options must be an object, got ${describeValue(options)}`);
  const dtype = options.dtype === undefined ? "int32" : checkDtype(options.dtype, "oneHot");
  checkCount(ys.length * c, "oneHot", `the one-hot encoding of labels ${shapeStr(labels.shape)} with numClasses = ${c}`);
  const y = Tensor.empty([...labels.shape, c], dtype, "oneHot");
  for (let i = 0; i < ys.length; i++) {
    const k = ys[i]!;
    if (k < 0 || k >= c) throw new IndexError(`oneHot: label ${k} is out of range [0, ${c}) at flat index ${i}`);
    y.data[i * c + k] = 1;
  }
  return y;
}
