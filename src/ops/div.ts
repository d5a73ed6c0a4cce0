import { defineOp } from "./define-op.js";
import type { Tensor } from "../tensor/tensor.js";
import { binary, operands } from "./elementwise.js";
import { mul } from "./mul.js";
import { neg } from "./neg.js";

/**
 * div(a, b) = a / b, broadcasting. Division by zero follows IEEE 754
 * (±Infinity, or NaN for 0/0), as in PyTorch.
 *
 * Backward. ∂y/∂a = 1/b and ∂y/∂b = −a/b² = −y/b, so
 *   da = g / b,   db = −(g / b) ⊙ y.
 * Check: a = b = 1 gives da = g, db = −g, the derivatives of a/1 and 1/b at 1.
 * The rule uses the saved output y, which is itself a function of a and b,
 * so differentiating it again follows y's own graph: ∂²y/∂b² = 2a/b³.
 */
export const div = defineOp({
  name: "div",
  forward(ctx, a: Tensor | number, b: Tensor | number): Tensor {
    const [x, d] = operands("div", a, b);
    const y = binary("div", "div", x, d);
    ctx.save({ d, y });
    return y;
  },
  backward(ctx, g): (Tensor | null)[] {
    const { d, y } = ctx.saved as { d: Tensor; y: Tensor };
    const gOverD = div(g, d);
    return [
      ctx.needsInputGrad[0] ? gOverD : null,
      ctx.needsInputGrad[1] ? neg(mul(gOverD, y)) : null,
    ];
  },
});
