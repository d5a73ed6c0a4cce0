import { checkInt } from "../tensor/shape.js";
import type { Optimizer } from "./optimizer.js";
import { LRScheduler, checkSetting, optionsOf, type SchedulerValue } from "./lr-scheduler.js";

export interface ConstantLROptions {
  /** The factor applied until totalIters, in [0, 1] (default 1/3). */
  factor?: number;
  /** The epoch from which the factor no longer applies (a non-negative integer, default 5). */
  totalIters?: number;
}

/**
 * Multiply the learning rate by a constant factor until epoch totalIters, as
 * torch.optim.lr_scheduler.ConstantLR:
 *
 *   lr(t) = lr₀ · factor   for t < totalIters,   lr₀ from then on
 *
 * (PyTorch's closed form lr₀·(factor + [t ≥ totalIters]·(1 − factor)), computed so.)
 * Check (PyTorch's example): lr₀ = 0.05, factor 0.5, totalIters 40: 0.025 until epoch 39,
 * 0.05 from epoch 40.
 *
 * @example new ConstantLR(opt, { factor: 0.1, totalIters: 20 })
 */
export class ConstantLR extends LRScheduler {
  readonly factor: number;
  readonly totalIters: number;

  constructor(optimizer: Optimizer, options: ConstantLROptions = {}) {
    super("ConstantLR", optimizer);
    const s = ConstantLR.#check(optionsOf(options, "ConstantLR", false), "ConstantLR");
    this.factor = s.factor;
    this.totalIters = s.totalIters;
    this.initialStep();
  }

  static #check(o: object, fn: string): { factor: number; totalIters: number } {
    const { factor = 1 / 3, totalIters = 5 } = o as Record<string, unknown>;
    return {
      factor: checkSetting(factor, fn, "factor", (v) => v >= 0 && v <= 1, "in [0, 1]"),
      totalIters: checkInt(totalIters, fn, "totalIters", 0),
    };
  }

  protected lrAt(t: number): number {
    return this.baseLrs[0]! * (this.factor + (t >= this.totalIters ? 1 : 0) * (1 - this.factor));
  }

  protected settings(): Record<string, SchedulerValue> {
    return { factor: this.factor, totalIters: this.totalIters };
  }

  protected prepareSettings(dict: Readonly<Record<string, unknown>>, fn: string): () => void {
    const s = ConstantLR.#check(dict, fn);
    return () => Object.assign(this, s);
  }
}
