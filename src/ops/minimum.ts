import { defineOp } from "./define-op.js";
import type { Tensor } from "../tensor/tensor.js";
import { binary, operands } from "./elementwise.js";

/**
 * minimum(a, b), element-wise, broadcasting. NaN propagates.
 *
 * Backward. The gradient goes to the smaller argument: da = g·[a < b],
 * db = g·[b < a]; a tie splits it evenly (g/2 each), as in PyTorch.
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
    const share = binary("minimum", x, y, (u, v) => (u < v ? 1 : u === v ? 0.5 : 0));
    return [
      ctx.needsInputGrad[0] ? binary("minimum", g, share, (u, s) => u * s) : null,
      ctx.needsInputGrad[1] ? binary("minimum", g, share, (u, s) => u * (1 - s)) : null,
    ];
  },
  domain: { inputs: [{}, {}], broadcast: true, kind: "distinct-pair" },
});
