import { Tensor } from "../tensor/tensor.js";
import { checkOptions } from "../tensor/options.js";
import { DTypeError, ShapeError, ValueError } from "../tensor/errors.js";
import { describeValue, shapeStr } from "../tensor/shape.js";
import { kernel } from "../kernels/registry.js";
import type { Divergence } from "../kernels/table.js";
import { checkAlpha, checkInteger, checkLabels, checkReduction, checkSameShape, checkTemperature, type Reduction } from "./checks.js";

export type { Divergence } from "../kernels/table.js";

/** The options of distillationLoss and distillationLossComposite (src/losses/distillation-loss.ts documents each). */
export interface DistillationOptions {
  /** Hard labels (int32) of the leading shape: [B] for [B, C] logits, [B, L] for [B, L, C]. Without them the loss is the soft term alone. */
  labels?: Tensor;
  /** T in [1e-6, 1e6]: a number, or a float scalar Tensor (∂L/∂T when it requires grad). Default 4. */
  temperature?: number | Tensor;
  /** Weight of the soft term, in [0, 1]. Default 0.5; must be absent or 1 without labels. */
  alpha?: number;
  /** The soft term's divergence. Default "forward", KL(p_t ‖ p_s). */
  divergence?: Divergence;
  /** "jsd" only: β in the open interval (0, 1), the teacher's weight. Default 0.5. */
  beta?: number;
  /** "skewForward"/"skewReverse" only: λ in [0, 1), the mixture's weight on the divergence's first argument. Default 0.1. */
  skew?: number;
  /** Multiply the soft term by T² (Hinton's scaling), for every divergence. Default true. */
  scaleT2?: boolean;
  /** Logit standardization of each row of s and t before dividing by T (Sun et al., CVPR 2024). Default false. */
  standardize?: boolean;
  /** A label equal to this drops its row from both terms and from the row count. Default −100. */
  ignoreIndex?: number;
  /** "mean" over the counted rows (default; 'batchmean' for 2-D), "sum", or "none" (one loss per row, 0 at ignored rows). */
  reduction?: Reduction;
}

/** The divergences distillationLoss knows, in the order the docs list them. */
export const DIVERGENCES: readonly Divergence[] = ["forward", "reverse", "jsd", "skewForward", "skewReverse", "tvd"];

/** The eps of standardize: (z − mean)/(std + 1e-7), as Sun et al.'s code. */
export const STANDARDIZE_EPS = 1e-7;

/** A checked call of distillationLoss: logits seen as rows × classes, every option resolved. */
export interface DistillationCall {
  fn: string;
  /** The leading shape (the input's shape without its last axis): one row per position. */
  leadShape: number[];
  rows: number;
  classes: number;
  /** T's value. */
  T: number;
  /** The temperature when it was given as a Tensor, else null. */
  temperature: Tensor | null;
  alpha: number;
  labels: Int32Array | null;
  labelsTensor: Tensor | null;
  divergence: Divergence;
  /** β ("jsd"), λ (the skews), else 0; as mixtureWeight gives it (β + (1 − β) = 1 exactly). */
  mix: number;
  scaleT2: boolean;
  standardize: boolean;
  ignoreIndex: number;
  reduction: Reduction;
  /** The rows that count, ascending, when some are ignored; null when every row counts. */
  kept: Int32Array | null;
  /** How many rows count. */
  counted: number;
}

/** student or teacher logits: a float Tensor with a class axis (rank ≥ 1, at least one class). */
function checkClassLogits(x: unknown, fn: string, arg: string): Tensor {
  if (!(x instanceof Tensor)) throw new DTypeError(`${fn}: ${arg} must be a Tensor, got ${describeValue(x)}`);
  if (x.dtype === "int32") throw new DTypeError(`${fn}: ${arg} must be float32 or float64, got int32`);
  if (x.ndim === 0) throw new ShapeError(`${fn}: ${arg} must have a class axis, shape [..., C], got []`);
  if (x.shape[x.ndim - 1] === 0) throw new ShapeError(`${fn}: ${arg} must have at least one class, got shape ${shapeStr(x.shape)}`);
  return x;
}

