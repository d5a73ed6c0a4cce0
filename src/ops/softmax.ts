import { defineOp } from "./define-op.js";
import { Tensor } from "../tensor/tensor.js";
import { requireFloat } from "../tensor/dtype.js";
import { laneGeometry, normalizeAxis } from "../tensor/shape.js";
import { useWasmRows } from "../kernels/wasm/rows.js";
import { wasmKernels } from "../kernels/wasm/backend.js";
import { softmaxBackward, softmaxForward } from "../kernels/js/softmax-rows.js";

/**
 * softmax(x, dim = −1)ᵢ = exp(xᵢ) / Σⱼ exp(xⱼ), along `dim`.
 *
 * Forward. pᵢ = exp(xᵢ − m) / Σⱼ exp(xⱼ − m) with m = maxⱼ xⱼ: the shift
 * cancels, no exponent is positive and the denominator is ≥ 1. A class at
 * −∞ gets probability exactly 0; an all −∞ lane (or one with +∞/NaN) is
 * NaN, as in PyTorch.
 *
 * Backward. ∂pᵢ/∂xⱼ = pᵢ(δᵢⱼ − pⱼ), a symmetric Jacobian, so
 *   (Jᵀg)ⱼ = pⱼ gⱼ − pⱼ Σᵢ gᵢ pᵢ = pⱼ (gⱼ − ⟨g, p⟩).
 * Only the output is needed, so we save p. Check: Σⱼ (Jᵀg)ⱼ = ⟨g,p⟩ − ⟨g,p⟩·Σp = 0
 * (the outputs always sum to 1).
 */
export const softmax = defineOp({
  name: "softmax",
  forward(ctx, x: Tensor, dim: number = -1): Tensor {
    const dtype = requireFloat(x.dtype, "softmax", "input");
    const ax = normalizeAxis(dim, x.ndim, "dim", "softmax");
    const { outer, length, inner } = laneGeometry(x.shape, ax);
    const xs = x.contiguous().data;
    let p: Tensor;
    if (useWasmRows(xs, inner, length)) {
      // float32 rows on the WebAssembly kernel (float64 lanes, float32 out).
      p = new Tensor(wasmKernels()!.rows("softmax", [xs as Float32Array], outer, length), x.shape);
    } else {
      p = Tensor.empty(x.shape, dtype);
      softmaxForward(xs, p.data, outer, length, inner);
    }
    ctx.save({ p, ax });
    return p;
  },
  backward(ctx, g) {
    const { p, ax } = ctx.saved as { p: Tensor; ax: number };
    const { outer, length, inner } = laneGeometry(p.shape, ax);
    const gs = g.contiguous().data;
    if (useWasmRows(gs, inner, length) && p.data instanceof Float32Array) {
      return [new Tensor(wasmKernels()!.rows("softmaxBackward", [p.data, gs as Float32Array], outer, length), p.shape)];
    }
    const dx = Tensor.empty(p.shape, g.dtype);
    softmaxBackward(p.data, gs, dx.data, outer, length, inner);
    return [dx];
  },
});
