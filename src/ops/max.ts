import { defineOp } from "./define-op.js";
import type { Tensor } from "../tensor/tensor.js";
import { extremumBackward, extremumForward } from "./extremum.js";

/**
 * max(x, dim?, keepDim = false): the largest value over `dim` (all axes
 * when absent). Returns the values only (like torch.amax); `argmax` gives
 * the indices. NaN propagates.
 *
 * Backward: g goes to the maximal element; ties share it evenly (see extremum.ts).
 */
export const max = defineOp({
  name: "max",
  forward(ctx, x: Tensor, dim?: number | readonly number[], keepDim: boolean = false): Tensor {
    return extremumForward(ctx, "max", x, dim, keepDim, (a, b) => a > b);
  },
  backward(ctx, g) {
    return [extremumBackward(ctx, g)];
  },
});
