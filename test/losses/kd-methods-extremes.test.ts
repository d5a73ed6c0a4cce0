/**
 * dkdLoss, nkdLoss, wsldLoss and distLoss against the exact references of
 * test/losses/exact-methods.ts (BigInt fixed point) on adversarial inputs: C up to 152,064,
 * logits at ±1e4, classes masked at −∞, temperatures over the whole accepted range
 * [1e-6, 1e6]; in float64 (the derived bounds below) and in float32 (the contract).
 *
 * The bounds (docs/distillation-methods.md, "Accuracy and the float32 contract"). ε = 2⁻⁵², and
 * for a row A is the largest |argument| of an exponential that counts (a logit gap divided
 * by T, at most 745) and C the class count. Every probability or log-probability part is
 * formed with a relative error ν = ε·(2A + C + 6): the argument's two roundings (2ε|a|), exp,
 * the sum of C terms, the division.
 * - nkdLoss: every part non-negative; w = softmax(t)_y = e^{−ce_t} has ν·(1 + ce_t):
 *   |δL| ≤ ε·(8A + 6C + 40)·(1 + ce_t)·L.
 * - wsldLoss: likewise, with w = −expm1(−ce_s/(ce_t + 1e-7)) carrying 2ν + 4ε: |δL| ≤ ε·(8A + 6C + 40)·L.
 * - dkdLoss: each KL in the log-ratio form obeys docs/distillation.md ("Precision"),
 *   |δKL| ≤ [2ν + 3ε(κ + R₂X) + (16 + C)ε(R₁ + 2R₂)]·KL, NCKD over the non-target classes and
 *   TCKD over the split (b, b̄) with x = (−b̄Δ, bΔ); TCKD adds |b − a|·|δΔ| + |δΔ|²/8
 *   (∂TCKD/∂Δ = b − a, ∂²TCKD/∂Δ² = b·b̄ ≤ 1/4),
 *   Δ = log1p(M) − x_y formed to |δΔ| ≤ ε·(4|x_y| + 2(16 + C)·Σq̂|m| + 4·log1p(M)) (ū's rounding
 *   shifts x_y and log1p(M) alike and cancels). Direct forms (masks, huge spreads): 8ε + ν per
 *   unit of their log-space magnitudes.
 * - distLoss: the means over rows and columns add (B + C + 4)·ε·L; 1 − ρ = ‖w‖²/2, w = â − b̂;
 *   an error δw moves it by ‖w‖·‖δw‖ + ‖δw‖²/2, with
 *   ‖δw‖ ≤ [3.1η_a‖D̃‖ + 3‖δD̃‖ + (n + 8)ε‖D̃‖]/N_b + (2η_a + (n + 8)ε)‖w‖ when ‖D̃‖ ≤ N_a/2 and
 *   2(η_a + η_b) + 2(n + 4)ε otherwise, η the relative error of a centred vector
 *   ((ν·‖|y| + 1/C‖ + nε·‖src‖)/N, src what is centred), n its length; guarded:
 *   |δρ| ≤ 2(η_a + η_b + nε)·N_aN_b/(max(N_a, ε)·max(N_b, ε)).
 * Gradients: each entry within 4ν + 64ε·(1 + X) of the sizes of the terms it is formed from
 * (float64), where X is the log-ratio spread.
 * float32, the contract: the loss within 1e-6 relative of the exact value on the same
 * float32 inputs (the float64 bounds above are below 1e-9 on these rows, and the result's
 * own rounding is 6e-8), plus for dkdLoss the absolute T²α·|b − a|·|δΔ| (a TCKD whose split
 * agrees to 1e-8 while the other classes differ: then TCKD ≈ 0 next to that error) and for
 * distLoss its ‖w‖·‖δw‖ + ‖δw‖²/2 (a correlation of ±1 exactly, at C = 2 or B = 2); each
 * gradient entry within 64 float32 ulps of the terms it is made of, plus its own rounding
 * (the contract of distillationLoss, docs/distillation.md).
 */
import { describe, expect, test } from "vitest";
import { distLoss, dkdLoss, nkdLoss, tensor, wsldLoss, type Tensor } from "../../src/index.js";
import { exactDist, exactDkdRow, exactNkdRow, exactWsldRow, type ExactGroups } from "./exact-methods.js";

const EPS = Number.EPSILON;
const U32 = 2 ** -24;
/**
 * Results near the bottom of the float64 range: an intermediate below 2⁻¹⁰²² keeps only an
 * absolute 2⁻¹⁰⁷⁴, which the factors after it (T, the weights, log-space magnitudes: at most
 * 1e6·8·1e3 here) scale: an absolute 1e10·2⁻¹⁰⁷⁴.
 */
