/**
 * Second derivatives of the dense and softmax ops: matmul, linear, softmax,
 * logSoftmax. gradgradcheck in float64 on plain and transposed operands
 * (all-ops.test.ts also draws sliced views) and the closed-form Hessians of
 * ⟨g, softmax(x)⟩ and ⟨g, logSoftmax(x)⟩. float64 only, so it runs once
 * (vitest.config.ts); the float32 Hessian-vector products on each backend
 * are in test/kernels/backends.test.ts.
 */
import fc from "fast-check";
import { test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import {
  Generator, Tensor, assertGradgradcheck, hessian, linear, logSoftmax, matmul, noGrad, randn, softmax, tensor,
} from "../../src/index.js";

const f64 = (shape: number[], g: Generator): Tensor => randn(shape, { generator: g, dtype: "float64" }).requiresGrad_();

describe("gradgradcheck (float64)", () => {
  test.each([
    ["vector · vector", [3], [3]],
    ["matrix · vector", [2, 3], [3]],
    ["vector · matrix", [3], [3, 4]],
    ["matrix · matrix", [2, 3], [3, 4]],
    ["batched", [2, 2, 3], [2, 3, 4]],
    ["broadcast batch", [3, 1, 2, 3], [2, 3, 2]],
  ])("matmul, %s", (_, sa, sb) => {
    const g = new Generator(1);
    assertGradgradcheck((a: Tensor, b: Tensor) => matmul(a, b), [f64(sa as number[], g), f64(sb as number[], g)]);
  });

  test("matmul of transposed operands", () => {
    const g = new Generator(2);
    assertGradgradcheck((a: Tensor, b: Tensor) => matmul(a.transpose(0, 1), b.transpose(0, 1)), [f64([3, 2], g), f64([4, 3], g)]);
  });

  test.each([
    ["1-D input", [3], true],
    ["2-D input", [4, 3], true],
    ["3-D input", [2, 2, 3], true],
    ["2-D input, no bias", [4, 3], false],
  ])("linear, %s", (_, shape, biased) => {
    const g = new Generator(3);
    const x = f64(shape as number[], g);
    const w = f64([2, 3], g);
    if (biased) assertGradgradcheck((a: Tensor, b: Tensor, c: Tensor) => linear(a, b, c), [x, w, f64([2], g)]);
    else assertGradgradcheck((a: Tensor, b: Tensor) => linear(a, b), [x, w]);
  });

  test("linear of a transposed input and a transposed weight", () => {
    const g = new Generator(4);
    assertGradgradcheck((a: Tensor, b: Tensor, c: Tensor) => linear(a.transpose(0, 1), b.transpose(0, 1), c), [f64([3, 4], g), f64([3, 2], g), f64([2], g)]);
  });

  for (const [name, op] of [["softmax", softmax], ["logSoftmax", logSoftmax]] as const) {
    test.each([0, 1, 2, -1])(`${name} along axis %i of a [3, 4, 2] tensor`, (axis) => {
      const g = new Generator(5 + axis);
      assertGradgradcheck((x: Tensor) => op(x.mul(2), axis), [f64([3, 4, 2], g)]);
    });
  }
});

describe("closed-form Hessians of a linear functional of the softmax family", () => {
  const rowArb = fc.array(fc.double({ min: -20, max: 20, noNaN: true }), { minLength: 2, maxLength: 6 });

  // f(x) = ⟨g, logSoftmax(x)⟩ = ⟨g, x⟩ − (Σg)·logSumExp(x), so ∇²f = −(Σg)(diag(p) − ppᵀ).
  test.prop([rowArb, fc.nat()])("⟨g, logSoftmax(x)⟩ has Hessian −(Σg)(diag p − ppᵀ)", (v, seed) => {
    const x = tensor(v, { dtype: "float64" });
    const g = randn([v.length], { generator: new Generator(seed), dtype: "float64" });
    const H = hessian((t: Tensor) => logSoftmax(t, 0).mul(g).sum())(x).toArray() as number[][];
    const p = noGrad(() => softmax(x, 0)).toFlatArray();
    const S = g.toFlatArray().reduce((a, b) => a + b, 0);
    for (let i = 0; i < v.length; i++) {
      for (let j = 0; j < v.length; j++) {
        const want = -S * ((i === j ? p[i]! : 0) - p[i]! * p[j]!);
        expect(Math.abs(H[i]![j]! - want), `H[${i}][${j}]`).toBeLessThanOrEqual(1e-14 + 1e-12 * Math.abs(want));
      }
    }
  });

  // f(x) = ⟨g, p⟩ with p = softmax(x), s = ⟨g, p⟩: ∂f/∂xⱼ = pⱼ(gⱼ − s), and
  // ∂²f/∂xⱼ∂xₖ = δⱼₖ pⱼ(gⱼ − s) − pⱼpₖ(gⱼ − s) − pⱼpₖ(gₖ − s), symmetric.
  test.prop([rowArb, fc.nat()])("⟨g, softmax(x)⟩ has Hessian diag(p ⊙ (g − s)) − p(p ⊙ (g − s))ᵀ − (p ⊙ (g − s))pᵀ", (v, seed) => {
    const x = tensor(v, { dtype: "float64" });
    const g = randn([v.length], { generator: new Generator(seed), dtype: "float64" });
    const H = hessian((t: Tensor) => softmax(t, 0).mul(g).sum())(x).toArray() as number[][];
    const p = noGrad(() => softmax(x, 0)).toFlatArray();
    const gs = g.toFlatArray();
    const s = p.reduce((a, pi, i) => a + pi * gs[i]!, 0);
    for (let j = 0; j < v.length; j++) {
      for (let k = 0; k < v.length; k++) {
        const want = (j === k ? p[j]! * (gs[j]! - s) : 0) - p[j]! * p[k]! * (gs[j]! - s) - p[j]! * p[k]! * (gs[k]! - s);
        expect(Math.abs(H[j]![k]! - want), `H[${j}][${k}]`).toBeLessThanOrEqual(1e-14 + 1e-12 * Math.abs(want));
      }
    }
  });
});
