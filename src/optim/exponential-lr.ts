import type { Optimizer } from "./optimizer.js";
import { LRScheduler, checkSetting, optionsOf, type SchedulerValue } from "./lr-scheduler.js";

export interface ExponentialLROptions {
  /** The factor γ applied every epoch (required). */
  gamma: number;
}

/**
 * Decay the learning rate by γ every epoch, as torch.optim.lr_scheduler.ExponentialLR:
 *
 *   lr(t) = lr₀ · γᵗ
 *
 * Check: lr₀ = 1, γ = 0.9 gives 1, 0.9, 0.81, 0.729, …
 *
 * @example new ExponentialLR(opt, { gamma: 0.95 })
 */
export class ExponentialLR extends LRScheduler {
  readonly gamma: number;

  constructor(optimizer: Optimizer, options: ExponentialLROptions) {
    super("ExponentialLR", optimizer);
    this.gamma = ExponentialLR.#check(optionsOf(options, "ExponentialLR", true), "ExponentialLR").gamma;
    this.initialStep();
  }

  static #check(o: object, fn: string): { gamma: number } {
    return { gamma: checkSetting((o as Record<string, unknown>).gamma, fn, "gamma", (v) => v >= 0, "a finite number >= 0") };
  }

  protected lrAt(t: number): number {
    return this.baseLrs[0]! * this.gamma ** t;
  }

  protected settings(): Record<string, SchedulerValue> {
    return { gamma: this.gamma };
  }

  protected prepareSettings(dict: Readonly<Record<string, unknown>>, fn: string): () => void {
    const s = ExponentialLR.#check(dict, fn);
    return () => Object.assign(this, s);
  }
}
