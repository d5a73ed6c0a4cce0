/**
 * Exact references for dkdLoss, nkdLoss, wsldLoss (one row) and distLoss (a batch), in the
 * BigInt fixed point of test/losses/exact.ts (F = 1100 fractional bits; exp and log to a
 * few units of 2⁻¹¹⁰⁰). Every quantity is formed from the exact input values by the
 * formulas of the loss files, with no numerical care needed: 1 − p is a subtraction here
 * (2⁻¹¹⁰⁰ absolute), except where it may underflow (1 − p_y at logits of ±1e4), which uses
 * log-sum-exps over the other classes as the kernels do. Results are known to far below
 * float64 rounding: the largest amplification here (DIST's 1/ε² = 1e16 at a guarded norm,
 * times T² ≤ 1e12) keeps the error below 2⁻¹⁰⁰⁰.
 *
 * Rows are given as groups: value sᵢ, tᵢ repeated nᵢ times (−∞ allowed in t, and in s where
 * t is −∞ too), so that rows with C up to 152,064 but few distinct values are exact in
 * milliseconds. The label group must have one class.
 */
import { expFix, fix, logFix, toNumber } from "./exact.js";

const F = 1100n;
const ONE = 1n << F;
const mul = (a: bigint, b: bigint): bigint => (a * b) >> F;
const div = (a: bigint, b: bigint): bigint => (a << F) / b;
const abs = (a: bigint): bigint => (a < 0n ? -a : a);
const max0 = (a: bigint): bigint => (a > 0n ? a : 0n);

/** √x for a fixed-point x ≥ 0 (integer square root of x·2ᶠ). */
function sqrtFix(x: bigint): bigint {
  if (x <= 0n) return 0n;
  const n = x << F;
  // Newton's iteration for ⌊√n⌋ from a power of two above it: decreases until it stops.
  let r = 1n << BigInt(Math.ceil(n.toString(2).length / 2) + 1);
  for (;;) {
    const next = (r + n / r) >> 1n;
    if (next >= r) return r;
    r = next;
  }
}

/** softplus(x) = log(1 + eˣ) in fixed point (x may be ±∞ as null handled by the caller). */
function softplusFix(x: bigint): bigint {
  const e = expFix(-abs(x));
  return max0(x) + logFix(ONE + e);
}

interface Side {
  /** z_g − m (fixed, over finite groups; null where −∞), in units of the row's own shift. */
  z: (bigint | null)[];
  /** log Σ n·e^{z} over the groups `keep` allows, shifted by that set's max: lse = shift + log. */
  lse: (keep: (g: number) => boolean) => bigint;
}

/** z = x/T per group (exact), and log-sum-exps over subsets, each shifted by its own max. */
function side(x: number[], n: number[], T: bigint): Side {
  const z = x.map((v) => (v === -Infinity ? null : div(fix(v), T)));
  return {
    z,
    lse: (keep) => {
      let m: bigint | null = null;
      z.forEach((v, g) => {
        if (keep(g) && v !== null && (m === null || v > m)) m = v;
      });
      if (m === null) throw new Error("exact: an empty support");
      let S = 0n;
      z.forEach((v, g) => {
        if (keep(g) && v !== null) S += expFix(v - m!) * BigInt(n[g]!);
      });
      return m + logFix(S);
    },
  };
}

export interface ExactGroups {
  /** The row's loss (no 1/B). */
  loss: number;
  /** The gradient entry of one class of each group (no 1/B). */
  dS: number[];
  dT: number[];
}

/** dkdLoss for one row: T²·(α·TCKD + β·NCKD) and its gradients. `y` is the label's group. */
export function exactDkdRow(s: number[], t: number[], n: number[], y: number, T: number, alpha: number, beta: number): ExactGroups {
  const TT = fix(T);
  const S = side(s, n, TT);
  const U = side(t, n, TT);
  const other = (g: number): boolean => g !== y;
  const lseOs = S.lse(other);
  const lseOt = U.lse(other);
  const ls = S.z[y] === null ? null : S.z[y]! - lseOs;
  const lt = U.z[y] === null ? null : U.z[y]! - lseOt;
  // Binary split from the log-odds: log σ(ℓ) = −softplus(−ℓ), log σ(−ℓ) = −softplus(ℓ).
  const logSig = (l: bigint | null, pos: boolean): bigint | null => (l === null ? (pos ? null : 0n) : -softplusFix(pos ? -l : l));
  const logB = logSig(ls, true);
  const logBb = logSig(ls, false)!;
  const logA = logSig(lt, true);
  const logAb = logSig(lt, false)!;
  const a = logA === null ? 0n : expFix(logA);
  const ab = expFix(logAb);
  const b = logB === null ? 0n : expFix(logB);
  let tckd = 0n;
  if (a !== 0n) {
    if (logB === null) throw new Error("exactDkdRow: teacher target mass where the student masks it");
    tckd += mul(a, logA! - logB);
  }
  if (ab !== 0n) tckd += mul(ab, logAb - logBb);
  // Non-target softmaxes.
  const lq = S.z.map((v, g) => (g === y || v === null ? null : v - lseOs));
  const lp = U.z.map((v, g) => (g === y || v === null ? null : v - lseOt));
  const q = lq.map((v) => (v === null ? 0n : expFix(v)));
  const p = lp.map((v) => (v === null ? 0n : expFix(v)));
  let nckd = 0n;
  const d = lp.map((v, g) => {
    if (v === null) return 0n;
    if (lq[g] === null) throw new Error("exactDkdRow: teacher mass on a class the student masks");
    return v - lq[g]!;
  });
  p.forEach((pg, g) => (nckd += mul(pg, d[g]!) * BigInt(n[g]!)));
  const T2 = mul(TT, TT);
  const A = fix(alpha);
  const Bw = fix(beta);
  const loss = mul(T2, mul(A, tckd) + mul(Bw, nckd));
  const bMinusA = b - a;
  const gT = ls === null || lt === null ? 0n : mul(mul(a, ab), lt - ls);
  const dS = s.map((_, g) => toNumber(mul(TT, g === y ? mul(A, bMinusA) : -mul(A, mul(bMinusA, q[g]!)) + mul(Bw, q[g]! - p[g]!))));
  const dT = t.map((_, g) => toNumber(mul(TT, g === y ? mul(A, gT) : -mul(A, mul(gT, p[g]!)) + mul(Bw, mul(p[g]!, d[g]! - nckd)))));
  return { loss: toNumber(loss), dS, dT };
}

