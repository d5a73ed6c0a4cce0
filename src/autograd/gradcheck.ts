import { Tensor, checkReturned } from "../tensor/tensor.js";
import { KdgradError, ValueError, namedError } from "../tensor/errors.js";
import { Generator } from "../tensor/random.js";
import { enableGrad, noGrad } from "./no-grad.js";
import { gradients } from "./backward.js";
import { concat } from "../ops/concat.js";
import { reshape } from "../ops/reshape.js";
import { zerosLike } from "../tensor/creation.js";
import { checkFunction, checkInt, describeValue, shapeStr } from "../tensor/shape.js";
import { checkOptions } from "../tensor/options.js";

/** Options of `gradcheck` and `gradgradcheck`: the step, the tolerances (absolute, or `relative` to the gradient's size), the seed and the mode's limits. */
export interface GradcheckOptions {
  /** Central-difference step, scaled by max(1, |xⱼ|) per element (by max(1, maxⱼ |xⱼ|) for projections). Default 1e-6. */
  eps?: number;
  /** Absolute tolerance. Default 1e-6. */
  atol?: number;
  /** Relative tolerance (of the finite-difference value). Default 1e-5. */
  rtol?: number;
  /** Seed of the random upstream gradient and projections. Default 0. */
  seed?: number;
  /** Inputs with at most this many elements are checked coordinate by coordinate (the full Jacobian when the output has at most 4× as many elements). Default 64. */
  fullJacobianMax?: number;
  /** Random projections per input in the large case. Default 3. */
  projections?: number;
  /**
   * Measure errors against the size of the whole gradient as well as of each entry: an entry
   * passes when |numeric − backward| ≤ atol + rtol·max(|numeric|, s), s the largest |numeric|
   * of the same kind (Jacobian entries, (Jᵀu) entries or projections) for that input, and atol
   * defaults to 0. Multiplying fn by any c ≠ 0 then leaves the verdict as it was, so a gradient
   * whose entries are all 1e-9 is checked as strictly as one of size 1 (a fixed atol of 1e-6
   * would accept any backward for it). A function whose gradient is exactly 0 everywhere still
   * needs an atol for the differences' rounding noise. Default false.
   */
  relative?: boolean;
}

/** The entry that came closest to failing (or failed worst): its place and both values. */
export interface GradcheckEntry {
  /** "jacobian": J[out, in]; "vjp": (Jᵀu)[in]; "projection": ⟨u, J·v⟩ for the projection-th v. */
  kind: "jacobian" | "vjp" | "projection";
  /** Flat index into the output (kind "jacobian"). */
  out?: number;
  /** Flat index into the input (kinds "jacobian" and "vjp"). */
  in?: number;
  /** Which random direction (kind "projection"). */
  projection?: number;
  /** The central-difference value. */
  numeric: number;
  /** The value from backward. */
  analytic: number;
  /** The error allowed for this entry: atol + rtol·|numeric| (or rtol·max(|numeric|, s) with `relative`). */
  allowed: number;
}

/** What gradcheck found for one checked input: its largest errors, where, and the verdict. */
export interface GradcheckInputReport {
  /** Position of the input among `inputs`. */
  input: number;
  shape: number[];
  maxAbsError: number;
  maxRelError: number;
  /**
   * The pass criterion as a number: the largest |numeric − analytic| / (atol + rtol·|numeric|)
   * over the entries checked; the input passes when it is ≤ 1 (a NaN error counts as ∞, two
   * NaNs as 0). Unlike maxRelError it stays meaningful where the numeric value is nearly 0.
   */
  maxErrorRatio: number;
  /** Where the largest absolute error is: "J[out 3, in 5]", "(Jᵀu)[5]" or "projection 2". */
  where: string;
  /** The entry with the largest error ratio (the one the verdict hinges on), with both values. */
  worst: GradcheckEntry;
  ok: boolean;
}

/** gradcheck's result: the verdict, the mode, one report per checked input, and the seed and tolerances that replay it. */
export interface GradcheckReport {
  ok: boolean;
  mode: "full" | "projection";
  inputs: GradcheckInputReport[];
  seed: number;
  /**
   * The shape of the output compared: fn's (for gradgradcheck, the backward pass's: the
   * gradients of the checked inputs, flattened and joined).
   */
  outputShape: number[];
  /** The tolerances used (atol after its default: 1e-6, or 0 with `relative`). */
  atol: number;
  rtol: number;
  relative: boolean;
}

