import { defineOp } from "./define-op.js";
import type { Tensor } from "../tensor/tensor.js";
import { unary } from "./elementwise.js";
import { mul } from "./mul.js";

/**
 * exp(x) = eˣ.
 *
 * Backward. d eˣ/dx = eˣ = y, so dx = g ⊙ y: we save the output, not x.
 * Second order: y's own graph gives ∂(g ⊙ y)/∂x = g ⊙ y.
 */
export const exp = defineOp({
  name: "exp",
  forward(ctx, x: Tensor): Tensor {
    const y = unary("exp", "exp", x);
    ctx.save({ y });
    return y;
  },
  backward(ctx, g) {
    return [mul(g, ctx.saved.y as Tensor)];
  },
});
