import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { run, waitUntil } from "./run.js";
import { decodeSafetensors, tensor } from "../../src/index.js";
import { saveNpy } from "../../src/node/index.js";

const dir = mkdtempSync(join(tmpdir(), "kdgrad-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tiny = ["--epochs", "1,3"];

describe("kdgrad distill", () => {
  test("--json prints exactly one JSON object with the documented fields, and nothing on stderr", async () => {
    const r = await run(["distill", ...tiny, "--seeds", "0,1", "--json"]);
    expect(r.code).toBe(0);
    expect(r.err).toBe("");
    expect(r.out.trim().split("\n")).toHaveLength(1);
    const report = JSON.parse(r.out);
    expect(Object.keys(report).sort()).toEqual(["distilled", "hard", "seconds", "seeds", "teacher"]);
    expect(report.seeds).toEqual([0, 1]);
    expect(report.seconds).toBeGreaterThan(0);
    for (const k of ["teacher", "hard", "distilled"]) {
      expect(report[k].errors).toHaveLength(2);
      report[k].errors.forEach((e: number, i: number) => {
        expect(Number.isInteger(e) && e >= 0 && e <= 450).toBe(true);
        expect(report[k].accuracy[i]).toBeCloseTo(1 - e / 450, 12);
      });
    }
  });

  test("the text report is a table of the three models and the gain", async () => {
    const r = await run(["distill", ...tiny]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/\| model\s+\| parameters \| test accuracy \|\s+errors \| training time \|/);
    expect(r.out).toMatch(/\| teacher 64-256-256-10\s+\|\s+85002 \|/);
    expect(r.out).toMatch(/\| student 64-16-10, hard labels\s+\|\s+1210 \|/);
    expect(r.out).toMatch(/\| student 64-16-10, distilled \(T = 8, α = 0\.9\)\s+\|\s+1210 \|/);
    expect(r.out).toMatch(/Gain from distillation: -?\d+ fewer errors out of 450/);
  });

  test("--omit-class adds the dark-knowledge numbers; the hard-label student never predicts the class", async () => {
    const r = await run(["distill", ...tiny, "--omit-class", "3", "--json"]);
    expect(r.code).toBe(0);
    const { omitted } = JSON.parse(r.out);
    expect(omitted.class).toBe(3);
    expect(omitted.of).toBe(46);
    expect(omitted.hard).toEqual([0]);
    expect(omitted.before[0]).toBeGreaterThanOrEqual(0);
    expect(omitted.after[0]).toBeGreaterThanOrEqual(omitted.before[0]);
  });

  test("--out writes report.json, the models as safetensors and an SVG chart", async () => {
    const out = join(dir, "run");
    const r = await run(["distill", ...tiny, "--out", out]);
    expect(r.code).toBe(0);
    const report = JSON.parse(readFileSync(join(out, "report.json"), "utf8"));
    expect(report.curves[0].teacher.loss).toHaveLength(1);
    expect(report.curves[0].hard.accuracy).toHaveLength(3);
    const student = decodeSafetensors(readFileSync(join(out, "student-distilled-seed0.safetensors")));
    expect([...student.tensors.keys()]).toEqual(["0.weight", "0.bias", "2.weight", "2.bias"]);
    expect(student.tensors.get("0.weight")!.shape).toEqual([16, 64]);
    expect(existsSync(join(out, "teacher-seed0.safetensors"))).toBe(true);
    const svg = readFileSync(join(out, "curves.svg"), "utf8");
    expect(svg).toMatch(/^<svg /);
    expect(svg.match(/<polyline/g)).toHaveLength(3);
    expect(svg).toContain(">student, distilled (T = 8, α = 0.9)</text>");
  });

  test("--teacher-logits distils from a .npy file of the transfer set's shape; a wrong shape is a one-line error", async () => {
    const good = join(dir, "logits.npy");
    saveNpy(good, tensor(Float32Array.from({ length: 135 * 10 }, (_, i) => (i % 10) * 0.1), { shape: [135, 10] }));
    const r = await run(["distill", ...tiny, "--teacher-logits", good, "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).teacher.errors).toEqual([null]);
    const bad = join(dir, "bad.npy");
    saveNpy(bad, tensor(new Float32Array(20), { shape: [2, 10] }));
    const e = await run(["distill", ...tiny, "--teacher-logits", bad]);
    expect(e.code).toBe(2);
    expect(e.err).toBe(`kdgrad distill: ${bad} holds an array of shape [2,10] but the 10pct transfer set needs [135,10]\n`);
    const missing = await run(["distill", "--teacher-logits", join(dir, "nope.npy")]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/nope\.npy/);
    expect(missing.err.split("\n")).toHaveLength(2);
    writeFileSync(join(dir, "junk.npy"), "not an npy file at all");
    const junk = await run(["distill", "--teacher-logits", join(dir, "junk.npy")]);
    expect(junk.code).toBe(2);
    expect(junk.err.split("\n")).toHaveLength(2);
  });

  test.each([
    [["distill", "--temperature", "0"], /^kdgrad distill: --temperature 0 is refused by the loss: distillationLoss: temperature must be in \[1e-6, 1e6\], got 0\n$/],
    [["distill", "--temperature", "-1"], /^kdgrad distill: --temperature -1 is refused by the loss: distillationLoss: temperature must be in \[1e-6, 1e6\], got -1\n$/],
    [["distill", "--temperature", "1e-7"], /^kdgrad distill: --temperature 1e-7 is refused by the loss: distillationLoss: temperature must be in \[1e-6, 1e6\], got 1e-7\n$/],
    [["distill", "--temperature", "1e30"], /^kdgrad distill: --temperature 1e\+30 is refused by the loss: distillationLoss: temperature must be in \[1e-6, 1e6\], got 1e\+30\n$/],
    [["distill", "--alpha", "1.5"], /^kdgrad distill: --alpha must be in \[0, 1\], got 1.5\n$/],
    [["distill", "--bogus"], /^kdgrad distill: unknown option --bogus/],
    [["distill", "--seeds", "a"], /^kdgrad distill: --seeds must be an integer, got 'a'\n$/],
    [["distill", "--transfer", "half"], /^kdgrad distill: --transfer must be 10pct or full, got 'half'\n$/],
    [["distill", "--omit-class", "12"], /^kdgrad distill: --omit-class must be a digit class in \[0, 9\], got 12\n$/],
    [["distill", "--student", "32-10"], /^kdgrad distill: --student must start with 64 inputs and end with 10 classes, got 32-10\n$/],
    [["frobnicate"], /^kdgrad: unknown command 'frobnicate'/],
    [["sweep", "--temperatures", "0,2"], /^kdgrad sweep: --temperatures 0 is refused by the loss: distillationLoss: temperature must be in \[1e-6, 1e6\], got 0\n$/],
    [["sweep", "--temperatures", "2,2e6"], /^kdgrad sweep: --temperatures 2000000 is refused by the loss: distillationLoss: temperature must be in \[1e-6, 1e6\], got 2000000\n$/],
  ])("bad input %j: exit 2 and one line", async (argv, message) => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.out).toBe("");
  });

  test("Ctrl-C stops cleanly and reports the seeds that finished", async () => {
    // Interrupt as soon as the second seed starts (its progress bar appears on the "terminal").
    const r = await run(["distill", ...tiny, "--seeds", "0,1"], {
      tty: true,
      onStderr: (s, interrupt) => {
        if (s.includes("seed 1")) interrupt();
      },
    });
    expect(r.code).toBe(130);
    expect(r.out).toMatch(/1 seed\(s\): 0 \(interrupted\)/);
    expect(r.err).toMatch(/kdgrad: interrupted; reported the 1 finished seed\(s\)/);
  });

  test("a progress bar is drawn on a terminal, and not with --json", async () => {
    expect((await run(["distill", ...tiny], { tty: true })).err).toMatch(/seed 0 teacher .*epoch 1\/1/);
    expect((await run(["distill", ...tiny, "--json"], { tty: true })).err).toBe("");
  });
});

describe("kdgrad sweep and gradcheck", () => {
  test("sweep prints a table per student and alpha, writes JSON and an SVG chart", async () => {
    const out = join(dir, "sweep");
    const r = await run(["sweep", "--epochs", "1,2", "--temperatures", "1,4", "--alphas", "0.5,1", "--students", "64-8-10", "--out", out]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/\| student\s+\| T = 1 \| T = 4 \|/);
    expect(r.out).toMatch(/64-8-10, hard labels/);
    expect(r.out).toMatch(/64-8-10, α = 0\.5/);
    expect(r.out).toMatch(/Best for 64-8-10: T = \d, α = [\d.]+/);
    const report = JSON.parse(readFileSync(join(out, "sweep.json"), "utf8"));
    expect(report.distilled).toHaveLength(4);
    expect(report.hard["64-8-10"]).toHaveLength(1);
    const svg = readFileSync(join(out, "sweep.svg"), "utf8");
    expect(svg.match(/<polyline/g)).toHaveLength(3);
    expect(svg).toContain("stroke-dasharray");
  });

  test("gradcheck passes every op, to first and second order, and shows the 1/T² and Hessian-vs-T tables", async () => {
    const r = await run(["gradcheck"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/\| op\s+\| max abs error \| error \/ tolerance \| pass \| second order: error \/ tolerance \| pass \(2nd\) \|/);
    expect(r.out).toMatch(/\| distillationLoss\s+\|/);
    expect(r.out).not.toMatch(/\| NO\s+\|/);
    // The printed measure is the one gradcheck passes on: "yes" exactly when it is ≤ 1 (the old
    // "max rel error" printed 3.93e+289 beside "yes" for softmax, dividing by a derivative ≈ 0);
    // the same for gradgradcheck's.
    const printed = [...r.out.matchAll(/^\| (\w+)\s+\|\s+(\S+) \|\s+(\S+) \| (yes|NO)\s+\|\s+(\S+) \| (yes|NO)\s+\|$/gm)];
    expect(printed.length).toBeGreaterThan(40);
    for (const [, op, , ratio, pass, ratio2, pass2] of printed) {
      expect([op, Number(ratio) <= 1, Number(ratio2) <= 1], op).toEqual([op, pass === "yes", pass2 === "yes"]);
    }
    expect(printed.find((m) => m[1] === "softmax")).toBeDefined();
    expect(r.out).toMatch(/\| +T \| max \|H − closed form\| \| rounding bound \| max \|H − limit\| \| derived bound \|/);
    const j = await run(["gradcheck", "--json"]);
    const report = JSON.parse(j.out);
    expect(report.ok).toBe(true);
    expect(report.ops.length).toBeGreaterThan(40);
    for (const op of report.ops) {
      for (const check of [op, op.secondOrder]) {
        expect(check.maxErrorRatio, op.op).toBeLessThanOrEqual(1);
        expect(check.maxErrorRatio, op.op).toBeGreaterThanOrEqual(0);
        expect(check.ok, op.op).toBe(true);
      }
    }
    // The Hessian-vs-T table's claims are checked in test/cli/gradcheck-tables.test.ts.
    expect(report.hessian.rows.map((row: { T: number }) => row.T)).toEqual([1, 10, 100, 1e3, 1e4, 1e5, 1e6]);
    const rows = report.temperature.rows as { T: number; ratio: number | null; limitDistance: number }[];
    // ‖∇KL‖ falls ≈100× per 10× in T once T ≥ 10, and T²∇ approaches the limit like 1/T.
    const at = (T: number) => rows.find((row) => row.T === T)!;
    for (const T of [100, 1000]) {
      expect(at(T).ratio!).toBeGreaterThan(95);
      expect(at(T).ratio!).toBeLessThan(105);
    }
    expect(at(1000).limitDistance * 1000).toBeCloseTo(at(100).limitDistance * 100, 1);
  });
});

test("--version prints the package's version", async () => {
  const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
  for (const flag of ["--version", "-V", "version"]) {
    const r = await run([flag]);
    expect([r.code, r.out, r.err]).toEqual([0, `kdgrad ${version}\n`, ""]);
  }
  const extra = await run(["--version", "--json"]);
  expect([extra.code, extra.err]).toEqual([2, "kdgrad: --version takes no arguments, got '--json'\n"]);
});

test("the installed command: `kdgrad` via bin/kdgrad.js exits 2 with one line and no stack trace on bad input", async () => {
  const bin = fileURLToPath(new URL("../../bin/kdgrad.js", import.meta.url));
  const r = spawnSync(process.execPath, [bin, "distill", "--temperature", "0"], { encoding: "utf8" });
  expect(r.status).toBe(2);
  expect(r.stderr).toBe("kdgrad distill: --temperature 0 is refused by the loss: distillationLoss: temperature must be in [1e-6, 1e6], got 0\n");
  expect(r.stdout).toBe("");
  const help = execFileSync(process.execPath, [bin, "--help"], { encoding: "utf8" });
  expect(help).toMatch(/kdgrad distill \[options\]/);
});

describe("bin/kdgrad.js picks what to run", () => {
  const bin = readFileSync(new URL("../../bin/kdgrad.js", import.meta.url), "utf8");
  const modules = fileURLToPath(new URL("../../node_modules", import.meta.url));

  /** A checkout in miniature: bin/kdgrad.js, a src/cli/run.ts and a dist/cli/run.js that say who they are. */
  function fakeCheckout(options: { tsx: boolean; distNewer: boolean }): string {
    const root = mkdtempSync(join(dir, "checkout-"));
    mkdirSync(join(root, "bin"));
    mkdirSync(join(root, "src", "cli"), { recursive: true });
    mkdirSync(join(root, "dist", "cli"), { recursive: true });
    writeFileSync(join(root, "package.json"), '{ "type": "module" }\n');
    writeFileSync(join(root, "bin", "kdgrad.js"), bin);
    writeFileSync(join(root, "src", "cli", "run.ts"), 'const who: string = "sources";\nconsole.log(who);\n');
    writeFileSync(join(root, "dist", "cli", "run.js"), 'console.log("dist");\n');
    const [older, newer] = [new Date(Date.now() - 60_000), new Date()];
    utimesSync(join(root, "src", "cli", "run.ts"), ...(options.distNewer ? [older, older] : [newer, newer]) as [Date, Date]);
    utimesSync(join(root, "dist", "cli", "run.js"), ...(options.distNewer ? [newer, newer] : [older, older]) as [Date, Date]);
    if (options.tsx) symlinkSync(modules, join(root, "node_modules"));
    return root;
  }
  const runBin = (root: string) => spawnSync(process.execPath, [join(root, "bin", "kdgrad.js")], { encoding: "utf8" });

  test("in a checkout the sources run, even beside a dist/ (which may be stale)", () => {
    for (const distNewer of [false, true]) {
      const r = runBin(fakeCheckout({ tsx: true, distNewer }));
      expect([r.status, r.stdout, r.stderr]).toEqual([0, "sources\n", ""]);
    }
  });

  test("without tsx, a dist/ older than src/ is refused with one line; a fresh one runs", () => {
    const stale = runBin(fakeCheckout({ tsx: false, distNewer: false }));
    expect([stale.status, stale.stdout, stale.stderr]).toEqual([1, "", "kdgrad: dist/ is older than src/ and tsx is not installed to run the sources: run npm ci, or npm run build\n"]);
    const fresh = runBin(fakeCheckout({ tsx: false, distNewer: true }));
    expect([fresh.status, fresh.stdout]).toEqual([0, "dist\n"]);
  });

  test("without src/ (the installed package) dist/ runs; test/package.test.ts runs the real installed command", () => {
    const root = fakeCheckout({ tsx: true, distNewer: false });
    rmSync(join(root, "src"), { recursive: true });
    const r = runBin(root);
    expect([r.status, r.stdout, r.stderr]).toEqual([0, "dist\n", ""]);
  });
});

test("a real Ctrl-C (SIGINT) stops a long run between epochs: exit 130, the report of what finished, no stack trace", async () => {
  const bin = fileURLToPath(new URL("../../bin/kdgrad.js", import.meta.url));
  const out = join(dir, "interrupted");
  const child = spawn(process.execPath, [bin, "distill", "--seeds", "0,1", "--epochs", "2,400", "--out", out], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let err = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (err += d));
  const closed = new Promise<number | null>((resolve) => child.on("close", resolve));
  // The staging directory of --out appears just before the Ctrl-C handler is installed and
  // training starts (however long start-up takes on a busy machine); then let it train a while.
  await waitUntil(() => readdirSync(dir).some((n) => n.startsWith("interrupted.tmp-")));
  await new Promise((resolve) => setTimeout(resolve, 500));
  child.kill("SIGINT");
  const code = await closed;
  expect(code).toBe(130);
  expect(err).toMatch(/kdgrad: interrupted/);
  expect(err).not.toMatch(/\n\s+at /);
  expect(stdout.length).toBeGreaterThan(0);
  expect(JSON.parse(readFileSync(join(out, "report.json"), "utf8")).seeds.length).toBeLessThan(2);
}, 60_000);
