/**
 * The softmax family at large, nearly equal logits (issue #10, item 2).
 *
 * The kernels used to form yᵢ = xᵢ − (m + log s): at |x| ≈ 1e16 the sum m + log s rounds
 * log s away (ulp(1e16) = 2), so logSoftmax([1e16, 1e16]) came out [0, 0]. They now form
 * (xᵢ − m) − log1p(R), R = Σ_{j ≠ k} exp(xⱼ − m) over all but one maximal entry k, and
 * every entry keeps a relative error of at most (n + t* + 5)·u, u = 2⁻⁵³, t* the largest
 * gap m − xⱼ of a term that does not underflow (src/kernels/softmax.ts derives it).
 * logSumExp's value m + log s is its own correctly rounded result, but its gradient
 * exp(x − y) used the rounded y: it now uses the same split.
 */
import fc from "fast-check";
import { test } from "@fast-check/vitest";
import { afterAll, describe, expect } from "vitest";
import {
  Tensor, crossEntropy, getBackend, logSoftmax, logSumExp, nllLoss, setBackend, softmax, tensor,
  type Backend,
} from "../../src/index.js";
import { projectBackends } from "../helpers/backend.js";

const initial = getBackend();
afterAll(() => setBackend(initial));
// The project's backend (this file runs once per backend: vitest.config.ts).
const backends: Backend[] = projectBackends();
const u = 2 ** -53;

/** Relative error of `got` against `want`, entry by entry (both finite). */
function maxRel(got: number[], want: number[]): number {
  let worst = 0;
  got.forEach((g, i) => {
    const w = want[i]!;
    worst = Math.max(worst, Math.abs(g - w) / Math.abs(w));
  });
  return worst;
}

/**
 * Rows of `rows × C` float32 logits that the wasm row kernels take (rows of at least 16,
 * at least 1024 values): every logit is `c` plus an offset that float32 holds exactly.
 */
function bigRows(c: number, rows: number, C: number, offset: (r: number, j: number) => number): Tensor {
  const data = new Float32Array(rows * C);
  for (let r = 0; r < rows; r++) for (let j = 0; j < C; j++) data[r * C + j] = c + offset(r, j);
  return tensor(data, { shape: [rows, C] });
}

describe("float64: equal logits far from 0", () => {
  test("logSoftmax([1e16, 1e16]) is −ln 2 (it was [0, 0]), at 1e15 too (it was −0.75)", () => {
    for (const c of [1e15, 1e16, 1e300, -1e300]) {
      const y = logSoftmax(tensor([c, c], { dtype: "float64" })).toFlatArray();
      expect(y, `c = ${c}`).toEqual([-Math.LN2, -Math.LN2]);
    }
  });

  test("softmax([1e16, 1e16]) is [½, ½]", () => {
    expect(softmax(tensor([1e16, 1e16], { dtype: "float64" })).toFlatArray()).toEqual([0.5, 0.5]);
  });

  test("the top entry keeps its relative accuracy: logSoftmax([c, c − 50])₀ = −log1p(e⁻⁵⁰) ≈ −1.9e-22", () => {
    const c = 2 ** 50; // c − 50 is exact
    const y = logSoftmax(tensor([c, c - 50], { dtype: "float64" })).toFlatArray();
    const top = -Math.log1p(Math.exp(-50));
    expect(Math.abs(y[0]! - top) / -top).toBeLessThan(4 * u);
    expect(Math.abs(y[1]! - (-50 + top)) / 50).toBeLessThan(4 * u);
  });

  // Integer logits in [−30, 30] shifted by c = 2⁵⁰ are exact doubles (ulp(2⁵⁰) = ¼), so
  // logSoftmax(c + x) and logSoftmax(x) are the same numbers. Each computed entry is within
  // (n + t* + 5)·u·|y| of the truth (t* ≤ 60 here), so the two differ by at most twice that.
  test.prop([fc.array(fc.integer({ min: -30, max: 30 }), { minLength: 1, maxLength: 300 })])(
    "logSoftmax(2⁵⁰ + x) = logSoftmax(x) within the derived bound, entry by entry",
    (xs) => {
      const c = 2 ** 50;
      const got = logSoftmax(tensor(xs.map((v) => c + v), { dtype: "float64" })).toFlatArray();
      const want = logSoftmax(tensor(xs, { dtype: "float64" })).toFlatArray();
      const bound = 2 * (xs.length + 60 + 5) * u;
      got.forEach((g, i) => expect(Math.abs(g - want[i]!), `entry ${i}`).toBeLessThanOrEqual(bound * Math.abs(want[i]!)));
    },
  );

  test("logSumExp([1e16, 1e16]) is 1e16 (the nearest double to 1e16 + ln 2) and its gradient is [½, ½] (it was [1, 1])", () => {
    const x = tensor([1e16, 1e16], { dtype: "float64", requiresGrad: true });
    const y = logSumExp(x, 0);
    expect(y.item()).toBe(1e16);
    y.backward();
    expect(x.grad!.toFlatArray()).toEqual([0.5, 0.5]);
  });

  test("logSumExp's gradient sums to g along a lane at 1e15, and matches softmax", () => {
    const c = 2 ** 50;
    const xs = [0, -1, -2, -3, 5, 5].map((v) => c + v);
    const x = tensor([xs, xs], { dtype: "float64", requiresGrad: true });
    logSumExp(x, 1).backward(tensor([1, 3], { dtype: "float64" }));
    const p = softmax(tensor(xs.map((v) => v - c), { dtype: "float64" })).toFlatArray();
    const g = x.grad!.toArray() as number[][];
    expect(maxRel(g[0]!, p)).toBeLessThan(16 * u);
    expect(maxRel(g[1]!, p.map((v) => 3 * v))).toBeLessThan(16 * u);
  });

  test("crossEntropy on [[1e16, 1e16]] (float64) is ln 2", () => {
    const l = crossEntropy(tensor([[1e16, 1e16]], { dtype: "float64" }), tensor([0], { dtype: "int32" }));
    expect(l.item()).toBe(Math.LN2);
  });
});

