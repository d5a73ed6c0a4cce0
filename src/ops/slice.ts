import { defineOp } from "./define-op.js";
import { Tensor, checkTensor } from "../tensor/tensor.js";
import { IndexError, ValueError } from "../tensor/errors.js";
import { checkInt, describeValue, normalizeAxis } from "../tensor/shape.js";
import { kernel } from "../kernels/registry.js";
import { contiguousData } from "./elementwise.js";

/**
 * slice(x, dim, start = 0, end = size, step = 1): elements start, start+step, …
 * below end along `dim`, like x[start:end:step] in Python (negative start/end
 * count from the end and are clipped to the axis). A view.
 *
 * Backward. The slice picks elements: o = S x with S a 0/1 matrix holding one
 * 1 per row (oᵢ takes x_{π(i)}), so ∂oᵢ/∂xⱼ = [j = π(i)] and dx = Sᵀg: zeros
 * with g written into the sliced positions. That is the internal op
 * sliceBackward below, so that it can be differentiated in turn.
 * Check: ⟨S x, g⟩ = Σᵢ x_{π(i)} gᵢ = ⟨x, Sᵀg⟩.
 */
export const slice = defineOp({
  name: "slice",
  forward(ctx, x: Tensor, dim: number, start?: number, end?: number, step: number = 1): Tensor {
    checkTensor(x, "slice", "input");
    // A 0-d tensor has no axis to slice (normalizeAxis lets dim 0 and −1 name its one position, as
    // reductions want), as in PyTorch: its size along "dim" would be undefined, and the view's NaN.
    if (x.ndim === 0) throw new IndexError("slice: a 0-d tensor has no axis to slice");
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
    const dx = sliceBackward(g, xShape, ax, a, step);
    return [ctx.createGraph ? dx : ctx.handOver(dx)];
  },
});

/**
 * sliceBackward(g, xShape, ax, a, step) = Sᵀg: a tensor of x's shape, zero
 * except at the positions a, a + step, … along `ax`, which hold g (one write
 * per element of g, the scatter kernel into fresh zeros). Internal: slice's
 * backward, made an op so that it can itself be differentiated.
 *
 * Backward. Sᵀg is linear in g and has no other tensor input, so its only
 * derivative is with respect to g: for a cotangent h of x's shape the
 * vector-Jacobian product is (Sᵀ)ᵀh = S h = slice(h, ax, a, a + (n − 1)·step + 1, step),
 * n = g's size along ax, which picks exactly those n positions back out (the
 * end is a + (n − 1)·step + 1 ≤ size, never negative; n = 0 slices [a, a)).
 * Check: ⟨Sᵀg, h⟩ = Σᵢ gᵢ h_{π(i)} = ⟨g, S h⟩. Slicing is linear, so every
 * second derivative of slice is 0 and its third-order rules are these two again.
 */
const sliceBackward = defineOp({
  name: "sliceBackward",
  forward(ctx, g: Tensor, xShape: readonly number[], ax: number, a: number, step: number): Tensor {
    const dx = Tensor.empty(xShape, g.dtype);
    const strides = [...dx.strides];
    strides[ax] = dx.strides[ax]! * step;
    kernel("scatter", g.dtype, g.size)(contiguousData(g), { data: dx.data, offset: a * dx.strides[ax]!, strides }, g.shape, false);
    ctx.save({ ax, a, step, n: g.shape[ax]! });
    return dx;
  },
  backward(ctx, h): (Tensor | null)[] {
    const { ax, a, step, n } = ctx.saved as { ax: number; a: number; step: number; n: number };
    return [slice(h, ax, a, n === 0 ? a : a + (n - 1) * step + 1, step), null, null, null, null];
  },
});
