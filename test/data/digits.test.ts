/** digitsFromBytes on small synthetic bytes (the real files are tested through loadDigits in test/node). */
import { describe, expect, test } from "vitest";
import { FormatError, digitsFromBytes } from "../../src/index.js";

function synthetic(): { x: Uint8Array; y: Uint8Array; split: { train: number[]; test: number[]; train_10pct: number[] } } {
  const x = Uint8Array.from({ length: 1797 * 64 }, (_, i) => (i * 7) % 17);
  const y = Uint8Array.from({ length: 1797 }, (_, i) => i % 10);
  const all = Array.from({ length: 1797 }, (_, i) => i);
  return { x, y, split: { train: all.filter((i) => i % 4 !== 0), test: all.filter((i) => i % 4 === 0), train_10pct: [1, 2, 3] } };
}

describe("digitsFromBytes", () => {
  test("builds each split from its index list: pixels / 16 as float32 [n, 64], labels as int32 [n]", () => {
    const s = synthetic();
    const d = digitsFromBytes(s);
    expect(d.train.x.shape).toEqual([s.split.train.length, 64]);
    expect(d.test.y.shape).toEqual([s.split.test.length]);
    expect([d.train.x.dtype, d.train.y.dtype]).toEqual(["float32", "int32"]);
    expect(d.train_10pct.indices).toEqual([1, 2, 3]);
    // Row r of a split is sample indices[r]: pixel k of sample i is ((64i + k)·7 mod 17)/16, its label i mod 10.
    const row = d.train_10pct.x.slice(0, 2, 3).toFlatArray();
    expect(row).toEqual(Array.from({ length: 64 }, (_, k) => ((64 * 3 + k) * 7 % 17) / 16));
    expect(d.test.y.toFlatArray().slice(0, 3)).toEqual([0, 4, 8]); // samples 0, 4, 8
  });

  test("every inconsistency is a FormatError naming what is wrong", () => {
    const cases: [(s: ReturnType<typeof synthetic>) => unknown, RegExp][] = [
      [(s) => ({ ...s, x: s.x.subarray(1) }), /^digitsFromBytes: x must be 115008 bytes \(1797 × 64 pixels\), got 115007$/],
      [(s) => ({ ...s, y: new Uint8Array(10) }), /^digitsFromBytes: y must be 1797 bytes/],
      [(s) => (s.x[64 * 5 + 3] = 17, s), /^digitsFromBytes: pixel 3 of sample 5 is 17, outside 0\.\.16$/],
      [(s) => (s.y[8] = 10, s), /^digitsFromBytes: label of sample 8 is 10, outside 0\.\.9$/],
      [(s) => ({ ...s, split: null }), /^digitsFromBytes: split must be the parsed split.json object$/],
      [(s) => ({ ...s, split: { ...s.split, test: "all" } }), /^digitsFromBytes: split.test must be a list of sample indices$/],
      [(s) => ({ ...s, split: { ...s.split, train_10pct: [1, 1797] } }), /^digitsFromBytes: split.train_10pct\[1\] is 1797, not a sample index in \[0, 1797\)$/],
      [(s) => ({ ...s, split: { ...s.split, train_10pct: [1, 1] } }), /^digitsFromBytes: split.train_10pct lists sample 1 twice$/],
      [(s) => ({ ...s, split: { ...s.split, test: [...s.split.test.slice(1), 1] } }), /^digitsFromBytes: sample 1 is in both split.train and split.test$/],
      [(s) => ({ ...s, split: { ...s.split, test: s.split.test.slice(1) } }), /must together cover all 1797 samples$/],
      [(s) => ({ ...s, split: { ...s.split, train_10pct: [0] } }), /^digitsFromBytes: split.train_10pct holds sample 0, which is not in split.train$/],
    ];
    for (const [spoil, message] of cases) {
      const bad = spoil(synthetic()) as Parameters<typeof digitsFromBytes>[0];
      expect(() => digitsFromBytes(bad)).toThrow(FormatError);
      expect(() => digitsFromBytes(bad)).toThrow(message);
    }
  });
});
