/**
 * The log-ratio form's centre and spread in the KD methods' row kernels (src/kernels/js/dkd.ts
 * behind dkdLoss; softmaxDifference in src/kernels/js/kd-rows.ts behind nkdLoss, wsldLoss and
 * distLoss), at huge logits, against the exact references of test/losses/exact-methods.ts.
 * The same two defects as the fused kernel's and the general rows' (kernels/distillation.ts,
 * kernels/divergences.ts; test/losses/divergences-centre.test.ts):
 *
 * - The form was chosen from the spread of the rounded t − s: a student at 1e20 (doubles 16384
 *   apart there) and a teacher at [0, 3000, 0, 1000] have a rounded spread of 0 and an exact one
 *   of 3000. The log-ratio form then met x = ±1500 at T = 1 (e¹⁵⁰⁰ = ∞): dkdLoss returned a NaN
 *   loss, nkdLoss and wsldLoss NaN student gradients. The spread is now the exact one's
 *   (logRatioReference), and such a row goes the direct way.
 * - The centre ū was rounded into one number, Σ q·(t − s)/Σ q: on a one-class teacher support
 *   with t − s = −1.7e34 (T = 4) that rounding can miss the one finite t − s by an ulp of 1.7e34,
 *   x = ±5.8e17 where it is 0, and a NaN row (dkdLoss's loss, nkdLoss's and wsldLoss's student
 *   gradients; which student logits round so depends on the sums). It is now the pair D + c.
 *
 * - The log-ratio form was taken whatever share Q of the student's mass (over the classes in play)
 *   sat on the teacher's support: a class the teacher masks enters M as ζ = −1, 1 + M = Q·(1 + M̃)
 *   is formed as 1 − (1 − Q) + …, and at Q = e^−2866 it rounded to 0 (s = [0, 0, −2866],
 *   t = [0, −∞, 1.5], target 0, T = 1: NaN). Below Q = ½ the row now goes the direct way, as in
 *   the fused kernel.
 *
 * distLoss runs its rows through the same softmaxDifference, but a NaN difference D sends its
 * correlation to the fallback b = Ỹ_t (kernels/js/dist.ts, "‖D̃‖ ≤ N_a/2" is false for NaN), so
 * these rows gave the right values before as well: its rows here guard the path, they did not
 * fail before.
 *
 * The file runs once per backend (vitest.config.ts); the WebAssembly backend has no kernel for
 * these losses, so its float32 calls reach the same TypeScript kernels.
 *
 * Tolerances (the bounds of test/losses/kd-methods-extremes.test.ts's header, ε = 2⁻⁵²): A is the
 * largest exponential argument that counts (a logit gap over T, at most 745), C the class count,
 * ν = ε·(2A + C + 6). Every row here is in the direct form or has a log-ratio spread of 0 (one
 * class), so float64 gives the loss within ε·(8A + 6C + 40)·(1 + ce_t) relative (ce_t the
 * teacher's cross-entropy at the target, nkdLoss's weight; 0 for the others, whose bound has no
 * such factor) and each gradient entry within (4ν + 64ε) of the sizes of the terms it is formed
 * from, at most 2 + 2k for nkdLoss and wsldLoss (k = T·γ or T·α: σ + [i = y] + k·(q + p)) and
 * 2T·(α + β) for dkdLoss. float32 (the contract): the loss within 1e-6 relative, each gradient
 * entry within 64 float32 ulps of those sizes plus its own rounding.
 */
import { describe, expect, test } from "vitest";
import { distLoss, dkdLoss, nkdLoss, tensor, wsldLoss } from "../../src/index.js";
import { exactDist, exactDkdRow, exactNkdRow, exactWsldRow, type ExactGroups } from "./exact-methods.js";

const EPS = Number.EPSILON;
const U32 = 2 ** -24;
const f = Math.fround;

type Method = "dkd" | "nkd" | "wsld";
interface Row {
  name: string;
  m: Method;
  s: number[];
  t: number[];
  y: number;
  T: number;
}

