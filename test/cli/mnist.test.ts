/**
 * kdgrad distill/sweep --dataset mnist: the bias search against brute force, and a smoke run
 * of the whole table on a subset (one epoch) that checks what can go wrong in the real run:
 * determinism per seed (a second run, from the teacher cache, gives the same numbers), error
 * counts within [0, N], the omitted class absent from its transfer set, refusals naming the flag.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { Generator, randn, tensor } from "../../src/index.js";
import { loadIdx } from "../../src/node/index.js";
import { bestBiasShift, rowsWithClasses } from "../../src/cli/mnist-recipe.js";
import { mnistPackageDir } from "../../src/cli/node-io.js";
import { run } from "./run.js";

const dir = mkdtempSync(join(tmpdir(), "kdgrad-mnist-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Correct rows with δ added to the logits of `classes`, by argmax (first index wins ties). */
function recount(z: number[], y: number[], c: number, classes: number[], delta: number): number {
  let correct = 0;
  for (let i = 0; i < y.length; i++) {
    let best = -1, bv = -Infinity;
    for (let j = 0; j < c; j++) {
      const v = z[i * c + j]! + (classes.includes(j) ? delta : 0);
      if (best < 0 || v > bv) { best = j; bv = v; }
    }
    if (best === y[i]) correct++;
  }
  return correct;
}

describe("bestBiasShift", () => {
  test("finds the best shift: no shift at any margin, midpoint or beyond does better, and its count is right", () => {
    for (let seed = 0; seed < 30; seed++) {
      const g = new Generator(seed);
      const n = 40, c = 5;
      const logits = randn([n, c], { dtype: "float64", generator: g });
      const y = Array.from({ length: n }, () => g.below(c));
      const classes = seed % 3 === 0 ? [g.below(c)] : [0, 2];
      const z = logits.toFlatArray();
      const { shift, correct } = bestBiasShift(logits, tensor(y, { dtype: "int32" }), classes);
      expect(recount(z, y, c, classes, shift)).toBe(correct);
      // Candidates: around every row's margin, and far out on both sides.
      const cands = [-1e6, 1e6, 0];
      for (let i = 0; i < n; i++) {
        const inS = classes.map((j) => z[i * c + j]!), out = z.slice(i * c, (i + 1) * c).filter((_, j) => !classes.includes(j));
        const m = Math.max(...out) - Math.max(...inS);
        cands.push(m - 1e-9, m + 1e-9);
      }
      for (const d of cands) expect(recount(z, y, c, classes, d)).toBeLessThanOrEqual(correct);
    }
  });

  test("check: logits where the classes already win exactly the rows they should give a shift of 0", () => {
    const logits = tensor([[5, 0, 0], [0, 5, 0], [0, 0, 5]], { dtype: "float64" });
    expect(bestBiasShift(logits, tensor([0, 1, 2], { dtype: "int32" }), [1])).toEqual({ shift: 0, correct: 3 });
  });

  test("raises an unseen class's bias until it wins its rows", () => {
    // Class 1 is never the argmax; rows labelled 1 have it 2 below the best.
    const logits = tensor([[3, 1, 0], [0, 1, 3], [3, 0, 0]], { dtype: "float64" });
    const r = bestBiasShift(logits, tensor([1, 1, 0], { dtype: "int32" }), [1]);
    expect(r.correct).toBe(3);
    expect(r.shift).toBeGreaterThan(2);
    expect(r.shift).toBeLessThan(3);
  });
});

const have = mnistPackageDir() !== null;

