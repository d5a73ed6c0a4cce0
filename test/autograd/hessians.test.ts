/**
 * The analytic second-order results of docs/autograd.md and
 * docs/distillation.md ("The second-order view"), checked with kdgrad's
 * own hessian/jacobian on random and on extreme rows.
 */
import { test } from "@fast-check/vitest";
import fc from "fast-check";
import { describe, expect } from "vitest";
import { Tensor, hessian, logSumExp, softmax, noGrad, tensor } from "../../src/index.js";

const row = (maxAbs: number) => fc.array(fc.double({ min: -maxAbs, max: maxAbs, noNaN: true }), { minLength: 2, maxLength: 7 });
const f64 = (v: number[]): Tensor => tensor(v, { dtype: "float64" });
const matrix = (t: Tensor): number[][] => t.toArray() as number[][];

describe("the Hessian of logSumExp is diag(p) − ppᵀ", () => {
  test.prop([row(30)])("equals the covariance matrix of the class one-hot under p", (v) => {
    const x = f64(v);
    const H = matrix(hessian((t: Tensor) => logSumExp(t, 0))(x));
    const p = noGrad(() => softmax(x, 0)).toFlatArray();
    for (let i = 0; i < v.length; i++) {
      for (let j = 0; j < v.length; j++) {
        const want = (i === j ? p[i]! : 0) - p[i]! * p[j]!;
        expect(Math.abs(H[i]![j]! - want)).toBeLessThanOrEqual(1e-15 + 1e-12 * Math.abs(want));
      }
    }
  });

  test.prop([row(1e4), fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 7, maxLength: 7 })])(
    "is positive semidefinite with the all-ones vector in its null space, for logits over ±1e4",
    (v, w) => {
      const H = matrix(hessian((t: Tensor) => logSumExp(t, 0))(f64(v)));
      const n = v.length;
      for (let i = 0; i < n; i++) {
        const rowSum = H[i]!.reduce((a, b) => a + b, 0);
        expect(Math.abs(rowSum)).toBeLessThanOrEqual(1e-15);
      }
      let q = 0;
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) q += w[i]! * H[i]![j]! * w[j]!;
      // vᵀHv = Var_p(v) ≥ 0; rounding of n² products of size ≤ 1 each bounds the negative side.
      expect(q).toBeGreaterThanOrEqual(-4 * n * n * Number.EPSILON);
    },
  );
});
