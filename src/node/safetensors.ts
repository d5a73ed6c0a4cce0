import type { Module } from "../nn/module.js";
import { decode, encode, type CheckpointOptions, type CheckpointParts, type LoadCheckpointOptions } from "../optim/checkpoint.js";
import { FormatError } from "../tensor/errors.js";
import { decodeSafetensors, encodeSafetensors, type DecodedSafetensors, type NamedTensors } from "../io/safetensors.js";
import { pathText, readFileBytes, writeFileAtomic } from "./files.js";

/**
 * Write tensors (and optional string metadata) as a safetensors file,
 * atomically (see writeFileAtomic): a crash or error never leaves a
 * half-written file at `path`.
 *
 * @example saveSafetensors("model.safetensors", model.stateDict(), { epoch: "10" })
 */
export function saveSafetensors(path: string | URL, tensors: NamedTensors, metadata?: Readonly<Record<string, string>>): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/**
 * Read a safetensors file. FileError if it cannot be read, FormatError
 * (naming the path) if it is malformed.
 */
export function loadSafetensors(path: string | URL): DecodedSafetensors {
  const bytes = readFileBytes(path, "loadSafetensors");
  try {
    return decodeSafetensors(bytes);
  } catch (e) {
    if (e instanceof FormatError) throw new FormatError(`loadSafetensors: ${JSON.stringify(pathText(path))}: ${e.message}`);
    throw e;
  }
}

/** Save a module's parameters (its stateDict) as a safetensors file, atomically. */
export function saveModule(path: string | URL, module: Module, metadata?: Readonly<Record<string, string>>): void {
  saveSafetensors(path, module.stateDict(), metadata);
}

/**
 * Load parameters saved by saveModule (or PyTorch's safetensors with the
 * same names) into `module`, checking names and shapes (Module.loadStateDict);
 * returns the file's metadata.
 */
export function loadModule(path: string | URL, module: Module, options: { strict?: boolean } = {}): Record<string, string> {
  const { tensors, metadata } = loadSafetensors(path);
  module.loadStateDict(tensors, options);
  return metadata;
}

/**
 * Save a training checkpoint (model, optimizer, scheduler, generator: any of them) as a
 * safetensors file, atomically; the layout is encodeCheckpoint's (float state as tensors,
 * the rest as JSON in __metadata__). With loadCheckpoint a run resumes bit for bit.
 *
 * @example saveCheckpoint("run.safetensors", { model, optimizer: opt, scheduler, generator: g }, { metadata: { epoch: String(epoch) } })
 */
export function saveCheckpoint(path: string | URL, parts: CheckpointParts, options: CheckpointOptions = {}): void {
  writeFileAtomic(path, encode(parts, options, "saveCheckpoint"));
}

/**
 * Load a checkpoint written by saveCheckpoint into the objects given (decodeCheckpoint's
 * checks: each part asked for must be in the file, everything is checked before anything
 * changes); returns the file's own metadata strings. FileError if the file cannot be read,
 * FormatError naming the path if it is not a kdgrad checkpoint.
 *
 * @example const { metadata } = loadCheckpoint("run.safetensors", { model, optimizer: opt, scheduler, generator: g });
 */
export function loadCheckpoint(path: string | URL, into: CheckpointParts, options: LoadCheckpointOptions = {}): { metadata: Record<string, string> } {
  const bytes = readFileBytes(path, "loadCheckpoint");
  try {
    return decode(bytes, into, options, "loadCheckpoint");
  } catch (e) {
    if (e instanceof FormatError) throw new FormatError(`loadCheckpoint: ${JSON.stringify(pathText(path))}: ${e.message.replace(/^loadCheckpoint: /, "")}`);
    throw e;
  }
}