/** nkdLoss for one row: −w·log softmax(s)_y + γT²·H and its gradients (w a constant). */
export function exactNkdRow(s: number[], t: number[], n: number[], y: number, T: number, gamma: number): ExactGroups {
  const TT = fix(T);
  const all = (): boolean => true;
  const S1 = side(s, n, ONE);
  const U1 = side(t, n, ONE);
  const lse1s = S1.lse(all);
  const lse1t = U1.lse(all);
  const w = U1.z[y] === null ? 0n : expFix(U1.z[y]! - lse1t);
  const ell = S1.z[y] === null ? null : S1.z[y]! - lse1s;
  let loss = 0n;
  if (w !== 0n) {
    if (ell === null) throw new Error("exactNkdRow: infinite first term");
    loss -= mul(w, ell);
  }
  const S = side(s, n, TT);
  const U = side(t, n, TT);
  const other = (g: number): boolean => g !== y;
  const lseOs = S.lse(other);
  const lseOt = U.lse(other);
  const lq = S.z.map((v, g) => (g === y || v === null ? null : v - lseOs));
  const p = U.z.map((v, g) => (g === y || v === null ? 0n : expFix(v - lseOt)));
  const q = lq.map((v) => (v === null ? 0n : expFix(v)));
  let H = 0n;
  let Elq = 0n;
  p.forEach((pg, g) => {
    if (pg !== 0n) {
      if (lq[g] === null) throw new Error("exactNkdRow: teacher mass on a class the student masks");
      H -= mul(pg, lq[g]!) * BigInt(n[g]!);
      Elq += mul(pg, lq[g]!) * BigInt(n[g]!);
    }
  });
  const G = fix(gamma);
  loss += mul(mul(G, mul(TT, TT)), H);
  const sigma = S1.z.map((v) => (v === null ? 0n : expFix(v - lse1s)));
  const dS = s.map((_, g) => toNumber(mul(w, sigma[g]! - (g === y ? ONE : 0n)) + (g === y ? 0n : mul(mul(G, TT), q[g]! - p[g]!))));
  const dT = t.map((_, g) => (g === y || p[g] === 0n ? 0 : toNumber(-mul(mul(G, TT), mul(p[g]!, lq[g]! - Elq)))));
  return { loss: toNumber(loss), dS, dT };
}

/** wsldLoss for one row: ce_s + αT²·w·soft and its gradients (w a constant). */
export function exactWsldRow(s: number[], t: number[], n: number[], y: number, T: number, alpha: number): ExactGroups {
  const TT = fix(T);
  const all = (): boolean => true;
  const S1 = side(s, n, ONE);
  const U1 = side(t, n, ONE);
  const lse1s = S1.lse(all);
  const lse1t = U1.lse(all);
  if (S1.z[y] === null || U1.z[y] === null) throw new Error("exactWsldRow: a masked target");
  const ceS = lse1s - S1.z[y]!;
  const ceT = lse1t - U1.z[y]!;
  const r = div(ceS, ceT + fix(1e-7));
  const w = ONE - expFix(-max0(r));
  const S = side(s, n, TT);
  const U = side(t, n, TT);
  const lseS = S.lse(all);
  const lseT = U.lse(all);
  const lq = S.z.map((v) => (v === null ? null : v - lseS));
  const p = U.z.map((v) => (v === null ? 0n : expFix(v - lseT)));
  const q = lq.map((v) => (v === null ? 0n : expFix(v)));
  let soft = 0n;
  let Elq = 0n;
  p.forEach((pg, g) => {
    if (pg !== 0n) {
      if (lq[g] === null) throw new Error("exactWsldRow: teacher mass on a class the student masks");
      soft -= mul(pg, lq[g]!) * BigInt(n[g]!);
      Elq += mul(pg, lq[g]!) * BigInt(n[g]!);
    }
  });
  const Aw = fix(alpha);
  const k = mul(mul(Aw, TT), w);
  const loss = ceS + mul(mul(k, TT), soft);
  const sigma = S1.z.map((v) => (v === null ? 0n : expFix(v - lse1s)));
  const dS = s.map((_, g) => toNumber(sigma[g]! - (g === y ? ONE : 0n) + mul(k, q[g]! - p[g]!)));
  const dT = t.map((_, g) => (p[g] === 0n ? 0 : toNumber(-mul(k, mul(p[g]!, lq[g]! - Elq)))));
  return { loss: toNumber(loss), dS, dT };
}

