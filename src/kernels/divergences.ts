import type { DistillationRowsCall } from "./table.js";
import { SPREAD_64, centred, exactSpread, phiSeries } from "./distillation.js";

type Num = { [i: number]: number; readonly length: number };

/**
 * The fused rows of distillationLoss's general path (table.ts, DivergenceKernels): every
 * divergence, the cross-entropy, ignored rows, per-row losses, the gradients with respect to
 * the student, the teacher and the temperature, formed in the same passes (float64 whatever
 * the storage). The derivations are in src/losses/distillation-loss.ts and
 * docs/distillation-methods.md; this file states what it computes and why it computes it so.
 *
 * One row. q = p_s = softmax(s/T), p = p_t = softmax(t/T), ℓ = log(p/q) (the log-ratio, per
 * class; `y` in the code). Every divergence is a KL to a mixture p_μ (`m` in the code),
 *
 *   D = c_p·KL(p ‖ p_μ) + c_q·KL(q ‖ p_μ),   p_μ = μ_p·p + μ_q·q,
 *
 *   forward      c_p = 1, c_q = 0,      μ_p = 0,      μ_q = 1        (p_μ = q)
 *   reverse      c_p = 0, c_q = 1,      μ_p = 1,      μ_q = 0        (p_μ = p)
 *   jsd          c_p = β, c_q = 1 − β,  μ_p = β,      μ_q = 1 − β
 *   skewForward  c_p = 1, c_q = 0,      μ_p = λ,      μ_q = 1 − λ
 *   skewReverse  c_p = 0, c_q = 1,      μ_p = 1 − λ,  μ_q = λ
 *
 * and TVD is ½Σ|p − q|.
 *
 * The value as a sum of non-negative terms. KL(w ‖ p_μ) = Σ w·log(w/p_μ) = Σ w·φ(log(p_μ/w)) with
 * φ(v) = eᵛ − 1 − v ≥ 0, because Σ w·(p_μ/w − 1) = Σ p_μ − Σ w = 0. So every term w·φ(v) is ≥ 0
 * and is computed to a few ulps: w·phiSeries(v) for |v| ≤ 1, (o − w) − w·v beyond (o = w·eᵛ,
 * the other probability, which cancels by at most a factor 4 there), the limit o when w = 0.
 * Nothing cancels between classes, so D keeps a relative error of a few ε + C·ε (the sum)
 * however small it is — at large T in particular, where D = O(1/T²) (O(1/T) for TVD). The
 * logs log(p_μ/p) and log(p_μ/q) are log(μ + (1 − μ)·e^{∓ℓ}), μ = μ_p or μ_q (logMix), formed from ℓ
 * without cancellation. TVD's terms are ½|p − q| with p − q = q·expm1(ℓ) near ℓ = 0.
 *
 * The log-ratio ℓ. For a regular row (every logit finite or a teacher class masked at −∞,
 * the spread of (t − s)/T at most SPREAD_64, the student's mass not almost all on classes the
 * teacher masks) ℓ comes from the q-mean-centred x = ((t − s) − ū)/T, exactly as the forward
 * kernel's log-ratio form (kernels/distillation.ts): p = q·eˣ/Z, so ℓ = x − log Z with
 * Z = 1 + M, M = Σ q·(eˣ − 1) (log1p, or log of the positive sum Σ q·eˣ when M < −½). Then
 * ℓ carries a relative error of a few ε whatever T is (x is centred and formed from the exact
 * t − s by a two-sum). As there, the centre is the pair ū = D + c (D = t − s at the student's
 * largest logit the teacher keeps, c = Σ q·((t − s) − D)/Σ q from the exact t − s), never one
 * rounded number, and the spread is that of the exact t − s: a rounding of ū (ε·|ū|) or of the
 * spread (ε·|t − s|) is huge next to x where |t − s| is (1e34: e^x = ∞, a NaN row). Any other row
 * uses the direct form
 * ℓ = ((t − max t) − (s − max s))/T − (log S_t − log S_s), each log-sum-exp as log1p of its
 * tail: masks, NaN, +∞, huge spreads. A class where both p and q are 0 adds nothing.
 *
 * The gradients (per unit of ∂D/∂(s/T) and ∂D/∂(t/T)), with K_p = KL(p ‖ p_μ), K_q = KL(q ‖ p_μ),
 * ℓ_p = log(p/p_μ), ℓ_q = log(q/p_μ), κ = c_p − μ_p and δρ = κ·(p − q)/p_μ:
 *
 *   g_t = c_p·p ⊙ (ℓ_p − K_p) − μ_p·(p ⊙ δρ − p·Σ p·δρ)
 *   g_s = c_q·q ⊙ (ℓ_q − K_q) − μ_q·(q ⊙ δρ − q·Σ q·δρ)
 *   tvd: g_t = ½·p ⊙ (σ − Σ p·σ),  g_s = −½·q ⊙ (σ − Σ q·σ),  σ = sign(p − q)
 *
 * and ∂D/∂T = −(⟨g_s, s − max s⟩ + ⟨g_t, t − max t⟩)/T² (Euler's identity: D depends on s/T
 * and t/T only; the shifts change nothing, the g rows sum to 0). p⊙δρ and q⊙δρ are formed
 * as κ·(p − q)·(p/p_μ) and κ·(p − q)·(q/p_μ) with the limits 1/μ_p and 1/μ_q of p/p_μ and q/p_μ when
 * μ_q or μ_p is 0, so a class one side masks gets its finite limit, not 0·∞.
 *
 * The centring. Each line above is w ⊙ (a − E_w a) for w = p or q, and Σ w = 1 makes it
 * w ⊙ ((a − a_J) − E_w(a − a_J)) for any class J. The kernel's K_p, K_q are the value's KLs, formed
 * as Σ w·φ (above), not as Σ ŵ·ℓ̂, and Σ ŵ is 1 only to a few ε: so ℓ − K leaves a few ε·(1 + K) in
 * every entry, and w·δρ − w·Σ w·δρ a few ε·|E δρ|, however concentrated w is. On a one-hot side,
 * whose gradient is 0 (every divergence's but the reverse KL's g_t = p − q and the forward KL's
 * g_s = q − p), that residue was the whole entry: 1.35e-20 from WebAssembly where TypeScript's
 * rounding happened to give 0 (s = [−2.25, −3], t = [−1.19e38, −∞], T = 2). So a side whose
 * largest class J (the largest logit's: jt, js) holds at least half its mass (w_J ≥ ½) is
 * centred on it, with A = Σ ŵ·(ℓ̂ − ℓ̂_J), v = ŵ·δρ − ŵ·ρ̂ (ρ̂ = (ŵ_J·δρ_J)/ŵ_J; v_J = 0), W = Σ v:
 *
 *   g_i = c·ŵ_i·((ℓ̂_i − ℓ̂_J) − A) − μ·(v_i − ŵ_i·W)        (TVD: ½·ŵ_i·((σ_i − σ_J) − Σ ŵ·(σ − σ_J)))
 *
 * exactly 0 on a one-hot side: ℓ̂_J − ℓ̂_J = 0, the other ŵ are 0, and so are the other v wherever
 * the mixture keeps the other side (w·δρ = κ(p − q)·w/p_μ → 0 at w = 0 unless the other side's
 * μ is 0: the two exceptions above, whose gradients are not 0). Its rounding, to first order, with
 * m̄ = 1 − w_J the mass off J, b̄ = max over w > 0 of |ℓ − ℓ_J|, δ the largest error of a computed
 * ℓ̂_j − ℓ̂_J beyond the reference's own (which cancels: any reference gives the same g; a few ε of
 * the row's log-space numbers, docs/distillation-methods.md fact 2 without its δlog Z, common to
 * every class) and ν that of a computed w:
 *
 *   |δg_i| ≤ c·w_i·[δ + (ν + 3ε)|ℓ_i − ℓ_J|] + c·w_i·m̄·[δ + (2ν + (C + 3)ε)·b̄]   (i ≠ J; w_i ≤ m̄)
 *   |δg_J| ≤ c·w_J·m̄·[δ + (2ν + (C + 3)ε)·b̄]
 *
 * for the ℓ part: every entry's error is m̄ times a few (C + 3)ε of the row's log-space numbers,
 * where the uncentred form's was a few ε·(1 + K) at J whatever m̄. The mixture part: with w_J ≥ ½,
 * |ρ̂| ≤ 2|w_J·δρ_J| ≤ 2|κ|/μ (μ·w·|δρ| ≤ |κ|·|p − q|), so μ·v_i is formed within a few ε·|κ|(p_i + q_i
 * + 2w_i), and μ·W within a few (C + 3)ε·|κ|·(3m̄ + 1 − o_J) (o the other side's probabilities):
 * the sizes the uncentred form's terms had, and 0 on a one-hot side. Below w_J = ½ centring gains
 * nothing (m̄ > ½) and can lose: δρ_J reaches C − 1 on the forward KL's student side at a flat
 * student (p_J/q_J − 1), which would put ε·C·w_i into entries of size w_i. Such a side, and one
 * whose reference or sum is not finite (a mask under the other side's mass, NaN), keeps the
 * uncentred sums of pass 3, which cost no pass over the row; a centred sum costs one.
 *
 * `scratch` holds 10·C float64 values reused for every row.
 */
