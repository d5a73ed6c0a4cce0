/**
 * toString() prints like PyTorch and reads only what it prints. The reads are counted with a
 * Proxy over the storage (a Proxy of a Float32Array is still `instanceof Float32Array`, so the
 * tensor takes it as its data, and views made from it share it).
 */
import { describe, expect, test } from "vitest";
import { Tensor, arange, expand, full, permute, slice, tensor, transpose } from "../../src/index.js";

/** A float32 storage that counts the elements read from it. */
function countingStorage(values: ArrayLike<number>): { data: Float32Array; reads: () => number } {
  const target = Float32Array.from(values);
  let reads = 0;
  const data = new Proxy(target, {
    get(t, key) {
      if (typeof key === "string" && /^[0-9]+$/.test(key)) {
        reads++;
        return t[Number(key)];
      }
      const v = Reflect.get(t, key, t) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
  return { data, reads: () => reads };
}

describe("toString of large tensors reads only the printed elements", () => {
  test("2e8 elements expanded from one value: 6 reads in 1-d, 36 in 2-d and 3-d, no copy of the whole", () => {
    for (const shape of [[2e8], [20_000, 10_000], [2, 10_000, 10_000]]) {
      const { data, reads } = countingStorage([1.5]);
      const one = new Tensor(data, [1]);
      const big = expand(one.reshape(shape.map(() => 1)), shape);
      expect(big.size).toBe(2e8);
      const s = big.toString();
      const printed = shape.reduce((n, d) => n * Math.min(d, 6), 1);
      expect(reads(), JSON.stringify(shape)).toBe(printed);
      expect(s.match(/1\.5000/g), s).toHaveLength(printed);
      expect(s).toContain(`shape=[${shape.join(", ")}]`);
    }
  });

  test("a summarised view prints the same as its contiguous copy (strides and offset followed)", () => {
    const base = arange(0, 7 * 11 * 13, 1, { dtype: "float64" }).reshape([7, 11, 13]);
    const views = [
      base,
      transpose(base, 0, 2),
      permute(base, [1, 2, 0]),
      slice(base, 2, 3, 12, 2),
      slice(transpose(base, 0, 1), 0, 1, 11),
    ];
    for (const v of views) {
      expect(v.toString()).toBe(v.contiguous().toString());
      expect(v.toString()).toBe(tensor(v.toArray() as number[][][], { dtype: "float64" }).toString());
    }
  });
});

describe("the format is PyTorch's", () => {
  test("summary past 1000 elements: 3 items at each end, ' ...' in a row, '...' between rows; rows wrap at 80 columns", () => {
    // torch.arange(2000.) prints exactly this (scientific, since 1999 / 1 > 1000).
    expect(arange(0, 2000).toString()).toBe(
      "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n" +
      "        1.9990e+03], shape=[2000], dtype=float32)");
    // 1000 elements are not summarised; whole floats print as "3.", 14 to a line.
    expect(arange(0, 30).toString()).toBe(
      "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n" +
      "        14., 15., 16., 17., 18., 19., 20., 21., 22., 23., 24., 25., 26., 27.,\n" +
      "        28., 29.], shape=[30], dtype=float32)");
    expect(full([1000], 2).toString()).not.toContain("...");
    expect(full([1001], 2).toString()).toContain(" ...");
    const m = full([7, 1001], 0.25).toString().split("\n");
    expect(m).toEqual([
      "tensor([[0.2500, 0.2500, 0.2500,  ..., 0.2500, 0.2500, 0.2500],",
      "        [0.2500, 0.2500, 0.2500,  ..., 0.2500, 0.2500, 0.2500],",
      "        [0.2500, 0.2500, 0.2500,  ..., 0.2500, 0.2500, 0.2500],",
      "        ...,",
      "        [0.2500, 0.2500, 0.2500,  ..., 0.2500, 0.2500, 0.2500],",
      "        [0.2500, 0.2500, 0.2500,  ..., 0.2500, 0.2500, 0.2500],",
      "        [0.2500, 0.2500, 0.2500,  ..., 0.2500, 0.2500, 0.2500]], shape=[7, 1001], dtype=float32)",
    ]);
  });

  test("the scale (scientific or fixed) is chosen from the printed elements only", () => {
    // Not printed: a 1e-8 and a 1e9 in the middle of 2000 elements leave the notation fixed.
    const values = new Float64Array(2000).fill(0.5);
    values[1000] = 1e-8;
    values[1001] = 1e9;
    expect(tensor(values).toString()).toBe("tensor([0.5000, 0.5000, 0.5000,  ..., 0.5000, 0.5000, 0.5000], shape=[2000], dtype=float64)");
    // Printed (at an edge), the same values switch it to scientific.
    values[1] = 1e-8;
    expect(tensor(values).toString()).toBe(
      "tensor([5.0000e-01, 1.0000e-08, 5.0000e-01,  ..., 5.0000e-01, 5.0000e-01,\n        5.0000e-01], shape=[2000], dtype=float64)");
  });

  test("PyTorch's rules for notation and width, on small tensors", () => {
    expect(tensor([1, 2]).toString()).toBe("tensor([1., 2.], shape=[2], dtype=float32)");
    expect(tensor([1, 2000]).toString()).toBe("tensor([1.0000e+00, 2.0000e+03], shape=[2], dtype=float32)"); // ratio > 1000
    expect(tensor([1, 200]).toString()).toBe("tensor([  1., 200.], shape=[2], dtype=float32)");
    expect(tensor([1e-5, 1e-5], { dtype: "float64" }).toString()).toBe("tensor([1.0000e-05, 1.0000e-05], shape=[2], dtype=float64)"); // min < 1e-4
    expect(tensor([2e8, 3e8], { dtype: "float64" }).toString()).toBe("tensor([2.0000e+08, 3.0000e+08], shape=[2], dtype=float64)"); // max > 1e8, whole
    expect(tensor([0.5, -1.25], { dtype: "float64" }).toString()).toBe("tensor([ 0.5000, -1.2500], shape=[2], dtype=float64)");
    expect(tensor([NaN, Infinity, -Infinity, 0, -0]).toString()).toBe("tensor([nan, inf, -inf, 0., -0.], shape=[5], dtype=float32)");
    expect(tensor([NaN, 1.5]).toString()).toBe("tensor([   nan, 1.5000], shape=[2], dtype=float32)");
    expect(tensor(3.5).toString()).toBe("tensor(3.5000, shape=[], dtype=float32)");
    expect(tensor([5, -12], { dtype: "int32" }).toString()).toBe("tensor([  5, -12], shape=[2], dtype=int32)");
    expect(tensor([], { dtype: "float64" }).toString()).toBe("tensor([], shape=[0], dtype=float64)");
  });
});
