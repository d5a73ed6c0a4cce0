import { defineOp } from "./define-op.js";
import type { Tensor } from "../tensor/tensor.js";
import { unary } from "./elementwise.js";
import { mul } from "./mul.js";
import { sub } from "./sub.js";

/**
 * tanh(x).
 *
 * Backward. d tanh x/dx = 1 − tanh²x = 1 − y², so dx = g ⊙ (1 − y²).
 * Saving y avoids a second tanh. Check: at x = 0 the slope is 1.
 * Second order through y: d(1 − y²)/dx = −2y(1 − y²).
 */
export const tanh = defineOp({
  name: "tanh",
  forward(ctx, x: Tensor): Tensor {
    const y = unary("tanh", "tanh", x);
    ctx.save({ y });
    return y;
  },
  backward(ctx, g) {
    const y = ctx.saved.y as Tensor;
    return [mul(g, sub(1, mul(y, y)))];
  },
});
