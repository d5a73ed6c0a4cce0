import { Tensor } from "./tensor.js";
import { allocate, checkDtype, dtypeOf, type DType, type Storage } from "./dtype.js";
import { DTypeError, ShapeError, ValueError } from "./errors.js";
import { checkCount, checkInt, checkShape, describeValue, shapeStr, sizeOf, type Shape } from "./shape.js";
import { defaultGenerator, Generator } from "./random.js";
import { publicName } from "./public-call.js";
import { checkOptions } from "./options.js";

/** Options of `tensor` and the filled constructors: the shape to read the values into, the dtype, and whether the result is a leaf that requires grad. */
export interface TensorOptions {
  shape?: Shape;
  dtype?: DType;
  requiresGrad?: boolean;
}

/** Options of the random constructors (`rand`, `randn`, `randint`, `*Like`). */
export interface RandomOptions {
  dtype?: DType;
  requiresGrad?: boolean;
  /** The source of randomness; defaults to the global generator (`manualSeed`). */
  generator?: Generator;
}

/** A number or nested arrays of numbers, as `tensor` takes them. */
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
export function tensor(values: TensorLike | Storage, options?: TensorOptions): Tensor {
  options = checkOptions(options, "tensor", ["shape", "dtype", "requiresGrad"]);
  let data: Storage;
  let shape: number[];
  if (ArrayBuffer.isView(values)) {
    if (!(values instanceof Float32Array || values instanceof Float64Array || values instanceof Int32Array)) {
      throw new DTypeError(`tensor: a typed array must be a Float32Array, Float64Array or Int32Array, got ${describeValue(values)}`);
    }
    const typed = values as Storage;
    checkCount(typed.length, "tensor", "values");
    const dtype = options.dtype === undefined ? dtypeOf(typed) : checkDtype(options.dtype, "tensor");
    data = dtype === dtypeOf(typed) ? typed : convert(Array.from(typed), dtype);
    shape = [typed.length];
  } else {
    const flat: number[] = [];
    shape = inferShape(values, flat);
    data = convert(flat, options.dtype === undefined ? defaultDtype : checkDtype(options.dtype, "tensor"));
  }
  if (options.shape !== undefined) {
    checkShape(options.shape, "tensor");
    if (sizeOf(options.shape) !== data.length) {
      throw new ShapeError(`tensor: shape ${shapeStr(options.shape)} holds ${sizeOf(options.shape)} elements but ${data.length} values were given`);
    }
    shape = [...options.shape];
  }
  return finish(new Tensor(data, shape), options.requiresGrad, "tensor");
}

