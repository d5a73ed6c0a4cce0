import fc from "fast-check";
import { Tensor } from "../tensor/tensor.js";
import { tensor } from "../tensor/creation.js";
import type { DType } from "../tensor/dtype.js";
import { ValueError } from "../tensor/errors.js";
import { MAX_ELEMENTS, describeValue } from "../tensor/shape.js";
import { checkFloatTensor, checkTensor } from "../tensor/tensor.js";
import { checkOptions } from "../tensor/options.js";
import { transpose } from "../ops/transpose.js";
import { slice } from "../ops/slice.js";
import { expand } from "../ops/expand.js";
import { TEMPERATURE_MAX, TEMPERATURE_MIN } from "../losses/checks.js";

/**
 * fast-check arbitraries for tensors, shapes and the inputs of losses. Every value is drawn
 * by fast-check itself (never from a seed handed to another generator), so a failing
 * property shrinks all the way: shapes towards rank 0 and size 1, values towards 0,
 * masks and ties towards none, temperatures towards 1. A drawn tensor prints as code that
 * rebuilds it exactly (`tensor([[0.5, -Infinity]], { dtype: "float64" })`), so a
 * counterexample can be pasted into a test.
 */

/** Bounds of a shape. */
export interface ShapeOptions {
  /** Fewest axes. Default 0 (a scalar). */
  minRank?: number;
  /** Most axes. Default 3. */
  maxRank?: number;
  /** Smallest size of an axis. Default 1 (0 allows empty tensors). */
  minDim?: number;
  /** Largest size of an axis. Default 4. */
  maxDim?: number;
}

/**
 * An integer bound of an arbitrary: at least `min` and at most 2³¹ − 1, the largest integer
 * fast-check draws (and the most elements a tensor may hold), so that a bound is refused here,
 * naming the function, rather than by fast-check in the middle of a test run.
 */
export const int = (v: unknown, fn: string, arg: string, min: number, fallback: number): number => {
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > MAX_ELEMENTS) {
    throw new ValueError(`${fn}: ${arg} must be an integer in [${min}, 2^31 - 1], got ${describeValue(v)}`);
  }
  return v;
};

/** A boolean option (absent: `fallback`). */
export const bool = (v: unknown, fn: string, arg: string, fallback: boolean): boolean => {
  if (v === undefined) return fallback;
  if (typeof v !== "boolean") throw new ValueError(`${fn}: ${arg} must be true or false, got ${describeValue(v)}`);
  return v;
};

/**
 * The most elements a drawn tensor may hold is what a tensor may hold, 2³¹ − 1: bounds that
 * allow more are refused when the arbitrary is made (a shape drawn over the limit would
 * otherwise fail a test run long after the mistake).
 */
function checkLargest(largest: number, fn: string, what: string): void {
  if (!(largest <= MAX_ELEMENTS)) {
    throw new ValueError(`${fn}: ${what} may hold ${largest} elements, more than a tensor can (2^31 - 1); lower the bounds`);
  }
}

const SHAPE_KEYS = ["minRank", "maxRank", "minDim", "maxDim"] as const;

function shapeBounds(o: ShapeOptions, fn: string): { minRank: number; maxRank: number; minDim: number; maxDim: number } {
  const minRank = int(o.minRank, fn, "minRank", 0, 0);
  const maxRank = int(o.maxRank, fn, "maxRank", 0, Math.max(3, minRank));
  const minDim = int(o.minDim, fn, "minDim", 0, 1);
  const maxDim = int(o.maxDim, fn, "maxDim", 0, Math.max(4, minDim));
  if (maxRank < minRank) throw new ValueError(`${fn}: maxRank ${maxRank} is below minRank ${minRank}`);
  if (maxDim < minDim) throw new ValueError(`${fn}: maxDim ${maxDim} is below minDim ${minDim}`);
  return { minRank, maxRank, minDim, maxDim };
}

/**
 * Shapes with minRank to maxRank axes, each of size minDim to maxDim (defaults: rank 0–3,
 * sizes 1–4). Shrinks towards fewer and smaller axes.
 *
 * @example fc.assert(fc.property(shapes({ minRank: 1 }), (s) => zeros(s).size === s.reduce((a, b) => a * b, 1)))
 */
