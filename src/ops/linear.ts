import { defineOp } from "./define-op.js";
import { Tensor } from "../tensor/tensor.js";
import { ShapeError } from "../tensor/errors.js";
import { sameFloatType } from "../tensor/dtype.js";
import { shapeStr } from "../tensor/shape.js";
import { matmul } from "./matmul.js";
import { wasmFor } from "../kernels/backend.js";
import { wasmKernels } from "../kernels/wasm/backend.js";

/**
 * linear(x, weight, bias?) = x·Wᵀ + b, as torch.nn.functional.linear:
 * x [..., in], weight [out, in], bias [out] (or null) → [..., out], all of one
 * float dtype (no float32/float64 promotion, as in PyTorch: a DTypeError). One op
 * instead of matmul, transpose and a broadcast add, so that backward writes
 * each gradient in its parameter's own layout and nothing is copied twice.
 *
 * Backward. Flatten x to rows X [N, in] and the upstream gradient to G [N, out].
 * Yᵢⱼ = Σₚ XᵢₚWⱼₚ + bⱼ, so ∂Yᵢⱼ/∂Xᵢₚ = Wⱼₚ, ∂Yᵢⱼ/∂Wⱼₚ = Xᵢₚ, ∂Yᵢⱼ/∂bⱼ = 1:
 *   dX = G·W        [N, out]·[out, in] = [N, in],
 *   dW = Gᵀ·X       [out, N]·[N, in]   = [out, in]  (the weight's layout, contiguous),
 *   db = Σᵢ Gᵢ      the column sums of G.
 * Check: with one row and no bias this is the outer product dW = gᵀx of the
 * vector case, and dX = g·W is the chain rule through a matrix-vector product.
 * All three are fresh tensors, handed to the backward pass (no copy into .grad).
 */
export const linear = defineOp({
  name: "linear",
  forward(ctx, x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
    const dtype = bias === null
      ? sameFloatType([x?.dtype, weight?.dtype], ["input", "weight"], "linear")
      : sameFloatType([x?.dtype, weight?.dtype, bias?.dtype], ["input", "weight", "bias"], "linear");
    if (weight.ndim !== 2) throw new ShapeError(`linear: weight must be [out, in], got ${shapeStr(weight.shape)}`);
    const [out, inF] = weight.shape as [number, number];
    if (x.ndim === 0 || x.shape[x.ndim - 1] !== inF) {
      throw new ShapeError(`linear: input of shape ${shapeStr(x.shape)} does not end in the weight's in = ${inF} (weight ${shapeStr(weight.shape)})`);
    }
    if (bias !== null && (bias.ndim !== 1 || bias.shape[0] !== out)) {
      throw new ShapeError(`linear: bias must be [${out}] for weight ${shapeStr(weight.shape)}, got ${shapeStr(bias.shape)}`);
    }
    // Rows N = the product of the leading sizes, written out rather than inferred with −1,
    // which cannot be inferred when in = 0 (Linear(0, out): y is the bias, broadcast).
    const N = x.size === 0 ? x.shape.slice(0, -1).reduce((a, b) => a * b, 1) : x.size / inF;
    const rows = x.reshape([N, inF]);
    let y: Tensor;
    if (dtype === "float32" && wasmFor(N * inF * out)) {
      // float32 (so x, W and b all are) on the WebAssembly kernels: x·Wᵀ with Wᵀ read through
      // its strides, and the bias added to each row before the product leaves WebAssembly memory.
      y = Tensor.empty([N, out], "float32");
      const [rs, cs] = rows.strides as [number, number];
      wasmKernels()!.matmul(
        rows.data, rows.offset, rs, cs, weight.data, weight.offset, weight.strides[1]!, weight.strides[0]!,
        y.data as Float32Array, N, inF, out, bias === null ? undefined : (bias.contiguous().data as Float32Array),
      );
    } else {
      y = matmul(rows, weight.T);
      if (bias !== null) {
        const yd = y.data;
        const bd = bias.contiguous().data;
        for (let r = 0, o = 0; r < N; r++, o += out) for (let j = 0; j < out; j++) yd[o + j] = yd[o + j]! + bd[j]!;
      }
    }
    ctx.save({ rows, weight, xShape: x.shape, N });
    return y.reshape([...x.shape.slice(0, -1), out]);
  },
  backward(ctx, g) {
    const { rows, weight, xShape, N } = ctx.saved as { rows: Tensor; weight: Tensor; xShape: number[]; N: number };
    const out = weight.shape[0]!;
    const G = g.reshape([N, out]).contiguous();
    let dx: Tensor | null = null;
    let dW: Tensor | null = null;
    let db: Tensor | null = null;
    if (ctx.needsInputGrad[0]) dx = ctx.handOver(matmul(G, weight).reshape(xShape));
    if (ctx.needsInputGrad[1]) dW = ctx.handOver(matmul(G.T, rows));
    if (ctx.needsInputGrad[2]) {
      // Column sums, accumulated in float64 whatever the dtype, rows in order.
      const gd = G.data;
      let sums: Float64Array;
      if (gd instanceof Float32Array && wasmFor(gd.length)) sums = wasmKernels()!.columnSums(gd, G.shape[0]!, out);
      else {
        sums = new Float64Array(out);
        for (let r = 0, o = 0; r < G.shape[0]!; r++, o += out) for (let j = 0; j < out; j++) sums[j] = sums[j]! + gd[o + j]!;
      }
      db = Tensor.empty([out], G.dtype);
      db.data.set(sums);
      ctx.handOver(db);
    }
    return [dx, dW, db];
  },
});
