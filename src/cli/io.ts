import type { Tensor } from "../index.js";
import type { Split } from "./recipe.js";

/**
 * Everything a command does to the outside world, so that the commands
 * themselves are plain code the test suite can drive in-process. The Node
 * implementation is in node-io.ts.
 */
export interface Writable {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface CliIO {
  stdout: Writable;
  stderr: Writable;
  /** The vendored digits set with its fixed split. */
  loadDigits(): { train: Split; test: Split; train_10pct: Split };
  /** Read a .npy file (FormatError/FileError on a missing or malformed file). */
  readNpy(path: string): Tensor;
  /** Create a directory (and its parents). */
  makeDir(path: string): void;
  /** Write a file atomically (temporary file, then rename). */
  writeFile(path: string, data: string | Uint8Array): void;
  /** Write a module's parameters as safetensors, atomically. */
  saveModel(path: string, tensors: Map<string, Tensor>, metadata: Record<string, string>): void;
  join(...parts: string[]): string;
  /** Register a Ctrl-C handler; returns a function that removes it. */
  onInterrupt(handler: () => void): () => void;
  /** Let the host's event loop run (so a Ctrl-C handler gets its turn); called between epochs. */
  pause?(): Promise<void>;
}
