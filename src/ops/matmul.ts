import { defineOp } from "./define-op.js";
import { Tensor } from "../tensor/tensor.js";
import { ShapeError } from "../tensor/errors.js";
import { broadcastShapes, broadcastStrides } from "../tensor/broadcast.js";
import { sameFloatType } from "../tensor/dtype.js";
import { contiguousStrides, shapeStr, sizeOf } from "../tensor/shape.js";
import { kernel } from "../kernels/registry.js";
import type { Matrix } from "../kernels/table.js";
import { reshape } from "./reshape.js";
import { transpose } from "./transpose.js";

/**
 * matmul(a, b), with PyTorch's rules: 1-D·1-D is a dot product (a scalar);
 * a 1-D a is a row vector [1, k] and a 1-D b a column [k, 1], the added
 * axis removed from the result; leading (batch) axes broadcast. Both operands
 * must have one float dtype: float32 with float64 is a DTypeError (no promotion,
 * as in PyTorch; see sameFloatType).
 *
 * Forward. One `matmul` kernel call per batch matrix, each operand read
 * through its strides (a transposed or broadcast operand is not copied first).
 *
 * Backward. For C = A·B (per batch), Cᵢⱼ = Σₚ AᵢₚBₚⱼ, so ∂Cᵢⱼ/∂Aᵢₚ = Bₚⱼ and
 * ∂Cᵢⱼ/∂Bₚⱼ = Aᵢₚ, giving
 *   dA = G·Bᵀ,   dB = Aᵀ·G.
 * Check: the shapes work out, [n×m]·[m×k] = [n×k] and [k×n]·[n×m] = [k×m].
 * Broadcast batch axes are summed back by autograd; the axes added for 1-D
 * inputs are removed here. We save the inputs themselves (not the [1, k] /
 * [k, 1] views the forward made under noGrad), so that the rule's reshapes
 * and products are recorded back to a and b when a graph is being created.
 *
 * Second order. The rule is written with matmul, transpose and reshape, so
 * autograd differentiates it like any computation. Both gradients are
 * bilinear: in a direction (Ġ, Ȧ, Ḃ), d(dA) = Ġ·Bᵀ + G·Ḃᵀ and
 * d(dB) = Ȧᵀ·G + Aᵀ·Ġ, products again, so every order stays as cheap as the
 * first. Check: for L = ⟨U, A·B⟩ with U fixed, differentiating ⟨Ȧ, dA⟩ =
 * ⟨Ȧ, U·Bᵀ⟩ in B gives Ȧᵀ·U, which is dB with A replaced by Ȧ: both orders
 * give the mixed derivative ⟨U, Ȧ·Ḃ⟩, as they must.
 */
export const matmul = defineOp({
  name: "matmul",
  forward(ctx, a: Tensor, b: Tensor): Tensor {
    const dtype = sameFloatType([a?.dtype, b?.dtype], ["a", "b"], "matmul");
    if (a.ndim === 0 || b.ndim === 0) {
      throw new ShapeError(`matmul: both arguments need at least one dimension, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
    }
    // A 1-D operand as a matrix: the same elements, one row (a) or one column (b).
    const a2 = a.ndim === 1 ? a.asStrided([1, a.shape[0]!], [a.shape[0]! * a.strides[0]!, a.strides[0]!], a.offset) : a;
    const b2 = b.ndim === 1 ? b.asStrided([b.shape[0]!, 1], [b.strides[0]!, 1], b.offset) : b;
    const [n, k] = a2.shape.slice(-2) as [number, number];
    const [k2, m] = b2.shape.slice(-2) as [number, number];
    if (k !== k2) {
      throw new ShapeError(`matmul: shapes ${shapeStr(a.shape)} and ${shapeStr(b.shape)} cannot be multiplied (${k} != ${k2})`);
    }
    const batch = broadcastShapes(a2.shape.slice(0, -2), b2.shape.slice(0, -2), "matmul");
    const C = Tensor.empty([...batch, n, m], dtype);
    // Batch strides of each operand, broadcast (stride 0 along an axis it lacks or has size 1).
    const sa = broadcastStrides(a2.shape.slice(0, -2), a2.strides.slice(0, -2), batch, "matmul");
    const sb = broadcastStrides(b2.shape.slice(0, -2), b2.strides.slice(0, -2), batch, "matmul");
    const matrix = (t: Tensor, offset: number): Matrix => ({ data: t.data, offset, rowStride: t.strides[t.ndim - 2]!, colStride: t.strides[t.ndim - 1]! });
    const product = kernel("matmul", dtype, n * k * m);
    const count = sizeOf(batch);
    const index = batch.map(() => 0);
    let offA = a2.offset;
    let offB = b2.offset;
    for (let t = 0; t < count; t++) {
      product(matrix(a2, offA), matrix(b2, offB), C.data, t * n * m, n, k, m);
      // The next batch index in row-major order, moving both offsets with it.
      for (let d = batch.length - 1; d >= 0; d--) {
        offA += sa[d]!;
        offB += sb[d]!;
        if (++index[d]! < batch[d]!) break;
        offA -= sa[d]! * batch[d]!;
        offB -= sb[d]! * batch[d]!;
        index[d] = 0;
      }
    }
    ctx.save({ a, b, full: C.shape });
    const outShape = [...batch];
    if (a.ndim !== 1) outShape.push(n);
    if (b.ndim !== 1) outShape.push(m);
    return C.asStrided(outShape, contiguousStrides(outShape), 0);
  },
  backward(ctx, g): (Tensor | null)[] {
    const { a, b, full } = ctx.saved as { a: Tensor; b: Tensor; full: number[] };
    const a2 = a.ndim === 1 ? reshape(a, [1, a.shape[0]!]) : a;
    const b2 = b.ndim === 1 ? reshape(b, [b.shape[0]!, 1]) : b;
    const G = reshape(g, full);
    let da: Tensor | null = null;
    let db: Tensor | null = null;
    if (ctx.needsInputGrad[0]) {
      da = matmul(G, transpose(b2, -2, -1));
      if (a.ndim === 1) da = reshape(da, [...da.shape.slice(0, -2), da.shape[da.ndim - 1]!]);
    }
    if (ctx.needsInputGrad[1]) {
      db = matmul(transpose(a2, -2, -1), G);
      if (b.ndim === 1) db = reshape(db, db.shape.slice(0, -1));
    }
    return [da, db];
  },
});
