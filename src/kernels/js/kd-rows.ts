import { SPREAD_64, centred, exactSpread, hOfM, phiSeries } from "../distillation.js";

/**
 * Pieces shared by the fused kernels of the distillation methods (dkd.ts, dist.ts,
 * nkd.ts, wsld.ts): row log-sum-exps that keep a tail far below 1, the log-ratio
 * terms of a KL (docs/distillation.md, "The log-ratio form"), and the KL of a
 * binary split given by its two logits. Everything in float64.
 */

type Num = { readonly [i: number]: number; readonly length: number };

/**
 * The terms of the log-ratio form at a centred log-ratio x: ζ = eˣ − 1 and
 * G = 1 + (x − 1)eˣ = x·ζ − φ(x), written to out[0], out[1]. For |x| ≤ 1 from φ's
 * series (src/kernels/distillation.ts, phiSeries), where both are O(x) and O(x²)
 * and a direct eˣ − 1 or 1 + (x − 1)eˣ would cancel; otherwise from Math.exp
 * (ζ ≥ 0.63 in size, G cancels by at most a factor 7 at x = −1). At x = −∞
 * (a class the teacher masks) ζ = −1, G = 1: the limits, since (x − 1)eˣ → 0.
 */
export function logRatioTerms(x: number, out: Float64Array): void {
  if (x === -Infinity) {
    out[0] = -1;
    out[1] = 1;
  } else if (x <= 1 && x >= -1) {
    const phi = phiSeries(x);
    const m = phi + x;
    out[0] = m;
    out[1] = x * m - phi;
  } else {
    const ex = Math.exp(x);
    out[0] = ex - 1;
    out[1] = 1 + (x - 1) * ex;
  }
}

/** eˣ from x and ζ = eˣ − 1 (`m`): 1 + ζ for x ≥ −1, else exp(x) (where 1 + ζ would keep only ε/eˣ of it). */
export function expFromTerms(x: number, m: number): number {
  return x >= -1 ? 1 + m : Math.exp(x);
}

/** σ(x) = 1/(1 + e⁻ˣ) without overflow, relative-accurate at both ends; σ(±∞) = 1, 0. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** softplus(x) = log(1 + eˣ) = max(x, 0) + log1p(e^{−|x|}); softplus(∞) = ∞, softplus(−∞) = 0. */
export function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

/**
 * The KL of a binary split, KL(Bern(P_t) ‖ Bern(P_s)) with P_t = σ(Λ_t), P_s = σ(Λ_s) given by
 * their logits (log-odds), and its pieces for the gradients; writes
 *   out[0] = the KL (unclamped),  out[1] = P_s − P_t,  out[2] = P_t·P̄_t·(Λ_t − Λ_s)   (P̄_t = 1 − P_t),
 *   out[3] = P_t,  out[4] = P̄_t.
 * `delta` is Λ_s − Λ_t when the caller knows it more accurately than the difference of
 * the two logits (dkd.ts forms it from a centred log-ratio); pass Λ_s − Λ_t otherwise.
 *
 * The log-ratio form, for finite Λ_s and |Δ| ≤ SPREAD_64. The split is a softmax over
 * two classes with student logits (Λ_s, 0) and teacher logits (Λ_t, 0): q = (P_s, P̄_s),
 * u = (Λ_t − Λ_s, 0) = (−Δ, 0), whose q-mean is −P_sΔ, so the centred log-ratios are
 *   x₀ = −P̄_sΔ,  x₁ = P_sΔ   (P_s·x₀ + P̄_s·x₁ = 0),
 * and with ζ, G of logRatioTerms, M = P_s·ζ₀ + P̄_s·ζ₁, Γ = P_s·G₀ + P̄_s·G₁:
 *   KL = Γ/(1 + M) + h(M),  P_t = P_s·e^{x₀}/(1 + M),  P̄_t = P̄_s·e^{x₁}/(1 + M),  P_s − P_t = P_s·(M − ζ₀)/(1 + M).
 * Nothing cancels at first order (docs/distillation.md): the KL keeps a relative error of
 * a few dozen ulps however small Δ is, where the direct P_t·log(P_t/P_s) + P̄_t·log(P̄_t/P̄_s) would lose
 * ε/Δ² of it. P_s and P̄_s each come from e^{−|Λ_s|} (no 1 − P_s).
 * Check: Δ = 0 gives x = 0, ζ = G = M = 0: KL = 0, P_t = P_s.
 *
 * The direct form, for the rest (an infinite logit: a target or all other classes masked;
 * a NaN; |Δ| > SPREAD_64): log P_t = −softplus(−Λ_t), log P̄_t = −softplus(Λ_t), likewise for P_s,
 * and a term whose teacher mass is 0 adds 0 (0·log 0 = 0). The teacher factor P_t·P̄_t·(Λ_t − Λ_s)
 * is 0 when P_t or P̄_t is 0 (never 0·∞). NaN in a logit gives NaN everywhere.
 */
