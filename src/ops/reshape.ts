import { defineOp } from "./define-op.js";
import { Tensor, checkTensor } from "../tensor/tensor.js";
import { ShapeError } from "../tensor/errors.js";
import { contiguousStrides, describeValue, shapeStr, sizeOf } from "../tensor/shape.js";
import { contiguousData } from "./elementwise.js";

/**
 * reshape(x, shape): the same elements in row-major order, in a new shape;
 * one entry may be −1 (inferred). A view when x is row-major (at any offset),
 * else a copy (the copy kernel).
 *
 * Backward. Reshaping moves no element in row-major order: o = R x with R
 * the identity on the flat elements, so dx = Rᵀg = g reshaped to x's shape.
 * Check: ⟨reshape(x), g⟩ = ⟨x, reshape(g)⟩, the same sum over the same order.
 *
 * Second order. The backward is reshape again, linear in g and free of x
 * (∂²o/∂x² = 0); its own vector-Jacobian product is reshape back to g's shape.
 */
export const reshape = defineOp({
  name: "reshape",
  forward(ctx, x: Tensor, shape: readonly number[]): Tensor {
    checkTensor(x, "reshape", "input");
    ctx.save({ shape: x.shape });
    const target = inferShape(shape, x.size, x.shape);
    if (x.isContiguous()) return x.asStrided(target, contiguousStrides(target), x.offset);
    return new Tensor(contiguousData(x), target);
  },
  backward(ctx, g): (Tensor | null)[] {
    return [reshape(g, ctx.saved.shape as number[])];
  },
});

function inferShape(shape: readonly number[], size: number, from: readonly number[]): number[] {
  if (!Array.isArray(shape)) throw new ShapeError(`reshape: shape must be a list of sizes, got ${describeValue(shape)}`);
  const out = [...shape];
  const free = out.indexOf(-1);
  if (out.some((d, i) => typeof d !== "number" || !Number.isInteger(d) || (d < 0 && i !== free)) || out.lastIndexOf(-1) !== free) {
    throw new ShapeError(`reshape: invalid shape ${describeValue(shape)} (sizes must be non-negative integers, with at most one -1)`);
  }
  if (free >= 0) {
    const known = sizeOf(out.filter((_, i) => i !== free));
    if (known === 0 || size % known !== 0) {
      throw new ShapeError(`reshape: shape ${shapeStr(shape)} is invalid for input of shape ${shapeStr(from)} (${size} elements)`);
    }
    out[free] = size / known;
  }
  if (sizeOf(out) !== size) {
    throw new ShapeError(`reshape: shape ${shapeStr(shape)} is invalid for input of shape ${shapeStr(from)} (${size} elements)`);
  }
  return out;
}
