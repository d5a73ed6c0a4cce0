import { defineOp } from "./define-op.js";
import type { Tensor } from "../tensor/tensor.js";
import { extremumBackward, extremumForward } from "./extremum.js";

/**
 * min(x, dim?, keepDim = false): the smallest value over `dim` (all axes
 * when absent); values only, like torch.amin. NaN propagates.
 *
 * Backward: g goes to the minimal element; ties share it evenly. Written
 * with ops, so it is differentiable again (derivation in extremum.ts).
 */
export const min = defineOp({
  name: "min",
  forward(ctx, x: Tensor, dim?: number | readonly number[], keepDim: boolean = false): Tensor {
    return extremumForward(ctx, "min", x, dim, keepDim);
  },
  backward(ctx, g) {
    return [extremumBackward(ctx, g)];
  },
});
