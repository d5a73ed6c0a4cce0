import { main } from "../../src/cli/main.js";
import { nodeIO } from "../../src/cli/node-io.js";
import type { CliIO } from "../../src/cli/io.js";

/** Run the CLI in-process with captured streams (files and data are real). */
export async function run(
  argv: string[],
  options: { tty?: boolean; onStderr?: (s: string, interrupt: () => void) => void; io?: Partial<CliIO> } = {},
): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  let interrupt = (): void => {};
  const io: CliIO = {
    ...nodeIO(),
    stdout: { write: (s: string) => (out += s) },
    stderr: {
      isTTY: options.tty ?? false,
      columns: 120,
      write: (s: string) => {
        err += s;
        options.onStderr?.(s, interrupt);
      },
    },
    onInterrupt(handler) {
      interrupt = handler;
      return () => (interrupt = () => {});
    },
    ...options.io,
  };
  const code = await main(argv, io);
  return { code, out, err };
}

/**
 * Run a command that should be refused before any training. Should training start anyway,
 * the first finished epoch (the `pause` hook) presses Ctrl-C, so that a check made too late
 * fails the test at once instead of training for as long as `--epochs` says.
 */
export async function runUntilTraining(argv: string[]): Promise<{ code: number; out: string; err: string; trained: boolean }> {
  let stop = (): void => {};
  let trained = false;
  const r = await run(argv, {
    tty: true,
    io: {
      onInterrupt(handler) {
        stop = handler;
        return () => (stop = () => {});
      },
      pause: async () => {
        trained = true;
        stop();
      },
    },
  });
  return { ...r, trained };
}

/** Poll `ready` every 20 ms until it holds (the test's timeout bounds the wait). */
export async function waitUntil(ready: () => boolean): Promise<void> {
  while (!ready()) await new Promise((resolve) => setTimeout(resolve, 20));
}
