/**
 * The CLI, fuzzed as a real process (`node bin/kdgrad.js …`): a cheap valid
 * command line (distill, distill --method M, sweep, compare) with one option
 * replaced by a bad or borderline value (or one a method does not read), an
 * unknown option, a malformed flag, or a bad file. The rules
 * (test/fuzz/README.md, "The CLI"):
 *   - a bad flag, value or file: exit code 2 and exactly one line on stderr
 *     starting with "kdgrad", nothing on stdout;
 *   - a borderline value (an extreme temperature, a valid file with masked
 *     classes): exit 0 with finite results, or exit 2 as above;
 *   - never a stack trace, an "unexpected failure", another exit code, a
 *     hang (no exit within FUZZ_CLI_MS, default 20 s), or exit 0 with NaN
 *     in the results.
 * Processes are slow (about a second each), so the default is
 * FUZZ_CLI_RUNS=6; FUZZ_RUNS raises it (a quarter of it, at least 6).
 * FUZZ_SURVEY=1 runs them all without stopping and prints every problem.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { afterAll, expect, test } from "vitest";
import { npyBytes, type NpyParams } from "./specials.js";

const BIN = fileURLToPath(new URL("../../bin/kdgrad.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "kdgrad-cli-fuzz-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Expect = "bad" | "either";

/** A file the command line refers to, written before the run. */
type FileSpec =
  | { kind: "npy"; shape: number[]; descr: string; fill: "finite" | "nan" | "inf" | "masked" | "all-masked-row" }
  | { kind: "garbage" | "empty" | "dir" | "missing" | "under-file" | "existing-file" | "proc" | "fresh-dir" };

interface Case {
  argv: string[];
  expect: Expect;
  /** The value of this option is a path to this file (with `suffix` appended to the path). */
  file?: { option: string; spec: FileSpec; suffix?: string };
}

const DISTILL = ["distill", "--epochs", "1,1", "--json"];
const COMPARE = ["compare", "--epochs", "1,1", "--seeds", "1", "--json"];
const SWEEP = ["sweep", "--epochs", "1,1", "--temperatures", "2", "--alphas", "0.5", "--students", "64-8-10", "--json"];

/** [option, bad values, borderline values] per command. Borderline values are valid, or may be refused. */
const NUMBER_BAD = ["abc", "", "NaN", "Infinity", "-Infinity", "1e400", "0x1", " 8", "8 ", "1,2", "4e", "0b1", "1_0"];
const INT_BAD = ["0.5", "a", "1e1", "0x1", " 1", "1 ", "", "9007199254740993", "-0.5", "1.0e0"];
const SIZES_BAD = ["64-0-10", "64--10", "64-1e1-10", "64-0x8-10", "64- 8-10", "65-8-10", "64-8-11", "64", "", "64-8.5-10", "64-8-10-", "64-Infinity-10", "64-08-10x"];
const OPTIONS: Record<"distill" | "sweep" | "compare", [string, string[], string[]][]> = {
  distill: [
    ["--temperature", ["0", "-1", "-0", ...NUMBER_BAD], ["1e-300", "5e-324", "1e300", "1e30", "1e8", "0.5", "1e-8", "1.7976931348623157e308"]],
    ["--alpha", ["1.5", "-0.1", "NaN", "0x1", "abc", "", " 0.5", "1.0000001"], ["0", "1", "0.25"]],
    ["--seeds", ["-1", "0,,1", "1,1", ...INT_BAD], ["0,1", "3", "9007199254740991"]],
    ["--epochs", ["0", "1,2,3", "-1", "1,0", ...INT_BAD], ["2", "1,2"]],
    ["--teacher", SIZES_BAD, ["64-4-10"]],
    ["--student", SIZES_BAD, ["64-4-10", "64-2-2-10"]],
    ["--transfer", ["half", "", "10PCT", "toString", "__proto__"], ["full"]],
    ["--omit-class", ["10", "-1", "0.5", "1e0", "x", ""], ["3"]],
    ["--method", ["DKD", "", "kd,dkd", "toString", "__proto__", "hard", " kd"], ["kd", "dkd", "dist", "nkd", "wsld"]],
    ["--divergence", ["kl", "", "Forward", "__proto__", "jsd,tvd", "skew"], ["forward", "reverse", "jsd", "skewForward", "skewReverse", "tvd"]],
    ["--dataset", ["MNIST", "", "cifar", "toString", "__proto__", "digits,mnist", " mnist"], ["digits"]],
  ],
  compare: [
    ["--seeds", ["0", "-1", "1001", "0,1", ...INT_BAD], ["2"]],
    ["--epochs", ["0", "1,2,3", "1,0", ...INT_BAD], ["2", "1,2"]],
  ],
  sweep: [
    ["--temperatures", ["0,2", "2,,4", "a", "", "0x2", "NaN", "-1", "1e400"], ["1e-300", "1e300", "2,8"]],
    ["--alphas", ["1.5", "-1", "", "NaN", "0x1"], ["0,1"]],
    ["--students", ["64-0-10", "32-10", "64-8-10,", "", "64-1e1-10", "64-8-10,,64-4-10"], ["64-4-10"]],
    ["--dataset", ["MNIST", "", "cifar", "__proto__"], ["digits"]],
    ["--teacher", SIZES_BAD, ["64-4-10"]],
    ["--seeds", ["-1", ...INT_BAD], ["0,1"]],
    ["--epochs", ["0", "1,2,3", ...INT_BAD], ["1"]],
    ["--transfer", ["half", ""], ["full"]],
  ],
};

