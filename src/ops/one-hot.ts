import { Tensor } from "../tensor/tensor.js";
import { DTypeError, IndexError, ValueError } from "../tensor/errors.js";
import { checkDtype, type DType } from "../tensor/dtype.js";
import { checkCount, contiguousStrides, describeValue, shapeStr } from "../tensor/shape.js";
import { kernel } from "../kernels/registry.js";
import { contiguousData } from "./elementwise.js";

/**
 * oneHot(labels, numClasses = max + 1, { dtype = "int32" }): shape
 * [...labels.shape, numClasses], 1 at each label, like
 * torch.nn.functional.one_hot. Labels must be int32 in [0, numClasses).
 * Not differentiable (its input is integer labels). A result above
 * MAX_ELEMENTS (labels.size × numClasses) is a ValueError naming both.
 *
 * On the kernels: the largest label by "reduce" (max), the position of each
 * 1 by "gatherPositions" (which also finds a label out of range), and the
 * ones added into the zeros by "putAdd".
 */
export function oneHot(labels: Tensor, numClasses = -1, options: { dtype?: DType } = {}): Tensor {
  if (!(labels instanceof Tensor)) throw new DTypeError(`oneHot: labels must be an int32 Tensor, got ${describeValue(labels)}`);
  if (labels.dtype !== "int32") throw new DTypeError(`oneHot: labels must be int32, got ${labels.dtype}`);
  const ys = contiguousData(labels) as Int32Array;
  const n = ys.length;
  let c = numClasses;
  if (c === -1) {
    const top = new Int32Array(1);
    if (n > 0) kernel("reduce", "int32", n)("max", ys, { outer: 1, length: n, inner: 1 }, top);
    c = n > 0 ? Math.max(top[0]! + 1, 0) : 0;
  } else if (typeof c !== "number" || !Number.isInteger(c) || c < 1) {
    throw new ValueError(`oneHot: numClasses must be a positive integer or -1, got ${describeValue(numClasses)}`);
  }
  if (options === null || typeof options !== "object") throw new ValueError(`oneHot: options must be an object, got ${describeValue(options)}`);
  const dtype = options.dtype === undefined ? "int32" : checkDtype(options.dtype, "oneHot");
  checkCount(n * c, "oneHot", `the one-hot encoding of labels ${shapeStr(labels.shape)} with numClasses = ${c}`);
  const shape = [...labels.shape, c];
  const o = Tensor.empty(shape, dtype, "oneHot");
  // Label i sits at o's position i·c + labels[i]: gather's addressing along the new last axis.
  const positions = new Int32Array(n);
  const bad = kernel("gatherPositions", "int32", n)(ys, [...labels.shape, 1], labels.ndim, c, { offset: 0, strides: contiguousStrides(shape) }, positions);
  if (bad >= 0) throw new IndexError(`oneHot: label ${ys[bad]} is out of range [0, ${c}) at flat index ${bad}`);
  kernel("putAdd", dtype, n)(Tensor.empty([n], dtype).data.fill(1), positions, o.data);
  return o;
}
