/**
 * The claims of `kdgrad gradcheck`'s Hessian-vs-T table (hessianTable in
 * src/cli/gradcheck.ts), checked rather than printed: in every row the Hessian
 * of T²·KL in s is its closed form to the rounding bound, and its distance to
 * logit matching's Hessian is within the derived O(1/T) bound; that distance
 * falls like 1/T and the bound is not vacuous; and the numbers are right,
 * recomputed here from central differences of the fused loss's first-order
 * gradient, which goes through no second-order rule.
 *
 * For distillationLoss the table is right only once the losses get
 * differentiable backward rules (issue 11); until then its Hessian is 0 and the
 * distillationLoss cases fail. The same checks run on a composite of
 * logSoftmax ops, whose rules are differentiable already.
 */
import { describe, expect, test } from "vitest";
import { hessianRowHolds, hessianTable, tableLogits, type HessianRow } from "../../src/cli/gradcheck.js";
import { Tensor, distillationLoss, logSoftmax, noGrad, softmax, tensor } from "../../src/index.js";

const EPS = Number.EPSILON;
const temperatures = [1, 10, 100, 1e3, 1e4, 1e5, 1e6];

/** T²·Σ_rows KL(p_t ‖ p_s)/B from logSoftmax and elementwise ops. */
const composite = (s: Tensor, t: Tensor, T: number): Tensor => {
  const ls = logSoftmax(s.div(T), -1);
  const lt = logSoftmax(t.div(T), -1);
  return lt.exp().mul(lt.sub(ls)).sum().mul((T * T) / s.shape[0]!);
};

const losses: [string, ((s: Tensor, t: Tensor, T: number) => Tensor) | undefined][] = [
  ["distillationLoss", undefined],
  ["a composite of logSoftmax ops", composite],
];

/**
 * The s-block of the Hessian by central differences of distillationLoss's fused gradient,
 * column by column (step h ≈ 1e-5·T, a power of 2, the actual steps (s ± h) − s used), and
 * each entry's error bound (as in test/autograd/hessians.test.ts): truncation
 * 13.7τ²·p_s,i/((1 − τ)³B) with τ = h/T (Cauchy's estimate on |τ| ≤ 1), rounding
 * 64ε(1 + A + X)·T(p_s,i + p_t,i)/(B·h) (the gradient's documented 32ε(1 + A + X) per entry,
 * twice), and the uneven steps, |h₊ − h₋|/2 times the second difference's bound 27.4·p_s,i/(T·B).
 */
function hessianByDifferences(T: number): { H: number[][]; tol: number[][] } {
  const { s, t } = tableLogits();
  const [B, C] = s.shape as [number, number];
  const n = B * C;
  const sv = s.toFlatArray();
  const tv = t.toFlatArray();
  const h = 2 ** Math.round(Math.log2(1e-5 * T));
  const tau = h / T;
  const gradAt = (k: number, step: number): number[] => {
    const x = [...sv];
    x[k] = x[k]! + step;
    const leaf = tensor(x, { dtype: "float64", shape: [B, C], requiresGrad: true });
    distillationLoss(leaf, t, { temperature: T }).backward();
    return leaf.grad!.toFlatArray();
  };
  const ps = noGrad(() => softmax(s.div(T), -1)).toFlatArray();
  const pt = noGrad(() => softmax(t.div(T), -1)).toFlatArray();
  const H: number[][] = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  const tol: number[][] = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let k = 0; k < n; k++) {
    const hp = (sv[k]! + h) - sv[k]!;
    const hm = sv[k]! - (sv[k]! - h);
    const plus = gradAt(k, h);
    const minus = gradAt(k, -h);
    for (let a = 0; a < n; a++) {
      const r = Math.floor(a / C);
      const row = (v: number[]): number[] => v.slice(r * C, (r + 1) * C);
      const spread = (v: number[]): number => Math.max(...v) - Math.min(...v);
      const A = spread(row(sv)) / T;
      const X = spread(row(tv).map((x, i) => x - row(sv)[i]!)) / T;
      H[a]![k] = (plus[a]! - minus[a]!) / (hp + hm);
      tol[a]![k] = (13.7 * tau * tau * ps[a]!) / ((1 - tau) ** 3 * B)
        + (64 * EPS * (1 + A + X) * T * (ps[a]! + pt[a]!)) / (B * h)
        + (Math.abs(hp - hm) / 2) * (27.4 * ps[a]!) / (T * B);
    }
  }
  return { H, tol };
}

