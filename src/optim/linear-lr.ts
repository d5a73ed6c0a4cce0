import { checkInt } from "../tensor/shape.js";
import type { Optimizer } from "./optimizer.js";
import { LRScheduler, checkSetting, optionsOf, type SchedulerValue } from "./lr-scheduler.js";

export interface LinearLROptions {
  /** The factor at epoch 0, in (0, 1] (default 1/3). */
  startFactor?: number;
  /** The factor from epoch totalIters on, in [0, 1] (default 1). */
  endFactor?: number;
  /** The number of epochs the factor takes to go from startFactor to endFactor (a positive integer, default 5). */
  totalIters?: number;
}

/**
 * Change the learning rate's factor linearly from startFactor to endFactor over totalIters
 * epochs (a warm-up with the defaults), as torch.optim.lr_scheduler.LinearLR:
 *
 *   lr(t) = lr₀ · (s + (e − s)·min(t, T)/T),   s = startFactor, e = endFactor, T = totalIters
 *
 * Check (PyTorch 2.1's example): lr₀ = 0.05, s = 0.5, T = 4 gives 0.025, 0.03125, 0.0375,
 * 0.04375, then 0.05 from t = 4. (The example in later PyTorch docs, s = 0.05, T = 40,
 * labels "epoch 0" the lr after the first step(): 0.0036875 = 0.05·(0.05 + 0.95/40).)
 *
 * @example new LinearLR(opt, { startFactor: 0.1, totalIters: 500 }) // a 500-step warm-up
 */
export class LinearLR extends LRScheduler {
  readonly startFactor: number;
  readonly endFactor: number;
  readonly totalIters: number;

  constructor(optimizer: Optimizer, options: LinearLROptions = {}) {
    super("LinearLR", optimizer);
    const s = LinearLR.#check(optionsOf(options, "LinearLR", false), "LinearLR");
    this.startFactor = s.startFactor;
    this.endFactor = s.endFactor;
    this.totalIters = s.totalIters;
    this.initialStep();
  }

  static #check(o: object, fn: string): { startFactor: number; endFactor: number; totalIters: number } {
    const { startFactor = 1 / 3, endFactor = 1, totalIters = 5 } = o as Record<string, unknown>;
    return {
      startFactor: checkSetting(startFactor, fn, "startFactor", (v) => v > 0 && v <= 1, "in (0, 1]"),
      endFactor: checkSetting(endFactor, fn, "endFactor", (v) => v >= 0 && v <= 1, "in [0, 1]"),
      totalIters: checkInt(totalIters, fn, "totalIters", 1),
    };
  }

  protected lrAt(t: number): number {
    const { startFactor: s, endFactor: e, totalIters: T } = this;
    return this.baseLrs[0]! * (s + ((e - s) * Math.min(T, t)) / T);
  }

  protected settings(): Record<string, SchedulerValue> {
    return { startFactor: this.startFactor, endFactor: this.endFactor, totalIters: this.totalIters };
  }

  protected prepareSettings(dict: Readonly<Record<string, unknown>>, fn: string): () => void {
    const s = LinearLR.#check(dict, fn);
    return () => Object.assign(this, s);
  }
}
