import { Tensor } from "../tensor/tensor.js";
import { tensor, type TensorLike } from "../tensor/creation.js";
import { KdgradError, ValueError, namedError } from "../tensor/errors.js";
import { broadcastShapes } from "../tensor/broadcast.js";
import { describeValue, shapeStr } from "../tensor/shape.js";

/** What `allClose`, `assertClose` and the vitest matcher compare: a tensor, a number or nested arrays of numbers. */
export type Comparable = Tensor | TensorLike;

/** Tolerances of `allClose` and `assertClose`. */
export interface CloseOptions {
  /** Relative tolerance, of |expected| (NumPy's `b`). Default 1e-5, as NumPy. */
  rtol?: number;
  /** Absolute tolerance. Default 1e-8, as NumPy. */
  atol?: number;
  /** Whether NaN equals NaN. Default false, as NumPy. */
  equalNan?: boolean;
}

/** `assertClose`'s options: the tolerances, and a name for the compared value in the message. */
export interface AssertCloseOptions extends CloseOptions {
  /** What is compared ("logits.grad"), put at the head of the message. */
  name?: string;
}

/** Thrown by `assertClose` and `assertFinite` (and so by the vitest matchers) when a check fails. */
export class AssertionError extends KdgradError {}
namedError(AssertionError, "AssertionError");

/** One compared element: its place in the broadcast shape and the two values. */
export interface CloseElement {
  /** Multi-index in the compared (broadcast) shape. */
  index: number[];
  actual: number;
  expected: number;
  /** |actual − expected| (∞ when exactly one side is non-finite or NaN). */
  error: number;
  /** atol + rtol·|expected|. */
  allowed: number;
}

/** The element-wise comparison behind `allClose` and `assertClose`. */
export interface CloseReport {
  ok: boolean;
  /** The broadcast shape of the comparison. */
  shape: number[];
  /** Elements compared, and how many were not close. */
  size: number;
  mismatches: number;
  /** The element with the largest error / allowed error (mismatched non-finite values first); null for empty tensors. */
  worst: CloseElement | null;
  /** The first element in row-major order that is not close, or null. */
  first: CloseElement | null;
}

/** A value as a tensor (numbers and nested arrays in float64, so nothing is rounded). */
function asTensor(v: unknown, fn: string, arg: string): Tensor {
  if (v instanceof Tensor) return v;
  if (typeof v === "number" || Array.isArray(v)) return tensor(v as TensorLike, { dtype: "float64" });
  throw new ValueError(`${fn}: ${arg} must be a Tensor, a number or nested arrays of numbers, got ${describeValue(v)}`);
}

/** The tolerances checked: rtol and atol finite and ≥ 0 (a NaN or ∞ tolerance passes anything), equalNan a boolean. */
function tolerances(options: unknown, fn: string): { rtol: number; atol: number; equalNan: boolean } {
  if (options === null || typeof options !== "object") throw new ValueError(`${fn}: options must be an object, got ${describeValue(options)}`);
  const o = options as CloseOptions;
  const nonNegative = (v: unknown, name: string, fallback: number): number => {
    if (v === undefined) return fallback;
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new ValueError(`${fn}: ${name} must be a finite number >= 0, got ${describeValue(v)}`);
    return v;
  };
  if (o.equalNan !== undefined && typeof o.equalNan !== "boolean") throw new ValueError(`${fn}: equalNan must be true or false, got ${describeValue(o.equalNan)}`);
  return { rtol: nonNegative(o.rtol, "rtol", 1e-5), atol: nonNegative(o.atol, "atol", 1e-8), equalNan: o.equalNan ?? false };
}

/**
 * Compare `actual` with `expected` element by element, NumPy's `isclose`:
 *   |actual − expected| ≤ atol + rtol·|expected|,
 * with infinities close only to an infinity of the same sign, and NaN close to NaN only with
 * `equalNan`. The two broadcast against each other (ShapeError naming `fn` when they cannot).
 * Values are compared in float64, whatever the dtypes.
 */
export function closeReport(actual: Comparable, expected: Comparable, options: CloseOptions = {}, fn = "closeReport"): CloseReport {
  const { rtol, atol, equalNan } = tolerances(options, fn);
  const a = asTensor(actual, fn, "actual");
  const b = asTensor(expected, fn, "expected");
  const shape = broadcastShapes(a.shape, b.shape, fn);
  const av = a.copyData();
  const bv = b.copyData();
  // Row-major strides of a and b read in the broadcast shape: 0 along broadcast axes.
  const stridesIn = (s: readonly number[]): number[] => {
    const out = new Array<number>(shape.length).fill(0);
    let step = 1;
    for (let d = s.length - 1; d >= 0; d--) {
      const k = d + shape.length - s.length;
      out[k] = s[d] === 1 ? 0 : step;
      step *= s[d]!;
    }
    return out;
  };
  const sa = stridesIn(a.shape);
  const sb = stridesIn(b.shape);
  const size = shape.reduce((n, d) => n * d, 1);
  const index = new Array<number>(shape.length).fill(0);
  let ia = 0;
  let ib = 0;
  let mismatches = 0;
  let worst: CloseElement | null = null;
  let worstRatio = -1;
  let first: CloseElement | null = null;
  for (let k = 0; k < size; k++) {
    const x = av[ia]!;
    const y = bv[ib]!;
    const allowed = atol + rtol * Math.abs(y);
    let close: boolean;
    let error: number;
    if (Number.isNaN(x) || Number.isNaN(y)) {
      close = equalNan && Number.isNaN(x) && Number.isNaN(y);
      error = close ? 0 : Infinity;
    } else if (!Number.isFinite(x) || !Number.isFinite(y)) {
      close = x === y;
      error = close ? 0 : Infinity;
    } else {
      error = Math.abs(x - y);
      close = error <= allowed;
    }
    const r = error === 0 ? 0 : error / allowed;
    const ratio = Number.isNaN(r) ? Infinity : r; // ∞ / ∞: a non-finite mismatch next to an infinite expected value
    if (!close) mismatches++;
    if (ratio > worstRatio) {
      worstRatio = ratio;
      worst = { index: [...index], actual: x, expected: y, error, allowed };
    }
    if (!close && first === null) first = { index: [...index], actual: x, expected: y, error, allowed };
    // Advance the multi-index and both offsets.
    for (let d = shape.length - 1; d >= 0; d--) {
      index[d]!++;
      ia += sa[d]!;
      ib += sb[d]!;
      if (index[d]! < shape[d]!) break;
      ia -= sa[d]! * shape[d]!;
      ib -= sb[d]! * shape[d]!;
      index[d] = 0;
    }
  }
  return { ok: mismatches === 0, shape, size, mismatches, worst, first };
}

