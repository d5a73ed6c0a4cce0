/**
 * pow's special values and its conventions where no derivative exists (issue #10, items 5
 * and 7). C's pow, and so PyTorch, give pow(1, y) = 1 for every y (NaN included) and
 * pow(−1, ±∞) = 1; JavaScript's ** gives NaN for those. At 0⁰ PyTorch's exponent gradient
 * is 0 (pow_backward_exponent selects 0 where x = 0 and e ≥ 0). Where e = 0, dx is 0 whatever
 * the upstream gradient: x⁰ = 1 does not depend on x.
 */
import { describe, expect, test } from "vitest";
import { jvp, pow, tensor, type Tensor } from "../../src/index.js";
import { expectClose } from "../helpers/close.js";

const dtypes = ["float32", "float64"] as const;

describe.each(dtypes)("pow special values (%s)", (dtype) => {
  test("pow(1, e) = 1 for e = ±∞ and NaN, and pow(−1, ±∞) = 1 (C and PyTorch; ** gives NaN)", () => {
    const e = tensor([Infinity, -Infinity, NaN, 0.5, -3], { dtype });
    expect(pow(tensor([1, 1, 1, 1, 1], { dtype }), e).toFlatArray()).toEqual([1, 1, 1, 1, 1]);
    expect(pow(1, e).toFlatArray()).toEqual([1, 1, 1, 1, 1]);
    const y = pow(tensor([-1, -1, -1, -1], { dtype }), tensor([Infinity, -Infinity, 3, 2], { dtype })).toFlatArray();
    expect(y).toEqual([1, 1, -1, 1]);
    expect(pow(-1, tensor([Infinity, -Infinity], { dtype })).toFlatArray()).toEqual([1, 1]);
  });

  test("the other C special values still hold: x⁰ = 1 (NaN too), NaN^e = NaN, (−2)^½ = NaN, 0^−1 = ∞, (−0.5)^∞ = 0, (−2)^∞ = ∞", () => {
    const x = tensor([NaN, NaN, -2, 0, -0.5, -2, 2], { dtype });
    const e = tensor([0, 1, 0.5, -1, Infinity, Infinity, -Infinity], { dtype });
    const y = pow(x, e).toFlatArray();
    expect(y[0]).toBe(1);
    expect(Number.isNaN(y[1]!) && Number.isNaN(y[2]!)).toBe(true);
    expect(y.slice(3)).toEqual([Infinity, 0, Infinity, 0]);
  });
});

describe("pow gradients at the special points (float64)", () => {
  const f64 = (v: number[], requiresGrad = true): Tensor => tensor(v, { dtype: "float64", requiresGrad });

  test("the exponent gradient at 0⁰ is 0, as PyTorch (it was −∞); at 0^e, e > 0, it is 0; at 0^e, e < 0, it is −∞", () => {
    const x = f64([0, 0, 0], false);
    const e = f64([0, 2, -1]);
    pow(x, e).backward(tensor([1, 1, 1], { dtype: "float64" }));
    // 0^−1 = ∞ and log 0 = −∞: g·y·log x = −∞ (PyTorch gives the same).
    expect(e.grad!.toFlatArray()).toEqual([0, 0, -Infinity]);
  });

  test("a number base 0 follows the same convention: d(0^e)/de = 0 for e ≥ 0", () => {
    const e = f64([0, 3]);
    pow(0, e).backward(tensor([1, 1], { dtype: "float64" }));
    expect(e.grad!.toFlatArray()).toEqual([0, 0]);
  });

  test("at x = 1 the exponent gradient is y·log 1 = 0 for e = ±∞ and NaN; at x = −1, e = ∞ it is NaN (log −1)", () => {
    const e = f64([Infinity, -Infinity, NaN, Infinity]);
    pow(f64([1, 1, 1, -1], false), e).backward(tensor([1, 1, 1, 1], { dtype: "float64" }));
    const de = e.grad!.toFlatArray();
    expect(de.slice(0, 3)).toEqual([0, 0, 0]);
    expect(Number.isNaN(de[3]!)).toBe(true);
  });

  test("dx = e·x^(e−1) uses the same special values: at x = 1, e = ∞ it is ∞, at e = −∞ it is −∞", () => {
    const x = f64([1, 1]);
    pow(x, f64([Infinity, -Infinity], false)).backward(tensor([1, 1], { dtype: "float64" }));
    expect(x.grad!.toFlatArray()).toEqual([Infinity, -Infinity]);
  });

  test("jvp in the exponent is y·log x·t: the exponent's rule is linear in g (no mask on g·y = 0)", () => {
    // jvp differentiates the vjp in g at g = 0; a mask [g·y = 0] selected 0 there and gave 0.
    const [, dy] = jvp((x, e) => pow(x, e), [f64([2, 0.5], false), f64([3, -1], false)], [f64([0, 0], false), f64([1, 2], false)]);
    expectClose(dy, f64([8 * Math.log(2), 2 * 2 * Math.log(0.5)], false), { rtol: 1e-15, atol: 0 });
    // Where log x is not finite, a zero upstream still gives de = 0, not 0·NaN.
    const e = f64([2, 3]);
    pow(f64([-3, -0.5], false), e).backward(tensor([0, 0], { dtype: "float64" }));
    expect(e.grad!.toFlatArray()).toEqual([0, 0]);
  });

  test("an infinite or NaN upstream gradient gives 0 where the input does not influence the output", () => {
    // x⁰ = 1 for all x: dx = 0 however large g is (it was ∞·0 = NaN).
    const x = f64([0, 2, -3]);
    pow(x, 0).backward(tensor([Infinity, NaN, -Infinity], { dtype: "float64" }));
    expect(x.grad!.toFlatArray()).toEqual([0, 0, 0]);
    // 0^e = 0 for all e > 0, and 0⁰ has PyTorch's 0: de = 0 (it was ∞·0 = NaN).
    const e = f64([2, 0.5, 0]);
    pow(f64([0, 0, 0], false), e).backward(tensor([Infinity, NaN, -Infinity], { dtype: "float64" }));
    expect(e.grad!.toFlatArray()).toEqual([0, 0, 0]);
  });
});