/**
 * The options each method of `kdgrad distill --method` reads (the documented table, written
 * out here independently of src/cli/methods.ts): any other is refused with exit 2.
 */
const METHOD_READS: Record<string, string[]> = {
  kd: ["--temperature", "--alpha", "--divergence", "--standardize"],
  dkd: ["--temperature", "--alpha", "--beta", "--standardize"],
  dist: ["--temperature", "--beta", "--gamma"],
  nkd: ["--temperature", "--gamma"],
  wsld: ["--temperature", "--alpha"],
};
/** Each method option's refused and borderline values, where the method reads it (kd's --alpha is in [0, 1], the others' ≥ 0). */
const METHOD_VALUES: Record<string, [string[], string[]]> = {
  "--temperature": [["0", "-1", "1e7", ...NUMBER_BAD], ["1e-6", "1e6", "0.5", "20"]],
  "--alpha": [["-1", "-0.5", ...NUMBER_BAD], ["0", "1", "0.25"]],
  "--beta": [["-1", "-1e-300", ...NUMBER_BAD], ["0", "8", "1e300", "5e-324"]],
  "--gamma": [["-1", ...NUMBER_BAD], ["0", "1.5", "1e300"]],
  "--divergence": [["kl", ""], ["reverse", "jsd", "tvd"]],
  "--standardize": [["=1", "=true"], [""]],
};

/** Set or add an option's value in a command line. */
function withOption(argv: string[], option: string, value: string, eq: boolean): string[] {
  const out = [...argv];
  const i = out.indexOf(option);
  if (i >= 0) out.splice(i, 2);
  return eq ? [...out, `${option}=${value}`] : [...out, option, value];
}

const npyFill = fc.constantFrom<"finite" | "nan" | "inf" | "masked" | "all-masked-row">("finite", "finite", "masked", "nan", "inf", "all-masked-row");

