import { ValueError } from "../tensor/errors.js";
import { checkInt, describeValue } from "../tensor/shape.js";
import type { Optimizer } from "./optimizer.js";
import { SGD } from "./sgd.js";
import { Adam } from "./adam.js";
import { LRScheduler, checkSetting, optionsOf, type SchedulerValue } from "./lr-scheduler.js";

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

interface Settings {
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
}

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
 * PyTorch allows); one more is a ValueError, as in PyTorch. A phase of zero length (pN = 1,
 * the first phase ending at step 0) is refused by name where PyTorch divides by zero.
 *
 * Check: maxLr 0.01, N = 10, p = 0.3 (cos): lr_init = 4e-4, steps 0, 1, 2 give 4e-4, 0.0052,
 * 0.01 (the first phase ends at step 2), step 9 gives lr_min = 4e-8.
 *
 * @example new OneCycleLR(opt, { maxLr: 0.01, epochs: 10, stepsPerEpoch: batchesPerEpoch })
 */
export class OneCycleLR extends LRScheduler {
  readonly maxLr!: number;
  readonly totalSteps!: number;
  readonly pctStart!: number;
  readonly annealStrategy!: "cos" | "linear";
  readonly cycleMomentum!: boolean;
  readonly baseMomentum!: number;
  readonly maxMomentum!: number;
  readonly divFactor!: number;
  readonly finalDivFactor!: number;
  readonly threePhase!: boolean;

  constructor(optimizer: Optimizer, options: OneCycleLROptions) {
    const s = OneCycleLR.#check(optionsOf(options, "OneCycleLR", true), optimizer, "OneCycleLR", true);
    super("OneCycleLR", optimizer, s.maxLr / s.divFactor);
    Object.assign(this, s);
    this.initialStep();
  }