export function shapes(options?: ShapeOptions): fc.Arbitrary<number[]> {
  const { minRank, maxRank, minDim, maxDim } = shapeBounds(checkOptions(options, "shapes", SHAPE_KEYS), "shapes");
  return fc.array(fc.integer({ min: minDim, max: maxDim }), { minLength: minRank, maxLength: maxRank });
}

/**
 * Pairs of shapes that broadcast together, as NumPy and kdgrad broadcast: both are drawn
 * from one full shape by dropping some leading axes and setting some axes to 1, each side
 * independently (so either side, or both, may broadcast). Their broadcast is the full shape
 * or a part of it. Shrinks towards equal shapes.
 *
 * @example fc.property(broadcastPairs(), ([a, b]) => add(zeros(a), zeros(b)).ndim === Math.max(a.length, b.length))
 */
export function broadcastPairs(options?: ShapeOptions): fc.Arbitrary<[number[], number[]]> {
  const { minRank, maxRank, minDim, maxDim } = shapeBounds(checkOptions(options, "broadcastPairs", SHAPE_KEYS), "broadcastPairs");
  const side = fc.record({
    drop: fc.integer({ min: 0, max: maxRank }),
    ones: fc.array(fc.boolean(), { minLength: maxRank, maxLength: maxRank }),
  });
  return fc
    .tuple(fc.array(fc.integer({ min: minDim, max: maxDim }), { minLength: minRank, maxLength: maxRank }), side, side)
    .map(([full, a, b]) => {
      const make = ({ drop, ones }: { drop: number; ones: boolean[] }): number[] => {
        const kept = full.slice(Math.min(drop, Math.max(0, full.length - minRank)));
        const off = full.length - kept.length;
        return kept.map((d, i) => (ones[off + i] ? 1 : d));
      };
      return [make(a), make(b)] as [number[], number[]];
    });
}

/** Options of `tensors` and of the views made from them. */
export interface TensorArbOptions extends ShapeOptions {
  /** A fixed shape, or an arbitrary of shapes. Default `shapes(options)`. */
  shape?: readonly number[] | fc.Arbitrary<number[]>;
  /** Default "float64". float32 values are the float64 draws rounded; int32 values are integers in [min, max]. */
  dtype?: DType;
  /** Value range. Default [−10, 10]. Both ends are drawn often (fast-check biases towards bounds and 0). */
  min?: number;
  max?: number;
  /** Points to stay away from (kinks: 0 for relu or abs), by at least `margin`. */
  awayFrom?: readonly number[];
  /** Distance from the `awayFrom` points. Default 1e-2. */
  margin?: number;
  /** Make the tensor a leaf that requires grad. Default false. */
  requiresGrad?: boolean;
}

/** A number as code: -0, ±Infinity and NaN spelled as JavaScript reads them. */
const literal = (x: number): string => (Object.is(x, -0) ? "-0" : String(x));

/**
 * Give a drawn tensor fast-check's printing: code that rebuilds it exactly (the values at full
 * precision, the dtype, requiresGrad, and the shape when the nested arrays cannot say it, as
 * for a [0, 3] tensor), instead of a rounded table. Calling it again is harmless.
 */
export function printable<T extends Tensor>(t: T): T {
  checkTensor(t, "printable", "t");
  Object.defineProperty(t, fc.toStringMethod, {
    value: () => {
      const nested = (v: unknown): string => (Array.isArray(v) ? `[${v.map(nested).join(",")}]` : literal(v as number));
      const text = nested(t.toArray());
      const shape = t.size === 0 && t.ndim > 1 ? `shape: [${t.shape.join(", ")}], ` : "";
      return `tensor(${text}, { ${shape}dtype: "${t.dtype}"${t.requiresGrad ? ", requiresGrad: true" : ""} })`;
    },
    enumerable: false,
    configurable: true,
  });
  return t;
}

const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * The values of `tensors` and `views`, in [min, max] for the dtype, away from the `awayFrom`
 * points by `margin` (both checked here: an empty range, a bound a float32 cannot hold, an int32
 * range with no integer or outside int32, or points whose margins cover the whole range).
 */
