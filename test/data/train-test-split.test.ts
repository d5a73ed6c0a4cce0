import { describe, expect, test } from "vitest";
import { Generator, ShapeError, type Tensor, ValueError, arange, randperm, tensor, trainTestSplit } from "../../src/index.js";

/** Rows that hold their own index (x: two columns 2i, 2i + 1; y: i), to see which rows went where. */
const data = (n: number) => [arange(0, 2 * n, 1, { dtype: "float32" }).reshape(n, 2), arange(0, n, 1, { dtype: "int32" })] as const;

describe("trainTestSplit", () => {
  test("sizes follow scikit-learn: test ⌈f·n⌉, train ⌊f·n⌋, counts as given, the rest otherwise", () => {
    const [x, y] = data(10);
    const sizes = (o: object) => {
      const [xTr, xTe, yTr, yTe] = trainTestSplit([x, y], o);
      expect(xTr!.shape[0]).toBe(yTr!.shape[0]);
      expect(xTe!.shape[0]).toBe(yTe!.shape[0]);
      return [yTr!.shape[0], yTe!.shape[0]];
    };
    expect(sizes({})).toEqual([7, 3]); // test ⌈0.25·10⌉ = 3
    expect(sizes({ testSize: 0.33 })).toEqual([6, 4]); // ⌈3.3⌉ = 4
    expect(sizes({ trainSize: 0.55 })).toEqual([5, 5]); // ⌊5.5⌋ = 5, the test set the rest
    expect(sizes({ testSize: 2, trainSize: 3 })).toEqual([3, 2]); // counts; 5 rows unused
    expect(sizes({ testSize: 0.2, trainSize: 0.5 })).toEqual([5, 2]);
  });

  test("each tensor is split by the same rows; the parts are disjoint and come from a permutation", () => {
    const [x, y] = data(12);
    const [xTr, xTe, yTr, yTe] = trainTestSplit([x, y], { testSize: 0.25, generator: new Generator(3) });
    const trainRows = yTr!.toFlatArray();
    const testRows = yTe!.toFlatArray();
    expect(xTr!.toFlatArray()).toEqual(trainRows.flatMap((i) => [2 * i, 2 * i + 1]));
    expect(xTe!.toFlatArray()).toEqual(testRows.flatMap((i) => [2 * i, 2 * i + 1]));
    expect([...trainRows, ...testRows].sort((a, b) => a - b)).toEqual([...Array(12).keys()]);
    // The test set is the head of randperm(n) with the same generator state, the train set the rest.
    const perm = randperm(12, { generator: new Generator(3) }).toFlatArray();
    expect(testRows).toEqual(perm.slice(0, 3));
    expect(trainRows).toEqual(perm.slice(3));
    expect(testRows).not.toEqual([0, 1, 2]); // shuffled (this seed moves them)
  });

  test("the same generator seed gives the same split; shuffle false keeps the order, train first", () => {
    const [x] = data(8);
    const a = trainTestSplit(x, { generator: new Generator(5) }).map((t) => t.toFlatArray());
    const b = trainTestSplit(x, { generator: new Generator(5) }).map((t) => t.toFlatArray());
    expect(a).toEqual(b);
    const [, y] = data(8);
    const [tr, te] = trainTestSplit(y, { shuffle: false, testSize: 3 });
    expect(tr!.toFlatArray()).toEqual([0, 1, 2, 3, 4]);
    expect(te!.toFlatArray()).toEqual([5, 6, 7]);
  });

  test("a tensor that requires grad passes the gradient back to its rows", () => {
    const x = tensor([[1], [2], [3], [4]], { dtype: "float64", requiresGrad: true });
    const [tr, te] = trainTestSplit(x, { shuffle: false, testSize: 1 });
    tr!.sum().add(te!.mul(10).sum()).backward();
    expect(x.grad!.toFlatArray()).toEqual([1, 1, 1, 10]);
  });

  test("refusals name trainTestSplit, the argument and the values", () => {
    const [x, y] = data(10);
    expect(() => trainTestSplit([x, y.slice(0, 0, 9)])).toThrow(ShapeError);
    expect(() => trainTestSplit([x, y.slice(0, 0, 9)])).toThrow(/^trainTestSplit: tensors\[1\] has shape \[9\] but tensors\[0\] has shape \[10,2\]/);
    expect(() => trainTestSplit([])).toThrow(/^trainTestSplit: tensors must be a Tensor or a non-empty list of tensors/);
    expect(() => trainTestSplit(tensor(1))).toThrow(/^trainTestSplit: tensors\[0\] is 0-d/);
    expect(() => trainTestSplit(x, { testSize: 1.5 })).toThrow(ValueError);
    expect(() => trainTestSplit(x, { testSize: 1.5 })).toThrow(/^trainTestSplit: testSize must be a fraction in \(0, 1\) or a whole number of rows in \[1, 9\] \(the data has 10 rows\), got 1\.5$/);
    expect(() => trainTestSplit(x, { trainSize: 10 })).toThrow(/^trainTestSplit: trainSize must be/);
    expect(() => trainTestSplit(x, { testSize: 0.6, trainSize: 0.5 })).toThrow(/^trainTestSplit: with 10 rows, testSize 0\.6 and trainSize 0\.5 give 5 train and 6 test rows; both parts must be non-empty and together at most 10$/);
    expect(() => trainTestSplit(x, { trainSize: 0.05 })).toThrow(/give 0 train and 10 test rows/);
    expect(() => trainTestSplit(x, { shuffle: "yes" as unknown as boolean })).toThrow(/^trainTestSplit: shuffle must be true or false/);
    // Found by the fuzz suite: the generator was checked by randperm (and named it), and the options
    // object was not checked as every other one (a typo was ignored).
    expect(() => trainTestSplit(x, { generator: 3 as unknown as Generator })).toThrow(/^trainTestSplit: generator must be a Generator, got 3$/);
    expect(() => trainTestSplit(x, { generator: null as unknown as Generator })).toThrow(/^trainTestSplit: options\.generator is null; leave it out for the default$/);
    expect(() => trainTestSplit(x, { test_size: 0.2 } as never)).toThrow(/^trainTestSplit: unknown key "test_size" in options \(allowed: testSize, trainSize, shuffle, generator\)$/);
    expect(() => trainTestSplit([x, 3 as unknown as Tensor])).toThrow(/^trainTestSplit: tensors\[1\] must be a Tensor, got 3$/);
  });
});
