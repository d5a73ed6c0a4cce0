import { checkInt, checkNumber } from "../tensor/shape.js";
import type { Optimizer } from "./optimizer.js";
import { LRScheduler, goTo, lrAt } from "./lr-scheduler.js";

/** Options of `LinearLR`: the start and end factors and the number of steps between them (a warm-up). */
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
 * computed as PyTorch's closed form before T, and as lr₀·e exactly from T on.
 * Check (PyTorch 2.1's example): lr₀ = 0.05, s = 0.5, T = 4 gives 0.025, 0.03125, 0.0375,
 * 0.04375, then 0.05 from t = 4. (The example in later PyTorch docs, s = 0.05, T = 40,
 * labels "epoch 0" the lr after the first step(): 0.0036875 = 0.05·(0.05 + 0.95/40).)
 *
 * @example new LinearLR(opt, { startFactor: 0.1, totalIters: 500 }) // a 500-step warm-up
 */
export class LinearLR extends LRScheduler {
  declare readonly startFactor: number;
  declare readonly endFactor: number;
  declare readonly totalIters: number;

  constructor(optimizer: Optimizer, options?: LinearLROptions) {
    super("LinearLR", optimizer, options, ["startFactor", "endFactor", "totalIters"], ({ startFactor = 1 / 3, endFactor = 1, totalIters = 5 }, fn) => ({
      startFactor: checkNumber(startFactor, fn, "startFactor", (v) => v > 0 && v <= 1, "in (0, 1]"),
      endFactor: checkNumber(endFactor, fn, "endFactor", (v) => v >= 0 && v <= 1, "in [0, 1]"),
      totalIters: checkInt(totalIters, fn, "totalIters", 1),
    }));
    this[goTo](0, "LinearLR");
  }

  protected [lrAt](t: number): number {
    const { startFactor: s, endFactor: e, totalIters: T } = this;
    // From T on the factor is e itself: PyTorch's s + ((e − s)·T)/T rounds, and below e, so that
    // endFactor 0 gave a negative lr (−1.4e-18), which no optimizer state dict accepts.
    return this.baseLrs[0]! * (t >= T ? e : s + ((e - s) * t) / T);
  }
}
