/**
 * distillationLoss over the whole accepted temperature range, [1e-6, 1e6], against
 * the exact reference of test/losses/exact.ts (BigInt fixed point, 320 bits), in
 * float64 and float32, on both backends, with and without a teacher gradient
 * (which selects different kernels: docs/distillation.md, "What the fused kernel
 * does"). Also: the limits at both ends, gradient rows summing to 0, the two
 * backends agreeing, the clamp of a rounded negative KL, large equal logits in the
 * hard-label term, softTargets and logitMatchingLoss at the edges.
 *
 * Every tolerance is a bound derived in docs/distillation.md:
 * - float64, log-ratio rows (finite, spread X of (t − s)/T ≤ SPREAD_64): the loss within
 *   ε·[2(2 + A) + 3(κ + R₂X) + (16 + C)(R₁ + 2R₂)] relative (A the largest student gap
 *   |s − max s|/T with q > 0, κ = X²/(X − 1 + e^{−X}), R₁ = Γ/((1 + M)KL), R₂ = E_p[x]/KL:
 *   the first-order bound of docs/distillation.md, "Precision"); each gradient entry, a
 *   product of at most five factors each carrying ε·(2 + A + X) or less, within
 *   32ε·(1 + A + X) of the terms it is made of;
 * - float64, direct rows (small T, or a spread over SPREAD_64): the KL is Σ p_t·d with
 *   d = Δz/T − (c_t − c_s) formed in log space, an absolute error of 8ε per unit of
 *   |z_t| + |z_s| + c_t + c_s (+ KL) in each term;
 * - float32: the documented contract, 1e-6 relative for the loss, and for each gradient
 *   entry 1e-6 of its row's largest plus 32 float32 ulps of itself.
 */
import { afterAll, describe, expect, test } from "vitest";
import {
  Tensor, distillationLoss, getBackend, logitMatchingLoss, setBackend, softTargets, softmax, tensor, wasmAvailable, type Backend,
} from "../../src/index.js";
import { SPREAD_64 } from "../../src/kernels/distillation.js";
import { exactRow, fix, toNumber } from "./exact.js";

const initial = getBackend();
afterAll(() => setBackend(initial));
const backends: Backend[] = wasmAvailable() ? ["js", "wasm"] : ["js"];
const EPS = Number.EPSILON;
const U32 = 2 ** -24;

/** Rows of one class count; −∞ marks a teacher-masked class. */
const rows: { name: string; s: number[]; t: number[]; y: number }[] = [
  { name: "agreeing argmax", s: [0.3, -1.2, 2.5, 0.7, 1.1, -0.4, 0.2], t: [-0.5, 0.9, 1.7, -1.3, 0.2, 0.3, 0.1], y: 2 },
  { name: "masked teacher classes", s: [0.3, -1.2, 2.5, 0.7, 1.1, -0.4, 0.2], t: [-0.5, -Infinity, 1.7, -1.3, 0.2, 0.3, -Infinity], y: 4 },
  { name: "different argmax", s: [1, 3, 2, 0, -1, 0.5, 1.5], t: [0, 1, 4, 2, -2, 0.5, 3.5], y: 1 },
  { name: "logits at ±1e3", s: [1000, -500, 250, 0, 999.5, -1000, 3], t: [-300, 900, 10, 0, 250, 1000, -999], y: 0 },
];
const temperatures = [1e-6, 3.3e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.1, 0.37, 1, 2.5, 4, 10, 100, 1e3, 1e4, 1e5, 3.3e5, 1e6];

interface Run {
  loss: number;
  dS: number[];
  dT: number[] | null;
}

function run(
  backend: Backend, dtype: "float32" | "float64", s: number[][], t: number[][], T: number, labels: number[] | null, wantT: boolean, alpha = 0.6,
): Run {
  setBackend(backend);
  const x = tensor(s, { dtype, requiresGrad: true });
  const y = tensor(t, { dtype, requiresGrad: wantT });
  const options = labels ? { labels: tensor(labels, { dtype: "int32" }), temperature: T, alpha } : { temperature: T };
  const l = distillationLoss(x, y, options);
  expect(l.dtype).toBe(dtype);
  l.backward();
  return { loss: l.item(), dS: x.grad!.toFlatArray(), dT: wantT ? y.grad!.toFlatArray() : null };
}

