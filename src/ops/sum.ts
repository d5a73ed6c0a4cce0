import { defineOp } from "./define-op.js";
import { Tensor, checkFloatTensor } from "../tensor/tensor.js";
import { expandBack, reduceLanes, reductionLanes } from "./reduction.js";

/**
 * sum(x, dim?, keepDim = false): the sum over `dim` (a number, a list, or
 * all axes when absent), as torch.sum. Accumulated in float64, in the
 * row-major order of the reduced axes (kernels/table.ts, reduce).
 *
 * Backward. o = Σₖ xₖ over each lane, so ∂o/∂xₖ = 1: every element of a lane
 * receives the lane's g. dx = E(g), g broadcast back to x's shape — reshape
 * and expand, two views, so the first-order backward copies nothing.
 * Check: ⟨sum(x), g⟩ = Σ_lanes g·Σₖ xₖ = ⟨x, E(g)⟩.
 *
 * Second order. dx = E(g) is linear in g and does not depend on x, so
 * ∂²o/∂x² = 0, and the vector-Jacobian product of the backward itself
 * (with respect to g, for a cotangent h of x's shape) is Eᵀh = sum of h over
 * the same lanes: expand's rule (the broadcast summed back, backward.ts)
 * followed by reshape's. Check: ⟨E(g), h⟩ = ⟨g, sum(h)⟩.
 */
export const sum = defineOp({
  name: "sum",
  forward(ctx, x: Tensor, dim?: number | readonly number[], keepDim: boolean = false): Tensor {
    const dtype = checkFloatTensor(x, "sum", "input").dtype;
    const lanes = reductionLanes(x, dim, keepDim, "sum");
    ctx.save({ keptShape: lanes.keptShape, shape: x.shape });
    return reduceLanes("sum", lanes, dtype, x.size);
  },
  backward(ctx, g) {
    return [expandBack(g, ctx.saved.keptShape, ctx.saved.shape)];
  },
});