/** Thrown by `assertGradcheck`; carries the report. */
export class GradcheckError extends KdgradError {
  constructor(message: string, readonly report: GradcheckReport) {
    super(message);
  }
}
namedError(GradcheckError, "GradcheckError");

/**
 * Compare the backward of `fn` with float64 central differences.
 *
 * Inputs that require grad are checked (copied to float64 leaves first).
 * The scalar under test is φ(x) = ⟨u, fn(x)⟩ with a random upstream u, never
 * a plain sum (a softmax sums to 1, so a zero gradient would pass a sum).
 * - Small inputs (≤ fullJacobianMax elements): every coordinate of Jᵀu by
 *   differences; and when the output is small too (≤ 4·fullJacobianMax),
 *   the full Jacobian, J by differences column by column against J by
 *   backward row by row (one-hot upstreams).
 * - Large inputs: random projections, ⟨u, J·v⟩ by differences
 *   (φ(x + εv) − φ(x − εv))/2ε against ⟨Jᵀu, v⟩ by backward.
 * An entry passes when |numeric − analytic| ≤ atol + rtol·|numeric|; with
 * `relative: true`, when it is ≤ atol + rtol·max(|numeric|, s), s the largest
 * |numeric| of its kind for that input (atol then defaults to 0), so the
 * verdict does not change when fn is scaled and tiny gradients are checked.
 *
 * The options are checked (ValueError), since a degenerate one passes any backward: eps must
 * be finite and > 0, atol and rtol finite and ≥ 0 (atol = ∞ accepts every error), projections
 * an integer ≥ 1 (0 projections check nothing), fullJacobianMax an integer ≥ 0 and seed a
 * non-negative safe integer.
 *
 * @example gradcheck((x) => logSoftmax(x, -1), [randn([3, 5], { dtype: "float64", requiresGrad: true })]).ok
 */
export function gradcheck(
  fn: (...inputs: Tensor[]) => Tensor,
  inputs: readonly (Tensor | unknown)[],
  options?: GradcheckOptions,
): GradcheckReport {
  return check(fn, inputs, options, false, "gradcheck");
}

const GRADCHECK_OPTIONS = ["eps", "atol", "rtol", "seed", "fullJacobianMax", "projections", "relative"] as const;

/** gradcheck's options with their defaults, checked. */
export interface CheckedGradcheckOptions {
  eps: number;
  atol: number;
  rtol: number;
  seed: number;
  fullJacobianMax: number;
  projections: number;
  relative: boolean;
}

/**
 * gradcheck's options, checked (ValueError naming `fnName`, the function the user called): the
 * options checker (a plain object, no unknown key, no null), then each value, since a
 * degenerate one passes any backward. `what` names the object when it is nested in another
 * function's options (lossProperties' `options.gradcheck`), so that a mistake is refused where
 * it is made rather than when a property first runs.
 */
export function checkGradcheckOptions(options: unknown, fnName: string, what = "options"): CheckedGradcheckOptions {
  const o = checkOptions(options as GradcheckOptions | undefined, fnName, GRADCHECK_OPTIONS, what);
  const field = (k: string): string => (what === "options" ? k : `${what}.${k}`);
  const positive = (v: unknown, name: string, orZero: boolean): number => {
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || (!orZero && v === 0)) {
      throw new ValueError(`${fnName}: ${field(name)} must be a finite number ${orZero ? ">= 0" : "> 0"}, got ${describeValue(v)}`);
    }
    return v;
  };
  const eps = positive(o.eps ?? 1e-6, "eps", false);
  if (o.relative !== undefined && typeof o.relative !== "boolean") {
    throw new ValueError(`${fnName}: ${field("relative")} must be true or false, got ${describeValue(o.relative)}`);
  }
  const relative = o.relative ?? false;
  const atol = positive(o.atol ?? (relative ? 0 : 1e-6), "atol", true);
  const rtol = positive(o.rtol ?? 1e-5, "rtol", true);
  const seed = checkInt(o.seed ?? 0, fnName, field("seed"), 0, Number.MAX_SAFE_INTEGER);
  const fullJacobianMax = checkInt(o.fullJacobianMax ?? 64, fnName, field("fullJacobianMax"), 0);
  const projections = checkInt(o.projections ?? 3, fnName, field("projections"), 1);
  return { eps, atol, rtol, seed, fullJacobianMax, projections, relative };
}

