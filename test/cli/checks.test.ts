/**
 * Bad input is refused before any training (the refusals pass `--epochs 100000,100000`, a run
 * of hours, and stop any training that starts after its first epoch), and --out is written as
 * a whole.
 */
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { nodeIO } from "../../src/cli/node-io.js";
import { tensor } from "../../src/index.js";
import { saveNpy } from "../../src/node/index.js";
import { run, runUntilTraining, waitUntil } from "./run.js";

const dir = mkdtempSync(join(tmpdir(), "kdgrad-cli-checks-"));
afterAll(() => {
  chmodSync(dir, 0o755);
  rmSync(dir, { recursive: true, force: true });
});
const forever = ["--epochs", "100000,100000"];
const tiny = ["--epochs", "1,2"];

/** Exit 2, one line on stderr naming `what`, nothing on stdout, and no training started. */
async function refused(argv: string[], what: RegExp): Promise<string> {
  const r = await runUntilTraining(argv);
  expect(r.trained).toBe(false);
  expect(r.err).toMatch(what);
  expect(r.err.split("\n")).toHaveLength(2);
  expect(r.err).not.toMatch(/epoch/);
  expect(r.code).toBe(2);
  expect(r.out).toBe("");
  return r.err;
}

describe("numbers", () => {
  test("--seeds 9007199254740993 names --seeds (not Generator.manualSeed), and so does a seed whose student stream would not be exact", async () => {
    await refused(["distill", ...forever, "--seeds", "0,9007199254740993"], /^kdgrad distill: --seeds must be an integer of at most 9007199254740991 in size/);
    await refused(["distill", ...forever, "--seeds", "9007199254740991"], /^kdgrad distill: --seeds must be integers in \[0, 9007194959773695\], got 9007199254740991\n$/);
    await refused(["sweep", ...forever, "--seeds", "9007199254740991"], /^kdgrad sweep: --seeds must be integers in \[0, 9007194959773695\]/);
  });

  test("layer sizes are decimal (0x1, ' 8' and 1e1 are refused), and a model too big to train is refused before training", async () => {
    await refused(["distill", ...forever, "--student", "64-1e1-10"], /^kdgrad distill: --student must look like 64-16-10 \(positive decimal layer sizes\), got '64-1e1-10'\n$/);
    await refused(["distill", ...forever, "--teacher", "64-0x10-10"], /^kdgrad distill: --teacher must look like/);
    await refused(["distill", ...forever, "--teacher", "64-100000-100000-10"], /^kdgrad distill: --teacher 64-100000-100000-10 has 10007600010 parameters; the command trains at most 10000000\n$/);
    await refused(["sweep", ...forever, "--students", "64-8-10,64-200000-10"], /^kdgrad sweep: --students 64-200000-10 has 15000010 parameters/);
  });
});