function inferShape(values: TensorLike, flat: number[]): number[] {
  if (typeof values === "number") {
    flat.push(values);
    return [];
  }
  if (!Array.isArray(values)) throw new ValueError(`tensor: values must be numbers, nested arrays or a typed array, got ${describeValue(values)}`);
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
  const out = allocate(dtype, values.length, "tensor");
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

/** Set requiresGrad when asked; only a float tensor can (a DTypeError naming fn, the function called). */
function finish(t: Tensor, requiresGrad: boolean | undefined, fn: string): Tensor {
  if (!requiresGrad) return t;
  if (t.dtype === "int32") throw new DTypeError(`${fn}: requiresGrad needs a float dtype, got int32`);
  return t.requiresGrad_(true);
}

const CREATION_OPTIONS = ["dtype", "requiresGrad"] as const;
const RANDOM_OPTIONS = ["dtype", "requiresGrad", "generator"] as const;

/** full, zeros, ones and their *Like forms: one body, each caller's own name in its messages. */
function filled(shape: Shape, value: number, options: Omit<TensorOptions, "shape">, fn: string): Tensor {
  const dims = checkShape(shape, fn);
  const dtype = options.dtype === undefined ? defaultDtype : checkDtype(options.dtype, fn);
  if (typeof value !== "number") throw new ValueError(`${fn}: fill value must be a number, got ${describeValue(value)}`);
  checkInt32Value(value, dtype, fn, "fill value");
  const t = Tensor.empty(dims, dtype, fn);
  if (value !== 0) t.data.fill(value);
  return finish(t, options.requiresGrad, fn);
}

/**
 * A value stored into an int32 tensor must be an integer in [−2³¹, 2³¹ − 1]: an Int32Array
 * would otherwise wrap it modulo 2³² (2³¹ becomes −2³¹) or truncate it, silently.
 */
function checkInt32Value(value: number, dtype: DType, fn: string, what: string): void {
  if (dtype === "int32" && !(Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX)) {
    throw new DTypeError(`${fn}: int32 ${what} must be an integer in [-2^31, 2^31 - 1], got ${value}`);
  }
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** A tensor of `shape` filled with `value` (an integer in the int32 range for int32). @example full([2, 2], -Infinity) */
export function full(shape: Shape, value: number, options?: Omit<TensorOptions, "shape">): Tensor {
  return filled(shape, value, checkOptions(options, "full", CREATION_OPTIONS), "full");
}

/** A tensor of `shape` filled with 0 (float32 unless `dtype` says otherwise). @example zeros([2, 3], { dtype: "float64" }) */
export function zeros(shape: Shape, options?: Omit<TensorOptions, "shape">): Tensor {
  return filled(shape, 0, checkOptions(options, "zeros", CREATION_OPTIONS), "zeros");
}

/** A tensor of `shape` filled with 1. @example ones([4], { requiresGrad: true }) */
export function ones(shape: Shape, options?: Omit<TensorOptions, "shape">): Tensor {
  return filled(shape, 1, checkOptions(options, "ones", CREATION_OPTIONS), "ones");
}

/**
 * Values start, start + step, … below end (like `torch.arange`); arange(n) is arange(0, n).
 * start and step must be finite (step ≠ 0) and end not NaN; the count ⌈(end − start)/step⌉
 * must be at most MAX_ELEMENTS (so arange(0, Infinity) is a ValueError naming the size). For
 * int32, start and step must be integers and every value must fit an int32 (no wrapping).
 */
export function arange(start: number, end?: number, step = 1, options?: Omit<TensorOptions, "shape">): Tensor {
  const fn = "arange";
  options = checkOptions(options, fn, CREATION_OPTIONS);
  if (end === undefined) [start, end] = [0, start];
  if (typeof start !== "number" || !Number.isFinite(start)) throw new ValueError(`${fn}: start must be a finite number, got ${describeValue(start)}`);
  if (typeof end !== "number" || Number.isNaN(end)) throw new ValueError(`${fn}: end must be a number, got ${describeValue(end)}`);
  if (typeof step !== "number" || step === 0 || !Number.isFinite(step)) throw new ValueError(`${fn}: step must be finite and non-zero, got ${describeValue(step)}`);
  const dtype = options.dtype === undefined ? defaultDtype : checkDtype(options.dtype, fn);
  const n = Math.max(0, Math.ceil((end - start) / step));
  checkCount(n, fn, `the range from ${start} to ${end} by ${step}`);
  if (dtype === "int32") {
    if (!(Number.isInteger(start) && Number.isInteger(step))) {
      throw new DTypeError(`${fn}: int32 needs integer start and step, got ${start} and ${step}`);
    }
    if (n > 0) {
      checkInt32Value(start, dtype, fn, "start");
      checkInt32Value(start + (n - 1) * step, dtype, fn, `value (the last, start + ${n - 1}·step)`);
    }
  }
  const t = Tensor.empty([n], dtype, fn);
  for (let i = 0; i < n; i++) t.data[i] = start + i * step;
  return finish(t, options.requiresGrad, fn);
}

/** The n×m identity (m defaults to n). */
export function eye(n: number, m = n, options?: Omit<TensorOptions, "shape">): Tensor {
  const fn = "eye";
  options = checkOptions(options, fn, CREATION_OPTIONS);
  checkInt(n, fn, "n", 0);
  checkInt(m, fn, "m", 0);
  checkCount(n * m, fn, `the ${n}×${m} identity`);
  const t = Tensor.empty([n, m], options.dtype === undefined ? defaultDtype : checkDtype(options.dtype, fn), fn);
  for (let i = 0; i < Math.min(n, m); i++) t.data[i * m + i] = 1;
  return finish(t, options.requiresGrad, fn);
}

function floatDtype(options: RandomOptions, fn: string): "float32" | "float64" {
  const dtype = options.dtype === undefined ? defaultDtype : checkDtype(options.dtype, fn);
  if (dtype === "int32") throw new DTypeError(`${fn}: dtype must be float32 or float64, got int32`);
  return dtype;
}

function generatorOf(options: RandomOptions, fn: string): Generator {
  const g = options.generator ?? defaultGenerator;
  if (!(g instanceof Generator)) throw new ValueError(`${fn}: generator must be a Generator, got ${describeValue(g)}`);
  return g;
}

/** Uniform samples in [0, 1). */
export function rand(shape: Shape, options?: RandomOptions): Tensor {
  return uniformIn(shape, checkOptions(options, "rand", RANDOM_OPTIONS), "rand");
}

function uniformIn(shape: Shape, options: RandomOptions, fn: string): Tensor {
  const dims = checkShape(shape, fn);
  const dtype = floatDtype(options, fn);
  const g = generatorOf(options, fn);
  // Memory refused is named for the public function running (a layer drawing its weights), else fn.
  const t = Tensor.empty(dims, dtype, publicName(fn));
  const d = t.data;
  if (dtype === "float32") for (let i = 0; i < d.length; i++) d[i] = g.uniform24();
  else for (let i = 0; i < d.length; i++) d[i] = g.uniform();
  return finish(t, options.requiresGrad, fn);
}

/** Standard normal samples. */
export function randn(shape: Shape, options?: RandomOptions): Tensor {
  return normalIn(shape, checkOptions(options, "randn", RANDOM_OPTIONS), "randn");
}

function normalIn(shape: Shape, options: RandomOptions, fn: string): Tensor {
  const dims = checkShape(shape, fn);
  const dtype = floatDtype(options, fn);
  const g = generatorOf(options, fn);
  const t = Tensor.empty(dims, dtype, fn);
  const d = t.data;
  for (let i = 0; i < d.length; i++) d[i] = g.normal();
  return finish(t, options.requiresGrad, fn);
}

/**
 * Uniform integers in [low, high), int32 by default (like `torch.randint`). low < high must be
 * integers; every value must be exact in the dtype (int32: [−2³¹, 2³¹ − 1]; float32: |v| ≤ 2²⁴;
 * float64: |v| ≤ 2⁵³), and high − low ≤ 2³², the most `Generator.below` draws from.
 */
export function randint(low: number, high: number, shape: Shape, options?: Omit<RandomOptions, "requiresGrad">): Tensor {
  const fn = "randint";
  const dims = checkShape(shape, fn);
  if (typeof low !== "number" || typeof high !== "number" || !Number.isInteger(low) || !Number.isInteger(high) || high <= low) {
    throw new ValueError(`${fn}: need integers low < high, got low=${describeValue(low)}, high=${describeValue(high)}`);
  }
  options = checkOptions(options, fn, ["dtype", "generator"]);
  const dtype = options.dtype === undefined ? "int32" : checkDtype(options.dtype, fn);
  const exact = dtype === "int32" ? [INT32_MIN, INT32_MAX] : dtype === "float32" ? [-16777216, 16777216] : [-9007199254740992, 9007199254740992];
  if (low < exact[0]! || high - 1 > exact[1]!) {
    throw new DTypeError(`${fn}: values in [${low}, ${high}) do not all fit ${dtype} exactly (it holds the integers in [${exact[0]}, ${exact[1]}])`);
  }
  if (high - low > 4294967296) {
    throw new ValueError(`${fn}: high - low must be at most 2^32, got ${high - low} (low=${low}, high=${high})`);
  }
  const g = generatorOf(options, fn);
  const t = Tensor.empty(dims, dtype, fn);
  const d = t.data;
  for (let i = 0; i < d.length; i++) d[i] = low + g.below(high - low);
  return t;
}

/**
 * A random permutation of 0, 1, …, n − 1 (torch.randperm), int32 by default. The shuffle is
 * Fisher–Yates as Durstenfeld wrote it: start from 0…n−1 and, for i = n − 1 down to 1, swap
 * entry i with entry j drawn uniformly from [0, i] (`Generator.below(i + 1)`, rejection
 * sampling, so no modulo bias). Each of the n! permutations then has probability
 * 1/n · 1/(n − 1) ⋯ 1/2 = 1/n!, and the same generator state gives the same permutation on
 * every engine (docs/random.md). It draws n − 1 words or a few more (rejections), so it is not
 * PyTorch's permutation for the same seed; the generators differ anyway.
 * n must be a non-negative integer whose values fit the dtype exactly (int32: n ≤ 2³¹;
 * float32: n ≤ 2²⁴ + 1; float64: up to MAX_ELEMENTS).
 *
 * @example randperm(5, { generator: new Generator(0) }) // e.g. tensor([3, 0, 4, 1, 2], int32)
 */
export function randperm(n: number, options?: Omit<RandomOptions, "requiresGrad">): Tensor {
  const fn = "randperm";
  checkInt(n, fn, "n", 0);
  options = checkOptions(options, fn, ["dtype", "generator"]);
  const dtype = options.dtype === undefined ? "int32" : checkDtype(options.dtype, fn);
  const top = dtype === "int32" ? INT32_MAX : dtype === "float32" ? 16777216 : 9007199254740992;
  if (n - 1 > top) {
    throw new DTypeError(`${fn}: n = ${n} gives values up to ${n - 1}, which do not all fit ${dtype} exactly (it holds the integers up to ${top})`);
  }
  const g = generatorOf(options, fn);
  const t = Tensor.empty([n], dtype, fn);
  const r = t.data;
  for (let i = 0; i < n; i++) r[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = g.below(i + 1);
    const v = r[i]!;
    r[i] = r[j]!;
    r[j] = v;
  }
  return t;
}

function checkTensor(x: unknown, fn: string): Tensor {
  if (!(x instanceof Tensor)) throw new ValueError(`${fn}: x must be a Tensor, got ${describeValue(x)}`);
  return x;
}

/** x's shape, and options whose dtype defaults to x's (an explicit `dtype: undefined` is absent too). */
function like<O extends { dtype?: DType }>(x: Tensor, options: O | undefined, fn: string, allowed: readonly (keyof O & string)[]): [number[], O] {
  const t = checkTensor(x, fn);
  const o = checkOptions(options, fn, allowed);
  return [[...t.shape], { ...o, dtype: o.dtype ?? t.dtype }];
}

/** Zeros of x's shape and dtype (`options` may change the dtype or ask for requiresGrad). */
export function zerosLike(x: Tensor, options?: Omit<TensorOptions, "shape">): Tensor {
  const [shape, o] = like(x, options, "zerosLike", CREATION_OPTIONS);
  return filled(shape, 0, o, "zerosLike");
}
/** Ones of x's shape and dtype. */
export function onesLike(x: Tensor, options?: Omit<TensorOptions, "shape">): Tensor {
  const [shape, o] = like(x, options, "onesLike", CREATION_OPTIONS);
  return filled(shape, 1, o, "onesLike");
}
/** `value` in x's shape and dtype. */
export function fullLike(x: Tensor, value: number, options?: Omit<TensorOptions, "shape">): Tensor {
  const [shape, o] = like(x, options, "fullLike", CREATION_OPTIONS);
  return filled(shape, value, o, "fullLike");
}
/** Uniform draws in [0, 1) of x's shape and dtype, from `generator` (default: the global one). */
export function randLike(x: Tensor, options?: RandomOptions): Tensor {
  const [shape, o] = like(x, options, "randLike", RANDOM_OPTIONS);
  return uniformIn(shape, o, "randLike");
}
/** Standard normal draws of x's shape and dtype, from `generator` (default: the global one). */
export function randnLike(x: Tensor, options?: RandomOptions): Tensor {
  const [shape, o] = like(x, options, "randnLike", RANDOM_OPTIONS);
  return normalIn(shape, o, "randnLike");
}