export function binarySplitKl(ls: number, lt: number, delta: number, out: Float64Array, terms: Float64Array): void {
  if (ls - ls === 0 && delta - delta === 0 && Math.abs(delta) <= SPREAD_64) {
    const e = Math.exp(-Math.abs(ls));
    const b = ls >= 0 ? 1 / (1 + e) : e / (1 + e);
    const bb = ls >= 0 ? e / (1 + e) : 1 / (1 + e);
    const x0 = -bb * delta;
    const x1 = b * delta;
    logRatioTerms(x0, terms);
    const m0 = terms[0]!;
    const G0 = terms[1]!;
    logRatioTerms(x1, terms);
    const m1 = terms[0]!;
    const G1 = terms[1]!;
    const M = b * m0 + bb * m1;
    const Gam = b * G0 + bb * G1;
    const a = (b * expFromTerms(x0, m0)) / (1 + M);
    const ab = (bb * expFromTerms(x1, m1)) / (1 + M);
    out[0] = Gam / (1 + M) + hOfM(M);
    out[1] = (b * (M - m0)) / (1 + M);
    out[2] = -a * ab * delta;
    out[3] = a;
    out[4] = ab;
    return;
  }
  const b = sigmoid(ls);
  const bb = sigmoid(-ls);
  const a = sigmoid(lt);
  const ab = sigmoid(-lt);
  let kl = 0;
  if (a !== 0) kl += a * (softplus(-ls) - softplus(-lt));
  if (ab !== 0) kl += ab * (softplus(ls) - softplus(lt));
  out[0] = kl;
  // b − a, or ā − b̄ when both are near 1 (then the small complements are the accurate ones).
  out[1] = ls >= 0 && lt >= 0 ? ab - bb : b - a;
  out[2] = a !== 0 && ab !== 0 ? a * ab * (lt - ls) : 0;
  out[3] = a;
  out[4] = ab;
}

/**
 * log Σ exp((x_j − m)/T) over the classes of a row other than `skip` (−1: none
 * skipped), as the pieces of a log-sum-exp that keeps a tail far below 1: with m the max of
 * the kept values and e_j = exp((x_j − m)/T), returns log S = log1p(R + (N − 1)),
 * R the sum of the e_j below 1 and N the number that equal 1 (the max and its ties),
 * so that log1p keeps a tail R ≪ 1 that log(1 + R) would round away. The e_j are
 * written to `e` (0 at a skipped class). m = −∞ (nothing kept, or every kept value
 * −∞) gives log S = −∞ and e = 0: an empty support. NaN or +∞ in a kept value gives
 * NaN. The caller passes m (found in its first pass).
 */
