/**
 * The reduction, shape and indexing ops on the kernel registry: second and
 * third derivatives through their backward rules (closed forms), the
 * first-order sum backward staying a view, and the kernels' exactness
 * claims (lane-order float64 sums, NaN in max/min/argmax along any axis,
 * int32 casts that refuse instead of wrapping).
 */
import fc from "fast-check";
import { test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import {
  DTypeError, Generator, IndexError, Tensor, argmax, argmin, concat, gather, gradients, grad, hessian, jvp, max, mean, min,
  oneHot, slice, stack, sum, tensor,
} from "../../src/index.js";
import { shapeArb } from "../arbitraries.js";
import { expectClose } from "../helpers/close.js";

const f64 = (v: number[] | number[][], requiresGrad = false): Tensor => tensor(v, { dtype: "float64", requiresGrad });
const labels = (v: number[]): Tensor => tensor(Int32Array.from(v), { shape: [v.length] });

/** A square matrix (n × n) as nested arrays from a Hessian of shape x.shape ++ x.shape (−0 read as 0). */
const square = (h: Tensor, n: number): number[][] => (h.reshape([n, n]).toArray() as number[][]).map((r) => r.map((v) => v + 0));
const diag = (d: number[]): number[][] => d.map((v, i) => d.map((_, j) => (i === j ? v : 0)));

describe("second and third derivatives through the shape and indexing ops", () => {
  test("slice: the Hessian of Σ w·slice(x)³ is diag(6·w·x) at the picked positions, 0 elsewhere", () => {
    // x[0, 1:5:2] picks columns 1 and 3 of row 0.
    const x = f64([[0.5, -1.5, 2, 0.25, 3], [1, 2, 3, 4, 5]]);
    const w = f64([[2, -3]]);
    const f = (t: Tensor): Tensor => slice(slice(t, 0, 0, 1), 1, 1, 5, 2).pow(3).mul(w).sum();
    const h = square(hessian(f)(x), 10);
    const want = new Array<number>(10).fill(0);
    want[1] = 6 * 2 * -1.5;
    want[3] = 6 * -3 * 0.25;
    expect(h).toEqual(diag(want));
    // Third order: d/dx of Σ ∂f/∂x = Σ 3w·s² is 6·w·s, and once more 6·w.
    const third = grad((t: Tensor) => grad((u: Tensor) => grad(f)(u).sum())(t).sum())(x);
    expect(third.toArray()).toEqual([[0, 12, 0, -18, 0], [0, 0, 0, 0, 0]]);
  });

  test("slice and gather: jvp (a vjp differentiated in its cotangent) gives the sliced and gathered tangent", () => {
    // The double-vjp trick needs each backward to be linear in g through ops: with a raw
    // scatter the cotangent's graph was lost and the jvp came out 0.
    const x = f64([[1, 2, 3, 4], [5, 6, 7, 8]]);
    const t = f64([[10, 20, 30, 40], [50, 60, 70, 80]]);
    expect(jvp((u) => slice(u, 1, 1, undefined, 2), [x], [t])[1].toArray()).toEqual([[20, 40], [60, 80]]);
    const index = tensor(Int32Array.from([3, 3, 0, 1]), { shape: [2, 2] });
    expect(jvp((u) => gather(u, 1, index), [x], [t])[1].toArray()).toEqual([[40, 40], [50, 60]]);
  });

  test("gather: the Hessian of Σ wⱼ·gather(x)ⱼ² is diag(2·Σ_{j picks k} wⱼ), repeated indices adding up", () => {
    const x = f64([[1, 2, 3], [4, 5, 6]]);
    const index = tensor(Int32Array.from([2, 2, 0, 0, 1, 0]), { shape: [2, 3] });
    const w = f64([[1, 2, 3], [4, 5, 6]]);
    const f = (t: Tensor): Tensor => gather(t, 1, index).pow(2).mul(w).sum();
    // Row 0 picks 2, 2, 0 (weights 1, 2, 3); row 1 picks 0, 1, 0 (weights 4, 5, 6).
    expect(square(hessian(f)(x), 6)).toEqual(diag([2 * 3, 0, 2 * 3, 2 * 10, 2 * 5, 0]));
  });

  test("concat and stack: second derivatives reach each input through its block", () => {
    const a = f64([[1, -2]]);
    const b = f64([[0.5, 3], [2, -1]]);
    const w = f64([[1, 2], [3, 4], [5, 6]]);
    const f = (p: Tensor, q: Tensor): Tensor => concat([p, q], 0).pow(3).mul(w).sum();
    expect(square(hessian(f, 0)(a, b), 2)).toEqual(diag([6 * 1 * 1, 6 * 2 * -2]));
    expect(square(hessian(f, 1)(a, b), 4)).toEqual(diag([6 * 3 * 0.5, 6 * 4 * 3, 6 * 5 * 2, 6 * 6 * -1]));
    // Third order needs concat's backward (slices of g) to be differentiable twice: 6·w on a's block.
    const fa = (p: Tensor): Tensor => f(p, b);
    expect(grad((p: Tensor) => grad((q: Tensor) => grad(fa)(q).sum())(p).sum())(a).toArray()).toEqual([[6, 12]]);
    const g = (p: Tensor, q: Tensor): Tensor => stack([p, q.slice(0, 0, 1)], 1).pow(2).sum();
    expect(square(hessian(g, 0)(a, b), 2)).toEqual(diag([2, 2]));
  });

  test("max/min: ties share the gradient and its derivative, H = (2/c²)·TTᵀ for Σ max(x)² (c tied elements T)", () => {
    const x = f64([[1, 3, 3], [2, 2, 2]]);
    const f = (t: Tensor): Tensor => max(t, 1).pow(2).sum();
    // Row 0: m = 3 at columns 1, 2 (c = 2): ∂f/∂x = 2m/c = 3 each, H = 2/c² = 1/2 on that block.
    // Row 1: m = 2 everywhere (c = 3): ∂f/∂x = 4/3, H = 2/9 on the whole block.
    expectClose(grad(f)(x), f64([[0, 3, 3], [4 / 3, 4 / 3, 4 / 3]]), { rtol: 1e-15, atol: 0 });
    const h = square(hessian(f)(x), 6);
    const want = Array.from({ length: 6 }, (_, i) => Array.from({ length: 6 }, (_, j) => {
      if (i < 3 && j < 3) return i > 0 && j > 0 ? 0.5 : 0;
      return i >= 3 && j >= 3 ? 2 / 9 : 0;
    }));
    expectClose(h.flat(), want.flat(), { rtol: 1e-15, atol: 0 });
    // min over the whole tensor, untied: H = 2 at the minimum only.
    const y = f64([5, -1, 4]);
    expect(square(hessian((t: Tensor) => min(t).pow(2))(y), 3)).toEqual(diag([0, 2, 0]));
  });

  test("max: jvp at a tie is the mean of the tied tangents; a NaN lane gets none", () => {
    const x = f64([[1, 3, 3], [NaN, 0, 1]]);
    const t = f64([[10, 20, 40], [1, 1, 1]]);
    const [y, dy] = jvp((u) => max(u, 1), [x], [t]);
    expect(y.toFlatArray()[0]).toBe(3);
    expect(dy.toFlatArray()).toEqual([30, 0]);
  });
});

describe("first order stays as cheap as before", () => {
  test("sum's and mean's backward are broadcast views of g (no copy of x's size)", () => {
    const x = f64([[1, 2, 3], [4, 5, 6]], true);
    const [dx] = gradients([sum(x, 1)], [x], [f64([7, 8])]);
    expect(dx!.toArray()).toEqual([[7, 7, 7], [8, 8, 8]]);
    expect(dx!.strides[1]).toBe(0);
    expect(dx!.data.length).toBe(2);
    const [dm] = gradients([mean(x)], [x]);
    expect(dm!.strides).toEqual([0, 0]);
    expect(dm!.toFlatArray()).toEqual(new Array(6).fill(1 / 6));
  });
});

/** The float64 sum of x over `axes` in the row-major order of the reduced axes, one lane at a time. */
function laneOrderSum(x: Tensor, axes: number[]): number[] {
  const flat = x.toFlatArray();
  const shape = x.shape;
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const kept = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const count = (list: number[]): number => list.reduce((p, a) => p * shape[a]!, 1);
  const unravel = (j: number, list: number[]): number[] => {
    const out: number[] = [];
    for (let k = list.length - 1; k >= 0; k--) {
      out[k] = j % shape[list[k]!]!;
      j = Math.floor(j / shape[list[k]!]!);
    }
    return out;
  };
  const result: number[] = [];
  for (let o = 0; o < count(kept); o++) {
    const ko = unravel(o, kept);
    let s = 0;
    for (let r = 0; r < count(axes); r++) {
      const kr = unravel(r, axes);
      let p = 0;
      kept.forEach((a, i) => (p += ko[i]! * strides[a]!));
      axes.forEach((a, i) => (p += kr[i]! * strides[a]!));
      s += flat[p]!;
    }
    result.push(s);
  }
  return result;
}

describe("the reduce kernels", () => {
  test.prop([shapeArb(1, 4, 6), fc.nat(), fc.nat(), fc.boolean()])(
    "sum adds each lane in float64 in row-major order of the reduced axes, bit for bit (adjacent or not, any layout)",
    (shape, seed, pick, transposed) => {
      const rng = new Generator(seed);
      const n = shape.length;
      let axes = shape.map((_, i) => i).filter((i) => (pick >> i) & 1);
      if (axes.length === 0) axes = [pick % n];
      const values = Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal() * 10 ** rng.below(8));
      let x = tensor(values, { shape });
      if (transposed && n >= 2) x = x.transpose(0, n - 1).contiguous().transpose(0, n - 1);
      expect(sum(x, axes).toFlatArray()).toEqual(laneOrderSum(x, axes));
      const x32 = x.to("float32");
      expect(sum(x32, axes).toFlatArray()).toEqual(laneOrderSum(x32, axes).map(Math.fround));
    },
  );

  test("max, min, argmax and argmin along a leading axis (lanes across rows) with NaN", () => {
    const x = tensor([[1, NaN, 3, 0, 2], [5, 2, NaN, 0, 9], [0, 7, 1, -1, 9]], { dtype: "float64" });
    expect(max(x, 0).toFlatArray()).toEqual([5, NaN, NaN, 0, 9]);
    expect(min(x, 0).toFlatArray()).toEqual([0, NaN, NaN, -1, 2]);
    expect(argmax(x, 0).toFlatArray()).toEqual([1, 0, 1, 0, 1]);
    expect(argmin(x, 0).toFlatArray()).toEqual([2, 0, 1, 2, 0]);
    expect(max(x.to("float32"), [0, 1]).item()).toBeNaN();
  });
});