export function distillationRowsKernel(
  s: Num, t: Num, h: Num, B: number, C: number, call: DistillationRowsCall,
  loss: Float64Array, dS: Num | null, dT: Num | null, dH: Num | null, dTemp: Float64Array | null, scratch: Float64Array,
): void {
  const { divergence, mix, temperature: T, alpha, power, labels, ignoreIndex, norm } = call;
  const soft = alpha > 0;
  const hard = labels !== null && alpha < 1;
  const sameH = h === s;
  const invT = 1 / T;
  const Tk = power === 2 ? T * T : 1;
  const tvd = divergence === "tvd";
  let cp = 0, cq = 0, mp = 0, mq = 0;
  if (divergence === "forward") [cp, cq, mp, mq] = [1, 0, 0, 1];
  else if (divergence === "reverse") [cp, cq, mp, mq] = [0, 1, 1, 0];
  else if (divergence === "jsd") [cp, cq, mp, mq] = [mix, 1 - mix, mix, 1 - mix];
  else if (divergence === "skewForward") [cp, cq, mp, mq] = [1, 0, mix, 1 - mix];
  else if (divergence === "skewReverse") [cp, cq, mp, mq] = [0, 1, 1 - mix, mix];
  // κ = c_p − μ_p = μ_q − c_q; 0 for the JSD, whose ρ = (c_p·p + c_q·q)/p_μ is 1.
  const kappa = cp - mp;
  // Per class: q, p, ℓ = log(p/q) (`y`), d = p/q − 1 and r = p/q (each formed without cancellation),
  // the logs ℓ_p, ℓ_q and p·δρ, q·δρ for the gradients, and the hard term's exponentials.
  const q = scratch.subarray(0, C);
  const p = scratch.subarray(C, 2 * C);
  const y = scratch.subarray(2 * C, 3 * C);
  const dr = scratch.subarray(3 * C, 4 * C);
  const rr = scratch.subarray(4 * C, 5 * C);
  const lp = scratch.subarray(5 * C, 6 * C);
  const lq = scratch.subarray(6 * C, 7 * C);
  const rp = scratch.subarray(7 * C, 8 * C);
  const rq = scratch.subarray(8 * C, 9 * C);
  const e1 = scratch.subarray(9 * C, 10 * C);
  // ∂(α·T^k·D)/∂s = α·T^k·g_s/T, divided by the norm; likewise for t.
  const cSoft = (alpha * Tk * invT) / norm;
  const cHard = (1 - alpha) / norm;
  // For float32 results and an integer T ≤ 64 the hard term's exp(s − max s) is formed as
  // exp((s − max s)/T)^T by repeated squaring (relative error ≈ T·2⁻⁵³, far below float32's
  // 2⁻²⁴), as kernels/distillation.ts does: one exponential fewer per class.
  const squarings = sameH && s instanceof Float32Array && T >= 2 && T <= 64 && Number.isInteger(T) ? T : 0;
  for (let r = 0; r < B; r++) {
    const base = r * C;
    const label = labels === null ? -1 : labels[r]!;
    if (labels !== null && label === ignoreIndex) {
      loss[r] = 0;
      for (let i = 0; i < C; i++) {
        if (dS) dS[base + i] = 0;
        if (dT) dT[base + i] = 0;
        if (dH) dH[base + i] = 0;
      }
      if (dTemp) dTemp[r] = 0;
      continue;
    }
    let D = 0;
    let ms = -Infinity;
    let mt = -Infinity;
    let Kp = 0;
    let Kq = 0;
    let Ep = 0;
    let Eq = 0;
    let hardDone = false;
    let S1 = 0, R1 = 0, N1 = 0;
    // The classes of the largest teacher and student logits: the gradients' references (pass 4).
    let jt = 0;
    let js = 0;
    if (soft) {
      // Pass 1: the maxima and their classes, and whether the row is regular (as in
      // kernels/distillation.ts).
      let umin = Infinity;
      let umax = -Infinity;
      let masksOk = true;
      for (let i = 0; i < C; i++) {
        const si = s[base + i]!;
        const ti = t[base + i]!;
        if (si > ms || si !== si) {
          ms = si;
          js = i;
        }
        if (ti > mt || ti !== ti) {
          mt = ti;
          jt = i;
        }
        const u = ti - si;
        if (u - u === 0) {
          if (u < umin) umin = u;
          if (u > umax) umax = u;
        } else if (ti !== -Infinity) masksOk = false;
      }
      // The spread is that of the exact t − s, which x is formed from (kernels/distillation.ts):
      // each u is within 2⁻⁵³|u| of it, and where that slack leaves the limit open the two-sum
      // pieces decide. From the rounded u alone, s = [1e20, 1e20] and t = [0, 3000] had a spread
      // of 0 where it is 3000: x = 3000 at T = 1, e³⁰⁰⁰ = ∞ and a NaN loss where it is log 2.
      // (Written with invT, so that a spread of 0 at T = 5e-324, 0·∞, is not regular.)
      let regular = masksOk && ms - ms === 0 && mt - mt === 0;
      if (regular) {
        const slack = 2 ** -53 * (Math.abs(umax) + Math.abs(umin));
        if (!((umax - umin - slack) * invT <= SPREAD_64)) regular = false;
        else if (!((umax - umin + slack) * invT <= SPREAD_64)) regular = exactSpread(s, t, base, C, umax) * invT <= SPREAD_64;
      }
      // The centre's reference D = t − s at the student's largest logit among the classes the
      // teacher keeps: js's, unless the teacher masks it (a regular row's other classes have a
      // finite t − s).
      let Du = 0;
      if (regular) {
        let k = js;
        if (t[base + js] === -Infinity) {
          let mk = -Infinity;
          for (let i = 0; i < C; i++) {
            if (t[base + i] !== -Infinity && s[base + i]! > mk) {
              mk = s[base + i]!;
              k = i;
            }
          }
        }
        Du = t[base + k]! - s[base + k]!;
      }
      let logZ = 0;
      let Mrow = 0;
      let rZ = 1;
      // Pass 2: the student's exponentials a = exp((s − max s)/T) (into q), their sum with its
      // tail apart (log S = log1p(tail): see kernels/distillation.ts), for a regular row
      // Σ a·((t − s) − D) and Σ a over the classes the teacher keeps (the centre ū = D + c), and
      // the hard term's exponentials when it reads s (a itself at T = 1).
      let Ss = 0, Rs = 0, Ns = 0, Su = 0, Sq = 0;
      const e1here = hard && sameH;
      for (let i = 0; i < C; i++) {
        const si = s[base + i]!;
        const ds = si - ms;
        const a = Math.exp(ds * invT);
        q[i] = a;
        Ss += a;
        if (a < 1) Rs += a;
        else if (a === 1) Ns++;
        if (regular) {
          const ti = t[base + i]!;
          if (ti !== -Infinity) {
            Su += a * centred(ti, si, Du, 0);
            Sq += a;
          }
        }
        if (e1here) {
          let c: number;
          if (T === 1) c = a;
          else if (squarings !== 0) {
            c = 1;
            let b = a;
            for (let k = squarings; k > 0; k >>= 1) {
              if (k & 1) c *= b;
              b *= b;
            }
          } else c = Math.exp(ds);
          e1[i] = c;
          S1 += c;
          if (c < 1) R1 += c;
          else if (c === 1) N1++;
        }
      }
      if (e1here) {
        hardDone = true;
        // The hard term's max is s's (h is s).
      }
      if (regular) {
        // x = ((t − s) − ū)/T and eˣ − 1 (φ's series for |x| ≤ 1, as kernels/distillation.ts;
        // eˣ itself below −1, where 1 + (eˣ − 1) would keep only ε/eˣ of it): M = Σ q·(eˣ − 1) and
        // Z⁺ = Σ q·eˣ, the same Z as 1 + M but a sum of positive terms (accurate when M is
        // near −1, i.e. when the teacher masks most of the student's mass). Below Z⁺ = 2⁻²⁰
        // that mass is almost all masked: direct form instead. ℓ (x for now) and eˣ − 1 are kept.
        // The centre is the pair ū = D + c, D = t − s at the student's largest logit among the
        // classes the teacher keeps, c = Σ a·((t − s) − D)/Σ a, never rounded into one number
        // (kernels/distillation.ts): that rounding, ε·|ū|, moved every x by ε·|ū|/T, and a row
        // whose only finite t − s is −1.7e34 (s = [−3, 1.625], t = [−1.7e34, −∞], T = 4) had
        // x = 5.8e17 where it is 0: e^x = ∞ and a NaN loss where the reverse KL is +∞ and
        // ∂/∂t is p − q. With D where q is largest, c and the x of the classes that carry the mass
        // are small and keep their relative accuracy.
        const cbar = Sq > 0 ? Su / Sq : 0;
        let M = 0;
        let Zp = 0;
        for (let i = 0; i < C; i++) {
          const ti = t[base + i]!;
          const a = q[i]!;
          if (ti === -Infinity) {
            y[i] = -Infinity;
            dr[i] = -1;
            rr[i] = 0;
            M -= a;
            continue;
          }
          const x = centred(ti, s[base + i]!, Du, cbar) * invT;
          y[i] = x;
          let em1: number;
          let ex: number;
          if (x <= 1 && x >= -1) {
            em1 = phiSeries(x) + x;
            ex = x >= -0.5 ? 1 + em1 : Math.exp(x);
          } else {
            ex = Math.exp(x);
            em1 = ex - 1;
          }
          dr[i] = em1;
          rr[i] = ex;
          M += a * em1;
          Zp += a * ex;
        }
        M /= Ss;
        Zp /= Ss;
        if (Zp >= 2 ** -20) {
          // ℓ = x − log Z, r = p/q = eˣ/Z, d = r − 1 = (eˣ − 1 − M)/(1 + M) (the subtraction of two
          // accurate numbers: an absolute error of ε·max(|eˣ − 1|, |M|), as the forward kernel's
          // q·(ζ − M)/(1 + M), ζ = eˣ − 1), p = q·r. M ≥ −½: log1p(M); below, log of the positive sum Z⁺.
          logZ = M >= -0.5 ? Math.log1p(M) : Math.log(Zp);
          Mrow = M;
          rZ = 1 / (M >= -0.5 ? 1 + M : Zp);
        } else regular = false;
      }
      let rSs = 1 / Ss;
      let rSt = 0;
      let cs = 0;
      let ct = 0;
      if (!regular) {
        // Direct form: log p − log q from log space, each log-sum-exp as log1p of its tail.
        let St = 0, Rt = 0, Nt = 0;
        for (let i = 0; i < C; i++) {
          const b = Math.exp((t[base + i]! - mt) * invT);
          p[i] = b;
          St += b;
          if (b < 1) Rt += b;
          else if (b === 1) Nt++;
        }
        // (A NaN sum means a row with no distribution: keep the NaN.)
        cs = Ss === Ss ? Math.log1p(Rs + (Ns - 1)) : Ss;
        ct = St === St ? Math.log1p(Rt + (Nt - 1)) : St;
        rSt = 1 / St;
        rSs = 1 / Ss;
      }
      // Pass 3: per class q, p, ℓ, d = r − 1 and r = p/q (regular: from x, M and Z; direct: from
      // log space), then the terms and the row sums the gradients need.
      for (let i = 0; i < C; i++) {
        const qi = q[i]! * rSs;
        q[i] = qi;
        let pi: number;
        let yi: number;
        let di: number;
        let ri: number;
        if (regular) {
          ri = rr[i]! * rZ;
          di = Mrow >= -0.5 ? (dr[i]! - Mrow) * rZ : ri - 1;
          yi = y[i]! - logZ;
          pi = qi * ri;
        } else {
          pi = p[i]! * rSt;
          yi = ((t[base + i]! - mt) - (s[base + i]! - ms)) * invT - (ct - cs);
          di = Math.expm1(yi);
          ri = Math.exp(yi);
        }
        p[i] = pi;
        if (qi === 0 && pi === 0) {
          // Neither side has mass: nothing (0·log 0 = 0). Its saved values are 0, so that pass 4's
          // row sums, which run over every class, read no number left from another row.
          lp[i] = 0;
          lq[i] = 0;
          rp[i] = 0;
          rq[i] = 0;
          continue;
        }
        // p − q = q·(r − 1), accurate where the two nearly agree (|ℓ| ≤ ½ in the direct form, where
        // r may overflow far out); the limits where one is 0.
        const dpq = qi === 0 ? pi : pi === 0 ? -qi : regular || (yi <= 0.5 && yi >= -0.5) ? qi * di : pi - qi;
        if (tvd) {
          const sg = Math.sign(dpq);
          D += 0.5 * Math.abs(dpq);
          lp[i] = sg;
          Ep += pi * sg;
          Eq += qi * sg;
          continue;
        }
        const m = mp * pi + mq * qi;
        if (cp !== 0) {
          // log(p_μ/p) = log(μ_p + μ_q/r), with 1/r − 1 = −d/r.
          // (q = 0 with ℓ = +∞ is a class the student masks: p_μ/p = μ_p. An underflowed q has a
          // finite ℓ from log space and takes the general formula.)
          const nlp = pi === 0 ? Infinity : yi === Infinity ? Math.log(mp)
            : regular ? logMixOf(-di / ri, 1 / ri, -yi, mq, mp) : logMixOf(Math.expm1(-yi), Math.exp(-yi), -yi, mq, mp);
          Kp += wphi(pi, m, nlp);
          lp[i] = pi === 0 ? 0 : -nlp; // (ℓ_p is used where p > 0 only: 0, not −∞, for the row sums)
        }
        if (cq !== 0) {
          // log(p_μ/q) = log(μ_q + μ_p·r).
          const nlq = qi === 0 ? Infinity : yi === -Infinity ? Math.log(mq) : logMixOf(di, ri, yi, mp, mq);
          Kq += wphi(qi, m, nlq);
          lq[i] = qi === 0 ? 0 : -nlq;
        }
        if (kappa !== 0) {
          // p·δρ and q·δρ with δρ = κ(p − q)/p_μ; p/p_μ → 1/μ_p when μ_q = 0 (p_μ = μ_p·p), q/p_μ → 1/μ_q
          // when μ_p = 0, which also holds on the side that is 0. Below the smallest normal p_μ has
          // lost its relative accuracy (μ·p of a subnormal p rounds, and two of them can give
          // p_μ = 0: p/p_μ = 0/0 = NaN, fuzzed with both at e^−744): there the ratios come from the
          // log-ratio instead, p_μ/p = μ_p + μ_q·e^−ℓ and p_μ/q = μ_q + μ_p·e^ℓ (logMix, no division by p_μ).
          const tiny = m < MIN_NORMAL;
          if (mp !== 0) {
            const pm = mq === 0 ? 1 / mp : tiny ? Math.exp(-logMix(-yi, mq, mp)) : pi / m;
            const v = kappa * dpq * pm;
            rp[i] = v;
            Ep += v;
          }
          if (mq !== 0) {
            const qm = mp === 0 ? 1 / mq : tiny ? Math.exp(-logMix(yi, mp, mq)) : qi / m;
            const v = kappa * dpq * qm;
            rq[i] = v;
            Eq += v;
          }
        }
      }
      if (!tvd) D = cp * Kp + cq * Kq;
    }
    // The hard term: ce = (max h − h_y) + log Σ exp(h − max h), in that order (see
    // kernels/distillation.ts: at |h| ≈ 1e16, max h + log S would round log S away).
    let ce = 0;
    let rS1 = 0;
    if (hard) {
      let mh = ms;
      if (!hardDone) {
        mh = -Infinity;
        for (let i = 0; i < C; i++) {
          const hi = h[base + i]!;
          if (hi > mh || hi !== hi) mh = hi;
        }
        for (let i = 0; i < C; i++) {
          const c = Math.exp(h[base + i]! - mh);
          e1[i] = c;
          S1 += c;
          if (c < 1) R1 += c;
          else if (c === 1) N1++;
        }
      }
      const c1 = S1 === S1 ? Math.log1p(R1 + (N1 - 1)) : S1;
      ce = (mh - h[base + label]!) + c1;
      rS1 = 1 / S1;
    }
    loss[r] = (soft ? alpha * Tk * D : 0) + (hard ? (1 - alpha) * ce : 0);
    // Pass 4: the gradients. A side whose largest class J (jt for the teacher, js for the
    // student) holds at least half its mass is centred on it (the header, "The centring"):
    // ℓ − ℓ_J and A = Σ w·(ℓ − ℓ_J) for K, w·(δρ − δρ_J) and W = Σ w·(δρ − δρ_J) for the
    // mixture's E, σ − σ_J for TVD's, each where the reference and the sum are finite. Any
    // other side keeps pass 3's uncentred sums (reference 0, no class set apart), whose
    // non-finite results (a mask under the other side's mass, NaN) docs/non-finite.md states.
    let E = 0;
    const needT = soft && (dT !== null || dTemp !== null);
    const needS = soft && (dS !== null || dTemp !== null);
    let lpJ = 0, Ap = tvd ? Ep : Kp, rhoP = 0, Wp = Ep, jp = -1;
    let lqJ = 0, Aq = tvd ? Eq : Kq, rhoQ = 0, Wq = Eq, jq = -1;
    if (needT && p[jt]! >= 0.5) {
      const pJ = p[jt]!;
      if (tvd || cp !== 0) {
        const ref = lp[jt]!;
        const A = centredSum(p, lp, ref, C);
        if (ref - ref === 0 && A - A === 0) {
          lpJ = ref;
          Ap = A;
        }
      }
      if (!tvd && mp !== 0 && kappa !== 0) {
        const rho = rp[jt]! / pJ;
        const W = rho - rho === 0 ? mixtureSum(p, rp, rho, jt, C) : NaN;
        if (W - W === 0) {
          rhoP = rho;
          Wp = W;
          jp = jt;
        }
      }
    }
    if (needS && q[js]! >= 0.5) {
      const qJ = q[js]!;
      if (tvd || cq !== 0) {
        const ref = tvd ? lp[js]! : lq[js]!;
        const A = centredSum(q, tvd ? lp : lq, ref, C);
        if (ref - ref === 0 && A - A === 0) {
          lqJ = ref;
          Aq = A;
        }
      }
      if (!tvd && mq !== 0 && kappa !== 0) {
        const rho = rq[js]! / qJ;
        const W = rho - rho === 0 ? mixtureSum(q, rq, rho, js, C) : NaN;
        if (W - W === 0) {
          rhoQ = rho;
          Wq = W;
          jq = js;
        }
      }
    }
    for (let i = 0; (needT || needS) && i < C; i++) {
      const qi = q[i]!;
      const pi = p[i]!;
      let gs = 0;
      let gt = 0;
      if (qi !== 0 || pi !== 0) {
        if (tvd) {
          const sg = lp[i]!;
          gt = 0.5 * pi * ((sg - lpJ) - Ap);
          gs = -0.5 * qi * ((sg - lqJ) - Aq);
        } else {
          // (Uncentred, lpJ = rhoP = 0 and jp = −1 leave ℓ − K and w·δρ − w·E bit for bit.)
          if (needT) {
            if (cp !== 0 && pi !== 0) gt = cp * pi * ((lp[i]! - lpJ) - Ap);
            if (mp !== 0 && kappa !== 0) gt -= mp * ((i === jp ? 0 : rp[i]! - pi * rhoP) - pi * Wp);
          }
          if (needS) {
            if (cq !== 0 && qi !== 0) gs = cq * qi * ((lq[i]! - lqJ) - Aq);
            if (mq !== 0 && kappa !== 0) gs -= mq * ((i === jq ? 0 : rq[i]! - qi * rhoQ) - qi * Wq);
          }
        }
      }
      if (dTemp) {
        // Euler's identity; a class with g = 0 may sit at −∞ (0·∞ is not taken).
        if (gs !== 0) E += gs * (s[base + i]! - ms);
        if (gt !== 0) E += gt * (t[base + i]! - mt);
      }
      if (dS) dS[base + i] = cSoft * gs + (hard && sameH ? cHard * (e1[i]! * rS1 - (i === label ? 1 : 0)) : 0);
      if (dT) dT[base + i] = cSoft * gt;
    }
    if (!soft) {
      for (let i = 0; i < C; i++) {
        if (dS) dS[base + i] = hard && sameH ? cHard * (e1[i]! * rS1 - (i === label ? 1 : 0)) : 0;
        if (dT) dT[base + i] = 0;
      }
    }
    if (dH) for (let i = 0; i < C; i++) dH[base + i] = hard ? cHard * (e1[i]! * rS1 - (i === label ? 1 : 0)) : 0;
    // ∂(α·T^k·D)/∂T = α·T^{k−1}·(k·D − E/T), E/T = ⟨g_s, s/T⟩ + ⟨g_t, t/T⟩.
    if (dTemp) dTemp[r] = soft ? (alpha * Tk * invT * (power * D - E * invT)) / norm : 0;
  }
}

