import { checkInt } from "../tensor/shape.js";
import type { Optimizer } from "./optimizer.js";
import { LRScheduler, checkSetting, optionsOf, type SchedulerValue } from "./lr-scheduler.js";

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
  readonly tMax: number;
  readonly etaMin: number;

  constructor(optimizer: Optimizer, options: CosineAnnealingLROptions) {
    super("CosineAnnealingLR", optimizer);
    const s = CosineAnnealingLR.#check(optionsOf(options, "CosineAnnealingLR", true), "CosineAnnealingLR");
    this.tMax = s.tMax;
    this.etaMin = s.etaMin;
    this.initialStep();
  }

  static #check(o: object, fn: string): { tMax: number; etaMin: number } {
    const { tMax, etaMin = 0 } = o as Record<string, unknown>;
    return {
      tMax: checkInt(tMax, fn, "tMax", 1),
      etaMin: checkSetting(etaMin, fn, "etaMin", (v) => v >= 0, "a finite number >= 0"),
    };
  }

  protected lrAt(t: number): number {
    const { etaMin, tMax } = this;
    return etaMin + ((this.baseLrs[0]! - etaMin) * (1 + Math.cos((Math.PI * t) / tMax))) / 2;
  }

  protected settings(): Record<string, SchedulerValue> {
    return { tMax: this.tMax, etaMin: this.etaMin };
  }

  protected prepareSettings(dict: Readonly<Record<string, unknown>>, fn: string): () => void {
    const s = CosineAnnealingLR.#check(dict, fn);
    return () => Object.assign(this, s);
  }
}
