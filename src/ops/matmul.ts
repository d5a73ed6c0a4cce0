import { defineOp } from "./define-op.js";
import { Tensor } from "../tensor/tensor.js";
import { ShapeError } from "../tensor/errors.js";
import { broadcastShapes } from "../tensor/broadcast.js";
import { sameFloatType } from "../tensor/dtype.js";
import { shapeStr, sizeOf } from "../tensor/shape.js";
import { gemm } from "../kernels/js/gemm.js";
import { wasmFor } from "../kernels/backend.js";
import { wasmKernels } from "../kernels/wasm/backend.js";

/**
 * matmul(a, b), with PyTorch's rules: 1-D·1-D is a dot product (a scalar);
 * a 1-D a is a row vector [1, k] and a 1-D b a column [k, 1], the added
 * axis removed from the result; leading (batch) axes broadcast. Both operands
 * must have one float dtype: float32 with float64 is a DTypeError (no promotion,
 * as in PyTorch; see sameFloatType).
 *
 * Backward. For C = A·B (per batch), Cᵢⱼ = Σₚ AᵢₚBₚⱼ, so ∂Cᵢⱼ/∂Aᵢₚ = Bₚⱼ and
 * ∂Cᵢⱼ/∂Bₚⱼ = Aᵢₚ, giving
 *   dA = G·Bᵀ,   dB = Aᵀ·G.
 * Check: the shapes work out, [n×m]·[m×k] = [n×k] and [k×n]·[n×m] = [k×m].
 * Broadcast batch axes are summed back by autograd; the axes added for 1-D
 * inputs are removed here.
 */
export const matmul = defineOp({
  name: "matmul",
  forward(ctx, a: Tensor, b: Tensor): Tensor {
    const dtype = sameFloatType([a?.dtype, b?.dtype], ["a", "b"], "matmul");
    if (a.ndim === 0 || b.ndim === 0) {
      throw new ShapeError(`matmul: both arguments need at least one dimension, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
    }
    const a2 = a.ndim === 1 ? a.reshape([1, a.shape[0]!]) : a;
    const b2 = b.ndim === 1 ? b.reshape([b.shape[0]!, 1]) : b;
    const [n, k] = a2.shape.slice(-2) as [number, number];
    const [k2, m] = b2.shape.slice(-2) as [number, number];
    if (k !== k2) {
      throw new ShapeError(`matmul: shapes ${shapeStr(a.shape)} and ${shapeStr(b.shape)} cannot be multiplied (${k} != ${k2})`);
    }
    const batch = broadcastShapes(a2.shape.slice(0, -2), b2.shape.slice(0, -2), "matmul");
    const C = Tensor.empty([...batch, n, m], dtype);
    const scratch = new Float64Array(4 * m);
    if (batch.length === 0) {
      // 2-D: read both operands through their strides (a transposed view costs no copy).
      const [rsA, csA] = a2.strides.slice(-2) as [number, number];
      const [rsB, csB] = b2.strides.slice(-2) as [number, number];
      if (dtype === "float32" && wasmFor(n * k * m)) {
        // float32 on the WebAssembly SIMD kernel (f32x4, 4×8 register blocks).
        wasmKernels()!.matmul(a2.data, a2.offset, rsA, csA, b2.data, b2.offset, rsB, csB, C.data as Float32Array, n, k, m);
      } else {
        gemm(a2.data, a2.offset, rsA, csA, b2.data, b2.offset, rsB, csB, C.data, 0, n, k, m, scratch);
      }
    } else {
      const A = a2.expand([...batch, n, k]).contiguous().data;
      const B = b2.expand([...batch, k, m]).contiguous().data;
      const count = sizeOf(batch);
      for (let t = 0; t < count; t++) gemm(A, t * n * k, k, 1, B, t * k * m, m, 1, C.data, t * n * m, n, k, m, scratch);
    }
    ctx.save({ a2, b2, aVec: a.ndim === 1, bVec: b.ndim === 1, full: C.shape });
    const outShape = [...batch];
    if (a.ndim !== 1) outShape.push(n);
    if (b.ndim !== 1) outShape.push(m);
    return C.reshape(outShape);
  },
  backward(ctx, g): (Tensor | null)[] {
    const { a2, b2, aVec, bVec, full } = ctx.saved as { a2: Tensor; b2: Tensor; aVec: boolean; bVec: boolean; full: number[] };
    const G = g.reshape(full);
    let da: Tensor | null = null;
    let db: Tensor | null = null;
    if (ctx.needsInputGrad[0]) {
      da = matmul(G, b2.transpose(-2, -1));
      if (aVec) da = da.reshape([...da.shape.slice(0, -2), da.shape[da.ndim - 1]!]);
    }
    if (ctx.needsInputGrad[1]) {
      db = matmul(a2.transpose(-2, -1), G);
      if (bVec) db = db.reshape(db.shape.slice(0, -1));
    }
    return [da, db];
  },
});
