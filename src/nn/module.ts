import { Tensor } from "../tensor/tensor.js";
import { DTypeError, ShapeError, ValueError } from "../tensor/errors.js";
import { checkBool, describeValue, sameShape, shapeStr } from "../tensor/shape.js";
import { checkOptions } from "../tensor/options.js";
import { noGrad } from "../autograd/no-grad.js";
import { kernel } from "../kernels/registry.js";

/** A state dict given as a Map (ordered) or a plain object of tensors. */
export type StateDict = ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>;

/** Options of `Module.loadStateDict`. */
export interface LoadStateDictOptions {
  /** Require the keys to match exactly (default true). Shapes must match either way. */
  strict?: boolean;
}

/** What `Module.loadStateDict` did not match (empty unless strict is false). */
export interface LoadStateDictResult {
  /** Parameters of the module that the dict did not hold (only with strict: false). */
  missingKeys: string[];
  /** Keys of the dict that name no parameter (only with strict: false). */
  unexpectedKeys: string[];
}

/**
 * The base of every layer, like torch.nn.Module.
 *
 * Registration is explicit: a subclass calls `registerParameter(name, t)`
 * and `registerModule(name, m)` in its constructor (nothing scans fields, so
 * a helper tensor stored on `this` never becomes a parameter by accident).
 * Names are then dotted paths in registration order, own parameters before
 * children's as in PyTorch: a Sequential of Linear, ReLU, Linear has
 * "0.weight", "0.bias", "2.weight", "2.bias".
 *
 * Parameters are contiguous float leaves with requiresGrad set, so that
 * optimizers may update `p.data` in place.
 *
 * A layer stored in a field but not registered (`this.fc = new Linear(4, 2)`
 * without registerModule) is invisible to parameters(), stateDict() and
 * toString(), and so to an optimizer: handing an optimizer the empty list of
 * such a model is a ValueError that names the unregistered fields.
 *
 * `String(model)` (and console.log in Node) prints the tree as PyTorch's
 * print(model) does; a layer shows its settings through extraRepr().
 */
export abstract class Module {
  /**
   * Training mode, true from construction: Dropout zeroes elements only while it is true.
   * `train()` / `eval()` set it on the whole tree (as PyTorch's model.train() / model.eval());
   * nothing else reads it, so evaluation must call eval() (and noGrad for speed), and the
   * next training epoch train() again.
   */
  training = true;
  readonly #parameters = new Map<string, Tensor>();
  readonly #modules = new Map<string, Module>();

  /** The layer's computation. */
  abstract forward(x: Tensor): Tensor;

  /**
   * Make `t` a parameter called `name` (no dots) and return it. It must be a
   * contiguous float leaf; its requiresGrad flag is set.
   */
  protected registerParameter(name: string, t: Tensor): Tensor {
    this.#checkName(name, "registerParameter");
    if (!(t instanceof Tensor)) throw new ValueError(`registerParameter: "${name}" must be a Tensor, got ${describeValue(t)}`);
    if (!t.isLeaf) throw new ValueError(`registerParameter: "${name}" must be a leaf tensor (detach() it first)`);
    if (t.dtype === "int32") throw new DTypeError(`registerParameter: "${name}" must be float32 or float64, got int32`);
    if (t.offset !== 0 || t.data.length !== t.size || !t.isContiguous()) {
      throw new ValueError(`registerParameter: "${name}" must own contiguous storage (pass t.clone().detach() for a view)`);
    }
    t.requiresGrad_(true);
    this.#parameters.set(name, t);
    return t;
  }

  /** Make `m` a child module called `name` (no dots) and return it. */
  protected registerModule<M extends Module>(name: string, m: M): M {
    this.#checkName(name, "registerModule");
    if (!(m instanceof Module)) throw new ValueError(`registerModule: "${name}" must be a Module, got ${describeValue(m)}`);
    // A module inside its own subtree would make every walk of the tree (parameters, stateDict,
    // train, printing) endless: refuse it here, where the mistake is made. A module shared by two
    // parents (a tree with a repeated branch) is fine: its parameters are listed once.
    const child: Module = m;
    if (child === this || child.#contains(this)) {
      throw new ValueError(`registerModule: "${name}" (${moduleName(child)}) ${child === this ? "is" : "contains"} the ${moduleName(this)} it is registered on: a module cannot be inside itself`);
    }
    this.#modules.set(name, m);
    return m;
  }

