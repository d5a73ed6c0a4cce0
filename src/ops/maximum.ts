import { defineOp } from "./define-op.js";
import type { Tensor } from "../tensor/tensor.js";
import { binary, compare, operands } from "./elementwise.js";
import { mul } from "./mul.js";
import { where } from "./where.js";

/**
 * maximum(a, b), element-wise, broadcasting. NaN propagates from either side.
 * On a tie between 0 and −0 the second argument is returned (PyTorch's CPU
 * kernel returns either, depending on its code path; docs/ops.md).
 *
 * Backward. The gradient goes to the larger argument: da = g·[a > b],
 * db = g·[b > a]. On a tie (a = b) the derivative does not exist; as in
 * PyTorch we split it evenly, g/2 to each, so da + db = g. Where a or b is
 * NaN no comparison holds and, as PyTorch's rule (derivatives.yaml) has it,
 * both sides get g. The losing side's 0 is selected, not g·0: an input that
 * does not influence the output gets 0 even when g is ±∞ or NaN.
 * Check: away from NaN, da + db = g everywhere.
 */
export const maximum = defineOp({
  name: "maximum",
  forward(ctx, a: Tensor | number, b: Tensor | number): Tensor {
    const [lhs, rhs] = operands("maximum", a, b);
    ctx.save({ lhs, rhs });
    return binary("maximum", "maximum", lhs, rhs);
  },
  backward(ctx, g) {
    const { lhs, rhs } = ctx.saved as { lhs: Tensor; rhs: Tensor };
    // The masks are constants (no derivative of a comparison), so the rule is
    // linear in g and differentiable: second derivatives are 0 away from ties.
    const half = mul(g, 0.5);
    const shared = (loses: Tensor): Tensor => where(loses, 0, where(compare("maximum", "eq", lhs, rhs), half, g));
    return [
      ctx.needsInputGrad[0] ? shared(compare("maximum", "lt", lhs, rhs)) : null,
      ctx.needsInputGrad[1] ? shared(compare("maximum", "gt", lhs, rhs)) : null,
    ];
  },
});
