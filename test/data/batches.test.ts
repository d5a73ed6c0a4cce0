import { describe, expect, test } from "vitest";
import { Generator, IndexError, ShapeError, ValueError, arange, batches, selectRows, tensor } from "../../src/index.js";

const x = arange(0, 50, 1, { dtype: "float64" }).reshape(10, 5); // row i holds 5i … 5i + 4
const y = arange(0, 10, 1, { dtype: "int32" });

describe("selectRows", () => {
  test("gathers rows in the given order, repeats allowed", () => {
    const r = selectRows(x, [3, 0, 3]);
    expect(r.shape).toEqual([3, 5]);
    expect(r.toArray()).toEqual([[15, 16, 17, 18, 19], [0, 1, 2, 3, 4], [15, 16, 17, 18, 19]]);
    expect(selectRows(y, Int32Array.from([9, 1])).toFlatArray()).toEqual([9, 1]);
    expect(selectRows(y, []).shape).toEqual([0]);
    expect(selectRows(x.T, [1]).toArray()).toEqual([[1, 6, 11, 16, 21, 26, 31, 36, 41, 46]]); // from a view
  });

  test("the gradient scatters back to the selected rows (through gather) when the input requires grad", () => {
    const w = tensor([[1, 2], [3, 4], [5, 6]], { dtype: "float64", requiresGrad: true });
    selectRows(w, [2, 0, 2]).mul(tensor([[1, 1], [10, 10], [100, 100]], { dtype: "float64" })).sum().backward();
    expect(w.grad!.toArray()).toEqual([[10, 10], [0, 0], [101, 101]]);
  });

  test("indices out of range and 0-d inputs are errors", () => {
    expect(() => selectRows(x, [10])).toThrow(IndexError);
    expect(() => selectRows(x, [10])).toThrow(/^selectRows: index 10 at position 0 is out of range for 10 rows$/);
    expect(() => selectRows(x, [0, 1.5])).toThrow(/^selectRows: index 1.5 at position 1/);
    expect(() => selectRows(tensor(1), [0])).toThrow(ShapeError);
  });
});

describe("batches", () => {
  const epoch = (loader: Iterable<{ x: { shape: readonly number[]; toArray(): unknown }; y: { toFlatArray(): number[] }; indices: number[] }>) =>
    [...loader].map((b) => b.indices);

  test("every example appears exactly once per epoch, rows of x and y stay paired, and the last batch is smaller", () => {
    const loader = batches(x, y, { batchSize: 4, generator: new Generator(1) });
    expect(loader.length).toBe(3);
    const seen: number[] = [];
    const sizes: number[] = [];
    for (const b of loader) {
      sizes.push(b.indices.length);
      seen.push(...b.indices);
      expect(b.y.toFlatArray()).toEqual(b.indices); // y[i] = i
      expect(b.x.toArray()).toEqual(b.indices.map((i) => [0, 1, 2, 3, 4].map((k) => 5 * i + k)));
    }
    expect(sizes).toEqual([4, 4, 2]);
    expect([...seen].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  test("each iteration is a new epoch with a new order; a fixed seed reproduces the sequence of epochs", () => {
    const loader = batches(x, y, { batchSize: 3, generator: new Generator(7) });
    const e1 = epoch(loader);
    const e2 = epoch(loader);
    expect(e1).not.toEqual(e2);
    expect(e1.flat().sort((a, b) => a - b)).toEqual(e2.flat().sort((a, b) => a - b));
    const again = batches(x, y, { batchSize: 3, generator: new Generator(7) });
    expect([epoch(again), epoch(again)]).toEqual([e1, e2]);
    expect(epoch(batches(x, y, { batchSize: 3, generator: new Generator(8) }))).not.toEqual(e1);
  });

  test("the shuffle is the Fisher–Yates shuffle driven by generator.below", () => {
    const g = new Generator(3);
    const order = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    for (let i = 9; i > 0; i--) {
      const j = g.below(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    expect(epoch(batches(x, y, { batchSize: 10, generator: new Generator(3) }))).toEqual([order]);
  });

  test("shuffle: false keeps the order; dropLast drops the short batch", () => {
    expect(epoch(batches(x, y, { batchSize: 4, shuffle: false }))).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    const dropped = batches(x, y, { batchSize: 4, shuffle: false, dropLast: true });
    expect(dropped.length).toBe(2);
    expect(epoch(dropped)).toEqual([[0, 1, 2, 3], [4, 5, 6, 7]]);
    expect(epoch(batches(x, y, { batchSize: 20, shuffle: false }))).toEqual([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]]);
    expect(epoch(batches(x, y, { batchSize: 20, dropLast: true }))).toEqual([]);
  });

  test("shuffled epochs visit positions uniformly: each row leads an epoch about equally often", () => {
    const loader = batches(x, y, { batchSize: 10, generator: new Generator(11) });
    const firsts = new Array<number>(10).fill(0);
    for (let e = 0; e < 2000; e++) for (const b of loader) firsts[b.indices[0]!]!++;
    // 2000 epochs, p = 1/10: sd = √(2000·0.1·0.9) ≈ 13.4; allow 5 sd.
    for (const c of firsts) expect(Math.abs(c - 200)).toBeLessThan(67);
  });

  test("mismatched row counts and bad batch sizes are errors", () => {
    expect(() => batches(x, y.slice(0, 0, 9), { batchSize: 2 })).toThrow(/^batches: x has 10 rows \(shape \[10,5\]\) but y has 9 \(shape \[9\]\)$/);
    expect(() => batches(x, y, { batchSize: 0 })).toThrow(ValueError);
    expect(() => batches(x, y, { batchSize: 2.5 })).toThrow(/^batches: batchSize must be a positive integer, got 2.5$/);
    expect(() => batches(tensor(1), y, { batchSize: 1 })).toThrow(ShapeError);
  });
});
