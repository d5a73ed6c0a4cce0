/**
 * The element-wise comparisons eq, ne, lt, le, gt, ge: values against JavaScript's own
 * operators on the same numbers (NaN, ±0, ±∞ included), broadcasting and views, dtypes
 * (int32 with int32, exact comparisons across dtypes, a bare number rounded to a float
 * tensor's dtype), no graph, and the refusals.
 */
import { describe, expect, test } from "vitest";
import { DTypeError, ShapeError, Tensor, eq, ge, gt, le, lt, ne, tensor, zeros } from "../../src/index.js";

const OPS = { eq, ne, lt, le, gt, ge } as const;
const JS: Record<keyof typeof OPS, (u: number, v: number) => boolean> = {
  eq: (u, v) => u === v, ne: (u, v) => u !== v, lt: (u, v) => u < v,
  le: (u, v) => u <= v, gt: (u, v) => u > v, ge: (u, v) => u >= v,
};
const SPECIAL = [NaN, -Infinity, -1, -0, 0, 0.5, 1, Infinity];

describe.each(Object.keys(OPS) as (keyof typeof OPS)[])("%s", (name) => {
  const op = OPS[name];
  const js = JS[name];

  test("every pair of special values, as JavaScript compares them (NaN: false, but ne: true)", () => {
    // x [8, 1] against y [1, 8]: all 64 pairs by broadcasting.
    for (const dtype of ["float32", "float64"] as const) {
      const x = tensor(SPECIAL, { dtype, shape: [8, 1] });
      const y = tensor(SPECIAL, { dtype, shape: [1, 8] });
      const got = op(x, y);
      expect(got.dtype).toBe("int32");
      expect(got.shape).toEqual([8, 8]);
      const want = SPECIAL.flatMap((u) => SPECIAL.map((v) => (js(u, v) ? 1 : 0)));
      expect(got.toFlatArray()).toEqual(want);
      expect(x[name](y).toFlatArray()).toEqual(want); // the method is the function
    }
  });

  test("a transposed view and a bare number on either side", () => {
    const base = tensor([[3, 1, 2], [2, 2, 5]], { dtype: "float64" });
    const xT = base.T; // [3, 2], strides [1, 3]
    const flat = [3, 2, 1, 2, 2, 5];
    expect(op(xT, 2).toFlatArray()).toEqual(flat.map((u) => (js(u, 2) ? 1 : 0)));
    expect(op(2, xT).toFlatArray()).toEqual(flat.map((v) => (js(2, v) ? 1 : 0)));
  });

  test("int32 with int32, and int32 with a number, compare exactly", () => {
    const a = tensor([0, 7, -3, 16777217], { dtype: "int32" });
    const b = tensor([0, 6, -2, 16777216], { dtype: "int32" });
    expect(op(a, b).toFlatArray()).toEqual([0, 7, -3, 16777217].map((u, i) => (js(u, [0, 6, -2, 16777216][i]!) ? 1 : 0)));
    // 16777217 is not a float32: as float32 it would round to 16777216 and compare equal.
    expect(op(a, 16777217).toFlatArray()).toEqual([0, 7, -3, 16777217].map((u) => (js(u, 16777217) ? 1 : 0)));
  });

  test("no graph, whatever the inputs require", () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = op(x, x.mul(2));
    expect(y.requiresGrad).toBe(false);
    expect(y.node).toBe(null);
  });

  test("refusals name the function", () => {
    expect(() => (op as (a: unknown, b: unknown) => Tensor)(1, 2)).toThrow(DTypeError);
    expect(() => (op as (a: unknown, b: unknown) => Tensor)(1, 2)).toThrow(new RegExp(`^${name}: at least one argument must be a Tensor`));
    expect(() => op(zeros([2, 3]), zeros([4]))).toThrow(ShapeError);
    expect(() => op(zeros([2, 3]), zeros([4]))).toThrow(new RegExp(`^${name}: cannot broadcast \\[2,3\\] with \\[4\\]$`));
    expect(() => (op as (a: unknown, b: unknown) => Tensor)(zeros([2]), "1")).toThrow(new RegExp(`^${name}: other must be a Tensor or a number, got string$`));
  });
});

describe("dtypes", () => {
  test("a bare number takes a float tensor's dtype first (as PyTorch's Python scalars); tensors compare exactly", () => {
    const x32 = tensor([0.1], { dtype: "float32" });
    const x64 = tensor([0.1], { dtype: "float64" });
    expect(eq(x32, 0.1).item()).toBe(1); // float32(0.1) == float32(0.1)
    expect(eq(x64, 0.1).item()).toBe(1);
    expect(eq(x32, x64).item()).toBe(0); // 0.100000001490116… ≠ 0.1
    expect(gt(x32, x64).item()).toBe(1);
  });

  test("int32 labels against float predictions compare as the numbers they are", () => {
    const labels = tensor([1, 2, 3], { dtype: "int32" });
    expect(eq(labels, tensor([1, 2.5, 3], { dtype: "float64" })).toFlatArray()).toEqual([1, 0, 1]);
    expect(lt(labels, 2.5).toFlatArray()).toEqual([1, 1, 0]);
  });

  test("the internal masks of the ops still refuse int32 (clamp keeps its DTypeError)", async () => {
    const { clamp } = await import("../../src/index.js");
    expect(() => clamp(tensor([1], { dtype: "int32" }), 0, 1)).toThrow(/^clamp: int32 tensors hold labels and indices/);
  });
});
