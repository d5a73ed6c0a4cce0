import { closeSync, lstatSync, openSync, readFileSync, unlinkSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { encodeSafetensors } from "../index.js";
import { loadDigits, loadNpy } from "../node/index.js";
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
