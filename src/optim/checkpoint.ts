import { Tensor } from "../tensor/tensor.js";
import { FormatError, KdgradError, ValueError } from "../tensor/errors.js";
import { checkBool, describeValue } from "../tensor/shape.js";
import { Generator } from "../tensor/random.js";
import { checkOptions } from "../tensor/options.js";
import { decodeSafetensors, encodeSafetensorsAs } from "../io/safetensors.js";
import { Module, loadStateDictInto } from "../nn/module.js";
import { Optimizer, prepareLoad, type OptimizerStateDict, type ParamGroup } from "./optimizer.js";
import { LRScheduler, type SchedulerStateDict } from "./lr-scheduler.js";

/** What a checkpoint holds; every part is optional. */
export interface CheckpointParts {
  /** The model: its stateDict(), as tensors "model.<name>". */
  model?: Module;
  /** The optimizer: its state tensors as "optimizer.<index>.<key>", the rest as JSON. */
  optimizer?: Optimizer;
  /** The learning-rate schedule (JSON). */
  scheduler?: LRScheduler;
  /** A generator whose position to keep (dropout masks, shuffles), e.g. defaultGenerator (JSON). */
  generator?: Generator;
}

/** Options of `encodeCheckpoint` (and kdgrad/node's `saveCheckpoint`): string metadata stored in the file's header. */
export interface CheckpointOptions {
  /** Your own strings (an epoch, a commit), kept in the file's __metadata__ beside kdgrad's entry. */
  metadata?: Readonly<Record<string, string>>;
}

/** Options of `decodeCheckpoint` (and kdgrad/node's `loadCheckpoint`): `strict`, whether the model's state dict must match the file's exactly. */
export interface LoadCheckpointOptions {
  /** Require the model's keys to match exactly (default true), as Module.loadStateDict. */
  strict?: boolean;
}

/** The __metadata__ key of kdgrad's JSON; a user's metadata may not use it. */
export const CHECKPOINT_KEY = "kdgrad.checkpoint";
const VERSION = 1;

/** The JSON kept under CHECKPOINT_KEY. */
interface CheckpointJson {
  version: number;
  model: boolean;
  optimizer: { type: string; paramGroups: [ParamGroup]; counts: Record<string, Record<string, number>> } | null;
  scheduler: SchedulerStateDict | null;
  generator: number[] | null;
}

/**
 * A training checkpoint as safetensors bytes: the model's parameters, the optimizer's state,
 * the schedule's position and a generator's state, so that a run resumes bit for bit
 * (decodeCheckpoint; saveCheckpoint / loadCheckpoint in "kdgrad/node" write and read files).
 *
 * Layout. Float state goes in the tensor section: the model's stateDict() under
 * "model.<name>" and each optimizer state tensor under "optimizer.<i>.<key>" (parameter index
 * i, key expAvg, momentumBuffer, …), bit for bit in their dtypes. Everything small goes in the
 * header's __metadata__ as one JSON string under "kdgrad.checkpoint": a format version, which
 * parts are present, the optimizer's type, param group and counts (Adam's step), the
 * scheduler's state dict and the generator's getState(). Your `metadata` strings sit beside
 * it. JSON carries every finite float64 exactly (shortest round-trip digits).
 * Any safetensors reader opens the file; PyTorch's load_file sees the tensors by those names.
 *
 * @example const bytes = encodeCheckpoint({ model, optimizer: opt, scheduler }, { metadata: { epoch: "3" } });
 */
export function encodeCheckpoint(parts: CheckpointParts, options?: CheckpointOptions): Uint8Array {
  return encode(parts, options, "encodeCheckpoint");
}

