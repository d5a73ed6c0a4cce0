import { defineOp } from "./define-op.js";
import type { Tensor } from "../tensor/tensor.js";
import { requireFloat } from "../tensor/dtype.js";
import { expandBack, reductionLanes, reduceWith } from "./reduction.js";
import { div } from "./div.js";

/**
 * mean(x, dim?, keepDim = false) = sum / n, n the number of elements reduced.
 * The mean of nothing (n = 0) is NaN, as in PyTorch.
 *
 * Backward. ∂y/∂xₖ = 1/n for every element of a lane: dx = g/n broadcast back.
 */
export const mean = defineOp({
  name: "mean",
  forward(ctx, x: Tensor, dim?: number | readonly number[], keepDim: boolean = false): Tensor {
    const dtype = requireFloat(x.dtype, "mean", "input");
    const lanes = reductionLanes(x, dim, keepDim, "mean");
    ctx.save({ keptShape: lanes.keptShape, shape: x.shape, n: lanes.length });
    return reduceWith(lanes, dtype, (d, start, stride, n) => {
      let s = 0;
      for (let k = 0, p = start; k < n; k++, p += stride) s += d[p]!;
      return s / n;
    });
  },
  backward(ctx, g) {
    return [expandBack(div(g, ctx.saved.n as number), ctx.saved.keptShape, ctx.saved.shape)];
  },
});
