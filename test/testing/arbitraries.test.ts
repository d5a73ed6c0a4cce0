/**
 * The shipped arbitraries (kdgrad/testing/fast-check): each respects its bounds, draws the
 * adversarial cases it promises (−∞ masks, ties, exact zeros, both ends of the temperature
 * range) and shrinks all the way — values too, which the project's old seed-based
 * generators could not — and prints a counterexample as code that rebuilds it.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { ValueError, assertGradcheck, broadcastShapes, softmax, tensor, type Tensor } from "../../src/index.js";
import {
  broadcastPairs, labelsFor, logits, printable, probabilities, shapes, temperatures, tensors, views,
} from "../../src/testing/fast-check.js";

const sample = <T,>(arb: fc.Arbitrary<T>, n = 300): T[] => fc.sample(arb, { numRuns: n, seed: 42 });

/** The counterexample fast-check shrinks to for a property that fails on `bad`. */
function shrunk<T>(arb: fc.Arbitrary<T>, bad: (v: T) => boolean): T {
  const r = fc.check(fc.property(arb, (v) => !bad(v)), { seed: 1, numRuns: 500 });
  expect(r.failed).toBe(true);
  return r.counterexample![0];
}

describe("shapes and broadcast pairs", () => {
  test("shapes stay within rank and size bounds, and reach them", () => {
    const drawn = sample(shapes({ minRank: 1, maxRank: 4, minDim: 0, maxDim: 3 }));
    for (const s of drawn) {
      expect(s.length).toBeGreaterThanOrEqual(1);
      expect(s.length).toBeLessThanOrEqual(4);
      for (const d of s) expect(d >= 0 && d <= 3).toBe(true);
    }
    expect(drawn.some((s) => s.length === 4) && drawn.some((s) => s.includes(0))).toBe(true);
    expect(() => shapes({ minRank: 3, maxRank: 2 })).toThrow(/^shapes: maxRank 2 is below minRank 3/);
    expect(() => shapes({ maxDim: -1 })).toThrow(ValueError);
  });

  test("broadcast pairs broadcast, keep the rank bounds, and include genuinely broadcasting pairs", () => {
    const drawn = sample(broadcastPairs({ minRank: 1, maxRank: 3 }));
    for (const [a, b] of drawn) {
      expect(() => broadcastShapes(a, b)).not.toThrow();
      for (const s of [a, b]) expect(s.length >= 1 && s.length <= 3).toBe(true);
    }
    expect(drawn.some(([a, b]) => a.length !== b.length)).toBe(true);
    expect(drawn.some(([a, b]) => a.length === b.length && a.some((d, i) => d !== b[i]))).toBe(true);
  });
});

describe("tensors and views", () => {
  test("dtype, range, shape, requiresGrad and the distance from kinks", () => {
    for (const t of sample(tensors({ dtype: "float32", min: -2, max: 3, awayFrom: [0], margin: 0.1, requiresGrad: true }), 200)) {
      expect(t.dtype).toBe("float32");
      expect(t.requiresGrad).toBe(true);
      for (const v of t.toFlatArray()) expect(v >= -2 - 1e-6 && v <= 3 + 1e-6 && Math.abs(v) >= 0.1 - 1e-7).toBe(true);
    }
    for (const t of sample(tensors({ dtype: "int32", shape: [2, 3], min: -1, max: 1 }), 50)) {
      expect([t.dtype, t.shape]).toEqual(["int32", [2, 3]]);
      for (const v of t.toFlatArray()) expect([-1, 0, 1]).toContain(v);
    }
    expect(() => tensors({ min: 1, max: 0 })).toThrow(/^tensors: min and max must be finite numbers with min <= max/);
  });

  test("a failing property shrinks to the smallest shape and values of 0 (not a random seed's values)", () => {
    const t = shrunk(tensors(), (x) => x.size >= 3);
    expect(t.size).toBe(3);
    expect(t.toFlatArray().map(Math.abs)).toEqual([0, 0, 0]);
    const big = shrunk(tensors({ shape: [2, 2] }), (x) => x.toFlatArray().some((v) => v > 1));
    expect(big.toFlatArray().filter((v) => v !== 0).length).toBe(1);
    expect(big.toFlatArray().some((v) => v > 1 && v <= 1.0001)).toBe(true);
  });

  test("views are not contiguous (expanded ones always; the others once they have two distinct places to read), and hold the base's values", () => {
    const drawn = sample(views({ minRank: 1 }), 200);
    for (const v of drawn) {
      const { view, base, kind } = v;
      expect(view.toFlatArray()).toEqual(v.of(base).toFlatArray());
      const spread = kind === "transposed" ? view.shape.slice(-2).every((d) => d > 1) : kind === "sliced" ? view.shape[view.ndim - 1]! > 1 : true;
      if (spread) expect(view.isContiguous(), `${kind} ${JSON.stringify(view.shape)}`).toBe(false);
    }
    expect(new Set(drawn.map((v) => v.kind))).toEqual(new Set(["transposed", "sliced", "expanded"]));
  });

  test("a view's `of` lets gradcheck see through it (an expanded view's gradient sums the copies)", () => {
    fc.assert(fc.property(views({ minRank: 2, maxRank: 2, requiresGrad: true, min: -3, max: 3 }), (v) => {
      assertGradcheck((b: Tensor) => softmax(v.of(b), -1), [v.base]);
    }), { numRuns: 30 });
  });
});