/** encodeCheckpoint for a public function `fn` (saveCheckpoint), which its messages name. @internal */
export function encode(parts: CheckpointParts, options: CheckpointOptions | undefined, fn: string): Uint8Array {
  checkParts(parts, fn);
  const metadata = checkOptions(options, fn, ["metadata"]).metadata ?? {};
  if (metadata === null || typeof metadata !== "object" || Array.isArray(metadata)) throw new ValueError(`${fn}: metadata must be an object of strings, got ${describeValue(metadata)}`);
  if (Object.hasOwn(metadata, CHECKPOINT_KEY)) throw new ValueError(`${fn}: metadata key "${CHECKPOINT_KEY}" is kdgrad's own; choose another name`);
  const { model, optimizer, scheduler, generator } = parts;
  const tensors = new Map<string, Tensor>();
  if (model !== undefined) for (const [name, t] of model.stateDict()) tensors.set(`model.${name}`, t);
  let opt: CheckpointJson["optimizer"] = null;
  if (optimizer !== undefined) {
    const d = optimizer.stateDict();
    const counts: Record<string, Record<string, number>> = {};
    for (const [i, s] of d.state) {
      counts[i] = {};
      for (const [key, v] of Object.entries(s)) {
        if (typeof v === "number") counts[i]![key] = v;
        else tensors.set(`optimizer.${i}.${key}`, v);
      }
    }
    opt = { type: d.type, paramGroups: d.paramGroups as [ParamGroup], counts };
  }
  const json: CheckpointJson = {
    version: VERSION,
    model: model !== undefined,
    optimizer: opt,
    scheduler: scheduler === undefined ? null : scheduler.stateDict(),
    generator: generator === undefined ? null : generator.getState(),
  };
  return encodeSafetensorsAs(tensors, { ...metadata, [CHECKPOINT_KEY]: JSON.stringify(json) }, fn);
}

/**
 * Load a checkpoint made by encodeCheckpoint into the objects given (each part asked for must
 * be in it; parts not asked for are left alone, so `{ model }` alone reads the weights for
 * inference). The model's keys and shapes are checked as Module.loadStateDict checks them
 * (with `strict`), the optimizer's state as Optimizer.loadStateDict, the schedule's as
 * LRScheduler.loadStateDict, and everything before anything changes. Returns your metadata
 * strings (without kdgrad's entry).
 *
 * Refused: bytes that are not safetensors, or safetensors without kdgrad's entry or with a
 * tensor outside "model." and "optimizer." (FormatError); a part asked for that the file lacks
 * (ValueError); and whatever the loads refuse, with their error class, the message prefixed by
 * the part.
 *
 * @example const { metadata } = decodeCheckpoint(bytes, { model, optimizer: opt, scheduler });
 */
export function decodeCheckpoint(bytes: Uint8Array, into: CheckpointParts, options?: LoadCheckpointOptions): { metadata: Record<string, string> } {
  return decode(bytes, into, options, "decodeCheckpoint");
}

/** decodeCheckpoint for a public function `fn` (loadCheckpoint, which passes a function reading the file), which its messages name. @internal */
export function decode(
  bytes: Uint8Array | (() => Uint8Array), into: CheckpointParts, options: LoadCheckpointOptions | undefined, fn: string,
): { metadata: Record<string, string> } {
  checkParts(into, fn);
  const strict = checkBool(checkOptions(options, fn, ["strict"]).strict ?? true, fn, "strict");
  // The arguments are checked before a file is read (loadCheckpoint passes the reading).
  const raw = typeof bytes === "function" ? bytes() : bytes;
  let decoded;
  try {
    decoded = decodeSafetensors(raw);
  } catch (e) {
    if (e instanceof KdgradError) throw new (e.constructor as new (m: string) => Error)(`${fn}: ${e.message}`);
    throw e;
  }
  const { tensors, metadata } = decoded;
  const text = metadata[CHECKPOINT_KEY];
  if (text === undefined) {
    throw new FormatError(`${fn}: these safetensors hold no "${CHECKPOINT_KEY}" entry in __metadata__, so they are not a kdgrad checkpoint (weights saved by saveModule load with loadModule)`);
  }
  const json = parseJson(text, fn);
  const modelDict = new Map<string, Tensor>();
  const optTensors = new Map<number, Record<string, Tensor>>();
  for (const [name, t] of tensors) {
    if (name.startsWith("model.")) {
      modelDict.set(name.slice(6), t);
      continue;
    }
    const m = /^optimizer\.(\d+)\.([A-Za-z]+)$/.exec(name);
    if (m === null) throw new FormatError(`${fn}: tensor ${JSON.stringify(name)} is neither "model.<name>" nor "optimizer.<index>.<key>"`);
    const i = Number(m[1]);
    if (!optTensors.has(i)) optTensors.set(i, {});
    optTensors.get(i)![m[2]!] = t;
  }

  const missing = (part: string) => new ValueError(`${fn}: the checkpoint holds no ${part}, but one was given to load into`);
  const applies: (() => void)[] = [];
  const { model, optimizer, scheduler, generator } = into;
  if (optimizer !== undefined) {
    if (json.optimizer === null) throw missing("optimizer");
    const state = new Map<number, Record<string, Tensor | number>>();
    for (const [i, ts] of optTensors) state.set(i, { ...ts });
    for (const [key, counts] of Object.entries(json.optimizer.counts)) {
      const i = Number(key);
      state.set(i, { ...(state.get(i) ?? {}), ...counts });
    }
    const dict: OptimizerStateDict = { type: json.optimizer.type, state, paramGroups: json.optimizer.paramGroups };
    applies.push(prefixed(fn, "the optimizer's state", () => optimizer[prepareLoad](dict, fn)));
  }
  if (scheduler !== undefined) {
    if (json.scheduler === null) throw missing("scheduler");
    applies.push(prefixed(fn, "the scheduler's state", () => scheduler[prepareLoad](json.scheduler!, fn)));
  }
  if (generator !== undefined) {
    if (json.generator === null) throw missing("generator");
    const state = json.generator;
    prefixed(fn, "the generator's state", () => new Generator().setState(state)); // checked on a spare generator
    applies.push(() => generator.setState(state));
  }
  if (model !== undefined) {
    if (!json.model) throw missing("model");
    // Module.loadStateDict checks everything before it copies, and runs last among the checks.
    prefixed(fn, "the model's state", () => loadStateDictInto(model, modelDict, { strict }, fn));
  }
  for (const apply of applies) apply();
  const user = Object.fromEntries(Object.entries(metadata).filter(([k]) => k !== CHECKPOINT_KEY));
  return { metadata: user };
}

