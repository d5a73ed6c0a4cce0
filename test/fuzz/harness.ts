/**
 * Runs the fuzz properties in a child process (runner.ts) under a watchdog.
 *
 * Why a child process: a synchronous infinite loop (a generator that can
 * never leave its rejection loop, say) cannot be interrupted from inside its
 * own thread, and vitest's per-test timeout runs on that same blocked event
 * loop. The runner logs each call before making it, with synchronous writes
 * to an events file; the watchdog here polls that file, and when one call
 * has run longer than the call limit it kills the runner, records a hang for
 * that property with the call that hung, and starts a new runner at the next
 * property. A runner that dies (a crash, running out of memory) is recorded
 * the same way.
 *
 * By hand: npx tsx test/fuzz/harness.ts [--survey] [--runs N] [--seed S] [--only a,b]
 * prints every failure (or, with --survey, every distinct problem).
 */
import { spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export interface PropertyResult {
  name: string;
  status: "passed" | "failed" | "hang" | "crash" | "not run";
  report: string;
  seed?: number;
  path?: string;
  runs?: number;
  ms?: number;
  problems?: { count: number; problem: string; call: string; path: string }[];
  /** FUZZ_RUNS of the run (per api: property). */
  baseRuns?: number;
}

export interface FuzzOptions {
  names: string[];
  runs: number;
  seed: number;
  survey?: boolean;
  /** A call running longer than this is a hang (ms). */
  callLimitMs: number;
  /** Stop everything after this long (ms); what did not run is reported as not run. */
  totalLimitMs: number;
}

const RUNNER = fileURLToPath(new URL("./runner.ts", import.meta.url));

/** The command that replays one property's failure (README, "Replaying a failure"). */
export function replayCommand(r: PropertyResult): string {
  // FUZZ_RUNS as in the run that failed: a path indexes that run's sequence of inputs.
  const runs = r.baseRuns !== undefined ? ` FUZZ_RUNS=${r.baseRuns}` : "";
  return `FUZZ_ONLY='${r.name}' FUZZ_SEED=${r.seed ?? "?"}${r.path ? ` FUZZ_PATH='${r.path}'` : ""}${runs} npx vitest run test/fuzz/fuzz.test.ts`;
}

export async function runFuzz(o: FuzzOptions): Promise<Map<string, PropertyResult>> {
  const results = new Map<string, PropertyResult>();
  const dir = mkdtempSync(join(tmpdir(), "kdgrad-fuzz-events-"));
  const deadline = Date.now() + o.totalLimitMs;
  let remaining = [...o.names];
  let round = 0;
  try {
    while (remaining.length > 0 && Date.now() < deadline) {
      const events = join(dir, `events-${round++}.jsonl`);
      closeSync(openSync(events, "w"));
      const args = ["--import", "tsx", RUNNER, "--events", events, "--runs", String(o.runs), "--seed", String(o.seed), "--only", remaining.join(",")];
      if (o.survey) args.push("--survey");
      if (process.env.FUZZ_PATH && remaining.length === 1) args.push("--path", process.env.FUZZ_PATH);
      const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"], env: process.env });
      let stderr = "";
      child.stderr.on("data", (d) => (stderr = (stderr + d).slice(-4000)));
      const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
      let exitCode: number | null | undefined;
      void exited.then((c) => (exitCode = c));

      const fd = openSync(events, "r");
      let offset = 0;
      let buffer = "";
      let current: string | null = null;
      let lastCall = "";
      let lastAt = Date.now();
      let ended = false;
      const buf = Buffer.alloc(1 << 16);
      const drain = (): void => {
        for (;;) {
          const n = readSync(fd, buf, 0, buf.length, offset);
          if (n <= 0) break;
          offset += n;
          buffer += buf.toString("utf8", 0, n);
        }
        let nl: number;
        while ((nl = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          const e = JSON.parse(line) as Record<string, unknown>;
          lastAt = Date.now();
          if (e.ev === "start") {
            current = e.prop as string;
            lastCall = "";
          } else if (e.ev === "call") lastCall = e.text as string;
          else if (e.ev === "done" || e.ev === "survey") {
            const name = e.prop as string;
            const failed = e.ev === "done" ? !e.ok : (e.problems as unknown[]).length > 0;
            results.set(name, {
              name, status: failed ? "failed" : "passed", report: (e.report as string) ?? "",
              seed: (e.seed as number | undefined) ?? o.seed, path: e.path as string, runs: e.runs as number, ms: e.ms as number,
              problems: e.problems as PropertyResult["problems"],
            });
            remaining = remaining.filter((n) => n !== name);
            current = null;
          } else if (e.ev === "end") ended = true;
        }
      };
      let killedFor: "hang" | "deadline" | null = null;
      while (exitCode === undefined) {
        await new Promise((r) => setTimeout(r, 100));
        drain();
        if (current !== null && Date.now() - lastAt > o.callLimitMs) killedFor = "hang";
        else if (Date.now() > deadline) killedFor = "deadline";
        if (killedFor) {
          child.kill("SIGKILL");
          await exited;
          break;
        }
      }
      await exited;
      drain();
      closeSync(fd);
      if (killedFor === "deadline") break;
      if (current !== null) {
        const name: string = current;
        results.set(name, {
          name,
          status: killedFor === "hang" ? "hang" : "crash",
          report: killedFor === "hang"
            ? lastCall === ""
              ? `no call started within ${o.callLimitMs / 1000} s: generating the arguments hung (a bug of the suite's table)`
              : `a call ran for more than ${o.callLimitMs / 1000} s (a hang; the runner was killed):\n    call: ${lastCall}`
            : `the runner died (exit ${exitCode}) during:\n    call: ${lastCall}\n${stderr}`,
          seed: o.seed,
        });
        remaining = remaining.filter((n) => n !== name);
      } else if (!ended && remaining.length > 0) {
        // Died between properties: report the rest rather than loop.
        for (const n of remaining) results.set(n, { name: n, status: "crash", report: `the runner exited (${exitCode}) before this property ran:\n${stderr}` });
        remaining = [];
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  for (const n of remaining) results.set(n, { name: n, status: "not run", report: `not run: the fuzz suite's time limit (${o.totalLimitMs / 1000} s) ran out first` });
  for (const r of results.values()) r.baseRuns = o.runs;
  return results;
}

// ------------------------------------------------------------------ by hand

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { propertyDefs } = await import("./properties.js");
  const argv = process.argv.slice(2);
  const get = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const only = get("--only")?.split(",");
  const names = propertyDefs().map((d) => d.name).filter((n) => !only || only.some((o) => n === o || (o.endsWith("*") && n.startsWith(o.slice(0, -1)))));
  const seed = Number(get("--seed") ?? Date.now() % 2 ** 31);
  const results = await runFuzz({
    names, seed, runs: Number(get("--runs") ?? process.env.FUZZ_RUNS ?? 25), survey: argv.includes("--survey"),
    callLimitMs: Number(process.env.FUZZ_CALL_MS ?? 5000), totalLimitMs: Number(get("--minutes") ?? 60) * 60_000,
  });
  let bad = 0;
  for (const r of results.values()) {
    if (r.status === "passed") continue;
    bad++;
    if (r.problems) {
      console.log(`\n## ${r.name} (${r.runs} runs)`);
      for (const p of r.problems) console.log(`- ×${p.count} ${p.problem.split("\n")[0]}\n    call: ${p.call}\n    replay: ${replayCommand({ ...r, path: p.path })}`);
    } else console.log(`\n## ${r.name}: ${r.status}\n${r.report}\n    replay: ${replayCommand(r)}`);
  }
  console.log(`\n${results.size} properties, ${bad} with problems (seed ${seed})`);
}
