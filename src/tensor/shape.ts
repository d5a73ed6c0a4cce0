import { IndexError, ShapeError, ValueError } from "./errors.js";

export type Shape = readonly number[];

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
 * (−1 is the last axis). A 0-d tensor accepts −1 and 0.
 */
export function normalizeAxis(axis: number, ndim: number, arg: string, fn: string): number {
  const n = Math.max(ndim, 1);
  if (!Number.isInteger(axis) || axis < -n || axis >= n) {
    throw new IndexError(
      `${fn}: ${arg} is out of range (expected an integer in [${-n}, ${n - 1}], got ${axis})`,
    );
  }
  return axis < 0 ? axis + n : axis;
}

/** Normalise a `dim` argument that may be a number, a list or absent (all axes). */
export function normalizeAxes(
  dim: number | readonly number[] | undefined,
  ndim: number,
  fn: string,
): number[] {
  if (dim === undefined) return Array.from({ length: ndim }, (_, i) => i);
  const list = typeof dim === "number" ? [dim] : dim;
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

/** Check that a shape is a list of non-negative integers. */
export function checkShape(shape: Shape, fn: string, arg = "shape"): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new ShapeError(`${fn}: ${arg} must hold non-negative integers, got ${shapeStr(shape)}`);
    }
  }
}