function valueArb(o: TensorArbOptions, fn: string): fc.Arbitrary<number> {
  const dtype = o.dtype ?? "float64";
  if (dtype !== "float64" && dtype !== "float32" && dtype !== "int32") throw new ValueError(`${fn}: dtype must be "float64", "float32" or "int32", got ${describeValue(dtype)}`);
  const min = o.min ?? -10;
  const max = o.max ?? 10;
  if (typeof min !== "number" || typeof max !== "number" || !(min <= max) || !Number.isFinite(min) || !Number.isFinite(max)) {
    throw new ValueError(`${fn}: min and max must be finite numbers with min <= max, got ${describeValue(min)} and ${describeValue(max)}`);
  }
  if (dtype === "float32" && !(Math.abs(min) <= FLOAT32_MAX && Math.abs(max) <= FLOAT32_MAX)) {
    throw new ValueError(`${fn}: float32 values must lie within ±3.4028234663852886e38, got min ${min} and max ${max}`);
  }
  if (dtype === "int32") {
    const lo = Math.ceil(min);
    const hi = Math.floor(max);
    if (!(lo <= hi && lo >= -2147483648 && hi <= 2147483647)) {
      throw new ValueError(`${fn}: int32 values need an integer in [min, max] within [-2^31, 2^31 - 1], got min ${min} and max ${max}`);
    }
    if (o.awayFrom !== undefined || o.margin !== undefined) throw new ValueError(`${fn}: awayFrom and margin are for float dtypes, not int32`);
    return fc.integer({ min: lo, max: hi });
  }
  const margin = o.margin ?? 1e-2;
  if (typeof margin !== "number" || !Number.isFinite(margin) || margin < 0) throw new ValueError(`${fn}: margin must be a finite number >= 0, got ${describeValue(margin)}`);
  const away = o.awayFrom ?? [];
  if (!Array.isArray(away) || !away.every((k) => typeof k === "number" && Number.isFinite(k))) {
    throw new ValueError(`${fn}: awayFrom must be a list of finite numbers, got ${describeValue(away)}`);
  }
  // fc.double wants min < max (and orders −0 below 0): a single value is a constant.
  const base = min === max ? fc.constant(min) : fc.double({ min, max, noNaN: true });
  if (away.length === 0 || margin === 0) return base;
  // The allowed set: [min, max] without the open intervals (k − margin, k + margin), as closed
  // intervals. A draw is moved to the nearest allowed point: a map, not a filter, so no draw is
  // thrown away and shrinking still works (and a value stays in [min, max], on the near side of
  // a point when that side is in range).
  let allowed: [number, number][] = [[min, max]];
  for (const k of [...away].sort((x, y) => x - y)) {
    allowed = allowed.flatMap(([a, b]): [number, number][] => {
      const lo = k - margin;
      const hi = k + margin;
      if (hi <= a || lo >= b) return [[a, b]];
      return [...(lo >= a ? [[a, lo] as [number, number]] : []), ...(hi <= b ? [[hi, b] as [number, number]] : [])];
    });
  }
  if (allowed.length === 0) throw new ValueError(`${fn}: no value of [${min}, ${max}] is at least ${margin} away from ${describeValue(away)}`);
  return base.map((v) => {
    let best = v;
    let dist = Infinity;
    for (const [a, b] of allowed) {
      const c = Math.min(b, Math.max(a, v));
      if (Math.abs(c - v) < dist) {
        dist = Math.abs(c - v);
        best = c;
      }
    }
    return best;
  });
}

const sizeOf = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** A tensor of `shape` from drawn values. */
function build(shape: readonly number[], values: number[], dtype: DType, requiresGrad: boolean): Tensor {
  return printable(tensor(values, { shape, dtype, requiresGrad }));
}

const TENSOR_KEYS = [...SHAPE_KEYS, "shape", "dtype", "min", "max", "awayFrom", "margin", "requiresGrad"] as const;

/**
 * Tensors of a dtype (default float64) with values in [min, max] (default [−10, 10]), of a
 * fixed shape or of shapes drawn by `shapes(options)`. Values come from fast-check, so a
 * failing case shrinks to small shapes and simple values. float32 values are the float64
 * draws rounded to float32, so they may sit half an ulp outside non-float32 bounds.
 *
 * @example fc.property(tensors({ min: -5, max: 5, requiresGrad: true }), (x) => { assertGradcheck(tanh, [x]); })
 */
