import { defineOp } from "./define-op.js";
import { Tensor } from "../tensor/tensor.js";
import { requireFloat } from "../tensor/dtype.js";
import { wasmFor } from "../kernels/backend.js";
import { wasmKernels } from "../kernels/wasm/backend.js";

/**
 * relu(x) = max(x, 0). relu(−0) is +0 on both backends (PyTorch's CPU kernel
 * returns −0; the sign of a zero is cosmetic here, docs/ops.md). NaN stays NaN.
 *
 * Backward. The slope is 1 for x > 0 and 0 for x < 0; at x = 0 we use 0,
 * as PyTorch does. dx = g ⊙ [y > 0], read from the saved output.
 */
export const relu = defineOp({
  name: "relu",
  forward(ctx, x: Tensor): Tensor {
    requireFloat(x.dtype, "relu", "input");
    const xs = x.contiguous().data;
    if (xs instanceof Float32Array && wasmFor(xs.length)) {
      const y = new Tensor(wasmKernels()!.relu(xs), x.shape);
      ctx.save({ y });
      return y;
    }
    const y = Tensor.empty(x.shape, x.dtype);
    const ys = y.data;
    // (v + |v|)/2 is v for v > 0 and +0 for −∞ < v ≤ 0 (−0 too), with no data-dependent
    // branch (which mispredicts on half of random inputs). It is not finite in three rare
    // cases, which the second test (taken almost never, so predicted) sorts out: NaN
    // (stays NaN), −∞ (∞ − ∞: gives 0), and v > 8.99e307, where v + |v| overflows to ∞
    // (gives v; float32 values are added in float64 and never get there). Dividing by 2
    // first would avoid the overflow but round away the last bit of a subnormal v.
    for (let i = 0; i < ys.length; i++) {
      const v = xs[i]!;
      const r = (v + Math.abs(v)) * 0.5;
      ys[i] = r - r === 0 ? r : v > 0 || v !== v ? v : 0;
    }
    ctx.save({ y });
    return y;
  },
  backward(ctx, g) {
    const y = ctx.saved.y as Tensor;
    const gs = g.contiguous().data;
    if (gs instanceof Float32Array && y.data instanceof Float32Array && wasmFor(gs.length)) {
      return [ctx.handOver(new Tensor(wasmKernels()!.reluBackward(y.data, gs), y.shape))];
    }
    const dx = Tensor.empty(y.shape, g.dtype);
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
    return [ctx.handOver(dx)];
  },
  domain: { inputs: [{ awayFrom: [0] }] },
});