/** gradcheck under another public name (`assertGradcheck`, kdgrad/testing/vitest's matcher), named in its refusals. */
export function gradcheckAs(
  fn: (...inputs: Tensor[]) => Tensor,
  inputs: readonly (Tensor | unknown)[],
  options: GradcheckOptions | undefined,
  fnName: string,
): GradcheckReport {
  return check(fn, inputs, options, false, fnName);
}

/**
 * The checker. `disconnectedIsZero`: an output that does not require grad has
 * a zero analytic derivative (gradgradcheck: a backward rule that drops the
 * graph is then reported as wrong, not refused as an unusable function).
 */
function check(
  fn: (...inputs: Tensor[]) => Tensor,
  inputs: readonly (Tensor | unknown)[],
  options: GradcheckOptions | undefined,
  disconnectedIsZero: boolean,
  fnName: string,
): GradcheckReport {
  checkFunction(fn, fnName, "fn");
  if (!Array.isArray(inputs)) throw new ValueError(`${fnName}: inputs must be a list of the arguments of fn, got ${describeValue(inputs)}`);
  const { eps, atol, rtol, seed, fullJacobianMax: fullMax, projections: nProj, relative } = checkGradcheckOptions(options, fnName);
  const rng = new Generator(seed);

  const xs = inputs.map((x) => {
    if (!(x instanceof Tensor) || x.dtype === "int32") return x;
    const c = new Tensor(Float64Array.from(x.copyData()), x.shape);
    if (x.requiresGrad) c.requiresGrad_(true);
    return c;
  });
  const checked = xs.flatMap((x, i) => (x instanceof Tensor && x.requiresGrad ? [i] : []));
  if (checked.length === 0) throw new ValueError(`${fnName}: no input requires grad; mark the inputs to check with requiresGrad`);
  const call = (): Tensor => (fn as (...a: unknown[]) => Tensor)(...xs);
  const evalFlat = (): Float64Array => Float64Array.from(noGrad(call).copyData());

  const y = checkReturned(enableGrad(call), fnName, "fn");
  if (!y.requiresGrad && !disconnectedIsZero) throw new ValueError(`${fnName}: the output does not depend on any input that requires grad`);
  const m = y.size;
  const u = new Float64Array(m);
  for (let i = 0; i < m; i++) u[i] = rng.normal();
  const analytic = (upstream: Float64Array): Float64Array[] => {
    for (const i of checked) (xs[i] as Tensor).grad = null;
    if (!y.requiresGrad) return checked.map((i) => new Float64Array((xs[i] as Tensor).size));
    y.backward(new Tensor(Float64Array.from(upstream), y.shape).to(y.dtype), { retainGraph: true });
    return checked.map((i) => {
      const t = xs[i] as Tensor;
      return t.grad === null ? new Float64Array(t.size) : Float64Array.from(t.grad.copyData());
    });
  };
  const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
    return s;
  };

  const maxIn = Math.max(...checked.map((i) => (xs[i] as Tensor).size));
  const mode: "full" | "projection" = maxIn <= fullMax ? "full" : "projection";
  // Every compared entry is collected first: with `relative`, its tolerance depends on the
  // largest numeric value of its kind, known only once the input is done.
  const entries: GradcheckEntry[][] = checked.map(() => []);
  const push = (r: number, kind: GradcheckEntry["kind"], numeric: number, analytic: number, at: { out?: number; in?: number; projection?: number }): void =>
    void entries[r]!.push({ kind, ...at, numeric, analytic, allowed: 0 });

  const grads = analytic(u);
  const fullJacobian = mode === "full" && m <= 4 * fullMax;
  const rows: Float64Array[][] = [];
  if (fullJacobian) {
    for (let o = 0; o < m; o++) {
      const e = new Float64Array(m);
      e[o] = 1;
      rows.push(analytic(e));
    }
  }
  checked.forEach((i, r) => {
    const x = xs[i] as Tensor;
    const data = x.data as Float64Array;
    if (mode === "full") {
      for (let j = 0; j < data.length; j++) {
        const x0 = data[j]!;
        const h = eps * Math.max(1, Math.abs(x0));
        data[j] = x0 + h;
        const plus = evalFlat();
        data[j] = x0 - h;
        const minus = evalFlat();
        data[j] = x0;
        const column = plus.map((p, o) => (p - minus[o]!) / (2 * h));
        if (fullJacobian) {
          for (let o = 0; o < m; o++) push(r, "jacobian", column[o]!, rows[o]![r]![j]!, { out: o, in: j });
        }
        push(r, "vjp", dot(u, column), grads[r]![j]!, { in: j });
      }
    } else {
      let scale = 1;
      for (let j = 0; j < data.length; j++) scale = Math.max(scale, Math.abs(data[j]!));
      const h = eps * scale;
      const x0 = Float64Array.from(data);
      for (let p = 0; p < nProj; p++) {
        const v = new Float64Array(data.length);
        for (let j = 0; j < v.length; j++) v[j] = rng.normal();
        for (let j = 0; j < v.length; j++) data[j] = x0[j]! + h * v[j]!;
        const plus = dot(u, evalFlat());
        for (let j = 0; j < v.length; j++) data[j] = x0[j]! - h * v[j]!;
        const minus = dot(u, evalFlat());
        data.set(x0);
        push(r, "projection", (plus - minus) / (2 * h), dot(grads[r]!, v), { projection: p });
      }
    }
  });

  const reports = checked.map((i, r): GradcheckInputReport => {
    const list = entries[r]!;
    const scale = { jacobian: 0, vjp: 0, projection: 0 };
    if (relative) for (const e of list) if (Number.isFinite(e.numeric)) scale[e.kind] = Math.max(scale[e.kind], Math.abs(e.numeric));
    const report: GradcheckInputReport = {
      input: i, shape: [...(xs[i] as Tensor).shape], maxAbsError: 0, maxRelError: 0, maxErrorRatio: 0, where: "",
      worst: list[0] ?? { kind: "vjp", numeric: 0, analytic: 0, allowed: atol }, ok: true,
    };
    let worstRatio = -1;
    for (const e of list) {
      const { numeric, analytic: got } = e;
      e.allowed = atol + rtol * Math.max(Math.abs(numeric), scale[e.kind]);
      const err = Math.abs(numeric - got);
      const bothNaN = Number.isNaN(numeric) && Number.isNaN(got);
      const bad = !(err <= e.allowed) && !bothNaN;
      const rel = err / Math.max(Math.abs(numeric), 1e-300);
      const abs = Number.isNaN(err) ? Infinity : err;
      const ratio = bothNaN || err === 0 ? 0 : err / e.allowed;
      const r0 = Number.isNaN(ratio) ? Infinity : ratio;
      report.maxErrorRatio = Math.max(report.maxErrorRatio, r0);
      if (bad) report.ok = false;
      if (abs > report.maxAbsError || report.where === "") {
        report.maxAbsError = abs;
        report.where = e.kind === "jacobian" ? `J[out ${e.out}, in ${e.in}]` : e.kind === "vjp" ? `(Jᵀu)[${e.in}]` : `projection ${e.projection}`;
      }
      if (r0 > worstRatio) {
        worstRatio = r0;
        report.worst = e;
      }
      report.maxRelError = Math.max(report.maxRelError, Number.isNaN(rel) ? Infinity : rel);
    }
    return report;
  });
  return { ok: reports.every((r) => r.ok), mode, inputs: reports, seed, outputShape: [...y.shape], atol, rtol, relative };
}

