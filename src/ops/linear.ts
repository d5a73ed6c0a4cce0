import { defineOp } from "./define-op.js";
import { Tensor } from "../tensor/tensor.js";
import { ShapeError } from "../tensor/errors.js";
import { sameFloatType } from "../tensor/dtype.js";
import { shapeStr } from "../tensor/shape.js";
import { kernel } from "../kernels/registry.js";
import { contiguousData } from "./elementwise.js";
import { expand } from "./expand.js";
import { matmul } from "./matmul.js";
import { reshape } from "./reshape.js";
import { transpose } from "./transpose.js";

/**
 * linear(x, weight, bias?) = x·Wᵀ + b, as torch.nn.functional.linear:
 * x [..., in], weight [out, in], bias [out] (or null) → [..., out], all of one
 * float dtype (no float32/float64 promotion, as in PyTorch: a DTypeError). One op
 * instead of matmul, transpose and a broadcast add: the forward is one `matmul`
 * kernel call that reads Wᵀ through its strides and adds the bias to each row,
 * and the backward writes each gradient in its parameter's own layout.
 *
 * Backward. Flatten x to rows X [N, in] and the upstream gradient to G [N, out].
 * Yᵢⱼ = Σₚ XᵢₚWⱼₚ + bⱼ, so ∂Yᵢⱼ/∂Xᵢₚ = Wⱼₚ, ∂Yᵢⱼ/∂Wⱼₚ = Xᵢₚ, ∂Yᵢⱼ/∂bⱼ = 1:
 *   dX = G·W        [N, out]·[out, in] = [N, in],
 *   dW = Gᵀ·X       [out, N]·[N, in]   = [out, in]  (the weight's layout, contiguous),
 *   db = Σᵢ Gᵢ      the column sums of G (the op columnSums below).
 * Check: with one row and no bias this is the outer product dW = gᵀx of the
 * vector case, and dX = g·W is the chain rule through a matrix-vector product.
 * All three are fresh tensors, handed to the backward pass (no copy into .grad).
 *
 * Second order. The rule is written in ops (matmul, transpose, reshape,
 * columnSums), so it is differentiated like any computation; every piece is
 * linear in G and in the saved input it multiplies. In a direction
 * (Ġ, Ẋ, Ẇ): d(dX) = Ġ·W + G·Ẇ, d(dW) = Ġᵀ·X + Gᵀ·Ẋ, d(db) = Σᵢ Ġᵢ; b does
 * not appear in any gradient, so everything second order in b is 0.
 * Check: for L = ⟨U, X·Wᵀ⟩ with U fixed, the derivative of ⟨Ẋ, dX⟩ = ⟨Ẋ, U·W⟩
 * in W is Uᵀ·Ẋ, which is dW with X replaced by Ẋ: the mixed derivative
 * ⟨U, Ẋ·Ẇᵀ⟩ either way. When a graph is being created, the rule uses x
 * itself (reshaped with a recorded op) instead of the rows the forward made
 * under noGrad, so that X is connected to x.
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
    // which cannot be inferred when in = 0 (Linear(0, out): o is the bias, broadcast).
    const N = x.size === 0 ? x.shape.slice(0, -1).reduce((a, b) => a * b, 1) : x.size / inF;
    // A 2-D x is read through its own strides; other ranks are flattened (a view when contiguous).
    const rows = x.ndim === 2 ? x : reshape(x, [N, inF]);
    const o = Tensor.empty([N, out], dtype);
    kernel("matmul", dtype, N * inF * out)(
      { data: rows.data, offset: rows.offset, rowStride: rows.strides[0]!, colStride: rows.strides[1]! },
      // Wᵀ [in, out]: the weight read with its strides swapped.
      { data: weight.data, offset: weight.offset, rowStride: weight.strides[1]!, colStride: weight.strides[0]! },
      o.data, 0, N, inF, out, bias === null ? undefined : contiguousData(bias),
    );
    ctx.save({ x, rows, weight, N });
    return x.ndim === 2 ? o : reshape(o, [...x.shape.slice(0, -1), out]);
  },
  backward(ctx, g) {
    const { x, weight, N } = ctx.saved as { x: Tensor; rows: Tensor; weight: Tensor; N: number };
    const [out, inF] = weight.shape as [number, number];
    const G = g.ndim === 2 ? g : reshape(g, [N, out]);
    const rows = ctx.createGraph && x.ndim !== 2 ? reshape(x, [N, inF]) : (ctx.saved.rows as Tensor);
    // Fresh tensors: the backward pass may hand them to .grad as they are (not when recording a graph).
    const own = (t: Tensor): Tensor => (ctx.createGraph ? t : ctx.handOver(t));
    return [
      ctx.needsInputGrad[0] ? own(x.ndim === 2 ? matmul(G, weight) : reshape(matmul(G, weight), x.shape)) : null,
      ctx.needsInputGrad[1] ? own(matmul(transpose(G, 0, 1), rows)) : null,
      ctx.needsInputGrad[2] ? own(columnSums(G)) : null,
    ];
  },
});

/**
 * columnSums(G) = Σᵢ Gᵢ, the column sums of a [rows, cols] matrix (linear's
 * bias gradient), accumulated in float64 rows in order and rounded once to
 * G's dtype. Internal: an op so that linear's backward stays differentiable
 * while running the fused kernel (WebAssembly for float32 on that backend).
 *
 * Backward. The map is linear: ⟨ġ, Σᵢ Gᵢ⟩ = Σᵢⱼ ġⱼGᵢⱼ, so dG = ġ broadcast
 * to every row (an expand, itself differentiable). Check: ⟨dG, G⟩ =
 * ⟨ġ, columnSums(G)⟩ for any G, the defining identity of a transpose.
 */
const columnSums = defineOp({
  name: "columnSums",
  forward(ctx, G: Tensor): Tensor {
    const [rows, cols] = G.shape as [number, number];
    const sums = new Float64Array(cols);
    kernel("columnSums", G.dtype, G.size)(contiguousData(G), rows, cols, sums);
    ctx.save({ shape: G.shape });
    if (G.dtype === "float64") return new Tensor(sums, [cols]);
    const db = Tensor.empty([cols], G.dtype);
    db.data.set(sums);
    return db;
  },
  backward(ctx, gg) {
    const shape = ctx.saved.shape as [number, number];
    return [expand(reshape(gg, [1, shape[1]]), shape)];
  },
});
