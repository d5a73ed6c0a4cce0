import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";

// The benchmarks themselves are not timed here (no timing assertions in tests):
// `--quick` runs every variant of every suite once, with its agreement checks
// against float64, and must leave bench/results/latest.json alone.
const root = fileURLToPath(new URL("..", import.meta.url));
const tsx = fileURLToPath(new URL("../node_modules/tsx/dist/cli.mjs", import.meta.url));
const latest = fileURLToPath(new URL("../bench/results/latest.json", import.meta.url));

const snapshot = (): string | null => (existsSync(latest) ? readFileSync(latest, "utf8") : null);

test("bench/run.ts --quick runs every suite, agrees with float64 and writes nothing", () => {
  const before = snapshot();
  const out = execFileSync(process.execPath, [tsx, "bench/run.ts", "--quick"], {
    cwd: root, encoding: "utf8", timeout: 120_000, stdio: ["ignore", "pipe", "pipe"],
  });
  for (const header of [
    "## Distillation loss + gradient",
    "## Divergences (reverse KL, JSD, skew KL, TVD) + gradient",
    "## Sparse (top-k) distillation loss + gradient",
    "## Fused linear + distillation loss (linearDistillationLoss)",
    "## MLP training step",
    "## matmul",
    "## Allocation per distillationLoss call",
    "## Against PyTorch: the MNIST teacher's training step (report only)",
  ]) {
    expect(out).toContain(header);
  }
  expect(out).toContain("| variant |");
  expect(out).not.toContain("MISMATCH");
  expect(out).toContain("All agreement checks passed.");
  expect(snapshot()).toBe(before);
}, 130_000);

test("bench/run.ts rejects an unknown suite", () => {
  expect(() =>
    execFileSync(process.execPath, [tsx, "bench/run.ts", "--quick", "--suite", "nope"], {
      cwd: root, encoding: "utf8", timeout: 60_000, stdio: ["ignore", "pipe", "pipe"],
    }),
  ).toThrow(/unknown suite nope/);
}, 70_000);
