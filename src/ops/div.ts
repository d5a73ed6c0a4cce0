import { defineOp } from "./define-op.js";
import { neg } from "./neg.js";
import { mul } from "./mul.js";
import type { Tensor } from "../tensor/tensor.js";
import { binary, operands } from "./elementwise.js";

/**
 * div(a, b) = a / b, broadcasting. Division by zero follows IEEE 754
 * (±Infinity, or NaN for 0/0), as in PyTorch.
 *
 * Backward. ∂y/∂a = 1/b and ∂y/∂b = −a/b² = −y/b, so
 *   da = g / b,   db = −g ⊙ y / b.
 * Check: a = b = 1 gives da = g, db = −g, the derivatives of a/1 and 1/b at 1.
 */
export const div = defineOp({
  name: "div",
  forward(ctx, a: Tensor | number, b: Tensor | number): Tensor {
    const [x, d] = operands("div", a, b);
    const y = binary("div", x, d, (u, v) => u / v, "div");
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
  domain: { inputs: [{}, { range: [0.5, 3] }], broadcast: true },
});
