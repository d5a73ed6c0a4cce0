import { Tensor } from "../tensor/tensor.js";
import { reductionLanes, reduceWith } from "./reduction.js";
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
  return argExtremum(fn, x, dim, keepDim, (a, b) => a > b);
}

/** argmin(x, dim?, keepDim = false): like argmax, for the smallest value. */
export function argmin(x: Tensor, dim?: number, keepDim: boolean = false): Tensor {
  return argExtremum("argmin", x, dim, keepDim, (a, b) => a < b);
}

/** argmax's and argmin's body; `fn` is the public function the user called, for its messages. */
function argExtremum(fn: string, x: Tensor, dim: number | undefined, keepDim: boolean, better: (a: number, b: number) => boolean): Tensor {
  if (!(x instanceof Tensor)) throw new ValueError(`${fn}: input must be a Tensor, got ${describeValue(x)}`);
  if (dim !== undefined && typeof dim !== "number") {
    throw new IndexError(`${fn}: dim must be one axis (an integer) or absent, got ${describeValue(dim)}`);
  }
  const source = dim === undefined ? x.reshape([x.size]) : x;
  const lanes = reductionLanes(source, dim ?? 0, dim === undefined ? false : keepDim, fn);
  if (lanes.length === 0) throw new ValueError(`${fn}: cannot reduce over an axis of size 0 (shape [${x.shape.join(",")}])`);
  return reduceWith(lanes, "int32", (d, start, stride, n) => {
    let best = 0;
    let m = d[start]!;
    if (m !== m) return 0;
    for (let k = 1, p = start + stride; k < n; k++, p += stride) {
      const v = d[p]!;
      if (v !== v) return k;
      if (better(v, m)) {
        m = v;
        best = k;
      }
    }
    return best;
  });
}
