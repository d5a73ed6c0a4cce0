import { defineOp } from "./define-op.js";
import type { Tensor } from "../tensor/tensor.js";
import { unary } from "./elementwise.js";
import { add } from "./add.js";
import { div } from "./div.js";

/**
 * log1p(x) = log(1 + x), accurate for small |x| where 1 + x would round.
 *
 * Backward. d/dx log(1 + x) = 1/(1 + x), so dx = g / (1 + x).
 */
export const log1p = defineOp({
  name: "log1p",
  forward(ctx, x: Tensor): Tensor {
    ctx.save({ x });
    return unary("log1p", "log1p", x);
  },
  backward(ctx, g) {
    return [div(g, add(ctx.saved.x as Tensor, 1))];
  },
});