/** Σ wᵢ·(aᵢ − ref) over a row (pass 4's centred sums). */
function centredSum(w: Float64Array, a: Float64Array, ref: number, C: number): number {
  let sum = 0;
  for (let i = 0; i < C; i++) sum += w[i]! * (a[i]! - ref);
  return sum;
}

/** Σ_{i ≠ J} (rᵢ − wᵢ·ρ) over a row, r = w·δρ and ρ = δρ_J: Σ w·(δρ − δρ_J), whose J term is 0. */
function mixtureSum(w: Float64Array, r: Float64Array, rho: number, J: number, C: number): number {
  let sum = 0;
  for (let i = 0; i < J; i++) sum += r[i]! - w[i]! * rho;
  for (let i = J + 1; i < C; i++) sum += r[i]! - w[i]! * rho;
  return sum;
}

/** The smallest normal float64: below it a product or a sum of probabilities has lost relative accuracy. */
const MIN_NORMAL = 2.2250738585072014e-308;

/**
 * log(b + a·eᵛ) for a + b = 1 (logMix below), from e = eᵛ − 1 and ev = eᵛ already formed
 * (finite): log1p(a·e) while a·e ≥ −½, else log(b + a·ev). v itself decides only past 700,
 * where ev would have overflowed (the direct form's huge log-ratios).
 */
