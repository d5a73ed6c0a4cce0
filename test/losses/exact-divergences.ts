/**
 * An exact reference for every divergence of distillationLoss, its loss and its gradients,
 * in the BigInt fixed point of exact.ts (F = 1100 fractional bits; see there why that is
 * exact enough: every probability, log and product is known to a few units of 2⁻¹⁰⁹⁰).
 * Rows are given as groups (value, multiplicity), so adversarial rows with C up to 152,064
 * and few distinct (sᵢ, tᵢ) pairs take milliseconds.
 *
 * Per row, with q = softmax(s/T), p = softmax(t/T) and m = μ_p·p + μ_q·q:
 *   D = c_p·Σ p·log(p/m) + c_q·Σ q·log(q/m)   (each over its own support),  TVD = ½Σ|p − q|,
 * the definitions themselves (no rewriting into non-negative terms: at 1100 bits nothing
 * cancels that matters). Gradients from the kernel's rules (src/kernels/divergences.ts),
 * which the float64 tests check against the composite and against central differences:
 *   ∂D/∂(t/T) = c_p·p ⊙ (ℓ_p − K_p) − μ_p·p ⊙ (ρ − E_p ρ),  ∂D/∂(s/T) = c_q·q ⊙ (ℓ_q − K_q) − μ_q·q ⊙ (ρ − E_q ρ),
 * ρ = (c_p·p + c_q·q)/m; TVD ½·p ⊙ (σ − E_p σ) and −½·q ⊙ (σ − E_q σ). The hard term's onehot
 * is given to the label's whole group (a test adds (1 − α) back on the group's other classes).
 */
import type { Divergence } from "../../src/index.js";
import { mixtureWeight } from "../../src/losses/distillation-options.js";
import { expFix, fix, logFix, toNumber } from "./exact.js";

const F = 1100n;
const ONE = 1n << F;
const mul = (a: bigint, b: bigint): bigint => (a * b) >> F;
const div = (a: bigint, b: bigint): bigint => (a << F) / b;

/**
 * The weights (c_p, c_q, μ_p, μ_q) of D = c_p·KL(p ‖ m) + c_q·KL(q ‖ m), m = μ_p·p + μ_q·q, as
 * distillationLoss uses them: the mixture weight w′ = mixtureWeight(β or λ), so that
 * μ_p + μ_q = 1 holds exactly (in doubles, hence in the fixed point too).
 */
export function mixtureWeights(d: Divergence, w: number): [number, number, number, number] {
  const mix = mixtureWeight(w);
  switch (d) {
    case "forward": return [1, 0, 0, 1];
    case "reverse": return [0, 1, 1, 0];
    case "jsd": return [mix, 1 - mix, mix, 1 - mix];
    case "skewForward": return [1, 0, mix, 1 - mix];
    case "skewReverse": return [0, 1, 1 - mix, mix];
    case "tvd": return [0, 0, 0, 0];
  }
}

export interface ExactDivergence {
  /** α·T^k·D + (1 − α)·CE for the row (no 1/B). */
  loss: number;
  /** D alone. */
  D: number;
  /** ∂(row loss)/∂s and ∂(row loss)/∂t per group (no 1/B). */
  dS: number[];
  dT: number[];
  /** log q and log p per group (−∞ where masked), as doubles: for the error bounds. */
  logQ: number[];
  logP: number[];
  /** log(p/q) per group, formed exactly then rounded (±∞ where one side masks, NaN where both). */
  logRatio: number[];
  q: number[];
  p: number[];
}

/**
 * One row as groups s[g], t[g] repeated n[g] times (−∞ allowed: a masked class; both sides
 * may mask the same group). y is the label's group, or −1 (α must then be 1). power = k.
 * Every class with mass must have a probability above 2⁻¹⁰⁰⁰ (the rows here do).
 */
