import fc from "fast-check";
import { Tensor, tensor, ones, gradients, assertGradcheck, ValueError, noGrad, type GradcheckOptions } from "../index.js";
import { checkFunction, describeValue } from "../tensor/shape.js";
import { checkReturned } from "../tensor/tensor.js";
import { checkOptions } from "../tensor/options.js";
import { checkGradcheckOptions } from "../autograd/gradcheck.js";
import { assertClose, assertFinite, AssertionError } from "./close.js";
import { bool, labelsFor, logits, printable, probabilities, rowShape, temperatureBounds, temperatures, type RowOptions } from "./arbitraries.js";

/**
 * A property kit for a loss function a user wrote: `lossProperties(loss, options)` returns
 * fast-check properties, each to be run with `fc.assert` (or fast-check's runner integration),
 * that check what a classification or distillation loss of logits must satisfy. The derivations
 * of the tolerances are in docs/testing.md ("What lossProperties checks").
 */

/** A loss of logits [B, C] and a target (labels [B], probabilities [B, C] or teacher logits [B, C]), with a temperature when it has one. */
export type LossFunction = (logits: Tensor, target: Tensor, temperature: number) => Tensor;

/** One drawn input of a loss: logits, target and (for temperature losses) a temperature. */
export interface LossCase {
  logits: Tensor;
  target: Tensor;
  /** The temperature passed to the loss (1 for losses without one). */
  temperature: number;
}

/** The 1/T² law of a temperature loss's soft term (see `LossPropertiesOptions.temperatureLaw`). */
export interface TemperatureLawOptions {
  /** The soft term alone, of student and teacher logits; default: the loss itself (a loss with no hard term). */
  soft?: (student: Tensor, teacher: Tensor, temperature: number) => Tensor;
  /** Whether the soft term is multiplied by T² (as `distillationLoss`'s is). Default true. */
  scaledByT2?: boolean;
  /** How the soft term reduces over the B rows: "batchmean" (divides by B; default) or "sum". */
  reduction?: "batchmean" | "sum";
  /**
   * The constant K of the error bound K·(R_s² + R_t²)/T (per entry, times 1/B for batchmean).
   * K = 2 is proved for T²·KL(p_t ‖ p_s) in docs/distillation.md ("Two error bounds"); another
   * divergence needs its own (docs/testing.md derives 4.75 for the symmetric KL). Default 2.
   */
  constant?: number;
  /** Temperatures drawn, log-uniform. Default [1, 1e4]. */
  min?: number;
  max?: number;
}

/** What `lossProperties` is told about the loss. */
export interface LossPropertiesOptions extends Omit<RowOptions, "shape" | "dtype" | "requiresGrad"> {
  /** What the loss's second argument is: class labels (int32 [B]), probability rows [B, C] or teacher logits [B, C]. */
  target: "labels" | "probabilities" | "logits";
  /** Largest |logit| for the gradient, reference, shift and row-sum properties. Default 5. */
  maxAbs?: number;
  /** Largest |logit| for `finiteOnExtremes`, whose rows also have −∞-masked classes and ties. Default 1e4. */
  extremeAbs?: number;
  /** Temperatures for a loss that takes one ([min, max], log-uniform; the gradient property uses [0.5, 20]). Leave out for a loss without one (it is called with 1). */
  temperatures?: { min?: number; max?: number };
  /** Declared: adding a constant to every logit of a row leaves the loss unchanged. */
  shiftInvariant?: boolean;
  /** Declared: every row of ∂loss/∂logits sums to 0 (follows from shift invariance). */
  rowsSumToZero?: boolean;
  /** Check the gradient with respect to the target as well (probabilities or teacher logits). Default false. */
  targetGradient?: boolean;
  /** A reference implementation; values and gradients must match it. */
  reference?: LossFunction;
  /** Tolerances against the reference. Default rtol 1e-9, atol 1e-12. */
  referenceTolerance?: { rtol?: number; atol?: number };
  /** gradcheck's options; default `relative: true`, rtol 1e-5, atol the differences' rounding noise (docs/testing.md). */
  gradcheck?: GradcheckOptions;
  /** For a temperature loss: check the 1/T² law of its soft term's gradient. */
  temperatureLaw?: TemperatureLawOptions | boolean;
}