export function tensors(options?: TensorArbOptions): fc.Arbitrary<Tensor> {
  const fn = "tensors";
  const o = checkOptions(options, fn, TENSOR_KEYS);
  const value = valueArb(o, fn);
  const dtype = o.dtype ?? "float64";
  const requiresGrad = bool(o.requiresGrad, fn, "requiresGrad", false);
  if (requiresGrad && dtype === "int32") throw new ValueError(`${fn}: an int32 tensor cannot require grad`);
  const shapeArb = shapeArbOf(o, fn);
  return shapeArb.chain((shape) =>
    fc.array(value, { minLength: sizeOf(shape), maxLength: sizeOf(shape) }).map((values) => build(shape, values, dtype, requiresGrad)));
}

/**
 * The shapes of `tensors` and `views`: a fixed list (non-negative integers, at most 2³¹ − 1
 * elements in all), a user's arbitrary of shapes (each drawn shape checked the same way), or
 * `shapes(options)`, whose largest shape must fit a tensor.
 */
function shapeArbOf(o: TensorArbOptions, fn: string): fc.Arbitrary<number[]> {
  const bounds = shapeBounds(o, fn);
  const s = o.shape;
  const checkShape = (shape: unknown, what: string): number[] => {
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0) || !(sizeOf(shape) <= MAX_ELEMENTS)) {
      throw new ValueError(`${fn}: ${what} must be a list of non-negative integers holding at most 2^31 - 1 elements, got ${describeValue(shape)}`);
    }
    return [...shape];
  };
  if (s === undefined) {
    checkLargest(bounds.maxDim ** bounds.maxRank, fn, `shapes of up to ${bounds.maxRank} axes of size up to ${bounds.maxDim}`);
    return shapes({ minRank: bounds.minRank, maxRank: bounds.maxRank, minDim: bounds.minDim, maxDim: bounds.maxDim });
  }
  if (Array.isArray(s)) return fc.constant(checkShape(s, "shape"));
  if (s instanceof fc.Arbitrary) return (s as fc.Arbitrary<unknown>).map((drawn) => checkShape(drawn, "a shape drawn from the shape arbitrary"));
  throw new ValueError(`${fn}: shape must be a list of sizes or an arbitrary of shapes, got ${describeValue(s)}`);
}

/** How a view reads its base. */
export type ViewKind = "transposed" | "sliced" | "expanded";

/** A non-contiguous view and how it was made. */
export interface TensorView {
  kind: ViewKind;
  /** The tensor that owns the storage (a leaf, requiring grad if asked). */
  base: Tensor;
  /** The view of `base`: same values as a contiguous tensor of its shape would hold, other strides. */
  view: Tensor;
  /** The same view of another tensor of base's shape: for gradcheck, `(b) => f(v.of(b))` with `[v.base]`. */
  of(base: Tensor): Tensor;
}

/**
 * Non-contiguous views of drawn tensors, of the shapes `shapes(options)` draws (or `shape`):
 * - "transposed": the last two axes of a base swapped back (rank ≥ 2; a vector is sliced instead),
 * - "sliced": every second element of the last axis of a base twice as long, from offset 1,
 * - "expanded": a base with some axes of size 1 expanded to the shape, and a leading axis of
 *   size 2 added, so the view is [2, ...shape] and always has a stride 0 (a gradient through it
 *   sums the repeated elements).
 * A scalar shape has no axis to transpose or slice: its view is always expanded. Options are
 * checked as `tensors` checks them, and `kinds` must be a non-empty list of the three.
 * `view` holds the values and `of` rebuilds the same view from another base (to gradcheck).
 *
 * @example fc.property(views({ requiresGrad: true }), (v) => { assertGradcheck((b) => softmax(v.of(b), -1), [v.base]); })
 */
