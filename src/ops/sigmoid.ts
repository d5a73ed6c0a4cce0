import { defineOp } from "./define-op.js";
import type { Tensor } from "../tensor/tensor.js";
import { unary } from "./elementwise.js";
import { mul } from "./mul.js";
import { sub } from "./sub.js";

/**
 * sigmoid(x) = 1/(1 + e⁻ˣ).
 *
 * Forward. For x ≥ 0 we use 1/(1 + e⁻ˣ); for x < 0 the equal form eˣ/(1 + eˣ),
 * so the exponent is never positive and nothing overflows for large |x|.
 *
 * Backward. σ'(x) = σ(x)(1 − σ(x)) = o(1 − o), so dx = g ⊙ o ⊙ (1 − o).
 * Check: at x = 0 the slope is 1/4. Second order through o:
 * d[o(1 − o)]/dx = o(1 − o)(1 − 2y).
 */
export const sigmoid = defineOp({
  name: "sigmoid",
  forward(ctx, x: Tensor): Tensor {
    const o = unary("sigmoid", "sigmoid", x);
    ctx.save({ o });
    return o;
  },
  backward(ctx, g) {
    const o = ctx.saved.o as Tensor;
    return [mul(g, mul(o, sub(1, o)))];
  },
});