export function rowLogSum(x: Num, base: number, C: number, skip: number, m: number, invT: number, e: Float64Array | null): number {
  if (m === -Infinity) {
    if (e) e.fill(0, 0, C);
    return -Infinity;
  }
  let S = 0;
  let R = 0;
  let N = 0;
  for (let j = 0; j < C; j++) {
    if (j === skip) {
      if (e) e[j] = 0;
      continue;
    }
    const a = Math.exp((x[base + j]! - m) * invT);
    if (e) e[j] = a;
    S += a;
    if (a < 1) R += a;
    else if (a === 1) N++;
  }
  return S === S ? Math.log1p(R + (N - 1)) : S;
}

/** The max of a row over its classes other than `skip` (−1: none skipped); a NaN wins. */
export function rowMax(x: Num, base: number, C: number, skip: number): number {
  let m = -Infinity;
  for (let j = 0; j < C; j++) {
    if (j === skip) continue;
    const v = x[base + j]!;
    if (v > m || v !== v) m = v;
  }
  return m;
}

/**
 * Whether a row (its classes other than `skip`; −1: none skipped) takes the log-ratio form, and
 * if so the reference D of its centre; NaN if it does not. ms, mt are the row's maxima
 * (rowMax). The row is regular when no logit is NaN or +∞, the student masks no class the
 * teacher keeps, and the spread of the exact (t − s)/T over the classes where it is finite is
 * at most SPREAD_64. D is t − s (rounded) at the student's largest logit among those classes.
 *
 * The centre. The log-ratio form centres x = ((t − s) − ū)/T at the q-mean ū of the exact
 * t − s, and keeps ū as the pair D + c, c = Σ q·((t − s) − D)/Σ q with t − s carried exactly
 * (`centred`), as src/kernels/distillation.ts does: one rounded number ū = Σ q·(t − s)/Σ q is
 * off by ε·|ū|, which moves every x by ε·|ū|/T, an error set by where the logits sit, not by how
 * they differ. At a teacher class 1.7e34 below the student (s = [0.5, −3, 1.625],
 * t = [2, −1.7e34, −∞], target 0, T = 4) the rounded ū missed the one finite t − s by an ulp of
 * 1.7e34: x = −5.8e17 where it is 0 (dkdLoss), e^x = 0, M = −1 and a NaN loss. With D at the
 * student's largest logit, c and the x of the classes that carry the mass are small and keep
 * their relative accuracy.
 *
 * The spread. Each rounded u = t − s is within 2⁻⁵³|u| of the exact one, so the exact spread
 * lies within slack = 2⁻⁵³(|umax| + |umin|) of umax − umin; where that leaves the limit open
 * the two-sum pieces decide (exactSpread). From the rounded u alone, a student at 1e20 (doubles
 * 16384 apart there) and a teacher at [0, 3000, 0, 1000] had a spread of 0 where it is 3000:
 * the log-ratio form then met x = ±1500 at T = 1, e¹⁵⁰⁰ = ∞ and a NaN loss and gradient.
 * (Written with invT, so that a spread of 0 at T = 5e-324, 0·∞, is not regular.)
 */
export function logRatioReference(s: Num, t: Num, base: number, C: number, skip: number, ms: number, mt: number, invT: number): number {
  if (!(ms - ms === 0 && mt - mt === 0)) return NaN;
  let umin = Infinity;
  let umax = -Infinity;
  let mk = -Infinity;
  let D = NaN;
  for (let j = 0; j < C; j++) {
    if (j === skip) continue;
    const tj = t[base + j]!;
    const sj = s[base + j]!;
    const u = tj - sj;
    if (u - u === 0) {
      if (u < umin) umin = u;
      if (u > umax) umax = u;
      if (sj > mk) {
        mk = sj;
        D = u;
      }
    } else if (tj !== -Infinity) return NaN;
  }
  const slack = 2 ** -53 * (Math.abs(umax) + Math.abs(umin));
  if (!((umax - umin - slack) * invT <= SPREAD_64)) return NaN;
  if (!((umax - umin + slack) * invT <= SPREAD_64) && !(exactSpread(s, t, base, C, umax, skip) * invT <= SPREAD_64)) return NaN;
  return D;
}

