/**
 * kdgrad's benchmarks: `npm run bench` (= tsx bench/run.ts).
 *
 *   --quick               every variant once per shape: agreement checks and a
 *                         smoke run, no timing loop, nothing written
 *   --suite a,b           run a subset of: distillation, divergences, sparse, linear, mlp, matmul, allocation,
 *                         pytorch (report only: PyTorch times itself, where a python3 imports torch)
 *
 * Prints one markdown table per suite (with the date, Node version and CPU)
 * and, in a full run of every suite, writes all numbers to
 * bench/results/latest.json. Every
 * suite measures kdgrad and its peers in the same process, in one
 * benchmark.js Suite per shape, and reports ratios to kdgrad from that Suite:
 * the machines are shared and absolute times drift between runs.
 *
 * Exit code 1 if any agreement check failed (a MISMATCH row), else 0.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { machineInfo, peerVersions, timing, type RunOptions, type SuiteResult } from "./harness.js";

type SuiteModule = { run(options: RunOptions): Promise<SuiteResult> };

/**
 * Loaded on demand. allocation must run before anything imports kdgrad, so it
 * runs first when selected (it replaces the typed-array constructors, then
 * imports kdgrad itself); its table is still printed last.
 */
const suites: Record<string, () => Promise<SuiteModule>> = {
  distillation: () => import("./distillation.js"),
  divergences: () => import("./divergences.js"),
  sparse: () => import("./sparse.js"),
  linear: () => import("./linear-distillation.js"),
  mlp: () => import("./mlp-step.js"),
  matmul: () => import("./matmul.js"),
  allocation: () => import("./allocation.js"),
  pytorch: () => import("./pytorch-step.js"),
};

function parseArgs(argv: readonly string[]): { quick: boolean; selected: string[] } {
  let quick = false;
  let selected = Object.keys(suites);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--quick") quick = true;
    else if (a === "--suite" || a.startsWith("--suite=")) {
      const list = a === "--suite" ? argv[++i] : a.slice("--suite=".length);
      if (!list) throw new Error("--suite needs a comma-separated list");
      selected = list.split(",").map((s) => s.trim()).filter((s) => s !== "");
      const unknown = selected.filter((s) => !(s in suites));
      if (unknown.length > 0) throw new Error(`unknown suite ${unknown.join(", ")}; choose from ${Object.keys(suites).join(", ")}`);
    } else throw new Error(`unknown argument ${a} (use --quick, --suite a,b)`);
  }
  return { quick, selected };
}

const { quick, selected } = parseArgs(process.argv.slice(2));
const options: RunOptions = { quick };
const machine = machineInfo();
const versions = peerVersions();

console.log(`# kdgrad benchmarks${quick ? " (--quick: one call per variant, not timed)" : ""}\n`);
console.log(`${machine.date} · Node ${machine.node} · ${machine.cpu} (${machine.cores} logical cores) · ${machine.platform}`);
console.log(`Peers: ${Object.entries(versions).map(([k, v]) => `${k} ${v}`).join(", ")}. All single-threaded.`);
if (!quick) console.log(`benchmark.js: minSamples ${timing.minSamples}, maxTime ${timing.maxTime} s per variant.`);

const results: SuiteResult[] = [];
const order = selected.includes("allocation") ? ["allocation", ...selected.filter((s) => s !== "allocation")] : selected;
for (const key of order) {
  const result = await (await suites[key]!()).run(options);
  results.push(result);
  if (key !== "allocation") console.log(`\n${result.markdown}`);
}
const allocation = results.find((r) => r.key === "allocation");
if (allocation) console.log(`\n${allocation.markdown}`);

const mismatches = results.flatMap((r) => r.mismatches);
if (mismatches.length > 0) {
  console.log(`\n## MISMATCH\n\n${mismatches.map((m) => `- ${m}`).join("\n")}`);
  process.exitCode = 1;
} else {
  console.log("\nAll agreement checks passed.");
}

if (quick) {
  // A quick run writes nothing.
} else if (order.length !== Object.keys(suites).length) {
  process.stderr.write("a subset of the suites ran: bench/results/latest.json left as it was\n");
} else {
  const dir = new URL("./results/", import.meta.url);
  mkdirSync(dir, { recursive: true });
  const json = {
    machine,
    versions,
    timing,
    argv: process.argv.slice(2),
    suites: Object.fromEntries(results.map((r) => [r.key, { mismatches: r.mismatches, ...(r.data as object) }])),
  };
  writeFileSync(new URL("latest.json", dir), `${JSON.stringify(json, null, 2)}\n`);
  process.stderr.write(`wrote ${new URL("latest.json", dir).pathname}\n`);
}
