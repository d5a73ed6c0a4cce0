import { defineOp } from "./define-op.js";
import type { Tensor } from "../tensor/tensor.js";
import { compare, unary } from "./elementwise.js";
import { mul } from "./mul.js";
import { where } from "./where.js";

/**
 * abs(x) = |x|.
 *
 * Backward. d|x|/dx = sign(x) for x ≠ 0. At the kink x = 0 we use the
 * subgradient 0, as PyTorch does. dx = g ⊙ sign(x).
 */
export const abs = defineOp({
  name: "abs",
  forward(ctx, x: Tensor): Tensor {
    ctx.save({ x });
    return unary("abs", "abs", x);
  },
  backward(ctx, g) {
    const x = ctx.saved.x as Tensor;
    // sign(x) is a constant (no derivative), so the rule is linear in g; the kink's 0
    // is selected, so an infinite g gives 0 at x = 0.
    return [where(compare("abs", "eq", x, 0), 0, mul(g, unary("abs", "sign", x)))];
  },
});