const SUBNORMAL = 1e10 * 2 ** -1074;
const SPREAD = 500;

/** A row as groups; y is the label's group (one class). */
interface Row {
  name: string;
  s: number[];
  t: number[];
  n: number[];
  y: number;
}

const C_LARGE = 152_064;
const f = Math.fround;
const rows: Row[] = [
  { name: "small regular row", s: [0.3, -1.2, 2.5, 0.7, 1.1, -0.4], t: [-0.5, 0.9, 1.7, -1.3, 0.2, 0.3], n: [1, 1, 1, 1, 1, 1], y: 2 },
  // A flat student whose teacher differs on its top class only (the log-ratio centre's case).
  { name: "flat student, teacher differs on the top class, C = 152,064", s: [0, 0.0625, 0], t: [0, 0.5, 0], n: [1, 1, C_LARGE - 2], y: 0 },
  // A confident student whose teacher differs far in its tail.
  { name: "confident student, teacher differs in the tail, C = 152,064", s: [8, 0, -20], t: [8, 0, -15], n: [1, C_LARGE - 2, 1], y: 0 },
  // teacher = student + 3, one group one float32 ulp apart: KLs of 1e-15.
  { name: "teacher = student + shift + one ulp, C = 152,064", s: [1.5, 0.25, -0.75], t: [4.5, f(3.25 + 2 ** -22), 2.25], n: [1, 76_031, 76_032], y: 0 },
  { name: "two groups 8 apart, C = 10,000", s: [0, 0, 0], t: [1, 8, 0], n: [1, 1, 9998], y: 0 },
  { name: "logits at ±1e4", s: [1e4, -1e4, 0, 5e3], t: [-1e4, 1e4, 5e3, 0], n: [1, 1, 3, 2], y: 0 },
  { name: "teacher masks non-target classes, both mask others", s: [0.5, 1, -Infinity, 0, 2], t: [1, 0, -Infinity, -Infinity, 0.3], n: [1, 3, 2, 2, 1], y: 0 },
];
for (const r of rows) {
  r.s = r.s.map(f);
  r.t = r.t.map(f);
}
const temperatures = [1e-6, 1e-3, 0.5, 1, 4, 50, 1e3, 1e6];

function expand(r: Row): { s: number[]; t: number[]; y: number; group: number[] } {
  const s: number[] = [];
  const t: number[] = [];
  const group: number[] = [];
  let y = -1;
  r.n.forEach((cnt, g) => {
    for (let j = 0; j < cnt; j++) {
      if (g === r.y) y = s.length;
      s.push(r.s[g]!);
      t.push(r.t[g]!);
      group.push(g);
    }
  });
  return { s, t, y, group };
}

type Method = "dkd" | "nkd" | "wsld";

function fused(m: Method, dtype: "float32" | "float64", r: Row, T: number, o: Record<string, number>): { L: number; dS: number[]; dT: number[] } {
  const e = expand(r);
  const typed = (v: number[]): Float32Array | Float64Array => (dtype === "float32" ? Float32Array.from(v) : Float64Array.from(v));
  const a = tensor(typed(e.s), { shape: [1, e.s.length], dtype, requiresGrad: true });
  const b = tensor(typed(e.t), { shape: [1, e.t.length], dtype, requiresGrad: true });
  const labels = tensor([e.y], { dtype: "int32" });
  const L = m === "dkd" ? dkdLoss(a, b, labels, { ...o, temperature: T }) : m === "nkd" ? nkdLoss(a, b, labels, { ...o, temperature: T }) : wsldLoss(a, b, labels, { ...o, temperature: T });
  expect(L.dtype).toBe(dtype);
  L.backward();
  // One entry per group (every class of a group has the same gradient).
  const first = r.n.map((_, g) => e.group.indexOf(g));
  const pick = (x: Tensor): number[] => {
    const v = x.contiguous().data;
    return first.map((i) => v[i]!);
  };
  return { L: L.item(), dS: pick(a.grad!), dT: pick(b.grad!) };
}

function exact(m: Method, r: Row, T: number, o: Record<string, number>): ExactGroups {
  if (m === "dkd") return exactDkdRow(r.s, r.t, r.n, r.y, T, o.alpha!, o.beta!);
  if (m === "nkd") return exactNkdRow(r.s, r.t, r.n, r.y, T, o.gamma!);
  return exactWsldRow(r.s, r.t, r.n, r.y, T, o.alpha!);
}

/** log Σ n·e^{x/T} over the groups `keep` selects, with its max (float64; for the bounds' factors). */
function lse(x: number[], n: number[], T: number, keep: (g: number) => boolean): { m: number; c: number } {
  let m = -Infinity;
  x.forEach((v, g) => {
    if (keep(g) && v > m) m = v;
  });
  const S = x.reduce((acc, v, g) => (keep(g) && v !== -Infinity ? acc + n[g]! * Math.exp((v - m) / T) : acc), 0);
  return { m, c: Math.log(S) };
}