export function views(options?: TensorArbOptions & { kinds?: readonly ViewKind[] }): fc.Arbitrary<TensorView> {
  const fn = "views";
  const o = checkOptions(options, fn, [...TENSOR_KEYS, "kinds"]);
  const kinds = o.kinds ?? ["transposed", "sliced", "expanded"];
  if (!Array.isArray(kinds) || kinds.length === 0 || !kinds.every((k) => k === "transposed" || k === "sliced" || k === "expanded")) {
    throw new ValueError(`${fn}: kinds must be a non-empty list of "transposed", "sliced" and "expanded", got ${describeValue(kinds)}`);
  }
  const value = valueArb(o, fn);
  const dtype = o.dtype ?? "float64";
  const requiresGrad = bool(o.requiresGrad, fn, "requiresGrad", false);
  if (requiresGrad && dtype === "int32") throw new ValueError(`${fn}: an int32 tensor cannot require grad`);
  const shapeArb = shapeArbOf(o, fn);
  return fc.tuple(shapeArb, fc.constantFrom(...kinds), fc.array(fc.boolean(), { minLength: 8, maxLength: 8 })).chain(([shape, wanted, ones]) => {
    const n = shape.length;
    // A scalar has no axis to transpose or slice: it is expanded; a vector is sliced instead of transposed.
    const kind: ViewKind = n === 0 ? "expanded" : wanted === "transposed" && n < 2 ? "sliced" : wanted;
    let baseShape: number[];
    let of: (b: Tensor) => Tensor;
    if (kind === "transposed") {
      baseShape = [...shape];
      [baseShape[n - 2], baseShape[n - 1]] = [shape[n - 1]!, shape[n - 2]!];
      of = (b) => transpose(b, -2, -1);
    } else if (kind === "sliced") {
      baseShape = [...shape];
      baseShape[n - 1] = 2 * shape[n - 1]! + 1;
      of = (b) => slice(b, -1, 1, undefined, 2);
    } else {
      // Axes of size 1 in the base, expanded to the shape; a leading axis is added, expanded to 2.
      baseShape = [1, ...shape.map((d, i) => (ones[i % 8] ? 1 : d))];
      of = (b) => expand(b, [2, ...shape]);
    }
    if (!(sizeOf(baseShape) <= MAX_ELEMENTS)) throw new ValueError(`${fn}: the base of a ${kind} view of shape [${shape.join(", ")}] would hold more than 2^31 - 1 elements`);
    return fc.array(value, { minLength: sizeOf(baseShape), maxLength: sizeOf(baseShape) }).map((values): TensorView => {
      const base = build(baseShape, values, dtype, requiresGrad);
      const view = of(base);
      return {
        kind, base, view, of,
        [fc.toStringMethod]: () => `${kind} view ${JSON.stringify([...view.shape])} of ${fc.stringify(base)}`,
      } as TensorView;
    });
  });
}

/** Bounds of a batch of rows of class scores: [B, C]. */
export interface RowOptions {
  /** Rows B: fewest and most. Default 1 to 4. */
  minRows?: number;
  maxRows?: number;
  /** Classes C: fewest and most. Default 2 to 8. */
  minClasses?: number;
  maxClasses?: number;
  /** A fixed [B, C] instead. */
  shape?: readonly [number, number];
  /** Default "float64". */
  dtype?: "float64" | "float32";
  /** Make the tensor a leaf that requires grad. Default false. */
  requiresGrad?: boolean;
}

const ROW_KEYS = ["minRows", "maxRows", "minClasses", "maxClasses", "shape", "dtype", "requiresGrad"] as const;

