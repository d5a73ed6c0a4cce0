import { Tensor, checkFloatTensor } from "../tensor/tensor.js";
import { broadcastShapes, broadcastStrides } from "../tensor/broadcast.js";
import { promoteTypes, type DType, type Storage } from "../tensor/dtype.js";
import { DTypeError } from "../tensor/errors.js";
import { kernel } from "../kernels/registry.js";
import type { BinaryOp, UnaryOp, View } from "../kernels/table.js";

/**
 * Shared plumbing of the element-wise ops (not an op itself): scalar
 * wrapping, dtype promotion, broadcasting, and the kernel call.
 */

/** A number becomes a 0-d tensor of `dtype`, as PyTorch wraps Python scalars. */
export function asTensor(v: Tensor | number, dtype: DType, fn: string, arg: string): Tensor {
  if (v instanceof Tensor) return v;
  if (typeof v !== "number") throw new DTypeError(`${fn}: ${arg} must be a Tensor or a number, got ${typeof v}`);
  const t = Tensor.empty([], dtype === "int32" ? "float32" : dtype);
  t.data[0] = v;
  return t;
}

/** The two operands of a binary op as tensors (a bare number takes the other side's dtype). */
export function operands(fn: string, a: Tensor | number, b: Tensor | number): [Tensor, Tensor] {
  if (!(a instanceof Tensor) && !(b instanceof Tensor)) {
    throw new DTypeError(`${fn}: at least one argument must be a Tensor, got ${typeof a} and ${typeof b}`);
  }
  const ta = a instanceof Tensor ? a : asTensor(a, (b as Tensor).dtype, fn, "input");
  const tb = b instanceof Tensor ? b : asTensor(b, ta.dtype, fn, "other");
  return [ta, tb];
}

/** How a tensor is read as `shape` (its broadcast strides): a kernel View. */
export function viewAs(t: Tensor, shape: readonly number[], fn: string): View {
  return { data: t.data, offset: t.offset, strides: broadcastStrides(t.shape, t.strides, shape, fn) };
}

/**
 * o = op(a, b) element-wise with broadcasting and float promotion, on the
 * selected backend's kernel.
 */
export function binary(fn: string, op: Exclude<BinaryOp, Comparison>, a: Tensor, b: Tensor): Tensor {
  const dtype = promoteTypes(a.dtype, b.dtype, fn);
  const shape = broadcastShapes(a.shape, b.shape, fn);
  const o = Tensor.empty(shape, dtype);
  kernel("binary", dtype, o.size)(op, viewAs(a, shape, fn), viewAs(b, shape, fn), shape, o.data);
  return o;
}

export type Comparison = "gt" | "ge" | "lt" | "le" | "eq" | "ne";

/**
 * The comparison `op` of two broadcast float tensors (or numbers), as an
 * int32 tensor of 1 and 0, for masks (where) and counts. NaN compares
 * false, except for "ne". Not differentiable (a step function).
 *
 * The ops use it on float operands only (an int32 operand is the DTypeError
 * of promoteTypes, naming the op). The public comparisons (eq, lt, … in
 * src/ops) pass `integers: true`: then int32 operands are allowed too, and
 * every pair of values is compared exactly as the numbers they are (the
 * kernel reads both storages as float64, which holds every int32 and float32
 * value exactly). A bare number still takes a float tensor's dtype first, as
 * PyTorch rounds a Python scalar to the tensor's dtype (x.lt(0.1) on float32
 * compares with float32(0.1)); beside an int32 tensor it is compared as given,
 * never rounded to float32 (which would make 16777217 equal 16777216).
 */
export function compare(fn: string, op: Comparison, a: Tensor | number, b: Tensor | number, integers = false): Tensor {
  let x: Tensor, z: Tensor;
  if (integers) {
    if (!(a instanceof Tensor) && !(b instanceof Tensor)) {
      throw new DTypeError(`${fn}: at least one argument must be a Tensor, got ${typeof a} and ${typeof b}`);
    }
    const wrapDtype = (t: Tensor): DType => (t.dtype === "int32" ? "float64" : t.dtype);
    x = a instanceof Tensor ? a : asTensor(a, wrapDtype(b as Tensor), fn, "input");
    z = b instanceof Tensor ? b : asTensor(b, wrapDtype(x), fn, "other");
  } else {
    [x, z] = operands(fn, a, b);
  }
  // The dtype only picks the kernel (the TypeScript comparisons read every storage as numbers).
  const dtype: DType = integers ? (x.dtype === z.dtype ? x.dtype : "float64") : promoteTypes(x.dtype, z.dtype, fn);
  const shape = broadcastShapes(x.shape, z.shape, fn);
  const o = Tensor.empty(shape, "int32");
  kernel("binary", dtype, o.size)(op, viewAs(x, shape, fn), viewAs(z, shape, fn), shape, o.data);
  return o;
}

/** o = op(x) element-wise on a float tensor, on the selected backend's kernel. */
export function unary(fn: string, op: UnaryOp, x: Tensor): Tensor {
  checkFloatTensor(x, fn, "input");
  const o = Tensor.empty(x.shape, x.dtype);
  kernel("unary", x.dtype, o.size)(op, contiguousData(x), o.data);
  return o;
}

/**
 * A tensor's elements in row-major order from index 0: its own storage when
 * it already is so, else a copy made by the copy kernel (no graph).
 */
export function contiguousData(x: Tensor): Storage {
  if (x.offset === 0 && x.data.length === x.size && x.isContiguous()) return x.data;
  const out = Tensor.empty(x.shape, x.dtype).data;
  kernel("copy", x.dtype, x.size)({ data: x.data, offset: x.offset, strides: x.strides }, x.shape, out);
  return out;
}