/** A: the largest exponential argument that counts, over both sides, at T and at 1. */
function argSize(r: Row, T: number): number {
  let A = 0;
  for (const x of [r.s, r.t]) {
    for (const temp of [T, 1]) {
      const m = Math.max(...x);
      for (const v of x) if (v !== -Infinity && (m - v) / temp <= 745) A = Math.max(A, (m - v) / temp);
    }
  }
  return Math.min(A, 745);
}

/** φ(x) = eˣ − 1 − x without cancellation (its series below |x| = 0.5). */
function phi(x: number): number {
  if (Math.abs(x) >= 0.5) return Math.expm1(x) - x;
  let term = (x * x) / 2;
  let sum = 0;
  for (let k = 3; Math.abs(term) > 1e-18 * Math.abs(sum) || k < 6; k++) {
    sum += term;
    term = (term * x) / k;
  }
  return sum;
}

/**
 * The log-ratio stats of KL(p ‖ q) for q and x centred at the q-mean, per group
 * (docs/distillation.md, "Precision"), evaluated without cancellation: M = Σ q·φ(x) (Σ q·x = 0),
 * G = x·(φ + x) − φ, KL = Γ/(1 + M) + h(M).
 */
function klStats(q: number[], x: number[], n: number[]): { kl: number; R1: number; R2: number; kappa: number; X: number; qm: number; M: number } {
  const ph = x.map((v) => (v === -Infinity ? 0 : phi(v)));
  const G = x.map((v, g) => (v === -Infinity ? 1 : v * (ph[g]! + v) - ph[g]!));
  const M = q.reduce((a, qi, g) => a + n[g]! * qi * (x[g] === -Infinity ? -1 : ph[g]!), 0)
    + q.reduce((a, qi, g) => (x[g] === -Infinity ? a + n[g]! * qi : a), 0);
  const Gam = q.reduce((a, qi, g) => a + n[g]! * qi * G[g]!, 0);
  const h = Math.abs(M) < 1e-3 ? M * M * (-1 / 2 + M * (2 / 3 - (3 / 4) * M)) : M / (1 + M) - Math.log1p(M);
  const kl = Math.max(0, Gam / (1 + M) + h);
  const Epx = q.reduce((a, qi, g) => (x[g] === -Infinity ? a : a + (n[g]! * qi * Math.exp(x[g]!) * x[g]!) / (1 + M)), 0);
  const fin = x.filter((v) => v !== -Infinity);
  const X = fin.length ? Math.max(...fin) - Math.min(...fin) : 0;
  const qm = q.reduce((a, qi, g) => a + n[g]! * qi * Math.abs(x[g] === -Infinity ? 1 : Math.expm1(x[g]!)), 0);
  return {
    kl, M, X, qm,
    R1: kl > 0 ? Gam / (1 + M) / kl : 1,
    R2: kl > 0 ? Math.abs(Epx) / kl : 2,
    kappa: X < 1e-3 ? 2 : (X * X) / (X - 1 + Math.exp(-X)),
  };
}

function klBound(st: ReturnType<typeof klStats>, nu: number, C: number): number {
  return (2 * nu + 3 * EPS * (st.kappa + st.R2 * st.X) + (16 + C) * EPS * (st.R1 + 2 * st.R2)) * st.kl;
}

/**
 * dkdLoss's float64 bound for one row (see the header), and the part of it that is
 * absolute (the Δ term), which the float32 contract adds to its 1e-6.
 */
