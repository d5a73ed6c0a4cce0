import { ValueError } from "../tensor/errors.js";
import { checkInt, describeValue } from "../tensor/shape.js";
import { Optimizer } from "./optimizer.js";

/** A scheduler setting saved in its state dict: numbers, flags, names and lists of them. */
export type SchedulerValue = number | boolean | string | null | readonly number[] | readonly SchedulerStateDict[];

/**
 * A scheduler's state, as PyTorch's scheduler.state_dict(), camelCased and JSON-safe: its
 * type, lastEpoch (the number of step() calls), baseLrs, lastLr and its settings (stepSize,
 * gamma, …; SequentialLR also its children's state dicts under `schedulers`).
 */
export interface SchedulerStateDict {
  readonly type: string;
  readonly lastEpoch: number;
  readonly baseLrs: readonly number[];
  readonly lastLr: readonly number[];
  readonly [setting: string]: SchedulerValue;
}

/**
 * The base of the learning-rate schedules, as torch.optim.lr_scheduler.LRScheduler for an
 * optimizer with one parameter group. Construction takes the schedule's first value: it sets
 * `optimizer.lr` to the lr of epoch 0 (lastEpoch = 0). Each `step()` (after
 * `optimizer.step()`, as in PyTorch) advances lastEpoch by one and sets `optimizer.lr` to the
 * schedule's value there; `getLastLr()` returns it, as a one-element list (PyTorch's list has
 * one entry per parameter group).
 *
 * The base lr is the optimizer's `initialLr` (PyTorch's group["initial_lr"]): the first
 * scheduler built on an optimizer sets it to the optimizer's lr at that moment, and later
 * ones (and SequentialLR) start from the same value.
 *
 * kdgrad computes every value from the schedule's closed form in the epoch (PyTorch's
 * _get_closed_form_lr, docs/training.md lists them), never by updating the previous lr. PyTorch's
 * step() uses an equivalent recursive ("chainable") form; the two agree to rounding (a few
 * ulps), but only the closed form is exact at every epoch, and only the recursive form carries
 * an lr changed by hand forward: here the next step() overwrites it. Schedules are combined in
 * time with SequentialLR (ChainedScheduler, which multiplies them, is not provided).
 *
 * stateDict() / loadStateDict() save and restore the position and the settings (JSON-safe:
 * saveCheckpoint in "kdgrad/node" keeps it in the file's metadata).
 */
export abstract class LRScheduler {
  readonly optimizer: Optimizer;
  /** The lr the schedule starts from, one per parameter group (kdgrad's optimizers have one). */
  baseLrs: number[];
  /** How many times step() has run since construction (PyTorch's last_epoch); 0 after construction. */
  lastEpoch = -1;
  #lastLr: number[] = [];
  readonly #name: string;

  protected constructor(name: string, optimizer: Optimizer, initialLr?: number) {
    this.#name = name;
    if (!(optimizer instanceof Optimizer)) {
      throw new ValueError(`${name}: optimizer must be an Optimizer (SGD, Adam, AdamW), got ${describeValue(optimizer)}`);
    }
    this.optimizer = optimizer;
    if (initialLr !== undefined) optimizer.initialLr = initialLr;
    else if (optimizer.initialLr === null) optimizer.initialLr = optimizer.lr;
    this.baseLrs = [optimizer.initialLr!];
  }

  /** The schedule's lr at `epoch` (≥ 0), from baseLrs[0] and the settings. */
  protected abstract lrAt(epoch: number): number;

  /** The settings saved in the state dict and restored by loadStateDict (checked there). */
  protected abstract settings(): Record<string, SchedulerValue>;

  /** Check saved settings (`fn` names the public function) and return what applies them. */
  protected abstract prepareSettings(dict: Readonly<Record<string, unknown>>, fn: string): () => void;

  /** Anything besides lr a schedule sets on the optimizer at `epoch` (OneCycleLR: the momentum). */
  protected applyExtras(_epoch: number): void {}

  /** The first value: epoch 0. Subclasses call it last in their constructor. */
  protected initialStep(): void {
    this.step();
  }

