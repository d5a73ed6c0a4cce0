import type { Module } from "../nn/module.js";
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
