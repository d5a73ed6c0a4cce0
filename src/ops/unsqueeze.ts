import { defineOp } from "./define-op.js";
import { Tensor, checkTensor } from "../tensor/tensor.js";
import { normalizeAxis } from "../tensor/shape.js";

/**
 * unsqueeze(x, dim): insert an axis of size 1 at `dim` ∈ [−ndim−1, ndim]. A view.
 *
 * Backward. No element moves: dx = g reshaped to x's shape (a view of g).
 * Check: the row-major order of the elements is the same before and after.
 *
 * Second order. The backward is reshape, linear in g and free of x
 * (∂²o/∂x² = 0); its own vector-Jacobian product is reshape back (unsqueeze's shape).
 */
export const unsqueeze = defineOp({
  name: "unsqueeze",
  forward(ctx, x: Tensor, dim: number): Tensor {
    checkTensor(x, "unsqueeze", "input");
    const d = normalizeAxis(dim, x.ndim + 1, "dim", "unsqueeze");
    const shape = [...x.shape];
    const strides = [...x.strides];
    shape.splice(d, 0, 1);
    strides.splice(d, 0, d < x.ndim ? x.strides[d]! * x.shape[d]! : 1);
    ctx.save({ shape: x.shape });
    return x.asStrided(shape, strides, x.offset);
  },
  backward(ctx, g) {
    return [g.reshape(ctx.saved.shape as number[])];
  },
});