const HUGE = [1e20, 1e20, 1e20, 1e20];
const rows: Row[] = [
  { name: "student at 1e20, teacher [0, 3000, 0, 1000]: rounded spread 0, exact 3000", m: "dkd", s: HUGE, t: [0, 3000, 0, 1000], y: 0, T: 1 },
  { name: "student at 1e20, teacher [0, 3000, 0, 1000]: rounded spread 0, exact 3000", m: "nkd", s: HUGE, t: [0, 3000, 0, 1000], y: 0, T: 1 },
  { name: "student at 1e20, teacher [0, 3000, 0, 1000]: rounded spread 0, exact 3000", m: "wsld", s: HUGE, t: [0, 3000, 0, 1000], y: 0, T: 1 },
  // The non-target teacher support is class 1 alone, t − s = −1.7e34 there.
  { name: "one-class non-target teacher support at t − s = −1.7e34", m: "dkd", s: [0.5, -3, 1.625], t: [2, -1.7e34, -Infinity], y: 0, T: 4 },
  { name: "one-class non-target teacher support at t − s = −1.7e34", m: "nkd", s: [0.5, -1.5, 1.625], t: [2, -1.7e34, -Infinity], y: 0, T: 4 },
  // wsldLoss's soft term runs over every class: the teacher's support is the target alone.
  { name: "one-class teacher support at t − s = −1.7e34", m: "wsld", s: [-1.5, 1.625], t: [-1.7e34, -Infinity], y: 0, T: 4 },
  // The student's non-target mass almost all on a class the teacher masks (Q = e^−2866 of it on
  // the teacher's support): the log-ratio form's 1 + M = Q·(1 + M̃) rounded to 0.
  { name: "student mass on a teacher-masked class, Q = e^−2866", m: "dkd", s: [0, 0, -2866], t: [0, -Infinity, 1.5], y: 0, T: 1 },
  { name: "student mass on a teacher-masked class, Q = e^−2866", m: "nkd", s: [0, 0, -2866], t: [0, -Infinity, 1.5], y: 0, T: 1 },
  { name: "student mass on a teacher-masked class, Q = e^−2866", m: "wsld", s: [0, -2866], t: [-Infinity, 1.5], y: 1, T: 1 },
];
for (const r of rows) {
  r.s = r.s.map(f);
  r.t = r.t.map(f);
}

const options = (r: Row): Record<string, number> =>
  r.m === "dkd" ? { temperature: r.T, alpha: 1, beta: 8 } : r.m === "nkd" ? { temperature: r.T, gamma: 1.5 } : { temperature: r.T, alpha: 1 };

function exact(r: Row): ExactGroups {
  const n = r.s.map(() => 1);
  if (r.m === "dkd") return exactDkdRow(r.s, r.t, n, r.y, r.T, 1, 8);
  if (r.m === "nkd") return exactNkdRow(r.s, r.t, n, r.y, r.T, 1.5);
  return exactWsldRow(r.s, r.t, n, r.y, r.T, 1);
}

function fused(r: Row, dtype: "float32" | "float64"): { L: number; dS: number[]; dT: number[] } {
  const a = tensor([r.s], { dtype, requiresGrad: true });
  const b = tensor([r.t], { dtype, requiresGrad: true });
  const labels = tensor([r.y], { dtype: "int32" });
  const o = options(r);
  const L = r.m === "dkd" ? dkdLoss(a, b, labels, o) : r.m === "nkd" ? nkdLoss(a, b, labels, o) : wsldLoss(a, b, labels, o);
  L.backward();
  return { L: L.item(), dS: a.grad!.toFlatArray(), dT: b.grad!.toFlatArray() };
}

/** A: the largest exponential argument that counts, over both sides, at T and at 1. */
function argSize(r: Row): number {
  let A = 0;
  for (const x of [r.s, r.t]) {
    const m = Math.max(...x);
    for (const temp of [r.T, 1]) for (const v of x) if (v !== -Infinity && (m - v) / temp <= 745) A = Math.max(A, (m - v) / temp);
  }
  return A;
}

function within(got: number, want: number, tol: number, what: string): void {
  expect(Math.abs(got - want), `${what}: got ${got}, exact ${want}, tolerance ${tol}`).toBeLessThanOrEqual(tol);
}

