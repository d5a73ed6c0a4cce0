import { defineOp } from "./define-op.js";
import { Tensor } from "../tensor/tensor.js";
import { DTypeError, IndexError, ShapeError } from "../tensor/errors.js";
import { contiguousStrides, describeValue, normalizeAxis, shapeStr, sizeOf } from "../tensor/shape.js";
import { requireFloat } from "../tensor/dtype.js";

/**
 * gather(x, dim, index): y[i…] = x[i… with axis `dim` replaced by index[i…]],
 * as torch.gather. `index` is int32 with x's rank, and index.size(d) ≤ x.size(d)
 * for d ≠ dim. Used to pick each row's label logit: gather(x, 1, y.unsqueeze(1)).
 * Every index must lie in [0, x.size(dim)) (IndexError otherwise).
 *
 * Backward. yⱼ = x_{π(j)} for the position π(j) that index selects, so
 * ∂yⱼ/∂xₖ = [π(j) = k] and dxₖ = Σ_{j: π(j)=k} gⱼ: a scatter-add of g,
 * since several j may pick the same k.
 */
export const gather = defineOp({
  name: "gather",
  forward(ctx, x: Tensor, dim: number, index: Tensor): Tensor {
    if (!(x instanceof Tensor)) throw new DTypeError(`gather: input must be a Tensor, got ${describeValue(x)}`);
    requireFloat(x.dtype, "gather", "input");
    if (!(index instanceof Tensor)) throw new DTypeError(`gather: index must be an int32 Tensor, got ${describeValue(index)}`);
    if (index.dtype !== "int32") throw new DTypeError(`gather: index must be int32, got ${index.dtype}`);
    const ax = normalizeAxis(dim, x.ndim, "dim", "gather");
    if (index.ndim !== x.ndim || index.shape.some((d, i) => i !== ax && d > x.shape[i]!)) {
      throw new ShapeError(`gather: index of shape ${shapeStr(index.shape)} does not fit input of shape ${shapeStr(x.shape)} at dim ${ax}`);
    }
    const positions = sourcePositions(x.shape, x.strides, x.offset, ax, index);
    const y = Tensor.empty(index.shape, x.dtype);
    for (let j = 0; j < positions.length; j++) y.data[j] = x.data[positions[j]!]!;
    ctx.save({ xShape: x.shape, ax, index });
    return y;
  },
  backward(ctx, g) {
    const { xShape, ax, index } = ctx.saved as { xShape: number[]; ax: number; index: Tensor };
    const dx = Tensor.empty(xShape, g.dtype);
    const positions = sourcePositions(xShape, contiguousStrides(xShape), 0, ax, index);
    const gs = g.contiguous().data;
    for (let j = 0; j < positions.length; j++) dx.data[positions[j]!] += gs[j]!;
    return [dx, null, null];
  },
});

/** For each element of `index` (row-major), the storage position in x it selects. */
function sourcePositions(
  shape: readonly number[], strides: readonly number[], offset: number, ax: number, index: Tensor,
): Int32Array | number[] {
  const idx = index.contiguous().data;
  const n = sizeOf(index.shape);
  const out = new Array<number>(n);
  const counter = new Array<number>(index.ndim).fill(0);
  // A 0-d input is read as one element along its single pseudo-axis (size 1), as torch.gather does.
  const size = shape.length === 0 ? 1 : shape[ax]!;
  for (let j = 0; j < n; j++) {
    const k = idx[j]!;
    if (k < 0 || k >= size) {
      throw new IndexError(`gather: index ${k} is out of bounds for dim ${ax} with size ${size}`);
    }
    let p = offset;
    for (let d = 0; d < counter.length; d++) p += (d === ax ? k : counter[d]!) * strides[d]!;
    out[j] = p;
    for (let d = counter.length - 1; d >= 0; d--) {
      if (++counter[d]! < index.shape[d]!) break;
      counter[d] = 0;
    }
  }
  return out;
}
