import type { Storage } from "../../tensor/dtype.js";
import { rowLogSum, rowMax, softmaxDifference } from "./kd-rows.js";

/**
 * The fused Normalized-KD kernel (src/losses/nkd-loss.ts derives the formulas). For each
 * row with target y, O = {j ≠ y}:
 *
 *   w = softmax(t)_y (T = 1, a constant: stop-gradient),  ℓ = log softmax(s)_y (T = 1)
 *   q̂ = softmax over O of s/T,  p̂ = softmax over O of t/T   (the target removed exactly)
 *   loss = (1/B) Σ_rows [ −w·ℓ + γ·T²·H ],   H = −Σ_O p̂_j log q̂_j
 *   dS = [w·(softmax(s) − e_y) + γ·T·(q̂ − p̂)]/B                 (q̂, p̂ read as 0 at y)
 *   dT_j = −γ·T·p̂_j·(z_j − E_p̂[z])/B,  z = (s − max_O s)/T,  dT_y = 0
 *
 * Both terms are sums of non-negative parts (−ℓ ≥ 0, and −log q̂_j = c_s − z_j with both
 * c_s ≥ 0 and −z_j ≥ 0), each formed in log space: they keep a relative error of a few ulps
 * per part, with no cancellation, at every T. The student's q̂ − p̂ comes from the log-ratio
 * form where the row allows (softmaxDifference, kd-rows.ts), so it keeps its relative accuracy
 * at large T, where q̂ and p̂ agree to O(1/T). The teacher gradient uses
 * log q̂_j − E_p̂[log q̂] = z_j − E_p̂[z] (the log-normaliser cancels exactly).
 *
 * Non-finite values (docs/non-finite.md): a class the teacher masks adds nothing
 * (0·log 0 = 0); the first term with w = 0 (the teacher masks the target) adds 0 even when
 * the student masks it too; a class the student masks where the teacher has mass gives
 * +∞. A side whose non-target logits are all −∞ has no non-target distribution: NaN
 * (when γ > 0). NaN in gives NaN. γ = 0 skips the non-target term.
 */
export function nkd(
  s: Storage, t: Storage, labels: Int32Array, B: number, C: number, T: number, gamma: number,
  dS: Storage | null, dT: Storage | null,
): number {
  const e1 = new Float64Array(C);
  const es = new Float64Array(C);
  const et = new Float64Array(C);
  const qh = new Float64Array(C);
  const diff = new Float64Array(C);
  const invT = 1 / T;
  const c = T / B;
  let total = 0;
  for (let r = 0; r < B; r++) {
    const base = r * C;
    const y = labels[r]!;
    // The target term at T = 1: w = softmax(t)_y = exp((t_y − m_t) − c_t), ℓ = (s_y − m_s) − c_s.
    const m1s = rowMax(s, base, C, -1);
    const c1s = rowLogSum(s, base, C, -1, m1s, 1, e1);
    const m1t = rowMax(t, base, C, -1);
    const c1t = rowLogSum(t, base, C, -1, m1t, 1, null);
    const w = Math.exp(t[base + y]! - m1t - c1t);
    const ell = s[base + y]! - m1s - c1s;
    // 0·log 0 = 0: no teacher mass on the target, no term (even at ℓ = −∞).
    if (w !== 0) total -= w * ell;
    // The non-target term at T.
    let H = 0;
    let ms = 0;
    let cs = 0;
    let rSs = 0;
    let rSt = 0;
    let nonDist = false;
    if (gamma > 0) {
      ms = rowMax(s, base, C, y);
      const mt = rowMax(t, base, C, y);
      cs = rowLogSum(s, base, C, y, ms, invT, es);
      rowLogSum(t, base, C, y, mt, invT, et);
      let Ss = 0;
      let St = 0;
      for (let j = 0; j < C; j++) {
        Ss += es[j]!;
        St += et[j]!;
      }
      rSs = 1 / Ss;
      rSt = 1 / St;
      nonDist = ms === -Infinity || mt === -Infinity;
      if (nonDist) H = NaN;
      else {
        for (let j = 0; j < C; j++) {
          if (j === y) continue;
          const p = et[j]! * rSt;
          // −log q̂_j = c_s − (s_j − m_s)/T: two non-negative parts.
          if (p !== 0) H += p * (cs - (s[base + j]! - ms) * invT);
        }
      }
      total += gamma * T * T * H;
    }
    if (dS !== null) {
      const rS1 = Math.exp(-c1s);
      if (gamma > 0 && !nonDist) {
        // q̂ − p̂ = −(p̂ − q̂), in the log-ratio form where the row allows.
        for (let j = 0; j < C; j++) qh[j] = es[j]! * rSs;
        softmaxDifference(s, t, base, C, y, invT, qh, 0, diff, 0);
      }
      for (let j = 0; j < C; j++) {
        let d = w !== 0 ? w * (e1[j]! * rS1 - (j === y ? 1 : 0)) : 0;
        if (gamma > 0 && j !== y) d = nonDist ? NaN : d - gamma * T * diff[j]!;
        dS[base + j] = d / B;
      }
    }
    if (dT !== null) {
      if (gamma > 0 && !nonDist) {
        // E_p̂[z], then −γ·T·p̂·(z − E_p̂[z]); 0 where p̂ = 0.
        let Ez = 0;
        for (let j = 0; j < C; j++) {
          const p = et[j]! * rSt;
          if (j !== y && p !== 0) Ez += p * (s[base + j]! - ms);
        }
        for (let j = 0; j < C; j++) {
          const p = et[j]! * rSt;
          dT[base + j] = j === y || p === 0 ? 0 : -c * gamma * p * ((s[base + j]! - ms) - Ez) * invT;
        }
      } else {
        for (let j = 0; j < C; j++) dT[base + j] = gamma > 0 ? NaN : 0;
      }
    }
  }
  return total / B;
}
