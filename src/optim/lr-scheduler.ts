import { ValueError } from "../tensor/errors.js";
import { checkInt, checkNumber, describeValue } from "../tensor/shape.js";
import { checkOptions } from "../tensor/options.js";
import { Optimizer, prepareLoad } from "./optimizer.js";

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
 * A schedule's settings check: from the options given to its constructor, or the settings of a
 * saved state dict (each already through checkOptions: known keys, no nulls), the settings
 * (which become the scheduler's fields and its state dict's entries), or a ValueError naming
 * `fn`, the public function called. @internal
 */
export type SettingsCheck = (o: Readonly<Record<string, unknown>>, fn: string, optimizer: Optimizer) => Record<string, SchedulerValue>;

/*
 * The schedules' internal protocol. Its methods are keyed by symbols that kdgrad does not
 * export, so no user code can call them with arguments that were never checked: they are not
 * public API (the public surface is step, getLastLr, stateDict and loadStateDict).
 */
/** The schedule's lr at epoch t ≥ 0 (`fn` names the public function, for a refusal). @internal */
export const lrAt: unique symbol = Symbol("lrAt");
/** Move to epoch t and apply its lr (SequentialLR restarts a schedule at 0 with it). @internal */
export const goTo: unique symbol = Symbol("goTo");
/** The settings saved in the state dict. @internal */
export const settingsOf: unique symbol = Symbol("settingsOf");
/** Check a saved dict's settings; returns what applies them. @internal */
export const prepareSettings: unique symbol = Symbol("prepareSettings");

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
 * ones (and SequentialLR) start from the same value. It must be a finite number ≥ 0.
 *
 * kdgrad computes every value from the schedule's closed form in the epoch (PyTorch's
 * _get_closed_form_lr, docs/training.md lists them), never by updating the previous lr. PyTorch's
 * step() uses an equivalent recursive ("chainable") form; the two agree to rounding (a few
 * ulps), but only the closed form is exact at every epoch, and only the recursive form carries
 * an lr changed by hand forward: here the next step() overwrites it. Schedules are combined in
 * time with SequentialLR (ChainedScheduler, which multiplies them, is not provided).
 *
 * Every option is checked before anything changes: a refused construction leaves the optimizer
 * as it was. stateDict() / loadStateDict() save and restore the position and the settings
 * (JSON-safe: saveCheckpoint in "kdgrad/node" keeps it in the file's metadata).
 */
export abstract class LRScheduler {
  readonly optimizer: Optimizer;
  /** The lr the schedule starts from, one per parameter group (kdgrad's optimizers have one). */
  baseLrs: number[];
  /** How many times step() has run since construction (PyTorch's last_epoch); 0 after construction. */
  lastEpoch = -1;
  #lastLr: number[] = [];
  readonly #name: string;
  readonly #keys: readonly string[];
  readonly #check: SettingsCheck;
  readonly #settingKeys: readonly string[];

  /**
   * Check `optimizer` and `options` (the option names `keys`, the values by `check`), then set
   * the settings as fields and the optimizer's initialLr (to `initialLr` of the settings when
   * given, as OneCycleLR's maxLr/divFactor; else to its lr if no schedule set it yet). Takes no
   * step: a subclass's constructor takes the first (epoch 0) when its own state is ready.
   */
  protected constructor(
    name: string, optimizer: Optimizer, options: object | undefined, keys: readonly string[], check: SettingsCheck,
    initialLr?: (settings: Record<string, SchedulerValue>) => number,
  ) {
    this.#name = name;
    // The hooks are keyed by symbols kdgrad does not export: only kdgrad's schedules have them.
    if (typeof this[lrAt] !== "function") throw new ValueError(`${name}: LRScheduler cannot be extended outside kdgrad; use its schedules (StepLR, …, SequentialLR)`);
    if (!(optimizer instanceof Optimizer)) {
      throw new ValueError(`${name}: optimizer must be an Optimizer (SGD, Adam, AdamW), got ${describeValue(optimizer)}`);
    }
    const s = check(checkOptions(options as Record<string, unknown> | undefined, name, keys), name, optimizer);
    const start = initialLr === undefined ? (optimizer.initialLr ?? optimizer.lr) : initialLr(s);
    const what = initialLr !== undefined ? "the initial lr (maxLr / divFactor)" : optimizer.initialLr === null ? "the optimizer's lr" : "the optimizer's initialLr";
    checkNumber(start, name, what, (v) => v >= 0, "a finite number >= 0");
    this.#probe(s, start, 0, name);
    this.#keys = keys;
    this.#check = check;
    this.#settingKeys = Object.keys(s);
    Object.assign(this, s);
    this.optimizer = optimizer;
    optimizer.initialLr = start;
    this.baseLrs = [start];
  }

  protected abstract [lrAt](epoch: number, fn: string): number;

  /** Advance one epoch (or batch) and set optimizer.lr to the schedule's value there. */
  step(): void {
    this[goTo](this.lastEpoch + 1, `${this.#name}.step`);
  }

  /** @internal */
  [goTo](epoch: number, fn: string): void {
    const lr = checkedLr(this[lrAt](epoch, fn), epoch, fn);
    this.lastEpoch = epoch;
    this.optimizer.lr = lr;
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
    return { type: this.#name, lastEpoch: this.lastEpoch, baseLrs: [...this.baseLrs], lastLr: this.getLastLr(), ...this[settingsOf]() };
  }

  /** @internal */
  [settingsOf](): Record<string, SchedulerValue> {
    return Object.fromEntries(this.#settingKeys.map((k) => [k, (this as unknown as Record<string, SchedulerValue>)[k]]));
  }

  /**
   * Restore a state from stateDict() of a scheduler of the same type: its position, base lr
   * and settings (which replace this scheduler's, as PyTorch's load_state_dict replaces its
   * attributes). Unlike PyTorch it also sets optimizer.lr (and OneCycleLR's momentum) to the
   * restored position's value, so the order in which an optimizer and its scheduler are
   * rebuilt and loaded does not matter. Everything is checked first (ValueError naming the
   * entry; an unknown key or a null is refused, as in an options object, and every setting
   * must be there); a refused dict changes nothing.
   *
   * @example scheduler.loadStateDict(saved)
   */
  loadStateDict(dict: SchedulerStateDict): void {
    this[prepareLoad](dict, "loadStateDict")();
  }

  /** loadStateDict's checks; the returned function applies the state. @internal */
  [prepareLoad](dict: SchedulerStateDict, fn: string): () => void {
    const name = this.#name;
    if (dict === null || typeof dict !== "object") throw new ValueError(`${fn}: the scheduler state dict must be an object from scheduler.stateDict(), got ${describeValue(dict)}`);
    if (dict.type !== name) throw new ValueError(`${fn}: the scheduler state dict is for ${describeValue(dict.type)}, but this scheduler is ${name}`);
    const { type: _, lastEpoch: e, baseLrs: b, lastLr: l, ...rest } = dict;
    // −1: a schedule inside a SequentialLR whose turn has not come (it has not started).
    const lastEpoch = checkInt(e, fn, `${name} lastEpoch`, -1, Number.MAX_SAFE_INTEGER);
    const baseLrs = checkLrList(b, fn, `${name} baseLrs`);
    const lastLr = checkLrList(l, fn, `${name} lastLr`);
    const applySettings = this[prepareSettings](rest, fn, lastEpoch, baseLrs[0]!);
    return () => {
      this.baseLrs = baseLrs;
      applySettings();
      if (lastEpoch >= 0) {
        this[goTo](lastEpoch, fn);
      } else {
        this.lastEpoch = lastEpoch;
        this.#lastLr = lastLr;
      }
    };
  }

  /**
   * The saved settings, through the constructor's checks (and every one present), and the lr at
   * the saved position computed with them before anything changes. @internal
   */
  [prepareSettings](saved: Readonly<Record<string, unknown>>, fn: string, lastEpoch: number, baseLr: number): () => void {
    const what = `${this.#name} state dict`;
    const s = this.#check(checkOptions(saved, fn, this.#keys, what), fn, this.optimizer);
    const missing = this.#settingKeys.find((k) => saved[k] === undefined);
    if (missing !== undefined) throw new ValueError(`${fn}: the ${what} has no ${JSON.stringify(missing)}`);
    if (lastEpoch >= 0) this.#probe(s, baseLr, lastEpoch, fn);
    return () => Object.assign(this, s);
  }

  /**
   * The lr at `epoch` with settings `s` and base lr `base`, computed on a stand-in (this class's
   * methods, those fields) so that a position the settings cannot reach (OneCycleLR past
   * totalSteps, or in a phase of zero length) or an lr that overflows is refused before the
   * construction or load changes anything.
   */
  #probe(s: Record<string, SchedulerValue>, base: number, epoch: number, fn: string): void {
    const probe = Object.assign(Object.create(Object.getPrototypeOf(this) as object) as LRScheduler, s, { baseLrs: [base] });
    checkedLr(probe[lrAt](epoch, fn), epoch, fn);
  }
}

/** A schedule's lr: a finite number ≥ 0, or a ValueError naming `fn` (settings that overflow there: γ > 1 for long enough). */
function checkedLr(lr: number, epoch: number, fn: string): number {
  return checkNumber(lr, fn, `the lr at epoch ${epoch}`, (v) => v >= 0, "a finite number >= 0 (the schedule's settings overflow there)");
}

function checkLrList(v: unknown, fn: string, what: string): number[] {
  if (!Array.isArray(v) || v.length !== 1 || typeof v[0] !== "number" || !Number.isFinite(v[0]) || v[0] < 0) {
    throw new ValueError(`${fn}: ${what} must be a list of one finite lr >= 0 (one parameter group), got ${describeValue(v)}`);
  }
  return [v[0]];
}