/**
 * The sizes that the bounds scale, for one row, in float64 (they are factors of a
 * tolerance, not results: float64 accuracy is ample). A: the largest student gap
 * |a| = (max s − s)/T with q > 0; X: the spread of (t − s)/T; logRatio: which form the
 * float64 kernel uses; `termsS`, `termsT`: for each gradient entry the sum of the sizes
 * of the terms it is formed from (dS, log-ratio: α·T·q·(|M| + |m|)/(1 + M); direct: α·T·(q + p);
 * plus (1 − α)·(softmax + [i = y]); dT, both forms: α·T·p·(|y| + E_p|y|), y = ((t − s) − (t_J − s_J))/T,
 * J = argmax t: src/kernels/distillation.ts forms dᵢ − KL as yᵢ − E_p[y]);
 * `size`: Σ p·(|z_t| + |z_s| + c_t + c_s), the direct form's log-space magnitudes; qm = Σ q·|m|.
 */
function rowStats(s: number[], t: number[], T: number, alpha = 1, y = -1) {
  const ms = Math.max(...s);
  const mt = Math.max(...t);
  const a = s.map((v) => (v - ms) / T);
  const A = Math.max(...a.filter((v) => Math.exp(v) > 0).map(Math.abs));
  const uAll = t.map((v, i) => v - s[i]!);
  const u = uAll.filter(Number.isFinite);
  const X = (Math.max(...u) - Math.min(...u)) / T;
  const zt = t.map((v) => (v - mt) / T);
  const lse = (z: number[]): number => Math.log(z.reduce((acc, v) => acc + Math.exp(v), 0));
  const [ct, cs] = [lse(zt), lse(a)];
  const pt = zt.map((v) => Math.exp(v - ct));
  const q = a.map((v) => Math.exp(v - cs));
  const size = pt.reduce((acc, p, i) => (p > 0 ? acc + p * (Math.abs(zt[i]!) + Math.abs(a[i]!) + ct + cs) : acc), 0);
  const kl = pt.reduce((acc, p, i) => (p > 0 ? acc + p * (zt[i]! - ct - a[i]! + cs) : acc), 0);
  const ubar = uAll.reduce((acc, v, i) => (Number.isFinite(v) ? acc + q[i]! * v : acc), 0) / uAll.reduce((acc, v, i) => (Number.isFinite(v) ? acc + q[i]! : acc), 0);
  const x = uAll.map((v) => (Number.isFinite(v) ? (v - ubar) / T : -Infinity));
  const m = x.map((v) => Math.expm1(v));
  const M = q.reduce((acc, qi, i) => (qi === 0 ? acc : acc + qi * m[i]!), 0);
  const mu = pt.reduce((acc, p, i) => (p > 0 ? acc + p * x[i]! : acc), 0);
  const logRatio = X <= SPREAD_64;
  const e1 = s.map((v) => Math.exp(v - ms));
  const z1 = e1.reduce((acc, v) => acc + v, 0);
  const hard = (i: number): number => (y >= 0 ? (1 - alpha) * (e1[i]! / z1 + (i === y ? 1 : 0)) : 0);
  const termsS = q.map((qi, i) => alpha * T * (logRatio ? (qi === 0 ? 0 : (qi * (Math.abs(M) + Math.abs(m[i]!))) / (1 + M)) : qi + pt[i]!) + hard(i));
  const J = t.indexOf(mt);
  // (exactly: the difference of the two gaps cancels where student and teacher agree on it.)
  const yT = t.map((v, i) => (pt[i]! > 0 ? toNumber(fix(v) - fix(mt) - fix(s[i]!) + fix(s[J]!)) / T : 0));
  const Epy = pt.reduce((acc, p, i) => acc + p * Math.abs(yT[i]!), 0);
  const termsT = pt.map((p, i) => (p > 0 ? alpha * T * p * (Math.abs(yT[i]!) + Epy) : 0));
  const qm = q.reduce((acc, qi, i) => (qi === 0 ? acc : acc + qi * Math.abs(m[i]!)), 0);
  // (log-ratio) x = ((t − s) − ū)/T carries an absolute 4ε·(|t − s| + |ū|)/T besides its relative
  // error, at most: the roundings of the centre's pair D + ū′ and of (t − s) − D. (y, from the
  // two-sum pieces too, is relative to itself: dT needs no such term.)
  const xAbs = uAll.map((v) => (Number.isFinite(v) ? (4 * EPS * (Math.abs(v) + Math.abs(ubar))) / T : 0));
  const absS = q.map((qi, i) => (logRatio && qi > 0 ? (alpha * T * qi * xAbs[i]!) / (1 + M) : 0));
  const absT = pt.map(() => 0);
  // The factors of the log-ratio form's bound (docs/distillation.md, "Precision"): R₁ = Γ/((1 + M)·KL),
  // R₂ = E_p[x]/KL, κ = X²/(X − 1 + e^{−X}) (Var_p(x) ≤ κ·KL).
  const Gam = q.reduce((acc, qi, i) => (qi === 0 ? acc : acc + qi * (Number.isFinite(x[i]!) ? 1 + (x[i]! - 1) * Math.exp(x[i]!) : 1)), 0);
  const R1 = kl > 0 ? Gam / (1 + M) / kl : 1;
  const R2 = kl > 0 ? mu / kl : 2;
  const kappa = X < 1e-3 ? 2 : (X * X) / (X - 1 + Math.exp(-X));
  return { A, X, logRatio, size, termsS, termsT, qm, absS, absT, R1, R2, kappa, C: s.length };
}

