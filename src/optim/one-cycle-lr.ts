import { ValueError } from "../tensor/errors.js";
import { checkBool, checkInt, checkNumber, describeValue } from "../tensor/shape.js";
import type { Optimizer } from "./optimizer.js";
import { SGD } from "./sgd.js";
import { Adam } from "./adam.js";
import { LRScheduler, goTo, lrAt, type SchedulerValue } from "./lr-scheduler.js";

/** Options of `OneCycleLR`: the peak lr, the length (totalSteps, or epochs × stepsPerEpoch), the phases and the momentum cycle, as PyTorch's. */
export interface OneCycleLROptions {
  /** The peak learning rate (required). */
  maxLr: number;
  /** The number of steps in the cycle; or give epochs and stepsPerEpoch (totalSteps = their product). */
  totalSteps?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  /** The fraction of the cycle spent raising the lr, in [0, 1] (default 0.3). */
  pctStart?: number;
  /** "cos" (default) or "linear" annealing within each phase. */
  annealStrategy?: "cos" | "linear";
  /** Cycle the momentum (SGD's momentum, Adam's β₁) inversely to the lr (default true). */
  cycleMomentum?: boolean;
  /** The momentum at the lr's peak (default 0.85). */
  baseMomentum?: number;
  /** The momentum at the start and end (default 0.95). */
  maxMomentum?: number;
  /** initial lr = maxLr / divFactor (default 25). */
  divFactor?: number;
  /** min lr = initial lr / finalDivFactor (default 1e4). */
  finalDivFactor?: number;
  /** Three phases (up, down to the initial lr, down to the min lr) instead of two (default false). */
  threePhase?: boolean;
}

type Settings = {
  maxLr: number;
  totalSteps: number;
  pctStart: number;
  annealStrategy: "cos" | "linear";
  cycleMomentum: boolean;
  baseMomentum: number;
  maxMomentum: number;
  divFactor: number;
  finalDivFactor: number;
  threePhase: boolean;
};

/** A phase: from the previous phase's end step to `end`, lr and momentum going start → end. */
interface Phase {
  end: number;
  lr: ["initial" | "max" | "min", "initial" | "max" | "min"];
  momentum: ["base" | "max", "base" | "max"];
}

/**
 * The 1cycle policy (Smith & Topin, "Super-Convergence"), as torch.optim.lr_scheduler.OneCycleLR,
 * stepped after every batch. With N = totalSteps, p = pctStart, the three learning rates
 * lr_init = maxLr/divFactor, lr_max = maxLr and lr_min = lr_init/finalDivFactor, and a phase
 * running from step a to step b (its end), step t has pct = (t − a)/(b − a) and
 *
 *   cos:    lr = end + (start − end)/2 · (1 + cos(π·pct))
 *   linear: lr = (end − start)·pct + start
 *
 * Two phases (default): lr_init → lr_max over steps 0 … pN − 1, then lr_max → lr_min until
 * N − 1. Three phases: lr_init → lr_max until pN − 1, lr_max → lr_init until 2pN − 2, then
 * lr_init → lr_min until N − 1. The momentum (when cycleMomentum) runs the other way between
 * maxMomentum and baseMomentum (maxMomentum → baseMomentum → maxMomentum; in three phases it stays
 * at maxMomentum in the last), written to SGD's `momentum` or Adam's `beta1` at every step
 * (so an SGD built without momentum gets one, as in PyTorch; pass cycleMomentum: false to keep 0).
 * The optimizer's initialLr becomes lr_init (so its lr at step 0 is lr_init).
 * step() may run N times (the N-th computes step N, just past the end of the last phase, as
 * PyTorch allows, and holds the last phase's end values there, where PyTorch extrapolates the
 * phase: its linear form gives a negative lr and a momentum above maxMomentum); one more is a
 * ValueError, as in PyTorch. A phase of zero length (pN = 1,
 * the first phase ending at step 0) is refused by name where PyTorch divides by zero.
 *
 * Check: maxLr 0.01, N = 10, p = 0.3 (cos): lr_init = 4e-4, steps 0, 1, 2 give 4e-4, 0.0052,
 * 0.01 (the first phase ends at step 2), step 9 gives lr_min = 4e-8.
 *
 * @example new OneCycleLR(opt, { maxLr: 0.01, epochs: 10, stepsPerEpoch: batchesPerEpoch })
 */