/** [B, C]: the fixed `shape`, or drawn within the bounds (checked either way; B·C at most 2³¹ − 1). */
export function rowShape(o: RowOptions, fn: string, what = ""): fc.Arbitrary<[number, number]> {
  const minRows = int(o.minRows, fn, `${what}minRows`, 1, 1);
  const maxRows = int(o.maxRows, fn, `${what}maxRows`, 1, Math.max(4, minRows));
  const minClasses = int(o.minClasses, fn, `${what}minClasses`, 1, 2);
  const maxClasses = int(o.maxClasses, fn, `${what}maxClasses`, 1, Math.max(8, minClasses));
  if (maxRows < minRows || maxClasses < minClasses) {
    throw new ValueError(`${fn}: the most rows and classes must be at least the fewest, got rows ${minRows}…${maxRows} and classes ${minClasses}…${maxClasses}`);
  }
  if (o.shape !== undefined) {
    const s = o.shape;
    if (!Array.isArray(s) || s.length !== 2 || !s.every((d) => Number.isInteger(d) && d >= 1) || !(s[0] * s[1] <= MAX_ELEMENTS)) {
      throw new ValueError(`${fn}: ${what}shape must be [rows, classes] of positive integers (at most 2^31 - 1 elements), got ${describeValue(s)}`);
    }
    return fc.constant([s[0], s[1]] as [number, number]);
  }
  checkLargest(maxRows * maxClasses, fn, `${maxRows} rows of ${maxClasses} classes`);
  return fc.tuple(fc.integer({ min: minRows, max: maxRows }), fc.integer({ min: minClasses, max: maxClasses }));
}

function rowDtype(o: RowOptions, fn: string): "float64" | "float32" {
  const d = o.dtype ?? "float64";
  if (d !== "float64" && d !== "float32") throw new ValueError(`${fn}: dtype must be "float64" or "float32", got ${describeValue(d)}`);
  return d;
}

/** Options of `logits`. */
export interface LogitOptions extends RowOptions {
  /** Largest |logit|: values are drawn from [−maxAbs, maxAbs]. Default 10; use 1e4 for the extremes a loss must survive. */
  maxAbs?: number;
  /** Mask some classes with −∞ (every row keeps at least one finite class). Default false. */
  masked?: boolean;
  /** Copy some entries onto others in the same row, so rows have exact ties (at the maximum too). Default false. */
  ties?: boolean;
}

/**
 * Rows of logits, [B, C] (default B in 1–4, C in 2–8, float64), values in [−maxAbs, maxAbs]
 * (default 10; fast-check draws both bounds and 0 often, so maxAbs: 1e4 gives rows like
 * [1e4, −1e4, 0]). With `masked`, some classes are −∞ (never a whole row); with `ties`,
 * some entries repeat others of their row exactly. Shrinks towards one row of two zeros.
 *
 * @example fc.property(logits({ maxAbs: 1e4, masked: true }), (x) => { assertFinite(logSoftmax(x, -1).exp()); })
 */
export function logits(options?: LogitOptions): fc.Arbitrary<Tensor> {
  const fn = "logits";
  const o = checkOptions(options, fn, [...ROW_KEYS, "maxAbs", "masked", "ties"]);
  const maxAbs = o.maxAbs ?? 10;
  const dtype = rowDtype(o, fn);
  if (typeof maxAbs !== "number" || !Number.isFinite(maxAbs) || maxAbs < 0 || (dtype === "float32" && maxAbs > FLOAT32_MAX)) {
    throw new ValueError(`${fn}: maxAbs must be a finite number >= 0${dtype === "float32" ? " that float32 holds (<= 3.4028234663852886e38)" : ""}, got ${describeValue(maxAbs)}`);
  }
  const requiresGrad = bool(o.requiresGrad, fn, "requiresGrad", false);
  const masked = bool(o.masked, fn, "masked", false);
  const ties = bool(o.ties, fn, "ties", false);
  const shape = rowShape(o, fn);
  // One draw in four is 0 or ±maxAbs exactly: fast-check's own bias reaches the bounds rarely,
  // and rows like [1e4, −1e4, 0] are the ones a loss must survive.
  const logit = fc.oneof(
    { arbitrary: fc.double({ min: -maxAbs, max: maxAbs, noNaN: true }), weight: 3 },
    { arbitrary: fc.constantFrom(0, maxAbs, -maxAbs), weight: 1 },
  );
  return shape.chain(([b, c]) => {
    const n = b * c;
    return fc.record({
      values: fc.array(logit, { minLength: n, maxLength: n }),
      mask: masked ? fc.array(fc.boolean(), { minLength: n, maxLength: n }) : fc.constant(null),
      ties: ties ? fc.array(fc.option(fc.nat(c - 1), { nil: null }), { minLength: n, maxLength: n }) : fc.constant(null),
    }).map(({ values, mask, ties: tied }) => {
      const v = [...values];
      if (tied !== null) {
        for (let i = 0; i < n; i++) {
          const j = tied[i];
          if (j !== null && j !== undefined) v[i] = values[Math.floor(i / c) * c + j]!;
        }
      }
      if (mask !== null) {
        for (let r = 0; r < b; r++) {
          // Keep the row's first unmasked class; a row masked everywhere keeps class 0.
          const row = mask.slice(r * c, r * c + c);
          const keep = row.includes(false) ? -1 : 0;
          for (let k = 0; k < c; k++) if (row[k] && k !== keep) v[r * c + k] = -Infinity;
        }
      }
      return build([b, c], v, dtype, requiresGrad);
    });
  });
}

