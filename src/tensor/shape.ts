import { IndexError, ShapeError, ValueError } from "./errors.js";

/** A shape: the size of each axis, outermost first ([] for a scalar). */
export type Shape = readonly number[];

/**
 * The most elements one tensor may hold: 2³¹ − 1, on every engine.
 *
 * Why this number. V8 refuses typed arrays above 2³² elements and other engines draw the line
 * elsewhere, so the engine's limit is not a contract. kdgrad's own is the int32 range: argmax,
 * argmin and gather speak int32 indices, which address every element of a tensor only when the
 * flat index fits an int32. A size above it is a ValueError naming the public function called,
 * the size and this limit, before anything is allocated.
 */
export const MAX_ELEMENTS = 2147483647;

/**
 * A value as a message shows it: numbers as JavaScript prints them, a BigInt with its `n` (3n is
 * not the number 3, and JSON.stringify cannot print it at all), strings quoted, lists item by
 * item, anything else by its type. Never throws, whatever the value.
 */
export function describeValue(v: unknown): string {
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "symbol") return "a symbol";
  if (v === undefined || v === null) return String(v);
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) {
    const items = v.slice(0, 8).map(describeValue).join(",");
    return `[${items}${v.length > 8 ? ",…" : ""}]`;
  }
  if (typeof v === "function") return "a function";
  const name = (v as object).constructor?.name;
  return name && name !== "Object" ? `a ${name}` : "an object";
}

/**
 * An integer argument: a number that is an integer in [min, max] (ValueError otherwise, naming
 * the function, the argument, the range and the value). Used for every count, size, seed and
 * step of the public API; axes go through `normalizeAxis`, shapes through `checkShape`.
 */
export function checkInt(value: unknown, fn: string, arg: string, min = -Infinity, max = Infinity): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    const range = min === -Infinity && max === Infinity ? "an integer"
      : max === Infinity ? (min === 0 ? "a non-negative integer" : min === 1 ? "a positive integer" : `an integer >= ${min}`)
      : min === -Infinity ? `an integer <= ${max}`
      : `an integer in [${min}, ${max}]`;
    throw new ValueError(`${fn}: ${arg} must be ${range}, got ${describeValue(value)}`);
  }
  return value;
}

/**
 * A numeric setting (a learning rate, a factor, a momentum): a finite number for which `ok` holds
 * (ValueError otherwise, naming the function, the argument, what was `expected` and the value).
 */
export function checkNumber(value: unknown, fn: string, arg: string, ok: (v: number) => boolean, expected: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || !ok(value)) {
    throw new ValueError(`${fn}: ${arg} must be ${expected}, got ${describeValue(value)}`);
  }
  return value;
}

/** A flag: true or false (ValueError naming fn, the argument and the value otherwise; a truthy value is not taken). */
export function checkBool(value: unknown, fn: string, arg: string): boolean {
  if (typeof value !== "boolean") throw new ValueError(`${fn}: ${arg} must be true or false, got ${describeValue(value)}`);
  return value;
}

/** A function argument (ValueError naming fn, the argument and what was given otherwise). */
export function checkFunction<F>(f: F, fn: string, arg: string): F {
  if (typeof f !== "function") throw new ValueError(`${fn}: ${arg} must be a function, got ${describeValue(f)}`);
  return f;
}

/** A name argument: a non-empty string (ValueError otherwise); it heads messages, so a number or "" cannot. */
export function checkName(name: unknown, fn: string, arg: string): string {
  if (typeof name !== "string" || name === "") throw new ValueError(`${fn}: ${arg} must be a non-empty string, got ${describeValue(name)}`);
  return name;
}

/** The element count n checked against MAX_ELEMENTS (ValueError naming fn, the count and the limit). */
export function checkCount(n: number, fn: string, what: string | (() => string)): number {
  if (!(n <= MAX_ELEMENTS)) {
    // `what` may be a function: the message is built only when it is needed (every Tensor is checked).
    const name = typeof what === "function" ? what() : what;
    throw new ValueError(`${fn}: ${name} has ${n} elements, above the limit of ${MAX_ELEMENTS} (2^31 - 1) elements per tensor`);
  }
  return n;
}