export function exactDivergenceRow(
  d: Divergence, mix: number, s: number[], t: number[], n: number[], T: number, alpha: number, power: 0 | 2, y = -1,
): ExactDivergence {
  const TT = fix(T);
  const finiteMax = (v: number[]): number => Math.max(...v.filter((x) => x !== -Infinity));
  const [ms, mt] = [finiteMax(s), finiteMax(t)];
  const a = s.map((v) => (v === -Infinity ? null : div(fix(v) - fix(ms), TT)));
  const b = t.map((v) => (v === -Infinity ? null : div(fix(v) - fix(mt), TT)));
  const count = n.map(BigInt);
  const sumOf = (v: bigint[]): bigint => v.reduce((acc, x, i) => acc + x * count[i]!, 0n);
  const ea = a.map((v) => (v === null ? 0n : expFix(v)));
  const eb = b.map((v) => (v === null ? 0n : expFix(v)));
  const [Zs, Zt] = [sumOf(ea), sumOf(eb)];
  const [lseS, lseT] = [logFix(Zs), logFix(Zt)];
  const q = ea.map((v) => div(v, Zs));
  const p = eb.map((v) => div(v, Zt));
  const lq = a.map((v) => (v === null ? null : v - lseS));
  const lp = b.map((v) => (v === null ? null : v - lseT));
  const [cp, cq, mp, mq] = mixtureWeights(d, mix).map(fix) as [bigint, bigint, bigint, bigint];
  let D = 0n;
  let gs: bigint[];
  let gt: bigint[];
  if (d === "tvd") {
    const sg = p.map((pi, i) => (pi > q[i]! ? 1n : pi < q[i]! ? -1n : 0n));
    D = sumOf(p.map((pi, i) => (pi > q[i]! ? pi - q[i]! : q[i]! - pi))) / 2n;
    const Ep = sumOf(p.map((pi, i) => pi * sg[i]!));
    const Eq = sumOf(q.map((qi, i) => qi * sg[i]!));
    gt = p.map((pi, i) => mul(pi, sg[i]! * ONE - Ep) / 2n);
    gs = q.map((qi, i) => -mul(qi, sg[i]! * ONE - Eq) / 2n);
  } else {
    // log m = log(μ_p·p + μ_q·q), formed in log space from log p and log q (so that a mixture
    // below 2⁻¹¹⁰⁰, a class the student has almost no mass on, keeps its exact log).
    const lmp = mp > 0n ? logFix(mp) : null;
    const lmq = mq > 0n ? logFix(mq) : null;
    const lm = lp.map((lpi, i) => {
      const A = lpi === null || lmp === null ? null : lpi + lmp;
      const B = lq[i] === null || lmq === null ? null : lq[i]! + lmq;
      if (A === null && B === null) return null;
      const L0 = A === null ? B! : B === null ? A : A > B ? A : B;
      return L0 + logFix((A === null ? 0n : expFix(A - L0)) + (B === null ? 0n : expFix(B - L0)));
    });
    // ℓ = log w − log m on w's support (log w finite).
    const ell = (lw: (bigint | null)[]): (bigint | null)[] => lw.map((l, i) => (l === null || lm[i] === null ? null : l - lm[i]!));
    const lpm = ell(lp);
    const lqm = ell(lq);
    const kl = (w: bigint[], lw: (bigint | null)[], l: (bigint | null)[]): bigint => {
      let acc = 0n;
      w.forEach((wi, i) => {
        if (lw[i] === null) return;
        if (l[i] === null) throw new Error("exactDivergenceRow: infinite divergence");
        acc += mul(wi, l[i]!) * count[i]!;
      });
      return acc;
    };
    const Kp = cp === 0n ? 0n : kl(p, lp, lpm);
    const Kq = cq === 0n ? 0n : kl(q, lq, lqm);
    D = mul(cp, Kp) + mul(cq, Kq);
    // p ⊙ ρ and q ⊙ ρ with ρ = (c_p·p + c_q·q)/m, formed as (c_p·p + c_q·q)·(p/m) and ·(q/m):
    // p/m ≤ 1/μ_p and q/m ≤ 1/μ_q are bounded where their μ is not 0 (where it is, that product
    // is not needed), so nothing overflows or underflows on the way.
    const num = p.map((pi, i) => mul(cp, pi) + mul(cq, q[i]!));
    const ratio = (lw: (bigint | null)[], i: number): bigint => (lw[i] === null || lm[i] === null ? 0n : expFix(lw[i]! - lm[i]!));
    const pRho = p.map((_, i) => (mp === 0n ? 0n : mul(num[i]!, ratio(lp, i))));
    const qRho = q.map((_, i) => (mq === 0n ? 0n : mul(num[i]!, ratio(lq, i))));
    const Epr = sumOf(pRho);
    const Eqr = sumOf(qRho);
    gt = p.map((pi, i) => (lp[i] === null ? 0n : mul(cp, mul(pi, lpm[i]! - Kp)) - mul(mp, pRho[i]! - mul(pi, Epr))));
    gs = q.map((qi, i) => (lq[i] === null ? 0n : mul(cq, mul(qi, lqm[i]! - Kq)) - mul(mq, qRho[i]! - mul(qi, Eqr))));
  }
  const A = fix(alpha);
  const Tk = power === 2 ? mul(TT, TT) : ONE;
  let ce = 0n;
  let p1: bigint[] = [];
  if (y >= 0) {
    const e1 = s.map((v) => (v === -Infinity ? 0n : expFix(fix(v) - fix(ms))));
    const Z1 = sumOf(e1);
    ce = fix(ms) - fix(s[y]!) + logFix(Z1);
    p1 = e1.map((v) => div(v, Z1));
  }
  const loss = mul(A, mul(Tk, D)) + (y >= 0 ? mul(ONE - A, ce) : 0n);
  // ∂/∂s = α·T^k·(1/T)·∂D/∂(s/T) + (1 − α)(softmax(s) − onehot(y)).
  const c = div(mul(A, Tk), TT);
  const dS = gs.map((g, i) => toNumber(mul(c, g) + (y >= 0 ? mul(ONE - A, p1[i]! - (i === y ? ONE : 0n)) : 0n)));
  const dT = gt.map((g) => toNumber(mul(c, g)));
  const num = (v: bigint | null): number => (v === null ? -Infinity : toNumber(v));
  const logRatio = lp.map((l, i) => (l === null ? (lq[i] === null ? NaN : -Infinity) : lq[i] === null ? Infinity : toNumber(l - lq[i]!)));
  return { loss: toNumber(loss), D: toNumber(D), dS, dT, logQ: lq.map(num), logP: lp.map(num), logRatio, q: q.map(toNumber), p: p.map(toNumber) };
}