/** Options of `probabilities`. */
export interface ProbabilityOptions extends RowOptions {
  /** Let some probabilities be exactly 0 (never a whole row). Default true. */
  zeros?: boolean;
  /** How peaked rows may be: weights are exp(z) with z in [−spread, 0]. Default 30; at most 700 in float64, 80 in float32 (so that no weight rounds to 0). */
  spread?: number;
}

/**
 * Rows on the probability simplex, [B, C] (default B in 1–4, C in 2–8): non-negative,
 * each summing to 1 to within C rounding errors, from flat to sharply peaked (weights
 * exp(z), z ∈ [−spread, 0], normalised), with exact zeros unless `zeros: false` (one-hot
 * rows among them). Shrinks towards uniform rows.
 *
 * @example fc.property(logits(), probabilities(), (x, p) => klDiv(logSoftmax(x, -1), p).item() >= 0)
 */
export function probabilities(options?: ProbabilityOptions): fc.Arbitrary<Tensor> {
  const fn = "probabilities";
  const o = checkOptions(options, fn, [...ROW_KEYS, "zeros", "spread"]);
  const spread = o.spread ?? 30;
  const dtype = rowDtype(o, fn);
  // The smallest weight is e^−spread and a row sums to at most C ≤ 2³¹, so the smallest
  // probability is ≥ e^−spread·2⁻³¹: nonzero in float64 up to spread 700 (≥ 4.6e-314, above the
  // least subnormal 4.9e-324), in float32 up to 80 (≥ 8.4e-45, above its least subnormal
  // 1.4e-45). Beyond, `zeros: false` could not hold: the rounding would make zeros.
  const most = dtype === "float32" ? 80 : 700;
  if (typeof spread !== "number" || !Number.isFinite(spread) || spread < 0 || spread > most) {
    throw new ValueError(`${fn}: spread must be a number in [0, ${most}] for ${dtype} (beyond, the smallest weights round to 0), got ${describeValue(spread)}`);
  }
  const zeros = bool(o.zeros, fn, "zeros", true);
  const requiresGrad = bool(o.requiresGrad, fn, "requiresGrad", false);
  const shape = rowShape(o, fn);
  return shape.chain(([b, c]) => {
    const n = b * c;
    return fc.record({
      z: fc.array(fc.double({ min: -spread, max: 0, noNaN: true }), { minLength: n, maxLength: n }),
      zero: zeros ? fc.array(fc.boolean(), { minLength: n, maxLength: n }) : fc.constant(null),
    }).map(({ z, zero }) => {
      const p = new Array<number>(n);
      for (let r = 0; r < b; r++) {
        const row = zero?.slice(r * c, r * c + c);
        const keep = row === undefined || row.includes(false) ? -1 : 0;
        let sum = 0;
        for (let k = 0; k < c; k++) {
          const w = row !== undefined && row[k] && k !== keep ? 0 : Math.exp(z[r * c + k]!);
          p[r * c + k] = w;
          sum += w;
        }
        for (let k = 0; k < c; k++) p[r * c + k]! /= sum;
      }
      return build([b, c], p, dtype, requiresGrad);
    });
  });
}

/**
 * Class labels for a tensor of logits [..., C]: an int32 tensor of the leading shape, each
 * label in [0, C). Unless `allowMasked`, a label never falls on a class whose logit is −∞ (its
 * cross-entropy would be +∞). Shrinks towards the first allowed class.
 *
 * @example fc.property(logits({ masked: true }).chain((x) => labelsFor(x).map((y) => [x, y] as const)), ([x, y]) => Number.isFinite(crossEntropy(x, y).item()))
 */