export class OneCycleLR extends LRScheduler {
  declare readonly maxLr: number;
  declare readonly totalSteps: number;
  declare readonly pctStart: number;
  declare readonly annealStrategy: "cos" | "linear";
  declare readonly cycleMomentum: boolean;
  declare readonly baseMomentum: number;
  declare readonly maxMomentum: number;
  declare readonly divFactor: number;
  declare readonly finalDivFactor: number;
  declare readonly threePhase: boolean;

  constructor(optimizer: Optimizer, options: OneCycleLROptions) {
    super("OneCycleLR", optimizer, options, KEYS, check, (s) => (s.maxLr as number) / (s.divFactor as number));
    this[goTo](0, "OneCycleLR");
  }

  protected [lrAt](t: number, fn: string): number {
    return at(this, this.baseLrs[0]!, t, fn).lr;
  }

  /** The lr, and the momentum (SGD's momentum or Adam's beta1) when cycled. @internal */
  override [goTo](t: number, fn: string): void {
    super[goTo](t, fn);
    if (!this.cycleMomentum) return;
    const { momentum } = at(this, this.baseLrs[0]!, t, fn);
    if (this.optimizer instanceof Adam) this.optimizer.beta1 = momentum;
    else (this.optimizer as SGD).momentum = momentum;
  }
}

const KEYS = ["maxLr", "totalSteps", "epochs", "stepsPerEpoch", "pctStart", "annealStrategy", "cycleMomentum", "baseMomentum", "maxMomentum", "divFactor", "finalDivFactor", "threePhase"] as const;

/** OneCycleLR's options (or saved settings), checked. */
function check(v: Readonly<Record<string, unknown>>, fn: string, optimizer: Optimizer): Settings {
  const maxLr = checkNumber(v.maxLr, fn, "maxLr", (x) => x > 0, "a finite number > 0");
  let totalSteps: number;
  if (v.totalSteps !== undefined) {
    if (v.epochs !== undefined || v.stepsPerEpoch !== undefined) {
      throw new ValueError(`${fn}: give totalSteps or epochs and stepsPerEpoch, not both (got totalSteps ${describeValue(v.totalSteps)}, epochs ${describeValue(v.epochs)}, stepsPerEpoch ${describeValue(v.stepsPerEpoch)})`);
    }
    totalSteps = checkInt(v.totalSteps, fn, "totalSteps", 1);
  } else if (v.epochs !== undefined && v.stepsPerEpoch !== undefined) {
    totalSteps = checkInt(v.epochs, fn, "epochs", 1) * checkInt(v.stepsPerEpoch, fn, "stepsPerEpoch", 1);
  } else {
    throw new ValueError(`${fn}: give totalSteps, or epochs and stepsPerEpoch (got epochs ${describeValue(v.epochs)}, stepsPerEpoch ${describeValue(v.stepsPerEpoch)})`);
  }
  const pctStart = checkNumber(v.pctStart ?? 0.3, fn, "pctStart", (x) => x >= 0 && x <= 1, "in [0, 1]");
  const annealStrategy = v.annealStrategy ?? "cos";
  if (annealStrategy !== "cos" && annealStrategy !== "linear") throw new ValueError(`${fn}: annealStrategy must be "cos" or "linear", got ${describeValue(annealStrategy)}`);
  const cycleMomentum = checkBool(v.cycleMomentum ?? true, fn, "cycleMomentum");
  const threePhase = checkBool(v.threePhase ?? false, fn, "threePhase");
  const adam = optimizer instanceof Adam;
  const nesterov = optimizer instanceof SGD && optimizer.nesterov;
  const expected = `a finite number ${nesterov ? "> 0 (the SGD is nesterov)" : ">= 0"}${adam ? " and < 1 (it becomes Adam's beta1)" : ""}`;
  const momentumOk = (x: number) => (nesterov ? x > 0 : x >= 0) && (!adam || x < 1);
  const baseMomentum = checkNumber(v.baseMomentum ?? 0.85, fn, "baseMomentum", momentumOk, expected);
  const maxMomentum = checkNumber(v.maxMomentum ?? 0.95, fn, "maxMomentum", momentumOk, expected);
  if (cycleMomentum && !adam && !(optimizer instanceof SGD)) {
    throw new ValueError(`${fn}: cycleMomentum needs an optimizer with a momentum (SGD) or beta1 (Adam, AdamW); pass cycleMomentum: false`);
  }
  const divFactor = checkNumber(v.divFactor ?? 25, fn, "divFactor", (x) => x > 0, "a finite number > 0");
  const finalDivFactor = checkNumber(v.finalDivFactor ?? 1e4, fn, "finalDivFactor", (x) => x > 0, "a finite number > 0");
  const s: Settings = { maxLr, totalSteps, pctStart, annealStrategy, cycleMomentum, baseMomentum, maxMomentum, divFactor, finalDivFactor, threePhase };
  return s;
}

