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
    // (v + |v|)/2 is v for v > 0, +0 for v ≤ 0 and NaN for NaN, without a branch
    // (a data-dependent branch mispredicts on half of random inputs).
    for (let i = 0; i < ys.length; i++) {
      const v = xs[i]!;
      ys[i] = (v + Math.abs(v)) * 0.5;
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
    if (d instanceof Float32Array && gs instanceof Float32Array) {
      // float32: the bits of g masked by −[y > 0] (all ones or zero), so no branch
      // (a data-dependent one mispredicts on half of random inputs) and an
      // infinite or NaN g still gives exactly 0 where y ≤ 0.
      const gb = new Int32Array(gs.buffer, gs.byteOffset, gs.length);
      const db = new Int32Array(d.buffer, d.byteOffset, d.length);
      for (let i = 0; i < db.length; i++) db[i] = gb[i]! & -(ys[i]! > 0);
    } else {
      for (let i = 0; i < d.length; i++) d[i] = ys[i]! > 0 ? gs[i]! : 0;
    }
    return [dx];
  },
  domain: { inputs: [{ awayFrom: [0] }] },
});
