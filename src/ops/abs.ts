import { defineOp } from "./define-op.js";
import type { Tensor } from "../tensor/tensor.js";
import { compare, unary } from "./elementwise.js";
import { neg } from "./neg.js";
import { where } from "./where.js";

/**
 * abs(x) = |x|.
 *
 * Backward. d|x|/dx = sign(x) for x ≠ 0. At the kink x = 0 we use the
 * subgradient 0, as PyTorch does; at NaN, 0 too (docs/non-finite.md):
 *   dx = g where x > 0, −g where x < 0, 0 elsewhere (x = 0 or NaN).
 * Check: at x = ±2 the slope is ±1.
 *
 * Second order. The masks are constants, so dx is linear in g (its own
 * vector-Jacobian product is the same selection of the cotangent) and
 * ∂²|x|/∂x² = 0 away from the kink.
 */
export const abs = defineOp({
  name: "abs",
  forward(ctx, x: Tensor): Tensor {
    ctx.save({ x });
    return unary("abs", "abs", x);
  },
  backward(ctx, g) {
    const x = ctx.saved.x as Tensor;
    // Both zeros (the kink, NaN) are selected, not g·sign(x): an infinite g gives 0 at
    // x = 0, and sign(NaN) = NaN would send NaN back.
    return [where(compare("abs", "gt", x, 0), g, where(compare("abs", "lt", x, 0), neg(g), 0))];
  },
});