describe("KD methods: the log-ratio centre and spread at huge logits, against the exact value", () => {
  for (const r of rows) {
    for (const dtype of ["float64", "float32"] as const) {
      test(`${r.m}Loss, ${r.name}, ${dtype}`, () => {
        const want = exact(r);
        const got = fused(r, dtype);
        const C = r.s.length;
        const A = argSize(r);
        const o = options(r);
        const size = r.m === "dkd" ? 2 * r.T * (o.alpha! + o.beta!) : 2 + 2 * r.T * (r.m === "nkd" ? o.gamma! : o.alpha!);
        // nkdLoss's weight w = e^{−ce_t} carries ν·(1 + ce_t).
        const mt = Math.max(...r.t);
        const ceT = r.m === "nkd" ? mt - r.t[r.y]! + Math.log(r.t.reduce((a, v) => a + Math.exp(v - mt), 0)) : 0;
        const nu = EPS * (2 * A + C + 6);
        const lossTol = dtype === "float64" ? EPS * (8 * A + 6 * C + 40) * (1 + ceT) * Math.abs(want.loss) : 1e-6 * Math.abs(want.loss);
        within(got.L, want.loss, lossTol, "loss");
        for (let i = 0; i < C; i++) {
          const gTol = (g: number): number => (dtype === "float64" ? (4 * nu + 64 * EPS) * size : 64 * U32 * size + U32 * Math.abs(g));
          within(got.dS[i]!, want.dS[i]!, gTol(want.dS[i]!), `∂/∂s[${i}]`);
          within(got.dT[i]!, want.dT[i]!, gTol(want.dT[i]!), `∂/∂t[${i}]`);
        }
      });
    }
  }
});

describe("distLoss through the same rows (softmaxDifference), against the exact value", () => {
  // Two rows (distLoss correlates columns over the batch), the second an ordinary one.
  const cases: { name: string; s: number[][]; t: number[][]; T: number }[] = [
    { name: "student at 1e20, teacher [0, 3000, 0, 1000]", s: [HUGE, [0.5, -1, 0, 1]], t: [[0, 3000, 0, 1000], [1, 0, 2, 0]], T: 1 },
    { name: "one-class teacher support at t − s = −1.7e34", s: [[-3, -1, 0.5], [0.5, -1, 0]], t: [[-1.7e34, -Infinity, -Infinity], [1, 0, 2]], T: 4 },
  ];
  for (const c of cases) {
    test(`${c.name}, float64`, () => {
      const s = c.s.map((row) => row.map(f));
      const t = c.t.map((row) => row.map(f));
      const C = s[0]!.length;
      const want = exactDist(s, t, s[0]!.map(() => 1), c.T, 1, 1);
      const a = tensor(s, { dtype: "float64", requiresGrad: true });
      const b = tensor(t, { dtype: "float64", requiresGrad: true });
      const L = distLoss(a, b, { temperature: c.T, beta: 1, gamma: 1 });
      L.backward();
      const dS = a.grad!.toFlatArray();
      const dT = b.grad!.toFlatArray();
      // No accuracy claim here (distLoss's bound is kd-methods-extremes.test.ts's): the
      // tolerance, 1e-9 of the largest entry of the loss's or gradient row's exact value, only
      // tells a NaN or a wrong form from the right one (measured: 5e-16 of it, and 1.3e-16 on
      // the student's 3.6e6-sized entries at 1e20).
      const tol = (x: number[]): number => 1e-9 * Math.max(...x.map(Math.abs));
      within(L.item(), want.loss, 1e-9 * Math.abs(want.loss), "loss");
      for (let r = 0; r < 2; r++) {
        for (let i = 0; i < C; i++) {
          within(dS[r * C + i]!, want.dS[r]![i]!, tol(want.dS[r]!), `∂/∂s[${r}][${i}]`);
          within(dT[r * C + i]!, want.dT[r]![i]!, tol(want.dT[r]!), `∂/∂t[${r}][${i}]`);
        }
      }
    });
  }
});