export interface ExactDist {
  loss: number;
  /** [row][group]: the gradient entry of one class of the group. */
  dS: number[][];
  dT: number[][];
}

/**
 * distLoss for a batch: rows s[r][g], t[r][g] over class groups of sizes n[g] (every row
 * has the same groups), eps the norm guard (1e-8).
 */
export function exactDist(s: number[][], t: number[][], n: number[], T: number, beta: number, gamma: number, eps = 1e-8): ExactDist {
  const TT = fix(T);
  const B = s.length;
  const G = n.length;
  const cnt = n.map(BigInt);
  const C = n.reduce((a, b) => a + b, 0);
  const Cb = BigInt(C);
  const Bb = BigInt(B);
  const E = fix(eps);
  const softmaxRow = (x: number[]): bigint[] => {
    const sd = side(x, n, TT);
    const l = sd.lse(() => true);
    return sd.z.map((v) => (v === null ? 0n : expFix(v - l)));
  };
  const Ys = s.map(softmaxRow);
  const Yt = t.map(softmaxRow);
  /** ρ, ∂ρ/∂a, ∂ρ/∂b for vectors a, b with weights w (class counts, or 1 per row). */
  const pearson = (a: bigint[], b: bigint[], w: bigint[]): { om: bigint; ga: bigint[]; gb: bigint[] } => {
    const W = w.reduce((x, y) => x + y, 0n);
    const ma = a.reduce((x, v, i) => x + v * w[i]!, 0n) / W;
    const mb = b.reduce((x, v, i) => x + v * w[i]!, 0n) / W;
    const ac = a.map((v) => v - ma);
    const bc = b.map((v) => v - mb);
    const na = sqrtFix(ac.reduce((x, v, i) => x + mul(v, v) * w[i]!, 0n));
    const nb = sqrtFix(bc.reduce((x, v, i) => x + mul(v, v) * w[i]!, 0n));
    const pa = na > E ? na : E;
    const pb = nb > E ? nb : E;
    const dot = ac.reduce((x, v, i) => x + mul(v, bc[i]!) * w[i]!, 0n);
    const rho = div(dot, mul(pa, pb));
    const ga = ac.map((v, i) => div(bc[i]!, mul(pa, pb)) - (na > E ? div(mul(rho, v), mul(na, na)) : 0n));
    const gb = bc.map((v, i) => div(ac[i]!, mul(pa, pb)) - (nb > E ? div(mul(rho, v), mul(nb, nb)) : 0n));
    return { om: ONE - rho, ga, gb };
  };
  const T2 = mul(TT, TT);
  let loss = 0n;
  const Gs = Ys.map((row) => row.map(() => 0n));
  const Gt = Yt.map((row) => row.map(() => 0n));
  const Bw = fix(beta);
  const Gw = fix(gamma);
  if (beta > 0) {
    for (let r = 0; r < B; r++) {
      const { om, ga, gb } = pearson(Ys[r]!, Yt[r]!, cnt);
      loss += mul(mul(T2, Bw), om) / Bb;
      for (let g = 0; g < G; g++) {
        Gs[r]![g] = Gs[r]![g]! - mul(mul(T2, Bw), ga[g]!) / Bb;
        Gt[r]![g] = Gt[r]![g]! - mul(mul(T2, Bw), gb[g]!) / Bb;
      }
    }
  }
  if (gamma > 0) {
    const ones = Array.from({ length: B }, () => 1n);
    for (let g = 0; g < G; g++) {
      const { om, ga, gb } = pearson(Ys.map((row) => row[g]!), Yt.map((row) => row[g]!), ones);
      loss += (mul(mul(T2, Gw), om) * cnt[g]!) / Cb;
      for (let r = 0; r < B; r++) {
        Gs[r]![g] = Gs[r]![g]! - mul(mul(T2, Gw), ga[r]!) / Cb;
        Gt[r]![g] = Gt[r]![g]! - mul(mul(T2, Gw), gb[r]!) / Cb;
      }
    }
  }
  const back = (Y: bigint[][], Gm: bigint[][]): number[][] =>
    Y.map((row, r) => {
      const dot = row.reduce((x, y, g) => x + mul(y, Gm[r]![g]!) * cnt[g]!, 0n);
      return row.map((y, g) => toNumber(div(mul(y, Gm[r]![g]! - dot), TT)));
    });
  return { loss: toNumber(loss), dS: back(Ys, Gs), dT: back(Yt, Gt) };
}
