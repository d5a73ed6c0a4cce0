import { defineOp } from "./define-op.js";
import { Tensor } from "../tensor/tensor.js";
import { ValueError } from "../tensor/errors.js";
import { checkInt, describeValue, normalizeAxis } from "../tensor/shape.js";
import { writeStrided } from "../kernels/js/strided.js";

/**
 * slice(x, dim, start = 0, end = size, step = 1): elements start, start+step, …
 * below end along `dim`, like x[start:end:step] in Python (negative start/end
 * count from the end and are clipped to the axis). A view.
 *
 * Backward. The slice picks elements, so ∂yᵢ/∂xⱼ = 1 where y took xⱼ and 0
 * elsewhere: dx is zeros with g written into the sliced positions.
 */
export const slice = defineOp({
  name: "slice",
  forward(ctx, x: Tensor, dim: number, start?: number, end?: number, step: number = 1): Tensor {
    const ax = normalizeAxis(dim, x.ndim, "dim", "slice");
    if (typeof step !== "number" || !Number.isInteger(step) || step < 1) throw new ValueError(`slice: step must be a positive integer, got ${describeValue(step)}`);
    // start and end are positions, so integers (absent: the axis ends); a fraction or NaN would
    // make a view at a fractional offset or of size NaN, reading outside the storage.
    if (start != null) checkInt(start, "slice", "start");
    if (end != null) checkInt(end, "slice", "end");
    const n = x.shape[ax]!;
    const clip = (v: number): number => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
    const a = clip(start ?? 0);
    const b = Math.max(clip(end ?? n), a);
    const shape = [...x.shape];
    const strides = [...x.strides];
    shape[ax] = Math.ceil((b - a) / step);
    strides[ax] = x.strides[ax]! * step;
    ctx.save({ xShape: x.shape, ax, a, step });
    return x.asStrided(shape, strides, x.offset + a * x.strides[ax]!);
  },
  backward(ctx, g) {
    const { xShape, ax, a, step } = ctx.saved as { xShape: number[]; ax: number; a: number; step: number };
    const dx = Tensor.empty(xShape, g.dtype);
    const strides = [...dx.strides];
    const offset = a * strides[ax]!;
    strides[ax] = strides[ax]! * step;
    writeStrided(dx.data, offset, g.shape, strides, g.contiguous().data);
    return [dx];
  },
});
