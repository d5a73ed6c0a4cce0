import { defineOp } from "./define-op.js";
import { Tensor, checkFloatTensor } from "../tensor/tensor.js";
import { expandBack, reduceLanes, reductionLanes } from "./reduction.js";
import { div } from "./div.js";

/**
 * mean(x, dim?, keepDim = false) = sum / n, n the number of elements reduced
 * (the float64 sum divided once, then rounded to x's dtype). The mean of
 * nothing (n = 0) is NaN, as in PyTorch.
 *
 * Backward. ∂o/∂xₖ = 1/n for every element of a lane: dx = E(g/n), g/n
 * broadcast back (one division per output element, then views).
 * Check: ⟨mean(x), g⟩ = Σ_lanes (g/n)·Σₖ xₖ = ⟨x, E(g/n)⟩.
 *
 * Second order. dx is linear in g and independent of x (∂²o/∂x² = 0); the
 * backward's own vector-Jacobian product is h ↦ sum(h)/n over the lanes,
 * which expand's and div's rules give. Check: ⟨E(g/n), h⟩ = ⟨g, sum(h)/n⟩.
 */
export const mean = defineOp({
  name: "mean",
  forward(ctx, x: Tensor, dim?: number | readonly number[], keepDim: boolean = false): Tensor {
    const dtype = checkFloatTensor(x, "mean", "input").dtype;
    const lanes = reductionLanes(x, dim, keepDim, "mean");
    ctx.save({ keptShape: lanes.keptShape, shape: x.shape, n: lanes.length });
    return reduceLanes("mean", lanes, dtype, x.size);
  },
  backward(ctx, g) {
    return [expandBack(div(g, ctx.saved.n as number), ctx.saved.keptShape, ctx.saved.shape)];
  },
});
