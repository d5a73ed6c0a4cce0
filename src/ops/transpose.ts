import { defineOp } from "./define-op.js";
import { Tensor, checkTensor } from "../tensor/tensor.js";
import { normalizeAxis } from "../tensor/shape.js";

/**
 * transpose(x, dim0, dim1): swap two axes (a view: the strides are swapped).
 *
 * Backward. oᵢⱼ = xⱼᵢ on the two axes, so dx is g with the same two axes
 * swapped back: dx = transpose(g, dim0, dim1), again a view.
 * Check: ⟨transpose(x), g⟩ = Σ xⱼᵢ gᵢⱼ = ⟨x, transpose(g)⟩.
 *
 * Second order. The backward is transpose itself, linear in g and free of x
 * (∂²o/∂x² = 0); its own vector-Jacobian product is transpose once more.
 */
export const transpose = defineOp({
  name: "transpose",
  forward(ctx, x: Tensor, dim0: number, dim1: number): Tensor {
    checkTensor(x, "transpose", "input");
    const a = normalizeAxis(dim0, x.ndim, "dim0", "transpose");
    const b = normalizeAxis(dim1, x.ndim, "dim1", "transpose");
    ctx.save({ a, b });
    if (x.ndim === 0) return x.asStrided([], [], x.offset);
    const shape = [...x.shape];
    const strides = [...x.strides];
    [shape[a], shape[b]] = [shape[b]!, shape[a]!];
    [strides[a], strides[b]] = [strides[b]!, strides[a]!];
    return x.asStrided(shape, strides, x.offset);
  },
  backward(ctx, g): (Tensor | null)[] {
    return [transpose(g, ctx.saved.a as number, ctx.saved.b as number)];
  },
});
