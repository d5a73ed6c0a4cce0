/**
 * clipGradNorm and clipGradValue: PyTorch's clipping rule, the total norm against exact
 * rational arithmetic (BigInt) within the bounds derived in src/nn/clip-grad-norm.ts on
 * adversarial magnitudes (where a plain float64 or float32 sum of squares overflows or
 * underflows), bit equality with the plain float64 formula where that one is fine, the
 * non-finite policy and the refusals.
 */
import { describe, expect, test } from "vitest";
import { Generator, Tensor, ValueError, clipGradNorm, clipGradValue, tensor, zeros } from "../../src/index.js";

const U = 2 ** -53;

/** A parameter with the given gradient. */
function withGrad(values: number[] | Float64Array | Float32Array, dtype: "float32" | "float64" = "float64"): Tensor {
  const p = zeros([values.length], { dtype, requiresGrad: true });
  p.grad = tensor(Array.from(values), { dtype });
  return p;
}

/** x = M·2^E with M an integer (|x| as a BigInt mantissa), for finite x ≠ 0. */
function decompose(x: number): [bigint, number] {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(x));
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = hi >>> 20;
  const frac = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  return biased === 0 ? [frac, -1074] : [frac | (1n << 52n), biased - 1075];
}

/** ⌊n^(1/k)⌋ for a BigInt n ≥ 0 (Newton's method from above). */
function iroot(n: bigint, k: number): bigint {
  if (n < 2n) return n;
  const K = BigInt(k);
  let x = 1n << BigInt(Math.ceil(n.toString(2).length / k) + 1);
  for (;;) {
    const y = ((K - 1n) * x + n / x ** (K - 1n)) / K;
    if (y >= x) return x;
    x = y;
  }
}

/** (Σ |xᵢ|^k)^(1/k) exactly, then rounded to a float64 (to within 2⁻⁸⁰ before the rounding). */
function exactNorm(xs: number[], k: number): number {
  const terms = xs.filter((x) => x !== 0).map((x) => {
    const [m, e] = decompose(x);
    return [m ** BigInt(k), k * e] as const;
  });
  if (terms.length === 0) return 0;
  let low = Math.min(...terms.map(([, e]) => e));
  low -= ((low % k) + k) % k; // a multiple of k, so the root's power of two is whole
  let s = 0n;
  for (const [m, e] of terms) s += m << BigInt(e - low);
  const P = 80;
  const r = iroot(s << BigInt(k * P), k); // ≈ S^(1/k)·2^P
  // r·2^(low/k − P), the power of two applied in steps that stay exact.
  // Keep the top 1000 bits (a Number's range), the truncation far below float64's precision.
  const extra = Math.max(0, r.toString(2).length - 1000);
  let v = Number(r >> BigInt(extra));
  let shift = low / k - P + extra;
  while (shift > 0) { const d = Math.min(shift, 1000); v *= 2 ** d; shift -= d; }
  while (shift < 0) { const d = Math.min(-shift, 1000); v /= 2 ** d; shift += d; }
  return v;
}

/** Values with exponents spread over ±`decades` decades and random signs. */
function spread(n: number, decades: number, seed: number): number[] {
  const g = new Generator(seed);
  return Array.from({ length: n }, () => (g.uniform() < 0.5 ? -1 : 1) * (1 + g.uniform()) * 10 ** Math.round((2 * g.uniform() - 1) * decades));
}

