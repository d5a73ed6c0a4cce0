import { checkInt } from "../tensor/shape.js";
import type { Optimizer } from "./optimizer.js";
import { LRScheduler, checkSetting, optionsOf, type SchedulerValue } from "./lr-scheduler.js";

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
  readonly stepSize: number;
  readonly gamma: number;

  constructor(optimizer: Optimizer, options: StepLROptions) {
    super("StepLR", optimizer);
    const s = StepLR.#check(optionsOf(options, "StepLR", true), "StepLR");
    this.stepSize = s.stepSize;
    this.gamma = s.gamma;
    this.initialStep();
  }

  static #check(o: Readonly<Record<string, unknown>> | StepLROptions, fn: string): { stepSize: number; gamma: number } {
    const { stepSize, gamma = 0.1 } = o as Record<string, unknown>;
    return {
      stepSize: checkInt(stepSize, fn, "stepSize", 1),
      gamma: checkSetting(gamma, fn, "gamma", (v) => v >= 0, "a finite number >= 0"),
    };
  }

  protected lrAt(t: number): number {
    return this.baseLrs[0]! * this.gamma ** Math.floor(t / this.stepSize);
  }

  protected settings(): Record<string, SchedulerValue> {
    return { stepSize: this.stepSize, gamma: this.gamma };
  }

  protected prepareSettings(dict: Readonly<Record<string, unknown>>, fn: string): () => void {
    const s = StepLR.#check(dict, fn);
    return () => Object.assign(this, s);
  }
}
