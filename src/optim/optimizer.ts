import { Tensor } from "../tensor/tensor.js";
import { allocate, type Storage } from "../tensor/dtype.js";
import { DTypeError, ShapeError, ValueError } from "../tensor/errors.js";
import { checkNumber, describeValue, sameShape, shapeStr } from "../tensor/shape.js";
import { kernel } from "../kernels/registry.js";
import { Module, emptyParametersCause, moduleName } from "../nn/module.js";

/** A hyperparameter value of a parameter group. */
export type HyperValue = number | boolean | readonly number[] | null;

/**
 * The hyperparameters of the optimizer's one parameter group, as PyTorch's
 * `param_groups[0]`, camelCased: lr, initialLr (set by a learning-rate schedule, else null),
 * the optimizer's own (SGD: momentum, dampening, nesterov, weightDecay; Adam and AdamW: betas,
 * eps, weightDecay, amsgrad) and `params`, the indices 0…n − 1 of the parameters.
 */
export interface ParamGroup {
  readonly lr: number;
  readonly initialLr: number | null;
  readonly params: readonly number[];
  readonly [hyperparameter: string]: HyperValue;
}

/**
 * What an optimizer needs to resume, as PyTorch's `optimizer.state_dict()`: its type, the state
 * of each parameter stepped so far, keyed by the parameter's position in `optimizer.params`
 * (SGD: momentumBuffer; Adam/AdamW: step, expAvg, expAvgSq and, with amsgrad, maxExpAvgSq, the
 * camelCased names of PyTorch's keys), and the one parameter group.
 */
export interface OptimizerStateDict {
  readonly type: string;
  readonly state: ReadonlyMap<number, Readonly<Record<string, Tensor | number>>>;
  readonly paramGroups: readonly [ParamGroup];
}

/** One parameter's state inside an optimizer: flat storage in the parameter's dtype, or a count. */
export type ParamStateStorage = Record<string, Storage | number>;

/** What a subclass says about its per-parameter state, for loadStateDict to check. */
export interface StateSchema {
  /** Keys holding a tensor of the parameter's shape, and whether each must be present. */
  readonly tensors: Readonly<Record<string, boolean>>;
  /** Keys holding a count (an integer ≥ 1). */
  readonly counts: readonly string[];
}

/*
 * The state-dict protocol between Optimizer and its subclasses (and checkpoint.ts, and the
 * schedulers' prepareLoad). Its methods are keyed by symbols that kdgrad does not export, so no
 * user code can call them with unchecked arguments: they are not public API. A user's subclass
 * of Optimizer gets the defaults (no hyperparameters besides lr, no per-parameter state).
 */
/** The optimizer's own hyperparameters (without lr, initialLr and params). @internal */
export const hyperparameters: unique symbol = Symbol("hyperparameters");
/**
 * Check a saved group's own hyperparameters (`fn` names the public function for messages) and
 * return what applies them, with the schema of the per-parameter state. @internal
 */
export const prepareHyperparameters: unique symbol = Symbol("prepareHyperparameters");
/** The state kept for parameter p, or undefined if it has none yet. @internal */
export const paramState: unique symbol = Symbol("paramState");
/** Replace the whole per-parameter state (loadStateDict, after every check passed). @internal */
export const replaceState: unique symbol = Symbol("replaceState");
/** loadStateDict's checks for `fn`, the public function called; returns what applies the state. @internal */
export const prepareLoad: unique symbol = Symbol("prepareLoad");

/**
 * The base of SGD, Adam and AdamW, like torch.optim.Optimizer with a single
 * parameter group. It holds the parameters, a learning rate `lr` (public,
 * so a schedule may change it between steps) and per-parameter state.
 *
 * Parameters must be distinct contiguous float leaves with requiresGrad set
 * (what Module.parameters() returns): step() writes their `data` in place,
 * under noGrad and without recording anything, and skips a parameter whose
 * `grad` is null.
 *
 * stateDict() / loadStateDict() save and restore everything a step depends on (the
 * hyperparameters and each parameter's state), so that a run resumed from them continues bit
 * for bit (test/optim/state-dict.test.ts; saveCheckpoint in "kdgrad/node" writes them to a file).
 */
