import { defineOp } from "./define-op.js";
import { Tensor, checkTensor } from "../tensor/tensor.js";
import { DTypeError, IndexError, ShapeError } from "../tensor/errors.js";
import { contiguousStrides, describeValue, normalizeAxis, shapeStr } from "../tensor/shape.js";
import { requireFloat } from "../tensor/dtype.js";
import type { Geometry } from "../kernels/table.js";
import { kernel } from "../kernels/registry.js";
import { contiguousData } from "./elementwise.js";

/**
 * gather(x, dim, index): o[i…] = x[i… with axis `dim` replaced by index[i…]],
 * as torch.gather. `index` is int32 with x's rank, and index.size(d) ≤ x.size(d)
 * for d ≠ dim. Used to pick each row's label logit: gather(x, 1, y.unsqueeze(1)).
 * Every index must lie in [0, x.size(dim)) (IndexError otherwise).
 *
 * Forward: the storage position each element reads (kernel gatherPositions,
 * which also finds an index out of range), then one read per element (take).
 *
 * Backward. oⱼ = x_{r(j)} for the position r(j) that index selects: o = G x with
 * G a 0/1 matrix holding one 1 per row, so ∂oⱼ/∂xₖ = [r(j) = k] and
 * dxₖ = Σ_{j: r(j)=k} gⱼ, that is dx = Gᵀg: a scatter-add of g, since several j
 * may pick the same k. That is the internal op gatherBackward below.
 * Check: ⟨G x, g⟩ = Σⱼ x_{r(j)} gⱼ = ⟨x, Gᵀg⟩.
 */
export const gather = defineOp({
  name: "gather",
  forward(ctx, x: Tensor, dim: number, index: Tensor): Tensor {
    checkTensor(x, "gather", "input");
    requireFloat(x.dtype, "gather", "input");
    if (!(index instanceof Tensor)) throw new DTypeError(`gather: index must be an int32 Tensor, got ${describeValue(index)}`);
    if (index.dtype !== "int32") throw new DTypeError(`gather: index must be int32, got ${index.dtype}`);
    const ax = normalizeAxis(dim, x.ndim, "dim", "gather");
    if (index.ndim !== x.ndim || index.shape.some((d, i) => i !== ax && d > x.shape[i]!)) {
      throw new ShapeError(`gather: index of shape ${shapeStr(index.shape)} does not fit input of shape ${shapeStr(x.shape)} at dim ${ax}`);
    }
    const positions = sourcePositions(x.shape, x, ax, index);
    const o = Tensor.empty(index.shape, x.dtype);
    kernel("take", x.dtype, o.size)(x.data, positions, o.data);
    ctx.save({ xShape: x.shape, ax, index });
    return o;
  },
  backward(ctx, g) {
    const { xShape, ax, index } = ctx.saved as { xShape: number[]; ax: number; index: Tensor };
    const dx = gatherBackward(g, xShape, ax, index);
    return [ctx.createGraph ? dx : ctx.handOver(dx), null, null];
  },
});

/**
 * gatherBackward(g, xShape, ax, index) = Gᵀg: zeros of x's shape, with each gⱼ
 * added at the position π(j) that index selects (kernel putAdd, j ascending).
 * Internal: gather's backward, made an op so that it can itself be differentiated.
 *
 * Backward. Gᵀg is linear in g and its only tensor input is g (index is a
 * constant), so for a cotangent h of x's shape the vector-Jacobian product is
 * (Gᵀ)ᵀh = G h = gather(h, ax, index): each gⱼ was added to h's element π(j).
 * Check: ⟨Gᵀg, h⟩ = Σⱼ gⱼ h_{π(j)} = ⟨g, G h⟩. gather is linear, so its second
 * derivatives are 0 and its higher-order rules are these two in turn.
 */
export const gatherBackward = defineOp({
  name: "gatherBackward",
  forward(ctx, g: Tensor, xShape: readonly number[], ax: number, index: Tensor): Tensor {
    const dx = Tensor.empty(xShape, g.dtype);
    const positions = sourcePositions(xShape, { offset: 0, strides: contiguousStrides(xShape) }, ax, index);
    kernel("putAdd", g.dtype, g.size)(contiguousData(g), positions, dx.data);
    ctx.save({ ax, index });
    return dx;
  },
  backward(ctx, h): (Tensor | null)[] {
    const { ax, index } = ctx.saved as { ax: number; index: Tensor };
    return [gather(h, ax, index), null, null, null];
  },
});

/**
 * For each element of `index` (row-major), the storage position it selects in
 * a tensor of `shape` laid out as `at` (kernel gatherPositions).
 */
function sourcePositions(shape: readonly number[], at: Geometry, ax: number, index: Tensor): Int32Array {
  // A 0-d input is read as one element along its single pseudo-axis (size 1), as torch.gather does.
  const size = shape.length === 0 ? 1 : shape[ax]!;
  const idx = contiguousData(index) as Int32Array;
  const positions = new Int32Array(index.size);
  const bad = kernel("gatherPositions", "int32", index.size)(idx, index.shape, ax, size, at, positions);
  if (bad >= 0) throw new IndexError(`gather: index ${idx[bad]} is out of bounds for dim ${ax} with size ${size}`);
  return positions;
}
