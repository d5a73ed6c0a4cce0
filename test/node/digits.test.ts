import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { FileError, FormatError, type DigitsSplit } from "../../src/index.js";
import { DEFAULT_DIGITS_DIR, loadDigits } from "../../src/node/index.js";

const dataDir = fileURLToPath(new URL("../../data/digits/", import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), "kdgrad-digits-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const classCounts = (s: DigitsSplit): number[] => {
  const counts = new Array<number>(10).fill(0);
  for (const label of s.y.toFlatArray()) counts[label]!++;
  return counts;
};

describe("loadDigits", () => {
  const d = loadDigits();

  test("the splits have the sizes and per-class counts of data/digits/README.md", () => {
    expect(classCounts(d.train)).toEqual([133, 136, 133, 137, 136, 136, 136, 134, 131, 135]);
    expect(classCounts(d.test)).toEqual([45, 46, 44, 46, 45, 46, 45, 45, 43, 45]);
    expect(classCounts(d.train_10pct)).toEqual([13, 14, 13, 14, 14, 14, 14, 13, 13, 13]);
    expect([d.train.x.shape, d.test.x.shape, d.train_10pct.x.shape]).toEqual([[1347, 64], [450, 64], [135, 64]]);
    expect(d.train.indices).toHaveLength(1347);
  });

  test("pixels are in [0, 1], multiples of 1/16; the README's sanity values hold", () => {
    for (const s of [d.train, d.test]) {
      const v = s.x.toFlatArray();
      expect(v.every((p) => p >= 0 && p <= 1 && Number.isInteger(p * 16))).toBe(true);
      expect(Math.max(...v)).toBe(1);
    }
    // Sample 0 has label 0 and first image row 0 0 5 13 9 1 0 0; samples 0..9 are labelled 0..9.
    const where = (i: number): [DigitsSplit, number] => {
      for (const s of [d.train, d.test]) if (s.indices.includes(i)) return [s, s.indices.indexOf(i)];
      throw new Error(`sample ${i} in no split`);
    };
    const [s0, r0] = where(0);
    expect(s0.x.slice(0, r0, r0 + 1).toFlatArray().slice(0, 8).map((p) => p * 16)).toEqual([0, 0, 5, 13, 9, 1, 0, 0]);
    expect(Array.from({ length: 10 }, (_, i) => { const [s, r] = where(i); return s.y.at(r); })).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  test("the default directory is the package's data/digits, found from the module's URL", () => {
    expect(DEFAULT_DIGITS_DIR.replace(/\/$/, "")).toBe(dataDir.replace(/\/$/, ""));
    expect(loadDigits(new URL(`file://${dataDir}`)).test.indices).toEqual(d.test.indices);
  });

  test("a copy with one flipped byte fails the SHA-256 check, naming the file", () => {
    const dir = join(scratch, "flipped");
    mkdirSync(dir);
    for (const f of readdirSync(dataDir)) copyFileSync(join(dataDir, f), join(dir, f));
    expect(loadDigits(dir).train.indices).toEqual(d.train.indices); // the intact copy loads
    const bytes = readFileSync(join(dir, "digits_x.u8"));
    bytes[1000] = bytes[1000]! ^ 1;
    writeFileSync(join(dir, "digits_x.u8"), bytes);
    expect(() => loadDigits(dir)).toThrow(FormatError);
    expect(() => loadDigits(dir)).toThrow(/^loadDigits: ".*flipped\/digits_x\.u8" has SHA-256 [0-9a-f]{64} but SHA256SUMS says 8f26b2bd.*; the file is corrupted or modified$/);
  });

  test("a missing file is a FileError", () => {
    const dir = join(scratch, "partial");
    mkdirSync(dir);
    copyFileSync(join(dataDir, "SHA256SUMS"), join(dir, "SHA256SUMS"));
    expect(() => loadDigits(dir)).toThrow(FileError);
    expect(() => loadDigits(dir)).toThrow(/^loadDigits: cannot read ".*partial\/digits_x\.u8": no such file or directory$/);
  });
});

describe("loadDigits names itself", () => {
  test("a split.json that is JSON with a matching checksum but breaks the split's rules: loadDigits, not digitsFromBytes", () => {
    const dir = join(scratch, "consistent-garbage");
    mkdirSync(dir);
    for (const f of readdirSync(dataDir)) copyFileSync(join(dataDir, f), join(dir, f));
    const text = JSON.stringify({ train: [0, 0], test: [], train_10pct: [] });
    writeFileSync(join(dir, "split.json"), text);
    const sums = readFileSync(join(dir, "SHA256SUMS"), "utf8").split("\n").map((l) => (l.endsWith("split.json") ? `${createHash("sha256").update(text).digest("hex")}  split.json` : l));
    writeFileSync(join(dir, "SHA256SUMS"), sums.join("\n"));
    expect(() => loadDigits(dir)).toThrow(FormatError);
    expect(() => loadDigits(dir)).toThrow(/^loadDigits: split\.train lists sample 0 twice$/);
  });

  test("a directory that is not a path is a ValueError naming loadDigits (node:fs's TypeError before)", () => {
    for (const [dir, shown] of [[3, "3"], [3n, "3n"], [null, "null"], ["", '""']] as const) {
      expect(() => loadDigits(dir as never)).toThrow(new RegExp(`^loadDigits: path must be a non-empty string or a file: URL, got ${shown}$`));
    }
  });
});