describe("kdgrad gradcheck's Hessian-vs-T table", () => {
  for (const [name, loss] of losses) {
    test(`${name}: every row holds — the closed form to rounding, the distance within its derived bound — and the distance falls like 1/T`, () => {
      const rows = hessianTable(temperatures, loss);
      expect(rows.map((r) => r.T)).toEqual(temperatures);
      for (const r of rows) {
        expect(hessianRowHolds(r), JSON.stringify(r)).toBe(true);
        expect(r.errorBound).toBeLessThan(1e-14);
      }
      const at = (T: number): HessianRow => rows.find((r) => r.T === T)!;
      // T·distance levels off (the first-order term dominates from T = 100 on), at 0.0917 for
      // these logits: the largest |s̃ᵢ|(1 − 2/C)/(C·B) of the diagonal, with C = 10 and B = 4.
      for (const T of [100, 1e3, 1e4, 1e5]) expect(Math.abs(T * at(T).distance / (1e6 * at(1e6).distance) - 1)).toBeLessThan(0.02);
      // The bound is not vacuous: at large T the distance is (C − 2)/(C − 1) = 8/9 of it.
      for (const T of [1e3, 1e4, 1e5, 1e6]) {
        expect(at(T).distance / at(T).distanceBound).toBeGreaterThan(0.88);
        expect(at(T).distance / at(T).distanceBound).toBeLessThanOrEqual(1);
      }
    });

    test(`${name}: the table's numbers agree with central differences of the fused first-order gradient`, () => {
      const rows = hessianTable(temperatures, loss);
      const { s, t } = tableLogits();
      const [B, C] = s.shape as [number, number];
      const n = B * C;
      for (const row of rows) {
        const { H, tol } = hessianByDifferences(row.T);
        const ps = noGrad(() => softmax(s.div(row.T), -1)).toFlatArray();
        const pt = noGrad(() => softmax(t.div(row.T), -1)).toFlatArray();
        const maxAbs = Math.max(...s.toFlatArray().map(Math.abs), ...t.toFlatArray().map(Math.abs));
        const rho = 2 * EPS * ((2 * maxAbs) / row.T + C + 4) + (C + 16) * EPS;
        let distance = 0;
        let worstTol = 0;
        for (let a = 0; a < n; a++) {
          for (let b = 0; b < n; b++) {
            const same = Math.floor(a / C) === Math.floor(b / C);
            const m = (k: number): number => ps[k]! + pt[k]!;
            // The closed form the table claims, against the differences (its own rounding included).
            const closed = same ? ((a === b ? ps[a]! : 0) - ps[a]! * ps[b]!) / B : 0;
            const bound = tol[a]![b]! + (same ? (rho * ((a === b ? m(a) : 0) + m(a) * m(b))) / B : 0);
            expect(Math.abs(H[a]![b]! - closed), `T ${row.T} [${a}, ${b}]`).toBeLessThanOrEqual(bound);
            const K = same ? ((a === b ? 1 : 0) - 1 / C) / (C * B) : 0;
            distance = Math.max(distance, Math.abs(H[a]![b]! - K));
            worstTol = Math.max(worstTol, bound);
          }
        }
        // The printed distance is kdgrad's Hessian's; the differences' is within their error of it.
        expect(Math.abs(row.distance - distance), `T ${row.T}`).toBeLessThanOrEqual(worstTol + row.errorBound);
        // And the differences alone keep within the printed bound (the bound is about the function, not the code).
        expect(distance, `T ${row.T}`).toBeLessThanOrEqual(row.distanceBound + worstTol);
      }
    });
  }
});
