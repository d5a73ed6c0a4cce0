import { defineOp } from "./define-op.js";
import { mul } from "./mul.js";
import type { Tensor } from "../tensor/tensor.js";
import { binary, unary } from "./elementwise.js";

/**
 * exp(x) = eˣ.
 *
 * Backward. d eˣ/dx = eˣ = y, so dx = g ⊙ y: we save the output, not x.
 */
export const exp = defineOp({
  name: "exp",
  forward(ctx, x: Tensor): Tensor {
    const y = unary("exp", x, Math.exp);
    ctx.save({ y });
    return y;
  },
  backward(ctx, g) {
    return [mul(g, ctx.saved.y as Tensor)];
  },
  domain: { inputs: [{ range: [-5, 5] }] },
});