/** The properties `lossProperties` returns: the declared ones are present, the others undefined. */
export interface LossProperties {
  /** The backward agrees with float64 central differences (assertGradcheck). */
  gradient: fc.IPropertyWithHooks<[LossCase]>;
  /** Loss and gradient are finite for logits up to ±extremeAbs with −∞-masked classes and ties (and every temperature). */
  finiteOnExtremes: fc.IPropertyWithHooks<[LossCase]>;
  /** loss(x + c·1ᵀ) = loss(x) for a constant c per row. */
  shiftInvariance?: fc.IPropertyWithHooks<[LossCase, number[]]>;
  /** Σᵢ ∂loss/∂xᵢ = 0 in every row. */
  rowsSumToZero?: fc.IPropertyWithHooks<[LossCase]>;
  /** Value and gradient equal the reference's. */
  reference?: fc.IPropertyWithHooks<[LossCase]>;
  /** T²·∂soft/∂s → ((s − s̄) − (t − t̄))/C (per row, /B for batchmean), within K·(R_s² + R_t²)/T. */
  temperatureLaw?: fc.IPropertyWithHooks<[LossCase]>;
}

/** The gradient property's temperatures: [0.5, 20] ∩ [min, max], or the end of [min, max] nearest to [0.5, 20]. */
function moderateTemperatures({ min, max }: { min: number; max: number }): { min: number; max: number } {
  if (max < 0.5) return { min: max, max };
  if (min > 20) return { min, max: min };
  return { min: Math.max(0.5, min), max: Math.min(20, max) };
}

/** Unit roundoff of float64 (half the spacing of floats at 1). */
const EPS = 2 ** -53;

const fn = "lossProperties";

/** Targets for logits x: labels off the masked classes, probabilities zero on them, teacher logits masked where x is. */
function targetFor(kind: LossPropertiesOptions["target"], x: Tensor, o: { maxAbs: number; zeros: boolean }): fc.Arbitrary<Tensor> {
  const [b, c] = x.shape as [number, number];
  const xs = x.copyData();
  if (kind === "labels") return labelsFor(x);
  if (kind === "probabilities") {
    return probabilities({ shape: [b, c], zeros: o.zeros }).map((p) => {
      const v = p.copyData();
      for (let r = 0; r < b; r++) {
        let sum = 0;
        for (let k = 0; k < c; k++) {
          if (xs[r * c + k] === -Infinity) v[r * c + k] = 0;
          sum += v[r * c + k]!;
        }
        if (sum === 0) {
          const k = Array.from({ length: c }, (_, i) => i).find((i) => xs[r * c + i] !== -Infinity)!;
          v[r * c + k] = 1;
          sum = 1;
        }
        for (let k = 0; k < c; k++) v[r * c + k]! /= sum;
      }
      return printable(tensor(v, { shape: [b, c], dtype: "float64" }));
    });
  }
  return logits({ shape: [b, c], maxAbs: o.maxAbs }).map((t) => {
    const v = t.copyData();
    for (let i = 0; i < v.length; i++) if (xs[i] === -Infinity) v[i] = -Infinity;
    return printable(tensor(v, { shape: [b, c], dtype: "float64" }));
  });
}

function caseArb(
  o: LossPropertiesOptions, maxAbs: number, extreme: boolean, temps: { min: number; max: number } | null, zeros = true,
): fc.Arbitrary<LossCase> {
  const rows = { minRows: o.minRows, maxRows: o.maxRows, minClasses: o.minClasses, maxClasses: o.maxClasses };
  return logits({ ...rows, maxAbs, masked: extreme, ties: extreme }).chain((x) =>
    fc.tuple(targetFor(o.target, x, { maxAbs, zeros }), temps === null ? fc.constant(1) : temperatures(temps))
      .map(([target, temperature]): LossCase => ({ logits: x, target, temperature })));
}

