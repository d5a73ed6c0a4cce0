import { defineOp } from "./define-op.js";
import type { Tensor } from "../tensor/tensor.js";
import { binary, operands } from "./elementwise.js";

/**
 * maximum(a, b), element-wise, broadcasting. NaN propagates.
 *
 * Backward. The gradient goes to the larger argument: da = g·[a > b],
 * db = g·[b > a]. On a tie (a = b) the derivative does not exist; as in
 * PyTorch we split it evenly, g/2 to each, so da + db = g always.
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
    const share = binary("maximum", x, y, (u, v) => (u > v ? 1 : u === v ? 0.5 : 0));
    return [
      ctx.needsInputGrad[0] ? binary("maximum", g, share, (u, s) => u * s) : null,
      ctx.needsInputGrad[1] ? binary("maximum", g, share, (u, s) => u * (1 - s)) : null,
    ];
  },
  domain: { inputs: [{}, {}], broadcast: true, kind: "distinct-pair" },
});
