/**
 * standardizeLogits (src/ops/standardize-logits.ts): the z-score of each lane, its masks and
 * edges, and its derivative (the fused first-order rule against the rule written with ops,
 * and the derivative at a constant lane).
 */
import fc from "fast-check";
import { test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import {
  DTypeError, Generator, IndexError, Tensor, ValueError, assertGradcheck, gradients, jacobian, standardizeLogits, tensor, where,
} from "../../src/index.js";
import { expectClose } from "../helpers/close.js";

/** The definition, lane by lane in float64 (the reference): finite entries, μ, unbiased σ. */
function reference(rows: number[][], eps = 1e-7): number[][] {
  return rows.map((row) => {
    const kept = row.filter((v) => v !== -Infinity);
    const n = kept.length;
    const mu = kept.reduce((a, b) => a + b, 0) / Math.max(n, 1);
    const sigma = n < 2 ? 0 : Math.sqrt(kept.reduce((a, b) => a + (b - mu) ** 2, 0) / (n - 1));
    return row.map((v) => (v === -Infinity ? -Infinity : (v - mu) / (sigma + eps)));
  });
}

const rowsArb = fc.record({ b: fc.integer({ min: 1, max: 4 }), c: fc.integer({ min: 2, max: 9 }), seed: fc.nat(), scale: fc.constantFrom(1e-3, 1, 30, 1e4), offset: fc.constantFrom(0, 5, -1e4) })
  .map(({ b, c, seed, scale, offset }) => {
    const rng = new Generator(seed);
    return Array.from({ length: b }, () => Array.from({ length: c }, () => offset + scale * rng.normal()));
  });

describe("values", () => {
  test.prop([rowsArb])("the z-score of each row, to a few ulps of its terms", (rows) => {
    const got = standardizeLogits(tensor(rows, { dtype: "float64" })).toArray() as number[][];
    const want = reference(rows);
    // y = (x − μ)/(σ + eps): x − μ carries ε·(|x| + |μ|) (μ from a shifted sum), σ a few ε of itself.
    got.forEach((row, r) => row.forEach((v, i) => {
      const spread = Math.max(...rows[r]!.map((x) => Math.abs(x))) / (want[r]!.length > 1 ? Math.max(1e-300, Math.sqrt(rows[r]!.reduce((a, x) => a + (x - rows[r]!.reduce((p, q) => p + q, 0) / rows[r]!.length) ** 2, 0) / (rows[r]!.length - 1))) : 1);
      expect(Math.abs(v - want[r]![i]!)).toBeLessThanOrEqual(16 * Number.EPSILON * (Math.abs(want[r]![i]!) + spread * rows[r]!.length));
    }));
  });

  test("along any axis, and for float32 (rounded once)", () => {
    const rng = new Generator(4);
    const x = tensor(Float64Array.from({ length: 24 }, () => rng.normal() * 3), { shape: [2, 3, 4] });
    const moved = standardizeLogits(x.transpose(1, 2), 2).transpose(1, 2);
    expectClose(standardizeLogits(x, 1), moved, { rtol: 1e-14, atol: 1e-14 });
    const y32 = standardizeLogits(x.to("float32"), -1);
    expect(y32.dtype).toBe("float32");
    expectClose(y32, standardizeLogits(x.to("float32").to("float64"), -1).to("float32"), { rtol: 0, atol: 0 });
  });

  test("scale and shift: a constant changes nothing; a positive scale k only moves eps to eps/k (exactly invariant at eps = 0)", () => {
    const x = tensor([[1, 4, -2, 0.5], [3, 3, 3, 7]], { dtype: "float64" });
    expectClose(standardizeLogits(x.add(123.25)), standardizeLogits(x), { rtol: 1e-13, atol: 1e-13 });
    expectClose(standardizeLogits(x.mul(8), -1, 0), standardizeLogits(x, -1, 0), { rtol: 1e-14, atol: 1e-15 });
    expectClose(standardizeLogits(x.mul(8), -1, 8e-7), standardizeLogits(x, -1, 1e-7), { rtol: 1e-14, atol: 1e-15 });
  });

  test("masks and edges: −∞ stays −∞ and is left out; fewer than two entries give 0; NaN or +∞ make the lane NaN", () => {
    const x = tensor([[1, -Infinity, 3, 5], [2, 2, 2, 2], [-Infinity, 7, -Infinity, -Infinity], [1, NaN, 2, 3], [1, Infinity, 2, 3], [-Infinity, -Infinity, -Infinity, -Infinity]], { dtype: "float64" });
    const got = standardizeLogits(x).toArray() as number[][];
    expectClose(got[0]!, [-1, -Infinity, 0, 1].map((v) => v * (2 / (2 + 1e-7))), { rtol: 1e-15, atol: 1e-15 });
    expect(got[1]).toEqual([0, 0, 0, 0]);
    expect(got[2]).toEqual([-Infinity, 0, -Infinity, -Infinity]);
    expect(got[3]!.every(Number.isNaN)).toBe(true);
    expect(got[4]!.every(Number.isNaN)).toBe(true);
    expect(got[5]).toEqual([-Infinity, -Infinity, -Infinity, -Infinity]);
    // A single class: 0 (PyTorch's unbiased std is 0/0 = NaN there).
    expect(standardizeLogits(tensor([[5], [-2]], { dtype: "float64" })).toFlatArray()).toEqual([0, 0]);
    // eps = 0 on a constant lane: 0/0, as the formula says.
    expect(Number.isNaN(standardizeLogits(tensor([[2, 2]], { dtype: "float64" }), -1, 0).toFlatArray()[0]!)).toBe(true);
  });

  test("logits near ±1e4 keep their small differences; values past 1e154 (whose squares overflow) stay finite", () => {
    const near = tensor([[1e4, 1e4 + 1e-6, 1e4 - 2e-6]], { dtype: "float64" });
    // The differences from 1e4 as the doubles hold them (exact by Sterbenz), then the formula.
    const d = near.toFlatArray().map((v) => v - 1e4);
    expectClose(standardizeLogits(near), reference([d]).flat(), { rtol: 1e-12, atol: 1e-12 });
    const huge = standardizeLogits(tensor([[1e200, -1e200, 0]], { dtype: "float64" })).toFlatArray();
    expectClose(huge, [1, -1, 0], { rtol: 1e-15, atol: 1e-15 });
  });

  test("argument checks name the function", () => {
    const x = tensor([[1, 2]], { dtype: "float64" });
    expect(() => standardizeLogits(x, -1, -1)).toThrow(ValueError);
    expect(() => standardizeLogits(x, -1, -1)).toThrow(/^standardizeLogits: eps must be a finite number ≥ 0, got -1$/);
    expect(() => standardizeLogits(x, -1, NaN)).toThrow(/got NaN/);
    expect(() => standardizeLogits(x, 2)).toThrow(IndexError);
    expect(() => standardizeLogits(tensor([1, 2], { dtype: "int32" }))).toThrow(DTypeError);
  });
});

describe("derivatives", () => {
  test("lanes of nearly equal logits far from 0: the gradient still sums to 0 along the lane (a shift changes nothing)", () => {
    // σ = 1.7e-11 at |x| = 20: the stored y sums to ≈ ulp(20)/(σ + eps), not 0, and the rule's
    // second term multiplies that by ⟨g, y⟩/((n − 1)σ); before the kernel centred its result,
    // this lane's gradient summed to 0.0125·|g|. Centred, the sum is the rounding of n terms.
    const lanes = [[-19.99999999997627, -20], [1e4, 1e4 + 1e-9, 1e4 - 2e-9], [-3.000000000001, -3, -2.999999999999, -3]];
    for (const lane of lanes) {
      const x = tensor([lane], { dtype: "float64", requiresGrad: true });
      const g = tensor([lane.map((_, i) => (i % 2 === 0 ? 1 : -0.5))], { dtype: "float64" });
      const [dx] = gradients([standardizeLogits(x)], [x], [g]);
      const v = dx!.toFlatArray();
      const sum = v.reduce((a, b) => a + b, 0);
      const size = v.reduce((a, b) => a + Math.abs(b), 0);
      expect(Math.abs(sum), `lane ${lane.join(", ")}: Σ = ${sum}, Σ|·| = ${size}`).toBeLessThanOrEqual(4 * lane.length * Number.EPSILON * size);
    }
  });

  test.prop([rowsArb, fc.nat()])("the fused first-order rule equals the rule written with ops (used when a graph is created)", (rows, seed) => {
    const x = tensor(rows, { dtype: "float64", requiresGrad: true });
    const rng = new Generator(seed);
    const g = tensor(Float64Array.from({ length: x.size }, () => rng.normal()), { shape: x.shape });
    const [fused] = gradients([standardizeLogits(x)], [x], [g]);
    const [form] = gradients([standardizeLogits(x)], [x], [g], { createGraph: true });
    // Both are [(g − ḡ) − y⟨g, y⟩·d/((n − 1)σ)]/d: a few ulps of the terms, |g|·(1 + √n)/d each.
    const scale = Math.max(...rows.map((r) => {
      const m = r.reduce((a, b) => a + b, 0) / r.length;
      return 1 / (Math.sqrt(r.reduce((a, b) => a + (b - m) ** 2, 0) / (r.length - 1)) + 1e-7);
    }));
    expectClose(fused!, form!, { rtol: 1e-10, atol: 64 * Number.EPSILON * scale * (1 + Math.sqrt(rows[0]!.length)) * Math.max(...g.abs().toFlatArray()) });
  });

  test("gradcheck with masked entries, along a middle axis", () => {
    const rng = new Generator(2);
    const x = tensor(Float64Array.from({ length: 30 }, () => rng.normal() * 2), { shape: [2, 5, 3], requiresGrad: true });
    const mask = tensor(Float64Array.from({ length: 30 }, (_, i) => (i % 7 === 3 ? -Infinity : 0)), { shape: [2, 5, 3] });
    const keep = tensor(Int32Array.from({ length: 30 }, (_, i) => (i % 7 === 3 ? 0 : 1)), { shape: [2, 5, 3] });
    assertGradcheck((a: Tensor) => where(keep, standardizeLogits(a.add(mask), 1), 0), [x]);
  });

  test("at a constant lane the Jacobian is (I − 11ᵀ/n)/eps, and finite in the second order", () => {
    const n = 4;
    const J = jacobian((a: Tensor) => standardizeLogits(a, -1))(tensor([3, 3, 3, 3], { dtype: "float64" })).toArray() as number[][];
    J.forEach((row, i) => row.forEach((v, j) => expect(Math.abs(v - ((i === j ? 1 : 0) - 1 / n) / 1e-7)).toBeLessThanOrEqual(1e-6 * 1e7)));
    const x = tensor([[3, 3, 3]], { dtype: "float64", requiresGrad: true });
    const [g1] = gradients([standardizeLogits(x).mul(tensor([[1, 2, 4]], { dtype: "float64" })).sum()], [x], [], { createGraph: true });
    const [g2] = gradients([g1!.pow(2).sum()], [x]);
    for (const v of g2!.toFlatArray()) expect(Number.isFinite(v)).toBe(true);
  });
});
