import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { loadDigits, loadNpy, saveSafetensors, writeFileAtomic } from "../node/index.js";
import type { CliIO } from "./io.js";

/** The real CliIO: process streams, the file system, SIGINT. */
export function nodeIO(): CliIO {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    loadDigits: () => loadDigits(),
    readNpy: (path) => loadNpy(path),
    makeDir: (path) => void mkdirSync(path, { recursive: true }),
    writeFile: (path, data) => writeFileAtomic(path, data),
    saveModel: (path, tensors, metadata) => saveSafetensors(path, tensors, metadata),
    join,
    pause: () => new Promise<void>((resolve) => setImmediate(resolve)),
    onInterrupt(handler) {
      process.on("SIGINT", handler);
      return () => void process.off("SIGINT", handler);
    },
  };
}
