import { defineOp } from "./define-op.js";
import type { Tensor } from "../tensor/tensor.js";
import { binary, operands } from "./elementwise.js";
import { neg } from "./neg.js";

/**
 * sub(a, b) = a − b, broadcasting.
 *
 * Backward. ∂o/∂a = 1, ∂o/∂b = −1, so da = g and db = −g.
 */
export const sub = defineOp({
  name: "sub",
  forward(_ctx, a: Tensor | number, b: Tensor | number): Tensor {
    const [lhs, rhs] = operands("sub", a, b);
    return binary("sub", "sub", lhs, rhs);
  },
  backward(ctx, g) {
    return [ctx.needsInputGrad[0] ? g : null, ctx.needsInputGrad[1] ? neg(g) : null];
  },
});
