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
 * Backward. σ'(x) = σ(x)(1 − σ(x)) = y(1 − y), so dx = g ⊙ y ⊙ (1 − y).
 * Check: at x = 0 the slope is 1/4. Second order through y:
 * d[y(1 − y)]/dx = y(1 − y)(1 − 2y).
 */
export const sigmoid = defineOp({
  name: "sigmoid",
  forward(ctx, x: Tensor): Tensor {
    const y = unary("sigmoid", "sigmoid", x);
    ctx.save({ y });
    return y;
  },
  backward(ctx, g) {
    const y = ctx.saved.y as Tensor;
    return [mul(g, mul(y, sub(1, y)))];
  },
});
