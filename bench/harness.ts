/**
 * What every suite shares: the command-line options, machine information,
 * the benchmark.js runner, agreement checks and markdown tables.
 *
 * Times are never compared across runs: each suite measures kdgrad and its
 * peers in one benchmark.js Suite per shape, in the same process, and
 * reports every variant as a ratio to kdgrad measured in that Suite.
 */
import Benchmark from "benchmark";
import os from "node:os";
import { readFileSync } from "node:fs";

export interface RunOptions {
  /** Run every variant once (the agreement checks are the smoke run), with no timing loop. */
  quick: boolean;
}

/** What a suite hands back to bench/run.ts. */
export interface SuiteResult {
  /** The key in bench/results/latest.json and in --suite. */
  key: string;
  /** Markdown: heading, tables, notes. */
  markdown: string;
  /** Failed agreement checks, one line each (also shown as MISMATCH rows in the tables). */
  mismatches: string[];
  /** All numbers, for latest.json. */
  data: unknown;
}

/**
 * benchmark.js settings for a full run: each variant is sampled for about
 * maxTime seconds (at least minSamples samples), so a whole suite of one
 * shape takes a few seconds however slow a peer is.
 */
export const timing = { minSamples: 5, maxTime: 1.5 } as const;

export interface Variant {
  name: string;
  /** The timed call. It must leave its result readable on the host (so lazy peers cannot skip work). */
  fn: () => void;
  /** Run before this variant's samples, outside the timing (e.g. switch a peer's backend). */
  before?: () => void;
}

export interface Measurement {
  name: string;
  /** Mean seconds per call, or NaN when the variant failed. */
  mean: number;
  /** Relative margin of error of the mean, in percent (95% confidence). */
  rme: number;
  samples: number;
  error?: string;
}

/**
 * Time every variant in one benchmark.js Suite (one after another, in the
 * order given, synchronously).
 */
export function measure(title: string, variants: readonly Variant[]): Measurement[] {
  const suite = new Benchmark.Suite(title);
  for (const v of variants) {
    suite.add(v.name, v.fn, { ...timing, onStart: v.before });
  }
  process.stderr.write(`  timing ${title}: `);
  suite.on("cycle", (event: Benchmark.Event) => {
    const b = event.target as unknown as Benchmark;
    process.stderr.write(b.error ? `${b.name} FAILED; ` : `${b.name} ${fmtTime(b.stats.mean)}; `);
  });
  suite.run({ async: false });
  process.stderr.write("\n");
  return suite.map((b: Benchmark): Measurement => ({
    name: b.name ?? "?",
    mean: b.error ? NaN : b.stats.mean,
    rme: b.error ? NaN : b.stats.rme,
    samples: b.error ? 0 : b.stats.sample.length,
    ...(b.error ? { error: String(b.error.message ?? b.error) } : {}),
  }));
}

/** |a − b| ≤ rtol·|b|, false for NaN. */
export function relClose(a: number, b: number, rtol: number): boolean {
  return Math.abs(a - b) <= rtol * Math.abs(b);
}

/** max |aᵢ − bᵢ| (NaN if any element is NaN). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return NaN;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = d;
  }
  return m;
}

/** max |aᵢ|. */
export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

export function fmtTime(seconds: number): string {
  if (!Number.isFinite(seconds)) return "—";
  if (seconds >= 1) return `${seconds.toFixed(2)} s`;
  if (seconds >= 1e-3) return `${(seconds * 1e3).toFixed(2)} ms`;
  return `${(seconds * 1e6).toFixed(1)} µs`;
}

/** A number with about three significant digits. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return "—";
  const a = Math.abs(x);
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toPrecision(3);
}

export function fmtRatio(x: number): string {
  return Number.isFinite(x) ? `${fmt(x)}×` : "—";
}

export function fmtRme(m: Measurement): string {
  return Number.isFinite(m.rme) ? `±${m.rme.toFixed(1)}%` : "—";
}

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

/** The machine and the date, printed above the tables and stored in latest.json. */
export function machineInfo(): Record<string, string | number> {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus[0]?.model ?? "unknown",
    cores: cpus.length,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    memoryGB: Math.round(os.totalmem() / 2 ** 30),
  };
}

/** Installed versions of the peers and the harness (read from their package.json). */
export function peerVersions(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ["@tensorflow/tfjs", "@tensorflow/tfjs-backend-wasm", "@jax-js/jax", "benchmark"]) {
    try {
      // Read the file directly: not every package exports its package.json.
      const pkg = JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), "utf8")) as { version: string };
      out[name] = pkg.version;
    } catch {
      out[name] = "unknown";
    }
  }
  return out;
}

/** A speed target: `peer` must take at least `min` times as long as `kdgrad`, in the same Suite. */
export interface Target {
  what: string;
  kdgrad: string;
  peer: string;
  min: number;
  /** time(peer) ÷ time(kdgrad). */
  ratio: number;
  holds: boolean;
}

export function target(what: string, measured: readonly Measurement[], kdgrad: string, peer: string, min: number): Target {
  const time = (name: string): number => measured.find((m) => m.name === name)?.mean ?? NaN;
  const ratio = time(peer) / time(kdgrad);
  return { what, kdgrad, peer, min, ratio, holds: ratio >= min };
}

export function targetTable(targets: readonly Target[]): string {
  return table(
    ["target", "kdgrad", "peer", "time(peer) ÷ time(kdgrad)", "needed", "holds"],
    targets.map((t) => [t.what, t.kdgrad, t.peer, fmtRatio(t.ratio), `≥ ${t.min}×`, t.holds ? "yes" : "**no**"]),
  );
}
