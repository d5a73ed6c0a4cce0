import fc from "fast-check";
import { test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import { Generator, manualSeed, randn, rand, defaultGenerator } from "../../src/index.js";
import { detLog } from "../../src/tensor/random.js";

/** An independent xoshiro128** + splitmix32 in BigInt arithmetic, from the published algorithm. */
function referenceStream(seed: number, n: number): number[] {
  const M = 0xffffffffn;
  let x = BigInt(seed) & M;
  const splitmix = (): bigint => {
    x = (x + 0x9e3779b9n) & M;
    let z = x;
    z = ((z ^ (z >> 16n)) * 0x85ebca6bn) & M;
    z = ((z ^ (z >> 13n)) * 0xc2b2ae35n) & M;
    return (z ^ (z >> 16n)) & M;
  };
  const s0 = splitmix();
  const s1 = splitmix();
  x ^= BigInt(seed) >> 32n;
  const s = [s0, s1, splitmix(), splitmix()];
  const rotl = (v: bigint, k: bigint): bigint => ((v << k) | (v >> (32n - k))) & M;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    out.push(Number((rotl((s[1]! * 5n) & M, 7n) * 9n) & M));
    const t = (s[1]! << 9n) & M;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11n);
  }
  return out;
}

describe("the seeded generator", () => {
  test.prop([fc.nat({ max: 2 ** 40 })])("matches an independent BigInt implementation of xoshiro128**", (seed) => {
    const g = new Generator(seed);
    const got = Array.from({ length: 20 }, () => g.nextUint32());
    expect(got).toEqual(referenceStream(seed, 20));
  });

  test("seeds that agree in their low 32 bits still give different streams", () => {
    const a = new Generator(5);
    const b = new Generator(5 + 2 ** 32);
    expect(a.nextUint32() === b.nextUint32() && a.nextUint32() === b.nextUint32()).toBe(false);
  });

  test.prop([fc.nat()])("the same seed gives the same draws; state can be saved and restored", (seed) => {
    const a = new Generator(seed);
    const b = new Generator(seed);
    for (let i = 0; i < 5; i++) expect(a.normal()).toBe(b.normal());
    const state = a.getState();
    const next = [a.uniform(), a.normal(), a.normal()];
    a.setState(state);
    expect([a.uniform(), a.normal(), a.normal()]).toEqual(next);
  });

  test.prop([fc.nat()], { numRuns: 10 })("uniform draws have mean 1/2 and variance 1/12; normal draws mean 0 and variance 1", (seed) => {
    const g = new Generator(seed);
    const n = 20000;
    let s = 0, s2 = 0, t = 0, t2 = 0;
    for (let i = 0; i < n; i++) {
      const u = g.uniform();
      s += u;
      s2 += u * u;
      const z = g.normal();
      t += z;
      t2 += z * z;
    }
    // 6 standard errors: sd(ū) = 0.0020, sd(z̄) = 0.0071, sd of the variances ≈ 0.0005 and 0.010.
    expect(Math.abs(s / n - 0.5)).toBeLessThan(0.013);
    expect(Math.abs(s2 / n - (s / n) ** 2 - 1 / 12)).toBeLessThan(0.003);
    expect(Math.abs(t / n)).toBeLessThan(0.043);
    expect(Math.abs(t2 / n - (t / n) ** 2 - 1)).toBeLessThan(0.06);
  });

  test("below(n) covers [0, n) evenly", () => {
    const g = new Generator(3);
    const counts = new Array(7).fill(0);
    for (let i = 0; i < 70000; i++) counts[g.below(7)]++;
    for (const c of counts) expect(Math.abs(c - 10000)).toBeLessThan(600);
  });

  test("manualSeed resets the default generator used by rand/randn", () => {
    manualSeed(42);
    const a = randn([5]).toFlatArray();
    const b = rand([3]).toFlatArray();
    manualSeed(42);
    expect(randn([5]).toFlatArray()).toEqual(a);
    expect(rand([3]).toFlatArray()).toEqual(b);
    for (const w of defaultGenerator.getState().slice(0, 4)) expect(w >= 0 && w < 2 ** 32).toBe(true);
    expect(() => manualSeed(-1)).toThrow(/seed must be a non-negative safe integer, got -1/);
  });

  test.prop([fc.double({ min: 1e-300, max: 1e300, noNaN: true })])("detLog agrees with Math.log to about 1 ulp", (x) => {
    const want = Math.log(x);
    expect(Math.abs(detLog(x) - want)).toBeLessThanOrEqual(4 * Number.EPSILON * Math.max(1, Math.abs(want)));
  });

  test("detLog handles subnormals and exact powers of two", () => {
    expect(detLog(1)).toBe(0);
    expect(detLog(2)).toBeCloseTo(Math.LN2, 15);
    expect(Math.abs(detLog(5e-324) - Math.log(5e-324))).toBeLessThan(1e-12);
  });
});