export abstract class Optimizer {
  readonly params: readonly Tensor[];
  /** The learning rate γ. */
  lr: number;
  /**
   * The learning rate a schedule starts from (PyTorch's group["initial_lr"]): set by the first
   * LRScheduler built on this optimizer (to lr at that moment, or OneCycleLR's maxLr/divFactor),
   * so that a second schedule, and SequentialLR, start from the same base. null until then.
   */
  initialLr: number | null = null;
  readonly #name: string;

  protected constructor(name: string, params: Iterable<Tensor>, lr: number) {
    this.#name = name;
    if (params instanceof Module) throw new ValueError(`${name}: params must be an iterable of tensors, got a module (${moduleName(params)}); pass model.parameters()`);
    const list = params == null || typeof (params as Iterable<Tensor>)[Symbol.iterator] !== "function" ? null : [...params];
    if (list === null) throw new ValueError(`${name}: params must be an iterable of tensors (e.g. model.parameters())`);
    if (list.length === 0) throw new ValueError(emptyMessage(name, params));
    const seen = new Set<Tensor>();
    list.forEach((p, i) => {
      if (!(p instanceof Tensor)) throw new ValueError(`${name}: params[${i}] is not a Tensor, got ${describeValue(p)}`);
      if (seen.has(p)) throw new ValueError(`${name}: params[${i}] appears more than once`);
      seen.add(p);
      if (!p.isLeaf || !p.requiresGrad) {
        throw new ValueError(`${name}: params[${i}] (shape ${shapeStr(p.shape)}) must be a leaf tensor with requiresGrad set`);
      }
      if (p.offset !== 0 || p.data.length !== p.size || !p.isContiguous()) {
        throw new ValueError(`${name}: params[${i}] (shape ${shapeStr(p.shape)}) must own contiguous storage, not be a view`);
      }
    });
    this.params = Object.freeze(list);
    this.lr = this.checkOption("lr", lr, lr >= 0, "a finite number >= 0");
  }

  /** Validate a numeric option: a finite number satisfying `ok`, else a ValueError naming optimizer, option and value. */
  protected checkOption(option: string, value: number, ok: boolean, expected: string): number {
    if (typeof value !== "number" || !Number.isFinite(value) || !ok) {
      throw new ValueError(`${this.#name}: ${option} must be ${expected}, got ${describeValue(value)}`);
    }
    return value;
  }

  /** One update of every parameter that has a gradient. */
  abstract step(): void;

  /** Set every parameter's gradient to null (PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const p of this.params) p.grad = null;
  }

  /** @internal */
  protected [hyperparameters](): Record<string, HyperValue> {
    return {};
  }
  /** @internal */
  protected [prepareHyperparameters](_group: Readonly<Record<string, unknown>>, _fn: string): { apply(): void; schema: StateSchema } {
    return { apply: () => {}, schema: { tensors: {}, counts: [] } };
  }
  /** @internal */
  protected [paramState](_p: Tensor): ParamStateStorage | undefined {
    return undefined;
  }
  /** @internal */
  protected [replaceState](_state: Map<Tensor, ParamStateStorage>): void {}

