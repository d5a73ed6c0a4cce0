import { defineOp } from "./define-op.js";
import { sub } from "./sub.js";
import { mul } from "./mul.js";
import type { Tensor } from "../tensor/tensor.js";
import { binary, unary } from "./elementwise.js";

/**
 * tanh(x).
 *
 * Backward. d tanh x/dx = 1 − tanh²x = 1 − y², so dx = g ⊙ (1 − y²).
 * Saving y avoids a second tanh. Check: at x = 0 the slope is 1.
 */
export const tanh = defineOp({
  name: "tanh",
  forward(ctx, x: Tensor): Tensor {
    const y = unary("tanh", x, Math.tanh);
    ctx.save({ y });
    return y;
  },
  backward(ctx, g) {
    const y = ctx.saved.y as Tensor;
    return [mul(g, sub(1, mul(y, y)))];
  },
  domain: { inputs: [{ range: [-3, 3] }] },
});
