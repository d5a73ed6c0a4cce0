/**
 * maximum and minimum at NaN, ties and infinite upstream gradients (issue #10, items 6, 7
 * and 31). PyTorch's rule (tools/autograd/derivatives.yaml, `maximum`):
 *   da = where(a == b, g/2, g) with 0 where a < b,   db = where(a == b, g/2, g) with 0 where a > b,
 * so a NaN on either side sends g to both sides (no comparison holds), and the losing side
 * gets an exact 0 (masked_fill), not g·0, which would be NaN for g = ±∞.
 */
import { afterAll, describe, expect, test } from "vitest";
import {
  clamp, getBackend, max, maximum, min, minimum, setBackend, sqrt, tensor, type Backend, type Tensor,
} from "../../src/index.js";
import { projectBackends } from "../helpers/backend.js";

const initial = getBackend();
afterAll(() => setBackend(initial));
// The project's backend (this file runs once per backend: vitest.config.ts).
const backends: Backend[] = projectBackends();
const ops = [["maximum", maximum], ["minimum", minimum]] as const;

describe.each(backends)("NaN propagation on the %s backend", (backend) => {
  test.each(["float32", "float64"] as const)("maximum([NaN, 1], [1, NaN]) and minimum are [NaN, NaN] (%s), also over 8192 elements", (dtype) => {
    setBackend(backend);
    for (const [name, op] of ops) {
      const y = op(tensor([NaN, 1], { dtype }), tensor([1, NaN], { dtype })).toFlatArray();
      expect(y.every(Number.isNaN), `${name}: ${y}`).toBe(true);
      // Big enough for any size-dependent kernel: NaN first at even positions, second at odd ones.
      const n = 8192;
      const a = Float64Array.from({ length: n }, (_, i) => (i % 2 === 0 ? NaN : i));
      const b = Float64Array.from({ length: n }, (_, i) => (i % 2 === 1 ? NaN : -i));
      const big = op(tensor(a, { dtype }), tensor(b, { dtype })).toFlatArray();
      expect(big.every(Number.isNaN), name).toBe(true);
      // With a number on either side.
      expect(Number.isNaN(op(tensor([NaN], { dtype }), 0).item()), name).toBe(true);
      expect(Number.isNaN(op(0, tensor([NaN], { dtype })).item()), name).toBe(true);
    }
  });
});

describe.each(["float32", "float64"] as const)("gradients (%s)", (dtype) => {
  const leaf = (v: number[]): Tensor => tensor(v, { dtype, requiresGrad: true });

  test("a NaN operand sends the gradient to both sides, as PyTorch (it all went to the non-NaN side)", () => {
    for (const [name, op] of ops) {
      const a = leaf([NaN, 1, NaN]);
      const b = leaf([1, NaN, NaN]);
      op(a, b).backward(tensor([2, 3, 5], { dtype }));
      expect(a.grad!.toFlatArray(), name).toEqual([2, 3, 5]);
      expect(b.grad!.toFlatArray(), name).toEqual([2, 3, 5]);
    }
  });

  test("the winner gets g, the loser exactly 0, a tie g/2 each", () => {
    const a = leaf([3, 1, 2]);
    const b = leaf([1, 3, 2]);
    maximum(a, b).backward(tensor([2, 4, 6], { dtype }));
    expect(a.grad!.toFlatArray()).toEqual([2, 0, 3]);
    expect(b.grad!.toFlatArray()).toEqual([0, 4, 3]);
    const c = leaf([3, 1, 2]);
    const d = leaf([1, 3, 2]);
    minimum(c, d).backward(tensor([2, 4, 6], { dtype }));
    expect(c.grad!.toFlatArray()).toEqual([0, 4, 3]);
    expect(d.grad!.toFlatArray()).toEqual([2, 0, 3]);
  });

  test("d sqrt(maximum(a, b) − 2) / d(loser) is 0 where the winner is 2 (it was ∞·0 = NaN); the winner gets ∞", () => {
    const a = leaf([2, 1]);
    const b = leaf([1, 2]);
    sqrt(maximum(a, b).sub(2)).sum().backward();
    expect(a.grad!.toFlatArray()).toEqual([Infinity, 0]);
    expect(b.grad!.toFlatArray()).toEqual([0, Infinity]);
    const c = leaf([-2, -1]);
    const d = leaf([-1, -2]);
    sqrt(minimum(c, d).neg().sub(2)).sum().backward();
    expect(c.grad!.toFlatArray()).toEqual([-Infinity, 0]);
    expect(d.grad!.toFlatArray()).toEqual([0, -Infinity]);
  });

  test("an infinite or NaN upstream gradient reaches only the sides that win or tie", () => {
    const a = leaf([3, 1, 2]);
    const b = leaf([1, 3, 2]);
    maximum(a, b).backward(tensor([NaN, -Infinity, Infinity], { dtype }));
    const da = a.grad!.toFlatArray();
    expect(Number.isNaN(da[0]!)).toBe(true);
    expect(da.slice(1)).toEqual([0, Infinity]);
    const db = b.grad!.toFlatArray();
    expect(db[0]).toBe(0);
    expect(db.slice(1)).toEqual([-Infinity, Infinity]);
  });

  test("a broadcast operand sums its shares", () => {
    const a = leaf([2]);
    const b = leaf([1, 2, 3]);
    maximum(a, b).backward(tensor([1, 1, 1], { dtype }));
    expect(a.grad!.toFlatArray()).toEqual([1.5]);
    expect(b.grad!.toFlatArray()).toEqual([0, 0.5, 1]);
  });
});

describe("signed zeros (documented in docs/ops.md)", () => {
  test("on a tie between 0 and −0, maximum and minimum return the second argument", () => {
    for (const [name, op] of ops) {
      const y = op(tensor([0, -0], { dtype: "float64" }), tensor([-0, 0], { dtype: "float64" })).toFlatArray();
      expect(Object.is(y[0], -0) && Object.is(y[1], 0), `${name}: ${y}`).toBe(true);
    }
  });

  test("max and min over a lane holding 0 and −0 return the first; clamp(−0, 0, 1) is −0", () => {
    for (const op of [max, min]) {
      expect(Object.is(op(tensor([-0, 0], { dtype: "float64" })).item(), -0), op.name).toBe(true);
      expect(Object.is(op(tensor([0, -0], { dtype: "float64" })).item(), 0), op.name).toBe(true);
    }
    expect(Object.is(clamp(tensor([-0], { dtype: "float64" }), 0, 1).item(), -0)).toBe(true);
  });
});