function dkdBound(r: Row, T: number, alpha: number, beta: number): { total: number; absolute: number } {
  // The exact TCKD and NCKD (float64 cannot form Δ = ℓ_s − ℓ_t when it is below ε·|ℓ|).
  const exactTckd = alpha > 0 ? exactDkdRow(r.s, r.t, r.n, r.y, T, 1, 0).loss / (T * T) : 0;
  const C = r.n.reduce((a, b) => a + b, 0);
  const A = argSize(r, T);
  const nu = EPS * (2 * A + C + 6);
  const other = (g: number): boolean => g !== r.y;
  const ls = lse(r.s, r.n, T, other);
  const lt = lse(r.t, r.n, T, other);
  const qh = r.s.map((v, g) => (g === r.y || v === -Infinity ? 0 : Math.exp((v - ls.m) / T - ls.c)));
  const ph = r.t.map((v, g) => (g === r.y || v === -Infinity ? 0 : Math.exp((v - lt.m) / T - lt.c)));
  const u = r.t.map((v, g) => v - r.s[g]!);
  const finiteO = u.filter((v, g) => g !== r.y && Number.isFinite(v));
  const masksOk = u.every((v, g) => g === r.y || Number.isFinite(v) || r.t[g] === -Infinity);
  const logRatio = masksOk && (Math.max(...finiteO) - Math.min(...finiteO)) / T <= SPREAD;
  const ellS = (r.s[r.y]! - ls.m) / T - ls.c;
  const ellT = (r.t[r.y]! - lt.m) / T - lt.c;
  let nckdErr: number;
  let dDelta: number;
  if (logRatio) {
    const Sq = qh.reduce((a, q, g) => (r.t[g] === -Infinity ? a : a + r.n[g]! * q), 0);
    const ubar = u.reduce((a, v, g) => (g === r.y || r.t[g] === -Infinity ? a : a + r.n[g]! * qh[g]! * v), 0) / Sq;
    const x = u.map((v, g) => (g === r.y ? 0 : r.t[g] === -Infinity ? -Infinity : (v - ubar) / T));
    const st = klStats(qh, x, r.n);
    nckdErr = klBound(st, nu, C);
    const xy = (u[r.y]! - ubar) / T;
    dDelta = EPS * (4 * Math.abs(xy) + 2 * (16 + C) * st.qm + 4 * Math.log1p(st.M));
  } else {
    const mag = ph.reduce((a, p, g) => (p > 0 ? a + r.n[g]! * p * (Math.abs((r.t[g]! - lt.m) / T) + Math.abs((r.s[g]! - ls.m) / T) + lt.c + ls.c) : a), 0);
    nckdErr = (8 * EPS + nu) * mag;
    dDelta = (2 * A + C + 8) * EPS * (Math.abs(ellS) + Math.abs(ellT) + Math.abs(ls.c) + Math.abs(lt.c) + 2);
  }
  const sig = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
  const b = sig(ellS);
  const bb = sig(-ellS);
  const a = sig(ellT);
  // Δ from float64 logits unless it is within their rounding; then from the exact TCKD ≈ b·b̄·Δ²/2.
  let delta = ellS - ellT;
  if (Math.abs(delta) < 1e-6 && b * bb > 0) delta = Math.sqrt((2 * exactTckd) / (b * bb));
  let tckdErr: number;
  if (Number.isFinite(ellS) && Number.isFinite(delta) && Math.abs(delta) <= SPREAD) {
    const st2 = klStats([b, bb], [-bb * delta, b * delta], [1, 1]);
    const nuB = EPS * (2 * Math.abs(ellS) + 4) + nu * (1 + Math.abs(ls.c));
    tckdErr = klBound(st2, nuB, 2);
  } else tckdErr = (8 * EPS + nu) * (Math.abs(ellS) + Math.abs(ellT) + 2);
  const T2 = T * T;
  // The Δ error moves TCKD by (b − a)·δΔ + b·b̄·δΔ²/2 (∂²TCKD/∂ℓ_s² = b·b̄ ≤ 1/4).
  const absolute = T2 * alpha * (Math.abs(b - a) * dDelta + (dDelta * dDelta) / 8);
  return { total: T2 * (alpha * tckdErr + beta * nckdErr) + absolute + SUBNORMAL, absolute };
}

/** nkdLoss's and wsldLoss's float64 bounds, relative (see the header). */
function nkdWsldRel(m: "nkd" | "wsld", r: Row, T: number): number {
  const C = r.n.reduce((a, b) => a + b, 0);
  const A = argSize(r, T);
  const all = (): boolean => true;
  const lt = lse(r.t, r.n, 1, all);
  const ceT = lt.m - r.t[r.y]! + lt.c;
  return EPS * (8 * A + 6 * C + 40) * (m === "nkd" ? 1 + ceT : 1);
}

