import { Tensor } from "../tensor/tensor.js";
import { DTypeError, ShapeError, ValueError } from "../tensor/errors.js";
import { describeValue, sameShape, shapeStr } from "../tensor/shape.js";
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
 */
export abstract class Module {
  /** Training mode (Dropout is active); switch with train() / eval(). */
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
    this.#modules.set(name, m);
    return m;
  }

  #checkName(name: string, fn: string): void {
    if (typeof name !== "string" || name === "" || name.includes(".")) {
      throw new ValueError(`${fn}: name must be a non-empty string without dots, got ${describeValue(name)}`);
    }
    if (this.#parameters.has(name) || this.#modules.has(name)) {
      throw new ValueError(`${fn}: "${name}" is already registered on ${this.constructor.name}`);
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
    return this.namedParameters().map(([, t]) => t);
  }

  *#allParameters(prefix: string): Generator<[string, Tensor]> {
    for (const [name, t] of this.#parameters) yield [prefix + name, t];
    for (const [name, m] of this.#modules) yield* m.#allParameters(`${prefix}${name}.`);
  }

  /** Set training mode on this module and every descendant; returns this. */
  train(mode = true): this {
    this.training = mode;
    for (const m of this.#modules.values()) m.train(mode);
    return this;
  }

  /** Evaluation mode: train(false). */
  eval(): this {
    return this.train(false);
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
    throw new ValueError(`${fn}: missing key(s) in state dict for ${module.constructor.name}: ${list(missingKeys)}`);
  }
  if (strict && unexpectedKeys.length > 0) {
    throw new ValueError(`${fn}: unexpected key(s) in state dict for ${module.constructor.name}: ${list(unexpectedKeys)}`);
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
