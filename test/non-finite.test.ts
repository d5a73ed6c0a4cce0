/**
 * The rows of docs/non-finite.md not already covered by the golden and loss
 * tests: each asserts the documented behaviour explicitly.
 */
import { describe, expect, test } from "vitest";
import { abs, clamp, crossEntropy, logSoftmax, logSumExp, max, min, nllLoss, relu, softmax, tensor, type Tensor } from "../src/index.js";

const f64 = (v: number[][] | number[], requiresGrad = true): Tensor => tensor(v, { dtype: "float64", requiresGrad });
const up = (x: Tensor): Tensor => tensor(Float64Array.from({ length: x.size }, (_, i) => 1 + i), { shape: x.shape });

describe("softmax family with +∞ or NaN in a lane", () => {
  test("+∞: softmax and logSoftmax give a NaN lane; logSumExp gives +∞ with NaN gradient at the +∞ entry, 0 elsewhere", () => {
    for (const op of [softmax, logSoftmax]) {
      const x = f64([[Infinity, 1, 2], [0, 1, 2]]);
      const y = op(x, -1);
      const rows = y.toArray() as number[][];
      expect(rows[0]!.every(Number.isNaN)).toBe(true);
      expect(rows[1]!.every(Number.isFinite)).toBe(true);
      y.backward(up(y));
      expect((x.grad!.toArray() as number[][])[0]!.every(Number.isNaN)).toBe(true);
    }
    const x = f64([[Infinity, 1, 2]]);
    const l = logSumExp(x, 1);
    expect(l.item()).toBe(Infinity);
    l.backward(tensor([1], { dtype: "float64" }));
    const g = x.grad!.toFlatArray();
    expect(Number.isNaN(g[0]!)).toBe(true);
    expect(g.slice(1)).toEqual([0, 0]);
  });

  test("NaN: a NaN lane and NaN gradients, other lanes untouched", () => {
    for (const op of [softmax, logSoftmax, (t: Tensor, d: number) => logSumExp(t, d, true)]) {
      const x = f64([[NaN, 1, 2], [0, 1, 2]]);
      const y = op(x, -1);
      const rows = y.toArray() as number[][];
      expect(rows[0]!.every(Number.isNaN)).toBe(true);
      expect(rows[1]!.every(Number.isFinite)).toBe(true);
      y.backward(up(y));
      const g = x.grad!.toArray() as number[][];
      expect(g[0]!.every(Number.isNaN)).toBe(true);
      expect(g[1]!.every(Number.isFinite)).toBe(true);
    }
  });
});

describe("losses at the edges", () => {
  test("'mean' with zero total weight: NaN loss; nllLoss NaN at each (i, yᵢ), crossEntropy NaN on those rows", () => {
    const x = f64([[1, 2, 3], [0, 1, 0]]);
    const y = tensor([1, 1], { dtype: "int32" });
    const l = nllLoss(x, y, { weight: [1, 0, 1] });
    expect(Number.isNaN(l.item())).toBe(true);
    l.backward();
    const g = x.grad!.toArray() as number[][];
    expect(Number.isNaN(g[0]![1]!) && Number.isNaN(g[1]![1]!)).toBe(true);
    expect([g[0]![0], g[0]![2], g[1]![0], g[1]![2]]).toEqual([0, 0, 0, 0]);
    const z = f64([[1, 2, 3], [0, 1, 0]]);
    const c = crossEntropy(z, y, { weight: [1, 0, 1] });
    expect(Number.isNaN(c.item())).toBe(true);
    c.backward();
    expect(z.grad!.toFlatArray().every(Number.isNaN)).toBe(true);
  });

  test("probability targets: mass on a −∞ logit gives +∞, finite input gradient, +∞ target gradient there", () => {
    const x = f64([[0, -Infinity, 1]]);
    const t = f64([[0.5, 0.25, 0.25]]);
    const l = crossEntropy(x, t);
    expect(l.item()).toBe(Infinity);
    l.backward();
    expect(x.grad!.toFlatArray().every(Number.isFinite)).toBe(true);
    expect(t.grad!.at(0, 1)).toBe(Infinity);
  });
});

describe("ops at NaN", () => {
  test("max and min: a NaN lane gives NaN and sends 0 gradient to that lane", () => {
    for (const op of [max, min]) {
      const x = f64([[1, NaN, 3], [1, 5, 3]]);
      const y = op(x, 1);
      expect(Number.isNaN(y.at(0))).toBe(true);
      y.backward(tensor([1, 1], { dtype: "float64" }));
      const g = x.grad!.toArray() as number[][];
      expect(g[0]).toEqual([0, 0, 0]);
      expect(g[1]!.reduce((a, b) => a + b, 0)).toBe(1);
    }
  });

  test("relu, abs and clamp return NaN at NaN and send it 0 gradient", () => {
    for (const op of [relu, abs, (t: Tensor) => clamp(t, -1, 1)]) {
      const x = f64([NaN, 0.5]);
      const y = op(x);
      expect(Number.isNaN(y.at(0))).toBe(true);
      y.backward(tensor([1, 1], { dtype: "float64" }));
      expect(x.grad!.at(0)).toBe(0);
    }
  });
});
