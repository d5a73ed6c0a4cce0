import { Tensor } from "../tensor/tensor.js";
import { DTypeError, KdgradError, ShapeError, ValueError, namedError } from "../tensor/errors.js";
import type { TensorLike } from "../tensor/creation.js";
import { broadcastShapes } from "../tensor/broadcast.js";
import { describeValue, shapeStr } from "../tensor/shape.js";
import { checkOptions } from "../tensor/options.js";

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

/** A compared value as its shape and its values in row-major order (float64, so nothing is rounded). */
interface Values {
  shape: number[];
  data: ArrayLike<number>;
}

/**
 * Read a Comparable: a Tensor (any dtype, any view), a number, or nested arrays of numbers
 * (rectangular). Anything else is refused under `fn`, the function the user called: a wrong
 * type with a DTypeError, ragged nesting with a ShapeError.
 */
function valuesOf(v: unknown, fn: string, arg: string): Values {
  if (v instanceof Tensor) return { shape: [...v.shape], data: v.copyData() };
  if (typeof v === "number") return { shape: [], data: [v] };
  if (!Array.isArray(v)) throw new DTypeError(`${fn}: ${arg} must be a Tensor, a number or nested arrays of numbers, got ${describeValue(v)}`);
  const flat: number[] = [];
  const walk = (x: unknown, depth: number): number[] => {
    if (typeof x === "number") {
      flat.push(x);
      return [];
    }
    if (!Array.isArray(x)) throw new DTypeError(`${fn}: ${arg} must hold only numbers and arrays, got ${describeValue(x)} at depth ${depth}`);
    if (x.length === 0) return [0];
    let inner: number[] | null = null;
    for (const item of x) {
      const s = walk(item, depth + 1);
      if (inner === null) inner = s;
      else if (s.length !== inner.length || s.some((d, i) => d !== inner![i])) {
        throw new ShapeError(`${fn}: ${arg} is ragged (${shapeStr(inner)} and ${shapeStr(s)} at depth ${depth + 1})`);
      }
    }
    return [x.length, ...inner!];
  };
  return { shape: walk(v, 0), data: flat };
}

const CLOSE_KEYS = ["rtol", "atol", "equalNan"] as const;
const ASSERT_CLOSE_KEYS = ["rtol", "atol", "equalNan", "name"] as const;

/**
 * The tolerances, checked through the options checker (unknown keys and nulls refused): rtol
 * and atol finite and ≥ 0 (a NaN or ∞ tolerance passes anything), equalNan a boolean, and for
 * the assertions `name` a string.
 */
function tolerances(options: unknown, fn: string, withName: boolean): { rtol: number; atol: number; equalNan: boolean; name: string | undefined } {
  const o = checkOptions(options as AssertCloseOptions | undefined, fn, withName ? ASSERT_CLOSE_KEYS : CLOSE_KEYS);
  const nonNegative = (v: unknown, key: string, fallback: number): number => {
    if (v === undefined) return fallback;
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new ValueError(`${fn}: ${key} must be a finite number >= 0, got ${describeValue(v)}`);
    return v;
  };
  if (o.equalNan !== undefined && typeof o.equalNan !== "boolean") throw new ValueError(`${fn}: equalNan must be true or false, got ${describeValue(o.equalNan)}`);
  if (o.name !== undefined && typeof o.name !== "string") throw new ValueError(`${fn}: name must be a string, got ${describeValue(o.name)}`);
  return { rtol: nonNegative(o.rtol, "rtol", 1e-5), atol: nonNegative(o.atol, "atol", 1e-8), equalNan: o.equalNan ?? false, name: o.name };
}

/**
 * Compare `actual` with `expected` element by element, NumPy's `isclose`:
 *   |actual − expected| ≤ atol + rtol·|expected|,
 * with infinities close only to an infinity of the same sign, and NaN close to NaN only with
 * `equalNan`. The two broadcast against each other (ShapeError when they cannot). Values are
 * compared in float64, whatever the dtypes. Bad input is refused as `allClose` refuses it.
 *
 * @example closeReport(student.grad!, expected, { rtol: 1e-6 }).worst
 */
export function closeReport(actual: Comparable, expected: Comparable, options?: CloseOptions): CloseReport {
  const t = tolerances(options, "closeReport", false);
  return compare(valuesOf(actual, "closeReport", "actual"), valuesOf(expected, "closeReport", "expected"), t, "closeReport");
}

