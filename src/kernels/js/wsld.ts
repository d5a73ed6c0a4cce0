import type { Storage } from "../../tensor/dtype.js";
import { rowLogSum, rowMax, softmaxDifference } from "./kd-rows.js";

/**
 * The fused weighted-soft-label kernel (src/losses/wsld-loss.ts derives the formulas).
 * For each row with target y:
 *
 *   ce_s = −log softmax(s)_y,  ce_t = −log softmax(t)_y   (T = 1)
 *   w = 1 − exp(−max(0, ce_s/(ce_t + 1e-7)))               (a constant: stop-gradient)
 *   soft = −Σ_j p_j log q_j,  q = softmax(s/T), p = softmax(t/T)
 *   loss = (1/B) Σ_rows [ ce_s + α·T²·w·soft ]
 *   dS = [softmax(s) − e_y + α·T·w·(q − p)]/B
 *   dT = −α·T·w·p ⊙ (z − E_p[z])/B,   z = (s − max s)/T
 *
 * Every part is non-negative and formed in log space: ce = (max − x_y) + log1p(R + N − 1)
 * (two non-negative parts; a confident row keeps its tiny cross-entropy), −log q_j =
 * c_s − z_j likewise, and w = −expm1(−r), so nothing cancels at any T. The student's q − p
 * comes from the log-ratio form where the row allows (softmaxDifference, kd-rows.ts): relative-
 * accurate at large T. The teacher gradient uses log q_j − E_p[log q] = z_j − E_p[z] (the
 * normaliser cancels exactly).
 *
 * Non-finite values (docs/non-finite.md): a class the teacher masks adds nothing to soft
 * (0·log 0 = 0); a weight w = 0 (a student with ce_s = 0, or a teacher that masks the
 * target: ce_t = ∞) leaves the soft term out entirely, like a weight-0 hyperparameter; a
 * student that masks its target makes ce_s and the loss +∞ (w = 1); when both mask it,
 * ce_s/ce_t = ∞/∞ has no value and w is NaN, as in PyTorch. NaN in gives NaN. α = 0 skips
 * the soft term (the teacher is then not read).
 */
export function wsld(
  s: Storage, t: Storage, labels: Int32Array, B: number, C: number, T: number, alpha: number,
  dS: Storage | null, dT: Storage | null,
): number {
  const e1 = new Float64Array(C);
  const es = new Float64Array(C);
  const et = new Float64Array(C);
  const q = new Float64Array(C);
  const diff = new Float64Array(C);
  const invT = 1 / T;
  let total = 0;
  for (let r = 0; r < B; r++) {
    const base = r * C;
    const y = labels[r]!;
    const m1s = rowMax(s, base, C, -1);
    const c1s = rowLogSum(s, base, C, -1, m1s, 1, e1);
    // (max − s_y) + log S: both parts ≥ 0, never s_y − (max + log S).
    const ceS = (m1s - s[base + y]!) + c1s;
    total += ceS;
    let w = 0;
    let soft = 0;
    let ms = 0;
    let rSs = 0;
    let rSt = 0;
    if (alpha > 0) {
      const m1t = rowMax(t, base, C, -1);
      const ceT = (m1t - t[base + y]!) + rowLogSum(t, base, C, -1, m1t, 1, null);
      const ratio = ceS / (ceT + 1e-7);
      // max(0, ratio) with NaN propagating (torch.max of two tensors), then 1 − e^{−ratio}.
      w = ratio !== ratio ? NaN : -Math.expm1(-Math.max(0, ratio));
      if (w !== 0) {
        ms = T === 1 ? m1s : rowMax(s, base, C, -1);
        const mt = T === 1 ? m1t : rowMax(t, base, C, -1);
        const cs = rowLogSum(s, base, C, -1, ms, invT, es);
        rowLogSum(t, base, C, -1, mt, invT, et);
        let Ss = 0;
        let St = 0;
        for (let j = 0; j < C; j++) {
          Ss += es[j]!;
          St += et[j]!;
        }
        rSs = 1 / Ss;
        rSt = 1 / St;
        for (let j = 0; j < C; j++) {
          const p = et[j]! * rSt;
          if (p !== 0) soft += p * (cs - (s[base + j]! - ms) * invT);
        }
        total += alpha * T * T * w * soft;
      }
    }
    const k = alpha * T * w;
    if (dS !== null) {
      const rS1 = Math.exp(-c1s);
      const soft = alpha > 0 && w !== 0;
      if (soft) {
        // q − p = −(p − q), in the log-ratio form where the row allows.
        for (let j = 0; j < C; j++) q[j] = es[j]! * rSs;
        softmaxDifference(s, t, base, C, -1, invT, q, 0, diff, 0);
      }
      for (let j = 0; j < C; j++) {
        let d = e1[j]! * rS1 - (j === y ? 1 : 0);
        if (soft) d -= k * diff[j]!;
        dS[base + j] = d / B;
      }
    }
    if (dT !== null) {
      if (alpha > 0 && w !== 0) {
        let Ez = 0;
        for (let j = 0; j < C; j++) {
          const p = et[j]! * rSt;
          if (p !== 0) Ez += p * (s[base + j]! - ms);
        }
        for (let j = 0; j < C; j++) {
          const p = et[j]! * rSt;
          dT[base + j] = p === 0 ? 0 : (-k * p * ((s[base + j]! - ms) - Ez) * invT) / B;
        }
      } else {
        for (let j = 0; j < C; j++) dT[base + j] = 0;
      }
    }
  }
  return total / B;
}