/** `gradcheck` that throws a GradcheckError describing the worst mismatch. */
export function assertGradcheck(
  fn: (...inputs: Tensor[]) => Tensor,
  inputs: readonly (Tensor | unknown)[],
  options?: GradcheckOptions,
): GradcheckReport {
  const report = check(fn, inputs, options, false, "assertGradcheck");
  if (!report.ok) throw new GradcheckError(`assertGradcheck: ${describeFailure(fn, report)}`, report);
  return report;
}

/** A flat index as a multi-index of `shape`: 7 in [2, 5] is [1, 2]. */
function multiIndex(flat: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length).fill(0);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = flat % shape[d]!;
    flat = Math.floor(flat / shape[d]!);
  }
  return idx;
}

/** A flat index as its multi-index, "[1, 2]" ("[]" for a scalar). */
const place = (flat: number, shape: readonly number[]): string => `[${multiIndex(flat, shape).join(", ")}]`;

/** Six significant digits, without trailing zeros. */
const num = (x: number): string => (Number.isFinite(x) && x !== 0 ? String(Number(x.toPrecision(6))) : String(x));

/**
 * The failure message: per failing input, its worst entry (by error / allowed error) with its
 * place as multi-indices, both values, the error and what was allowed; the mode, seed and
 * tolerances, so that the same call with `{ seed }` replays it.
 */