describe("clipGradNorm: the total norm", () => {
  const cases: [string, number[], "float32" | "float64"][] = [
    ["float64 over 1e-200…1e200 (Σg² overflows)", spread(2000, 200, 1), "float64"],
    ["float64 near 1e-170 (every g² underflows)", spread(2000, 3, 2).map((v) => v * 1e-170), "float64"],
    ["float32 over 1e-30…1e30 (float32 squares overflow and underflow)", spread(2000, 30, 3).map(Math.fround), "float32"],
    ["float64 of one scale", spread(5000, 1, 4), "float64"],
  ];
  for (const [what, values, dtype] of cases) {
    test(`${what}: within the derived bound of the exact norm, p = 1, 2, 3, 4 and ∞`, () => {
      // Two parameters sharing the values, as the norm is over all elements together.
      const half = values.length / 2;
      const N = values.length;
      const gamma = (k: number) => (k * U) / (1 - k * U);
      const bounds: [number | "inf", number, number][] = [
        [2, exactNorm(values, 2), (N + 1) * U / 2],
        [1, exactNorm(values, 1), gamma(N - 1)],
        [3, exactNorm(values, 3), ((3 + 2) * U + gamma(N - 1) + U * Math.log(N)) / 3 + 3 * U],
        [4, exactNorm(values, 4), ((4 + 2) * U + gamma(N - 1) + U * Math.log(N)) / 4 + 3 * U],
        ["inf", Math.max(...values.map(Math.abs)), 0],
      ];
      for (const [p, exact, bound] of bounds) {
        const ps = [withGrad(values.slice(0, half), dtype), withGrad(values.slice(half), dtype)];
        const norm = clipGradNorm(ps, Infinity, p);
        expect(Number.isFinite(norm), `p = ${p}: ${norm}`).toBe(true);
        // The reference is rounded to float64 too (u/2 more).
        expect(Math.abs(norm - exact) / exact, `p = ${p}: ${norm} vs ${exact}`).toBeLessThanOrEqual(bound + U / 2);
      }
    });
  }

  test("p = 2 is bit for bit the plain float64 sqrt(Σ g²) where that neither overflows nor underflows", () => {
    const a = spread(3001, 5, 7);
    const b = spread(1000, 5, 8);
    let acc = 0;
    for (const xs of [a, b]) {
      let t = 0;
      for (const x of xs) t += x * x; // the sum kernel's order: row-major, float64
      acc += t;
    }
    expect(clipGradNorm([withGrad(a), withGrad(b)], Infinity)).toBe(Math.sqrt(acc));
  });

  test("gradients all 3·2¹⁰⁰⁰ (16 of them): exactly 12·2¹⁰⁰⁰, though Σg² is 1.5e603", () => {
    const big = 3 * 2 ** 1000;
    expect(clipGradNorm(withGrad(new Array(16).fill(big)), Infinity)).toBe(12 * 2 ** 1000);
    const tiny = 3 * 2 ** -1060; // subnormal
    expect(clipGradNorm(withGrad(new Array(16).fill(tiny)), Infinity)).toBe(12 * 2 ** -1060);
  });
});

