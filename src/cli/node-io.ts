import { readFileSync } from "node:fs";
import { encodeSafetensors } from "../index.js";
import { loadDigits, loadNpy } from "../node/index.js";
import { OutputDirectory } from "../node/files.js";
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
    // package.json is two levels up from src/cli/ in a checkout and from dist/cli/ in the package.
    version: () => (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version,
    pause: () => new Promise<void>((resolve) => setImmediate(resolve)),
    onInterrupt(handler) {
      process.on("SIGINT", handler);
      return () => void process.off("SIGINT", handler);
    },
  };
}
