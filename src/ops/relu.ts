import { defineOp } from "./define-op.js";
import { Tensor } from "../tensor/tensor.js";
import { requireFloat } from "../tensor/dtype.js";

/**
 * relu(x) = max(x, 0).
 *
 * Backward. The slope is 1 for x > 0 and 0 for x < 0; at x = 0 we use 0,
 * as PyTorch does. dx = g ⊙ [y > 0], read from the saved output.
 */
export const relu = defineOp({
  name: "relu",
  forward(ctx, x: Tensor): Tensor {
    requireFloat(x.dtype, "relu", "input");
    const y = Tensor.empty(x.shape, x.dtype);
    const xs = x.contiguous().data;
    const ys = y.data;
    for (let i = 0; i < ys.length; i++) {
      const v = xs[i]!;
      ys[i] = v > 0 ? v : v === v ? 0 : v;
    }
    ctx.save({ y });
    return y;
  },
  backward(ctx, g) {
    const y = ctx.saved.y as Tensor;
    const dx = Tensor.empty(y.shape, g.dtype);
    const gs = g.contiguous().data;
    const ys = y.data;
    const d = dx.data;
    for (let i = 0; i < d.length; i++) d[i] = ys[i]! > 0 ? gs[i]! : 0;
    return [dx];
  },
  domain: { inputs: [{ awayFrom: [0] }] },
});