/**
 * The temperature: a number in [1e-6, 1e6] (checkTemperature), or a float Tensor of shape []
 * whose value is in that range. A tensor temperature outside the range is the same ValueError
 * as a number (a learnable T that an optimizer pushed to 0 or below is refused at that step,
 * not clamped: parametrize it, T = T_min + softplus(θ) say, to keep it inside).
 */
function checkTemperatureOption(temperature: unknown, fn: string): { T: number; tensor: Tensor | null } {
  if (!(temperature instanceof Tensor)) return { T: checkTemperature(temperature, fn), tensor: null };
  if (temperature.dtype === "int32") throw new DTypeError(`${fn}: temperature must be a number or a float32/float64 scalar Tensor, got an int32 Tensor`);
  if (temperature.ndim !== 0) throw new ShapeError(`${fn}: temperature as a Tensor must be a scalar (shape []), got ${shapeStr(temperature.shape)}`);
  const T = temperature.item();
  if (!(T >= 1e-6 && T <= 1e6)) throw new ValueError(`${fn}: temperature must be in [1e-6, 1e6], got ${T} (a Tensor)`);
  return { T, tensor: temperature };
}

function checkBoolean(value: unknown, fn: string, arg: string): boolean {
  if (typeof value !== "boolean") throw new ValueError(`${fn}: ${arg} must be true or false, got ${describeValue(value)}`);
  return value;
}

/**
 * The mixture weight as the kernels and the composite use it: the double w′ nearest `w` for
 * which w′ + (1 − w′) = 1 holds exactly (1 − w′ is a double). For w ≥ ½, 1 − w is exact
 * (Sterbenz) and w′ = w; below, w′ = 1 − fl(1 − w), within 2⁻⁵⁴ of w. Why: the divergences are
 * KLs to m = w·p + (1 − w)·q, and a mixture whose weights sum to 1 + δ adds about δ to D — at
 * T = 1e6, where T²·D is O(1) and D itself O(1e-12), a δ of 1e-17 (the rounding of 1 − 0.01)
 * would move T²·D by 1e-5.
 */
export function mixtureWeight(w: number): number {
  return w >= 0.5 ? w : 1 - (1 - w);
}

/** β for "jsd" and λ for the skews (as mixtureWeight gives them), with the endpoints each refuses and why. */
function checkMix(divergence: Divergence, beta: unknown, skew: unknown, fn: string): number {
  if (divergence !== "jsd" && beta !== undefined) {
    throw new ValueError(`${fn}: beta applies only to divergence "jsd", got beta ${describeValue(beta)} with divergence "${divergence}"`);
  }
  const skews = divergence === "skewForward" || divergence === "skewReverse";
  if (!skews && skew !== undefined) {
    throw new ValueError(`${fn}: skew applies only to divergence "skewForward" or "skewReverse", got skew ${describeValue(skew)} with divergence "${divergence}"`);
  }
  if (divergence === "jsd") {
    const b = beta ?? 0.5;
    if (b === 0) throw new ValueError(`${fn}: beta = 0 makes "jsd" identically 0 (divided by β it tends to the forward KL): use divergence "forward"`);
    if (b === 1) throw new ValueError(`${fn}: beta = 1 makes "jsd" identically 0 (divided by 1 − β it tends to the reverse KL): use divergence "reverse"`);
    if (typeof b !== "number" || !(b > 0 && b < 1)) throw new ValueError(`${fn}: beta must be in the open interval (0, 1), got ${describeValue(b)}`);
    return mixtureWeight(b);
  }
  if (skews) {
    const l = skew ?? 0.1;
    if (l === 1) throw new ValueError(`${fn}: skew must be in [0, 1), got 1 (the mixture would be the first distribution itself and the divergence identically 0)`);
    if (typeof l !== "number" || !(l >= 0 && l < 1)) throw new ValueError(`${fn}: skew must be in [0, 1), got ${describeValue(l)}`);
    return mixtureWeight(l);
  }
  return 0;
}

