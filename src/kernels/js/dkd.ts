import type { Storage } from "../../tensor/dtype.js";
import { centred, hOfM } from "../distillation.js";
import { binarySplitKl, expFromTerms, logRatioReference, logRatioTerms, rowLogSum, rowMax } from "./kd-rows.js";

/**
 * The fused Decoupled-KD kernel (src/losses/dkd-loss.ts derives every formula used
 * here). For each row with target y and the other classes O = {j ≠ y}:
 *
 *   q̂ = softmax over O of s/T,  p̂ = softmax over O of t/T   (the target removed exactly)
 *   Λ_s = s_y/T − lse_O(s/T),   Λ_t = t_y/T − lse_O(t/T)     (the binary logits: P_s = σ(Λ_s) = p_s,y)
 *   TCKD = KL(Bern(P_t) ‖ Bern(P_s)), P_t = σ(Λ_t);   NCKD = KL(p̂ ‖ q̂)
 *   loss = (1/B) Σ_rows T²·(α·TCKD + β·NCKD)
 *   dS_y = T·α(P_s − P_t)/B,   dS_j = T·[−α(P_s − P_t)q̂_j + β(q̂_j − p̂_j)]/B
 *   dT_y = T·α·gT/B,       dT_j = T·[−α·gT·p̂_j + β·p̂_j(ℓ̂_j − NCKD)]/B,   gT = P_t·P̄_t·(Λ_t − Λ_s)
 *
 * 1 − P_s is never formed by a subtraction: P_s and P̄_s = 1 − P_s = σ(−Λ_s) come from Λ_s, a
 * difference of log-space quantities (lse_O is a log-sum-exp over the other classes).
 *
 * The non-target KL uses the two forms of the distillation kernel
 * (src/kernels/distillation.ts): the log-ratio form for a regular row (finite logits, or
 * non-target classes the teacher masks; the spread of the exact (t − s)/T over O at most
 * SPREAD_64), with x_j = ((t_j − s_j) − ū)/T centred at the q̂-mean ū of the exact t − s, ū kept
 * as the pair Du + cu, never one rounded number (logRatioReference, kd-rows.ts: at a student of
 * 1e20 or a t − s of −1.7e34 the rounded spread or centre gave a NaN loss where it is finite),
 *   NCKD = Γ/(1 + M) + h(M),  p̂ = q̂·eˣ/(1 + M),  q̂ − p̂ = q̂·(M − ζ)/(1 + M),  ℓ̂_j − NCKD = x_j − E_p̂[x];
 * and the direct form Σ p̂·((t_j − m_t) − (s_j − m_s))/T − (c_t − c_s)) otherwise. In the
 * log-ratio form the binary logits' difference comes out of the same sums without a
 * cancellation:
 *   lse_O(t/T) = lse_O(s/T) + ū/T + log1p(M),   so   Δ = Λ_s − Λ_t = log1p(M) − x_y,
 * x_y = ((t_y − s_y) − ū)/T carried exactly like x_j (two-sum): Δ keeps its relative
 * accuracy when it is O(1/T) at large T, where Λ_s − Λ_t formed from two log-sum-exps
 * would carry an absolute ε·log C. The binary KL then uses its own log-ratio form
 * (binarySplitKl, kd-rows.ts).
 *
 * Masks and non-finite values (docs/non-finite.md): a non-target class the teacher
 * masks adds nothing to NCKD (0·log 0 = 0); a target the teacher masks gives P_t = 0,
 * TCKD = −log(1 − P_s), finite; a class the student masks where the teacher has mass
 * gives +∞. A row whose non-target logits are all −∞ on one side has no non-target
 * distribution: NCKD is NaN (with β > 0), TCKD still has its value (ℓ = +∞ there).
 * NaN in a logit the term reads gives NaN. A term of weight 0 is not evaluated (α = 0:
 * the target column is not read; β = 0: no NCKD), so it cannot inject a NaN.
 *
 * Each KL is clamped at 0 in the loss (a rounded value a few ulps below 0); the
 * gradients use the unclamped pieces, as in the distillation kernel.
 */
