import { defineOp } from "./define-op.js";
import type { Tensor } from "../tensor/tensor.js";
import { binary, operands } from "./elementwise.js";

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
    const [x, y] = operands("maximum", a, b);
    ctx.save({ x, y });
    return binary("maximum", x, y, (u, v) => (u > v || u !== u ? u : v));
  },
  backward(ctx, g) {
    const { x, y } = ctx.saved as { x: Tensor; y: Tensor };
    // +1 where a wins, −1 where b wins, 0 on a tie, NaN where a or b is NaN.
    const side = binary("maximum", x, y, (u, v) => (u > v ? 1 : u < v ? -1 : u === v ? 0 : NaN));
    return [
      ctx.needsInputGrad[0] ? binary("maximum", g, side, (u, s) => (s < 0 ? 0 : s === 0 ? u / 2 : u)) : null,
      ctx.needsInputGrad[1] ? binary("maximum", g, side, (u, s) => (s > 0 ? 0 : s === 0 ? u / 2 : u)) : null,
    ];
  },
  domain: { inputs: [{}, {}], broadcast: true, kind: "distinct-pair" },
});