const caseArb: fc.Arbitrary<Case> = fc.oneof(
  // One option of distill or sweep replaced by a bad or a borderline value.
  { weight: 5, arbitrary: fc.record({ cmd: fc.constantFrom<"distill" | "sweep" | "compare">("distill", "distill", "sweep", "compare"), k: fc.nat(), bad: fc.boolean(), j: fc.nat(), eq: fc.boolean() }).map(({ cmd, k, bad, j, eq }) => {
    const [option, bads, borders] = OPTIONS[cmd][k % OPTIONS[cmd].length]!;
    const pool = bad ? bads : borders;
    const value = pool[j % pool.length]!;
    // A value that starts with "-" can only be given as --option=value.
    return { argv: withOption(cmd === "distill" ? DISTILL : cmd === "sweep" ? SWEEP : COMPARE, option, value, eq || value.startsWith("-")), expect: (bad ? "bad" : "either") as Expect };
  }) },
  // `distill --method M` with one method option: refused (exit 2) where M does not read it or the value is bad.
  { weight: 3, arbitrary: fc.record({ method: fc.constantFrom("kd", "dkd", "dist", "nkd", "wsld"), k: fc.nat(), bad: fc.boolean(), j: fc.nat(), eq: fc.boolean() }).map(({ method, k, bad, j, eq }): Case => {
    const options = Object.keys(METHOD_VALUES);
    const option = options[k % options.length]!;
    const [bads, borders] = METHOD_VALUES[option]!;
    const pool = bad ? bads : borders;
    let value = pool[j % pool.length]!;
    // kd's alpha is a weight in [0, 1]: above 1 is refused for kd only (a weight ≥ 0 for dkd and wsld).
    if (!bad && option === "--alpha" && j % 2 === 1) value = method === "kd" ? "1.5" : "2.5";
    const refused = bad || !METHOD_READS[method]!.includes(option) || (method === "kd" && value === "1.5");
    const base = [...DISTILL, "--method", method];
    const argv = option === "--standardize" ? [...base, `--standardize${value}`] : withOption(base, option, value, eq || value.startsWith("-"));
    return { argv, expect: refused ? "bad" : "either" };
  }) },
  // Malformed command lines.
  { weight: 2, arbitrary: fc.constantFrom<Case>(
    { argv: [...DISTILL, "--bogus"], expect: "bad" }, { argv: [...DISTILL, "--json=1"], expect: "bad" }, { argv: [...DISTILL, "extra"], expect: "bad" },
    { argv: [...DISTILL, "--epochs"], expect: "bad" }, { argv: [...DISTILL, "--alpha", "0.5", "--alpha", "0.5"], expect: "bad" }, { argv: [...DISTILL, "-t", "4"], expect: "bad" },
    { argv: ["frobnicate"], expect: "bad" }, { argv: ["Distill"], expect: "bad" }, { argv: ["gradcheck", "--bogus"], expect: "bad" }, { argv: ["gradcheck", "extra"], expect: "bad" },
    { argv: ["gradcheck", "--json"], expect: "either" }, { argv: ["--version"], expect: "either" }, { argv: ["distill", "--help"], expect: "either" }, { argv: ["sweep", "--help=1"], expect: "bad" },
    { argv: [...DISTILL, "--", "--temperature", "2"], expect: "bad" }, { argv: [...DISTILL, "--temperature=2=3"], expect: "bad" },
    { argv: [...COMPARE, "extra"], expect: "bad" }, { argv: [...COMPARE, "--json=1"], expect: "bad" }, { argv: ["compare", "--help"], expect: "either" },
    { argv: [...COMPARE, "--method", "kd"], expect: "bad" }, { argv: [...DISTILL, "--method"], expect: "bad" }, { argv: [...DISTILL, "--method", "dkd", "--method", "dkd"], expect: "bad" },
  ) },
  // --teacher-logits files: malformed, non-finite (NaN and +∞ are refused, −∞ is a mask), or valid.
  { weight: 2, arbitrary: fc.record({
    spec: fc.oneof(
      fc.record({ kind: fc.constant<"npy">("npy"), shape: fc.constantFrom<number[]>([135, 10], [135, 10], [2, 10], [135], [135, 10, 1], [0, 10]), descr: fc.constantFrom("<f4", "<f4", "<f8", "<i4", "<i8", ">f4"), fill: npyFill }),
      fc.record({ kind: fc.constantFrom<"garbage" | "empty" | "dir" | "missing" | "under-file">("garbage", "empty", "dir", "missing", "under-file") }),
    ),
  }).map(({ spec }): Case => {
    const valid = spec.kind === "npy" && spec.shape.join(",") === "135,10" && !spec.descr.includes("i") && (spec.fill === "finite" || spec.fill === "masked");
    return { argv: [...DISTILL], expect: valid ? "either" : "bad", file: { option: "--teacher-logits", spec } };
  }) },
  // --out: a file, a path under a file, a path under /proc (issue item 24), or a fresh directory.
  { weight: 1, arbitrary: fc.record({ cmd: fc.constantFrom("distill", "sweep"), kind: fc.constantFrom<"existing-file" | "under-file" | "proc" | "fresh-dir">("existing-file", "under-file", "proc", "fresh-dir") }).map(({ cmd, kind }): Case => ({
    argv: [...(cmd === "distill" ? DISTILL : SWEEP)], expect: kind === "fresh-dir" ? "either" : "bad", file: { option: "--out", spec: { kind } },
  })) },
  // compare --out FILE.svg: an existing file is replaced and a fresh path is made; a directory, a path under a file or
  // under /proc, or a name without .svg is refused.
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom<"existing-file" | "under-file" | "proc" | "fresh-dir" | "dir">("existing-file", "under-file", "proc", "fresh-dir", "dir"), svg: fc.boolean() }).map(({ kind, svg }): Case => ({
    argv: [...COMPARE], expect: svg && (kind === "fresh-dir" || kind === "existing-file") ? "either" : "bad", file: { option: "--out", spec: { kind }, suffix: svg ? ".svg" : "" },
  })) },
);

