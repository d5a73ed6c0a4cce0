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
 * Everything is accumulated in float64 whatever the storage.
 *
 * Two forms of the KL, chosen per row (docs/distillation.md, "What the fused
 * kernel does"):
 *
 * The log-ratio form, for a regular row (every logit finite, or a teacher
 * class masked at −∞; the spread of the exact (t − s)/T at most SPREAD_64; at
 * least half the student's mass on the teacher's support). With q = p_s,
 * uᵢ = tᵢ − sᵢ (exact, as a two-sum) and xᵢ = (uᵢ − ū)/T, ū = Σ q·u/Σ q the q-mean
 * of u over the teacher's support, kept as a pair D + c (D the u of the student's
 * largest logit, c small), p_t ∝ q·eˣ, and with ζᵢ = e^{xᵢ} − 1 (`m` in the code),
 * Gᵢ = 1 + (xᵢ − 1)e^{xᵢ}, M = Σ q·ζ, Γ = Σ q·G:
 *
 *   KL = Γ/(1 + M) + h(M),  h(M) = M/(1 + M) − log1p(M),
 *   p_t − q = q·(ζ − M)/(1 + M),   log p_t − log q = x − log1p(M).
 *
 * Γ is a sum of terms G ≥ 0, each computed to a few ulps (a series for
 * |x| ≤ 1), and with the q-mean centre M = Σ q·(eˣ − 1 − x) = O(x²), so
 * nothing cancels at first order: the KL keeps a relative error of a few
 * dozen ulps however small it is — in particular at large T, where KL is
 * O(1/T²) and the direct sum Σ p_t·(log p_t − log p_s) below loses about
 * ε·T² of it (3e-12 relative at T = 100, 7e-7 at T = 10⁴).
 * Check: a constant added to s or to t moves u by a constant, which the centre
 * absorbs: x, and everything after it, is unchanged.
 *
 * The direct form, for any other row: log p is formed in log space,
 * log p_s,i = (s_i − max s)/T − log Σⱼ exp((s_j − max s)/T), never as log(p):
 * exponents are ≤ 0 and sums ≥ 1, so logits at ±1e4 are fine. Classes with
 * p_t,i = 0 (masked at −∞ or underflowed) are outside the teacher's support
 * and add exactly 0 (0·log 0 = 0), to the loss and to dT. A row with no
 * distribution (NaN, +∞, or all −∞) makes p_t NaN, which is not skipped:
 * NaN in, NaN out; teacher mass on a class the student masks gives +∞.
 * Its error is absolute, about ε·(1 + |log p|) per unit of teacher mass; such
 * rows (a spread of (t − s)/T over SPREAD_64, at small T for instance) have
 * a KL far from 0 unless the classes that carry the spread have no mass.
 *
 * The teacher gradient, in both forms: ℓᵢ − KL = ℓ′ᵢ − E_{p_t}[ℓ′] with
 * ℓ′ᵢ = ℓᵢ − ℓ_J = ((tᵢ − t_J) − (sᵢ − s_J))/T, J the teacher's largest logit, so
 * that what rounds is the row's log-space differences (E_{p_t}|ℓ′|), never log Z =
 * KL(q ‖ p_t) (in x − E_{p_t}[x]) nor the student's |s − max s|/T (in ℓ − KL).
 * Each row of dT then sums to 0 within (7C + 22)·ε·α·T·E_{p_t}|ℓ′|/B (derived in
 * test/losses/distillation.test.ts, "gradient rows sum to 0"). A row whose KL is
 * not finite keeps ℓ − KL: NaN in every entry where the KL is NaN (a row with no
 * distribution), −∞ where it is +∞ (at the classes the student keeps).
 *
 * KL ≥ 0 (Gibbs' inequality). A rounded value below 0 (a few ulps of the
 * terms it is made of) is clamped to 0 in the loss, in both forms. The teacher
 * gradient does not use the clamped value, nor the KL at all (above): each row of
 * dT sums to 0 up to rounding whether or not the loss was clamped, and dT is the
 * gradient of the smooth KL, not of max(KL, 0).
 *
 * `scratch` holds 3·C float64 values (4·C with dT) reused for every row (the
 * exponentials), so the kernel allocates nothing of size B·C besides its outputs.
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
  // (with dT, log-ratio form) q·eˣ, the unnormalised p_t.
  const ep = dT !== null ? scratch.subarray(3 * C, 4 * C) : es;
  const invT = 1 / T;
  const squarings = float32 && T >= 2 && T <= 64 && Number.isInteger(T) ? T : 0;
  let total = 0;
  for (let r = 0; r < B; r++) {
    const base = r * C;
    // Pass 1: the maxima (max(s/T) = max(s)/T since T > 0), and whether the row is
    // regular: no NaN or +∞, the student masks no class the teacher keeps, and the
    // finite uᵢ = tᵢ − sᵢ span at most SPREAD_64·T.
    let ms = -Infinity;
    let mt = -Infinity;
    let umin = Infinity;
    let umax = -Infinity;
    let masksOk = true;
    // (log-ratio form) D = t − s at the largest student logit among the classes with a
    // finite t − s: the reference the centre is measured from (below).
    // And (for dT) s at the teacher's largest logit: sJ.
    let mk = -Infinity;
    let D = 0;
    let sJ = 0;
    for (let i = 0; i < C; i++) {
      const si = s[base + i]!;
      const ti = t[base + i]!;
      if (si > ms || si !== si) ms = si;
      if (ti > mt) {
        mt = ti;
        sJ = si;
      } else if (ti !== ti) mt = ti;
      const u = ti - si;
      if (u - u === 0) {
        if (u < umin) umin = u;
        if (u > umax) umax = u;
        if (si > mk) {
          mk = si;
          D = u;
        }
      } else if (ti !== -Infinity) masksOk = false;
    }
    // The spread is that of the exact t − s, which x is formed from. Each u above is t − s
    // rounded, within 2⁻⁵³|u| of it, so the exact spread lies within
    // slack = 2⁻⁵³(|umax| + |umin|) of umax − umin. Taken from the rounded u alone, a student
    // at 1e20 (where doubles are 16384 apart) and a teacher at [0, −3000] had a spread of 0
    // where it is 3000: at T = 1 the log-ratio form then met x = ±1500, and e¹⁵⁰⁰ = ∞ gave
    // NaN. Where the slack leaves the answer open (logits far larger than their differences,
    // or a spread at the limit), the exact spread is found from the two-sum pieces,
    // ((t − s) − umax) + e, whose own roundings move the limit by 1e-15 of itself.
    let logRatio = soft && masksOk && ms - ms === 0 && mt - mt === 0;
    if (logRatio) {
      const slack = 2 ** -53 * (Math.abs(umax) + Math.abs(umin));
      if (umax - umin - slack > SPREAD_64 * T) logRatio = false;
      else if (umax - umin + slack > SPREAD_64 * T) logRatio = exactSpread(s, t, base, C, umax) <= SPREAD_64 * T;
    }
    // Pass 2: the exponentials and their sums. Each sum is 1 (the max term) plus a
    // tail R; log S = log1p(R) keeps a tail far below 1 that log(1 + R) would round
    // away. So the terms below 1 are summed apart from those equal to 1 (the max and
    // its ties), which are counted: R = Σ_{e < 1} e + (count(e = 1) − 1).
    let Ss = 0;
    let St = 0;
    let S1 = 0;
    let Rs = 0;
    let Rt = 0;
    let R1 = 0;
    let Ns = 0;
    let Nt = 0;
    let N1 = 0;
    // (log-ratio form) Σ q·u and Σ q over the classes the teacher keeps, for the centre.
    let Su = 0;
    let Sq = 0;
    for (let i = 0; i < C; i++) {
      const si = s[base + i]!;
      const ds = si - ms;
      const a = Math.exp(ds * invT);
      es[i] = a;
      Ss += a;
      if (a < 1) Rs += a;
      else if (a === 1) Ns++;
      if (logRatio) {
        const ti = t[base + i]!;
        if (ti !== -Infinity) {
          // (t − s) − D with t − s carried exactly: the centre must be the q-mean of the
          // exact t − s that x is formed from.
          Su += a * centred(ti, si, D, 0);
          Sq += a;
        }
      } else if (soft) {
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
    // The log-ratio form needs the student to keep at least half its mass on the teacher's
    // support (Q = Sq/Ss ≥ ½). A class the teacher masks enters M as ζ = −1, so that
    // 1 + M = Q·(1 + M̃) (M̃ the same sum over the support, with q renormalised there, ≥ 0
    // about the q-mean) is formed as 1 − (1 − Q) + …: a relative error ε/Q, and at Q below ε
    // nothing at all (s = [0, −2866], t = [−∞, 1.5]: 1 + M rounded to 0, a NaN loss where it
    // is 11466). With Q ≥ ½ that costs at most a factor 2; with Q < ½ the KL is at least
    // −log Q > log 2 (KL(p ‖ q) ≥ −log q(support of p)), and the direct form's absolute error
    // is relative to it. Such a row goes the direct way: the teacher's exponentials now.
    if (logRatio && !(Sq >= 0.5 * Ss)) {
      logRatio = false;
      for (let i = 0; i < C; i++) {
        const b = Math.exp((t[base + i]! - mt) * invT);
        et[i] = b;
        St += b;
        if (b < 1) Rt += b;
        else if (b === 1) Nt++;
      }
    }
    // (A NaN sum means a row with no distribution: keep the NaN.)
    const cs = Ss === Ss ? Math.log1p(Rs + (Ns - 1)) : Ss;
    const c1 = S1 === S1 ? Math.log1p(R1 + (N1 - 1)) : S1;
    const rSs = 1 / Ss;
    const rS1 = 1 / S1;
    let kl = 0;
    // The log-ratio form: the centre ū = D + c, then M and Γ (ζᵢ kept in `et` for the gradients).
    let c = 0;
    let M = 0;
    // (dT) dJ + eJ = t_J − s_J exactly (log-ratio form), and E_{p_t}[ℓ] (both forms).
    let dJ = 0;
    let eJ = 0;
    let Epy = 0;
    let ct = 0;
    let rSt = 0;
    if (logRatio) {
      // Any centre gives the same KL in exact arithmetic; the q-mean makes M = O(x²). It is
      // kept as the pair D + c, c = Σ q·((t − s) − D)/Σ q, never rounded into one number ū:
      // that rounding, ε·|ū|, would move every x by ε·|ū|/T, an error that depends on where
      // the logits sit, not on how they differ (a per-row constant added to t moves ū, and
      // nothing else). With D taken where q is largest, c and the x of the classes that
      // carry the mass are small and keep their relative accuracy: a row whose t − s is
      // constant (one class, say) gets x = 0 exactly, hence KL = 0 and dT = 0.
      // (Sq ≥ Ss/2 > 0: above.)
      c = Su / Sq;
      let Gam = 0;
      let Py = 0;
      for (let i = 0; i < C; i++) {
        const ti = t[base + i]!;
        let m: number;
        let G: number;
        if (ti === -Infinity) {
          // p_t,i = 0: x = −∞, eˣ = 0, ζ = −1 and G = 1 (the limit of (x − 1)eˣ is 0).
          m = -1;
          G = 1;
        } else {
          const x = centred(ti, s[base + i]!, D, c) * invT;
          if (x <= 1 && x >= -1) {
            // φ = eˣ − 1 − x = x²·Σₙ xⁿ/(n + 2)! to n = 17 (truncation below 2⁻⁵⁵ relative
            // on |x| ≤ 1), then ζ = φ + x and G = x·ζ − φ = x²/2 + x³/3 + …, which cancels
            // one bit at small x and a factor 4 at x = −1.
            const phi = phiSeries(x);
            m = phi + x;
            G = x * m - phi;
          } else {
            // |x| > 1: ζ = eˣ − 1 ≥ 0.63 in size, and 1 + (x − 1)eˣ cancels by at most a
            // factor 7 (at x = −1), not at all for x > 1.
            const ex = Math.exp(x);
            m = ex - 1;
            G = 1 + (x - 1) * ex;
          }
        }
        const a = es[i]!;
        et[i] = m;
        M += a * m;
        Gam += a * G;
      }
      M *= rSs;
      Gam *= rSs;
      kl = Gam / (1 + M) + hOfM(M);
      if (dT !== null) {
        // For dT: ℓᵢ − KL = ℓ′ᵢ − E_{p_t}[ℓ′] for ℓ′ = x plus any constant (ℓᵢ = xᵢ − log Z and
        // KL = E_{p_t}[x] − log Z). Not x itself: xᵢ − E_{p_t}[x] cancels log Z + ℓᵢ against
        // log Z + KL, with log Z = −E_q[ℓ] = KL(q ‖ p_t), which is far larger than ℓᵢ and KL
        // where the student has mass the teacher lacks (q = [4e-7, 1], p_t = [2e-23, 1]:
        // log Z = 1.6e-5, KL = 4e-7, ℓ₁ = 4e-7; the rounding of x₁ ≈ log Z then swamped
        // dT₁). With ℓ′ᵢ = ((tᵢ − sᵢ) − (t_J − s_J))/T, J the teacher's largest logit (the
        // class with the most teacher mass; t − s exact on both sides, as in `centred`),
        // ℓ′_J = 0 and ℓ′ᵢ = log p_t,i − log p_t,J − (log qᵢ − log q_J): what ℓ′ carries is
        // the log-space numbers of the row, not log Z. So E_{p_t}[ℓ′] = Σ q·eˣ·ℓ′/(1 + M),
        // with p_t = q·eˣ/(1 + M) (eˣ as 1 + ζ for x ≥ −1, as exp(x) below, where 1 + ζ
        // would keep only ε/eˣ of it) kept as q·eˣ in `ep` for the last pass.
        const tJ = mt;
        dJ = tJ - sJ;
        const zJ = dJ - tJ;
        eJ = (tJ - (dJ - zJ)) - (sJ + zJ);
        for (let i = 0; i < C; i++) {
          const ti = t[base + i]!;
          let qe = 0;
          if (ti !== -Infinity) {
            const si = s[base + i]!;
            const x = centred(ti, si, D, c) * invT;
            qe = es[i]! * (x >= -1 ? 1 + et[i]! : Math.exp(x));
            Py += qe * (centred(ti, si, dJ, eJ) * invT);
          }
          ep[i] = qe;
        }
        Epy = (Py * rSs) / (1 + M);
      }
    } else if (soft) {
      ct = St === St ? Math.log1p(Rt + (Nt - 1)) : St;
      rSt = 1 / St;
      // Pass 3, direct form: the KL from log-space differences, over the teacher's support.
      for (let i = 0; i < C; i++) {
        const pt = et[i]! * rSt;
        if (pt !== 0) kl += pt * ((t[base + i]! - mt - (s[base + i]! - ms)) * invT - (ct - cs));
      }
    }
    // The raw sum, for dT in the direct form (see the clamp above).
    const klRaw = kl;
    if (soft) {
      // KL ≥ 0 (Gibbs' inequality): a rounded negative sum is clamped in the loss.
      if (kl < 0) kl = 0;
      total += alpha * T * T * kl;
    }
    let y = -1;
    if (hard) {
      y = labels![r]!;
      // (s_y − m) − log S₁, never s_y − (m + log S₁): at |s| ≈ 1e16 the sum m + log S₁
      // would round log S₁ away.
      total += (1 - alpha) * (ms - s[base + y]! + c1);
    }
    // Pass 4: the gradients, if asked.
    const aT = (alpha * T) / norm;
    if (dS !== null) {
      const h = (1 - alpha) / norm;
      // log-ratio: p_s − p_t = q·(M − ζ)/(1 + M).
      const A = aT * rSs / (1 + M);
      for (let i = 0; i < C; i++) {
        let d = 0;
        if (logRatio) d = A * es[i]! * (M - et[i]!);
        else if (soft) d = aT * (es[i]! * rSs - et[i]! * rSt);
        if (hard) d += h * (e1[i]! * rS1 - (i === y ? 1 : 0));
        dS[base + i] = d;
      }
    }
    // Direct form, a finite KL: ℓᵢ − KL = ℓ′ᵢ − E_{p_t}[ℓ′] with ℓ′ᵢ = ℓᵢ − ℓ_J =
    // ((tᵢ − t_J) − (sᵢ − s_J))/T, J the teacher's largest logit. ℓᵢ − KL formed as such
    // (((tᵢ − m_t) − (sᵢ − m_s))/T − (c_t − c_s) − KL) cancelled the student's log-space numbers
    // at every class, |sᵢ − m_s|/T, which a student logit far above the teacher's support makes
    // huge: at 1e15 on a class the teacher masks, 2.5e14, whose rounding (0.05) was 1e-3 of
    // entries of 48, and the two backends, summing in different orders, differed by that.
    // ℓ′ from the two-sum pieces, as in the log-ratio form, so that it is relative to itself:
    // (tᵢ − t_J) − (sᵢ − s_J) would round at ε·(|tᵢ − t_J| + |sᵢ − s_J|), which cancel where the
    // student and the teacher agree on a class's gap (at T = 0.01, 3e-14 of an entry).
    const klFinite = dT !== null && !logRatio && soft && klRaw - klRaw === 0;
    if (klFinite) {
      dJ = mt - sJ;
      const zJ = dJ - mt;
      eJ = (mt - (dJ - zJ)) - (sJ + zJ);
      for (let i = 0; i < C; i++) {
        const pt = et[i]! * rSt;
        if (pt !== 0) Epy += pt * (centred(t[base + i]!, s[base + i]!, dJ, eJ) * invT);
      }
    }
    if (dT !== null) {
      const P = rSs / (1 + M);
      for (let i = 0; i < C; i++) {
        let g = 0;
        if (logRatio) {
          // p_t = q·eˣ/(1 + M) and ℓᵢ − KL = ℓ′ᵢ − E_{p_t}[ℓ′]; p_t = 0 at a masked class.
          const pt = ep[i]! * P;
          if (pt !== 0) g = aT * (pt * (centred(t[base + i]!, s[base + i]!, dJ, eJ) * invT - Epy));
        } else if (soft) {
          const pt = et[i]! * rSt;
          if (klFinite) {
            // ℓᵢ − KL = ℓ′ᵢ − E_{p_t}[ℓ′] (as in the log-ratio form), ℓ′ from the logits' differences.
            if (pt !== 0) g = aT * (pt * (centred(t[base + i]!, s[base + i]!, dJ, eJ) * invT - Epy));
          } else if (pt !== 0 || klRaw !== klRaw) {
            // A row whose KL is NaN (a student or teacher row with no distribution) has no
            // gradient anywhere: NaN in every class, p_t = 0 included (docs/non-finite.md).
            // Where the KL is +∞, −∞ at the classes the student keeps (NaN where it masks).
            // p_t times its factor first, then α·T/B: a subnormal p_t times α·T/B < ½ rounds
            // to 0, and 0·(−∞) was NaN where the entry is −∞.
            g = aT * (pt * ((t[base + i]! - mt - (s[base + i]! - ms)) * invT - (ct - cs) - klRaw));
          }
        }
        dT[base + i] = g;
      }
    }
  }
  return total / B;
}

/**
 * max − min of the exact tᵢ − sᵢ over the classes of a row where it is finite (class `skip`
 * left out; −1: none), from the two-sum pieces measured from R (a rounded value of one of them):
 * where the rounded differences cannot tell whether a row's spread is within the limit
 * (`distillationKernel`, kernels/divergences.ts's rows, and the KD methods' rows in
 * kernels/js/dkd.ts and kernels/js/kd-rows.ts, which leave out the target class).
 */
export function exactSpread(s: Num, t: Num, base: number, C: number, R: number, skip = -1): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < C; i++) {
    if (i === skip) continue;
    const ti = t[base + i]!;
    const si = s[base + i]!;
    const u = ti - si;
    if (u - u === 0) {
      const v = centred(ti, si, R, 0);
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return hi - lo;
}

/**
 * The largest spread of (t − s)/T (over the classes where both are finite) that
 * the log-ratio form takes: eˣ ≤ e⁵⁰⁰ ≈ 1e217, so M, Γ and (x − 1)eˣ stay finite
 * in float64 for any class count that fits in memory.
 */
export const SPREAD_64 = 500;

/**
 * ((t − s) − D) − c, with t − s carried exactly (Knuth's two-sum: d + e = t − s), so
 * that a small result keeps its relative accuracy however large t, s and D are
 * (d − D is exact when d and D are within a factor 2, by Sterbenz's lemma, and
 * otherwise rounds relative to itself). The centre ū = D + c is a pair: D a reference
 * value of t − s, c a small correction.
 */
export function centred(t: number, s: number, D: number, c: number): number {
  const d = t - s;
  const z = d - t;
  const e = (t - (d - z)) - (s + z);
  return ((d - D) - c) + e;
}

// 1/(n + 2)! for n = 0 … 17.
const P0 = 0.5, P1 = 1 / 6, P2 = 1 / 24, P3 = 1 / 120, P4 = 1 / 720, P5 = 1 / 5040;
const P6 = 1 / 40320, P7 = 1 / 362880, P8 = 1 / 3628800, P9 = 1 / 39916800, P10 = 1 / 479001600;
const P11 = 1 / 6227020800, P12 = 1 / 87178291200, P13 = 1 / 1307674368000, P14 = 1 / 20922789888000;
const P15 = 1 / 355687428096000, P16 = 1 / 6402373705728000, P17 = 1 / 121645100408832000;

/**
 * φ(x) = eˣ − 1 − x for |x| ≤ 1, by its Taylor series: x² times the polynomial
 * Σₙ xⁿ/(n + 2)!, n ≤ 17, evaluated by Estrin's scheme (pairs combined with x²,
 * x⁴, x⁸, x¹⁶) so that its multiply-adds do not wait on each other as Horner's
 * rule would. The rounding is that of a sum of terms of one sign for x ≥ 0, and
 * of terms alternating with shrinking size for x < 0: a few ulps either way.
 */
export function phiSeries(x: number): number {
  const x2 = x * x;
  const x4 = x2 * x2;
  const x8 = x4 * x4;
  const q0 = P0 + P1 * x, q1 = P2 + P3 * x, q2 = P4 + P5 * x, q3 = P6 + P7 * x;
  const q4 = P8 + P9 * x, q5 = P10 + P11 * x, q6 = P12 + P13 * x, q7 = P14 + P15 * x, q8 = P16 + P17 * x;
  const o0 = (q0 + q1 * x2) + (q2 + q3 * x2) * x4;
  const o1 = (q4 + q5 * x2) + (q6 + q7 * x2) * x4;
  return x2 * (o0 + (o1 + q8 * x8) * x8);
}

/**
 * h(M) = M/(1 + M) − log1p(M) = Σ_{n≥2} (−1)ⁿ⁺¹(n − 1)/n·Mⁿ = −M²/2 + 2M³/3 − …,
 * by its series for |M| < 1e-3 (to M⁸: the rest is below M⁷ ≈ 1e-21 relative), where
 * the two terms would cancel; otherwise directly (absolute error ≈ 2ε·|M|).
 */
export function hOfM(M: number): number {
  if (Math.abs(M) < 1e-3) {
    return M * M * (-1 / 2 + M * (2 / 3 + M * (-3 / 4 + M * (4 / 5 + M * (-5 / 6 + M * (6 / 7 + M * (-7 / 8)))))));
  }
  return M / (1 + M) - Math.log1p(M);
}