  static #check(o: object, optimizer: Optimizer, fn: string, fresh: boolean): Settings {
    const v = o as Record<string, unknown>;
    const maxLr = checkSetting(v.maxLr, fn, "maxLr", (x) => x > 0, "a finite number > 0");
    let totalSteps: number;
    if (v.totalSteps !== undefined) {
      if (fresh && (v.epochs !== undefined || v.stepsPerEpoch !== undefined)) {
        throw new ValueError(`${fn}: give totalSteps or epochs and stepsPerEpoch, not both (got totalSteps ${describeValue(v.totalSteps)}, epochs ${describeValue(v.epochs)}, stepsPerEpoch ${describeValue(v.stepsPerEpoch)})`);
      }
      totalSteps = checkInt(v.totalSteps, fn, "totalSteps", 1);
    } else if (v.epochs !== undefined && v.stepsPerEpoch !== undefined) {
      totalSteps = checkInt(v.epochs, fn, "epochs", 1) * checkInt(v.stepsPerEpoch, fn, "stepsPerEpoch", 1);
    } else {
      throw new ValueError(`${fn}: give totalSteps, or epochs and stepsPerEpoch (got epochs ${describeValue(v.epochs)}, stepsPerEpoch ${describeValue(v.stepsPerEpoch)})`);
    }
    const pctStart = checkSetting(v.pctStart ?? 0.3, fn, "pctStart", (x) => x >= 0 && x <= 1, "in [0, 1]");
    const annealStrategy = v.annealStrategy ?? "cos";
    if (annealStrategy !== "cos" && annealStrategy !== "linear") throw new ValueError(`${fn}: annealStrategy must be "cos" or "linear", got ${describeValue(annealStrategy)}`);
    const cycleMomentum = v.cycleMomentum ?? true;
    if (typeof cycleMomentum !== "boolean") throw new ValueError(`${fn}: cycleMomentum must be true or false, got ${describeValue(cycleMomentum)}`);
    const threePhase = v.threePhase ?? false;
    if (typeof threePhase !== "boolean") throw new ValueError(`${fn}: threePhase must be true or false, got ${describeValue(threePhase)}`);
    const adam = optimizer instanceof Adam;
    const nesterov = optimizer instanceof SGD && optimizer.nesterov;
    const [lo, range] = nesterov ? [(x: number) => x > 0, "> 0 (the SGD is nesterov)"] : [(x: number) => x >= 0, ">= 0"];
    const momentumOk = (x: number) => lo(x) && (!adam || x < 1);
    const expected = `a finite number ${range}${adam ? " and < 1 (it becomes Adam's beta1)" : ""}`;
    const baseMomentum = checkSetting(v.baseMomentum ?? 0.85, fn, "baseMomentum", momentumOk, expected);
    const maxMomentum = checkSetting(v.maxMomentum ?? 0.95, fn, "maxMomentum", momentumOk, expected);
    if (cycleMomentum && !adam && !(optimizer instanceof SGD)) {
      throw new ValueError(`${fn}: cycleMomentum needs an optimizer with a momentum (SGD) or beta1 (Adam, AdamW); pass cycleMomentum: false`);
    }
    const divFactor = checkSetting(v.divFactor ?? 25, fn, "divFactor", (x) => x > 0, "a finite number > 0");
    const finalDivFactor = checkSetting(v.finalDivFactor ?? 1e4, fn, "finalDivFactor", (x) => x > 0, "a finite number > 0");
    return { maxLr, totalSteps, pctStart, annealStrategy, cycleMomentum, baseMomentum, maxMomentum, divFactor, finalDivFactor, threePhase };
  }

  /** The phases, with PyTorch's end steps (floats: pN − 1 need not be whole). */
  #phases(): Phase[] {
    const N = this.totalSteps;
    const p = this.pctStart;
    if (this.threePhase) {
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

  #anneal(start: number, end: number, pct: number): number {
    if (this.annealStrategy === "cos") return end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1);
    return (end - start) * pct + start;
  }

  /** lr and momentum at step t (PyTorch's get_lr: the first phase whose end is ≥ t, else the last). */
  #at(t: number): { lr: number; momentum: number } {
    if (t > this.totalSteps) {
      throw new ValueError(`OneCycleLR.step: step ${t} is past totalSteps = ${this.totalSteps} (PyTorch refuses it too); make totalSteps (or epochs × stepsPerEpoch) cover every step() call`);
    }
    const initial = this.baseLrs[0]!;
    const lrs = { initial, max: this.maxLr, min: initial / this.finalDivFactor };
    const momenta = { base: this.baseMomentum, max: this.maxMomentum };
    const phases = this.#phases();
    let start = 0;
    for (let i = 0; i < phases.length; i++) {
      const phase = phases[i]!;
      if (t <= phase.end || i === phases.length - 1) {
        if (phase.end === start) {
          throw new ValueError(`OneCycleLR: step ${t} falls in a phase of zero length (steps ${start} to ${phase.end}) with pctStart ${this.pctStart} and totalSteps ${this.totalSteps}; PyTorch divides by zero here; change pctStart or totalSteps`);
        }
        const pct = (t - start) / (phase.end - start);
        return {
          lr: this.#anneal(lrs[phase.lr[0]], lrs[phase.lr[1]], pct),
          momentum: this.#anneal(momenta[phase.momentum[0]], momenta[phase.momentum[1]], pct),
        };
      }
      start = phase.end;
    }
    throw new ValueError("OneCycleLR: unreachable");
  }

  protected lrAt(t: number): number {
    return this.#at(t).lr;
  }

  protected override applyExtras(t: number): void {
    if (!this.cycleMomentum) return;
    const { momentum } = this.#at(t);
    if (this.optimizer instanceof Adam) this.optimizer.beta1 = momentum;
    else (this.optimizer as SGD).momentum = momentum;
  }

  protected settings(): Record<string, SchedulerValue> {
    const { maxLr, totalSteps, pctStart, annealStrategy, cycleMomentum, baseMomentum, maxMomentum, divFactor, finalDivFactor, threePhase } = this;
    return { maxLr, totalSteps, pctStart, annealStrategy, cycleMomentum, baseMomentum, maxMomentum, divFactor, finalDivFactor, threePhase };
  }

  protected prepareSettings(dict: Readonly<Record<string, unknown>>, fn: string): () => void {
    const s = OneCycleLR.#check(dict, this.optimizer, fn, false);
    return () => Object.assign(this, s);
  }
}
