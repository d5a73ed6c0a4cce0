import { Module, loadStateDictInto } from "../nn/module.js";
import { decode, encode, type CheckpointOptions, type CheckpointParts, type LoadCheckpointOptions } from "../optim/checkpoint.js";
import { FormatError, ValueError } from "../tensor/errors.js";
import { describeValue } from "../tensor/shape.js";
import { decodeSafetensors, encodeSafetensorsAs, type DecodedSafetensors, type EncodeSafetensorsOptions, type NamedTensors } from "../io/safetensors.js";
import { checkPath, pathText, readFileBytes, writeAtomic } from "./files.js";

/**
 * Write tensors (and optional string metadata) as a safetensors file,
 * atomically (see writeFileAtomic): a crash or error never leaves a
 * half-written file at `path`. `options.dtypes` stores chosen tensors as F16,
 * BF16 or I64 (encodeSafetensors).
 *
 * @example saveSafetensors("model.safetensors", model.stateDict(), { epoch: "10" })
 * @example saveSafetensors("shard-00000.safetensors", { indices, logprobs }, {}, { dtypes: { logprobs: "BF16" } })
 */
export function saveSafetensors(
  path: string | URL, tensors: NamedTensors, metadata?: Readonly<Record<string, string>>, options?: EncodeSafetensorsOptions,
): void {
  checkPath(path, "saveSafetensors");
  writeAtomic(path, encodeSafetensorsAs(tensors, metadata, "saveSafetensors", options), "saveSafetensors");
}

/**
 * Read a safetensors file. FileError if it cannot be read, FormatError
 * (naming the path) if it is malformed.
 */
export function loadSafetensors(path: string | URL): DecodedSafetensors {
  return readSafetensors(path, "loadSafetensors");
}

/** loadSafetensors's body; `fn` is the public function the user called (loadSafetensors, loadModule, readTopKShards). */
export function readSafetensors(path: string | URL, fn: string): DecodedSafetensors {
  const bytes = readFileBytes(path, fn);
  try {
    return decodeSafetensors(bytes);
  } catch (e) {
    if (e instanceof FormatError) throw new FormatError(`${fn}: ${JSON.stringify(pathText(path))}: ${e.message}`);
    throw e;
  }
}

function checkModule(module: unknown, fn: string): Module {
  if (!(module instanceof Module)) throw new ValueError(`${fn}: module must be a Module, got ${describeValue(module)}`);
  return module;
}

/** Save a module's parameters (its stateDict) as a safetensors file, atomically. */
export function saveModule(path: string | URL, module: Module, metadata?: Readonly<Record<string, string>>): void {
  const fn = "saveModule";
  checkPath(path, fn);
  writeAtomic(path, encodeSafetensorsAs(checkModule(module, fn).stateDict(), metadata, fn), fn);
}

/**
 * Load parameters saved by saveModule (or PyTorch's safetensors with the
 * same names) into `module`, checking names and shapes (Module.loadStateDict);
 * returns the file's metadata.
 */
export function loadModule(path: string | URL, module: Module, options?: { strict?: boolean }): Record<string, string> {
  const fn = "loadModule";
  checkModule(module, fn);
  const { tensors, metadata } = readSafetensors(path, fn);
  loadStateDictInto(module, tensors, options, fn);
  return metadata;
}

/**
 * Save a training checkpoint (model, optimizer, scheduler, generator: any of them) as a
 * safetensors file, atomically; the layout is encodeCheckpoint's (float state as tensors,
 * the rest as JSON in __metadata__). With loadCheckpoint a run resumes bit for bit.
 *
 * @example saveCheckpoint("run.safetensors", { model, optimizer: opt, scheduler, generator: g }, { metadata: { epoch: String(epoch) } })
 */
export function saveCheckpoint(path: string | URL, parts: CheckpointParts, options?: CheckpointOptions): void {
  const fn = "saveCheckpoint";
  checkPath(path, fn);
  writeAtomic(path, encode(parts, options, fn), fn);
}

/**
 * Load a checkpoint written by saveCheckpoint into the objects given (decodeCheckpoint's
 * checks: each part asked for must be in the file, everything is checked before anything
 * changes); returns the file's own metadata strings. FileError if the file cannot be read,
 * FormatError naming the path if it is not a kdgrad checkpoint.
 *
 * @example const { metadata } = loadCheckpoint("run.safetensors", { model, optimizer: opt, scheduler, generator: g });
 */
export function loadCheckpoint(path: string | URL, into: CheckpointParts, options?: LoadCheckpointOptions): { metadata: Record<string, string> } {
  const fn = "loadCheckpoint";
  checkPath(path, fn);
  try {
    return decode(() => readFileBytes(path, fn), into, options, fn);
  } catch (e) {
    if (e instanceof FormatError) throw new FormatError(`loadCheckpoint: ${JSON.stringify(pathText(path))}: ${e.message.replace(/^loadCheckpoint: /, "")}`);
    throw e;
  }
}
