import { ValueError } from "../tensor/errors.js";
import { describeValue } from "../tensor/shape.js";
import type { Optimizer } from "./optimizer.js";
import { LRScheduler, optionsOf, type SchedulerStateDict, type SchedulerValue } from "./lr-scheduler.js";

export interface SequentialLROptions {
  /** The schedules, in the order they run (each built on the same optimizer). */
  schedulers: readonly LRScheduler[];
  /** The epochs at which each schedule after the first takes over (strictly increasing positive integers, one fewer than schedulers). */
  milestones: readonly number[];
}

/**
 * Run schedules one after another, as torch.optim.lr_scheduler.SequentialLR: schedulers[0]
 * from epoch 0, and schedulers[i] from epoch milestones[i − 1] on, restarted there at its own
 * epoch 0. With m₀ = 0 and mᵢ the milestones, epoch t in [mᵢ, mᵢ₊₁) has
 *
 *   lr(t) = lrᵢ(t − mᵢ)
 *
 * where lrᵢ is schedule i's own formula (on the optimizer's initialLr, which every schedule
 * shares). Construction resets the optimizer's lr to initialLr, rewinds every schedule by one
 * epoch (their constructors each took a first step) and takes schedulers[0]'s first step
 * again, as PyTorch does; a schedule whose turn has not come sits at epoch −1 until its
 * milestone. Typical use: a LinearLR warm-up, then CosineAnnealingLR.
 *
 * Check (PyTorch's example): lr₀ = 1, ConstantLR(factor 0.1, totalIters 2), then
 * ExponentialLR(γ 0.9) from milestone 2: 0.1, 0.1, 0.9, 0.81, 0.729.
 *
 * @example
 * const warm = new LinearLR(opt, { startFactor: 0.1, totalIters: 5 });
 * const cos = new CosineAnnealingLR(opt, { tMax: 95 });
 * const scheduler = new SequentialLR(opt, { schedulers: [warm, cos], milestones: [5] });
 */
export class SequentialLR extends LRScheduler {
  readonly schedulers: readonly LRScheduler[];
  readonly milestones: readonly number[];

  constructor(optimizer: Optimizer, options: SequentialLROptions) {
    const fn = "SequentialLR";
    const o = optionsOf(options, fn, true);
    super(fn, optimizer);
    const { schedulers, milestones } = o;
    if (!Array.isArray(schedulers) || schedulers.length === 0) {
      throw new ValueError(`${fn}: schedulers must be a non-empty list of schedulers, got ${describeValue(schedulers)}`);
    }
    schedulers.forEach((s, i) => {
      if (!(s instanceof LRScheduler)) throw new ValueError(`${fn}: schedulers[${i}] must be a scheduler (StepLR, LinearLR, …), got ${describeValue(s)}`);
      if (s.optimizer !== optimizer) throw new ValueError(`${fn}: schedulers[${i}] is built on another optimizer; every schedule must drive this one`);
      if (schedulers.indexOf(s) !== i) throw new ValueError(`${fn}: schedulers[${i}] appears more than once`);
      if (s instanceof SequentialLR) throw new ValueError(`${fn}: schedulers[${i}] is a SequentialLR; list its schedules in one SequentialLR instead`);
    });
    SequentialLR.#checkMilestones(milestones, schedulers.length, fn);
    this.schedulers = Object.freeze([...schedulers]);
    this.milestones = Object.freeze([...milestones]);
    // PyTorch's construction: lr back to the initial lr, every schedule one epoch back, then
    // the first schedule's first step again.
    optimizer.lr = optimizer.initialLr!;
    for (const s of this.schedulers) s.lastEpoch -= 1;
    this.lastEpoch = -1;
    this.initialStep();
  }

  static #checkMilestones(milestones: unknown, count: number, fn: string): void {
    if (!Array.isArray(milestones) || milestones.length !== count - 1) {
      throw new ValueError(`${fn}: milestones must list ${count - 1} epoch(s) (one fewer than the ${count} schedulers), got ${describeValue(milestones)}`);
    }
    milestones.forEach((m, i) => {
      if (typeof m !== "number" || !Number.isInteger(m) || m < 1 || (i > 0 && m <= milestones[i - 1])) {
        throw new ValueError(`${fn}: milestones must be strictly increasing positive integers, got ${describeValue(milestones)}`);
      }
    });
  }

  /** The schedule running at epoch t: the number of milestones ≤ t (PyTorch's bisect_right). */
  #index(t: number): number {
    let i = 0;
    while (i < this.milestones.length && this.milestones[i]! <= t) i++;
    return i;
  }

  /** Epoch t: the running schedule's step, or its restart at 0 on its milestone. */
  override goTo(t: number): void {
    this.lastEpoch = t;
    const i = this.#index(t);
    const s = this.schedulers[i]!;
    if (i > 0 && this.milestones[i - 1] === t) s.goTo(0);
    else if (t === this.#start(i) + s.lastEpoch + 1) s.step();
    else s.goTo(t - this.#start(i)); // a jump (loadStateDict): the schedule's own epoch
  }

  /** The epoch at which schedule i starts. */
  #start(i: number): number {
    return i === 0 ? 0 : this.milestones[i - 1]!;
  }

  protected lrAt(t: number): number {
    return this.schedulers[this.#index(t)]!.getLastLr()[0]!;
  }

  override getLastLr(): number[] {
    return this.schedulers[this.#index(Math.max(this.lastEpoch, 0))]!.getLastLr();
  }

  protected settings(): Record<string, SchedulerValue> {
    return { milestones: [...this.milestones], schedulers: this.schedulers.map((s) => s.stateDict()) };
  }

  protected prepareSettings(dict: Readonly<Record<string, unknown>>, fn: string): () => void {
    SequentialLR.#checkMilestones(dict.milestones, this.schedulers.length, fn);
    const milestones = dict.milestones as number[];
    const saved = dict.schedulers;
    if (!Array.isArray(saved) || saved.length !== this.schedulers.length) {
      throw new ValueError(`${fn}: the SequentialLR state dict holds ${describeValue(saved)} as schedulers, but this SequentialLR has ${this.schedulers.length}`);
    }
    const applies = this.schedulers.map((s, i) => s.prepareLoadStateDict(saved[i] as SchedulerStateDict, fn));
    return () => {
      (this as { milestones: readonly number[] }).milestones = Object.freeze([...milestones]);
      for (const apply of applies) apply();
    };
  }
}