export function describeFailure(fn: (...inputs: Tensor[]) => Tensor, report: GradcheckReport): string {
  const outShape = report.outputShape;
  const lines = report.inputs.filter((r) => !r.ok).map((r) => {
    const w = r.worst;
    const at = w.kind === "jacobian" ? `J[out ${place(w.out!, outShape)}, in ${place(w.in!, r.shape)}]`
      : w.kind === "vjp" ? `(Jᵀu)${place(w.in!, r.shape)}`
      : `projection ${w.projection} ⟨u, J·v⟩`;
    const err = Math.abs(w.numeric - w.analytic);
    return `input ${r.input} ${shapeStr(r.shape)}: worst at ${at}: backward ${num(w.analytic)}, finite differences ${num(w.numeric)}, ` +
      `error ${num(err)} > allowed ${num(w.allowed)} (${Number.isFinite(r.maxErrorRatio) ? `${r.maxErrorRatio.toPrecision(3)}×` : "∞×"} the tolerance); ` +
      `max abs error ${r.maxAbsError.toExponential(3)} at ${r.where}`;
  });
  const tol = `rtol ${num(report.rtol)}, atol ${num(report.atol)}${report.relative ? ", relative to the gradient's size" : ""}`;
  return `${fn.name || "function"} failed (${report.mode}, seed ${report.seed}, ${tol}):\n  ${lines.join("\n  ")}`;
}

/**
 * Check second derivatives: gradcheck of the backward pass itself, as
 * PyTorch's gradgradcheck. With a random cotangent u (seeded), the function
 *   F(x…, u) = ⟨u, ∂fn/∂x⟩ for every checked x, flattened and joined,
 * is computed with createGraph, and gradcheck compares F's backward (second-
 * order rules, and the vjp's linearity in u) with central differences of F.
 * Every backward rule that fn goes through must be differentiable.
 *
 * @example gradgradcheck((x) => logSoftmax(x, -1), [randn([3, 5], { dtype: "float64", requiresGrad: true })]).ok
 */
export function gradgradcheck(
  fn: (...inputs: Tensor[]) => Tensor,
  inputs: readonly (Tensor | unknown)[],
  options?: GradcheckOptions,
): GradcheckReport {
  return gradgradcheckAs(fn, inputs, options, "gradgradcheck");
}

/** gradgradcheck's body; `fnName` is the checker the user called (gradgradcheck, assertGradgradcheck, the vitest matcher). */
export function gradgradcheckAs(
  fn: (...inputs: Tensor[]) => Tensor,
  inputs: readonly (Tensor | unknown)[],
  options: GradcheckOptions | undefined,
  fnName: string,
): GradcheckReport {
  checkFunction(fn, fnName, "fn");
  if (!Array.isArray(inputs)) throw new ValueError(`${fnName}: inputs must be a list of the arguments of fn, got ${describeValue(inputs)}`);
  const seed = checkGradcheckOptions(options, fnName).seed;
  const checked = inputs.flatMap((x, i) => (x instanceof Tensor && x.requiresGrad && x.dtype !== "int32" ? [i] : []));
  if (checked.length === 0) throw new ValueError(`${fnName}: no input requires grad; mark the inputs to check with requiresGrad`);
  const y0 = checkReturned(noGrad(() => (fn as (...a: unknown[]) => unknown)(...inputs)), fnName, "fn");
  const rng = new Generator(checkInt(seed, fnName, "seed", 0, Number.MAX_SAFE_INTEGER - 1) + 1);
  const u = new Tensor(Float64Array.from({ length: y0.size }, () => rng.normal()), y0.shape).requiresGrad_(true);
  const n = inputs.length;
  const backwardOf = (...all: Tensor[]): Tensor => enableGrad(() => {
    const xs = all.slice(0, n);
    const v = all[n]!;
    const targets = checked.map((i) => xs[i]!);
    const y = (fn as (...a: unknown[]) => Tensor)(...xs);
    const gs = y.requiresGrad
      ? gradients([y], targets, [v.to(y.dtype)], { createGraph: true, allowUnused: true })
      : targets.map(() => null);
    return concat(gs.map((g, k) => reshape(g ?? zerosLike(targets[k]!), [-1]).to("float64")), 0);
  });
  return check(backwardOf, [...inputs, u], options, true, fnName);
}

/** `gradgradcheck` that throws a GradcheckError describing the worst mismatch. */
export function assertGradgradcheck(
  fn: (...inputs: Tensor[]) => Tensor,
  inputs: readonly (Tensor | unknown)[],
  options?: GradcheckOptions,
): GradcheckReport {
  const report = gradgradcheckAs(fn, inputs, options, "assertGradgradcheck");
  if (!report.ok) throw new GradcheckError(`assertGradgradcheck: ${describeFailure(fn, report)}`, report);
  return report;
}