let fileCounter = 0;
/** Write the case's file (the suite's own .npy writer) and return its path. */
function makeFile(spec: FileSpec, suffix = ""): string {
  const d = join(dir, String(fileCounter++));
  mkdirSync(d);
  const path = join(d, `file${suffix}`);
  switch (spec.kind) {
    case "npy": {
      const params: NpyParams = { descr: spec.descr, shape: spec.shape, seed: 1, version: 1, fortran: false };
      const bytes = npyBytes(params);
      // Overwrite the data with the fill: logits in [−3, 3], NaN or +∞ in one entry, −∞ masks (one row all −∞ for "all-masked-row").
      const item = spec.descr.endsWith("8") ? 8 : 4;
      const start = bytes.length - spec.shape.reduce((a, b) => a * b, 1) * item;
      const view = new DataView(bytes.buffer);
      const n = (bytes.length - start) / item;
      for (let i = 0; i < n; i++) {
        let x = ((i * 37) % 61) / 10 - 3;
        if (spec.fill === "nan" && i === 17) x = NaN;
        if (spec.fill === "inf" && i === 17) x = Infinity;
        if (spec.fill === "masked" && i % 10 === 3) x = -Infinity;
        if (spec.fill === "all-masked-row" && i < 10) x = -Infinity;
        const le = spec.descr[0] !== ">";
        if (spec.descr.endsWith("f4")) view.setFloat32(start + i * 4, x, le);
        else if (spec.descr.endsWith("f8")) view.setFloat64(start + i * 8, x, le);
        else if (spec.descr.endsWith("i4")) view.setInt32(start + i * 4, Number.isFinite(x) ? Math.round(x) : 0, le);
        else view.setBigInt64(start + i * 8, BigInt(Number.isFinite(x) ? Math.round(x) : 0), le);
      }
      writeFileSync(path, bytes);
      return path;
    }
    case "garbage":
      writeFileSync(path, "not a file of any format\n");
      return path;
    case "empty":
      writeFileSync(path, "");
      return path;
    case "dir":
      if (suffix === "") return d;
      mkdirSync(path);
      return path;
    case "missing":
      return join(d, "no-such-file.npy");
    case "under-file":
      writeFileSync(path, "x");
      return join(path, `inner${suffix}`);
    case "existing-file":
      writeFileSync(path, "x");
      return path;
    case "proc":
      return `/proc/kdgrad-fuzz-no-such/out${suffix}`;
    case "fresh-dir":
      return join(d, `out${suffix}`);
  }
}

interface Outcome {
  code: number | null;
  signal: string | null;
  out: string;
  err: string;
  timedOut: boolean;
}

const limitMs = Number(process.env.FUZZ_CLI_MS ?? 20_000);

function runCli(argv: string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...argv], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, KDGRAD_DEBUG: "" } });
    let out = "";
    let err = "";
    let timedOut = false;
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, limitMs);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out, err, timedOut });
    });
  });
}

/** NaN or null where a JSON report holds numbers (JSON writes NaN as null); the teacher's errors may be null with --teacher-logits. */
function nonFiniteIn(report: unknown, path = ""): string | null {
  if (report === null) return path;
  if (typeof report === "number") return Number.isFinite(report) ? null : path;
  if (Array.isArray(report)) {
    for (let i = 0; i < report.length; i++) {
      const p = nonFiniteIn(report[i], `${path}[${i}]`);
      if (p !== null) return p;
    }
    return null;
  }
  if (typeof report === "object") {
    for (const [k, v] of Object.entries(report as object)) {
      // The teacher's errors are null with --teacher-logits (no teacher is trained); gradcheck's first temperature row has no ratio.
      if ((path === "" && k === "teacher") || (path === "temperature.rows[0]" && k === "ratio")) continue;
      const p = nonFiniteIn(v, path ? `${path}.${k}` : k);
      if (p !== null) return p;
    }
  }
  return null;
}