describe.each(backends)("float32 on the %s backend", (backend) => {
  const f32 = (v: number): number => Math.fround(v);

  test("crossEntropy([[1e12, 1e12]]) is fround(ln 2) (it was 0.69312)", () => {
    setBackend(backend);
    const l = crossEntropy(tensor([[1e12, 1e12]]), tensor([1], { dtype: "int32" }));
    expect(l.dtype).toBe("float32");
    expect(l.item()).toBe(f32(Math.LN2));
  });

  test("logSoftmax, softmax, and nllLoss(logSoftmax) on 64 rows of 32 logits near 1e12 (wasm row kernels)", () => {
    setBackend(backend);
    // Half of each row at c, half 2¹⁶ (one float32 ulp at 2⁴⁰) lower: e^{−65536} = 0, so the
    // top half has logSoftmax −ln 16 and the rest −65536 − ln 16.
    const c = 2 ** 40;
    const x = bigRows(c, 64, 32, (_r, j) => (j % 2 === 0 ? 0 : -65536));
    const y = logSoftmax(x, -1).toFlatArray();
    y.forEach((v, i) => expect(v, `logSoftmax[${i}]`).toBe(f32(i % 2 === 0 ? -Math.log(16) : -65536 - Math.log(16))));
    const p = softmax(x, -1).toFlatArray();
    p.forEach((v, i) => expect(v, `softmax[${i}]`).toBe(i % 2 === 0 ? f32(1 / 16) : 0));
    const labels = tensor(Int32Array.from({ length: 64 }, (_, r) => (2 * r) % 32), { dtype: "int32" });
    const l = nllLoss(logSoftmax(x, -1), labels);
    expect(l.item()).toBe(f32(Math.log(16)));
    const ce = crossEntropy(x, labels);
    expect(ce.item()).toBe(f32(Math.log(16)));
  });

  test("logSoftmax's gradient at 1e12 sums to 0 along each row and is g − p·Σg", () => {
    setBackend(backend);
    const c = 2 ** 40;
    const x = bigRows(c, 64, 32, () => 0).requiresGrad_();
    const g = bigRows(0, 64, 32, (r, j) => ((r + 3 * j) % 7) - 3);
    logSoftmax(x, -1).backward(g);
    const dx = x.grad!.toArray() as number[][];
    const gs = g.toArray() as number[][];
    dx.forEach((row, r) => {
      const sum = gs[r]!.reduce((a, b) => a + b, 0);
      row.forEach((v, j) => expect(Math.abs(v - (gs[r]![j]! - sum / 32)), `dx[${r}][${j}]`).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(sum))));
    });
  });

  test("logSumExp's float32 gradient at 1e4 is softmax to float32 accuracy (exp(x − y) with y rounded was off by 2e-4)", () => {
    setBackend(backend);
    const x = tensor([[1e4, 1e4, 1e4 - 1]], { requiresGrad: true });
    logSumExp(x, 1).backward(tensor([1]));
    const p = softmax(tensor([[0, 0, -1]], { dtype: "float64" }), 1).toFlatArray();
    expect(maxRel(x.grad!.toFlatArray(), p)).toBeLessThan(2 ** -23);
  });
});
