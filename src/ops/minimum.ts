import { defineOp } from "./define-op.js";
import type { Tensor } from "../tensor/tensor.js";
import { binary, compare, operands } from "./elementwise.js";
import { mul } from "./mul.js";
import { where } from "./where.js";

/**
 * minimum(a, b), element-wise, broadcasting. NaN propagates from either side.
 * On a tie between 0 and −0 the second argument is returned (docs/ops.md).
 *
 * Backward. The gradient goes to the smaller argument: da = g·[a < b],
 * db = g·[b < a]; a tie splits it evenly (g/2 each), and a NaN on either
 * side sends g to both, as in PyTorch (maximum.ts gives the rule). The
 * losing side's 0 is selected, so a ±∞ or NaN g still gives it 0.
 * Check: away from NaN, da + db = g everywhere.
 */
export const minimum = defineOp({
  name: "minimum",
  forward(ctx, a: Tensor | number, b: Tensor | number): Tensor {
    const [lhs, rhs] = operands("minimum", a, b);
    ctx.save({ lhs, rhs });
    return binary("minimum", "minimum", lhs, rhs);
  },
  backward(ctx, g) {
    const { lhs, rhs } = ctx.saved as { lhs: Tensor; rhs: Tensor };
    // Constant masks: the rule is linear in g (see maximum.ts).
    const half = mul(g, 0.5);
    const shared = (loses: Tensor): Tensor => where(loses, 0, where(compare("minimum", "eq", lhs, rhs), half, g));
    return [
      ctx.needsInputGrad[0] ? shared(compare("minimum", "gt", lhs, rhs)) : null,
      ctx.needsInputGrad[1] ? shared(compare("minimum", "lt", lhs, rhs)) : null,
    ];
  },
});
