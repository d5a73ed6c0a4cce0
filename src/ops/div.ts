import { defineOp } from "./define-op.js";
import type { Tensor } from "../tensor/tensor.js";
import { binary, operands } from "./elementwise.js";
import { mul } from "./mul.js";
import { neg } from "./neg.js";

/**
 * div(a, b) = a / b, broadcasting. Division by zero follows IEEE 754
 * (±Infinity, or NaN for 0/0), as in PyTorch.
 *
 * Backward. ∂o/∂a = 1/b and ∂o/∂b = −a/b² = −o/b, so
 *   da = g / b,   db = −(g / b) ⊙ o.
 * Check: a = b = 1 gives da = g, db = −g, the derivatives of a/1 and 1/b at 1.
 * The rule uses the saved output o, which is itself a function of a and b,
 * so differentiating it again follows o's own graph: ∂²o/∂b² = 2a/b³.
 */
export const div = defineOp({
  name: "div",
  forward(ctx, a: Tensor | number, b: Tensor | number): Tensor {
    const [x, d] = operands("div", a, b);
    const o = binary("div", "div", x, d);
    ctx.save({ d, o });
    return o;
  },
  backward(ctx, g): (Tensor | null)[] {
    const { d, o } = ctx.saved as { d: Tensor; o: Tensor };
    const gOverD = div(g, d);
    return [
      ctx.needsInputGrad[0] ? gOverD : null,
      ctx.needsInputGrad[1] ? neg(mul(gOverD, o)) : null,
    ];
  },
});
