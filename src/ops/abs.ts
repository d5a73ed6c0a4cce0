import { defineOp } from "./define-op.js";
import type { Tensor } from "../tensor/tensor.js";
import { binary, unary } from "./elementwise.js";

/**
 * abs(x) = |x|.
 *
 * Backward. d|x|/dx = sign(x) for x ≠ 0. At the kink x = 0 we use the
 * subgradient 0, as PyTorch does. dx = g ⊙ sign(x).
 */
export const abs = defineOp({
  name: "abs",
  forward(ctx, x: Tensor): Tensor {
    ctx.save({ x });
    return unary("abs", x, Math.abs);
  },
  backward(ctx, g) {
    return [binary("abs", g, ctx.saved.x as Tensor, (u, v) => (v > 0 ? u : v < 0 ? -u : 0))];
  },
  domain: { inputs: [{ awayFrom: [0] }] },
});
