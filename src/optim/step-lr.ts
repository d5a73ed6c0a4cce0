import { checkInt, checkNumber } from "../tensor/shape.js";
import type { Optimizer } from "./optimizer.js";
import { LRScheduler, goTo, lrAt } from "./lr-scheduler.js";

/** Options of `StepLR`: the period in steps and the decay factor γ (lrₜ = lr₀·γ^⌊t/stepSize⌋). */
export interface StepLROptions {
  /** The period, in epochs, of the decay (a positive integer; required). */
  stepSize: number;
  /** The factor γ of each decay (default 0.1). */
  gamma?: number;
}

/**
 * Decay the learning rate by γ every stepSize epochs, as torch.optim.lr_scheduler.StepLR:
 *
 *   lr(t) = lr₀ · γ^⌊t / stepSize⌋
 *
 * with lr₀ the optimizer's initial lr and t = lastEpoch, the number of step() calls.
 * Check (PyTorch's example): lr₀ = 0.05, stepSize 30, γ = 0.1 gives 0.05 for t < 30, 0.005
 * for 30 ≤ t < 60, 0.0005 for 60 ≤ t < 90.
 *
 * @example const scheduler = new StepLR(opt, { stepSize: 30, gamma: 0.1 }); // after each epoch: scheduler.step()
 */
export class StepLR extends LRScheduler {
  declare readonly stepSize: number;
  declare readonly gamma: number;

  constructor(optimizer: Optimizer, options: StepLROptions) {
    super("StepLR", optimizer, options, ["stepSize", "gamma"], ({ stepSize, gamma = 0.1 }, fn) => ({
      stepSize: checkInt(stepSize, fn, "stepSize", 1),
      gamma: checkNumber(gamma, fn, "gamma", (v) => v >= 0, "a finite number >= 0"),
    }));
    this[goTo](0, "StepLR");
  }

  protected [lrAt](t: number): number {
    return this.baseLrs[0]! * this.gamma ** Math.floor(t / this.stepSize);
  }
}