export function labelsFor(logitsTensor: Tensor, options?: { allowMasked?: boolean }): fc.Arbitrary<Tensor> {
  const fn = "labelsFor";
  checkFloatTensor(logitsTensor, fn, "logits");
  const allowMasked = bool(checkOptions(options, fn, ["allowMasked"]).allowMasked, fn, "allowMasked", false);
  if (logitsTensor.ndim < 1) throw new ValueError(`${fn}: logits must have a class axis, got a scalar`);
  const c = logitsTensor.shape[logitsTensor.ndim - 1]!;
  if (c < 1) throw new ValueError(`${fn}: logits has no classes (shape [${logitsTensor.shape.join(", ")}])`);
  const lead = logitsTensor.shape.slice(0, -1);
  const rows = sizeOf(lead);
  const x = logitsTensor.copyData();
  const allowed: number[][] = [];
  for (let r = 0; r < rows; r++) {
    const ok: number[] = [];
    for (let k = 0; k < c; k++) if (allowMasked || x[r * c + k] !== -Infinity) ok.push(k);
    allowed.push(ok.length > 0 ? ok : [0]);
  }
  return fc.array(fc.nat(c - 1), { minLength: rows, maxLength: rows }).map((picks) =>
    printable(tensor(picks.map((k, r) => allowed[r]![k % allowed[r]!.length]!), { shape: lead, dtype: "int32" })));
}

/** The temperatures kdgrad's losses accept. */
export const TEMPERATURE_RANGE: readonly [number, number] = Object.freeze([TEMPERATURE_MIN, TEMPERATURE_MAX] as [number, number]);

/** min and max of a temperature range, within what the losses accept (ValueError naming fn; `what` prefixes nested options). */
export function temperatureBounds(o: { min?: number; max?: number }, fn: string, what = ""): { min: number; max: number } {
  const [lo, hi] = TEMPERATURE_RANGE;
  const min = o.min ?? lo;
  const max = o.max ?? hi;
  if (typeof min !== "number" || typeof max !== "number" || !(min >= lo && max <= hi && min <= max)) {
    throw new ValueError(`${fn}: ${what}min and ${what}max must satisfy ${lo} <= min <= max <= ${hi} (the temperatures the losses accept), got ${describeValue(min)} and ${describeValue(max)}`);
  }
  return { min, max };
}

/**
 * Temperatures, log-uniform in [min, max] (default the whole range the library accepts,
 * [1e-6, 1e6]; both ends included). Shrinks towards 1 when 1 is in range.
 *
 * @example fc.property(logits(), logits(), temperatures({ min: 1 }), (s, t, T) => Number.isFinite(distillationLoss(s, t, { temperature: T }).item()))
 */
export function temperatures(options?: { min?: number; max?: number }): fc.Arbitrary<number> {
  const fn = "temperatures";
  const { min, max } = temperatureBounds(checkOptions(options, fn, ["min", "max"]), fn);
  const a = Math.log(min);
  const b = Math.log(max);
  // log T uniform over the range (fc.double draws uniformly over the doubles' bit patterns,
  // which crowds T around 1), from an unbiased integer k: when 1 is in range, log T = k/N of
  // the way from 0 towards log max (k > 0) or log min (k < 0), so T shrinks to 1; otherwise
  // log T = log min + k/N·(log max − log min), shrinking to min. One draw in five is 1 or
  // an end exactly. exp(log T) may round just outside [min, max]: clamped back.
  const N = 2 ** 30;
  const hasOne = a <= 0 && 0 <= b;
  const uniform = fc.noBias(fc.integer({ min: hasOne ? -N : 0, max: N })).map((k) => {
    const e = hasOne ? (k >= 0 ? (b * k) / N : (a * -k) / N) : a + ((b - a) * k) / N;
    return Math.min(max, Math.max(min, k === 0 && hasOne ? 1 : Math.exp(e)));
  });
  const ends = [...(hasOne ? [1] : []), min, max];
  return fc.oneof({ arbitrary: uniform, weight: 4 }, { arbitrary: fc.constantFrom(...ends), weight: 1 });
}