function logMixOf(e: number, ev: number, v: number, a: number, b: number): number {
  if (b === 0) return v;
  if (v > 700) return v + Math.log(a + b * Math.exp(-v));
  const z = a * e;
  return z >= -0.5 ? Math.log1p(z) : Math.log(b + a * ev);
}

/**
 * w·φ(v) = w·(eᵛ − 1 − v) for v = log(o/w), so o = w·eᵛ is the other probability: the term
 * of KL(w ‖ o-side) rewritten as a non-negative number. |v| ≤ 1: w times φ's series (a few
 * ulps); beyond: (o − w) − w·v, where φ(v) ≥ 0.36 and the three numbers cancel by at most a
 * factor 4 (at v = 1 or −1); w = 0: the limit o (w·v → 0). v = −∞ (o = 0 < w) gives +∞.
 */
export function wphi(w: number, o: number, v: number): number {
  if (w === 0) return o;
  if (v <= 1 && v >= -1) return w * phiSeries(v);
  return (o - w) - w * v;
}

/**
 * log(b + a·eᵛ) for a + b = 1, a > 0, b ≥ 0 (a mixture weighed against one of its parts):
 * b = 0 gives v itself. v > 0: log1p(a·expm1(v)), a sum of positive numbers, or
 * v + log(a + b·e⁻ᵛ) past v = 700 (no overflow). v ≤ 0: log1p(a·expm1(v)) while
 * a·expm1(v) ≥ −½ (1 + z ≥ ½: relative error a few ε), else log(b + a·eᵛ) ≤ log ½ (a sum of
 * non-negative numbers, absolute error 2ε on a result of size ≥ 0.69). NaN gives NaN.
 */
export function logMix(v: number, a: number, b: number): number {
  if (b === 0) return v;
  if (v > 0) return v > 700 ? v + Math.log(a + b * Math.exp(-v)) : Math.log1p(a * Math.expm1(v));
  const z = a * Math.expm1(v);
  return z >= -0.5 ? Math.log1p(z) : Math.log(b + a * Math.exp(v));
}

/** kept[k] = the k-th row whose label is not ignoreIndex; returns their number (only counted when kept is null). */
export function keptRows(labels: Int32Array, ignoreIndex: number, kept: Int32Array | null): number {
  let n = 0;
  if (kept === null) {
    for (let r = 0; r < labels.length; r++) if (labels[r] !== ignoreIndex) n++;
    return n;
  }
  for (let r = 0; r < labels.length; r++) if (labels[r] !== ignoreIndex) kept[n++] = r;
  return n;
}
