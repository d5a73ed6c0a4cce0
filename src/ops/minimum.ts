import { defineOp } from "./define-op.js";
import type { Tensor } from "../tensor/tensor.js";
import { binary, operands } from "./elementwise.js";

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
    const [x, y] = operands("minimum", a, b);
    ctx.save({ x, y });
    return binary("minimum", x, y, (u, v) => (u < v || u !== u ? u : v));
  },
  backward(ctx, g) {
    const { x, y } = ctx.saved as { x: Tensor; y: Tensor };
    // +1 where a wins (is smaller), −1 where b wins, 0 on a tie, NaN where a or b is NaN.
    const side = binary("minimum", x, y, (u, v) => (u < v ? 1 : u > v ? -1 : u === v ? 0 : NaN));
    return [
      ctx.needsInputGrad[0] ? binary("minimum", g, side, (u, s) => (s < 0 ? 0 : s === 0 ? u / 2 : u)) : null,
      ctx.needsInputGrad[1] ? binary("minimum", g, side, (u, s) => (s > 0 ? 0 : s === 0 ? u / 2 : u)) : null,
    ];
  },
  domain: { inputs: [{}, {}], broadcast: true, kind: "distinct-pair" },
});