/** closeReport's body, for values already read; `fn` names the public function in a ShapeError. */
function compare(a: Values, b: Values, { rtol, atol, equalNan }: { rtol: number; atol: number; equalNan: boolean }, fn: string): CloseReport {
  const shape = broadcastShapes(a.shape, b.shape, fn);
  const av = a.data;
  const bv = b.data;
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
 * Bad input is refused, never read as "not close": a value that is not a Tensor, a number or
 * rectangular nested arrays of numbers is a DTypeError (ShapeError when ragged), shapes that do
 * not broadcast are a ShapeError, a tolerance that is negative, NaN or ∞, an unknown option or
 * a null one a ValueError.
 *
 * @example allClose(logSoftmax(x.add(3), -1), logSoftmax(x, -1), { rtol: 1e-12, atol: 1e-12 })
 */
export function allClose(a: Comparable, b: Comparable, options?: CloseOptions): boolean {
  const t = tolerances(options, "allClose", false);
  return compare(valuesOf(a, "allClose", "a"), valuesOf(b, "allClose", "b"), t, "allClose").ok;
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
 * with its index and both values, and the first one. Bad input is refused as `allClose`
 * refuses it (before anything is compared).
 *
 * @example assertClose(logits.grad!, expectedGrad, { rtol: 1e-10, atol: 1e-12, name: "logits.grad" })
 */
export function assertClose(actual: Comparable, expected: Comparable, options?: AssertCloseOptions): void {
  assertCloseAs(actual, expected, options, "assertClose");
}

/**
 * assertClose's body; `fn` is the public function the user called (assertClose, or the vitest
 * matcher toBeCloseTensor), named in refusals and at the head of the failure message.
 */
export function assertCloseAs(actual: unknown, expected: unknown, options: unknown, fn: string): void {
  const { rtol, atol, equalNan, name } = tolerances(options, fn, true);
  const a = valuesOf(actual, fn, "actual");
  const b = valuesOf(expected, fn, "expected");
  const head = `${fn}: ${name === undefined ? "" : `${name}: `}`;
  if (typeof expected !== "number" && shapeStr(a.shape) !== shapeStr(b.shape)) {
    throw new AssertionError(`${head}actual has shape ${shapeStr(a.shape)} but expected has shape ${shapeStr(b.shape)}`);
  }
  const report = compare(a, b, { rtol, atol, equalNan }, fn);
  if (report.ok) return;
  const lines = [
    `${head}${report.mismatches} of ${report.size} elements are not close (rtol ${rtol}, atol ${atol}${equalNan ? ", NaN equals NaN" : ""}); shape ${shapeStr(report.shape)}`,
    `  worst ${describeElement(report.worst!)}`,
  ];
  if (report.first !== null && at(report.first.index) !== at(report.worst!.index)) lines.push(`  first ${describeElement(report.first)}`);
  throw new AssertionError(lines.join("\n"));
}

/** closeReport under another public name (the vitest matcher's `.not`). */
export function closeReportAs(actual: unknown, expected: unknown, options: unknown, fn: string): CloseReport {
  const t = tolerances(options, fn, true);
  return compare(valuesOf(actual, fn, "actual"), valuesOf(expected, fn, "expected"), t, fn);
}

/**
 * Throw an `AssertionError` unless every element of `t` is finite (no NaN, +∞ or −∞). The
 * message gives the count, the first offending index and its value. `t` is read as
 * `allClose` reads its arguments; `name` (a string) heads the message.
 *
 * @example assertFinite(logits.grad!, { name: "logits.grad" })
 */
export function assertFinite(t: Comparable, options?: { name?: string }): void {
  const fn = "assertFinite";
  const o = checkOptions(options, fn, ["name"]);
  if (o.name !== undefined && typeof o.name !== "string") throw new ValueError(`${fn}: name must be a string, got ${describeValue(o.name)}`);
  const x = valuesOf(t, fn, "t");
  const values = x.data;
  let count = 0;
  let firstAt = -1;
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) {
      count++;
      if (firstAt < 0) firstAt = i;
    }
  }
  if (count === 0) return;
  const index = new Array<number>(x.shape.length).fill(0);
  for (let d = x.shape.length - 1, f = firstAt; d >= 0; d--) {
    index[d] = f % x.shape[d]!;
    f = Math.floor(f / x.shape[d]!);
  }
  const name = o.name ?? "the tensor";
  throw new AssertionError(`${fn}: ${name} ${shapeStr(x.shape)} has ${count} non-finite of ${values.length} elements; the first at ${at(index)} is ${values[firstAt]}`);
}
