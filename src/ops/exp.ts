import { defineOp } from "./define-op.js";
import type { Tensor } from "../tensor/tensor.js";
import { unary } from "./elementwise.js";
import { mul } from "./mul.js";

/**
 * exp(x) = eˣ.
 *
 * Backward. d eˣ/dx = eˣ = o, so dx = g ⊙ o: we save the output, not x.
 * Second order: o's own graph gives ∂(g ⊙ o)/∂x = g ⊙ o.
 */
export const exp = defineOp({
  name: "exp",
  forward(ctx, x: Tensor): Tensor {
    const o = unary("exp", "exp", x);
    ctx.save({ o });
    return o;
  },
  backward(ctx, g) {
    return [mul(g, ctx.saved.o as Tensor)];
  },
});