/**
 * Whether every element of `a` is close to the matching element of `b`, as NumPy's
 * `allclose`: |a − b| ≤ atol + rtol·|b| (rtol 1e-5 and atol 1e-8 by default; `b` is the
 * reference, so the test is not symmetric), a and b broadcast together, ±∞ close only to
 * itself, NaN close to NaN only with `equalNan`.
 *
 * Bad input is refused, never read as "not close": shapes that do not broadcast are a
 * ShapeError, a tolerance that is negative, NaN or ∞ a ValueError.
 *
 * @example allClose(logSoftmax(x.add(3), -1), logSoftmax(x, -1), { rtol: 1e-12, atol: 1e-12 })
 */
export function allClose(a: Comparable, b: Comparable, options: CloseOptions = {}): boolean {
  return closeReport(a, b, options, "allClose").ok;
}

const show = (x: number): string => (Number.isFinite(x) && x !== 0 ? x.toPrecision(8).replace(/\.?0+(e|$)/, "$1") : String(x));
const at = (index: readonly number[]): string => `[${index.join(", ")}]`;

/** The line for one element: where, both values, the error and what was allowed. */
export function describeElement(e: CloseElement): string {
  const excess = Number.isFinite(e.error)
    ? `|actual − expected| ${e.error.toExponential(2)} > allowed ${e.allowed.toExponential(2)} (${(e.error / e.allowed).toPrecision(3)}× the tolerance)`
    : "not close (non-finite on one side or NaN)";
  return `at ${at(e.index)}: actual ${show(e.actual)}, expected ${show(e.expected)}, ${excess}`;
}

/**
 * Throw an `AssertionError` unless `actual` is close to `expected` (as `allClose`; NumPy's
 * defaults rtol 1e-5, atol 1e-8). The shapes must be equal — a [4, 1] compared with a [4]
 * is a mistake broadcasting would hide — except that `expected` may be a plain number.
 * The message names how many elements differ, the worst one (largest error / allowed error)
 * with its index and both values, and the first one.
 *
 * @example assertClose(logits.grad!, expectedGrad, { rtol: 1e-10, atol: 1e-12, name: "logits.grad" })
 */
export function assertClose(actual: Comparable, expected: Comparable, options: AssertCloseOptions = {}): void {
  const fn = "assertClose";
  const a = asTensor(actual, fn, "actual");
  const b = asTensor(expected, fn, "expected");
  const head = `${fn}: ${options.name === undefined ? "" : `${options.name}: `}`;
  if (typeof expected !== "number" && shapeStr(a.shape) !== shapeStr(b.shape)) {
    throw new AssertionError(`${head}actual has shape ${shapeStr(a.shape)} but expected has shape ${shapeStr(b.shape)}`);
  }
  const report = closeReport(a, b, options, fn);
  if (report.ok) return;
  const { rtol, atol, equalNan } = tolerances(options, fn);
  const lines = [
    `${head}${report.mismatches} of ${report.size} elements are not close (rtol ${rtol}, atol ${atol}${equalNan ? ", NaN equals NaN" : ""}); shape ${shapeStr(report.shape)}`,
    `  worst ${describeElement(report.worst!)}`,
  ];
  if (report.first !== null && at(report.first.index) !== at(report.worst!.index)) lines.push(`  first ${describeElement(report.first)}`);
  throw new AssertionError(lines.join("\n"));
}

/**
 * Throw an `AssertionError` unless every element of `t` is finite (no NaN, +∞ or −∞). The
 * message gives the count, the first offending index and its value.
 *
 * @example assertFinite(logits.grad!, { name: "logits.grad" })
 */
export function assertFinite(t: Comparable, options: { name?: string } = {}): void {
  const fn = "assertFinite";
  const x = asTensor(t, fn, "t");
  const values = x.copyData();
  let count = 0;
  let firstAt = -1;
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) {
      count++;
      if (firstAt < 0) firstAt = i;
    }
  }
  if (count === 0) return;
  const index = new Array<number>(x.ndim).fill(0);
  for (let d = x.ndim - 1, f = firstAt; d >= 0; d--) {
    index[d] = f % x.shape[d]!;
    f = Math.floor(f / x.shape[d]!);
  }
  const name = options.name ?? "the tensor";
  throw new AssertionError(`${fn}: ${name} ${shapeStr(x.shape)} has ${count} non-finite of ${values.length} elements; the first at ${at(index)} is ${values[firstAt]}`);
}
