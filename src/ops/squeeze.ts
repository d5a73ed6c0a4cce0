import { defineOp } from "./define-op.js";
import { Tensor, checkTensor } from "../tensor/tensor.js";
import { normalizeAxes } from "../tensor/shape.js";

/**
 * squeeze(x, dim?): drop axes of size 1 (all of them, or those in `dim`;
 * a listed axis whose size is not 1 is left alone, as in PyTorch). A view.
 *
 * Backward. No element moves: dx = g reshaped to x's shape (a view of g).
 * Check: the row-major order of the elements is the same before and after.
 *
 * Second order. The backward is reshape, linear in g and free of x
 * (∂²o/∂x² = 0); its own vector-Jacobian product is reshape back (squeeze's shape).
 */
export const squeeze = defineOp({
  name: "squeeze",
  forward(ctx, x: Tensor, dim?: number | readonly number[]): Tensor {
    checkTensor(x, "squeeze", "input");
    const axes = normalizeAxes(dim, x.ndim, "squeeze", "none");
    const keep = x.shape.map((d, i) => !(d === 1 && axes.includes(i)));
    ctx.save({ shape: x.shape });
    return x.asStrided(x.shape.filter((_, i) => keep[i]), x.strides.filter((_, i) => keep[i]), x.offset);
  },
  backward(ctx, g) {
    return [g.reshape(ctx.saved.shape as number[])];
  },
});