  /**
   * The optimizer's state, as PyTorch's optimizer.state_dict(): `type`, `state` (a Map from
   * the index of each parameter stepped so far to its state) and `paramGroups` (the one group's
   * hyperparameters). The tensors share storage with the optimizer's buffers, as PyTorch's
   * do: they follow later steps, so encode or copy them to keep a snapshot (saveCheckpoint and
   * encodeCheckpoint write them at once).
   *
   * @example const saved = opt.stateDict(); … fresh.loadStateDict(saved);
   */
  stateDict(): OptimizerStateDict {
    const state = new Map<number, Record<string, Tensor | number>>();
    this.params.forEach((p, i) => {
      const s = this[paramState](p);
      if (s === undefined) return;
      const out: Record<string, Tensor | number> = {};
      for (const [key, v] of Object.entries(s)) out[key] = typeof v === "number" ? v : new Tensor(v, p.shape);
      state.set(i, out);
    });
    const group: ParamGroup = { lr: this.lr, initialLr: this.initialLr, ...this[hyperparameters](), params: this.params.map((_, i) => i) };
    return { type: this.#name, state, paramGroups: [group] };
  }

  /**
   * Restore a state saved by stateDict() (of an optimizer of the same type over parameters of
   * the same shapes, in the same order), as PyTorch's load_state_dict: the saved
   * hyperparameters replace this optimizer's (lr included), and each parameter's state is
   * copied into fresh buffers of the parameter's dtype (a float32 state into a float64
   * parameter is converted, as PyTorch casts). Everything is checked before anything changes:
   * the type (ValueError naming both), the number of parameters (ValueError), each
   * hyperparameter as the constructor checks it, each state entry's keys (ValueError naming
   * the missing or unknown key), shape (ShapeError naming the parameter index, the key and
   * both shapes) and dtype (DTypeError for int32), and the counts (integers ≥ 1).
   *
   * @example opt.loadStateDict(saved)
   */
  loadStateDict(dict: OptimizerStateDict): void {
    this[prepareLoad](dict, "loadStateDict")();
  }

  /** @internal */
  [prepareLoad](dict: OptimizerStateDict, fn: string): () => void {
    const where = `${fn}: the ${this.#name} state dict`;
    if (dict === null || typeof dict !== "object") throw new ValueError(`${fn}: the optimizer state dict must be an object from optimizer.stateDict(), got ${describeValue(dict)}`);
    if (dict.type !== this.#name) {
      throw new ValueError(`${fn}: the optimizer state dict is for ${describeValue(dict.type)}, but this optimizer is ${this.#name}`);
    }
    const groups = dict.paramGroups as unknown;
    if (!Array.isArray(groups) || groups.length !== 1 || groups[0] === null || typeof groups[0] !== "object") {
      throw new ValueError(`${where} must hold paramGroups, a list of one group object (kdgrad's optimizers have one), got ${describeValue(groups)}`);
    }
    const group = groups[0] as Record<string, unknown>;
    const n = this.params.length;
    const indices = group.params;
    if (!Array.isArray(indices) || indices.length !== n || indices.some((v, i) => v !== i)) {
      throw new ValueError(`${where} lists parameters ${describeValue(indices)}, but this optimizer has ${n} (expected [0, …, ${n - 1}])`);
    }
    const lr = checkNumber(group.lr, fn, "lr", (v) => v >= 0, "a finite number >= 0");
    const initialLr = group.initialLr ?? null;
    if (initialLr !== null) checkNumber(initialLr, fn, "initialLr", (v) => v >= 0, "a finite number >= 0 or null");
    const { apply, schema } = this[prepareHyperparameters](group, fn);

    const raw = dict.state as unknown;
    if (raw === null || typeof raw !== "object") throw new ValueError(`${where} must hold state, a Map from parameter index to its state, got ${describeValue(raw)}`);
    const entries: [unknown, unknown][] = raw instanceof Map ? [...raw] : Object.entries(raw);
    const state = new Map<Tensor, ParamStateStorage>();
    for (const [key, value] of entries) {
      const i = typeof key === "string" && /^\d+$/.test(key) ? Number(key) : key;
      if (typeof i !== "number" || !Number.isInteger(i) || i < 0 || i >= n) {
        throw new ValueError(`${where} has state for parameter ${describeValue(key)}, but this optimizer's parameters are 0…${n - 1}`);
      }
      state.set(this.params[i]!, this.#checkEntry(value, i, schema, fn));
    }
    return () => {
      this.lr = lr;
      this.initialLr = initialLr as number | null;
      apply();
      this[replaceState](state);
    };
  }

  /** One parameter's saved state, checked against the schema and copied into fresh storage. */
  #checkEntry(value: unknown, i: number, schema: StateSchema, fn: string): ParamStateStorage {
    const p = this.params[i]!;
    const at = `${fn}: the state of parameter ${i} (shape ${shapeStr(p.shape)})`;
    if (value === null || typeof value !== "object" || value instanceof Tensor) throw new ValueError(`${at} must be an object of tensors and counts, got ${describeValue(value)}`);
    const v = value as Record<string, unknown>;
    const known = [...Object.keys(schema.tensors), ...schema.counts];
    const unknown = Object.keys(v).filter((k) => !known.includes(k));
    if (unknown.length > 0) throw new ValueError(`${at} has unknown key(s) ${unknown.map((k) => JSON.stringify(k)).join(", ")} (a ${this.#name} keeps ${known.join(", ")})`);
    const out: ParamStateStorage = {};
    for (const [key, required] of Object.entries(schema.tensors)) {
      const t = v[key];
      if (t === undefined) {
        if (required) throw new ValueError(`${at} is missing "${key}"`);
        continue;
      }
      if (!(t instanceof Tensor)) throw new ValueError(`${at}: "${key}" must be a Tensor, got ${describeValue(t)}`);
      if (!sameShape(t.shape, p.shape)) throw new ShapeError(`${at}: "${key}" has shape ${shapeStr(t.shape)}, not the parameter's ${shapeStr(p.shape)}`);
      if (t.dtype === "int32") throw new DTypeError(`${at}: "${key}" is int32; optimizer state is float (the parameter is ${p.dtype})`);
      // A fresh buffer in the parameter's dtype (the copy kernel: exact, or float64 → float32 rounded).
      const data = allocate(p.dtype, p.size, fn);
      kernel("copy", p.dtype, p.size)({ data: t.data, offset: t.offset, strides: t.strides }, t.shape, data);
      out[key] = data;
    }
    for (const key of schema.counts) {
      const c = v[key];
      if (typeof c !== "number" || !Number.isSafeInteger(c) || c < 1) throw new ValueError(`${at}: "${key}" must be an integer >= 1, got ${describeValue(c)}`);
      out[key] = c;
    }
    return out;
  }
}

/**
 * The refusal of an empty parameter list, naming the likely cause. An empty list from
 * Module.parameters() almost always means layers were assigned to fields without being
 * registered (kdgrad does not scan fields: src/nn/module.ts), so the message names those
 * fields and the fix.
 */
function emptyMessage(name: string, params: unknown): string {
  const cause = emptyParametersCause(params);
  if (cause === null) return `${name}: params is an empty list; an optimizer needs at least one parameter (e.g. model.parameters())`;
  const { module, fields } = cause;
  const fix = "kdgrad lists only what a constructor registers (nothing scans fields), so write "
    + "this.fc = this.registerModule(\"fc\", new Linear(…)) for a layer and this.registerParameter(name, t) for a tensor";
  if (fields.length === 0) return `${name}: params is an empty list: ${module}.parameters() found no parameters (the model registers none; ${fix})`;
  const shown = fields.slice(0, 8).join(", ") + (fields.length > 8 ? `, … (${fields.length} in all)` : "");
  return `${name}: params is an empty list: ${module}.parameters() found no parameters, but its field(s) ${shown} hold layers or tensors that were never registered; ${fix}`;
}

/**
 * The elements of a gradient in row-major order and the parameter's dtype: its own
 * storage when it is already laid out so, else a copy (the copy kernel, converting).
 */
export function gradData(p: Tensor): Storage | null {
  const g = p.grad;
  if (g === null) return null;
  if (g.offset === 0 && g.data.length === g.size && g.isContiguous() && g.dtype === p.dtype) return g.data;
  const out = allocate(p.dtype, p.size);
  kernel("copy", p.dtype, p.size)({ data: g.data, offset: g.offset, strides: g.strides }, g.shape, out);
  return out;
}
