import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { run } from "./run.js";
import { METHODS } from "../../src/cli/methods.js";

const BIN = fileURLToPath(new URL("../../bin/kdgrad.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "kdgrad-compare-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `node bin/kdgrad.js …` as a real process. */
function kdgrad(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...argv], { encoding: "utf8" }, (error, out, err) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, out, err });
    });
  });
}

const quick = ["compare", "--epochs", "1,3", "--seeds", "2"];

describe("kdgrad compare", () => {
  test("--json: every method's errors per seed; the hard-label and each method's row are what kdgrad distill reports for the same seed; the same seeds give the same output", async () => {
    const [a, b] = await Promise.all([kdgrad([...quick, "--json"]), kdgrad([...quick, "--json"])]);
    expect([a.code, a.err]).toEqual([0, ""]);
    expect(a.out.trim().split("\n")).toHaveLength(1);
    const report = JSON.parse(a.out);
    const again = JSON.parse(b.out);
    delete report.seconds;
    delete again.seconds;
    expect(again).toEqual(report);
    expect(Object.keys(report).sort()).toEqual(["epochs", "rows", "seeds", "teacher", "testSize"]);
    expect(report.seeds).toEqual([0, 1]);
    expect(report.epochs).toEqual([1, 3]);
    expect(report.rows.map((r: { method: string }) => r.method)).toEqual(["hard", ...METHODS]);
    for (const row of report.rows) {
      expect(row.errors).toHaveLength(2);
      for (const e of row.errors) expect(Number.isInteger(e) && e >= 0 && e <= report.testSize).toBe(true);
    }
    // The hard-label student and each method's student are those of `kdgrad distill` with the same seeds and epochs.
    for (const method of METHODS) {
      const d = JSON.parse((await run(["distill", "--epochs", "1,3", "--seeds", "0,1", "--json", "--method", method])).out);
      const row = report.rows.find((r: { method: string }) => r.method === method);
      expect([method, row.errors]).toEqual([method, d.distilled.errors]);
      expect(report.rows[0].errors).toEqual(d.hard.errors);
      expect(report.teacher.errors).toEqual(d.teacher.errors);
    }
  }, 120_000);

  test("the text table and the SVG chart", async () => {
    const out = join(dir, "charts", "compare.svg");
    const r = await kdgrad([...quick, "--out", out]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^\| method\s+\| settings \(published defaults\)\s+\|\s+test errors \| vs hard labels \| fewer errors \|$/m);
    expect(r.out).toMatch(/^\| hard labels \| cross-entropy on the labels\s+\|\s+\d+\.\d ± \d+\.\d \/ 450 \|\s+- \|\s+- \|$/m);
    expect(r.out).toMatch(/^\| DKD\s+\| α = 1, β = 8, T = 4, warm-up 1 epoch\s+\|/m);
    for (const name of ["KD", "DKD", "DIST", "NKD", "WSLD"]) expect(r.out).toMatch(new RegExp(`^\\| ${name}\\s+\\|.*\\|\\s+[-+]?\\d+\\.\\d ± \\d+\\.\\d \\|\\s+[0-2] / 2 \\|$`, "m"));
    const svg = readFileSync(out, "utf8");
    expect(svg).toMatch(/^<svg /);
    expect(svg.match(/fill-opacity="0.75"/g)).toHaveLength(6);
    expect(svg).toContain(">DIST (β = 1, γ = 1, T = 1)</text>");
    expect(svg).toContain('stroke-dasharray="6 4"');
  }, 60_000);

  test.each([
    [["compare", "--seeds", "0"], "kdgrad compare: --seeds must be a number of seeds in [1, 1000], got 0\n"],
    [["compare", "--seeds", "1001"], "kdgrad compare: --seeds must be a number of seeds in [1, 1000], got 1001\n"],
    [["compare", "--seeds", "0,1"], "kdgrad compare: --seeds must be an integer, got '0,1'\n"],
    [["compare", "--epochs", "0"], "kdgrad compare: --epochs takes one or two positive integers (teacher,student), got 0\n"],
    [["compare", "--out", "table.txt"], "kdgrad compare: --out must name an .svg file, got 'table.txt'\n"],
    [["compare", "--method", "kd"], /^kdgrad compare: unknown option --method/],
  ])("%j: exit 2 and one line", async (argv, message) => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    if (typeof message === "string") expect(r.err).toBe(message);
    else expect(r.err).toMatch(message);
    expect(r.out).toBe("");
  });

  test("--out is checked before training: a directory, a path under a file", async () => {
    const d = join(dir, "a.svg");
    mkdirSync(d);
    const file = join(dir, "plain");
    writeFileSync(file, "x");
    for (const [path, message] of [[d, "is a directory"], [join(file, "b.svg"), "lies under a file, not a directory"]] as const) {
      const r = await run(["compare", "--epochs", "1,1", "--out", path]);
      expect(r.code).toBe(2);
      expect(r.err).toContain(message);
      expect(r.err.split("\n")).toHaveLength(2);
    }
  });
});
