import { checkInt, checkNumber } from "../tensor/shape.js";
import type { Optimizer } from "./optimizer.js";
import { LRScheduler, goTo, lrAt } from "./lr-scheduler.js";

/** Options of `CosineAnnealingLR`: the half period Tmax in steps and the floor etaMin. */
export interface CosineAnnealingLROptions {
  /** The number of epochs of the half cosine, T_max (a positive integer; required). */
  tMax: number;
  /** The lr reached at t = tMax, η_min (default 0). */
  etaMin?: number;
}

/**
 * Anneal the learning rate along half a cosine from lr₀ to η_min over tMax epochs, as
 * torch.optim.lr_scheduler.CosineAnnealingLR (SGDR without restarts):
 *
 *   lr(t) = η_min + (lr₀ − η_min)·(1 + cos(π·t/T_max))/2
 *
 * Check: t = 0 gives lr₀ (exactly when η_min = 0), t = T_max gives η_min exactly
 * (Math.cos(Math.PI) is −1), t = T_max/2 the mean of the two. Past T_max the formula goes on
 * (the lr rises again, period 2·T_max), as PyTorch's does.
 *
 * @example new CosineAnnealingLR(opt, { tMax: epochs })
 */
export class CosineAnnealingLR extends LRScheduler {
  declare readonly tMax: number;
  declare readonly etaMin: number;

  constructor(optimizer: Optimizer, options: CosineAnnealingLROptions) {
    super("CosineAnnealingLR", optimizer, options, ["tMax", "etaMin"], ({ tMax, etaMin = 0 }, fn) => ({
      tMax: checkInt(tMax, fn, "tMax", 1),
      etaMin: checkNumber(etaMin, fn, "etaMin", (v) => v >= 0, "a finite number >= 0"),
    }));
    this[goTo](0, "CosineAnnealingLR");
  }

  protected [lrAt](t: number): number {
    const { etaMin, tMax } = this;
    // (lr₀ − η)·((1 + cos)/2), not ((lr₀ − η)·(1 + cos))/2: halving is exact, so the two round
    // alike, but the product with 1 + cos ≤ 2 overflows for |lr₀ − η| above half the largest
    // double (η = 1e308 gave −∞), and with the half it cannot.
    return etaMin + (this.baseLrs[0]! - etaMin) * ((1 + Math.cos((Math.PI * t) / tMax)) / 2);
  }
}