/** The float64 bound on the loss and on each gradient entry (see the header). */
function f64Tolerance(s: number[], t: number[], T: number, alpha: number, y: number, loss: number) {
  const st = rowStats(s, t, T, alpha, y);
  const rel = 32 * EPS * (1 + st.A + st.X);
  // Log-ratio form: ε·[2(2 + A) + 3(κ + R₂·X) + (16 + C)(R₁ + 2R₂)] relative for the soft term, a few ε
  // for the hard one; direct form: 8ε per unit of the log-space magnitudes.
  const logRatioRel = EPS * (2 * (2 + st.A) + 3 * (st.kappa + st.R2 * st.X) + (16 + st.C) * (st.R1 + 2 * st.R2)) + 8 * EPS;
  const lossTol = st.logRatio ? logRatioRel * Math.abs(loss) : 8 * EPS * (alpha * T * T * st.size + Math.abs(loss)) + rel * Math.abs(loss);
  // (2⁻¹⁰⁶⁰: entries that underflow into subnormal numbers, whose spacing is 2⁻¹⁰⁷⁴.)
  const floor = 2 ** -1060;
  return {
    loss: lossTol + floor,
    dS: st.termsS.map((v, i) => rel * v + st.absS[i]! + floor),
    dT: st.termsT.map((v, i) => rel * v + st.absT[i]! + floor),
  };
}

function expectWithin(got: number, want: number, tol: number, what: string): void {
  expect(Math.abs(got - want), `${what}: got ${got}, exact ${want}, tolerance ${tol}`).toBeLessThanOrEqual(tol);
}