describe("--teacher-logits", () => {
  const logits = (edit: (data: Float32Array) => void): string => {
    const data = Float32Array.from({ length: 135 * 10 }, (_, i) => ((i * 7) % 10) * 0.3);
    edit(data);
    const path = join(dir, `logits-${Math.random().toString(36).slice(2)}.npy`);
    saveNpy(path, tensor(data, { shape: [135, 10] }));
    return path;
  };

  test.each([
    ["NaN", (d: Float32Array) => void (d[3 * 10 + 5] = NaN), /holds NaN at row 3, class 5; teacher logits must be finite, or −∞ to mask a class\n$/],
    ["+∞", (d: Float32Array) => void (d[134 * 10] = Infinity), /holds \+∞ at row 134, class 0; teacher logits must be finite, or −∞ to mask a class\n$/],
    ["a row masked everywhere", (d: Float32Array) => d.fill(-Infinity, 20, 30), /^kdgrad distill: row 2 of .* is −∞ in every class, so the teacher gives it no distribution\n$/],
  ])("%s is refused with exit 2 before training", async (_, edit, message) => {
    await refused(["distill", ...forever, "--teacher-logits", logits(edit)], message);
  });

  test("−∞ masks a class: the run trains a finite student and exits 0", async () => {
    const path = logits((d) => {
      for (let i = 0; i < 135; i++) d[i * 10 + 9] = -Infinity;
    });
    const r = await run(["distill", ...tiny, "--teacher-logits", path, "--json"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(Number.isInteger(report.distilled.errors[0])).toBe(true);
    expect(report.distilled.accuracy[0]).toBeGreaterThan(0);
  });

  test("the table names the logits file as the teacher, not the default architecture", async () => {
    const path = logits(() => {});
    const out = join(dir, "from-file");
    const r = await run(["distill", ...tiny, "--teacher-logits", path, "--out", out]);
    expect(r.code).toBe(0);
    expect(r.out).not.toMatch(/64-256-256-10/);
    expect(r.out).toContain(`| teacher: logits from ${path}`);
    const report = JSON.parse(readFileSync(join(out, "report.json"), "utf8"));
    expect(report.teacherLogits).toBe(path);
    expect(report.recipe.teacherSizes).toBeUndefined();
    expect(report.recipe.studentSizes).toEqual([64, 16, 10]);
    expect(existsSync(join(out, "teacher-seed0.safetensors"))).toBe(false);
  });
});

describe("--out is checked before training", () => {
  test("a file, a path under a file, /proc and an unwritable place: exit 2 with one line, nothing created", async () => {
    const file = join(dir, "a-file");
    writeFileSync(file, "x");
    await refused(["distill", ...forever, "--out", file], /^kdgrad distill: --out: ".*a-file" exists and is a file, not a directory\n$/);
    await refused(["distill", ...forever, "--out", join(file, "sub")], /^kdgrad distill: --out: ".*a-file\/sub" lies under a file, not a directory\n$/);
    await refused(["distill", ...forever, "--out", join(file, "sub", "deeper")], /^kdgrad distill: --out: ".*a-file\/sub\/deeper" lies under a file/);
    // Node's recursive mkdir never returns here (it retries a parent that reports ENOENT).
    await refused(["distill", ...forever, "--out", "/proc/kdgrad-test/out"], /^kdgrad distill: --out: cannot create the directory "\/proc\/kdgrad-test": no such file or directory\n$/);
    await refused(["sweep", ...forever, "--out", "/proc/kdgrad-test"], /^kdgrad sweep: --out: cannot write in "\/proc": no such file or directory\n$/);
    expect(readFileSync(file, "utf8")).toBe("x");
  });

  test("a directory that cannot be written", async () => {
    if (process.getuid?.() === 0) {
      // root writes anywhere permissions allow nothing; sysfs refuses even root.
      await refused(["distill", ...forever, "--out", "/sys/kdgrad-test"], /^kdgrad distill: --out: cannot write in "\/sys": (permission denied|.*read-only)/);
    } else {
      const locked = join(dir, "locked");
      mkdirSync(locked);
      chmodSync(locked, 0o555);
      await refused(["distill", ...forever, "--out", join(locked, "out")], /^kdgrad distill: --out: cannot write in ".*locked": permission denied\n$/);
    }
  });

  test("a directory holding files the command does not write is refused, and left alone", async () => {
    const mine = join(dir, "mine");
    mkdirSync(mine);
    writeFileSync(join(mine, "notes.txt"), "keep me");
    writeFileSync(join(mine, "report.json"), "{}");
    await refused(["distill", ...forever, "--out", mine], /^kdgrad distill: --out: ".*mine" holds "notes\.txt", which this command does not write; give a new or empty directory, or one an earlier run wrote \(it is replaced as a whole\)\n$/);
    await refused(["sweep", ...forever, "--out", mine], /holds "notes\.txt", "report\.json", which this command does not write/);
    expect(readdirSync(mine).sort()).toEqual(["notes.txt", "report.json"]);
  });
});

describe("--out is written as a whole", () => {
  const names = (d: string): string[] => readdirSync(d).sort();

  test("a second run replaces the first run's directory entirely (no files of the old seeds remain)", async () => {
    const out = join(dir, "whole");
    expect((await run(["distill", ...tiny, "--seeds", "0,1", "--out", out])).code).toBe(0);
    expect(names(out)).toEqual(["curves.svg", "report.json", "student-distilled-seed0.safetensors", "student-distilled-seed1.safetensors",
      "student-hard-seed0.safetensors", "student-hard-seed1.safetensors", "teacher-seed0.safetensors", "teacher-seed1.safetensors"]);
    expect((await run(["distill", ...tiny, "--seeds", "2", "--out", out])).code).toBe(0);
    expect(names(out)).toEqual(["curves.svg", "report.json", "student-distilled-seed2.safetensors", "student-hard-seed2.safetensors", "teacher-seed2.safetensors"]);
    expect(JSON.parse(readFileSync(join(out, "report.json"), "utf8")).seeds).toEqual([2]);
    expect(names(dir).filter((n) => n.startsWith("whole."))).toEqual([]);
  });

  test("a failure while writing leaves the old directory as it was, and no temporary directory", async () => {
    const out = join(dir, "failing");
    expect((await run(["distill", ...tiny, "--out", out])).code).toBe(0);
    const before = Object.fromEntries(names(out).map((n) => [n, readFileSync(join(out, n))]));
    let writes = 0;
    const real = nodeIO();
    const r = await run(["distill", ...tiny, "--seeds", "5", "--out", out], {
      io: {
        openOutput(path, option, replaceable) {
          const w = real.openOutput(path, option, replaceable);
          const fail = (): void => {
            if (++writes === 3) throw new Error("disk full (simulated)");
          };
          return { ...w, writeFile: (n, d) => (fail(), w.writeFile(n, d)), saveModel: (n, t, m) => (fail(), w.saveModel(n, t, m)) };
        },
      },
    });
    expect(r.code).toBe(1);
    expect(r.err).toBe("kdgrad: unexpected failure: disk full (simulated)\n");
    expect(writes).toBe(3);
    expect(Object.fromEntries(names(out).map((n) => [n, readFileSync(join(out, n))]))).toEqual(before);
    expect(names(dir).filter((n) => n.startsWith("failing."))).toEqual([]);
  });

  test("SIGKILL at any moment leaves the old run or the new one, whole; the next run removes what the killed one left", async () => {
    const bin = fileURLToPath(new URL("../../bin/kdgrad.js", import.meta.url));
    const out = join(dir, "killed");
    expect((await run(["distill", ...tiny, "--out", out])).code).toBe(0);
    let oldReport = readFileSync(join(out, "report.json"), "utf8");
    const oldNames = names(out);
    const newNames = oldNames.map((n) => n.replace("seed0", "seed7"));
    let leftBehind = 0;
    // Kill at moments spread over a run, counted from the staging directory's appearance (just
    // before training; start-up time varies with the machine's load) to after the final renames.
    const staging = (): string[] => names(dir).filter((n) => /^killed\.tmp-\d+-[0-9a-f]{12}$/.test(n));
    for (const delay of [0, 400, 2000]) {
      const child = spawn(process.execPath, [bin, "distill", "--epochs", "1,30", "--seeds", "7", "--out", out], { stdio: "ignore" });
      const closed = new Promise((resolve) => child.on("close", resolve));
      let exited = false;
      void closed.then(() => (exited = true));
      await waitUntil(() => exited || staging().length > 0);
      await new Promise((resolve) => setTimeout(resolve, delay));
      child.kill("SIGKILL");
      await closed;
      const now = names(out);
      if (now.includes("student-distilled-seed7.safetensors")) expect(now).toEqual(newNames);
      else {
        expect(now).toEqual(oldNames);
        expect(readFileSync(join(out, "report.json"), "utf8")).toBe(oldReport);
      }
      leftBehind += staging().length;
      // The next run replaces the directory (old or new) and removes the killed run's staging directory.
      expect((await run(["distill", ...tiny, "--out", out])).code).toBe(0);
      expect(names(out)).toEqual(oldNames);
      expect(names(dir).filter((n) => n.startsWith("killed."))).toEqual([]);
      oldReport = readFileSync(join(out, "report.json"), "utf8");
    }
    expect(leftBehind).toBeGreaterThan(0);
  }, 60_000);
});
