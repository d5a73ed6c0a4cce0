import { Tensor } from "./tensor.js";
import { allocate, dtypeOf, type DType, type Storage } from "./dtype.js";
import { DTypeError, ShapeError, ValueError } from "./errors.js";
import { checkShape, shapeStr, sizeOf, type Shape } from "./shape.js";
import { defaultGenerator, type Generator } from "./random.js";

export interface TensorOptions {
  shape?: Shape;
  dtype?: DType;
  requiresGrad?: boolean;
}

export interface RandomOptions {
  dtype?: DType;
  requiresGrad?: boolean;
  /** The source of randomness; defaults to the global generator (`manualSeed`). */
  generator?: Generator;
}

export type TensorLike = number | readonly TensorLike[];

/** The default float dtype, as in PyTorch. */
export const defaultDtype: DType = "float32";

/**
 * Make a tensor from nested arrays, a flat array or a typed array.
 * With `shape`, the values are read in row-major order into that shape.
 * A typed array is used without a copy (its dtype is the tensor's dtype);
 * asking for another dtype converts it. Values for int32 must be integers.
 *
 * @example tensor([[1, 2], [3, 4]], { dtype: "float64", requiresGrad: true })
 */
export function tensor(values: TensorLike | Storage, options: TensorOptions = {}): Tensor {
  let data: Storage;
  let shape: number[];
  if (ArrayBuffer.isView(values)) {
    const typed = values as Storage;
    const dtype = options.dtype ?? dtypeOf(typed);
    data = dtype === dtypeOf(typed) ? typed : convert(Array.from(typed), dtype);
    shape = [typed.length];
  } else {
    const flat: number[] = [];
    shape = inferShape(values, flat);
    data = convert(flat, options.dtype ?? defaultDtype);
  }
  if (options.shape !== undefined) {
    checkShape(options.shape, "tensor");
    if (sizeOf(options.shape) !== data.length) {
      throw new ShapeError(`tensor: shape ${shapeStr(options.shape)} holds ${sizeOf(options.shape)} elements but ${data.length} values were given`);
    }
    shape = [...options.shape];
  }
  return finish(new Tensor(data, shape), options.requiresGrad);
}

function inferShape(values: TensorLike, flat: number[]): number[] {
  if (typeof values === "number") {
    flat.push(values);
    return [];
  }
  if (!Array.isArray(values)) throw new ValueError(`tensor: values must be numbers, nested arrays or a typed array`);
  if (values.length === 0) return [0];
  const shapes = values.map((v) => inferShape(v, flat));
  const first = shapes[0]!;
  for (const s of shapes) {
    if (s.length !== first.length || s.some((d, i) => d !== first[i])) {
      throw new ShapeError(`tensor: nested arrays are ragged (${shapeStr(first)} and ${shapeStr(s)} at the same depth)`);
    }
  }
  return [values.length, ...first];
}

function convert(values: readonly number[], dtype: DType): Storage {
  const out = allocate(dtype, values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (typeof v !== "number") throw new ValueError(`tensor: values must be numbers, got ${typeof v}`);
    if (dtype === "int32" && !(Number.isInteger(v) && v >= -2147483648 && v <= 2147483647)) {
      throw new DTypeError(`tensor: int32 values must be integers in the int32 range, got ${v}`);
    }
    out[i] = v;
  }
  return out;
}

function finish(t: Tensor, requiresGrad: boolean | undefined): Tensor {
  if (requiresGrad) t.requiresGrad_(true);
  return t;
}

export function full(shape: Shape, value: number, options: Omit<TensorOptions, "shape"> = {}): Tensor {
  checkShape(shape, "full");
  const dtype = options.dtype ?? defaultDtype;
  if (dtype === "int32" && !Number.isInteger(value)) throw new DTypeError(`full: int32 fill value must be an integer, got ${value}`);
  const t = Tensor.empty(shape, dtype);
  if (value !== 0) t.data.fill(value);
  return finish(t, options.requiresGrad);
}

export function zeros(shape: Shape, options: Omit<TensorOptions, "shape"> = {}): Tensor {
  return full(shape, 0, options);
}

