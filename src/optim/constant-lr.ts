import { checkInt, checkNumber } from "../tensor/shape.js";
import type { Optimizer } from "./optimizer.js";
import { LRScheduler, goTo, lrAt } from "./lr-scheduler.js";

/** Options of `ConstantLR`: the factor and the number of steps it applies for. */
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
  declare readonly factor: number;
  declare readonly totalIters: number;

  constructor(optimizer: Optimizer, options?: ConstantLROptions) {
    super("ConstantLR", optimizer, options, ["factor", "totalIters"], ({ factor = 1 / 3, totalIters = 5 }, fn) => ({
      factor: checkNumber(factor, fn, "factor", (v) => v >= 0 && v <= 1, "in [0, 1]"),
      totalIters: checkInt(totalIters, fn, "totalIters", 0),
    }));
    this[goTo](0, "ConstantLR");
  }

  protected [lrAt](t: number): number {
    return this.baseLrs[0]! * (this.factor + (t >= this.totalIters ? 1 : 0) * (1 - this.factor));
  }
}
