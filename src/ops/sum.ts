import { defineOp } from "./define-op.js";
import type { Tensor } from "../tensor/tensor.js";
import { requireFloat } from "../tensor/dtype.js";
import { expandBack, reductionLanes, reduceWith } from "./reduction.js";

/**
 * sum(x, dim?, keepDim = false): the sum over `dim` (a number, a list, or
 * all axes when absent), as torch.sum.
 *
 * Backward. y = Σₖ xₖ over each lane, so ∂y/∂xₖ = 1: every element of a lane
 * receives the lane's g. dx = g broadcast back to x's shape (a view, no copy).
 */
export const sum = defineOp({
  name: "sum",
  forward(ctx, x: Tensor, dim?: number | readonly number[], keepDim: boolean = false): Tensor {
    const dtype = requireFloat(x.dtype, "sum", "input");
    const lanes = reductionLanes(x, dim, keepDim, "sum");
    ctx.save({ keptShape: lanes.keptShape, shape: x.shape });
    return reduceWith(lanes, dtype, (d, start, stride, n) => {
      let s = 0;
      for (let k = 0, p = start; k < n; k++, p += stride) s += d[p]!;
      return s;
    });
  },
  backward(ctx, g) {
    return [expandBack(g, ctx.saved.keptShape, ctx.saved.shape)];
  },
});
