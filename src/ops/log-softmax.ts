import { defineOp } from "./define-op.js";
import { Tensor } from "../tensor/tensor.js";
import { requireFloat } from "../tensor/dtype.js";
import { laneGeometry, normalizeAxis } from "../tensor/shape.js";
import { useWasmRows } from "../kernels/wasm/rows.js";
import { wasmKernels } from "../kernels/wasm/backend.js";
import { logSoftmaxBackward, logSoftmaxForward } from "../kernels/js/softmax-rows.js";

/**
 * logSoftmax(x, dim = −1)ᵢ = xᵢ − log Σⱼ exp(xⱼ), along `dim`.
 *
 * Forward. With m = maxⱼ xⱼ we compute (xᵢ − m) − log Σⱼ exp(xⱼ − m).
 * The shift cancels, every exponent is ≤ 0 (no overflow) and the sum is
 * ≥ 1 (finite log), so logits spread over ±1e4 stay exact to rounding.
 * The order matters: xᵢ − (m + log s) would round log s to a multiple of
 * ulp(m) and give [0, 0] for [1e16, 1e16]. Each entry is accurate to
 * (n + t* + 5)·u relative (the bound is derived in src/kernels/softmax.ts).
 * A class at −∞ contributes exp(−∞) = 0 and stays −∞. A lane that is all
 * −∞, or holds +∞ or NaN, has no defined result and gives NaN, as in
 * PyTorch (docs/non-finite.md).
 *
 * Backward. Let y = logSoftmax(x) and p = exp(y) = softmax(x). Then
 *   ∂yᵢ/∂xⱼ = δᵢⱼ − pⱼ,   so   (Jᵀg)ⱼ = gⱼ − pⱼ Σᵢ gᵢ.
 * The rule needs only y, so we save the output, not the input.
 * Check: Σⱼ (Jᵀg)ⱼ = Σg − Σg = 0, since shifting all logits changes nothing.
 * At a masked class pⱼ = 0, so dxⱼ = gⱼ (PyTorch gives the same).
 */
export const logSoftmax = defineOp({
  name: "logSoftmax",
  forward(ctx, x: Tensor, dim: number = -1): Tensor {
    const dtype = requireFloat(x.dtype, "logSoftmax", "input");
    const ax = normalizeAxis(dim, x.ndim, "dim", "logSoftmax");
    const { outer, length, inner } = laneGeometry(x.shape, ax);
    const xs = x.contiguous().data;
    let y: Tensor;
    if (useWasmRows(xs, inner, length)) {
      // float32 rows on the WebAssembly kernel (float64 lanes, float32 out).
      y = new Tensor(wasmKernels()!.rows("logSoftmax", [xs as Float32Array], outer, length), x.shape);
    } else {
      y = Tensor.empty(x.shape, dtype);
      logSoftmaxForward(xs, y.data, outer, length, inner);
    }
    ctx.save({ y, ax });
    return y;
  },
  backward(ctx, g) {
    const { y, ax } = ctx.saved as { y: Tensor; ax: number };
    const { outer, length, inner } = laneGeometry(y.shape, ax);
    const gs = g.contiguous().data;
    if (useWasmRows(gs, inner, length) && y.data instanceof Float32Array) {
      return [new Tensor(wasmKernels()!.rows("logSoftmaxBackward", [y.data, gs as Float32Array], outer, length), y.shape)];
    }
    const dx = Tensor.empty(y.shape, g.dtype);
    logSoftmaxBackward(y.data, gs, dx.data, outer, length, inner);
    return [dx];
  },
});
