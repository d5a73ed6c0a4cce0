import { defineOp } from "./define-op.js";
import { div } from "./div.js";
import type { Tensor } from "../tensor/tensor.js";
import { binary, unary } from "./elementwise.js";

/**
 * log(x), the natural logarithm. log 0 = −Infinity, log of a negative is NaN.
 *
 * Backward. d log x/dx = 1/x, so dx = g / x.
 */
export const log = defineOp({
  name: "log",
  forward(ctx, x: Tensor): Tensor {
    ctx.save({ x });
    return unary("log", x, Math.log);
  },
  backward(ctx, g) {
    return [div(g, ctx.saved.x as Tensor)];
  },
  domain: { inputs: [{ range: [0.1, 5] }] },
});
