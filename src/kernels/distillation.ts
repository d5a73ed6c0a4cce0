type Num = { [i: number]: number; readonly length: number };

/**
 * The fused distillation kernel: for B rows of C student logits s and
 * teacher logits t, in one pass structure per row,
 *
 *   loss = (1/B) Σ_rows [ α·T²·KL_row + (1 − α)·ce_row ]
 *   KL_row = Σᵢ p_t,i (log p_t,i − log p_s,i),  p_s = softmax(s/T), p_t = softmax(t/T)
 *   ce_row = −log softmax(s)_y
 *
 * and, when asked (dS / dT not null), the gradients of `loss`:
 *
 *   dS_i = [α·T·(p_s,i − p_t,i) + (1 − α)(softmax(s)_i − [i = y])] / B
 *   dT_i = α·T·p_t,i·((log p_t,i − log p_s,i) − KL_row) / B
 *
 * (derivations in src/losses/distillation-loss.ts and docs/distillation.md).
 *
 * Numerics. Everything is accumulated in float64 whatever the storage.
 * log p is formed in log space, log p_s,i = (s_i − max s)/T − log Σⱼ exp((s_j − max s)/T),
 * never as log(p): exponents are ≤ 0 and sums ≥ 1, so logits at ±1e4 are
 * fine, and log p_t − log p_s is a difference of O(1) numbers, not of
 * rounded probabilities, which keeps T²·KL accurate at large T (where it is
 * a cancellation of O(1/T) terms down to O(1/T²)). Classes with p_t,i = 0
 * (masked at −∞ or underflowed) are outside the teacher's support and add
 * exactly 0 (0·log 0 = 0), to the loss and to dT. A row with no
 * distribution (NaN, +∞, or all −∞) makes p_t NaN, which is not skipped:
 * NaN in, NaN out.
 *
 * `scratch` holds 3·C float64 values reused for every row (the exponentials),
 * so the kernel allocates nothing of size B·C besides its outputs.
 * Terms with weight 0 are not evaluated: α = 0 skips the KL, α = 1 (or no
 * labels) skips the cross-entropy.
 *
 * `norm` divides the gradients (B by default; the batch size when the rows
 * are part of a larger batch).
 *
 * `float32`: the results will be rounded to float32, so when T is a small
 * integer the third exponential exp(s − max s) is formed as exp((s − max s)/T)^T
 * by repeated squaring (relative error ≈ T·2⁻⁵³, far below float32's 2⁻²⁴):
 * one Math.exp fewer per element. The float64 path keeps Math.exp.
 */
export function distillationKernel(
  s: Num, t: Num, labels: Int32Array | null, B: number, C: number, T: number, alpha: number,
  dS: Num | null, dT: Num | null, scratch: Float64Array, float32 = false, norm = B,
): number {
  const soft = alpha > 0;
  const hard = labels !== null && alpha < 1;
  const es = scratch.subarray(0, C);
  const et = scratch.subarray(C, 2 * C);
  const e1 = T === 1 ? es : scratch.subarray(2 * C, 3 * C);
  const invT = 1 / T;
  const squarings = float32 && T >= 2 && T <= 64 && Number.isInteger(T) ? T : 0;
  let total = 0;
  for (let r = 0; r < B; r++) {
    const base = r * C;
    // Pass 1: the maxima (max(s/T) = max(s)/T since T > 0).
    let ms = -Infinity;
    let mt = -Infinity;
    for (let i = 0; i < C; i++) {
      const si = s[base + i]!;
      const ti = t[base + i]!;
      if (si > ms || si !== si) ms = si;
      if (ti > mt || ti !== ti) mt = ti;
    }
    // Pass 2: the exponentials and their sums.
    let Ss = 0;
    let St = 0;
    let S1 = 0;
    // Each sum is 1 (the max term) plus a tail R; log S = log1p(R) keeps a tail
    // far below 1 that log(1 + R) would round away. So the terms below 1 are
    // summed apart from those equal to 1 (the max and its ties), which are
    // counted: R = Σ_{e < 1} e + (count(e = 1) − 1).
    let Rs = 0;
    let Rt = 0;
    let R1 = 0;
    let Ns = 0;
    let Nt = 0;
    let N1 = 0;
    for (let i = 0; i < C; i++) {
      const ds = s[base + i]! - ms;
      const a = Math.exp(ds * invT);
      es[i] = a;
      Ss += a;
      if (a < 1) Rs += a;
      else if (a === 1) Ns++;
      if (soft) {
        const b = Math.exp((t[base + i]! - mt) * invT);
        et[i] = b;
        St += b;
        if (b < 1) Rt += b;
        else if (b === 1) Nt++;
      }
      if (hard && T !== 1) {
        let c: number;
        if (squarings !== 0) {
          // a^T for integer T by binary powering.
          c = 1;
          let base = a;
          for (let n = squarings; n > 0; n >>= 1) {
            if (n & 1) c *= base;
            base *= base;
          }
        } else c = Math.exp(ds);
        e1[i] = c;
        S1 += c;
        if (c < 1) R1 += c;
        else if (c === 1) N1++;
      }
    }
    if (T === 1) {
      S1 = Ss;
      R1 = Rs;
      N1 = Ns;
    }
    // (A NaN sum means a row with no distribution: keep the NaN.)
    const cs = Ss === Ss ? Math.log1p(Rs + (Ns - 1)) : Ss;
    const ct = St === St ? Math.log1p(Rt + (Nt - 1)) : St;
    const c1 = S1 === S1 ? Math.log1p(R1 + (N1 - 1)) : S1;
    const rSs = 1 / Ss;
    const rSt = 1 / St;
    const rS1 = 1 / S1;
    // Pass 3: the KL from log-space differences, over the teacher's support.
    let kl = 0;
    if (soft) {
      for (let i = 0; i < C; i++) {
        const pt = et[i]! * rSt;
        if (pt !== 0) kl += pt * ((t[base + i]! - mt - (s[base + i]! - ms)) * invT - (ct - cs));
      }
      // KL ≥ 0 (Gibbs' inequality); rounding can leave a tiny negative sum when
      // the two distributions (nearly) agree. Clamping moves it by that rounding only.
      if (kl < 0) kl = 0;
      total += alpha * T * T * kl;
    }
    let y = -1;
    if (hard) {
      y = labels![r]!;
      total += (1 - alpha) * (ms + c1 - s[base + y]!);
    }
    // Pass 4: the gradients, if asked.
    if (dS !== null) {
      const aT = (alpha * T) / norm;
      const h = (1 - alpha) / norm;
      for (let i = 0; i < C; i++) {
        let d = soft ? aT * (es[i]! * rSs - et[i]! * rSt) : 0;
        if (hard) d += h * (e1[i]! * rS1 - (i === y ? 1 : 0));
        dS[base + i] = d;
      }
    }
    if (dT !== null) {
      const aT = (alpha * T) / norm;
      for (let i = 0; i < C; i++) {
        const pt = soft ? et[i]! * rSt : 0;
        dT[base + i] = pt !== 0 ? aT * pt * ((t[base + i]! - mt - (s[base + i]! - ms)) * invT - (ct - cs) - kl) : 0;
      }
    }
  }
  return total / B;
}
