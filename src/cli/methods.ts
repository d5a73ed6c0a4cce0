/**
 * The distillation methods of `kdgrad distill --method` and `kdgrad compare`: each one's
 * published default hyperparameters, the options it reads, and its training loss as the
 * reference training recipe combines it with the hard-label cross-entropy (CE). The
 * choices and their sources are in docs/distillation-methods.md, "In the command line".
 *
 *   kd    distillationLoss(s, t, { labels, temperature, alpha, divergence, standardize })
 *         = α·T²·D + (1 − α)·CE: the CE is inside, weighted 1 − α (Hinton et al.).
 *   dkd   CE + min(epoch/W, 1)·dkdLoss(s, t, y, { α, β, T })       (mdistiller's DKD: CE
 *         weight 1, the DKD term warmed up linearly over its first W epochs, W = 20 of 240
 *         there, so here the same share of the student's epochs, W = round(epochs/12) ≥ 1).
 *   dist  CE + distLoss(s, t, { β, γ, T })                           (DIST's training: CE and
 *         the DIST term both with weight 1.) A batch of one row has no intra-class relation
 *         (distLoss refuses it): that batch trains on CE alone.
 *   nkd   CE + nkdLoss(s, t, y, { T, γ })                           (the authors' distiller
 *         keeps the student's own CE beside the NKD loss, whose first term is a CE weighted
 *         by the teacher's target probability.)
 *   wsld  wsldLoss(s, t, y, { T, α }) = CE + α·T²·mean(w·soft)      (the CE is inside.)
 *
 * Every loss is a mean over the batch's rows, so the CE terms are the same
 * crossEntropy(s, y) the hard-label student trains on.
 */
import {
  KdgradError, add, crossEntropy, distLoss, distillationLoss, dkdLoss, mul, nkdLoss, noGrad, tensor, wsldLoss,
  zeros, type DType, type Divergence, type Tensor,
} from "../index.js";
import { DIVERGENCES } from "../losses/distillation-options.js";
import { UsageError } from "./args.js";

export type Method = "kd" | "dkd" | "dist" | "nkd" | "wsld";

/** The methods in the order the commands list them. */
export const METHODS: readonly Method[] = ["kd", "dkd", "dist", "nkd", "wsld"];

/** The hyperparameter options of the methods (each also a flag of `kdgrad distill`). */
export type MethodOption = "temperature" | "alpha" | "beta" | "gamma" | "divergence" | "standardize";

/** The options each method reads; any other is refused with that method. */
export const METHOD_OPTIONS: Record<Method, readonly MethodOption[]> = {
  kd: ["temperature", "alpha", "divergence", "standardize"],
  dkd: ["temperature", "alpha", "beta", "standardize"],
  dist: ["temperature", "beta", "gamma"],
  nkd: ["temperature", "gamma"],
  wsld: ["temperature", "alpha"],
};

/** One method with every hyperparameter it reads resolved. */
export interface MethodSettings {
  method: Method;
  temperature: number;
  /** kd: the soft term's weight in [0, 1]; dkd: TCKD's weight; wsld: the soft term's weight. */
  alpha?: number;
  /** dkd: NCKD's weight; dist: the inter-class (row) relation's weight. */
  beta?: number;
  /** dist: the intra-class (column) relation's weight; nkd: the non-target term's weight. */
  gamma?: number;
  /** kd only; "forward" when absent. */
  divergence?: Divergence;
  /** kd and dkd; false when absent. */
  standardize?: boolean;
  /** dkd only: the warm-up length W in epochs. */
  warmup?: number;
}

/**
 * Each method's published defaults. kd's are the command's reference recipe (T = 8, α = 0.9,
 * Hinton's experiment on this data), not a paper's ImageNet setting.
 */
export function methodDefaults(method: Method, studentEpochs: number): MethodSettings {
  switch (method) {
    case "kd":
      return { method, temperature: 8, alpha: 0.9 };
    case "dkd":
      return { method, temperature: 4, alpha: 1, beta: 8, warmup: dkdWarmup(studentEpochs) };
    case "dist":
      return { method, temperature: 1, beta: 1, gamma: 1 };
    case "nkd":
      return { method, temperature: 1, gamma: 1.5 };
    case "wsld":
      return { method, temperature: 2, alpha: 2.5 };
  }
}

/** mdistiller warms DKD up over 20 of its 240 epochs; the same share of `epochs`, at least 1. */
export function dkdWarmup(epochs: number): number {
  return Math.max(1, Math.round((epochs * 20) / 240));
}

/** "T = 8, α = 0.9" and so on: the settings as the reports print them. */
export function settingsText(m: MethodSettings): string {
  const parts: string[] = [];
  if (m.method === "kd") {
    parts.push(`T = ${m.temperature}`);
    if (m.alpha !== 1) parts.push(`α = ${m.alpha}`);
    if (m.divergence !== undefined && m.divergence !== "forward") parts.push(m.divergence);
    if (m.standardize) parts.push("standardized");
    return parts.join(", ");
  }
  if (m.alpha !== undefined) parts.push(`α = ${m.alpha}`);
  if (m.beta !== undefined) parts.push(`β = ${m.beta}`);
  if (m.gamma !== undefined) parts.push(`γ = ${m.gamma}`);
  parts.push(`T = ${m.temperature}`);
  if (m.standardize) parts.push("standardized");
  if (m.warmup !== undefined) parts.push(`warm-up ${m.warmup} epoch${m.warmup === 1 ? "" : "s"}`);
  return parts.join(", ");
}