describe.skipIf(!have)("kdgrad distill --dataset mnist (smoke: 500 training and 200 test images, one epoch)", () => {
  const argv = ["distill", "--dataset", "mnist", "--subset", "500,200", "--epochs", "1,1", "--omit-class", "3", "--transfer-classes", "7,8", "--json", "--teacher-cache", join(dir, "cache")];
  type Report = {
    test: number; train: number;
    runs: { teacher: { errors: number; cached: boolean }; hard: { errors: number }; distilled: { errors: number };
      omitted: { class: number; of: number; transferSize: number; before: { errors: number; classErrors: number }; after: { errors: number; classErrors: number } };
      transfer: { transferSize: number; before: { errors: number }; after: { errors: number }; perClass: { of: number; before: number; after: number }[] } }[];
  };

  test("runs the whole table, errors within [0, N], the same numbers again from the teacher cache", async () => {
    const first = await run(argv);
    expect(first.err).toMatch(/teacher: saved to/);
    expect(first.code).toBe(0);
    const a = JSON.parse(first.out) as Report;
    expect([a.train, a.test]).toEqual([500, 200]);
    const r = a.runs[0]!;
    for (const e of [r.teacher.errors, r.hard.errors, r.distilled.errors, r.omitted.before.errors, r.omitted.after.errors, r.transfer.before.errors, r.transfer.after.errors]) {
      expect(Number.isInteger(e) && e >= 0 && e <= 200).toBe(true);
    }
    expect(r.omitted.before.classErrors).toBeLessThanOrEqual(r.omitted.of);
    expect(r.transfer.perClass.reduce((s, c) => s + c.of, 0)).toBe(200);
    expect(r.transfer.perClass.reduce((s, c) => s + c.after, 0)).toBe(r.transfer.after.errors);
    // The transfer sets: without any 3; only 7s and 8s (counted from the files themselves).
    const labels = loadIdx(join(mnistPackageDir()!, "train-labels-idx1-ubyte")).toFlatArray().slice(0, 500);
    expect(r.omitted.transferSize).toBe(labels.filter((v) => v !== 3).length);
    expect(r.transfer.transferSize).toBe(labels.filter((v) => v === 7 || v === 8).length);

    const second = await run(argv);
    expect(second.code).toBe(0);
    expect(second.err).toMatch(/teacher: loaded from/);
    const b = JSON.parse(second.out) as Report;
    expect(b.runs[0]!.teacher.cached).toBe(true);
    // Determinism per seed: the cached teacher and the students trained again agree exactly.
    // Everything but the times and the cache flag.
    const strip = (x: Report): unknown => JSON.parse(JSON.stringify(x.runs, (k, v: unknown) => (k === "seconds" || k === "cached" ? undefined : v)));
    expect(strip(b)).toEqual(strip(a));
    expect(JSON.stringify(strip(a))).toMatch(/"curve":\[\d+\]/);
  }, 120_000);

  test("--teacher-seed: one teacher (here the cached one of seed 0) for every seed's students", async () => {
    const r = await run(["distill", "--dataset", "mnist", "--subset", "500,200", "--epochs", "1,1", "--json", "--teacher-cache", join(dir, "cache"), "--seeds", "1,2", "--teacher-seed", "0"]);
    expect(r.code).toBe(0);
    // Loaded once, for both seeds; no teacher trained.
    expect(r.err.match(/teacher: loaded from/g)?.length).toBe(1);
    expect(r.err).not.toMatch(/teacher: epoch/);
    const runs = (JSON.parse(r.out) as { runs: { seed: number; teacher: { seed: number; errors: number } }[] }).runs;
    expect(runs.map((x) => [x.seed, x.teacher.seed])).toEqual([[1, 0], [2, 0]]);
    expect(runs[0]!.teacher.errors).toBe(runs[1]!.teacher.errors);
  }, 120_000);

  test("the transfer set without a class holds none of it", () => {
    const y = tensor([3, 1, 3, 7, 8, 0], { dtype: "int32" });
    const x = tensor([[0], [1], [2], [3], [4], [5]], { dtype: "float32" });
    const seen = rowsWithClasses({ x, y }, [3], false);
    expect(seen.y.toFlatArray()).toEqual([1, 7, 8, 0]);
    expect(seen.rows).toEqual([1, 3, 4, 5]);
    expect(rowsWithClasses({ x, y }, [7, 8], true).x.toFlatArray()).toEqual([3, 4]);
  });

  test("bench/reproduce-mnist.ts --smoke prints the paper's numbers beside kdgrad's", () => {
    const root = fileURLToPath(new URL("../..", import.meta.url));
    const tsx = fileURLToPath(new URL("../../node_modules/tsx/dist/cli.mjs", import.meta.url));
    const out = execFileSync(process.execPath, [tsx, "bench/reproduce-mnist.ts", "--smoke"], { cwd: root, encoding: "utf8", timeout: 120_000, stdio: ["ignore", "pipe", "pipe"] });
    const row = out.split("\n").find((l) => l.startsWith("| student 784-800-800-10, distilled T = 20"))!;
    const cells = row.split("|").map((c) => c.trim());
    expect(cells.slice(2, 4)).toEqual(["74", "111"]);
    expect(Number(cells[4]) >= 0 && Number(cells[4]) <= 200).toBe(true);
    expect(out).toMatch(/500 training and 200 test images; wall time \d+\.\d min/);
    expect(out).toContain("| errors on the test 3s, after       |     14 |");
  }, 130_000);

  test("sweep --dataset mnist: one cell per student and temperature", async () => {
    const r = await run(["sweep", "--dataset", "mnist", "--subset", "300,100", "--epochs", "1,1", "--students", "784-30-30-10", "--temperatures", "2,4", "--json"]);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.out) as { distilled: { student: string; temperature: number; errors: number[] }[]; hard: Record<string, number[]> };
    expect(s.distilled.map((c) => [c.student, c.temperature])).toEqual([["784-30-30-10", 2], ["784-30-30-10", 4]]);
    for (const c of s.distilled) expect(c.errors[0]! >= 0 && c.errors[0]! <= 100).toBe(true);
    expect(s.hard["784-30-30-10"]!.length).toBe(1);
  }, 120_000);
});

describe("refusals", () => {
  test("a missing --data directory is a one-line error naming --data", async () => {
    const r = await run(["distill", "--dataset", "mnist", "--data", join(dir, "nowhere"), "--epochs", "1,1"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^kdgrad distill: --data ".*nowhere" has no train-images-idx3-ubyte \(or train-images-idx3-ubyte\.gz\)\n$/);
  });
  test("--dataset must be digits or mnist; mnist options are checked", async () => {
    expect((await run(["distill", "--dataset", "cifar"])).err).toMatch(/^kdgrad distill: --dataset must be digits or mnist, got 'cifar'\n$/);
    expect((await run(["sweep", "--dataset"])).err).toMatch(/^kdgrad sweep: --dataset needs a value/);
    expect((await run(["distill", "--dataset", "mnist", "--omit-class", "10"])).err).toMatch(/--omit-class must be a digit class in \[0, 9\], got 10/);
    expect((await run(["distill", "--dataset", "mnist", "--transfer-classes", "7,7"])).err).toMatch(/--transfer-classes repeats a class/);
    expect((await run(["distill", "--dataset", "mnist", "--subset", "0,5"])).err).toMatch(/--subset takes two positive integers/);
    expect((await run(["distill", "--dataset", "mnist", "--temperature", "0"])).code).toBe(2);
    expect((await run(["distill", "--dataset", "mnist", "--teacher-seed", "-1"])).err).toMatch(/--teacher-seed must be an integer in \[0, /);
  });
});
