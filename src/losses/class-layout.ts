import { Tensor } from "../tensor/tensor.js";
import { DTypeError, ShapeError } from "../tensor/errors.js";
import { kernel } from "../kernels/registry.js";
import type { ClassTarget, Lanes } from "../kernels/table.js";
import type { FloatDType } from "../tensor/dtype.js";
import type { Reduction } from "./checks.js";

/**
 * The plumbing the classification losses share (not a loss): how a
 * classification input is laid out along its class axis, the reduction of
 * per-position losses to the loss tensor, and the constants of their
 * differentiable backward forms.
 */

/**
 * The layout shared by the classification losses: the class axis (1, or 0
 * for a 1-D input) of size C, the contiguous input seen as `lanes`
 * (outer × C × inner, kernels/table.ts: position i is lane i, its classes
 * C apart by `inner`), the shape of one loss per position ([N, d₁, …], or
 * [] for 1-D), and the input's shape with the class axis of size 1 (a
 * per-position value that broadcasts along the classes).
 */
export interface ClassLayout {
  C: number;
  axis: number;
  lanes: Lanes;
  positions: number;
  rowShape: number[];
  keptShape: number[];
}

export function classLayout(input: Tensor, fn: string): ClassLayout {
  if (input.dtype === "int32") throw new DTypeError(`${fn}: input must be float32 or float64, got int32`);
  if (input.ndim === 0) throw new ShapeError(`${fn}: input must have a class axis, got shape []`);
  const axis = input.ndim === 1 ? 0 : 1;
  const C = input.shape[axis]!;
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < axis; i++) outer *= input.shape[i]!;
  for (let i = axis + 1; i < input.ndim; i++) inner *= input.shape[i]!;
  return {
    C, axis, lanes: { outer, length: C, inner }, positions: outer * inner,
    rowShape: input.shape.filter((_, i) => i !== axis),
    keptShape: input.shape.map((d, i) => (i === axis ? 1 : d)),
  };
}

/**
 * The loss tensor for a reduction of the per-position losses `loss` (float64):
 * themselves, rounded once to `dtype` ('none', the copy kernel), or their float64 sum
 * ('sum', the reduce kernel, i ascending) divided by `denominator` ('mean').
 */
export function reduceLoss(
  loss: Float64Array, reduction: Reduction, denominator: number, rowShape: readonly number[], dtype: "float32" | "float64",
): Tensor {
  const n = loss.length;
  if (reduction === "none") {
    const out = Tensor.empty(rowShape, dtype);
    kernel("copy", dtype, n)({ data: loss, offset: 0, strides: [1] }, [n], out.data);
    return out;
  }
  const total = new Float64Array(1);
  kernel("reduce", "float64", n)("sum", loss, { outer: 1, length: n, inner: 1 }, total);
  const out = Tensor.empty([], dtype);
  out.data[0] = reduction === "sum" ? total[0]! : total[0]! / denominator;
  return out;
}

/**
 * The constants of a classification loss's differentiable backward form: the
 * coefficients a of `target` (lᵢ = −Σ_c a_ic·lp_ic, kernels/table.ts ClassTarget) in the
 * input's shape and `dtype`, and `counted`, 1 at a position that is not ignored and 0
 * at one that is, in the input's shape with the class axis of size 1 (int32, a mask
 * for where). Kernel classCoefficients.
 */
export function classConstants(layout: ClassLayout, target: ClassTarget, shape: readonly number[], dtype: FloatDType): { a: Tensor; counted: Tensor } {
  const a = Tensor.empty(shape, dtype);
  const counted = Tensor.empty(layout.keptShape, "int32");
  kernel("classCoefficients", dtype, a.size)(layout.lanes, target, a.data, counted.data as Int32Array);
  return { a, counted };
}

/**
 * The class weights w as a tensor of `dtype` that broadcasts along the class axis of
 * an input of `shape` ([C] for a 1-D input, else C on axis 1 and 1 elsewhere): a
 * constant of the backward forms. Rounded once to dtype (the copy kernel).
 */
export function classWeights(w: Float64Array, layout: ClassLayout, shape: readonly number[], dtype: FloatDType): Tensor {
  const out = Tensor.empty(shape.map((d, i) => (i === layout.axis ? d : 1)), dtype);
  kernel("copy", dtype, w.length)({ data: w, offset: 0, strides: [1] }, [w.length], out.data);
  return out;
}