describe("every accepted temperature, against the exact reference", () => {
  for (const row of rows) {
    for (const labelled of [false, true]) {
      test(`${row.name}${labelled ? ", with labels (α = 0.6)" : ""}`, () => {
        const alpha = labelled ? 0.6 : 1;
        for (const T of temperatures) {
          const ex = exactRow(row.s, row.t, row.s.map(() => 1), T, alpha, labelled ? row.y : -1);
          const labels = labelled ? [row.y] : null;
          // float64: the TypeScript kernel whatever the backend.
          const tol = f64Tolerance(row.s, row.t, T, alpha, labelled ? row.y : -1, ex.loss);
          for (const wantT of [false, true]) {
            const got = run("js", "float64", [row.s], [row.t], T, labels, wantT);
            expectWithin(got.loss, ex.loss, tol.loss, `float64 T=${T} loss`);
            got.dS.forEach((g, i) => expectWithin(g, ex.dS[i]!, tol.dS[i]!, `float64 T=${T} dS[${i}]`));
            got.dT?.forEach((g, i) => expectWithin(g, ex.dT[i]!, tol.dT[i]!, `float64 T=${T} dT[${i}]`));
          }
          // float32: the float32 kernels (teacher without gradient) and the float64-accumulating
          // ones (teacher with gradient), both backends, on the float32 values of the row. Each
          // gradient entry: 64 float32 ulps of the terms it is made of, and its own rounding.
          const s32 = row.s.map(Math.fround);
          const t32 = row.t.map(Math.fround);
          const ex32 = exactRow(s32, t32, s32.map(() => 1), T, alpha, labelled ? row.y : -1);
          const st32 = rowStats(s32, t32, T, alpha, labelled ? row.y : -1);
          for (const backend of backends) {
            for (const wantT of [false, true]) {
              const got = run(backend, "float32", [s32], [t32], T, labels, wantT);
              const what = `float32 ${backend}${wantT ? " (teacher gradient)" : ""} T=${T}`;
              expectWithin(got.loss, ex32.loss, 1e-6 * Math.abs(ex32.loss) + 2 ** -149, `${what} loss`);
              got.dS.forEach((g, i) => expectWithin(g, ex32.dS[i]!, 64 * U32 * st32.termsS[i]! + U32 * Math.abs(ex32.dS[i]!) + 2 ** -149, `${what} dS[${i}]`));
              got.dT?.forEach((g, i) => expectWithin(g, ex32.dT[i]!, 64 * U32 * st32.termsT[i]! + U32 * Math.abs(ex32.dT[i]!) + 2 ** -149, `${what} dT[${i}]`));
            }
          }
        }
      });
    }
  }
});

describe("the limits at both ends of the range", () => {
  const s = [[0.3, -1.2, 2.5, 0.7, 1.1, -0.4, 0.2]];
  const t = [[-0.5, 0.9, 1.7, -1.3, 0.2, 0.3, 0.1]];
  test("T = 1e6: T²·KL is logitMatchingLoss within the relative bound e^{2R/T} − 1 (docs/distillation.md (b)), in both dtypes and on both backends", () => {
    const limit = logitMatchingLoss(tensor(s, { dtype: "float64" }), tensor(t, { dtype: "float64" })).item();
    const centred = (v: number[]): number[] => v.map((x) => x - v.reduce((a, b) => a + b, 0) / v.length);
    const R = Math.max(...centred(s[0]!).map(Math.abs), ...centred(t[0]!).map(Math.abs));
    for (const backend of backends) {
      for (const dtype of ["float64", "float32"] as const) {
        const got = run(backend, dtype, s, t, 1e6, null, false).loss;
        const rounding = dtype === "float32" ? 1e-6 : 1e-13;
        expect(Math.abs(got - limit)).toBeLessThanOrEqual((Math.expm1((2 * R) / 1e6) + rounding) * limit);
      }
    }
  });

  test("T = 1e-6: with different argmaxes j (teacher) and k (student), T²·KL = T·(s_k − s_j) to rounding, and the student gradient is T·(e_k − e_j)", () => {
    const a = [[1, 3, 2, 0]];
    const b = [[0, 1, 4, 2]];
    for (const backend of backends) {
      for (const dtype of ["float64", "float32"] as const) {
        const got = run(backend, dtype, a, b, 1e-6, null, true);
        const rel = dtype === "float32" ? 1e-6 : 1e-13;
        expect(Math.abs(got.loss - 1e-6)).toBeLessThanOrEqual(rel * 1e-6);
        // The other terms are e^{−1/T} = e^{−1e6}: exactly 0 in any float.
        expect(got.dS).toEqual([0, 1e-6, -1e-6, 0].map((v) => (dtype === "float32" ? Math.fround(v) : v)));
      }
    }
  });
});

