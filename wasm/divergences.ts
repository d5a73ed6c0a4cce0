// distillationLoss's general rows (every divergence) in WebAssembly: a straight port of
// src/kernels/divergences.ts (distillationRowsKernel), whose comment derives every line
// below; this file only says where the port differs, which is nowhere in the arithmetic.
//
// float64 throughout, scalar (no SIMD): the same passes, the same forms (log-ratio for a
// regular row, direct otherwise), the same non-finite rules (docs/non-finite.md), and the
// same elementary functions in the same places. AssemblyScript's Math.exp, log, log1p and
// expm1 are software (musl's), not V8's (fdlibm's): measured against a 200-bit reference
// on 80,000 points over the ranges the kernel uses, exp and log are within 0.51 ulp (V8:
// 0.77), log1p 0.73 (V8: 0.73), expm1 1.31 (V8: 0.80) (docs/distillation-methods.md,
// "The WebAssembly twin"). Every bound of the TypeScript kernel counts each of them as
// "a few ulps", so its contract carries over unchanged.
//
// The JavaScript side (src/kernels/wasm/module.ts) copies s, t and h in as float64 (exact
// from float32), calls this on blocks of rows, and copies the float64 results out into the
// caller's arrays (one rounding per stored value, as the TypeScript kernel's stores).

// @ts-ignore: decorator
@inline function ld(p: usize, i: i32): f64 {
  return load<f64>(p + (<usize>i << 3));
}

// @ts-ignore: decorator
@inline function st(p: usize, i: i32, v: f64): void {
  store<f64>(p + (<usize>i << 3), v);
}

// The log-ratio form's limit on the spread of (t − s)/T (kernels/distillation.ts, SPREAD_64).
const SPREAD: f64 = 500.0;
// The smallest normal float64: below it a product or a sum of probabilities has lost relative accuracy.
const MIN_NORMAL: f64 = 2.2250738585072014e-308;
// 2⁻²⁰: below this Z⁺ the student's mass is almost all on classes the teacher masks.
const ZP_MIN: f64 = 9.5367431640625e-7;

