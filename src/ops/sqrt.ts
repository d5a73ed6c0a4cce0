import { defineOp } from "./define-op.js";
import type { Tensor } from "../tensor/tensor.js";
import { unary } from "./elementwise.js";
import { div } from "./div.js";
import { mul } from "./mul.js";

/**
 * sqrt(x) = √x (NaN for x < 0).
 *
 * Backward. d√x/dx = 1/(2√x) = 1/(2y), so dx = g / (2y); at x = 0 this is
 * +Infinity·g, as in PyTorch. We save the output (second order through o:
 * −g/(4x^{3/2})).
 */
export const sqrt = defineOp({
  name: "sqrt",
  forward(ctx, x: Tensor): Tensor {
    const o = unary("sqrt", "sqrt", x);
    ctx.save({ o });
    return o;
  },
  backward(ctx, g) {
    return [div(g, mul(ctx.saved.o as Tensor, 2))];
  },
});
