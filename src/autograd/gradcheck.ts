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
}

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
  /** Where the worst error is: "J[out 3, in 5]", "(Jᵀu)[5]" or "projection 2". */
  where: string;
  ok: boolean;
}

export interface GradcheckReport {
  ok: boolean;
  mode: "full" | "projection";
  inputs: GradcheckInputReport[];
  seed: number;
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
 * An entry passes when |numeric − analytic| ≤ atol + rtol·|numeric|.
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

const GRADCHECK_OPTIONS = ["eps", "atol", "rtol", "seed", "fullJacobianMax", "projections"] as const;

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
  options = checkOptions(options, fnName, GRADCHECK_OPTIONS);
  const positive = (v: unknown, name: string, orZero: boolean): number => {
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || (!orZero && v === 0)) {
      throw new ValueError(`${fnName}: ${name} must be a finite number ${orZero ? ">= 0" : "> 0"}, got ${describeValue(v)}`);
    }
    return v;
  };
  const eps = positive(options.eps ?? 1e-6, "eps", false);
  const atol = positive(options.atol ?? 1e-6, "atol", true);
  const rtol = positive(options.rtol ?? 1e-5, "rtol", true);
  const seed = checkInt(options.seed ?? 0, fnName, "seed", 0, Number.MAX_SAFE_INTEGER);
  const fullMax = checkInt(options.fullJacobianMax ?? 64, fnName, "fullJacobianMax", 0);
  const nProj = checkInt(options.projections ?? 3, fnName, "projections", 1);
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
  const reports: GradcheckInputReport[] = checked.map((i) => ({
    input: i, shape: [...(xs[i] as Tensor).shape], maxAbsError: 0, maxRelError: 0, maxErrorRatio: 0, where: "", ok: true,
  }));
  const record = (r: GradcheckInputReport, numeric: number, got: number, where: string): void => {
    const err = Math.abs(numeric - got);
    const bad = !(err <= atol + rtol * Math.abs(numeric)) && !(Number.isNaN(numeric) && Number.isNaN(got));
    const rel = err / Math.max(Math.abs(numeric), 1e-300);
    const abs = Number.isNaN(err) ? Infinity : err;
    const ratio = (Number.isNaN(numeric) && Number.isNaN(got)) || err === 0 ? 0 : err / (atol + rtol * Math.abs(numeric));
    r.maxErrorRatio = Math.max(r.maxErrorRatio, Number.isNaN(ratio) ? Infinity : ratio);
    if (bad) r.ok = false;
    if (abs > r.maxAbsError || r.where === "") {
      r.maxAbsError = abs;
      r.where = where;
    }
    r.maxRelError = Math.max(r.maxRelError, Number.isNaN(rel) ? Infinity : rel);
  };

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
    const report = reports[r]!;
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
          for (let o = 0; o < m; o++) record(report, column[o]!, rows[o]![r]![j]!, `J[out ${o}, in ${j}]`);
        }
        record(report, dot(u, column), grads[r]![j]!, `(Jᵀu)[${j}]`);
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
        record(report, (plus - minus) / (2 * h), dot(grads[r]!, v), `projection ${p}`);
      }
    }
  });
  return { ok: reports.every((r) => r.ok), mode, inputs: reports, seed };
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

function describeFailure(fn: (...inputs: Tensor[]) => Tensor, report: GradcheckReport): string {
  const lines = report.inputs
    .filter((r) => !r.ok)
    .map((r) => `input ${r.input} ${shapeStr(r.shape)}: max abs error ${r.maxAbsError.toExponential(3)}, max rel error ${r.maxRelError.toExponential(3)} at ${r.where}`);
  return `${fn.name || "function"} failed (${report.mode}, seed ${report.seed}):\n  ${lines.join("\n  ")}`;
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

/** gradgradcheck's body; `fnName` is the checker the user called (gradgradcheck or assertGradgradcheck). */
function gradgradcheckAs(
  fn: (...inputs: Tensor[]) => Tensor,
  inputs: readonly (Tensor | unknown)[],
  options: GradcheckOptions | undefined,
  fnName: string,
): GradcheckReport {
  checkFunction(fn, fnName, "fn");
  if (!Array.isArray(inputs)) throw new ValueError(`${fnName}: inputs must be a list of the arguments of fn, got ${describeValue(inputs)}`);
  options = checkOptions(options, fnName, GRADCHECK_OPTIONS);
  const checked = inputs.flatMap((x, i) => (x instanceof Tensor && x.requiresGrad && x.dtype !== "int32" ? [i] : []));
  if (checked.length === 0) throw new ValueError(`${fnName}: no input requires grad; mark the inputs to check with requiresGrad`);
  const y0 = checkReturned(noGrad(() => (fn as (...a: unknown[]) => unknown)(...inputs)), fnName, "fn");
  const rng = new Generator(checkInt(options.seed ?? 0, fnName, "seed", 0, Number.MAX_SAFE_INTEGER - 1) + 1);
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