/** The loss at a case, with the logits (and the target, when asked) as fresh float64 leaves requiring grad. */
function evaluate(loss: LossFunction, c: LossCase, targetGrad = false): { y: Tensor; x: Tensor; t: Tensor; gx: Tensor; gt: Tensor | null } {
  const x = tensor(c.logits.copyData(), { shape: c.logits.shape, dtype: "float64", requiresGrad: true });
  const t = targetGrad ? tensor(c.target.copyData(), { shape: c.target.shape, dtype: "float64", requiresGrad: true }) : c.target;
  const y = loss(x, t, c.temperature);
  if (!(y instanceof Tensor)) throw new ValueError(`${fn}: the loss must return a Tensor, got ${describeValue(y)}`);
  if (!y.requiresGrad) throw new AssertionError(`${fn}: the loss's value does not depend on the logits (it does not require grad)`);
  const [gx, gt] = gradients([y], targetGrad ? [x, t] : [x], [ones(y.shape, { dtype: y.dtype })], { allowUnused: true });
  return { y, x, t, gx: gx ?? tensor(new Float64Array(x.size), { shape: x.shape }), gt: gt ?? null };
}

const rowsOf = (t: Tensor): { b: number; c: number; v: Float64Array } => {
  const [b, c] = t.shape as [number, number];
  return { b, c, v: Float64Array.from(t.copyData()) };
};

const OPTION_KEYS = [
  "target", "minRows", "maxRows", "minClasses", "maxClasses", "maxAbs", "extremeAbs", "temperatures", "shiftInvariant",
  "rowsSumToZero", "targetGradient", "reference", "referenceTolerance", "gradcheck", "temperatureLaw",
] as const;
const LAW_KEYS = ["soft", "scaledByT2", "reduction", "constant", "min", "max"] as const;

/**
 * Properties of a loss function of logits, as fast-check properties. `gradient` and
 * `finiteOnExtremes` are always there; `shiftInvariance`, `rowsSumToZero`, `reference` and
 * `temperatureLaw` when declared. Each throws an error that says what failed (the worst
 * element and its index, or the gradcheck's worst Jacobian entry and seed); fast-check then
 * shrinks the case and prints the smallest one it found as code. Every option, nested ones
 * included, is checked when the properties are made (ValueError naming lossProperties and the
 * option's path, `options.gradcheck.eps`), not when a property first runs.
 *
 * @example
 * const props = lossProperties(myCrossEntropy, { target: "labels", shiftInvariant: true, rowsSumToZero: true, reference: (x, y) => crossEntropy(x, y) });
 * for (const [name, p] of Object.entries(props)) test(name, () => fc.assert(p));
 */