describe("gradient rows sum to 0, and the backends agree, at every accepted temperature", () => {
  const s = [[0.3, -1.2, 2.5, 0.7, 1.1, -0.4, 0.2], [40, -30, 25, 0, 1, 2, 3]];
  const t = [[-0.5, 0.9, 1.7, -1.3, 0.2, 0.3, 0.1], [-40, 30, 20, 1, 1, 1, -1]];
  test.each(temperatures)("T = %s", (T) => {
    const labels = [2, 0];
    const runs = new Map<string, Run>();
    for (const backend of backends) {
      for (const dtype of ["float64", "float32"] as const) {
        for (const wantT of [false, true]) {
          const r = run(backend, dtype, s, t, T, labels, wantT);
          runs.set(`${backend} ${dtype} ${wantT}`, r);
          const u = dtype === "float32" ? U32 : EPS;
          for (let row = 0; row < 2; row++) {
            const gS = r.dS.slice(7 * row, 7 * row + 7);
            // Each entry is stored rounded (a relative u) after a float64 computation whose row
            // sum is 0 to 16·C·ε of the terms it is made of, at most 2(αT + 1 − α)/B in total.
            // The float32 kernels (float32, no teacher gradient) form each entry in float32 (a few
            // u of itself) and M = Σ q·m with float32 partial sums (16u·Σ q|m|), and
            // Σ dS = α·T·(M − Σ q·m)/(B(1 + M)) + (1 − α)(Σ softmax − 1)/B, softmax as q^T or by
            // table exponentials (16u·(T + 2)).
            let boundS = u * gS.reduce((a, g) => a + Math.abs(g), 0) + (16 * 7 * EPS * 2 * (0.6 * T + 0.4)) / 2;
            if (dtype === "float32" && !wantT) {
              const st = rowStats(s[row]!.map(Math.fround), t[row]!.map(Math.fround), T);
              boundS += 4 * u * gS.reduce((a, g) => a + Math.abs(g), 0) + (0.6 * T * 16 * u * st.qm + 0.4 * 16 * u * (T + 2)) / 2;
            }
            expect(Math.abs(gS.reduce((a, g) => a + g, 0)), `dS row ${row}`).toBeLessThanOrEqual(boundS);
            if (r.dT) {
              const gT = r.dT.slice(7 * row, 7 * row + 7);
              // dT_i = α·T·p_i·(dᵢ − KL)/B: the same, with terms of size α·T·p_i·|dᵢ − KL|/B ≤ Σ|dT|
              // plus the rounding of each dᵢ (8ε per unit of the log-space numbers, ≤ 8ε·size).
              const size = rowStats(s[row]!, t[row]!, T).size;
              const boundT = u * gT.reduce((a, g) => a + Math.abs(g), 0) + (16 * 7 * EPS * 0.6 * T * (size + 1)) / 2;
              expect(Math.abs(gT.reduce((a, g) => a + g, 0)), `dT row ${row}`).toBeLessThanOrEqual(boundT);
            }
          }
        }
      }
    }
    if (backends.length === 2) {
      // Both backends are within their bounds of the exact value (the sweep above), so within
      // the sum of the two of each other: 2·1e-6 relative in float32, float64 identical.
      for (const dtype of ["float64", "float32"] as const) {
        for (const wantT of [false, true]) {
          const [a, b] = [runs.get(`js ${dtype} ${wantT}`)!, runs.get(`wasm ${dtype} ${wantT}`)!];
          const rel = dtype === "float32" ? 2e-6 : 0;
          expect(Math.abs(a.loss - b.loss)).toBeLessThanOrEqual(rel * Math.abs(a.loss) + (dtype === "float32" ? 2 ** -149 : 0));
          const scale = Math.max(...a.dS.map(Math.abs));
          a.dS.forEach((g, i) => expect(Math.abs(g - b.dS[i]!)).toBeLessThanOrEqual(rel * scale + 64 * U32 * Math.abs(g) * (dtype === "float32" ? 1 : 0)));
        }
      }
    }
  });
});