/** The phases, with PyTorch's end steps (floats: pN − 1 need not be whole). */
function phases(s: Settings): Phase[] {
  const N = s.totalSteps;
  const p = s.pctStart;
  if (s.threePhase) {
    return [
      { end: p * N - 1, lr: ["initial", "max"], momentum: ["max", "base"] },
      { end: 2 * p * N - 2, lr: ["max", "initial"], momentum: ["base", "max"] },
      { end: N - 1, lr: ["initial", "min"], momentum: ["max", "max"] },
    ];
  }
  return [
    { end: p * N - 1, lr: ["initial", "max"], momentum: ["max", "base"] },
    { end: N - 1, lr: ["max", "min"], momentum: ["base", "max"] },
  ];
}

function anneal(s: Settings, start: number, end: number, pct: number): number {
  if (s.annealStrategy === "cos") return end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1);
  return (end - start) * pct + start;
}

/**
 * lr and momentum at step t from the settings and lr_init (PyTorch's get_lr: the first phase
 * whose end is ≥ t, else the last); a step past totalSteps or in a phase of zero length is a
 * ValueError naming `fn`.
 */
function at(s: Settings, initial: number, t: number, fn: string): { lr: number; momentum: number } {
  if (t > s.totalSteps) {
    throw new ValueError(`${fn}: step ${t} is past totalSteps = ${s.totalSteps} (PyTorch refuses it too); make totalSteps (or epochs × stepsPerEpoch) cover every step() call`);
  }
  const lrs = { initial, max: s.maxLr, min: initial / s.finalDivFactor };
  const momenta = { base: s.baseMomentum, max: s.maxMomentum };
  const list = phases(s);
  let start = 0;
  for (let i = 0; ; i++) {
    const phase = list[i]!;
    if (t <= phase.end || i === list.length - 1) {
      if (phase.end === start) {
        throw new ValueError(`${fn}: step ${t} falls in a phase of zero length (steps ${start} to ${phase.end}) with pctStart ${s.pctStart} and totalSteps ${s.totalSteps}; PyTorch divides by zero here; change pctStart or totalSteps`);
      }
      // pct > 1 only at step N, past the last phase's end: PyTorch extrapolates the phase there
      // (the linear form below lr_min, to a negative lr for the default settings, and the momentum
      // past maxMomentum, to an Adam β₁ ≥ 1); kdgrad holds the end values.
      const pct = Math.min((t - start) / (phase.end - start), 1);
      return {
        lr: anneal(s, lrs[phase.lr[0]], lrs[phase.lr[1]], pct),
        momentum: anneal(s, momenta[phase.momentum[0]], momenta[phase.momentum[1]], pct),
      };
    }
    start = phase.end;
  }
}