describe("logits, probabilities, labels, temperatures", () => {
  test("logits: [B, C] in bounds, |finite values| ≤ maxAbs, both ends drawn; masks never cover a row; ties happen", () => {
    const drawn = sample(logits({ maxAbs: 1e4, masked: true, ties: true, minRows: 2, maxRows: 3, minClasses: 3, maxClasses: 5 }));
    let masked = 0;
    let tied = 0;
    let extreme = 0;
    for (const x of drawn) {
      const [b, c] = x.shape as [number, number];
      expect(b >= 2 && b <= 3 && c >= 3 && c <= 5).toBe(true);
      const v = x.toFlatArray();
      for (let r = 0; r < b; r++) {
        const row = v.slice(r * c, r * c + c);
        expect(row.some(Number.isFinite)).toBe(true);
        const finite = row.filter(Number.isFinite);
        if (finite.length < c) masked++;
        if (new Set(finite).size < finite.length) tied++;
        if (finite.some((y) => Math.abs(y) === 1e4)) extreme++;
        for (const y of row) expect(y === -Infinity || Math.abs(y) <= 1e4).toBe(true);
      }
    }
    expect(masked).toBeGreaterThan(50);
    expect(tied).toBeGreaterThan(50);
    expect(extreme).toBeGreaterThan(10);
  });

  test("logits shrink to one row of two zeros", () => {
    const x = shrunk(logits({ masked: true, ties: true }), () => true);
    expect([x.shape, x.toFlatArray()]).toEqual([[1, 2], [0, 0]]);
  });

  test("probabilities: non-negative rows summing to 1 within C·ε, with exact zeros and one-hot rows, never an all-zero row", () => {
    const drawn = sample(probabilities({ maxClasses: 6 }));
    let zeros = 0;
    let oneHot = 0;
    for (const p of drawn) {
      const [b, c] = p.shape as [number, number];
      const v = p.toFlatArray();
      for (let r = 0; r < b; r++) {
        const row = v.slice(r * c, r * c + c);
        expect(row.every((y) => y >= 0 && y <= 1)).toBe(true);
        expect(Math.abs(row.reduce((s, y) => s + y, 0) - 1)).toBeLessThanOrEqual(c * 2 ** -52);
        if (row.includes(0)) zeros++;
        if (row.filter((y) => y > 0).length === 1) oneHot++;
      }
    }
    expect(zeros).toBeGreaterThan(50);
    expect(oneHot).toBeGreaterThan(5);
    const none = sample(probabilities({ zeros: false, spread: 5 }), 100);
    for (const p of none) expect(p.toFlatArray().every((y) => y > 0)).toBe(true);
  });

  test("labelsFor: int32 of the leading shape, in range, never on a −∞ class", () => {
    fc.assert(fc.property(logits({ masked: true }).chain((x) => labelsFor(x).map((y) => [x, y] as const)), ([x, y]) => {
      const [b, c] = x.shape as [number, number];
      expect([y.dtype, y.shape]).toEqual(["int32", [b]]);
      y.toFlatArray().forEach((k, r) => {
        expect(k >= 0 && k < c).toBe(true);
        expect(x.at(r, k)).not.toBe(-Infinity);
      });
    }));
  });

  test("temperatures: log-uniform over [1e-6, 1e6] by default, ends included; shrink to 1; out-of-range bounds refused", () => {
    const drawn = sample(temperatures(), 500);
    expect(drawn.every((T) => T >= 1e-6 && T <= 1e6)).toBe(true);
    expect(drawn.filter((T) => T < 1e-3).length).toBeGreaterThan(50);
    expect(drawn.filter((T) => T > 1e3).length).toBeGreaterThan(50);
    expect(drawn).toContain(1e-6);
    expect(drawn).toContain(1e6);
    expect(shrunk(temperatures(), () => true)).toBe(1);
    expect(() => temperatures({ min: 1e-7 })).toThrow(/^temperatures: min and max must satisfy 0\.000001 <= min <= max <= 1000000/);
    expect(() => temperatures({ min: 10, max: 1 })).toThrow(ValueError);
  });
});

test("a drawn tensor prints as code that rebuilds it exactly", () => {
  const t = printable(tensor([[0.1 + 0.2, -Infinity], [-0, 1e-300]], { dtype: "float64", requiresGrad: true }));
  expect(fc.stringify(t)).toBe('tensor([[0.30000000000000004,-Infinity],[-0,1e-300]], { dtype: "float64", requiresGrad: true })');
  for (const x of sample(logits({ masked: true, maxAbs: 1e4 }), 50)) {
    const text = fc.stringify(x);
    const values = JSON.parse(text.slice("tensor(".length, text.indexOf(", { dtype")).replace(/-Infinity/g, '"-inf"').replace(/-0\b(?!\.)/g, '"-0"')) as (number | string)[][];
    expect(values.flat().map((v) => (v === "-inf" ? -Infinity : v === "-0" ? -0 : v))).toEqual(x.toFlatArray());
  }
});