  /** Advance one epoch (or batch) and set optimizer.lr to the schedule's value there. */
  step(): void {
    this.goTo(this.lastEpoch + 1);
  }

  /** Jump to `epoch` and apply its lr (SequentialLR restarts a schedule at 0 with it). @internal */
  goTo(epoch: number): void {
    const lr = this.lrAt(epoch);
    this.lastEpoch = epoch;
    this.optimizer.lr = lr;
    this.applyExtras(epoch);
    this.#lastLr = [lr];
  }

  /** The lr the last step() (or the construction) set, one entry per parameter group. */
  getLastLr(): number[] {
    return [...this.#lastLr];
  }

  /**
   * The schedule's state: { type, lastEpoch, baseLrs, lastLr, …settings }, plain JSON-safe
   * values (PyTorch's scheduler.state_dict(), camelCased).
   *
   * @example const saved = scheduler.stateDict();
   */
  stateDict(): SchedulerStateDict {
    return { type: this.#name, lastEpoch: this.lastEpoch, baseLrs: [...this.baseLrs], lastLr: this.getLastLr(), ...this.settings() };
  }

  /**
   * Restore a state from stateDict() of a scheduler of the same type: its position, base lr
   * and settings (which replace this scheduler's, as PyTorch's load_state_dict replaces its
   * attributes). Unlike PyTorch it also sets optimizer.lr (and OneCycleLR's momentum) to the
   * restored position's value, so the order in which an optimizer and its scheduler are
   * rebuilt and loaded does not matter. Everything is checked first (ValueError naming the
   * entry); a refused dict changes nothing.
   *
   * @example scheduler.loadStateDict(saved)
   */
  loadStateDict(dict: SchedulerStateDict): void {
    this.prepareLoadStateDict(dict, "loadStateDict")();
  }

  /** loadStateDict's checks; the returned function applies the state. @internal */
  prepareLoadStateDict(dict: SchedulerStateDict, fn: string): () => void {
    if (dict === null || typeof dict !== "object") throw new ValueError(`${fn}: the scheduler state dict must be an object from scheduler.stateDict(), got ${describeValue(dict)}`);
    if (dict.type !== this.#name) throw new ValueError(`${fn}: the scheduler state dict is for ${describeValue(dict.type)}, but this scheduler is ${this.#name}`);
    // −1: a schedule inside a SequentialLR whose turn has not come (it has not started).
    const lastEpoch = checkInt(dict.lastEpoch, fn, `${this.#name} lastEpoch`, -1);
    const baseLrs = checkLrList(dict.baseLrs, fn, `${this.#name} baseLrs`);
    const lastLr = checkLrList(dict.lastLr, fn, `${this.#name} lastLr`);
    const applySettings = this.prepareSettings(dict, fn);
    return () => {
      this.baseLrs = baseLrs;
      applySettings();
      if (lastEpoch >= 0) {
        this.goTo(lastEpoch);
      } else {
        this.lastEpoch = lastEpoch;
        this.#lastLr = lastLr;
      }
    };
  }
}

function checkLrList(v: unknown, fn: string, what: string): number[] {
  if (!Array.isArray(v) || v.length !== 1 || typeof v[0] !== "number" || !Number.isFinite(v[0]) || v[0] < 0) {
    throw new ValueError(`${fn}: ${what} must be a list of one finite lr >= 0 (one parameter group), got ${describeValue(v)}`);
  }
  return [v[0]];
}

/** A numeric setting: a finite number satisfying `ok` (ValueError naming fn, the setting and the value). */
export function checkSetting(value: unknown, fn: string, arg: string, ok: (v: number) => boolean, expected: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || !ok(value)) {
    throw new ValueError(`${fn}: ${arg} must be ${expected}, got ${describeValue(value)}`);
  }
  return value;
}

/** The options argument of a scheduler: an object (ValueError naming fn otherwise). */
export function optionsOf<T extends object>(options: T | undefined, fn: string, required: boolean): T {
  if (options === undefined && !required) return {} as T;
  if (options === null || typeof options !== "object") throw new ValueError(`${fn}: options must be an object, got ${describeValue(options)}`);
  return options;
}
