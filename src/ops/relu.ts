import { defineOp } from "./define-op.js";
import type { Tensor } from "../tensor/tensor.js";
import { binary, unary } from "./elementwise.js";

/**
 * relu(x) = max(x, 0).
 *
 * Backward. The slope is 1 for x > 0 and 0 for x < 0; at x = 0 we use 0,
 * as PyTorch does. dx = g ⊙ [y > 0], read from the saved output.
 */
export const relu = defineOp({
  name: "relu",
  forward(ctx, x: Tensor): Tensor {
    const y = unary("relu", x, (v) => (v > 0 ? v : v === v ? 0 : v));
    ctx.save({ y });
    return y;
  },
  backward(ctx, g) {
    return [binary("relu", g, ctx.saved.y as Tensor, (u, v) => (v > 0 ? u : 0))];
  },
  domain: { inputs: [{ awayFrom: [0] }] },
});