/** What is wrong with an outcome, or null. */
function problem(c: Case, argv: string[], o: Outcome): string | null {
  if (o.timedOut) return `no exit within ${limitMs / 1000} s (a hang; killed)`;
  if (o.signal) return `killed by ${o.signal}`;
  if (/\n\s+at /.test(o.err) || /^\s+at /m.test(o.err)) return `printed a stack trace: ${o.err.slice(0, 300)}`;
  if (/unexpected failure/.test(o.err)) return `exit ${o.code} with "${o.err.trim().split("\n")[0]}"`;
  if (o.code === 2) {
    const lines = o.err.split("\n");
    if (lines.length !== 2 || lines[1] !== "") return `exit 2 with ${lines.length - 1} lines on stderr (one expected): ${JSON.stringify(o.err.slice(0, 300))}`;
    if (!o.err.startsWith("kdgrad")) return `exit 2 with a message that does not start with "kdgrad": ${o.err.trim()}`;
    if (o.out !== "") return `exit 2 but printed on stdout: ${o.out.slice(0, 200)}`;
    return null;
  }
  if (o.code === 0) {
    if (c.expect === "bad") return `exit 0: accepted a bad value (expected exit 2 and one line); stderr ${JSON.stringify(o.err.slice(0, 200))}`;
    if (argv.includes("--json") && !argv.includes("--help")) {
      let report: unknown;
      try {
        report = JSON.parse(o.out);
      } catch {
        return `exit 0 with --json but stdout is not one JSON object: ${o.out.slice(0, 200)}`;
      }
      const where = nonFiniteIn(report);
      if (where !== null) return `exit 0 with a NaN (null) result at ${where}: ${o.out.slice(0, 300)}`;
    }
    if (/\bNaN\b/.test(o.out)) return `exit 0 with NaN in the output: ${o.out.slice(0, 300)}`;
    return null;
  }
  return `exit ${o.code} (only 0 and 2 are expected here): ${o.err.trim().split("\n")[0]}`;
}

async function runCase(c: Case): Promise<{ argv: string[]; problem: string | null }> {
  let argv = c.argv;
  if (c.file) argv = withOption(argv, c.file.option, makeFile(c.file.spec, c.file.suffix ?? ""), false);
  const p = problem(c, argv, await runCli(argv));
  return { argv, problem: p === null ? null : c.file ? `${p}\n    (${c.file.option} is ${JSON.stringify(c.file.spec)})` : p };
}

const fuzzRuns = Number(process.env.FUZZ_RUNS ?? 0);
const runs = Number(process.env.FUZZ_CLI_RUNS ?? Math.max(6, Math.round(fuzzRuns / 4)));
const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const show = (argv: string[]): string => `kdgrad ${argv.map((a) => (/^[\w.,=/-]+$/.test(a) ? a : JSON.stringify(a))).join(" ")}`;

test(`cli: bad flags, values and files give exit 2 and one line; never a stack trace, a hang or NaN results (${runs} processes, seed ${seed})`, async () => {
  if (process.env.FUZZ_SURVEY) {
    const problems: string[] = [];
    for (const c of fc.sample(caseArb, { numRuns: runs, seed })) {
      const r = await runCase(c);
      if (r.problem) problems.push(`${show(r.argv)}\n    ${r.problem}`);
    }
    console.log(`cli survey (${runs} runs, seed ${seed}):\n${problems.join("\n") || "no problems"}`);
    expect(problems).toEqual([]);
    return;
  }
  await fc.assert(
    fc.asyncProperty(caseArb, async (c) => {
      const r = await runCase(c);
      if (r.problem) throw new Error(`${show(r.argv)}\n    ${r.problem}`);
    }),
    // No shrinking (each step is a process); FUZZ_SEED with fast-check's printed path replays a failure.
    { numRuns: runs, seed, endOnFailure: true, ...(process.env.FUZZ_PATH ? { path: process.env.FUZZ_PATH } : {}) },
  );
}, runs * (limitMs + 5000));