export function ones(shape: Shape, options: Omit<TensorOptions, "shape"> = {}): Tensor {
  return full(shape, 1, options);
}

/** Values start, start + step, … below end (like `torch.arange`). */
export function arange(start: number, end?: number, step = 1, options: Omit<TensorOptions, "shape"> = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  if (step === 0 || !Number.isFinite(step)) throw new ValueError(`arange: step must be finite and non-zero, got ${step}`);
  const n = Math.max(0, Math.ceil((end - start) / step));
  const dtype = options.dtype ?? defaultDtype;
  const t = Tensor.empty([n], dtype);
  for (let i = 0; i < n; i++) t.data[i] = start + i * step;
  if (dtype === "int32" && !(Number.isInteger(start) && Number.isInteger(step))) {
    throw new DTypeError(`arange: int32 needs integer start and step, got ${start} and ${step}`);
  }
  return finish(t, options.requiresGrad);
}

/** The n×m identity (m defaults to n). */
export function eye(n: number, m = n, options: Omit<TensorOptions, "shape"> = {}): Tensor {
  checkShape([n, m], "eye");
  const t = Tensor.empty([n, m], options.dtype ?? defaultDtype);
  for (let i = 0; i < Math.min(n, m); i++) t.data[i * m + i] = 1;
  return finish(t, options.requiresGrad);
}

function floatDtype(options: RandomOptions, fn: string): "float32" | "float64" {
  const dtype = options.dtype ?? defaultDtype;
  if (dtype === "int32") throw new DTypeError(`${fn}: dtype must be float32 or float64, got int32`);
  return dtype;
}

/** Uniform samples in [0, 1). */
export function rand(shape: Shape, options: RandomOptions = {}): Tensor {
  checkShape(shape, "rand");
  const dtype = floatDtype(options, "rand");
  const g = options.generator ?? defaultGenerator;
  const t = Tensor.empty(shape, dtype);
  const d = t.data;
  if (dtype === "float32") for (let i = 0; i < d.length; i++) d[i] = g.uniform24();
  else for (let i = 0; i < d.length; i++) d[i] = g.uniform();
  return finish(t, options.requiresGrad);
}

/** Standard normal samples. */
export function randn(shape: Shape, options: RandomOptions = {}): Tensor {
  checkShape(shape, "randn");
  const dtype = floatDtype(options, "randn");
  const g = options.generator ?? defaultGenerator;
  const t = Tensor.empty(shape, dtype);
  const d = t.data;
  for (let i = 0; i < d.length; i++) d[i] = g.normal();
  return finish(t, options.requiresGrad);
}

/** Uniform integers in [low, high), int32 by default (like `torch.randint`). */
export function randint(low: number, high: number, shape: Shape, options: Omit<RandomOptions, "requiresGrad"> = {}): Tensor {
  checkShape(shape, "randint");
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) {
    throw new ValueError(`randint: need integers low < high, got low=${low}, high=${high}`);
  }
  const g = options.generator ?? defaultGenerator;
  const t = Tensor.empty(shape, options.dtype ?? "int32");
  const d = t.data;
  for (let i = 0; i < d.length; i++) d[i] = low + g.below(high - low);
  return t;
}

export function zerosLike(x: Tensor, options: Omit<TensorOptions, "shape"> = {}): Tensor {
  return zeros(x.shape, { dtype: x.dtype, ...options });
}
export function onesLike(x: Tensor, options: Omit<TensorOptions, "shape"> = {}): Tensor {
  return ones(x.shape, { dtype: x.dtype, ...options });
}
export function fullLike(x: Tensor, value: number, options: Omit<TensorOptions, "shape"> = {}): Tensor {
  return full(x.shape, value, { dtype: x.dtype, ...options });
}
export function randLike(x: Tensor, options: RandomOptions = {}): Tensor {
  return rand(x.shape, { dtype: x.dtype, ...options });
}
export function randnLike(x: Tensor, options: RandomOptions = {}): Tensor {
  return randn(x.shape, { dtype: x.dtype, ...options });
}
