import { KdgradError } from "../index.js";
import { UsageError } from "./args.js";
import { distillCommand } from "./distill.js";
import { sweepCommand } from "./sweep.js";
import { compareCommand } from "./compare.js";
import { gradcheckCommand } from "./gradcheck.js";
import type { CliIO } from "./io.js";

const USAGE = `kdgrad — knowledge distillation with hand-derived gradients

Usage:
  kdgrad distill [options]    train a teacher on the digits set, distil a small student, compare (the default)
  kdgrad distill --method M   the same with DKD, DIST, NKD or WSLD (kd, the default, is Hinton's KD)
  kdgrad sweep [options]      distil across temperatures, alphas and student sizes; table and SVG chart
  kdgrad compare [options]    every method (KD, DKD, DIST, NKD, WSLD) against hard labels, 5 seeds; table and SVG chart
  kdgrad gradcheck            check every op's and loss's gradient and its second order; the 1/T² result and its Hessian
  kdgrad <command> --help     the options of a command
  kdgrad --version            the version of kdgrad
`;

/**
 * Run the command line `argv` (without node and the script). Returns the
 * exit code: 0 done, 2 bad input (a one-line message on stderr, no stack
 * trace), 130 interrupted, 1 an unexpected failure.
 */
export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
        return await distillCommand([], io);
      case "distill":
        return await distillCommand(rest, io);
      case "sweep":
        return await sweepCommand(rest, io);
      case "compare":
        return await compareCommand(rest, io);
      case "gradcheck":
        return gradcheckCommand(rest, io);
      case "help":
      case "--help":
      case "-h":
        io.stdout.write(USAGE);
        return 0;
      case "--version":
      case "-V":
      case "version":
        if (rest.length > 0) throw new UsageError(`kdgrad: ${command} takes no arguments, got '${rest[0]}'`);
        io.stdout.write(`kdgrad ${io.version()}\n`);
        return 0;
      default:
        throw new UsageError(`kdgrad: unknown command '${command}' (try kdgrad --help)`);
    }
  } catch (e) {
    if (e instanceof UsageError || e instanceof KdgradError) {
      const message = e.message.startsWith("kdgrad") ? e.message : `kdgrad ${command ?? "distill"}: ${e.message}`;
      io.stderr.write(`${message.split("\n")[0]}\n`);
      return 2;
    }
    io.stderr.write(`kdgrad: unexpected failure: ${(e as Error)?.message ?? String(e)}\n`);
    if (typeof process !== "undefined" && process.env?.KDGRAD_DEBUG) io.stderr.write(`${(e as Error)?.stack}\n`);
    return 1;
  }
}