describe("the KL's clamp at 0", () => {
  // Rows where the direct form's rounded KL is negative (found by search; s − t is constant
  // up to 1e-14 noise, and a massless class puts the spread far over SPREAD_64·T).
  const cases = [
    {
      s: [-10000, 0.36127281188964844, -0.47573280334472656, -1.0374698638916016, -3.0324344635009766, -3.936700701713562],
      t: [-20000, 1.1824099235236676, 0.34540430828928725, -0.2163327522575829, -2.2112973518669614, -3.1155635900795486],
      T: 3.1923023462295532,
    },
    {
      s: [-10000, -1.594201922416687, 3.00490140914917, 2.7181148529052734, 1.8419246673583984, -1.4284305572509766, -0.35027503967285156],
      t: [-20000, 0.6283622980117783, 5.227465629577639, 4.9406790733337385, 4.064488887786864, 0.7941336631774948, 1.872289180755614],
      T: 0.907766580581665,
    },
  ];
  test("the loss is 0, never negative, and the teacher gradient (from the unclamped KL) still sums to 0 in each row", () => {
    for (const { s, t, T } of cases) {
      const x = tensor([s], { dtype: "float64", requiresGrad: true });
      const y = tensor([t], { dtype: "float64", requiresGrad: true });
      const l = distillationLoss(x, y, { temperature: T });
      expect(l.item()).toBe(0);
      l.backward();
      // dT_i = T·p_i·(dᵢ − KL_raw): the terms are of size T·p_i·|dᵢ − KL_raw| ≲ 1e-14, so the row
      // sum is within 16·C·ε of that. With the clamped KL = 0 it would be T·KL_raw ≈ −1e-16.
      const g = y.grad!.toFlatArray();
      const size = g.reduce((a, v) => a + Math.abs(v), 0);
      expect(Math.abs(g.reduce((a, v) => a + v, 0))).toBeLessThanOrEqual(16 * s.length * EPS * size);
    }
  });
});

describe("large equal logits in the hard-label term: (m − s_y) + log S, not (m + log S) − s_y", () => {
  for (const [dtype, v] of [["float64", 1e16], ["float32", 1e12]] as const) {
    test(`${dtype} [${v}, ${v}]: the cross-entropy is log 2`, () => {
      const s = [[v, v]];
      for (const backend of backends) {
        for (const alpha of [0, 0.5]) {
          for (const wantT of [false, true]) {
            // The student equals the teacher, so the soft term is 0 and the loss is (1 − α)·log 2.
            const got = run(backend, dtype, s, s, 4, [1], wantT, alpha);
            const want = (1 - alpha) * Math.LN2;
            expect(Math.abs(got.loss - want), `${backend} α=${alpha} ${wantT}`).toBeLessThanOrEqual((dtype === "float32" ? 4 * U32 : 4 * EPS) * want);
          }
        }
      }
    });
  }
});

