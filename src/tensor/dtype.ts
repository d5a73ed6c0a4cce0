import { DTypeError, ValueError } from "./errors.js";
import { checkCount, describeValue } from "./shape.js";

/** The element types: float32 (the default, as in PyTorch), float64, and int32 for labels and indices. */
export type DType = "float32" | "float64" | "int32";
/** The dtypes arithmetic and gradients take. */
export type FloatDType = "float32" | "float64";
/** The typed array behind a tensor of each dtype. */
export type Storage = Float32Array | Float64Array | Int32Array;

/**
 * A zeroed buffer of n elements. `fn` names the public function for the two refusals: more
 * than MAX_ELEMENTS elements (checked before allocating), and an allocation the engine
 * refuses for want of memory (its RangeError becomes a ValueError giving the size in bytes).
 */
export function allocate(dtype: DType, n: number, fn = "allocate"): Storage {
  if (!Number.isInteger(n) || n < 0) throw new ValueError(`${fn}: a tensor cannot hold ${n} elements (a size must be a non-negative integer)`);
  checkCount(n, fn, () => `a ${dtype} tensor`);
  try {
    switch (dtype) {
      case "float32":
        return new Float32Array(n);
      case "float64":
        return new Float64Array(n);
      case "int32":
        return new Int32Array(n);
    }
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    const bytes = n * (dtype === "float64" ? 8 : 4);
    throw new ValueError(`${fn}: cannot allocate ${n} ${dtype} elements (${bytes} bytes): the JavaScript engine refused the memory (${e.message})`);
  }
  throw new DTypeError(`${fn}: dtype must be "float32", "float64" or "int32", got ${describeValue(dtype)}`);
}

/** A dtype argument: one of the three names (DTypeError naming fn and arg otherwise). */
export function checkDtype(dtype: unknown, fn: string, arg = "dtype"): DType {
  if (dtype !== "float32" && dtype !== "float64" && dtype !== "int32") {
    throw new DTypeError(`${fn}: ${arg} must be "float32", "float64" or "int32", got ${describeValue(dtype)}`);
  }
  return dtype;
}

export function dtypeOf(data: Storage): DType {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Float64Array) return "float64";
  return "int32";
}

export function isFloat(dtype: DType): dtype is FloatDType {
  return dtype !== "int32";
}

/**
 * Type promotion: float32 with float64 gives float64. int32 holds labels and
 * indices and takes part in no arithmetic at all (not even with another
 * int32 or a bare number); an op that receives it raises a DTypeError
 * naming the op.
 */
export function promoteTypes(a: DType, b: DType, fn: string): FloatDType {
  if (a === "int32" || b === "int32") {
    throw new DTypeError(`${fn}: int32 tensors hold labels and indices and take no part in arithmetic (got ${a} and ${b}); convert with .to("float32") if that is meant`);
  }
  return a === "float64" || b === "float64" ? "float64" : "float32";
}

/**
 * The dtype of a matrix product's operands, which must be one float dtype. Unlike the
 * element-wise ops, matmul and linear do not promote float32 with float64, as PyTorch does
 * not: a float64 operand (NumPy's default, read from a .npy) would silently make a float32
 * model's whole product float64, and several times slower. A DTypeError names both dtypes
 * and the conversion instead. `names` says what each operand is called in `fn`'s signature.
 */
export function sameFloatType(dtypes: readonly DType[], names: readonly string[], fn: string): FloatDType {
  dtypes.forEach((d, i) => {
    if (d === undefined) throw new DTypeError(`${fn}: ${names[i]} must be a Tensor`);
  });
  dtypes.forEach((d, i) => requireFloat(d, fn, names[i]!));
  const first = dtypes[0] as FloatDType;
  const k = dtypes.findIndex((d) => d !== first);
  if (k >= 0) {
    const other = dtypes[k]!;
    throw new DTypeError(`${fn}: ${names[0]} is ${first} but ${names[k]} is ${other}; ${fn} does not mix float dtypes (PyTorch refuses too), so convert one operand, e.g. ${names[k]}.to("${first}") or ${names[0]}.to("${other}")`);
  }
  return first;
}

export function requireFloat(dtype: DType, fn: string, arg: string): FloatDType {
  if (dtype === "int32") {
    throw new DTypeError(`${fn}: ${arg} must be float32 or float64, got int32`);
  }
  return dtype;
}