/** The sizes of the terms of each gradient entry (per group), from exact-precision values in float64. */
function gradientTerms(m: Method, r: Row, T: number, o: Record<string, number>): { s: number[]; t: number[] } {
  const other = (g: number): boolean => g !== r.y;
  const all = (): boolean => true;
  const soft = (x: number[], keep: (g: number) => boolean, temp: number): number[] => {
    const l = lse(x, r.n, temp, keep);
    return x.map((v, g) => (!keep(g) || v === -Infinity ? 0 : Math.exp((v - l.m) / temp - l.c)));
  };
  const logq = (keep: (g: number) => boolean): number[] => {
    const l = lse(r.s, r.n, T, keep);
    return r.s.map((v, g) => (!keep(g) || v === -Infinity ? 0 : Math.abs((v - l.m) / T - l.c)));
  };
  if (m === "dkd") {
    const qh = soft(r.s, other, T);
    const ph = soft(r.t, other, T);
    const lq = logq(other);
    const lpt = lse(r.t, r.n, T, other);
    const lp = r.t.map((v, g) => (g === r.y || v === -Infinity ? 0 : Math.abs((v - lpt.m) / T - lpt.c)));
    const k = T * ((o.alpha ?? 1) + (o.beta ?? 8));
    return {
      s: qh.map((q, g) => k * (g === r.y ? 2 : 2 * q + ph[g]!)),
      t: ph.map((p, g) => k * (g === r.y ? 1 + 20 : p * (2 + lq[g]! + lp[g]! + 20))),
    };
  }
  const sigma = soft(r.s, all, 1);
  const keep = m === "nkd" ? other : all;
  const q = soft(r.s, keep, T);
  const p = soft(r.t, keep, T);
  const lq = logq(keep);
  const k = T * (m === "nkd" ? o.gamma! : o.alpha!);
  return {
    s: q.map((qg, g) => sigma[g]! + (g === r.y ? 1 : 0) + k * (qg + p[g]!)),
    t: p.map((pg, g) => k * pg * (2 * lq[g]! + 2)),
  };
}

function within(got: number, want: number, tol: number, what: string): void {
  expect(Math.abs(got - want), `${what}: got ${got}, exact ${want}, tolerance ${tol}`).toBeLessThanOrEqual(tol);
}

const settings: Record<Method, Record<string, number>[]> = {
  dkd: [{ alpha: 1, beta: 8 }, { alpha: 1, beta: 0 }, { alpha: 0, beta: 1 }],
  nkd: [{ gamma: 1.5 }],
  wsld: [{ alpha: 2.5 }],
};

describe("float64 within the derived bounds, float32 within the contract, against the exact reference", () => {
  for (const m of ["dkd", "nkd", "wsld"] as const) {
    for (const r of rows) {
      if (m === "wsld" && r.t[r.y] === -Infinity) continue;
      test(`${m}: ${r.name}`, () => {
        for (const o of settings[m]) {
          // (The rows with C = 152,064 at five temperatures spanning the range: they cost the most.)
          const large = r.n.reduce((a2, b2) => a2 + b2, 0) > 100_000;
          for (const T of large ? [1e-6, 1e-3, 1, 50, 1e6] : temperatures) {
            const what = `${m} ${JSON.stringify(o)} T=${T}`;
            const ex = exact(m, r, T, o);
            const got = fused(m, "float64", r, T, o);
            const bound = m === "dkd" ? dkdBound(r, T, o.alpha!, o.beta!).total : nkdWsldRel(m, r, T) * Math.abs(ex.loss) + SUBNORMAL;
            within(got.L, ex.loss, bound, `${what} float64 loss`);
            const terms = gradientTerms(m, r, T, o);
            const X = Math.min(745, (Math.max(...r.t.filter(Number.isFinite)) - Math.min(...r.s.filter(Number.isFinite))) / T);
            // Each factor of a term carries ν = ε(2A + C + 6) (the normaliser sums C terms) or a
            // few ε·(1 + X) (the log-ratio pieces): 4ν + 64ε(1 + X) of the term sizes.
            const Cn = r.n.reduce((a2, b2) => a2 + b2, 0);
            const rel = 4 * EPS * (2 * argSize(r, T) + Cn + 6) + 64 * EPS * (1 + X);
            got.dS.forEach((g, i) => within(g, ex.dS[i]!, rel * terms.s[i]! + SUBNORMAL, `${what} float64 dS[group ${i}]`));
            got.dT.forEach((g, i) => within(g, ex.dT[i]!, rel * terms.t[i]! + SUBNORMAL, `${what} float64 dT[group ${i}]`));
            // float32: the row's values are float32 already (the families are built so).
            const g32 = fused(m, "float32", r, T, o);
            const slack = m === "dkd" ? dkdBound(r, T, o.alpha!, o.beta!).absolute : 0;
            within(g32.L, ex.loss, 1e-6 * Math.abs(ex.loss) + slack + 2 ** -149, `${what} float32 loss`);
            // Each entry: 64 float32 ulps of the terms it is made of, and its own rounding.
            g32.dS.forEach((g, i) => within(g, ex.dS[i]!, 64 * U32 * terms.s[i]! + U32 * Math.abs(ex.dS[i]!) + 2 ** -149, `${what} float32 dS[group ${i}]`));
            g32.dT.forEach((g, i) => within(g, ex.dT[i]!, 64 * U32 * terms.t[i]! + U32 * Math.abs(ex.dT[i]!) + 2 ** -149, `${what} float32 dT[group ${i}]`));
          }
        }
      });
    }
  }

  test("the rows are float32 values (so the float32 runs see the same inputs as the reference)", () => {
    for (const r of rows) for (const v of [...r.s, ...r.t]) expect(f(v)).toBe(v);
  });
});

