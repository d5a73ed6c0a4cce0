/**
 * maxNorm: the projection of each row onto the ball of radius c, within the bound derived in
 * src/nn/max-norm.ts (‖row‖ ≤ c·(1 + u_d)(1 + (n + 5)u₆₄)) on adversarial magnitudes (float64
 * rows of 1e200 and 1e-200, where a plain sum of squares overflows or underflows), rows inside
 * the ball untouched bit for bit, strided views, the non-finite policy and the refusals.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { DTypeError, Generator, ShapeError, Tensor, ValueError, maxNorm, randn, tensor, zeros } from "../../src/index.js";

/** ‖row‖₂ exactly enough for the checks: float64 with the largest |x| factored out. */
function norm(row: number[]): number {
  const m = Math.max(...row.map(Math.abs));
  if (m === 0) return 0;
  return m * Math.sqrt(row.reduce((a, x) => a + (x / m) ** 2, 0));
}
const rows = (t: Tensor): number[][] => {
  const [r, c] = t.shape as [number, number];
  const xs = t.toFlatArray();
  return Array.from({ length: r }, (_, i) => xs.slice(i * c, (i + 1) * c));
};

describe("maxNorm", () => {
  test("rows above the radius end on it, within the derived bound; rows inside are untouched bit for bit", () => {
    for (const dtype of ["float32", "float64"] as const) {
      const w = randn([40, 300], { dtype, generator: new Generator(3) });
      const before = rows(w);
      const c = 17; // ‖row‖ of 300 standard normals is about √300 ≈ 17.3: some rows inside, some outside
      const scaled = maxNorm([w], c);
      const after = rows(w);
      const uD = dtype === "float32" ? 2 ** -24 : 2 ** -53;
      const bound = c * (1 + uD) * (1 + 305 * 2 ** -53);
      let outside = 0;
      before.forEach((b, i) => {
        if (norm(b) > c) {
          outside++;
          expect(norm(after[i]!)).toBeLessThanOrEqual(bound);
          expect(norm(after[i]!)).toBeGreaterThanOrEqual(c * (1 - uD) * (1 - 305 * 2 ** -53));
          // The direction is kept: after = before · s for one s ∈ (0, 1).
          const s = after[i]![0]! / b[0]!;
          after[i]!.forEach((x, j) => expect(Math.abs(x - b[j]! * s)).toBeLessThanOrEqual(4 * uD * Math.abs(b[j]!)));
        } else expect(after[i]).toEqual(b);
      });
      expect(outside).toBeGreaterThan(5);
      expect(outside).toBeLessThan(35);
      expect(scaled).toBe(outside);
    }
  });

  test("float64 rows of 1e200 and 1e-200: no overflow or underflow in the norm", () => {
    const big = tensor([[3e200, 4e200]], { dtype: "float64" });
    expect(maxNorm(big, 1)).toBe(1);
    const [a, b] = big.toFlatArray();
    expect(a).toBeCloseTo(0.6, 14);
    expect(b).toBeCloseTo(0.8, 14);
    const tiny = tensor([[3e-200, 4e-200]], { dtype: "float64" });
    expect(maxNorm(tiny, 1e-200)).toBe(1);
    expect(tiny.toFlatArray()[0]! / 1e-200).toBeCloseTo(0.6, 12);
    // A plain Σx² would give 0 here and leave the row, or ∞ above and zero it.
  });

  test("check: a row of norm exactly 2c is halved, one of norm c/2 is not touched", () => {
    const w = tensor([[6, 8], [1.5, 2]], { dtype: "float64" }); // norms 10 and 2.5
    expect(maxNorm(w, 5)).toBe(1);
    expect(w.toFlatArray()).toEqual([3, 4, 1.5, 2]);
  });

  test("a strided view (a transposed weight) is projected through its strides", () => {
    const base = tensor([[6, 1.5], [8, 2]], { dtype: "float64" });
    const view = base.transpose(0, 1); // rows [6, 8] and [1.5, 2]
    expect(maxNorm(view, 5)).toBe(1);
    expect(base.toFlatArray()).toEqual([3, 1.5, 4, 2]);
  });

  test("non-finite rows: NaN rows are left as they are; an infinite row becomes 0 and NaN (scale c/∞ = 0)", () => {
    const w = tensor([[NaN, 100], [Infinity, 100]], { dtype: "float64" });
    expect(maxNorm(w, 1)).toBe(1);
    const xs = w.toFlatArray();
    expect(xs[0]).toBeNaN();
    expect(xs[1]).toBe(100);
    expect(xs[2]).toBeNaN();
    expect(xs[3]).toBe(0);
  });

  test("rows whose max answers (m·√n ≤ c) are skipped, with the bits and the count of summing every row", () => {
    /** The projection as written before the shortcut: every finite, non-zero row summed. */
    function reference(d: Float32Array | Float64Array, cols: number, c: number): number {
      let scaled = 0;
      for (let base = 0; base < d.length; base += cols) {
        let m = 0;
        let nan = false;
        for (let j = 0; j < cols; j++) {
          const a = Math.abs(d[base + j]!);
          if (a !== a) nan = true;
          else if (a > m) m = a;
        }
        if (nan || m === 0) continue;
        let acc = 0;
        for (let j = 0; j < cols; j++) acc += (d[base + j]! / m) ** 2;
        const nrm = m === Infinity ? Infinity : m * Math.sqrt(acc);
        if (!(nrm > c)) continue;
        for (let j = 0; j < cols; j++) d[base + j] = d[base + j]! * (c / nrm);
        scaled++;
      }
      return scaled;
    }
    // Rows at the shortcut's edge: all entries ±m (the norm is then m·√n, the bound itself), a
    // single large entry among small ones, and noise; c drawn around m·√n of the first row.
    const row = fc.record({ kind: fc.constantFrom("equal", "spike", "noise"), m: fc.double({ min: 1e-3, max: 1e3, noNaN: true }), seed: fc.nat() });
    fc.assert(
      fc.property(fc.array(row, { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 1300 }), fc.constantFrom("float32", "float64"), fc.double({ min: 0.5, max: 2, noNaN: true }), fc.boolean(),
        (specs, cols, dtype, f, exact) => {
          const data = new (dtype === "float32" ? Float32Array : Float64Array)(specs.length * cols);
          specs.forEach(({ kind, m, seed }, r) => {
            let s = seed;
            const u = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
            for (let j = 0; j < cols; j++) {
              const sign = u() < 0.5 ? -1 : 1;
              data[r * cols + j] = sign * (kind === "equal" ? m : kind === "spike" ? (j === 0 ? m : m * u() * 0.01) : m * u());
            }
          });
          const m0 = Math.max(...Array.from(data.subarray(0, cols), Math.abs));
          // exact: c is the shortcut's own bound for row 0 (its norm equals it when all entries are equal).
          const c = exact ? m0 * Math.sqrt(cols) : m0 * Math.sqrt(cols) * f;
          const want = data.slice();
          const wantCount = reference(want, cols, c);
          const w = new Tensor(data, [specs.length, cols]);
          expect(maxNorm(w, c)).toBe(wantCount);
          const differ = data.findIndex((x, i) => !Object.is(x, want[i]));
          expect(differ, `entry ${differ}: ${data[differ]} against ${want[differ]}`).toBe(-1);
        }),
      { numRuns: 300 },
    );
  });

  test("several tensors, an iterable, Infinity constrains nothing", () => {
    const a = tensor([[3, 4]], { dtype: "float32" });
    const b = tensor([[0, 0], [0, 7]], { dtype: "float32" });
    expect(maxNorm(new Set([a, b]), 1)).toBe(2);
    expect(b.toFlatArray()).toEqual([0, 0, 0, 1]);
    expect(maxNorm(a, Infinity)).toBe(0);
  });

  test("refusals name maxNorm and the argument", () => {
    const w = zeros([2, 2]);
    expect(() => maxNorm(w, 0)).toThrow(ValueError);
    expect(() => maxNorm(w, NaN)).toThrow(/^maxNorm: maxNorm must be a number > 0/);
    expect(() => maxNorm(w, "1" as never)).toThrow(/maxNorm: maxNorm must be a number > 0.*got "1"/);
    expect(() => maxNorm(zeros([3]), 1)).toThrow(ShapeError);
    expect(() => maxNorm([w, zeros([3])], 1)).toThrow(/^maxNorm: weights\[1\] must be a matrix \[outFeatures, inFeatures\].*got shape \[3\]$/);
    expect(() => maxNorm(zeros([2, 2], { dtype: "int32" }), 1)).toThrow(DTypeError);
    expect(() => maxNorm(3 as never, 1)).toThrow(/^maxNorm: parameters must be a Tensor or an iterable/);
  });
});
