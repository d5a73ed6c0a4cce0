import { defineOp } from "./define-op.js";
import type { Tensor } from "../tensor/tensor.js";
import { binary, operands } from "./elementwise.js";

/**
 * add(a, b) = a + b, broadcasting.
 *
 * Backward. ∂o/∂a = 1 and ∂o/∂b = 1 element-wise, so da = g and db = g
 * (in the broadcast shape; autograd sums them back to each input's shape).
 * Second order: the rule is g itself, linear in g and free of a and b.
 */
export const add = defineOp({
  name: "add",
  forward(_ctx, a: Tensor | number, b: Tensor | number): Tensor {
    const [lhs, rhs] = operands("add", a, b);
    return binary("add", "add", lhs, rhs);
  },
  backward(ctx, g) {
    return [ctx.needsInputGrad[0] ? g : null, ctx.needsInputGrad[1] ? g : null];
  },
});