// max − min of the exact tᵢ − sᵢ over a row's classes where it is finite, from the two-sum pieces
// measured from R (kernels/distillation.ts, exactSpread): for rows whose rounded differences leave
// the choice of form open.
function exactSpread(rs: usize, rt: usize, C: i32, R: f64): f64 {
  let lo: f64 = Infinity;
  let hi: f64 = -Infinity;
  for (let i = 0; i < C; i++) {
    const t = ld(rt, i);
    const s = ld(rs, i);
    const d = t - s;
    if (d - d == 0) {
      const v = centred(t, s, R, 0);
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return hi - lo;
}

// ((t − s) − D) − c with t − s carried exactly by a two-sum (kernels/distillation.ts, centred).
// @ts-ignore: decorator
@inline function centred(t: f64, s: f64, D: f64, c: f64): f64 {
  const d = t - s;
  const z = d - t;
  const e = (t - (d - z)) - (s + z);
  return ((d - D) - c) + e;
}

// φ(x) = eˣ − 1 − x for |x| ≤ 1 by its Taylor series to x¹⁹ (kernels/distillation.ts, phiSeries;
// the same coefficients, 1/(n + 2)!, and the same Estrin grouping, so the same roundings).
const P0: f64 = 0.5, P1: f64 = 1.0 / 6.0, P2: f64 = 1.0 / 24.0, P3: f64 = 1.0 / 120.0, P4: f64 = 1.0 / 720.0;
const P5: f64 = 1.0 / 5040.0, P6: f64 = 1.0 / 40320.0, P7: f64 = 1.0 / 362880.0, P8: f64 = 1.0 / 3628800.0;
const P9: f64 = 1.0 / 39916800.0, P10: f64 = 1.0 / 479001600.0, P11: f64 = 1.0 / 6227020800.0;
const P12: f64 = 1.0 / 87178291200.0, P13: f64 = 1.0 / 1307674368000.0, P14: f64 = 1.0 / 20922789888000.0;
const P15: f64 = 1.0 / 355687428096000.0, P16: f64 = 1.0 / 6402373705728000.0, P17: f64 = 1.0 / 121645100408832000.0;

// @ts-ignore: decorator
@inline function phiSeries(x: f64): f64 {
  const x2 = x * x;
  const x4 = x2 * x2;
  const x8 = x4 * x4;
  const q0 = P0 + P1 * x, q1 = P2 + P3 * x, q2 = P4 + P5 * x, q3 = P6 + P7 * x;
  const q4 = P8 + P9 * x, q5 = P10 + P11 * x, q6 = P12 + P13 * x, q7 = P14 + P15 * x, q8 = P16 + P17 * x;
  const o0 = (q0 + q1 * x2) + (q2 + q3 * x2) * x4;
  const o1 = (q4 + q5 * x2) + (q6 + q7 * x2) * x4;
  return x2 * (o0 + (o1 + q8 * x8) * x8);
}

// log(b + a·eᵛ) for a + b = 1 from e = eᵛ − 1 and ev = eᵛ (kernels/divergences.ts, logMixOf).
function logMixOf(e: f64, ev: f64, v: f64, a: f64, b: f64): f64 {
  if (b == 0) return v;
  if (v > 700) return v + Math.log(a + b * Math.exp(-v));
  const z = a * e;
  return z >= -0.5 ? Math.log1p(z) : Math.log(b + a * ev);
}

// log(b + a·eᵛ) for a + b = 1 (kernels/divergences.ts, logMix).
function logMix(v: f64, a: f64, b: f64): f64 {
  if (b == 0) return v;
  if (v > 0) return v > 700 ? v + Math.log(a + b * Math.exp(-v)) : Math.log1p(a * Math.expm1(v));
  const z = a * Math.expm1(v);
  return z >= -0.5 ? Math.log1p(z) : Math.log(b + a * Math.exp(v));
}

// Σ wᵢ·(aᵢ − ref) over a row (kernels/divergences.ts, centredSum).
function centredSum(w: usize, a: usize, ref: f64, C: i32): f64 {
  let sum: f64 = 0;
  for (let i = 0; i < C; i++) sum += ld(w, i) * (ld(a, i) - ref);
  return sum;
}

// Σ_{i ≠ J} (rᵢ − wᵢ·ρ) over a row (kernels/divergences.ts, mixtureSum).
function mixtureSum(w: usize, r: usize, rho: f64, J: i32, C: i32): f64 {
  let sum: f64 = 0;
  for (let i = 0; i < J; i++) sum += ld(r, i) - ld(w, i) * rho;
  for (let i = J + 1; i < C; i++) sum += ld(r, i) - ld(w, i) * rho;
  return sum;
}

// w·φ(log(o/w)), the KL term as a non-negative number (kernels/divergences.ts, wphi).
// @ts-ignore: decorator
@inline function wphi(w: f64, o: f64, v: f64): f64 {
  if (w == 0) return o;
  if (v <= 1 && v >= -1) return w * phiSeries(v);
  return (o - w) - w * v;
}

/**
 * The table's distillationRows (kernels/table.ts, DivergenceKernels) on B rows of C classes:
 * s, t, h float64 [B, C] (h == s when the hard term reads the student's own logits), labels
 * int32 [B] or 0, `kind` 0 forward, 1 reverse, 2 jsd, 3 skewForward, 4 skewReverse, 5 tvd;
 * writes loss[B] and, where the pointer is not 0, dS, dT, dH [B, C] and dTemp[B] (float64).
 * `squareOk` is the TypeScript kernel's "s is float32" (the hard term's exponentials by
 * repeated squaring at an integer T ≤ 64). `scratch` holds 10·C float64.
 */
export function divergenceRows(
  s: usize, t: usize, h: usize, B: i32, C: i32, kind: i32, mix: f64, T: f64, alpha: f64, power: i32,
  labels: usize, ignoreIndex: i32, norm: f64,
  loss: usize, dS: usize, dT: usize, dH: usize, dTemp: usize, scratch: usize, squareOk: bool,
): void {
  const soft = alpha > 0;
  const hasLabels = labels != 0;
  const hard = hasLabels && alpha < 1;
  const sameH = h == s;
  const invT = 1 / T;
  const Tk = power == 2 ? T * T : 1.0;
  const tvd = kind == 5;
  let cp: f64 = 0, cq: f64 = 0, mp: f64 = 0, mq: f64 = 0;
  if (kind == 0) { cp = 1; cq = 0; mp = 0; mq = 1; }
  else if (kind == 1) { cp = 0; cq = 1; mp = 1; mq = 0; }
  else if (kind == 2) { cp = mix; cq = 1 - mix; mp = mix; mq = 1 - mix; }
  else if (kind == 3) { cp = 1; cq = 0; mp = mix; mq = 1 - mix; }
  else if (kind == 4) { cp = 0; cq = 1; mp = 1 - mix; mq = mix; }
  const kappa = cp - mp;
  const q = scratch;
  const p = scratch + (<usize>C << 3);
  const y = scratch + (<usize>(2 * C) << 3);
  const dr = scratch + (<usize>(3 * C) << 3);
  const rr = scratch + (<usize>(4 * C) << 3);
  const lp = scratch + (<usize>(5 * C) << 3);
  const lq = scratch + (<usize>(6 * C) << 3);
  const rp = scratch + (<usize>(7 * C) << 3);
  const rq = scratch + (<usize>(8 * C) << 3);
  const e1 = scratch + (<usize>(9 * C) << 3);
  const cSoft = (alpha * Tk * invT) / norm;
  const cHard = (1 - alpha) / norm;
  const squarings: i32 = sameH && squareOk && T >= 2 && T <= 64 && T == Math.floor(T) ? <i32>T : 0;
  for (let r = 0; r < B; r++) {
    const rs = s + (<usize>(r * C) << 3);
    const rt = t + (<usize>(r * C) << 3);
    const rh = h + (<usize>(r * C) << 3);
    const rdS: usize = dS == 0 ? 0 : dS + (<usize>(r * C) << 3);
    const rdT: usize = dT == 0 ? 0 : dT + (<usize>(r * C) << 3);
    const rdH: usize = dH == 0 ? 0 : dH + (<usize>(r * C) << 3);
    const label: i32 = hasLabels ? load<i32>(labels + (<usize>r << 2)) : -1;
    if (hasLabels && label == ignoreIndex) {
      st(loss, r, 0);
      for (let i = 0; i < C; i++) {
        if (rdS != 0) st(rdS, i, 0);
        if (rdT != 0) st(rdT, i, 0);
        if (rdH != 0) st(rdH, i, 0);
      }
      if (dTemp != 0) st(dTemp, r, 0);
      continue;
    }
    let D: f64 = 0;
    let ms: f64 = -Infinity;
    let mt: f64 = -Infinity;
    let Kp: f64 = 0;
    let Kq: f64 = 0;
    let Ep: f64 = 0;
    let Eq: f64 = 0;
    let hardDone = false;
    let S1: f64 = 0, R1: f64 = 0, N1: f64 = 0;
    // The classes of the largest teacher and student logits: the gradients' references (pass 4).
    let jt: i32 = 0;
    let js: i32 = 0;
    if (soft) {
      // Pass 1: the maxima and their classes, and whether the row is regular.
      let umin: f64 = Infinity;
      let umax: f64 = -Infinity;
      let masksOk = true;
      for (let i = 0; i < C; i++) {
        const si = ld(rs, i);
        const ti = ld(rt, i);
        if (si > ms || si != si) {
          ms = si;
          js = i;
        }
        if (ti > mt || ti != ti) {
          mt = ti;
          jt = i;
        }
        const u = ti - si;
        if (u - u == 0) {
          if (u < umin) umin = u;
          if (u > umax) umax = u;
        } else if (ti != -Infinity) masksOk = false;
      }
      // The spread of the exact t − s (the rounded one within its slack, else the two-sum pieces).
      let regular = masksOk && ms - ms == 0 && mt - mt == 0;
      if (regular) {
        const slack = 1.1102230246251565e-16 * (Math.abs(umax) + Math.abs(umin));
        if (!((umax - umin - slack) * invT <= SPREAD)) regular = false;
        else if (!((umax - umin + slack) * invT <= SPREAD)) regular = exactSpread(rs, rt, C, umax) * invT <= SPREAD;
      }
      // The centre's reference D = t − s at the student's largest logit the teacher keeps.
      let Du: f64 = 0;
      if (regular) {
        let k = js;
        if (ld(rt, js) == -Infinity) {
          let mk: f64 = -Infinity;
          for (let i = 0; i < C; i++) {
            if (ld(rt, i) != -Infinity && ld(rs, i) > mk) {
              mk = ld(rs, i);
              k = i;
            }
          }
        }
        Du = ld(rt, k) - ld(rs, k);
      }
      let logZ: f64 = 0;
      let Mrow: f64 = 0;
      let rZ: f64 = 1;
      // Pass 2: the student's exponentials, their sum with its tail apart, the centre's sums,
      // the hard term's exponentials when it reads s.
      let Ss: f64 = 0, Rs: f64 = 0, Ns: f64 = 0, Su: f64 = 0, Sq: f64 = 0;
      const e1here = hard && sameH;
      for (let i = 0; i < C; i++) {
        const si = ld(rs, i);
        const ds = si - ms;
        const a = Math.exp(ds * invT);
        st(q, i, a);
        Ss += a;
        if (a < 1) Rs += a;
        else if (a == 1) Ns++;
        if (regular) {
          const ti = ld(rt, i);
          if (ti != -Infinity) {
            Su += a * centred(ti, si, Du, 0);
            Sq += a;
          }
        }
        if (e1here) {
          let c: f64;
          if (T == 1) c = a;
          else if (squarings != 0) {
            c = 1;
            let b = a;
            for (let k = squarings; k > 0; k >>= 1) {
              if (k & 1) c *= b;
              b *= b;
            }
          } else c = Math.exp(ds);
          st(e1, i, c);
          S1 += c;
          if (c < 1) R1 += c;
          else if (c == 1) N1++;
        }
      }
      if (e1here) hardDone = true;
      if (regular) {
        // The centre as the pair ū = D + c, never rounded into one number.
        const cbar = Sq > 0 ? Su / Sq : 0;
        let M: f64 = 0;
        let Zp: f64 = 0;
        for (let i = 0; i < C; i++) {
          const ti = ld(rt, i);
          const a = ld(q, i);
          if (ti == -Infinity) {
            st(y, i, -Infinity);
            st(dr, i, -1);
            st(rr, i, 0);
            M -= a;
            continue;
          }
          const x = centred(ti, ld(rs, i), Du, cbar) * invT;
          st(y, i, x);
          let em1: f64;
          let ex: f64;
          if (x <= 1 && x >= -1) {
            em1 = phiSeries(x) + x;
            ex = x >= -0.5 ? 1 + em1 : Math.exp(x);
          } else {
            ex = Math.exp(x);
            em1 = ex - 1;
          }
          st(dr, i, em1);
          st(rr, i, ex);
          M += a * em1;
          Zp += a * ex;
        }
        M /= Ss;
        Zp /= Ss;
        if (Zp >= ZP_MIN) {
          logZ = M >= -0.5 ? Math.log1p(M) : Math.log(Zp);
          Mrow = M;
          rZ = 1 / (M >= -0.5 ? 1 + M : Zp);
        } else regular = false;
      }
      let rSs = 1 / Ss;
      let rSt: f64 = 0;
      let cs: f64 = 0;
      let ct: f64 = 0;
      if (!regular) {
        let St: f64 = 0, Rt: f64 = 0, Nt: f64 = 0;
        for (let i = 0; i < C; i++) {
          const b = Math.exp((ld(rt, i) - mt) * invT);
          st(p, i, b);
          St += b;
          if (b < 1) Rt += b;
          else if (b == 1) Nt++;
        }
        cs = Ss == Ss ? Math.log1p(Rs + (Ns - 1)) : Ss;
        ct = St == St ? Math.log1p(Rt + (Nt - 1)) : St;
        rSt = 1 / St;
        rSs = 1 / Ss;
      }
      // Pass 3: per class q, p, y, d = r − 1, r = p/q; the terms and the gradients' row sums.
      for (let i = 0; i < C; i++) {
        const qi = ld(q, i) * rSs;
        st(q, i, qi);
        let pi: f64;
        let yi: f64;
        let di: f64;
        let ri: f64;
        if (regular) {
          ri = ld(rr, i) * rZ;
          di = Mrow >= -0.5 ? (ld(dr, i) - Mrow) * rZ : ri - 1;
          yi = ld(y, i) - logZ;
          pi = qi * ri;
        } else {
          pi = ld(p, i) * rSt;
          yi = ((ld(rt, i) - mt) - (ld(rs, i) - ms)) * invT - (ct - cs);
          di = Math.expm1(yi);
          ri = Math.exp(yi);
        }
        st(p, i, pi);
        if (qi == 0 && pi == 0) {
          // Nothing; its saved values 0 for pass 4's row sums.
          st(lp, i, 0);
          st(lq, i, 0);
          st(rp, i, 0);
          st(rq, i, 0);
          continue;
        }
        const dpq = qi == 0 ? pi : pi == 0 ? -qi : regular || (yi <= 0.5 && yi >= -0.5) ? qi * di : pi - qi;
        if (tvd) {
          const sg = Math.sign(dpq);
          D += 0.5 * Math.abs(dpq);
          st(lp, i, sg);
          Ep += pi * sg;
          Eq += qi * sg;
          continue;
        }
        const m = mp * pi + mq * qi;
        if (cp != 0) {
          const nlp = pi == 0 ? Infinity : yi == Infinity ? Math.log(mp)
            : regular ? logMixOf(-di / ri, 1 / ri, -yi, mq, mp) : logMixOf(Math.expm1(-yi), Math.exp(-yi), -yi, mq, mp);
          Kp += wphi(pi, m, nlp);
          st(lp, i, pi == 0 ? 0 : -nlp);
        }
        if (cq != 0) {
          const nlq = qi == 0 ? Infinity : yi == -Infinity ? Math.log(mq) : logMixOf(di, ri, yi, mp, mq);
          Kq += wphi(qi, m, nlq);
          st(lq, i, qi == 0 ? 0 : -nlq);
        }
        if (kappa != 0) {
          // Below the smallest normal m the ratios come from the log-ratio (the subnormal-mixture rule).
          const tiny = m < MIN_NORMAL;
          if (mp != 0) {
            const pm = mq == 0 ? 1 / mp : tiny ? Math.exp(-logMix(-yi, mq, mp)) : pi / m;
            const v = kappa * dpq * pm;
            st(rp, i, v);
            Ep += v;
          }
          if (mq != 0) {
            const qm = mp == 0 ? 1 / mq : tiny ? Math.exp(-logMix(yi, mp, mq)) : qi / m;
            const v = kappa * dpq * qm;
            st(rq, i, v);
            Eq += v;
          }
        }
      }
      if (!tvd) D = cp * Kp + cq * Kq;
    }
    // The hard term: ce = (max h − h_y) + log Σ exp(h − max h), in that order.
    let ce: f64 = 0;
    let rS1: f64 = 0;
    if (hard) {
      let mh = ms;
      if (!hardDone) {
        mh = -Infinity;
        for (let i = 0; i < C; i++) {
          const hi = ld(rh, i);
          if (hi > mh || hi != hi) mh = hi;
        }
        for (let i = 0; i < C; i++) {
          const c = Math.exp(ld(rh, i) - mh);
          st(e1, i, c);
          S1 += c;
          if (c < 1) R1 += c;
          else if (c == 1) N1++;
        }
      }
      const c1 = S1 == S1 ? Math.log1p(R1 + (N1 - 1)) : S1;
      ce = (mh - ld(rh, label)) + c1;
      rS1 = 1 / S1;
    }
    st(loss, r, (soft ? alpha * Tk * D : 0) + (hard ? (1 - alpha) * ce : 0));
    // Pass 4: the gradients, each side whose largest class (jt, js) holds at least half its mass
    // centred on it where the reference and the sum are finite; else pass 3's uncentred sums.
    let E: f64 = 0;
    const needT = soft && (dT != 0 || dTemp != 0);
    const needS = soft && (dS != 0 || dTemp != 0);
    let lpJ: f64 = 0, Ap: f64 = tvd ? Ep : Kp, rhoP: f64 = 0, Wp: f64 = Ep, jp: i32 = -1;
    let lqJ: f64 = 0, Aq: f64 = tvd ? Eq : Kq, rhoQ: f64 = 0, Wq: f64 = Eq, jq: i32 = -1;
    if (needT && ld(p, jt) >= 0.5) {
      const pJ = ld(p, jt);
      if (tvd || cp != 0) {
        const ref = ld(lp, jt);
        const A = centredSum(p, lp, ref, C);
        if (ref - ref == 0 && A - A == 0) {
          lpJ = ref;
          Ap = A;
        }
      }
      if (!tvd && mp != 0 && kappa != 0) {
        const rho = ld(rp, jt) / pJ;
        const W = rho - rho == 0 ? mixtureSum(p, rp, rho, jt, C) : NaN;
        if (W - W == 0) {
          rhoP = rho;
          Wp = W;
          jp = jt;
        }
      }
    }
    if (needS && ld(q, js) >= 0.5) {
      const qJ = ld(q, js);
      if (tvd || cq != 0) {
        const ref = tvd ? ld(lp, js) : ld(lq, js);
        const A = centredSum(q, tvd ? lp : lq, ref, C);
        if (ref - ref == 0 && A - A == 0) {
          lqJ = ref;
          Aq = A;
        }
      }
      if (!tvd && mq != 0 && kappa != 0) {
        const rho = ld(rq, js) / qJ;
        const W = rho - rho == 0 ? mixtureSum(q, rq, rho, js, C) : NaN;
        if (W - W == 0) {
          rhoQ = rho;
          Wq = W;
          jq = js;
        }
      }
    }
    if (needT || needS) {
      for (let i = 0; i < C; i++) {
        const qi = ld(q, i);
        const pi = ld(p, i);
        let gs: f64 = 0;
        let gt: f64 = 0;
        if (qi != 0 || pi != 0) {
          if (tvd) {
            const sg = ld(lp, i);
            gt = 0.5 * pi * ((sg - lpJ) - Ap);
            gs = -0.5 * qi * ((sg - lqJ) - Aq);
          } else {
            if (needT) {
              if (cp != 0 && pi != 0) gt = cp * pi * ((ld(lp, i) - lpJ) - Ap);
              if (mp != 0 && kappa != 0) gt -= mp * ((i == jp ? 0 : ld(rp, i) - pi * rhoP) - pi * Wp);
            }
            if (needS) {
              if (cq != 0 && qi != 0) gs = cq * qi * ((ld(lq, i) - lqJ) - Aq);
              if (mq != 0 && kappa != 0) gs -= mq * ((i == jq ? 0 : ld(rq, i) - qi * rhoQ) - qi * Wq);
            }
          }
        }
        if (dTemp != 0) {
          if (gs != 0) E += gs * (ld(rs, i) - ms);
          if (gt != 0) E += gt * (ld(rt, i) - mt);
        }
        if (rdS != 0) st(rdS, i, cSoft * gs + (hard && sameH ? cHard * (ld(e1, i) * rS1 - (i == label ? 1.0 : 0.0)) : 0));
        if (rdT != 0) st(rdT, i, cSoft * gt);
      }
    }
    if (!soft) {
      for (let i = 0; i < C; i++) {
        if (rdS != 0) st(rdS, i, hard && sameH ? cHard * (ld(e1, i) * rS1 - (i == label ? 1.0 : 0.0)) : 0);
        if (rdT != 0) st(rdT, i, 0);
      }
    }
    if (rdH != 0) for (let i = 0; i < C; i++) st(rdH, i, hard ? cHard * (ld(e1, i) * rS1 - (i == label ? 1.0 : 0.0)) : 0);
    if (dTemp != 0) st(dTemp, r, soft ? (alpha * Tk * invT * (<f64>power * D - E * invT)) / norm : 0);
  }
}