  /** Whether `target` is among this module's registered descendants (each visited once). */
  #contains(target: Module, seen = new Set<Module>()): boolean {
    for (const c of this.#modules.values()) {
      if (c === target) return true;
      if (seen.has(c)) continue;
      seen.add(c);
      if (c.#contains(target, seen)) return true;
    }
    return false;
  }

  #checkName(name: string, fn: string): void {
    if (typeof name !== "string" || name === "" || name.includes(".")) {
      throw new ValueError(`${fn}: name must be a non-empty string without dots, got ${describeValue(name)}`);
    }
    if (this.#parameters.has(name) || this.#modules.has(name)) {
      throw new ValueError(`${fn}: "${name}" is already registered on ${moduleName(this)}`);
    }
  }

  /** The direct children, in registration order. */
  namedChildren(): [string, Module][] {
    return [...this.#modules];
  }

  /**
   * Every parameter with its dotted name: own parameters first, then each
   * child's, recursively. A tensor shared by two layers is listed once,
   * under its first name (as PyTorch's named_parameters).
   */
  namedParameters(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    for (const [name, t] of this.#allParameters("")) {
      if (seen.has(t)) continue;
      seen.add(t);
      out.push([name, t]);
    }
    return out;
  }

  /** The parameters (each once), in namedParameters order: what an optimizer takes. */
  parameters(): Tensor[] {
    const list = this.namedParameters().map(([, t]) => t);
    // An empty list remembers its module, so that an optimizer refusing it can say why.
    if (list.length === 0) emptyParameterLists.set(list, this);
    return list;
  }

  *#allParameters(prefix: string): Generator<[string, Tensor]> {
    for (const [name, t] of this.#parameters) yield [prefix + name, t];
    for (const [name, m] of this.#modules) yield* m.#allParameters(`${prefix}${name}.`);
  }

  /**
   * Set training mode (`mode`, default true) on this module and every registered
   * descendant, and return this (so `model.train().forward(x)` chains). In kdgrad only
   * Dropout behaves differently in the two modes (it is the identity in eval mode); a
   * user's layer may read `this.training` too. An unregistered layer keeps its own mode.
   *
   * @example model.train(); for (const b of batches(...)) { ... } model.eval();
   */
  train(mode = true): this {
    this.training = checkBool(mode, "train", "mode");
    for (const m of this.#modules.values()) m.train(mode);
    return this;
  }

  /**
   * Evaluation mode: train(false) (PyTorch's model.eval()). It does not turn off gradient
   * recording; wrap inference in noGrad(() => …) for that.
   *
   * @example const logits = noGrad(() => model.eval().forward(xTest));
   */
  eval(): this {
    return this.train(false);
  }

  /**
   * The layer's own settings, as PyTorch's extra_repr: what toString prints inside the
   * parentheses ("in_features=64, out_features=16, bias=True" for a Linear), "" by default.
   * A user's layer may override it; several lines are allowed.
   */
  extraRepr(): string {
    return "";
  }

  /**
   * The module tree as PyTorch prints it: the class name, then its extraRepr and each
   * registered child on its own line as "(name): child", indented by two spaces per level
   * (a module with only a one-line extraRepr stays on one line):
   *
   *   Sequential(
   *     (0): Linear(in_features=64, out_features=16, bias=True)
   *     (1): ReLU()
   *     (2): Linear(in_features=16, out_features=10, bias=True)
   *   )
   *
   * Names are the classes' own (kdgrad's layers keep theirs in a minified bundle too).
   * Settings use PyTorch's spelling (in_features, True), so the text diffs against PyTorch's.
   *
   * @example console.log(String(mlp([64, 16, 10])))
   */
  toString(): string {
    const extra: unknown = this.extraRepr();
    // A user's layer may override extraRepr: what it returns is printed, so it must be text.
    if (typeof extra !== "string") throw new ValueError(`toString: ${moduleName(this)}.extraRepr() must return a string, got ${describeValue(extra)}`);
    const extraLines = extra === "" ? [] : extra.split("\n");
    const childLines = [...this.#modules].map(([name, m]) => `(${name}): ${indentAfterFirst(m.toString(), 2)}`);
    const lines = [...extraLines, ...childLines];
    let out = `${moduleName(this)}(`;
    if (extraLines.length === 1 && childLines.length === 0) out += extraLines[0];
    else if (lines.length > 0) out += `\n  ${lines.join("\n  ")}\n`;
    return `${out})`;
  }

  /** Node's console.log and util.inspect print the tree too (a registry symbol: no Node import). */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  /** Forget every parameter's gradient (sets `.grad` to null). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /**
   * The parameters by dotted name, in order, as detached tensors that share
   * storage with the parameters (so they follow later updates; copy them to
   * keep a snapshot). Unlike namedParameters, a shared tensor appears under
   * every name, as in PyTorch.
   */
  stateDict(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [name, t] of this.#allParameters("")) out.set(name, t.detach());
    return out;
  }

  /**
   * Copy values from `dict` into the existing parameters (their storage is
   * kept, so optimizers holding them stay valid). Everything is checked
   * before anything is copied, so a failed load changes nothing:
   * - a parameter missing from `dict` (ValueError), unless strict is false;
   * - a key of `dict` naming no parameter (ValueError), unless strict is false;
   * - a shape that differs (ShapeError naming the key and both shapes);
   * - an int32 value for a float parameter (DTypeError).
   * float32 and float64 values convert to the parameter's dtype.
   *
   * @example model.loadStateDict(decodeSafetensors(bytes).tensors)
   */
  loadStateDict(dict: StateDict, options?: LoadStateDictOptions): LoadStateDictResult {
    return loadStateDictInto(this, dict, options, "loadStateDict");
  }
}

/**
 * Module.loadStateDict's body; `fn` names the public function the user called
 * (loadStateDict, or kdgrad/node's loadModule) in every message.
 */
export function loadStateDictInto(module: Module, dict: StateDict, options: LoadStateDictOptions | undefined, fn: string): LoadStateDictResult {
  if (dict === null || typeof dict !== "object" || Array.isArray(dict)) {
    throw new ValueError(`${fn}: dict must be a Map or an object of tensors (e.g. model.stateDict()), got ${describeValue(dict)}`);
  }
  const strict = checkOptions(options, fn, ["strict"]).strict ?? true;
  if (typeof strict !== "boolean") throw new ValueError(`${fn}: strict must be true or false, got ${describeValue(strict)}`);
  // A Map keyed by the dict's names: names come from user data (a file), so "__proto__" or
  // "constructor" are ordinary keys here, never Object.prototype members.
  const entries = new Map<string, unknown>(dict instanceof Map ? dict : Object.entries(dict as Record<string, unknown>));
  for (const [name, t] of entries) {
    if (typeof name !== "string") throw new ValueError(`${fn}: keys must be strings, got ${describeValue(name)}`);
    if (!(t instanceof Tensor)) throw new ValueError(`${fn}: "${name}" must be a Tensor, got ${describeValue(t)}`);
  }
  const own = module.stateDict();
  const missingKeys = [...own.keys()].filter((k) => !entries.has(k));
  const unexpectedKeys = [...entries.keys()].filter((k) => !own.has(k));
  const list = (keys: string[]): string => keys.map((k) => JSON.stringify(k)).join(", ");
  if (strict && missingKeys.length > 0) {
    throw new ValueError(`${fn}: missing key(s) in state dict for ${moduleName(module)}: ${list(missingKeys)}`);
  }
  if (strict && unexpectedKeys.length > 0) {
    throw new ValueError(`${fn}: unexpected key(s) in state dict for ${moduleName(module)}: ${list(unexpectedKeys)}`);
  }
  const pairs: [Tensor, Tensor][] = [];
  for (const [name, target] of own) {
    const source = entries.get(name) as Tensor | undefined;
    if (source === undefined) continue;
    if (!sameShape(source.shape, target.shape)) {
      throw new ShapeError(`${fn}: "${name}" has shape ${shapeStr(source.shape)} in the state dict but ${shapeStr(target.shape)} in the module`);
    }
    if (source.dtype === "int32") {
      throw new DTypeError(`${fn}: "${name}" is int32 in the state dict but ${target.dtype} in the module`);
    }
    pairs.push([source, target]);
  }
  noGrad(() => {
    // Into the parameter's own storage, converting float32/float64 (the copy kernel).
    for (const [source, target] of pairs) {
      kernel("copy", target.dtype, target.size)({ data: source.data, offset: source.offset, strides: source.strides }, source.shape, target.data);
    }
  });
  return { missingKeys, unexpectedKeys };
}

/** The class names of kdgrad's own layers, spelled out: a minifier renames classes. */
const moduleNames = new WeakMap<Function, string>();

/** Spell out a layer class's name for toString and messages (its subclasses keep their own). @internal */
export function namedModule(cls: abstract new (...args: never[]) => Module, name: string): void {
  moduleNames.set(cls, name);
}

/** A module's class name: the spelled-out name of kdgrad's layers, else the constructor's. @internal */
export function moduleName(m: Module): string {
  return moduleNames.get(m.constructor) ?? m.constructor.name;
}

/** PyTorch's _addindent: every line but the first moves right by `spaces`. */
function indentAfterFirst(text: string, spaces: number): string {
  return text.split("\n").map((line, i) => (i === 0 ? line : " ".repeat(spaces) + line)).join("\n");
}

/** The empty lists parameters() returned, with their module (weakly held). */
const emptyParameterLists = new WeakMap<object, Module>();

/**
 * Why `params` (given to an optimizer, found empty) holds no parameters, when it came from
 * Module.parameters(): the module's class and the fields of it (and of its registered
 * descendants, by dotted path) that hold a Module, a list of them, or a tensor that requires
 * grad without being registered. null for any other empty iterable. @internal
 */
export function emptyParametersCause(params: unknown): { module: string; fields: string[] } | null {
  if (params === null || typeof params !== "object") return null;
  const m = emptyParameterLists.get(params);
  return m === undefined ? null : { module: moduleName(m), fields: unregisteredFields(m, "") };
}

/** The unregistered layer fields of m and its registered descendants (see emptyParametersCause). */
function unregisteredFields(m: Module, prefix: string): string[] {
  const children = new Set(m.namedChildren().map(([, c]) => c));
  const own = new Set(m.namedParameters().map(([, t]) => t));
  const out: string[] = [];
  const stray = (v: unknown): boolean =>
    (v instanceof Module && !children.has(v)) || (v instanceof Tensor && v.requiresGrad && !own.has(v));
  for (const [field, v] of Object.entries(m)) {
    if (stray(v)) out.push(prefix + field);
    else if (Array.isArray(v)) v.forEach((e, i) => { if (stray(e)) out.push(`${prefix}${field}[${i}]`); });
  }
  for (const [name, c] of m.namedChildren()) out.push(...unregisteredFields(c, `${prefix}${name}.`));
  return out;
}

/**
 * A float as Python's repr writes it (PyTorch's extra_repr formats its settings so): the same
 * shortest round-trip digits as JavaScript, a ".0" on whole numbers, and exponent form below
 * 1e-4 or from 1e16 with a two-digit exponent: 0.5, 1.0, 1e-05, 1e+16. @internal
 */
export function pythonFloat(v: number): string {
  if (Number.isNaN(v)) return "nan";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  if (v === 0) return Object.is(v, -0) ? "-0.0" : "0.0";
  const [mantissa, exp] = v.toExponential().split("e") as [string, string];
  const e = Number(exp);
  if (e < -4 || e >= 16) return `${mantissa}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
  // Fixed notation from the same digits d₀d₁…: the point goes after digit e (e ≥ 0), or
  // −e − 1 zeros follow "0." (e < 0).
  const sign = v < 0 ? "-" : "";
  const digits = mantissa.replace("-", "").replace(".", "");
  if (e < 0) return `${sign}0.${"0".repeat(-e - 1)}${digits}`;
  const whole = digits.slice(0, e + 1).padEnd(e + 1, "0");
  return `${sign}${whole}.${digits.slice(e + 1) || "0"}`;
}