describe("softTargets and logitMatchingLoss at the edges", () => {
  test("softTargets at T = 1e-6 is the one-hot argmax (ties shared), even for float32 logits whose x/T would overflow", () => {
    for (const backend of backends) {
      setBackend(backend);
      const x = tensor([[3e33, -1e33, 2.9e33, 1], [5, 5, -1, 0]]);
      expect(softTargets(x, 1e-6).toArray()).toEqual([[1, 0, 0, 0], [0.5, 0.5, 0, 0]]);
      const x64 = tensor([[1e300, -1e300, 0.5e300]], { dtype: "float64" });
      expect(softTargets(x64, 1e-6).toFlatArray()).toEqual([1, 0, 0]);
    }
  });

  test("softTargets is softmax(x/T) across the range, and its gradient matches softmax's", () => {
    const x = tensor([[0.3, -1.2, 2.5, 0.7]], { dtype: "float64" });
    for (const T of [1e-6, 0.37, 4, 1e6]) {
      const a = x.detach().requiresGrad_();
      const b = x.detach().requiresGrad_();
      const w = tensor([[0.1, -0.7, 0.4, 0.2]], { dtype: "float64" });
      softTargets(a, T).mul(w).sum().backward();
      softmax(b.div(T), -1).mul(w).sum().backward();
      const pa = softTargets(x, T).toFlatArray();
      const pb = softmax(x.div(T), -1).toFlatArray();
      pa.forEach((p, i) => expect(Math.abs(p - pb[i]!)).toBeLessThanOrEqual(4 * EPS));
      a.grad!.toFlatArray().forEach((g, i) => expect(Math.abs(g - b.grad!.toFlatArray()[i]!)).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(g))));
    }
  });

  test("softTargets: a lane holding NaN or +∞, or all −∞, is NaN; a −∞ entry elsewhere is a 0", () => {
    const x = tensor([[NaN, 1, 2], [Infinity, 1, 2], [-Infinity, -Infinity, -Infinity], [-Infinity, 0, 0]], { dtype: "float64" });
    const p = softTargets(x, 2).toArray() as number[][];
    for (const r of [0, 1, 2]) expect(p[r]!.every(Number.isNaN)).toBe(true);
    expect(p[3]).toEqual([0, 0.5, 0.5]);
  });

  test("logitMatchingLoss: a row with a non-finite logit has a NaN loss and NaN gradients in that row only, for student and teacher", () => {
    for (const bad of [-Infinity, Infinity, NaN]) {
      for (const side of ["student", "teacher"] as const) {
        const good = [0.5, -1, 2];
        const row = [0, bad, 1];
        const s = tensor([side === "student" ? row : good, good], { dtype: "float64", requiresGrad: true });
        const t = tensor([side === "teacher" ? row : good, [1, 1, 0]], { dtype: "float64", requiresGrad: true });
        const l = logitMatchingLoss(s, t);
        expect(Number.isNaN(l.item())).toBe(true);
        l.backward();
        const [gs, gt] = [s.grad!.toArray() as number[][], t.grad!.toArray() as number[][]];
        expect(gs[0]!.every(Number.isNaN) && gt[0]!.every(Number.isNaN), `${bad} in the ${side}`).toBe(true);
        expect(gs[1]!.every(Number.isFinite) && gt[1]!.every(Number.isFinite)).toBe(true);
      }
    }
  });

  test("logitMatchingLoss: finite logits near the float64 maximum give the exact finite gradient (the row is rescaled by 2⁻⁶⁰⁰)", () => {
    // δ = s − t = ±2.5e308 overflows; the gradient δ̃/(C·B) = ±1.25e308 does not.
    const s = tensor([[1.5e308, -1.5e308]], { dtype: "float64", requiresGrad: true });
    const t = tensor([[-1e308, 1e308]], { dtype: "float64", requiresGrad: true });
    const l = logitMatchingLoss(s, t);
    expect(l.item()).toBe(Infinity); // Σ δ̃²/(2C) = (2.5e308)²/2: really beyond float64
    l.backward();
    expect(s.grad!.toFlatArray()).toEqual([1.25e308, -1.25e308]);
    expect(t.grad!.toFlatArray()).toEqual([-1.25e308, 1.25e308]);
  });
});

describe("Tensor inputs at the edges of the range are accepted, just outside are refused", () => {
  test("T = 1e-6 and T = 1e6 are accepted everywhere; 0.99e-6 and 1.01e6 are ValueErrors", () => {
    const s = tensor([[1, 2]]);
    for (const T of [1e-6, 1e6]) {
      expect(Number.isFinite(distillationLoss(s, s, { temperature: T }).item())).toBe(true);
      expect(softTargets(s, T)).toBeInstanceOf(Tensor);
    }
    for (const T of [0.99e-6, 1.01e6]) {
      expect(() => distillationLoss(s, s, { temperature: T })).toThrow(/^distillationLoss: temperature must be in \[1e-6, 1e6\]/);
      expect(() => softTargets(s, T)).toThrow(/^softTargets: temperature must be in \[1e-6, 1e6\]/);
    }
  });
});
