import { Tensor } from "../tensor/tensor.js";
import { reductionLanes } from "./reduction.js";
import { kernel } from "../kernels/registry.js";
import { IndexError, ValueError } from "../tensor/errors.js";
import { describeValue } from "../tensor/shape.js";

/**
 * argmax(x, dim?, keepDim = false): int32 index of the largest value along
 * `dim` (of the flattened tensor when absent). Ties give the first index;
 * a NaN counts as the largest, as in PyTorch. Not differentiable.
 */
export function argmax(x: Tensor, dim?: number, keepDim: boolean = false): Tensor {
  return argmaxAs("argmax", x, dim, keepDim);
}

/** argmax for a public function `fn` built on it (predict), which its messages name. @internal */
export function argmaxAs(fn: string, x: Tensor, dim: number | undefined, keepDim: boolean): Tensor {
  return argExtremum(fn, "argmax", x, dim, keepDim);
}

/** argmin(x, dim?, keepDim = false): like argmax, for the smallest value. */
export function argmin(x: Tensor, dim?: number, keepDim: boolean = false): Tensor {
  return argExtremum("argmin", "argmin", x, dim, keepDim);
}

/** argmax's and argmin's body; `fn` is the public function the user called, for its messages. */
function argExtremum(fn: string, op: "argmax" | "argmin", x: Tensor, dim: number | undefined, keepDim: boolean): Tensor {
  if (!(x instanceof Tensor)) throw new ValueError(`${fn}: input must be a Tensor, got ${describeValue(x)}`);
  if (dim !== undefined && typeof dim !== "number") {
    throw new IndexError(`${fn}: dim must be one axis (an integer) or absent, got ${describeValue(dim)}`);
  }
  const source = dim === undefined ? x.reshape([x.size]) : x;
  const lanes = reductionLanes(source, dim ?? 0, dim === undefined ? false : keepDim, fn);
  if (lanes.length === 0) throw new ValueError(`${fn}: cannot reduce over an axis of size 0 (shape [${x.shape.join(",")}])`);
  const o = Tensor.empty(lanes.outShape, "int32");
  kernel("argReduce", x.dtype, x.size)(op, lanes.data, lanes, o.data as Int32Array);
  return o;
}
