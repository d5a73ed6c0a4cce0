/**
 * The fuzz runner: runs properties in this process and logs every step to
 * an events file with synchronous writes, so that the parent (harness.ts)
 * can see which call was running if this process hangs and has to be
 * killed. Also usable by hand, for replaying one failure:
 *
 *   npx tsx test/fuzz/runner.ts --only api:slice --seed 123 --path 4:1
 *
 * Options: --only a,b (property names; default all), --runs N (per property,
 * default FUZZ_RUNS or 25), --seed S, --path P (fast-check's replay path),
 * --events FILE (JSON lines; default stdout), --survey (no shrinking: list
 * every distinct problem each property meets, with one call each).
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { FuzzFailure, argsArbitrary, property, propertyDefs, runOne, type PropertyDef } from "./properties.js";
import { describeCall } from "./calls.js";
import { ROWS } from "./table.js";

interface Options {
  only: string[] | null;
  runs: number;
  seed: number;
  path?: string;
  events: number;
  survey: boolean;
}

function parse(argv: string[]): Options {
  const o: Options = { only: null, runs: Number(process.env.FUZZ_RUNS ?? 25), seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31), events: 1, survey: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = (): string => argv[++i]!;
    if (a === "--only") o.only = next().split(",").filter((s) => s !== "");
    else if (a === "--runs") o.runs = Number(next());
    else if (a === "--seed") o.seed = Number(next());
    else if (a === "--path") o.path = next();
    else if (a === "--events") o.events = openSync(next(), "a");
    else if (a === "--survey") o.survey = true;
    else throw new Error(`runner: unknown option ${a}`);
  }
  return o;
}

const o = parse(process.argv.slice(2));
// Relative paths (a bad "2" where a path goes) land in a scratch directory, not in the checkout.
const scratch = mkdtempSync(join(tmpdir(), "kdgrad-fuzz-cwd-"));
process.chdir(scratch);
process.on("exit", () => rmSync(scratch, { recursive: true, force: true }));
const emit = (event: object): void => {
  writeSync(o.events, `${JSON.stringify(event)}\n`);
};

function runsFor(def: PropertyDef): number {
  return Math.max(1, Math.round(o.runs * def.weight));
}

/** Normalise a problem into a signature: numbers and quoted values vary from call to call. */
function signature(problem: string): string {
  return problem.replace(/"[^"]*"/g, '"…"').replace(/-?\d+(\.\d+)?(e[+-]?\d+)?/g, "N").replace(/\[[N, ]*\]/g, "[…]").slice(0, 160);
}

const defs = propertyDefs().filter((d) => o.only === null || o.only.includes(d.name));
for (const def of defs) {
  const started = Date.now();
  emit({ ev: "start", prop: def.name });
  const before = (text: string): void => emit({ ev: "call", prop: def.name, text: text.slice(0, 2000) });
  if (o.survey) {
    const problems = new Map<string, { count: number; problem: string; call: string; path: string }>();
    const samples = fc.sample(argsArbitrary(def), { numRuns: runsFor(def), seed: o.seed });
    for (const [index, [args, seed]] of samples.entries()) {
      let f;
      try {
        f = runOne(def, args, seed, before);
      } catch (e) {
        f = { problem: `the suite itself failed: ${(e as Error).stack}`, call: describeCall(def.key, ROWS[def.key]!, args) };
      }
      if (!f) continue;
      const sig = signature(f.problem);
      const seen = problems.get(sig);
      if (seen) seen.count++;
      // fast-check's path for the index-th generated value: FUZZ_PATH replays it.
      else problems.set(sig, { count: 1, ...f, path: String(index) });
    }
    emit({ ev: "survey", prop: def.name, runs: samples.length, problems: [...problems.values()], ms: Date.now() - started });
    continue;
  }
  const details = fc.check(property(def, before), { numRuns: runsFor(def), seed: o.seed, ...(o.path ? { path: o.path } : {}) });
  const err = details.errorInstance;
  emit({
    ev: "done",
    prop: def.name,
    ok: !details.failed,
    seed: details.seed,
    path: details.counterexamplePath,
    runs: details.numRuns,
    shrinks: details.numShrinks,
    report: details.failed ? (err instanceof FuzzFailure ? err.message : `the suite itself failed: ${(err as Error)?.stack ?? String(err)}`) : null,
    ms: Date.now() - started,
  });
}
emit({ ev: "end" });
if (o.events !== 1) closeSync(o.events);