describe("the student's q − p in the log-ratio form: relative-accurate at large T", () => {
  // At T = 1e6 on 152,064 classes, q and p agree to 3e-12 of their size: formed as a difference
  // of two rounded softmaxes (each carrying C·ε ≈ 3e-11 from its normaliser), q − p kept only
  // 1e-4 of relative accuracy in float64; q·(M − m)/(1 + M) keeps it to a few ulps and C·ε.
  const r = rows[1]!;
  for (const m of ["dkd", "nkd", "wsld"] as const) {
    test(`${m}: every student gradient entry within 1e-9 relative of the exact value (float64)`, () => {
      const o = settings[m][0]!;
      for (const T of [1e3, 1e6]) {
        const ex = exact(m, r, T, o);
        const got = fused(m, "float64", r, T, o);
        got.dS.forEach((g, i) => within(g, ex.dS[i]!, 1e-9 * Math.abs(ex.dS[i]!), `${m} T=${T} dS[group ${i}]`));
      }
    });
  }
});

describe("dkd: a split that agrees while the other classes differ (Δ = 0 exactly, TCKD = 0)", () => {
  // s = (0, 1, −1), t = (0, −1, 1), target 0: the other classes mirror each other, so
  // lse over them is the same on both sides and ℓ_s = ℓ_t. TCKD is 0; its computed value
  // is |b − a|·|δΔ|-sized, the absolute part of the bound, here ≈ ε²: nothing to see next to NCKD.
  test("TCKD alone is within the absolute bound of 0; with NCKD the loss is relative-accurate", () => {
    const r: Row = { name: "mirror", s: [0, 1, -1], t: [0, -1, 1], n: [1, 1, 1], y: 0 };
    for (const T of [0.5, 1, 4, 100]) {
      const tc = fused("dkd", "float64", r, T, { alpha: 1, beta: 0 });
      expect(Math.abs(tc.L)).toBeLessThanOrEqual(dkdBound(r, T, 1, 0).total);
      const both = fused("dkd", "float64", r, T, { alpha: 1, beta: 8 });
      const ex = exactDkdRow(r.s, r.t, r.n, r.y, T, 1, 8);
      within(both.L, ex.loss, dkdBound(r, T, 1, 8).total, `T=${T}`);
    }
  });
});

