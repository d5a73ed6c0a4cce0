import { Tensor } from "../tensor/tensor.js";
import { DTypeError, IndexError, ValueError } from "../tensor/errors.js";
import type { DType } from "../tensor/dtype.js";

/**
 * oneHot(labels, numClasses = max + 1, { dtype = "int32" }): shape
 * [...labels.shape, numClasses], 1 at each label, like
 * torch.nn.functional.one_hot. Labels must be int32 in [0, numClasses).
 * Not differentiable (its input is integer labels).
 */
export function oneHot(labels: Tensor, numClasses = -1, options: { dtype?: DType } = {}): Tensor {
  if (labels.dtype !== "int32") throw new DTypeError(`oneHot: labels must be int32, got ${labels.dtype}`);
  const ys = labels.contiguous().data;
  let c = numClasses;
  if (c === -1) {
    c = 0;
    for (let i = 0; i < ys.length; i++) c = Math.max(c, ys[i]! + 1);
  } else if (!Number.isInteger(c) || c < 1) {
    throw new ValueError(`oneHot: numClasses must be a positive integer or -1, got ${numClasses}`);
  }
  const y = Tensor.empty([...labels.shape, c], options.dtype ?? "int32");
  for (let i = 0; i < ys.length; i++) {
    const k = ys[i]!;
    if (k < 0 || k >= c) throw new IndexError(`oneHot: label ${k} is out of range [0, ${c}) at flat index ${i}`);
    y.data[i * c + k] = 1;
  }
  return y;
}