describe("clipGradNorm: the clipping", () => {
  test("PyTorch's rule: scale by maxNorm/(‖g‖ + 1e-6) when that is below 1", () => {
    const a = withGrad([3, 0]);
    const b = withGrad([0, -4]);
    const idle = zeros([2], { dtype: "float64", requiresGrad: true }); // grad null: skipped
    expect(clipGradNorm([a, idle, b], 1)).toBe(5);
    const c = 1 / (5 + 1e-6);
    expect(a.grad!.toFlatArray()).toEqual([3 * c, 0]);
    expect(b.grad!.toFlatArray()).toEqual([0, -4 * c]);
    expect(idle.grad).toBe(null);
    // Now ‖g‖ = 5/(5 + 1e-6) ≈ 1, and with maxNorm 2, c ≈ 2 > 1: nothing changes (the same tensors).
    // (With maxNorm 1 again, c = 1/(‖g‖ + 1e-6) < 1 would shrink them once more, as in PyTorch.)
    const [ga, gb] = [a.grad, b.grad];
    expect(clipGradNorm([a, b], 2)).toBeCloseTo(5 / (5 + 1e-6), 15);
    expect(a.grad).toBe(ga);
    expect(b.grad).toBe(gb);
  });

  test("∞-norm and 1-norm; the options form; no gradients gives 0", () => {
    const a = withGrad([1, -6, 2]);
    expect(clipGradNorm(a, 3, "inf")).toBe(6);
    expect(a.grad!.toFlatArray()).toEqual([1, -6, 2].map((v) => v * (3 / (6 + 1e-6))));
    const b = withGrad([1, -6, 2]);
    expect(clipGradNorm(b, 3, { normType: 1 })).toBe(9);
    expect(b.grad!.toFlatArray()).toEqual([1, -6, 2].map((v) => v * (3 / (9 + 1e-6))));
    expect(clipGradNorm([zeros([2], { requiresGrad: true })], 1)).toBe(0);
    expect(clipGradNorm([], 1)).toBe(0);
  });

  test("float32 gradients stay float32, scaled by the coefficient rounded to float32", () => {
    const p = withGrad([30, 40], "float32");
    expect(clipGradNorm(p, 5)).toBe(50);
    expect(p.grad!.dtype).toBe("float32");
    const c = Math.fround(5 / (50 + 1e-6));
    expect(p.grad!.toFlatArray()).toEqual([Math.fround(30 * c), Math.fround(40 * c)]);
  });

  test("non-finite gradients as PyTorch with error_if_nonfinite=False (docs/non-finite.md), or refused", () => {
    const a = withGrad([1, NaN]);
    const b = withGrad([2, 3]);
    expect(clipGradNorm([a, b], 1)).toBeNaN();
    expect([...a.grad!.toFlatArray(), ...b.grad!.toFlatArray()].every(Number.isNaN)).toBe(true);

    const c = withGrad([1, Infinity]);
    const d = withGrad([2, -3]);
    expect(clipGradNorm([c, d], 1)).toBe(Infinity);
    expect(c.grad!.toFlatArray()).toEqual([0, NaN]); // c = 1/∞ = 0; ∞·0 = NaN
    expect(d.grad!.toFlatArray()).toEqual([0, -0]);

    const e = withGrad([1, -Infinity]);
    const f = withGrad([2]);
    const [ge, gf] = [e.grad, f.grad];
    expect(() => clipGradNorm([f, e], 1, { errorIfNonfinite: true })).toThrow(ValueError);
    expect(() => clipGradNorm([f, e], 1, { errorIfNonfinite: true })).toThrow(
      /^clipGradNorm: the total norm of order 2 of the gradients is Infinity \(parameters\[1\] has a non-finite gradient element\), so it cannot be clipped/,
    );
    expect(e.grad).toBe(ge);
    expect(f.grad).toBe(gf);
  });

  test("the largest double as the largest |g| (found by the fuzz suite: the scale 2^⌊log₂ m⌋ was 2¹⁰²⁴ = ∞, and halving it never ended)", () => {
    // ‖(MAX, 1)‖₂ rounds to MAX: (MAX/2¹⁰²³)² = (2 − 2⁻⁵²)² → 4 − 2⁻⁵⁰, whose root is 2 − 2⁻⁵².
    const p = withGrad([Number.MAX_VALUE, 1]);
    expect(clipGradNorm(p, Infinity)).toBe(Number.MAX_VALUE);
    expect(clipGradNorm(withGrad([Number.MAX_VALUE]), 1, 1)).toBe(Number.MAX_VALUE);
    expect(clipGradNorm(withGrad([5e-324, -5e-324]), 1, 3)).toBe(5e-324); // 2^(1/3)·2⁻¹⁰⁷⁴, rounded to the nearest subnormal
  });

  test("refusals name clipGradNorm, the argument and the value", () => {
    const p = withGrad([1]);
    const cases: [() => unknown, RegExp][] = [
      [() => clipGradNorm(p, -1), /^clipGradNorm: maxNorm must be a number >= 0 \(Infinity only measures\), got -1$/],
      [() => clipGradNorm(p, NaN), /^clipGradNorm: maxNorm must be a number >= 0/],
      [() => clipGradNorm(p, 1, 0), /^clipGradNorm: normType must be a number > 0 or Infinity \("inf"\), got 0$/],
      [() => clipGradNorm(p, 1, "l2" as "inf"), /^clipGradNorm: normType must be a number > 0 or Infinity \("inf"\), got "l2"$/],
      [() => clipGradNorm(p, 1, { errorIfNonfinite: 1 as unknown as boolean }), /^clipGradNorm: errorIfNonfinite must be true or false, got 1$/],
      [() => clipGradNorm(3 as unknown as Tensor, 1), /^clipGradNorm: parameters must be a Tensor or an iterable of tensors/],
      [() => clipGradNorm([p, 2 as unknown as Tensor], 1), /^clipGradNorm: parameters\[1\] must be a Tensor, got 2$/],
      // The options object is checked as every other (a typo was ignored, and the default norm used).
      [() => clipGradNorm(p, 1, { normtype: 1 } as never), /^clipGradNorm: unknown key "normtype" in options \(allowed: normType, errorIfNonfinite\)$/],
      [() => clipGradNorm(p, 1, { normType: null } as never), /^clipGradNorm: options\.normType is null; leave it out for the default$/],
    ];
    for (const [call, message] of cases) {
      expect(call).toThrow(ValueError);
      expect(call).toThrow(message);
    }
  });
});

describe("clipGradValue", () => {
  test("clamps every element to [−c, c]; NaN stays NaN, ±∞ becomes ±c; null grads skipped", () => {
    const a = withGrad([0.5, -3, 2, NaN, -Infinity, Infinity]);
    const idle = zeros([1], { requiresGrad: true });
    clipGradValue([a, idle], 1);
    expect(a.grad!.toFlatArray()).toEqual([0.5, -1, 1, NaN, -1, 1]);
    expect(idle.grad).toBe(null);
    const b = withGrad([0.5, -3], "float32");
    clipGradValue(b, Infinity);
    expect(b.grad!.toFlatArray()).toEqual([0.5, -3]);
    expect(b.grad!.dtype).toBe("float32");
  });

  test("refusals", () => {
    expect(() => clipGradValue(withGrad([1]), -0.5)).toThrow(/^clipGradValue: clipValue must be a number >= 0, got -0.5$/);
    expect(() => clipGradValue(withGrad([1]), NaN)).toThrow(ValueError);
    expect(() => clipGradValue(null as unknown as Tensor, 1)).toThrow(/^clipGradValue: parameters must be a Tensor or an iterable of tensors/);
  });
});
