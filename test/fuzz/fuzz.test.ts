/**
 * The fuzz suite (test/fuzz/README.md). First, the table must describe the
 * whole public surface, found by scanning the exports at run time; then every
 * property runs, in a child process under a hang watchdog (harness.ts), and
 * each becomes one test here that fails with its report, seed and path.
 *
 *   FUZZ_RUNS=200 npx vitest run test/fuzz        more runs per property
 *   FUZZ_ONLY='api:slice,backend:softmax' …      only these properties
 *   FUZZ_SEED=… FUZZ_PATH=…                       replay a reported failure
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import * as kd from "../../src/index.js";
import * as kn from "../../src/node/index.js";
import { ROWS } from "./table.js";
import { propertyDefs } from "./properties.js";
import { replayCommand, runFuzz, type PropertyResult } from "./harness.js";

const isClass = (f: unknown): f is new (...a: unknown[]) => unknown =>
  typeof f === "function" && /^class\b/.test(Function.prototype.toString.call(f));

/**
 * What the table must cover: every runtime export of "kdgrad" and
 * "kdgrad/node" (types vanish at run time), and for each exported class its
 * own prototype members (methods and getters, protected ones included: a
 * subclass calls them) and its static functions.
 */
export function publicSurface(): string[] {
  const keys: string[] = [];
  for (const [name, value] of Object.entries(kd)) {
    keys.push(name);
    if (!isClass(value)) continue;
    for (const m of Object.getOwnPropertyNames(value.prototype)) if (m !== "constructor") keys.push(`${name}#${m}`);
    for (const s of Object.getOwnPropertyNames(value)) {
      if (["length", "name", "prototype"].includes(s)) continue;
      if (typeof Object.getOwnPropertyDescriptor(value, s)?.value === "function") keys.push(`${name}.${s}`);
    }
  }
  for (const name of Object.keys(kn)) keys.push(`node:${name}`);
  return keys;
}

describe("the fuzz table describes the whole public surface", () => {
  const surface = publicSurface();
  test("the scan finds the exports, the classes' methods and kdgrad/node", () => {
    for (const k of ["add", "distillationLoss", "Tensor#sum", "Tensor.empty", "Generator#setState", "Module#loadStateDict", "SGD#step", "node:loadNpy"]) expect(surface).toContain(k);
  });
  test("every public export, method, getter and static has a row (an argument generator) in test/fuzz/table.ts", () => {
    const missing = surface.filter((k) => !(k in ROWS));
    expect(missing, `no fuzz row for ${missing.join(", ")}: describe how to call it in test/fuzz/table.ts (README, "Adding an export")`).toEqual([]);
  });
  test("every row names something public", () => {
    const stale = Object.keys(ROWS).filter((k) => !surface.includes(k));
    expect(stale, `rows for things that are not public: ${stale.join(", ")}`).toEqual([]);
  });
});

const only = process.env.FUZZ_ONLY?.split(",").filter((s) => s !== "");
const defs = propertyDefs().filter((d) => !only || only.some((o) => o === d.name || (o.endsWith("*") && d.name.startsWith(o.slice(0, -1)))));
const runs = Number(process.env.FUZZ_RUNS ?? 25);
const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const totalLimitMs = Number(process.env.FUZZ_TOTAL_MS ?? 240_000);
let results = new Map<string, PropertyResult>();

describe(`fuzz properties (${runs} runs per property, seed ${seed})`, () => {
  beforeAll(async () => {
    results = await runFuzz({ names: defs.map((d) => d.name), runs, seed, callLimitMs: Number(process.env.FUZZ_CALL_MS ?? 5000), totalLimitMs });
  }, totalLimitMs + 60_000);
  afterAll(() => {
    const failed = [...results.values()].filter((r) => r.status !== "passed");
    if (failed.length > 0) console.log(`fuzz: ${failed.length} of ${results.size} properties failed (seed ${seed}); replay one with the command in its report`);
  });
  for (const d of defs) {
    test(d.name, () => {
      const r = results.get(d.name);
      if (!r) throw new Error(`${d.name}: no result (the runner did not report it)`);
      if (r.status !== "passed") {
        throw new Error(`${r.status}: ${r.report}\n  seed ${r.seed ?? seed}${r.path ? `, path ${r.path}` : ""}\n  replay: ${replayCommand({ ...r, seed: r.seed ?? seed })}`);
      }
    });
  }
});
