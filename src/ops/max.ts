import { defineOp } from "./define-op.js";
import type { Tensor } from "../tensor/tensor.js";
import { extremumBackward, extremumForward } from "./extremum.js";

/**
 * max(x, dim?, keepDim = false): the largest value over `dim` (all axes
 * when absent). Returns the values only (like torch.amax); `argmax` gives
 * the indices. NaN propagates.
 *
 * Backward: g goes to the maximal element; ties share it evenly. Written
 * with ops (compare, where, sum), so it is differentiable again; the
 * derivation, second order included, is in extremum.ts.
 */
export const max = defineOp({
  name: "max",
  forward(ctx, x: Tensor, dim?: number | readonly number[], keepDim: boolean = false): Tensor {
    return extremumForward(ctx, "max", x, dim, keepDim);
  },
  backward(ctx, g) {
    return [extremumBackward(ctx, g)];
  },
});
