import { defineOp } from "./define-op.js";
import type { Tensor } from "../tensor/tensor.js";
import { unary } from "./elementwise.js";
import { mul } from "./mul.js";
import { sub } from "./sub.js";

/**
 * tanh(x).
 *
 * Backward. d tanh x/dx = 1 − tanh²x = 1 − o², so dx = g ⊙ (1 − o²).
 * Saving o avoids a second tanh. Check: at x = 0 the slope is 1.
 * Second order through o: d(1 − o²)/dx = −2y(1 − o²).
 */
export const tanh = defineOp({
  name: "tanh",
  forward(ctx, x: Tensor): Tensor {
    const o = unary("tanh", "tanh", x);
    ctx.save({ o });
    return o;
  },
  backward(ctx, g) {
    const o = ctx.saved.o as Tensor;
    return [mul(g, sub(1, mul(o, o)))];
  },
});
