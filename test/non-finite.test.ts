/**
 * The rows of docs/non-finite.md not already covered by the golden and loss
 * tests: each asserts the documented behaviour explicitly.
 */
import { describe, expect, test } from "vitest";
import {
  abs, clamp, crossEntropy, gather, logSoftmax, logSumExp, max, maximum, min, minimum, nllLoss, pow, relu, slice, softmax,
  tensor, where,
  type Tensor,
} from "../src/index.js";

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

describe("an input that does not influence the output gets 0, even from a ±∞ or NaN upstream gradient", () => {
  // The ops whose local derivative is a 0/1 mask (or has a 0 by convention) select the
  // upstream gradient rather than multiply it by the mask: ∞·0 would be NaN. (docs/ops.md)
  const g3 = (): Tensor => tensor([Infinity, -Infinity, NaN], { dtype: "float64" });
  const cases: [string, (x: Tensor) => Tensor, number[], boolean[]][] = [
    // name, op, input, which entries influence the output
    ["relu", relu, [-1, 2, -0.5], [false, true, false]],
    ["abs (0 at the kink)", abs, [0, -2, 0], [false, true, false]],
    ["clamp", (x) => clamp(x, -1, 1), [5, 0.5, -5], [false, true, false]],
    ["where", (x) => where(tensor([0, 1, 0], { dtype: "int32" }), x, 7), [1, 2, 3], [false, true, false]],
    ["maximum (the loser)", (x) => maximum(x, 1), [0, 2, -3], [false, true, false]],
    ["minimum (the loser)", (x) => minimum(x, 1), [2, 0, 5], [false, true, false]],
    ["pow(x, 0)", (x) => pow(x, 0), [0, 2, -3], [false, false, false]],
    ["pow(0, e), e ≥ 0", (e) => pow(0, e), [0, 2, 0.5], [false, false, false]],
  ];
  for (const [name, op, input, influences] of cases) {
    test(name, () => {
      const x = f64(input);
      op(x).backward(g3());
      x.grad!.toFlatArray().forEach((v, i) => {
        if (!influences[i]) expect(Object.is(v, 0), `${name}: d[${i}] = ${v}`).toBe(true);
      });
    });
  }

  test("max and min over a lane: the elements that are not the extremum get 0", () => {
    const cases = [[max, [1, 0]], [min, [0, 2]]] as const; // the extremum's column in rows 0 and 1
    for (const [op, at] of cases) {
      const x = f64([[1, 5, 3], [4, 2, 0]]);
      op(x, 1).backward(tensor([Infinity, NaN], { dtype: "float64" }));
      const g = x.grad!.toArray() as number[][];
      g.forEach((row, r) => row.forEach((v, j) => {
        if (j !== at[r]) expect(Object.is(v, 0), `${op.name}: d[${r}][${j}] = ${v}`).toBe(true);
      }));
      expect(g[0]![at[0]]).toBe(Infinity);
      expect(Number.isNaN(g[1]![at[1]]!)).toBe(true);
    }
  });

  test("slice and gather: the elements not read get 0", () => {
    const x = f64([1, 2, 3, 4]);
    slice(x, 0, 1, 3).backward(tensor([Infinity, NaN], { dtype: "float64" }));
    const d = x.grad!.toFlatArray();
    expect([d[0], d[3]]).toEqual([0, 0]);
    const z = f64([1, 2, 3, 4]);
    gather(z, 0, tensor([2, 2], { dtype: "int32" })).backward(tensor([Infinity, -Infinity], { dtype: "float64" }));
    const dz = z.grad!.toFlatArray();
    expect([dz[0], dz[1], dz[3]]).toEqual([0, 0, 0]);
  });

  test("crossEntropy with 'none': an ignored position gets 0", () => {
    const x = f64([[1, 2, 3], [1, 2, 3]]);
    crossEntropy(x, tensor([1, -100], { dtype: "int32" }), { reduction: "none" }).backward(tensor([1, Infinity], { dtype: "float64" }));
    expect((x.grad!.toArray() as number[][])[1]).toEqual([0, 0, 0]);
  });

  test("nllLoss with 'none': entries other than the target, and ignored positions, get 0", () => {
    const x = f64([[-1, -2, -3], [-1, -2, -3]]);
    nllLoss(x, tensor([1, -100], { dtype: "int32" }), { reduction: "none" }).backward(tensor([Infinity, NaN], { dtype: "float64" }));
    expect(x.grad!.toFlatArray()).toEqual([0, -Infinity, 0, 0, 0, 0]);
  });
});
