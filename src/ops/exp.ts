import { defineOp } from "./define-op.js";
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
    return [binary("exp", g, ctx.saved.y as Tensor, (u, v) => u * v)];
  },
  domain: { inputs: [{ range: [-5, 5] }] },
});