export function dkd(
  s: Storage, t: Storage, labels: Int32Array, B: number, C: number, T: number, alpha: number, beta: number,
  dS: Storage | null, dT: Storage | null,
): number {
  const es = new Float64Array(C);
  const et = new Float64Array(C);
  const terms = new Float64Array(2);
  const split = new Float64Array(5);
  const invT = 1 / T;
  const T2 = T * T;
  const c = T / B;
  let total = 0;
  for (let r = 0; r < B; r++) {
    const base = r * C;
    const y = labels[r]!;
    if (alpha === 0 && beta === 0) {
      // Every term has weight 0: nothing is read.
      for (let j = 0; j < C; j++) {
        if (dS) dS[base + j] = 0;
        if (dT) dT[base + j] = 0;
      }
      continue;
    }
    // Pass 1 over the non-target classes: maxima, and whether the row is regular (no NaN
    // or +∞, the student masks no class the teacher keeps, a bounded spread of the exact
    // u = t − s), with the reference Du of the centre (logRatioReference, kd-rows.ts).
    const ms = rowMax(s, base, C, y);
    const mt = rowMax(t, base, C, y);
    const Du = logRatioReference(s, t, base, C, y, ms, mt, invT);
    let logRatio = Du === Du;
    const sy = s[base + y]!;
    const ty = t[base + y]!;
    // The student's non-target softmax (es/Ss) and Λ_s. rowLogSum returns log1p(R + N − 1);
    // Ss itself = Σ es, needed for q̂.
    const cs = rowLogSum(s, base, C, y, ms, invT, es);
    let Ss = 0;
    for (let j = 0; j < C; j++) Ss += es[j]!;
    const rSs = 1 / Ss;
    const ls = (sy - ms) * invT - cs;
    // The teacher side: the log-ratio sums, or the teacher's own exponentials.
    let nckd = 0;
    let M = 0;
    // The centre ū = Du + cu (cu from the exact t − s: logRatioReference), from Σ q̂·((t − s) − Du)
    // and Σ q̂ over the non-target classes the teacher keeps.
    let cu = 0;
    if (logRatio) {
      let Su = 0;
      let Sq = 0;
      for (let j = 0; j < C; j++) {
        if (j === y) continue;
        const tj = t[base + j]!;
        if (tj !== -Infinity) {
          Su += es[j]! * centred(tj, s[base + j]!, Du, 0);
          Sq += es[j]!;
        }
      }
      // The log-ratio form needs the student to keep at least half its non-target mass on the
      // teacher's support (Q = Sq/Ss ≥ ½), as in src/kernels/distillation.ts: a class the teacher
      // masks enters M as ζ = −1, so 1 + M = Q·(1 + M̃) is formed as 1 − (1 − Q) + …, a relative
      // error ε/Q, and nothing at Q below ε (s = [0, 0, −2866], t = [0, −∞, 1.5], target 0, T = 1:
      // 1 + M rounded to 0 and a NaN loss where it is finite). With Q < ½, NCKD ≥ −log Q > log 2,
      // and the direct form's absolute error is relative to it.
      if (Sq >= 0.5 * Ss) cu = Su / Sq;
      else logRatio = false;
    }
    let Epx = 0;
    let lt: number;
    let delta: number;
    let rSt = 0;
    let ct = 0;
    if (logRatio) {
      let Gam = 0;
      let Px = 0;
      for (let j = 0; j < C; j++) {
        if (j === y) {
          et[j] = 0;
          continue;
        }
        const tj = t[base + j]!;
        const x = tj === -Infinity ? -Infinity : centred(tj, s[base + j]!, Du, cu) * invT;
        logRatioTerms(x, terms);
        et[j] = terms[0]!;
        M += es[j]! * terms[0]!;
        Gam += es[j]! * terms[1]!;
        if (x !== -Infinity) Px += es[j]! * expFromTerms(x, terms[0]!) * x;
      }
      M *= rSs;
      Gam *= rSs;
      nckd = Gam / (1 + M) + hOfM(M);
      Epx = (Px * rSs) / (1 + M);
      // Λ_t = ((t_y − m_s) − ū)/T − c_s − log1p(M): lse_O(t/T) = lse_O(s/T) + ū/T + log1p(M).
      // (t_y − m_s) − ū from the pair ū = Du + cu with t_y − m_s carried exactly: it rounds at
      // ε·|t_y − t_k| (k the class of Du, whose s is m_s unless the teacher masks it), the
      // teacher's own logit gap, never at ε·|t_y − m_s| (at a student of 1e20, 2e4 per unit of T).
      const L1M = Math.log1p(M);
      lt = (ty - ty === 0 ? centred(ty, ms, Du, cu) : ty - ms) * invT - cs - L1M;
      delta = sy - sy === 0 && ty - ty === 0 ? L1M - centred(ty, sy, Du, cu) * invT : ls - lt;
    } else {
      ct = rowLogSum(t, base, C, y, mt, invT, et);
      let St = 0;
      for (let j = 0; j < C; j++) St += et[j]!;
      rSt = 1 / St;
      lt = (ty - mt) * invT - ct;
      delta = ls - lt;
      if (beta > 0) {
        if (ms === -Infinity || mt === -Infinity) nckd = NaN; // no non-target distribution on one side
        else {
          for (let j = 0; j < C; j++) {
            if (j === y) continue;
            const p = et[j]! * rSt;
            if (p !== 0) nckd += p * ((t[base + j]! - mt - (s[base + j]! - ms)) * invT - (ct - cs));
          }
        }
      }
    }
    let bMinusA = 0;
    let gT = 0;
    if (alpha > 0) {
      binarySplitKl(ls, lt, delta, split, terms);
      const tckd = split[0]!;
      bMinusA = split[1]!;
      gT = split[2]!;
      total += alpha * T2 * (tckd < 0 ? 0 : tckd);
    }
    if (beta > 0) total += beta * T2 * (nckd < 0 ? 0 : nckd);
    const nonDist = beta > 0 && !logRatio && (ms === -Infinity || mt === -Infinity);
    if (dS !== null) {
      const A = rSs / (1 + M);
      for (let j = 0; j < C; j++) {
        if (j === y) {
          dS[base + j] = alpha > 0 ? c * alpha * bMinusA : 0;
          continue;
        }
        const q = es[j]! * rSs;
        let d = alpha > 0 ? -alpha * bMinusA * q : 0;
        if (beta > 0) {
          // q̂ − p̂: q̂·(M − m)/(1 + M) in the log-ratio form.
          if (nonDist) d = NaN;
          else d += beta * (logRatio ? A * es[j]! * (M - et[j]!) : q - et[j]! * rSt);
        }
        dS[base + j] = c * d;
      }
    }
    if (dT !== null) {
      const P = rSs / (1 + M);
      for (let j = 0; j < C; j++) {
        if (j === y) {
          dT[base + j] = alpha > 0 ? c * alpha * gT : 0;
          continue;
        }
        // p̂_j, and ℓ̂_j − NCKD (x_j − E_p̂[x] in the log-ratio form); p̂ = 0 at a masked class.
        let p: number;
        let dev = 0;
        const tj = t[base + j]!;
        if (logRatio) {
          if (tj === -Infinity) p = 0;
          else {
            const x = centred(tj, s[base + j]!, Du, cu) * invT;
            p = es[j]! * expFromTerms(x, et[j]!) * P;
            dev = x - Epx;
          }
        } else {
          p = et[j]! * rSt;
          if (beta > 0 && p !== 0) dev = (tj - mt - (s[base + j]! - ms)) * invT - (ct - cs) - nckd;
        }
        let g = 0;
        if (alpha > 0 && gT !== 0) g -= alpha * gT * p;
        if (beta > 0) {
          if (nonDist) g = NaN;
          else if (p !== 0) g += beta * p * dev;
        }
        dT[base + j] = c * g;
      }
    }
  }
  return total / B;
}
