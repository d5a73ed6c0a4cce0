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
  TEMPERATURE_RANGE, broadcastPairs, labelsFor, logits, printable, probabilities, shapes, temperatures, tensors, views,
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

// Found by the fuzz suite (rows testing/fast-check:*), or next to what it found: options went
// unchecked (a typo, a null, `null` for the whole object: TypeError), bounds fast-check cannot
// draw reached it (a plain Error, or a hang drawing 10¹² values), a user's shape arbitrary was
// trusted, printable threw on a tensor it had already marked, and a few draws broke their promise.
describe("refusals and promises", () => {
  test("every arbitrary's options go through the options checker", () => {
    const makers: [string, (o: never) => unknown][] = [
      ["shapes", shapes], ["broadcastPairs", broadcastPairs], ["tensors", tensors], ["views", views],
      ["logits", logits], ["probabilities", probabilities], ["temperatures", temperatures],
    ];
    for (const [name, make] of makers) {
      expect(() => make({ maxdim: 3 } as never), name).toThrow(new RegExp(`^${name}: unknown key "maxdim" in options`));
      expect(() => make(null as never), name).toThrow(new RegExp(`^${name}: options must be an object`));
      expect(() => make({ maxRank: null } as never), name).toThrow(ValueError);
    }
    expect(() => labelsFor(tensor([[0, 1]]), { allowMasked: null } as never)).toThrow(/^labelsFor: options\.allowMasked is null/);
    expect(() => labelsFor(tensor([[0, 1]]), { allowMasked: "yes" } as never)).toThrow(/^labelsFor: allowMasked must be true or false, got "yes"$/);
    expect(() => labelsFor(tensor([1, 0], { dtype: "int32" }))).toThrow(/^labelsFor: logits must be float32 or float64, got int32$/);
    expect(() => logits({ masked: 1 } as never)).toThrow(/^logits: masked must be true or false, got 1$/);
  });

  test("bounds beyond 2^31 - 1, and bounds whose largest tensor a tensor cannot hold, are refused when the arbitrary is made", () => {
    expect(() => shapes({ maxDim: 2 ** 31 })).toThrow(/^shapes: maxDim must be an integer in \[0, 2\^31 - 1\], got 2147483648$/);
    expect(() => tensors({ maxRank: 4, minDim: 3, maxDim: 1000 })).toThrow(/^tensors: shapes of up to 4 axes of size up to 1000 may hold 1000000000000 elements, more than a tensor can/);
    expect(() => logits({ shape: [1e6, 1e6] })).toThrow(/^logits: shape must be \[rows, classes\] of positive integers \(at most 2\^31 - 1 elements\)/);
    expect(() => probabilities({ maxRows: 2 ** 20, maxClasses: 2 ** 20 })).toThrow(/^probabilities: 1048576 rows of 1048576 classes may hold/);
    expect(() => tensors({ shape: [1e10] })).toThrow(/^tensors: shape must be a list of non-negative integers holding at most 2\^31 - 1 elements/);
  });

  test("a shape drawn from a user's arbitrary is checked when drawn, naming the function", () => {
    expect(() => fc.sample(tensors({ shape: fc.constant([1.5]) }), 1)).toThrow(/^tensors: a shape drawn from the shape arbitrary must be a list of non-negative integers/);
    expect(() => fc.sample(views({ shape: fc.constant("2x3") as never }), 1)).toThrow(/^views: a shape drawn/);
  });

  test("value bounds: float32 and int32 ranges, and awayFrom points whose margins cover the range, are refused", () => {
    expect(() => tensors({ dtype: "float32", max: 1e39 })).toThrow(/^tensors: float32 values must lie within/);
    expect(() => tensors({ dtype: "int32", min: 0.2, max: 0.8 })).toThrow(/^tensors: int32 values need an integer in \[min, max\]/);
    expect(() => tensors({ dtype: "int32", max: 1e300 })).toThrow(ValueError);
    expect(() => tensors({ min: 0, max: 1, awayFrom: [0.5], margin: 1 })).toThrow(/^tensors: no value of \[0, 1\] is at least 1 away from \[0\.5\]$/);
    expect(() => tensors({ awayFrom: [NaN] })).toThrow(/^tensors: awayFrom must be a list of finite numbers/);
    expect(() => views({ dtype: "int32", requiresGrad: true })).toThrow(/^views: an int32 tensor cannot require grad$/);
  });

  test("awayFrom keeps draws inside [min, max]: a draw at max = 1 next to the point 1 goes to 1 − margin, not 1 + margin", () => {
    const xs = sample(tensors({ shape: [4], min: 0, max: 1, awayFrom: [1], margin: 0.1 })).flatMap((t) => t.toFlatArray());
    expect(xs.some((x) => x === 0.9)).toBe(true);
    expect(xs.every((x) => x >= 0 && x <= 0.9 + 1e-15)).toBe(true);
  });

  test("a scalar shape makes an expanded view whatever kinds says (it has no axis to slice)", () => {
    for (const v of sample(views({ shape: [], kinds: ["sliced"] }), 20)) {
      expect(v.kind).toBe("expanded");
      expect(v.view.shape).toEqual([2]);
    }
  });

  test("probabilities never round a weight to 0 with zeros: false (float32 spread at most 80)", () => {
    expect(() => probabilities({ dtype: "float32", spread: 700 })).toThrow(/^probabilities: spread must be a number in \[0, 80\] for float32/);
    const rows = sample(probabilities({ dtype: "float32", spread: 80, zeros: false, maxClasses: 8 }), 500);
    expect(rows.every((p) => p.toFlatArray().every((x) => x > 0))).toBe(true);
  });

  test("printable: marking a drawn tensor again is harmless, a non-tensor is refused, and an empty tensor's printing keeps its shape", () => {
    const t = sample(tensors({ shape: [2, 2] }), 1)[0]!;
    expect(printable(t)).toBe(t);
    expect(() => printable(3 as never)).toThrow(/^printable: t must be a Tensor, got 3$/);
    expect(fc.stringify(printable(tensor([], { shape: [0, 3], dtype: "float64" })))).toBe('tensor([], { shape: [0, 3], dtype: "float64" })');
  });

  test("TEMPERATURE_RANGE is frozen", () => {
    expect(Object.isFrozen(TEMPERATURE_RANGE)).toBe(true);
  });
});
