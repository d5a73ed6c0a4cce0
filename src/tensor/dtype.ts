import { DTypeError } from "./errors.js";

export type DType = "float32" | "float64" | "int32";
export type FloatDType = "float32" | "float64";
export type Storage = Float32Array | Float64Array | Int32Array;

export function allocate(dtype: DType, n: number): Storage {
  switch (dtype) {
    case "float32":
      return new Float32Array(n);
    case "float64":
      return new Float64Array(n);
    case "int32":
      return new Int32Array(n);
  }
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

export function requireFloat(dtype: DType, fn: string, arg: string): FloatDType {
  if (dtype === "int32") {
    throw new DTypeError(`${fn}: ${arg} must be float32 or float64, got int32`);
  }
  return dtype;
}
