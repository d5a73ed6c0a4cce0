/**
 * The TypeScript backend's Adam step has a loop of its own for float32 parameters and moments
 * with no weight decay and no AMSGrad (src/kernels/js/optim.ts, adamF32): it must give the bits
 * of the general rule, written out here as the general loop runs it — float64 arithmetic, each
 * moment rounded once when stored and read back as stored, θ rounded once.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { optim } from "../../src/kernels/js/optim.js";

/** The general rule over float32 storage, step by step as the general loop runs it. */
function reference(theta: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, b1: number, b2: number, eps: number, stepSize: number, bc2Sqrt: number): void {
  for (let i = 0; i < theta.length; i++) {
    const g = grad[i]!;
    m[i] = b1 * m[i]! + (1 - b1) * g;
    v[i] = b2 * v[i]! + (1 - b2) * g * g;
    theta[i] = theta[i]! - (stepSize * m[i]!) / (Math.sqrt(v[i]!) / bc2Sqrt + eps);
  }
}

const f32 = fc.float({ noNaN: true, noDefaultInfinity: true });
/** Values from 1e-30 to 1e30 of either sign, zeros, and float32's extremes: rounding edges. */
const wide = fc.oneof(f32, fc.constantFrom(0, -0, 1e-30, -1e-30, 3.4e38, -3.4e38, 1.4e-45, 1));

describe("Adam's float32 loop", () => {
  test("gives the general rule's bits, over several steps, for any values and hyperparameters", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(wide, wide, wide, fc.float({ min: 0, noNaN: true, noDefaultInfinity: true })), { minLength: 1, maxLength: 40 }),
        fc.array(fc.array(wide, { minLength: 40, maxLength: 40 }), { minLength: 1, maxLength: 3 }),
        fc.double({ min: 0, max: 0.999, noNaN: true }), fc.double({ min: 0, max: 0.9999, noNaN: true }),
        fc.double({ min: 1e-12, max: 1e-3, noNaN: true }), fc.double({ min: 1e-6, max: 1, noNaN: true }), fc.double({ min: 1e-3, max: 1, noNaN: true }),
        (rows, grads, b1, b2, eps, stepSize, bc2Sqrt) => {
          const n = rows.length;
          const [t1, m1, v1] = [0, 1, 2].map((k) => Float32Array.from(rows, (r) => (k === 2 ? Math.abs(r[3]) : r[k]!)));
          const [t2, m2, v2] = [t1!.slice(), m1!.slice(), v1!.slice()];
          for (const gs of grads) {
            const grad = Float32Array.from(gs.slice(0, n));
            optim.adamStep(t1!, grad, m1!, v1!, null, { beta1: b1, beta2: b2, eps, weightDecay: 0, decoupled: false, decay: 1, stepSize, bc2Sqrt });
            reference(t2, grad, m2, v2, b1, b2, eps, stepSize, bc2Sqrt);
          }
          for (const [got, want, name] of [[t1!, t2, "θ"], [m1!, m2, "m"], [v1!, v2, "v"]] as const) {
            const i = got.findIndex((x, j) => !Object.is(x, want[j]));
            expect(i, `${name}[${i}]: ${got[i]} against ${want[i]}`).toBe(-1);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
