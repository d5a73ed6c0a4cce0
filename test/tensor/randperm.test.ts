import { describe, expect, test } from "vitest";
import { DTypeError, Generator, ValueError, randperm } from "../../src/index.js";

describe("randperm", () => {
  test("a permutation of 0…n−1, int32 by default, replayed by the same generator state", () => {
    for (const n of [0, 1, 2, 17, 1000]) {
      const p = randperm(n, { generator: new Generator(n) });
      expect(p.dtype).toBe("int32");
      expect(p.shape).toEqual([n]);
      expect(p.toFlatArray().sort((a, b) => a - b)).toEqual([...Array(n).keys()]);
      expect(randperm(n, { generator: new Generator(n) }).toFlatArray()).toEqual(p.toFlatArray());
    }
    expect(randperm(4, { dtype: "float64" }).dtype).toBe("float64");
  });

  test("every permutation of 3 is equally likely (a biased shuffle is 1100 counts off)", () => {
    // 60,000 draws: each of the 6 permutations is expected 10,000 times, standard deviation
    // √(60000·(1/6)(5/6)) ≈ 91. The naive shuffle (swap i with any j in [0, n)) has 27 equally
    // likely paths for 6 permutations, so some come 5/27 of the time: 11,111 — 12σ off.
    const g = new Generator(11);
    const counts = new Map<string, number>();
    for (let k = 0; k < 60000; k++) {
      const key = randperm(3, { generator: g }).toFlatArray().join("");
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(counts.size).toBe(6);
    for (const c of counts.values()) expect(Math.abs(c - 10000)).toBeLessThan(500); // 5.5σ
  });

  test("refusals", () => {
    expect(() => randperm(-1)).toThrow(ValueError);
    expect(() => randperm(-1)).toThrow(/^randperm: n must be a non-negative integer, got -1$/);
    expect(() => randperm(2.5)).toThrow(/^randperm: n must be a non-negative integer, got 2\.5$/);
    expect(() => randperm(16777218, { dtype: "float32" })).toThrow(DTypeError);
    expect(() => randperm(16777218, { dtype: "float32" })).toThrow(/^randperm: n = 16777218 gives values up to 16777217, which do not all fit float32 exactly/);
    expect(() => randperm(3, { generator: {} as Generator })).toThrow(/^randperm: generator must be a Generator/);
  });
});
