import { Tensor } from "../tensor/tensor.js";
import { broadcastShapes, broadcastStrides } from "../tensor/broadcast.js";
import { promoteTypes, requireFloat, type DType } from "../tensor/dtype.js";
import { DTypeError } from "../tensor/errors.js";
import { arithmetic, mapBinary, mapUnary, type Arith } from "../kernels/strided.js";

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

/**
 * y = f(a, b) element-wise with broadcasting and float promotion. `op`, when
 * f is one of + − × ÷, lets the common layouts run a loop without a call per
 * element (kernels/strided.ts, arithmetic); f is the definition either way.
 */
export function binary(fn: string, a: Tensor, b: Tensor, f: (x: number, y: number) => number, op?: Arith): Tensor {
  const dtype = promoteTypes(a.dtype, b.dtype, fn);
  const shape = broadcastShapes(a.shape, b.shape, fn);
  const y = Tensor.empty(shape, dtype);
  const aStr = broadcastStrides(a.shape, a.strides, shape, fn);
  const bStr = broadcastStrides(b.shape, b.strides, shape, fn);
  if (op !== undefined && arithmetic(op, a.data, a.offset, aStr, b.data, b.offset, bStr, shape, y.data)) return y;
  mapBinary(a.data, a.offset, aStr, b.data, b.offset, bStr, shape, y.data, f);
  return y;
}

/** y = f(x) element-wise on a float tensor. */
export function unary(fn: string, x: Tensor, f: (v: number) => number): Tensor {
  requireFloat(x.dtype, fn, "input");
  const y = Tensor.empty(x.shape, x.dtype);
  mapUnary(x.contiguous().data, y.data, f);
  return y;
}