describe("the copy kernels", () => {
  test("cast to int32 takes −2³¹ … 2³¹ − 1 and refuses what an int32 store would wrap or truncate, by flat index of the view", () => {
    expect(f64([-2147483648, 2147483647, -0]).to("int32").toFlatArray()).toEqual([-2147483648, 2147483647, 0]);
    for (const v of [2147483648, -2147483649, 0.5, NaN, Infinity]) {
      expect(() => f64([0, v]).to("int32")).toThrow(DTypeError);
    }
    const t = f64([[0, 1], [2, 3.5]]).T; // view order: 0, 2, 1, 3.5
    expect(() => t.to("int32")).toThrow(/^Tensor\.to: only integral values fit in int32, got 3\.5 at flat index 3$/);
    expect(f64([[0, 1], [2, 3]]).T.to("int32").toFlatArray()).toEqual([0, 2, 1, 3]);
  });

  test("concat converts a float32 input into a float64 result exactly, and its gradient comes back float32", () => {
    const a = tensor([[0.1, 0.2]], { requiresGrad: true });
    const b = f64([[0.3, 0.4]], true);
    const y = concat([a, b], 0);
    expect(y.dtype).toBe("float64");
    expect(y.toFlatArray()).toEqual([Math.fround(0.1), Math.fround(0.2), 0.3, 0.4]);
    y.backward(f64([[1, 2], [3, 4]]));
    expect(a.grad!.dtype).toBe("float32");
    expect(a.grad!.toFlatArray()).toEqual([1, 2]);
  });

  test("oneHot: the class count from the largest label, positions checked", () => {
    expect(oneHot(labels([2, 0, 1, 2])).toArray()).toEqual([[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]]);
    expect(oneHot(labels([1]), 2, { dtype: "float64" }).toFlatArray()).toEqual([0, 1]);
    expect(oneHot(tensor(Int32Array.from([]), { shape: [0] })).shape).toEqual([0, 0]);
    expect(() => oneHot(labels([0, -1]))).toThrow(IndexError);
    expect(() => oneHot(labels([0, -1]))).toThrow(/^oneHot: label -1 is out of range \[0, 1\) at flat index 1$/);
  });

  test("gather reads a strided view through its own strides", () => {
    const base = f64([[1, 2, 3, 4], [5, 6, 7, 8]]);
    const view = base.slice(1, 1, 4, 2).T; // [[2, 6], [4, 8]]
    const index = tensor(Int32Array.from([1, 0, 0, 0]), { shape: [2, 2] });
    expect(gather(view, 0, index).toArray()).toEqual([[4, 6], [2, 6]]);
  });
});