/**
 * Check a shape argument: a list (ShapeError otherwise) of non-negative integers (ShapeError)
 * holding at most MAX_ELEMENTS elements (ValueError). Returns a copy.
 */
export function checkShape(shape: unknown, fn: string, arg = "shape"): number[] {
  if (!Array.isArray(shape) && !ArrayBuffer.isView(shape)) {
    throw new ShapeError(`${fn}: ${arg} must be a list of non-negative integers, got ${describeValue(shape)}`);
  }
  const out = Array.from(shape as ArrayLike<unknown>);
  for (const d of out) {
    if (typeof d !== "number" || !Number.isInteger(d) || d < 0) {
      throw new ShapeError(`${fn}: ${arg} must hold non-negative integers, got ${describeValue(out)}`);
    }
  }
  checkCount(sizeOf(out as number[]), fn, () => `${arg} ${shapeStr(out as number[])}`);
  return out as number[];
}

/** Number of elements of a shape (1 for a scalar `[]`). */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major (C order) strides of a shape. */
export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

/** `[4,10]`: the spelling used in every error message. */
export function shapeStr(shape: Shape): string {
  return `[${shape.join(",")}]`;
}

export function sameShape(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Resolve a possibly negative axis against `ndim`, as PyTorch does
 * (−1 is the last axis). A 0-d tensor accepts −1 and 0. Anything but an
 * integer in range is an IndexError naming the function and argument.
 */
export function normalizeAxis(axis: unknown, ndim: number, arg: string, fn: string): number {
  const n = Math.max(ndim, 1);
  if (typeof axis !== "number" || !Number.isInteger(axis) || axis < -n || axis >= n) {
    throw new IndexError(
      `${fn}: ${arg} is out of range (expected an integer in [${-n}, ${n - 1}], got ${describeValue(axis)})`,
    );
  }
  return axis < 0 ? axis + n : axis;
}

/**
 * Normalise a `dim` argument that may be a number, a list or absent (all axes).
 *
 * An empty list. PyTorch's sum, mean, amax and amin read `dim = []` as every axis (a
 * behaviour its issue tracker marks for deprecation), NumPy's `axis=()` as no axis at all,
 * and torch.logsumexp raises for most shapes. The reductions therefore refuse it
 * (`empty: "refuse"`, a ValueError saying to omit dim for every axis) rather than silently
 * pick one library's reading; squeeze takes it as "no axis", as torch.squeeze(x, ()) does
 * (`empty: "none"`).
 */
export function normalizeAxes(
  dim: unknown,
  ndim: number,
  fn: string,
  empty: "refuse" | "none" = "refuse",
): number[] {
  if (dim === undefined) return Array.from({ length: ndim }, (_, i) => i);
  if (typeof dim !== "number" && !Array.isArray(dim)) {
    throw new IndexError(`${fn}: dim must be an axis or a list of axes, got ${describeValue(dim)}`);
  }
  const list: unknown[] = typeof dim === "number" ? [dim] : dim;
  if (list.length === 0 && empty === "refuse") {
    throw new ValueError(
      `${fn}: dim is an empty list, which PyTorch reads as every axis and NumPy as none; omit dim to reduce every axis`,
    );
  }
  const out = list.map((d) => normalizeAxis(d, ndim, "dim", fn));
  if (new Set(out).size !== out.length) {
    throw new ValueError(`${fn}: dim lists an axis twice (${JSON.stringify(dim)})`);
  }
  return out.filter((d) => d < ndim).sort((a, b) => a - b);
}

/**
 * A contiguous tensor seen as `outer × length × inner`: the lanes along `axis`
 * start at `o·length·inner + i` and step by `inner`.
 */
export function laneGeometry(shape: Shape, axis: number): { outer: number; length: number; inner: number } {
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i]!;
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i]!;
  return { outer, length: shape.length === 0 ? 1 : shape[axis]!, inner };
}