/** Check a call of distillationLoss (or its composite) and resolve its options. Every error names `fn`. */
export function distillationCall(student: unknown, teacher: unknown, options: DistillationOptions | undefined, fn: string): DistillationCall {
  const s = checkClassLogits(student, fn, "student");
  const t = checkClassLogits(teacher, fn, "teacher");
  checkSameShape(s, t, fn, "student", "teacher");
  return distillationCallOfShape(s.shape.slice(0, -1), s.shape[s.ndim - 1]!, options, fn);
}

/** The reductions distillationLoss offers. */
const REDUCTIONS = ["mean", "sum", "none"] as const;

/** The keys of DistillationOptions, as checkOptions takes them. */
const OPTION_KEYS: readonly string[] = ["labels", "temperature", "alpha", "divergence", "beta", "skew", "scaleT2", "standardize", "ignoreIndex", "reduction"];

/**
 * The same checks and resolution for logits that are not given as tensors (linearDistillationLoss
 * forms them chunk by chunk): `leadShape` rows of `classes` classes. `extraKeys` are further
 * option keys the caller checks itself (they are accepted here, not read).
 */
export function distillationCallOfShape(
  leadShape: number[], classes: number, options: DistillationOptions | undefined, fn: string, extraKeys: readonly string[] = [],
): DistillationCall {
  const allowed = extraKeys.length === 0 ? OPTION_KEYS : [...OPTION_KEYS, ...extraKeys];
  options = checkOptions(options as Record<string, unknown> | undefined, fn, allowed) as DistillationOptions;
  const { T, tensor } = checkTemperatureOption(options.temperature ?? 4, fn);
  let rows = 1;
  for (const d of leadShape) rows *= d;
  const divergence = options.divergence ?? "forward";
  if (!DIVERGENCES.includes(divergence)) {
    throw new ValueError(`${fn}: divergence must be one of ${DIVERGENCES.map((d) => `"${d}"`).join(", ")}, got ${describeValue(divergence)}`);
  }
  const mix = checkMix(divergence, options.beta, options.skew, fn);
  const scaleT2 = checkBoolean(options.scaleT2 ?? true, fn, "scaleT2");
  const standardize = checkBoolean(options.standardize ?? false, fn, "standardize");
  const ignoreIndex = checkInteger(options.ignoreIndex ?? -100, fn, "ignoreIndex");
  const reduction = checkReduction(options.reduction ?? "mean", REDUCTIONS, fn);
  let labels: Int32Array | null = null;
  let alpha: number;
  let kept: Int32Array | null = null;
  let counted = rows;
  if (options.labels === undefined) {
    alpha = checkAlpha(options.alpha ?? 1, fn);
    if (alpha !== 1) throw new ValueError(`${fn}: alpha must be absent or 1 without labels (there is no hard-label term), got ${alpha}`);
  } else {
    alpha = checkAlpha(options.alpha ?? 0.5, fn);
    labels = checkLabels(options.labels, leadShape, classes, fn, "labels", ignoreIndex);
    // Counted first: the list of kept rows is made only when some row is ignored (rarely).
    counted = kernel("keptRows", "int32", rows)(labels, ignoreIndex, null);
    if (counted < rows) {
      kept = new Int32Array(counted);
      kernel("keptRows", "int32", rows)(labels, ignoreIndex, kept);
    }
  }
  return {
    fn, leadShape, rows, classes, T, temperature: tensor, alpha, labels, labelsTensor: labels === null ? null : options.labels!,
    divergence, mix, scaleT2, standardize, ignoreIndex, reduction, kept, counted,
  };
}
