import { ValueError } from "../tensor/errors.js";
import { describeValue } from "../tensor/shape.js";
import { checkOptions } from "../tensor/options.js";
import { prepareLoad, type Optimizer } from "./optimizer.js";
import { LRScheduler, goTo, lrAt, prepareSettings, settingsOf, type SchedulerStateDict, type SchedulerValue } from "./lr-scheduler.js";

/** Options of `SequentialLR`: the schedules to run in turn and the steps at which each hands over. */
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
  declare readonly schedulers: readonly LRScheduler[];
  declare readonly milestones: readonly number[];

  constructor(optimizer: Optimizer, options: SequentialLROptions) {
    const fn = "SequentialLR";
    super(fn, optimizer, options, ["schedulers", "milestones"], (o, _, opt) => {
      const { schedulers, milestones } = o;
      if (!Array.isArray(schedulers) || schedulers.length === 0) {
        throw new ValueError(`${fn}: schedulers must be a non-empty list of schedulers, got ${describeValue(schedulers)}`);
      }
      schedulers.forEach((s: unknown, i) => {
        if (!(s instanceof LRScheduler)) throw new ValueError(`${fn}: schedulers[${i}] must be a scheduler (StepLR, LinearLR, …), got ${describeValue(s)}`);
        if (s.optimizer !== opt) throw new ValueError(`${fn}: schedulers[${i}] is built on another optimizer; every schedule must drive this one`);
        if (schedulers.indexOf(s) !== i) throw new ValueError(`${fn}: schedulers[${i}] appears more than once`);
        if (s instanceof SequentialLR) throw new ValueError(`${fn}: schedulers[${i}] is a SequentialLR; list its schedules in one SequentialLR instead`);
      });
      checkMilestones(milestones, schedulers.length, fn);
      return { schedulers: Object.freeze([...schedulers]) as unknown as SchedulerValue, milestones: Object.freeze([...milestones]) };
    });
    // PyTorch's construction: lr back to the initial lr, every schedule one epoch back, then
    // the first schedule's first step again.
    optimizer.lr = optimizer.initialLr!;
    for (const s of this.schedulers) s.lastEpoch -= 1;
    this[goTo](0, fn);
  }

  /**
   * Epoch t: the running schedule i at its own epoch t − mᵢ (0 on its milestone, a restart; one
   * past its last otherwise, its step; anything else after loadStateDict). A refusal names `fn`,
   * the call the user made (SequentialLR.step), not the schedule's own step. @internal
   */
  override [goTo](t: number, fn: string): void {
    const i = running(this.milestones, t);
    this.schedulers[i]![goTo](t - startOf(this.milestones, i), fn);
    this.lastEpoch = t; // after the schedule took its epoch: a refused step changes nothing
  }

  protected [lrAt](t: number): number {
    return this.schedulers[running(this.milestones, t)]!.getLastLr()[0]!;
  }

  override getLastLr(): number[] {
    return this.schedulers[running(this.milestones, Math.max(this.lastEpoch, 0))]!.getLastLr();
  }

  /** @internal */
  override [settingsOf](): Record<string, SchedulerValue> {
    return { milestones: [...this.milestones], schedulers: this.schedulers.map((s) => s.stateDict()) };
  }

  /**
   * The milestones and each schedule's dict, checked by that schedule; at epoch t the running
   * schedule's own epoch must be t − its milestone (so that the jump there is one its dict allows).
   * @internal
   */
  override [prepareSettings](saved: Readonly<Record<string, unknown>>, fn: string, lastEpoch: number): () => void {
    const { milestones, schedulers: dicts } = checkOptions(saved, fn, ["milestones", "schedulers"], "SequentialLR state dict");
    const n = this.schedulers.length;
    checkMilestones(milestones, n, fn);
    if (!Array.isArray(dicts) || dicts.length !== n) {
      throw new ValueError(`${fn}: the SequentialLR state dict holds ${describeValue(dicts)} as schedulers, but this SequentialLR has ${n}`);
    }
    const applies = this.schedulers.map((s, i) => s[prepareLoad](dicts[i] as SchedulerStateDict, fn));
    if (lastEpoch >= 0) {
      const i = running(milestones, lastEpoch);
      const own = lastEpoch - startOf(milestones, i);
      if ((dicts[i] as SchedulerStateDict).lastEpoch !== own) {
        throw new ValueError(`${fn}: the SequentialLR state dict is at epoch ${lastEpoch}, where schedulers[${i}] is at its epoch ${own}, but that schedule's dict says ${describeValue((dicts[i] as SchedulerStateDict).lastEpoch)}`);
      }
    }
    return () => {
      (this as { milestones: readonly number[] }).milestones = Object.freeze([...milestones]);
      for (const apply of applies) apply();
    };
  }
}

function checkMilestones(milestones: unknown, count: number, fn: string): asserts milestones is number[] {
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
function running(milestones: readonly number[], t: number): number {
  let i = 0;
  while (i < milestones.length && milestones[i]! <= t) i++;
  return i;
}

/** The epoch at which schedule i starts. */
function startOf(milestones: readonly number[], i: number): number {
  return i === 0 ? 0 : milestones[i - 1]!;
}