/**
 * D = p − q for one row, p = softmax(t/T) and q = softmax(s/T) (q given, normalised, read
 * from q[qBase + j]), over the classes other than `skip` (−1: none; D is 0 at skip), into
 * D[dBase + j]. In the log-ratio form of src/kernels/distillation.ts when the row is regular
 * (finite, or classes the teacher masks; the spread of (t − s)/T over the classes at most
 * SPREAD_64: logRatioReference): x = ((t − s) − ū)/T centred at the q-mean ū of the exact
 * t − s, ū kept as the pair D + c (logRatioReference), m = expm1(x), M = Σ q·m,
 *   D = q·(m − M)/(1 + M)
 * (p = q·eˣ/(1 + M)): relative-accurate however close p and q are, where p − q formed from two
 * rounded softmaxes keeps only an absolute ε·(p + q) (at T = 1e6 they agree to 1e-6 and the
 * difference would lose six digits). A class the teacher masks has m = −1. Otherwise the
 * max-shifted softmax of t minus q. Returns whether the log-ratio form was used.
 */
export function softmaxDifference(
  s: Num, t: Num, base: number, C: number, skip: number, invT: number, q: Float64Array, qBase: number, D: Float64Array, dBase: number,
): boolean {
  const ms = rowMax(s, base, C, skip);
  const mt = rowMax(t, base, C, skip);
  if (skip >= 0) D[dBase + skip] = 0;
  const Du = logRatioReference(s, t, base, C, skip, ms, mt, invT);
  // The centre ū = Du + c (logRatioReference): c from the exact t − s, never ū rounded.
  let Su = 0;
  let Sq = 0;
  let Qall = 0;
  if (Du === Du) {
    for (let j = 0; j < C; j++) {
      if (j === skip) continue;
      const tj = t[base + j]!;
      Qall += q[qBase + j]!;
      if (tj !== -Infinity) {
        Su += q[qBase + j]! * centred(tj, s[base + j]!, Du, 0);
        Sq += q[qBase + j]!;
      }
    }
  }
  // The log-ratio form needs at least half of q on the teacher's support (Sq ≥ ½ of q's mass over
  // the classes in play), as in src/kernels/distillation.ts: a class the teacher masks enters M as
  // m = −1, so 1 + M = Q·(1 + M̃) is formed as 1 − (1 − Q) + …, a relative error ε/Q, and nothing at
  // Q below ε (s = [0, −2866], t = [−∞, 1.5], T = 1: 1 + M rounded to 0, NaN differences where p − q
  // is [−1, 1]). Below ½, |p − q| ≥ 1 − Q > ½ on the masked classes, and the direct form's absolute
  // error ε·(p + q) is relative to that.
  if (Du === Du && Sq >= 0.5 * Qall) {
    const c = Su / Sq;
    let M = 0;
    for (let j = 0; j < C; j++) {
      if (j === skip) continue;
      const tj = t[base + j]!;
      const m = tj === -Infinity ? -1 : Math.expm1(centred(tj, s[base + j]!, Du, c) * invT);
      D[dBase + j] = m;
      M += q[qBase + j]! * m;
    }
    for (let j = 0; j < C; j++) if (j !== skip) D[dBase + j] = (q[qBase + j]! * (D[dBase + j]! - M)) / (1 + M);
    return true;
  }
  let S = 0;
  for (let j = 0; j < C; j++) {
    if (j === skip) continue;
    const e = Math.exp((t[base + j]! - mt) * invT);
    D[dBase + j] = e;
    S += e;
  }
  for (let j = 0; j < C; j++) if (j !== skip) D[dBase + j] = D[dBase + j]! / S - q[qBase + j]!;
  return false;
}