/** Run `body`; a refusal from it gets `fn` and the part in front of its message, keeping its class. */
function prefixed<T>(fn: string, part: string, body: () => T): T {
  try {
    return body();
  } catch (e) {
    if (e instanceof KdgradError) {
      // The inner function's name ("loadStateDict: ", "Generator.setState: ") gives way to fn and the part.
      const message = e.message.replace(/^[A-Za-z.]+: /, "");
      throw new (e.constructor as new (m: string) => Error)(`${fn}: ${part}: ${message}`);
    }
    throw e;
  }
}

function parseJson(text: string, fn: string): CheckpointJson {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new FormatError(`${fn}: the "${CHECKPOINT_KEY}" entry is not valid JSON (${(e as Error).message})`);
  }
  const j = v as Partial<CheckpointJson> | null;
  if (j === null || typeof j !== "object" || j.version !== VERSION) {
    throw new FormatError(`${fn}: the "${CHECKPOINT_KEY}" entry must be an object with version ${VERSION}, got ${describeValue(j === null || typeof j !== "object" ? j : j.version)}`);
  }
  const o = j.optimizer;
  if (o !== null && (typeof o !== "object" || o === undefined || typeof o.type !== "string" || !Array.isArray(o.paramGroups) || o.counts === null || typeof o.counts !== "object")) {
    throw new FormatError(`${fn}: the "${CHECKPOINT_KEY}" entry's optimizer must hold type, paramGroups and counts`);
  }
  if (typeof j.model !== "boolean" || j.scheduler === undefined || j.generator === undefined) {
    throw new FormatError(`${fn}: the "${CHECKPOINT_KEY}" entry must say model (true or false), optimizer, scheduler and generator (null when absent)`);
  }
  return j as CheckpointJson;
}

/** The parts argument: an object (checkOptions: no unknown part, no null) of the right kinds. */
function checkParts(parts: CheckpointParts | undefined, fn: string): CheckpointParts {
  if (parts === undefined) throw new ValueError(`${fn}: parts must be an object like { model, optimizer, scheduler, generator }, got undefined`);
  const p = checkOptions(parts, fn, ["model", "optimizer", "scheduler", "generator"], "parts");
  const kinds: [keyof CheckpointParts, Function, string][] = [
    ["model", Module, "a Module"], ["optimizer", Optimizer, "an Optimizer"], ["scheduler", LRScheduler, "a scheduler"], ["generator", Generator, "a Generator"],
  ];
  for (const [key, cls, what] of kinds) {
    const v = p[key];
    if (v !== undefined && !(v instanceof cls)) throw new ValueError(`${fn}: ${key} must be ${what}, got ${describeValue(v)}`);
  }
  return p;
}