export function lossProperties(loss: LossFunction, opts: LossPropertiesOptions): LossProperties {
  checkFunction(loss, fn, "loss");
  const options = checkOptions(opts, fn, OPTION_KEYS);
  const kind = options.target;
  if (kind !== "labels" && kind !== "probabilities" && kind !== "logits") {
    throw new ValueError(`${fn}: target must be "labels", "probabilities" or "logits", got ${describeValue(kind)}`);
  }
  rowShape(options, fn);
  const maxAbs = options.maxAbs ?? 5;
  const extremeAbs = options.extremeAbs ?? 1e4;
  for (const [name, v] of [["maxAbs", maxAbs], ["extremeAbs", extremeAbs]] as const) {
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new ValueError(`${fn}: ${name} must be a finite number >= 0, got ${describeValue(v)}`);
  }
  for (const key of ["shiftInvariant", "rowsSumToZero", "targetGradient"] as const) bool(options[key], fn, key, false);
  const lawOption = options.temperatureLaw;
  if (lawOption !== undefined && typeof lawOption !== "boolean") checkOptions(lawOption, fn, LAW_KEYS, "options.temperatureLaw");
  const hasT = options.temperatures !== undefined || (lawOption !== undefined && lawOption !== false);
  const tAll = hasT ? temperatureBounds(checkOptions(options.temperatures, fn, ["min", "max"], "options.temperatures"), fn, "options.temperatures.") : null;
  // Finite differences need the loss to vary on the scale of the step: s/T with T ≪ 1 does not
  // (softmax(s/T) is then a hard argmax with kinks), and at T ≫ 1 the factor T² amplifies the
  // rounding of KL ~ 1/T². So the gradient property draws T from [0.5, 20] ∩ [min, max], or,
  // when the declared range misses that window, at the range's end nearest to it.
  const tModerate = hasT ? moderateTemperatures(tAll!) : null;
  const targetGrad = options.targetGradient ?? false;
  if (targetGrad && kind === "labels") throw new ValueError(`${fn}: targetGradient needs a differentiable target ("probabilities" or "logits"), not labels`);
  const gradcheckOptions = checkGradcheckOptions(options.gradcheck, fn, "options.gradcheck");
  const referenceTolerance = checkOptions(options.referenceTolerance, fn, ["rtol", "atol"], "options.referenceTolerance");
  for (const key of ["rtol", "atol"] as const) {
    const v = referenceTolerance[key];
    if (v !== undefined && (typeof v !== "number" || !Number.isFinite(v) || v < 0)) {
      throw new ValueError(`${fn}: options.referenceTolerance.${key} must be a finite number >= 0, got ${describeValue(v)}`);
    }
  }
  if (options.reference !== undefined) checkFunction(options.reference, fn, "options.reference");

  const gradient = fc.property(caseArb(options, maxAbs, false, tModerate, !targetGrad), (c) => {
    const x = tensor(c.logits.copyData(), { shape: c.logits.shape, dtype: "float64", requiresGrad: true });
    const t = targetGrad ? tensor(c.target.copyData(), { shape: c.target.shape, dtype: "float64", requiresGrad: true }) : c.target;
    const y0 = checkReturned(loss(x, t, c.temperature), fn, "the loss");
    if (!y0.requiresGrad) throw new AssertionError(`${fn}: the loss's value does not depend on the logits (it does not require grad)`);
    // The central differences' rounding noise: ε·|φ|/h with h = 1e-6 and φ ≈ ⟨u, loss⟩, times 256
    // for the rounding inside the loss. |loss| is floored at 1: a loss at its minimum (0, with a
    // zero gradient) is a sum of terms of size ~1 that cancel, and their rounding is what the
    // differences see. Below this a difference is noise; above it, a real error.
    const scale = Math.max(1, y0.toFlatArray().reduce((s, v) => s + Math.abs(v), 0));
    // On moderate logits a loss must be finite; a NaN or ∞ leaves nothing to difference.
    if (!Number.isFinite(scale)) assertFinite(y0, { name: "the loss (on moderate logits, so that its gradient can be checked)" });
    const eps = gradcheckOptions.eps;
    const named = { [loss.name || "loss"]: (a: Tensor, b: Tensor) => loss(a, b, c.temperature) }[loss.name || "loss"]!;
    assertGradcheck(named, [x, t], { relative: true, rtol: 1e-5, atol: (256 * EPS * scale) / eps, ...options.gradcheck });
  });

  const finiteOnExtremes = fc.property(caseArb(options, extremeAbs, true, tAll), (c) => {
    const { y, gx, gt } = evaluate(loss, c, false);
    assertFinite(y, { name: "the loss" });
    assertFinite(gx, { name: "∂loss/∂logits" });
    if (gt !== null) assertFinite(gt, { name: "∂loss/∂target" });
  });

  const props: LossProperties = { gradient, finiteOnExtremes };

  if (options.shiftInvariant) {
    // Temperatures from the gradient property's window: a loss scaled by T² forms T²·O(log C) terms
    // to give an O(1) value, so at T ≫ 1 its own rounding, not a broken invariance, decides.
    const base = caseArb(options, maxAbs, false, tModerate);
    props.shiftInvariance = fc.property(base, fc.array(fc.double({ min: -50, max: 50, noNaN: true }), { minLength: options.maxRows ?? 4, maxLength: options.maxRows ?? 4 }), (c, shifts) => {
      const { y, gx } = evaluate(loss, c);
      const { b, c: C, v } = rowsOf(c.logits);
      const shifted = new Float64Array(v.length);
      for (let r = 0; r < b; r++) for (let k = 0; k < C; k++) shifted[r * C + k] = v[r * C + k]! + shifts[r % shifts.length]!;
      const y2 = checkReturned(noGrad(() => loss(tensor(shifted, { shape: [b, C] }), c.target, c.temperature)), fn, "the loss");
      // Rounding: x + c moves each logit by ≤ ε·|x + c|, which moves the loss by ≤ ‖∇loss‖₁·ε·(R + |c|) to first
      // order; the loss's own rounding is ≲ (C + 8)·ε·(|loss| + R + |c|) per term, and for a loss of x/T
      // scaled by T² (Hinton's) ≲ (C + 8)·ε·T²·(1 + R/T + log C): its terms are T² times log-probabilities
      // of size up to R/T + log C, which |loss| (T²·KL, O(1)) does not bound. Factor 8 for safety.
      const R = v.reduce((m, a) => Math.max(m, Math.abs(a)), 0) + Math.max(...shifts.map(Math.abs));
      const g1 = gx.toFlatArray().reduce((s, a) => s + Math.abs(a), 0);
      const magnitude = y.toFlatArray().reduce((s, a) => s + Math.abs(a), 0);
      // On moderate logits a loss and its gradient must be finite; a NaN or ∞ there is the finding
      // (and would leave no tolerance to compare with: the allowance below is formed from them).
      if (!Number.isFinite(magnitude)) assertFinite(y, { name: "the loss (on moderate logits, before the shift)" });
      if (!Number.isFinite(g1)) assertFinite(gx, { name: "∂loss/∂logits (on moderate logits, before the shift)" });
      const T = Math.max(1, c.temperature);
      const atol = 8 * (C + 8) * EPS * (magnitude + R * (g1 + 1) + T * T * (1 + R / T + Math.log(C)));
      assertClose(y2, y, { rtol: 0, atol, name: "loss(x + c per row) against loss(x)" });
    });
  }

  if (options.rowsSumToZero) {
    props.rowsSumToZero = fc.property(caseArb(options, maxAbs, false, tAll), (c) => {
      const { gx } = evaluate(loss, c);
      const { b, c: C, v } = rowsOf(gx);
      const sums: number[] = [];
      const allowed: number[] = [];
      for (let r = 0; r < b; r++) {
        let s = 0;
        let a = 0;
        for (let k = 0; k < C; k++) {
          s += v[r * C + k]!;
          a += Math.abs(v[r * C + k]!);
        }
        // Summing C terms adds ≤ (C − 1)·ε·Σ|gᵢ|; each term carries the rounding of quantities of
        // size ≤ 1 (probabilities, one-hots): ≤ (C + 8)·ε in all, times 8 for safety.
        sums.push(s);
        allowed.push(8 * (C + 8) * EPS * (a + 1));
      }
      sums.forEach((s, r) => {
        if (!(Math.abs(s) <= allowed[r]!)) {
          throw new AssertionError(`${fn}: row ${r} of ∂loss/∂logits sums to ${s}, not 0 (allowed ${allowed[r]!.toExponential(2)}); the row is [${Array.from(v.subarray(r * C, r * C + C)).join(", ")}]`);
        }
      });
    });
  }

  if (options.reference !== undefined) {
    const reference = options.reference;
    const tol = { rtol: referenceTolerance.rtol ?? 1e-9, atol: referenceTolerance.atol ?? 1e-12 };
    props.reference = fc.property(caseArb(options, maxAbs, false, tAll), (c) => {
      const mine = evaluate(loss, c, targetGrad);
      const theirs = evaluate(reference, c, targetGrad);
      assertClose(mine.y, theirs.y, { ...tol, name: "the loss against the reference" });
      assertClose(mine.gx, theirs.gx, { ...tol, name: "∂loss/∂logits against the reference's" });
      if (mine.gt !== null && theirs.gt !== null) assertClose(mine.gt, theirs.gt, { ...tol, name: "∂loss/∂target against the reference's" });
    });
  }

  if (lawOption !== undefined && lawOption !== false) {
    if (kind !== "logits") throw new ValueError(`${fn}: the temperature law compares student and teacher logits; target must be "logits", got ${describeValue(kind)}`);
    const law = lawOption === true ? {} : lawOption;
    const soft = law.soft === undefined ? loss : checkFunction(law.soft, fn, "options.temperatureLaw.soft");
    const scaled = bool(law.scaledByT2, fn, "options.temperatureLaw.scaledByT2", true);
    const reduction = law.reduction ?? "batchmean";
    const K = law.constant ?? 2;
    if (reduction !== "batchmean" && reduction !== "sum") throw new ValueError(`${fn}: options.temperatureLaw.reduction must be "batchmean" or "sum", got ${describeValue(reduction)}`);
    if (typeof K !== "number" || !Number.isFinite(K) || K < 0) throw new ValueError(`${fn}: options.temperatureLaw.constant must be a finite number >= 0, got ${describeValue(K)}`);
    const range = temperatureBounds({ min: law.min ?? 1, max: law.max ?? 1e4 }, fn, "options.temperatureLaw.");
    props.temperatureLaw = fc.property(caseArb(options, maxAbs, false, range), (c) => {
      const T = c.temperature;
      const { gx } = evaluate((s, t) => soft(s, t, T), c);
      const { b, c: C, v: g } = rowsOf(gx);
      const s = rowsOf(c.logits).v;
      const t = rowsOf(c.target).v;
      const w = reduction === "batchmean" ? 1 / b : 1;
      // docs/distillation.md (a): |T·(p_s,i − p_t,i) − (s̃ᵢ − t̃ᵢ)/C| ≤ K·(R_s² + R_t²)/T per row, s̃ the
      // row centred and R its largest |entry|. The gradient of T²·soft is w·T·(p_s − p_t) for the KL.
      const factor = scaled ? 1 : T * T;
      let worst = { ratio: -1, at: [0, 0], got: 0, want: 0, allowed: 0 };
      for (let r = 0; r < b; r++) {
        const centred = (v: Float64Array): { c: number[]; R: number } => {
          const row = Array.from(v.subarray(r * C, r * C + C));
          const mean = row.reduce((a, x) => a + x, 0) / C;
          const cr = row.map((x) => x - mean);
          return { c: cr, R: cr.reduce((m, x) => Math.max(m, Math.abs(x)), 0) };
        };
        const sc = centred(s);
        const tc = centred(t);
        // Rounding of the computed gradient: p_s and p_t carry ≤ (C + 8)·ε relative error each, and the
        // exponent s/T carries ε·R/T, which T·(p_s − p_t) turns into 4·(C + 8 + R/T)·ε·T·w in all.
        const slack = 4 * (C + 8 + (sc.R + tc.R) / T) * EPS * T * w;
        const allowed = (K * (sc.R ** 2 + tc.R ** 2) / T) * w + slack;
        for (let k = 0; k < C; k++) {
          const got = factor * g[r * C + k]!;
          const want = ((sc.c[k]! - tc.c[k]!) / C) * w;
          const ratio = Math.abs(got - want) / allowed;
          if (!(ratio <= worst.ratio)) worst = { ratio: Number.isNaN(ratio) ? Infinity : ratio, at: [r, k], got, want, allowed };
        }
      }
      if (!(worst.ratio <= 1)) {
        throw new AssertionError(
          `${fn}: the 1/T² law fails at T = ${T}: ${scaled ? "" : "T²·"}∂soft/∂s at [${worst.at.join(", ")}] is ${worst.got}, ` +
          `but ((s − s̄) − (t − t̄))/C${reduction === "batchmean" ? "/B" : ""} is ${worst.want}; ` +
          `the difference ${Math.abs(worst.got - worst.want).toExponential(3)} exceeds the bound K·(R_s² + R_t²)/T = ${worst.allowed.toExponential(3)} (K = ${K})`);
      }
    });
  }
  return props;
}