/**
 * The student's loss for one batch: logits s, the teacher's logits t for the same rows,
 * labels y and the epoch (from 1). See the top of this file for each method's form.
 */
export function methodLoss(m: MethodSettings, s: Tensor, t: Tensor, y: Tensor, epoch: number): Tensor {
  switch (m.method) {
    case "kd":
      return distillationLoss(s, t, kdOptions(m, y));
    case "dkd": {
      const ramp = Math.min(epoch / m.warmup!, 1);
      return add(crossEntropy(s, y), mul(dkdLoss(s, t, y, dkdOptions(m)), ramp));
    }
    case "dist":
      // distLoss needs two rows (the intra-class relation correlates a class over the batch).
      return s.shape[0]! < 2 ? crossEntropy(s, y) : add(crossEntropy(s, y), distLoss(s, t, { temperature: m.temperature, beta: m.beta!, gamma: m.gamma! }));
    case "nkd":
      return add(crossEntropy(s, y), nkdLoss(s, t, y, { temperature: m.temperature, gamma: m.gamma! }));
    case "wsld":
      return wsldLoss(s, t, y, { temperature: m.temperature, alpha: m.alpha! });
  }
}

/**
 * kd's options for distillationLoss: no labels (no hard term) when α = 1, and the divergence
 * and standardize keys only when they differ from the defaults, so that the default call is
 * the one `kdgrad distill` has always made.
 */
function kdOptions(m: MethodSettings, labels: Tensor) {
  return {
    ...(m.alpha === 1 ? {} : { labels, alpha: m.alpha! }),
    temperature: m.temperature,
    ...(m.divergence !== undefined && m.divergence !== "forward" ? { divergence: m.divergence } : {}),
    ...(m.standardize ? { standardize: true } : {}),
  };
}

function dkdOptions(m: MethodSettings) {
  return { temperature: m.temperature, alpha: m.alpha!, beta: m.beta!, ...(m.standardize ? { standardize: true } : {}) };
}

/**
 * Run the method's loss once on a 2×10 example (the student float32, the teacher in
 * `teacherDtype`), adding one option at a time: whatever the library refuses is refused
 * before any training, naming the first option it refuses (the library decides the ranges).
 */
export function checkMethodSettings(m: MethodSettings, teacherDtype: DType, command: string): void {
  const s = zeros([2, 10], { dtype: "float32" });
  const t = zeros([2, 10], { dtype: teacherDtype });
  const y = tensor([0, 1], { dtype: "int32" });
  const order: MethodOption[] = ["temperature", "alpha", "beta", "gamma", "divergence", "standardize"];
  let partial: MethodSettings = { ...methodDefaults(m.method, 240), temperature: m.temperature };
  for (const option of order) {
    if (option !== "temperature") {
      if (m[option] === undefined) continue;
      partial = { ...partial, [option]: m[option] };
    }
    try {
      noGrad(() => methodLoss(partial, s, t, y, 1));
    } catch (e) {
      if (!(e instanceof KdgradError)) throw e;
      throw new UsageError(`kdgrad ${command}: --${option} ${String(m[option])} is refused by the loss: ${e.message.split("\n")[0]}`);
    }
  }
}

/**
 * The settings of `--method NAME` from the options given (undefined: not given): the method's
 * defaults, overridden by the options it reads; an option it does not read is a UsageError
 * naming the option, its value and the methods that read it.
 */
export function methodSettings(
  method: string, given: Partial<Record<MethodOption, number | string | boolean>>, studentEpochs: number, command: string,
): MethodSettings {
  if (!(METHODS as readonly string[]).includes(method)) {
    throw new UsageError(`kdgrad ${command}: --method must be one of ${METHODS.join(", ")}, got '${method}'`);
  }
  const m = methodDefaults(method as Method, studentEpochs);
  const reads = METHOD_OPTIONS[m.method];
  for (const [option, value] of Object.entries(given) as [MethodOption, number | string | boolean | undefined][]) {
    if (value === undefined) continue;
    if (!reads.includes(option)) {
      const readers = METHODS.filter((k) => METHOD_OPTIONS[k].includes(option));
      const shown = option === "standardize" ? "--standardize" : `--${option} ${String(value)}`;
      throw new UsageError(`kdgrad ${command}: ${shown} does not apply to --method ${m.method} (read by ${readers.join(" and ")}; ${m.method} reads ${reads.map((r) => `--${r}`).join(", ")})`);
    }
  }
  if (given.divergence !== undefined) {
    const d = String(given.divergence);
    if (!(DIVERGENCES as readonly string[]).includes(d)) {
      throw new UsageError(`kdgrad ${command}: --divergence must be one of ${DIVERGENCES.join(", ")}, got '${d}'`);
    }
    m.divergence = d as Divergence;
  }
  for (const option of ["temperature", "alpha", "beta", "gamma"] as const) {
    const v = given[option];
    if (v !== undefined) m[option] = v as number;
  }
  if (given.standardize === true) m.standardize = true;
  return m;
}