describe("distLoss against the exact reference", () => {
  interface Batch {
    name: string;
    s: number[][];
    t: number[][];
    n: number[];
  }
  const batches: Batch[] = ([
    { name: "regular, B = 4, C = 6", s: [[0.3, -1.2, 2.5, 0.7, 1.1, -0.4], [1, 0, -1, 2, 0.5, 0.25], [-2, 1.5, 0, 0.75, -0.5, 1], [0, 0.125, 3, -1, 0.5, 2]], t: [[-0.5, 0.9, 1.7, -1.3, 0.2, 0.3], [0.5, -0.25, 1, 2.5, 0, 0.75], [-1, 2, 0.5, 0, 0.25, 1.5], [1, 0.5, 2, -2, 0, 1]], n: [1, 1, 1, 1, 1, 1] },
    { name: "C = 152,064 (three groups), B = 3", s: [[2, 0, -1], [0.5, 1, 0], [-1, 0.25, 0.5]], t: [[1.5, 0, -0.5], [1, 0.75, 0], [-0.5, 0, 1]], n: [1, 1, C_LARGE - 2] },
    { name: "teacher = student + one ulp on a group (1 − ρ ≈ 1e-15)", s: [[0.5, 0.25, -0.75, 1], [0, 1, 0.5, -0.5], [1.5, -1, 0, 0.25]], t: [[0.5, f(0.25 + 2 ** -25), -0.75, 1], [0, 1, 0.5, -0.5], [1.5, -1, 0, 0.25]], n: [2, 3, 4, 5] },
    { name: "logits at ±1e4", s: [[1e4, -1e4, 0, 5e3], [-1e4, 1e4, 3, -2], [0, 5e3, -5e3, 1e4]], t: [[-1e4, 1e4, 2, 0], [1e4, -1e4, -5e3, 1], [5e3, 0, 1e4, -1e4]], n: [1, 1, 1, 1] },
    { name: "a class masked on both sides", s: [[0.5, -Infinity, 1, 0], [1, -Infinity, -0.5, 0.25], [0, -Infinity, 2, 1]], t: [[1, -Infinity, 0, 0.5], [0.5, -Infinity, 0.25, -1], [0.75, -Infinity, 1, 0]], n: [1, 2, 1, 1] },
    { name: "C = 2 (every row correlation is ±1)", s: [[0.5, -1], [1, 2], [0, 0.25]], t: [[1, 0], [0.5, -0.5], [2, 1]], n: [1, 1] },
    { name: "B = 2 (every column correlation is ±1)", s: [[0.5, -1, 2], [1, 2, 0]], t: [[1, 0, 0.5], [0.5, -0.5, 1]], n: [1, 1, 1] },
  ] as Batch[]).map((bt) => ({ ...bt, s: bt.s.map((row) => row.map(f)), t: bt.t.map((row) => row.map(f)) }));
  const temps = [1e-6, 0.5, 1, 4, 100, 1e4, 1e6];

  /** The float64 bound of the header, and its absolute part (the ±1 correlations'). */
  function distBound(bt: Batch, T: number, beta: number, gamma: number, loss: number): { total: number; absolute: number } {
    const B = bt.s.length;
    const C = bt.n.reduce((a, b) => a + b, 0);
    const G = bt.n.length;
    const soft = (x: number[]): number[] => {
      const m = Math.max(...x);
      const e = x.map((v) => (v === -Infinity ? 0 : Math.exp((v - m) / T)));
      const S = e.reduce((a, v, g) => a + bt.n[g]! * v, 0);
      return e.map((v) => v / S);
    };
    const Ys = bt.s.map(soft);
    const Yt = bt.t.map(soft);
    let A = 0;
    for (const x of [...bt.s, ...bt.t]) {
      const m = Math.max(...x);
      for (const v of x) if (v !== -Infinity && (m - v) / T <= 745) A = Math.max(A, (m - v) / T);
    }
    const nu = EPS * (2 * A + C + 6);
    /** One correlation: vectors a, b (y values), weights w, centred by mean; D = b − a. */
    const one = (a: number[], b: number[], w: number[], len: number, yOf: (i: number) => number[]): { err: number; absolute: number } => {
      const W = w.reduce((x, y) => x + y, 0);
      const mean = (v: number[]): number => v.reduce((x, y, i) => x + w[i]! * y, 0) / W;
      const ac = a.map((v) => v - mean(a));
      const bc = b.map((v) => v - mean(b));
      const dc = bc.map((v, i) => v - ac[i]!);
      const norm = (v: number[]): number => Math.sqrt(v.reduce((x, y, i) => x + w[i]! * y * y, 0));
      const Na = norm(ac);
      const Nb = norm(bc);
      const Nd = norm(dc);
      const [ya, yb] = [yOf(0), yOf(1)];
      const eta = (y: number[], N: number): number => (nu * norm(y.map((v) => v + 1 / C)) + len * EPS * norm(y)) / Math.max(N, 1e-300);
      const etaA = eta(ya, Na);
      const etaB = eta(yb, Nb);
      const eps = 1e-8;
      if (Na > eps && Nb > eps) {
        const wv = ac.map((v, i) => v / Na - bc[i]! / Nb);
        const Nw = norm(wv);
        const dD = nu * norm(ya.map((v, i) => v + yb[i]!)) + len * EPS * Nd;
        const dw = Nd <= Na / 2
          ? (3.1 * etaA * Nd + 3 * dD + (len + 8) * EPS * Nd) / Nb + (2 * etaA + (len + 8) * EPS) * Nw
          : 2 * (etaA + etaB) + 2 * (len + 4) * EPS;
        const err = Nw * dw + (dw * dw) / 2 + (len + 2) * EPS * (Nw * Nw) / 2;
        return { err, absolute: Nw * dw + (dw * dw) / 2 };
      }
      const err = 2 * (etaA + etaB + len * EPS) * (Na * Nb) / (Math.max(Na, eps) * Math.max(Nb, eps));
      return { err, absolute: err };
    };
    let total = 0;
    let absolute = 0;
    if (beta > 0) {
      for (let r = 0; r < B; r++) {
        const e = one(Ys[r]!, Yt[r]!, bt.n, C, (k) => (k === 0 ? Ys[r]! : Yt[r]!));
        total += (T * T * beta * e.err) / B;
        absolute += (T * T * beta * e.absolute) / B;
      }
    }
    if (gamma > 0) {
      for (let g = 0; g < G; g++) {
        const col = (Y: number[][]): number[] => Y.map((row) => row[g]!);
        const e = one(col(Ys), col(Yt), Ys.map(() => 1), B, (k) => (k === 0 ? col(Ys) : col(Yt)));
        total += (T * T * gamma * bt.n[g]! * e.err) / C;
        absolute += (T * T * gamma * bt.n[g]! * e.absolute) / C;
      }
    }
    // The sums over rows and columns (terms ≥ 0): (B + C + 4)·ε of the loss.
    return { total: total + (B + C + 4) * EPS * loss + SUBNORMAL, absolute };
  }

  /**
   * The term sizes of each gradient entry: ∂ρ/∂a = (b̂ − ρâ)/N_a is made of terms of size 1/N_a
   * (N_a ≥ 1e-8, the guard), so G = ∂L/∂Y has terms up to T²·(β/(B·N_row) + γ/(C·N_col)), and
   * ∂L/∂x = (1/T)·Y ⊙ (G − ⟨G, Y⟩) terms up to (1/T)·Y·(|G| + ⟨|G|, Y⟩). [input][row][group].
   */
  function distTerms(bt: Batch, T: number, beta: number, gamma: number): number[][][] {
    const B = bt.s.length;
    const C = bt.n.reduce((a2, b2) => a2 + b2, 0);
    return [bt.s, bt.t].map((x) => {
      const Y = x.map((row) => {
        const m = Math.max(...row);
        const e = row.map((v) => (v === -Infinity ? 0 : Math.exp((v - m) / T)));
        const S = e.reduce((a2, v, g) => a2 + bt.n[g]! * v, 0);
        return e.map((v) => v / S);
      });
      const norm = (v: number[], w: number[]): number => {
        const W = w.reduce((a2, b2) => a2 + b2, 0);
        const mean = v.reduce((a2, y, i) => a2 + w[i]! * y, 0) / W;
        return Math.max(1e-8, Math.sqrt(v.reduce((a2, y, i) => a2 + w[i]! * (y - mean) ** 2, 0)));
      };
      const rowN = Y.map((row) => norm(row, bt.n));
      const colN = bt.n.map((_, g) => norm(Y.map((row) => row[g]!), Y.map(() => 1)));
      return Y.map((row, r) => {
        const G = row.map((_, g) => T * T * (beta / (B * rowN[r]!) + gamma / (C * colN[g]!)));
        const dot = G.reduce((a2, v, g) => a2 + bt.n[g]! * v * row[g]!, 0);
        return row.map((y, g) => (y * (G[g]! + dot)) / T);
      });
    });
  }

  for (const bt of batches) {
    test(bt.name, () => {
      const expandRows = (x: number[][]): number[][] => x.map((row) => row.flatMap((v, g) => Array.from({ length: bt.n[g]! }, () => v)));
      const first = bt.n.map((_, g) => bt.n.slice(0, g).reduce((a, b) => a + b, 0));
      for (const v of [...bt.s.flat(), ...bt.t.flat()]) expect(f(v)).toBe(v);
      const large = bt.n.reduce((a2, b2) => a2 + b2, 0) > 100_000;
      for (const [beta, gamma] of (large ? [[1, 1], [0, 2]] : [[1, 1], [2, 0], [0, 2]]) as [number, number][]) {
        for (const T of large ? [1e-6, 1, 1e4, 1e6] : temps) {
          const what = `β=${beta} γ=${gamma} T=${T}`;
          const ex = exactDist(bt.s, bt.t, bt.n, T, beta, gamma);
          const bound = distBound(bt, T, beta, gamma, Math.abs(ex.loss));
          for (const dtype of ["float64", "float32"] as const) {
            const typed = (x: number[][]): Float32Array | Float64Array => (dtype === "float32" ? Float32Array : Float64Array).from(expandRows(x).flat());
            const shape = [bt.s.length, bt.n.reduce((a2, b2) => a2 + b2, 0)];
            const a = tensor(typed(bt.s), { shape, dtype, requiresGrad: true });
            const b = tensor(typed(bt.t), { shape, dtype, requiresGrad: true });
            const L = distLoss(a, b, { beta, gamma, temperature: T });
            L.backward();
            const tol = dtype === "float64" ? bound.total : 1e-6 * Math.abs(ex.loss) + bound.absolute + 2 ** -149;
            within(L.item(), ex.loss, tol, `${what} ${dtype} loss`);
            if (dtype === "float32") {
              // Each entry: 64 float32 ulps of the terms it is made of (distTerms), and its rounding.
              const terms = distTerms(bt, T, beta, gamma);
              for (const [x, want, k] of [[a, ex.dS, 0], [b, ex.dT, 1]] as const) {
                const got = x.grad!.contiguous().data;
                const Ct = shape[1]!;
                want.forEach((row, r) => {
                  row.forEach((w, g) => within(got[r * Ct + first[g]!]!, w, 64 * U32 * terms[k]![r]![g]! + U32 * Math.abs(w) + 2 ** -149, `${what} float32 gradient ${k ? "dT" : "dS"}[${r}][group ${g}]`));
                });
              }
            }
          }
        }
      }
    });
  }
});
