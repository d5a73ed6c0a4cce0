import { checkNumber } from "../tensor/shape.js";
import type { Optimizer } from "./optimizer.js";
import { LRScheduler, goTo, lrAt } from "./lr-scheduler.js";

/** Options of `ExponentialLR`: the decay factor γ per step (lrₜ = lr₀·γᵗ). */
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
  declare readonly gamma: number;

  constructor(optimizer: Optimizer, options: ExponentialLROptions) {
    super("ExponentialLR", optimizer, options, ["gamma"], ({ gamma }, fn) => ({
      gamma: checkNumber(gamma, fn, "gamma", (v) => v >= 0, "a finite number >= 0"),
    }));
    this[goTo](0, "ExponentialLR");
  }

  protected [lrAt](t: number): number {
    return this.baseLrs[0]! * this.gamma ** t;
  }
}
