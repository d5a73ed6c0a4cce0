import { defineOp } from "./define-op.js";
import { mul } from "./mul.js";
import { div } from "./div.js";
import type { Tensor } from "../tensor/tensor.js";
import { binary, unary } from "./elementwise.js";

/**
 * sqrt(x) = √x (NaN for x < 0).
 *
 * Backward. d√x/dx = 1/(2√x) = 1/(2y), so dx = g / (2y); at x = 0 this is
 * +Infinity·g, as in PyTorch. We save the output.
 */
export const sqrt = defineOp({
  name: "sqrt",
  forward(ctx, x: Tensor): Tensor {
    const y = unary("sqrt", x, Math.sqrt);
    ctx.save({ y });
    return y;
  },
  backward(ctx, g) {
    return [div(g, mul(ctx.saved.y as Tensor, 2))];
  },
  domain: { inputs: [{ range: [0.1, 5] }] },
});
