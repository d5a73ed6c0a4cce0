import { defineOp } from "./define-op.js";
import type { Tensor } from "../tensor/tensor.js";
import { unary } from "./elementwise.js";
import { div } from "./div.js";

/**
 * log(x), the natural logarithm. log 0 = −Infinity, log of a negative is NaN.
 *
 * Backward. d log x/dx = 1/x, so dx = g / x (second order: −g/x²).
 */
export const log = defineOp({
  name: "log",
  forward(ctx, x: Tensor): Tensor {
    ctx.save({ x });
    return unary("log", "log", x);
  },
  backward(ctx, g) {
    return [div(g, ctx.saved.x as Tensor)];
  },
});
