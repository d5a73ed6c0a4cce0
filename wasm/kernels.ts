// kdgrad's WebAssembly SIMD kernels, in AssemblyScript.
//
// Built by `npm run build:wasm` (scripts/build-wasm.mjs) into
// src/kernels/wasm/bytes.ts, which embeds the module's bytes so the library
// needs no file loading. Memory is laid out by the JavaScript side
// (src/kernels/wasm/module.ts): it grows the memory, copies the inputs in at
// offsets it chooses, calls a kernel, and copies results out. The memory is
// imported, so that worker threads run their instances on the same (shared)
// memory and each computes its block of a call in place.
//
// All float32 kernels compute in float64 lanes (f64x2): the sums behind a
// KL that is O(1/T²) at large T need float64 accuracy, and f64x2 keeps two
// lanes busy at a time.

// distillationLoss's general rows, every divergence (wasm/divergences.ts).
export { divergenceRows } from "./divergences";

// ---------------------------------------------------------------- exp, f64x2

const LOG2E: f64 = 1.4426950408889634;
const LN2_HI: f64 = 6.93147180369123816490e-1;
const LN2_LO: f64 = 1.90821492927058770002e-10;

// e^r in both lanes for |r| ≤ ½ ln 2: its Taylor series to r¹¹ (relative error < 1e-14 on
// |r| ≤ 0.347), by Estrin's scheme: pairs c₂ⱼ + c₂ⱼ₊₁·r, combined with r², r⁴, r⁸, so the
// multiply-adds do not wait on each other as Horner's rule would.
// @ts-ignore: decorator
@inline function expPoly(r: v128): v128 {
  const r2 = f64x2.mul(r, r);
  const r4 = f64x2.mul(r2, r2);
  const r8 = f64x2.mul(r4, r4);
  const p01 = f64x2.add(f64x2.splat(1.0), r);
  const p23 = f64x2.add(f64x2.splat(0.5), f64x2.mul(r, f64x2.splat(1.0 / 6.0)));
  const p45 = f64x2.add(f64x2.splat(1.0 / 24.0), f64x2.mul(r, f64x2.splat(1.0 / 120.0)));
  const p67 = f64x2.add(f64x2.splat(1.0 / 720.0), f64x2.mul(r, f64x2.splat(1.0 / 5040.0)));
  const p89 = f64x2.add(f64x2.splat(1.0 / 40320.0), f64x2.mul(r, f64x2.splat(1.0 / 362880.0)));
  const pab = f64x2.add(f64x2.splat(1.0 / 3628800.0), f64x2.mul(r, f64x2.splat(1.0 / 39916800.0)));
  const q0 = f64x2.add(p01, f64x2.mul(r2, p23));
  const q1 = f64x2.add(p45, f64x2.mul(r2, p67));
  const q2 = f64x2.add(p89, f64x2.mul(r2, pab));
  return f64x2.add(f64x2.add(q0, f64x2.mul(r4, q1)), f64x2.mul(r8, q2));
}

// exp(x) in both lanes. x = k·ln 2 + r, |r| ≤ ½ ln 2 (ln 2 split in a head
// with trailing zeros and a tail, so k·ln2_hi is exact); e^r by expPoly; 2^k
// built in the exponent bits. NaN stays NaN; the kernels only pass x ≤ 0.
//
// x < −708 gives 0 (this covers −∞), where Math.exp is subnormal down to e^{−745.13}:
// a result below e^{−708} ≈ 3.3e-308 is lost. Every use but one (expvFull, below) leaves
// no trace of that in its float32 results. The softmax rows divide by a sum ≥ 1 (softmax),
// add the term to a sum ≥ 1 (logSoftmax: log1p(R) moves by less than 4e-308), or multiply
// it by Σg with |Σg| ≤ C·3.4e38 (logSoftmax backward: less than 1e-263); the distillation
// kernel's student and cross-entropy exponentials enter sums ≥ 1 and gradients as q/S or
// as q·eˣ with eˣ ≤ e⁵⁰⁰ (the log-ratio form's spread), under 3.3e-308·e⁵⁰⁰ ≈ 5e-91. The
// smallest positive float32 is 1.4e-45, so each result is the float32 that Math.exp's
// values would give. Not so the teacher's probabilities in the direct form: whether p_t is
// 0 decides whether a class is in the teacher's support, so whether a class the student
// masks makes the loss +∞ (and dT −∞) or adds nothing. Those use expvFull. (Flushing for
// them gave a finite loss where TypeScript has +∞, for a teacher gap between 708·T and 745·T.)
// Why not the full range everywhere: measured, it cost the softmax rows 5 to 10 % (float32
// [256, 1000], forward and backward), from the branch that keeps it off the other vectors.
// @ts-ignore: decorator
@inline function expv(x: v128): v128 {
  const tiny = f64x2.lt(x, f64x2.splat(-708.0));
  const xc = f64x2.max(x, f64x2.splat(-708.0));
  const k = f64x2.nearest(f64x2.mul(xc, f64x2.splat(LOG2E)));
  const r = f64x2.sub(f64x2.sub(xc, f64x2.mul(k, f64x2.splat(LN2_HI))), f64x2.mul(k, f64x2.splat(LN2_LO)));
  const p = expPoly(r);
  // 2^k: (k + 1023) << 52 as the bits of a double.
  const ki = i64x2.extend_low_i32x4_s(i32x4.trunc_sat_f64x2_s_zero(k));
  const scale = i64x2.shl(i64x2.add(ki, i64x2.splat(1023)), 52);
  const y = f64x2.mul(p, scale);
  return v128.andnot(y, tiny);
}

// exp(x) in both lanes with Math.exp's range: as expv, but subnormal below x = −708, down
// to e^{−745.13} (2⁻¹⁰⁷⁴, the smallest double, as Math.exp gives it), and 0 below that (x is
// first raised to −746, and such lanes, −∞ included, are set to 0). A subnormal 2^k has no
// exponent bits, so 2^k is the product of 2^{k₁}, k₁ = max(k, −1021), and 2^{k − k₁} ≥ 2⁻⁵⁵,
// two normal numbers: e^r·2^{k₁} ≥ 0.7·2⁻¹⁰²¹ is normal and exact, and one rounding into
// the subnormal range follows, as in Math.exp. The lanes at −746 get 2^{k − k₁} = 0, so that
// no product underflows there: x86 processors handle an underflow in microcode, at a hundred
// cycles or more (with the product formed, a row with a tenth of its classes masked at −∞
// took twice the time).
// @ts-ignore: decorator
@inline function expvFull(x: v128): v128 {
  const xc = f64x2.max(x, f64x2.splat(-746.0));
  const k = f64x2.nearest(f64x2.mul(xc, f64x2.splat(LOG2E)));
  const r = f64x2.sub(f64x2.sub(xc, f64x2.mul(k, f64x2.splat(LN2_HI))), f64x2.mul(k, f64x2.splat(LN2_LO)));
  const p = expPoly(r);
  const k1 = f64x2.max(k, f64x2.splat(-1021.0));
  const k1i = i64x2.extend_low_i32x4_s(i32x4.trunc_sat_f64x2_s_zero(k1));
  const k2i = i64x2.extend_low_i32x4_s(i32x4.trunc_sat_f64x2_s_zero(f64x2.sub(k, k1)));
  const s1 = i64x2.shl(i64x2.add(k1i, i64x2.splat(1023)), 52);
  const s2 = v128.andnot(i64x2.shl(i64x2.add(k2i, i64x2.splat(1023)), 52), f64x2.le(xc, f64x2.splat(-746.0)));
  return f64x2.mul(f64x2.mul(p, s1), s2);
}

// Two float32s at p as float64 lanes.
// @ts-ignore: decorator
@inline function load2(p: usize): v128 {
  return f64x2.promote_low_f32x4(v128.load64_zero(p));
}

// Store the two lanes of v as float32 at p.
// @ts-ignore: decorator
@inline function store2(p: usize, v: v128): void {
  v128.store64_lane(p, f32x4.demote_f64x2_zero(v), 0);
}

// -------------------------------------------------- fused distillation loss

// dᵢ = log p_t,i − log p_s,i = ((tᵢ − m_t) − (sᵢ − m_s))/T − (c_t − c_s) for two
// classes, from the float32 logits at tr and sr (offset i), in log space.
// @ts-ignore: decorator
@inline function logDiff(tr: usize, sr: usize, i: i32, mt: v128, ms: v128, invT: v128, shift: v128): v128 {
  const dt = f64x2.sub(load2(tr + (<usize>i << 2)), mt);
  const ds = f64x2.sub(load2(sr + (<usize>i << 2)), ms);
  return f64x2.sub(f64x2.mul(f64x2.sub(dt, ds), invT), shift);
}

// ((t − s) − D) − c in both lanes with t − s carried exactly (Knuth's two-sum, d + e =
// t − s), so a small result keeps its relative accuracy however large t, s, D are
// (`centred` in src/kernels/distillation.ts: the centre is the pair D + c).
// @ts-ignore: decorator
@inline function centred2(t: v128, s: v128, D: v128, c: v128): v128 {
  const d = f64x2.sub(t, s);
  const z = f64x2.sub(d, t);
  const e = f64x2.sub(f64x2.sub(t, f64x2.sub(d, z)), f64x2.add(s, z));
  return f64x2.add(f64x2.sub(f64x2.sub(d, D), c), e);
}

// max − min of the exact tᵢ − sᵢ over a row's classes where it is finite, from the two-sum
// pieces measured from R (a rounded value of one of them); `exactSpread` of distillation.ts.
// Only for rows whose rounded differences leave the choice of form open.
function exactSpread(sr: usize, tr: usize, C: i32, R: f64): f64 {
  let lo: f64 = Infinity;
  let hi: f64 = -Infinity;
  for (let i: i32 = 0; i < C; i++) {
    const t = <f64>load<f32>(tr + (<usize>i << 2));
    const s = <f64>load<f32>(sr + (<usize>i << 2));
    const d = t - s;
    if (d - d == 0) {
      const z = d - t;
      const v = (d - R) + ((t - (d - z)) - (s + z));
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return hi - lo;
}

// The largest spread of (t − s)/T the log-ratio form takes in float64 lanes (as
// SPREAD_64 in src/kernels/distillation.ts): eˣ ≤ e⁵⁰⁰ keeps M, Γ finite.
const SPREAD_64: f64 = 500.0;

/**
 * The fused distillation loss of src/kernels/distillation.ts for float32
 * s, t [B, C] (C even: the caller pads odd C with a −∞ class in both, which has no
 * mass in either distribution), labels [B] (or 0 for none), writing dS and
 * dT (float32, or 0 to skip) and using 3·C float64 of scratch (4·C with dT), the gradients
 * divided by `norm` and each row's loss stored at rowLoss when not 0 (see distillRows). Returns
 * the sum of the rows' losses over B. Same math, same passes and the same two forms of the
 * KL (log-ratio for a regular row, direct otherwise), two lanes at a time.
 */
export function distill(
  s: usize, t: usize, labels: usize, B: i32, C: i32, T: f64, alpha: f64,
  dS: usize, dT: usize, scratch: usize, norm: f64, rowLoss: usize,
): f64 {
  return distillRows(s, t, labels, B, C, T, alpha, dS, dT, scratch, norm, rowLoss);
}

// `distill` with the gradients divided by `norm` (B for a whole batch; the batch's B for a
// block of its rows, which a thread computes) and each row's loss stored at rowLoss (float64,
// when not 0). The rows' losses are summed in row order, each formed whole before it is added,
// so that a caller summing the stored losses of blocks in order gets the same total, bit for bit.
function distillRows(
  s: usize, t: usize, labels: usize, B: i32, C: i32, T: f64, alpha: f64,
  dS: usize, dT: usize, scratch: usize, norm: f64, rowLoss: usize,
): f64 {
  const soft = alpha > 0;
  const hard = labels != 0 && alpha < 1;
  const invT = 1.0 / T;
  const vInvT = f64x2.splat(invT);
  // Integer T ≤ 64: exp(s − max s) = exp((s − max s)/T)^T by binary powering,
  // one exponential fewer (relative error ≈ T·2⁻⁵³, far below float32's).
  const powers: i32 = T >= 2 && T <= 64 && T == Math.floor(T) ? <i32>T : 0;
  const es = scratch;
  const et = scratch + (<usize>C << 3);
  const e1 = T == 1.0 ? es : scratch + (<usize>C << 4);
  // (with dT) eˣ of the log-ratio form, for p_t = q·eˣ/(1 + M).
  const exs = scratch + (<usize>C << 4) + (<usize>C << 3);
  const ninf = f64x2.splat(-Infinity);
  const zero = f64x2.splat(0);
  const one = f64x2.splat(1);
  let total: f64 = 0;
  for (let r: i32 = 0; r < B; r++) {
    const sr = s + (<usize>(r * C) << 2);
    const tr = t + (<usize>(r * C) << 2);
    // Pass 1: maxima (f64x2.max propagates NaN), the range of the finite t − s, and
    // whether some class has a non-finite t − s without a teacher mask (vbad). For the
    // log-ratio form also D, t − s at the largest student logit among the classes with a
    // finite t − s (the reference of the centre), and s at the teacher's largest logit
    // (for dT), each per lane.
    let vms = ninf;
    let vmt = ninf;
    let vumin = f64x2.splat(Infinity);
    let vumax = ninf;
    let vbad = zero;
    let vmk = ninf;
    let vD = zero;
    let vsJ = zero;
    for (let i: i32 = 0; i < C; i += 2) {
      const sv = load2(sr + (<usize>i << 2));
      const tv = load2(tr + (<usize>i << 2));
      vms = f64x2.max(vms, sv);
      vsJ = v128.bitselect(sv, vsJ, f64x2.gt(tv, vmt));
      vmt = f64x2.max(vmt, tv);
      const u = f64x2.sub(tv, sv);
      const fin = f64x2.eq(f64x2.sub(u, u), zero);
      vumin = f64x2.min(vumin, v128.bitselect(u, f64x2.splat(Infinity), fin));
      vumax = f64x2.max(vumax, v128.bitselect(u, ninf, fin));
      vbad = v128.or(vbad, v128.andnot(f64x2.ne(tv, ninf), fin));
      const sk = v128.bitselect(sv, ninf, fin);
      vD = v128.bitselect(u, vD, f64x2.gt(sk, vmk));
      vmk = f64x2.max(vmk, sk);
    }
    const ms = max<f64>(f64x2.extract_lane(vms, 0), f64x2.extract_lane(vms, 1));
    const mt = max<f64>(f64x2.extract_lane(vmt, 0), f64x2.extract_lane(vmt, 1));
    const D = f64x2.extract_lane(vmk, 1) > f64x2.extract_lane(vmk, 0) ? f64x2.extract_lane(vD, 1) : f64x2.extract_lane(vD, 0);
    const sJ = f64x2.extract_lane(vmt, 1) > f64x2.extract_lane(vmt, 0) ? f64x2.extract_lane(vsJ, 1) : f64x2.extract_lane(vsJ, 0);
    const vDD = f64x2.splat(D);
    const umin = min<f64>(f64x2.extract_lane(vumin, 0), f64x2.extract_lane(vumin, 1));
    const umax = max<f64>(f64x2.extract_lane(vumax, 0), f64x2.extract_lane(vumax, 1));
    // The spread of the exact t − s: u is t − s rounded, within 2⁻⁵³|u|, and where that slack
    // leaves the answer open, the exact spread from the two-sum pieces (as in distillation.ts).
    let logRatio = soft && !v128.any_true(vbad) && isFinite<f64>(ms) && isFinite<f64>(mt);
    if (logRatio) {
      const slack = 1.1102230246251565e-16 * (Math.abs(umax) + Math.abs(umin));
      if (umax - umin - slack > SPREAD_64 * T) logRatio = false;
      else if (umax - umin + slack > SPREAD_64 * T) logRatio = exactSpread(sr, tr, C, umax) <= SPREAD_64 * T;
    }
    const vMs = f64x2.splat(ms);
    const vMt = f64x2.splat(mt);
    // Pass 2: exponentials and sums. Each sum is 1 (the max term) plus a tail R, and
    // log S = log1p(R) keeps a tail far below 1 that log(1 + R) would round away: the
    // terms below 1 are summed apart from those equal to 1 (the max and its ties),
    // which are counted, and R = Σ_{e < 1} e + (count(e = 1) − 1).
    let vSs = zero;
    let vSt = zero;
    let vS1 = zero;
    let vRs = zero;
    let vRt = zero;
    let vR1 = zero;
    let vNs = zero;
    let vNt = zero;
    let vN1 = zero;
    // (log-ratio form) Σ q·((t − s) − D), t − s exact, and Σ q over the classes the teacher
    // keeps: the centre.
    let vSu = zero;
    let vSq = zero;
    for (let i: i32 = 0; i < C; i += 2) {
      const sv = load2(sr + (<usize>i << 2));
      const ds = f64x2.sub(sv, vMs);
      const a = expv(f64x2.mul(ds, vInvT));
      v128.store(es + (<usize>i << 3), a);
      vSs = f64x2.add(vSs, a);
      vRs = f64x2.add(vRs, v128.and(a, f64x2.lt(a, one)));
      vNs = f64x2.add(vNs, v128.and(one, f64x2.eq(a, one)));
      if (logRatio) {
        const tv = load2(tr + (<usize>i << 2));
        const kept = f64x2.ne(tv, ninf);
        vSu = f64x2.add(vSu, v128.and(f64x2.mul(a, centred2(tv, sv, vDD, zero)), kept));
        vSq = f64x2.add(vSq, v128.and(a, kept));
      } else if (soft) {
        // (The full range: whether p_t is 0 decides the teacher's support; see expv.)
        const b = expvFull(f64x2.mul(f64x2.sub(load2(tr + (<usize>i << 2)), vMt), vInvT));
        v128.store(et + (<usize>i << 3), b);
        vSt = f64x2.add(vSt, b);
        vRt = f64x2.add(vRt, v128.and(b, f64x2.lt(b, one)));
        vNt = f64x2.add(vNt, v128.and(one, f64x2.eq(b, one)));
      }
      if (hard && T != 1.0) {
        let c: v128;
        if (powers != 0) {
          c = one;
          let base = a;
          for (let n = powers; n > 0; n >>= 1) {
            if (n & 1) c = f64x2.mul(c, base);
            base = f64x2.mul(base, base);
          }
        } else c = expv(ds);
        v128.store(e1 + (<usize>i << 3), c);
        vS1 = f64x2.add(vS1, c);
        vR1 = f64x2.add(vR1, v128.and(c, f64x2.lt(c, one)));
        vN1 = f64x2.add(vN1, v128.and(one, f64x2.eq(c, one)));
      }
    }
    const lanes = (v: v128): f64 => f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
    const Ss = lanes(vSs);
    const S1 = T == 1.0 ? Ss : lanes(vS1);
    const Rs = lanes(vRs) + (lanes(vNs) - 1);
    const R1 = T == 1.0 ? Rs : lanes(vR1) + (lanes(vN1) - 1);
    // (A NaN sum is a row with no distribution: keep the NaN.)
    const cs = Ss == Ss ? Math.log1p(Rs) : Ss;
    const c1 = S1 == S1 ? Math.log1p(R1) : S1;
    // The log-ratio form only where the student keeps at least half its mass on the teacher's
    // support (1 + M = Q·(1 + M̃) is formed as 1 − (1 − Q) + …: distillation.ts says why);
    // otherwise the direct form, and the teacher's exponentials now.
    if (logRatio && !(lanes(vSq) >= 0.5 * Ss)) {
      logRatio = false;
      for (let i: i32 = 0; i < C; i += 2) {
        const b = expvFull(f64x2.mul(f64x2.sub(load2(tr + (<usize>i << 2)), vMt), vInvT));
        v128.store(et + (<usize>i << 3), b);
        vSt = f64x2.add(vSt, b);
        vRt = f64x2.add(vRt, v128.and(b, f64x2.lt(b, one)));
        vNt = f64x2.add(vNt, v128.and(one, f64x2.eq(b, one)));
      }
    }
    let kl: f64 = 0;
    let M: f64 = 0;
    let Epy: f64 = 0;
    let c: f64 = 0;
    let dJ: f64 = 0;
    let eJ: f64 = 0;
    let St: f64 = 0;
    let ct: f64 = 0;
    if (logRatio) {
      // Pass 3, log-ratio form: x = ((t − s) − ū)/T; m = eˣ − 1 and G = 1 + (x − 1)eˣ from
      // x = k·ln 2 + r (|r| ≤ ½ ln 2): φ(r) = eʳ − 1 − r by its series to r⁹ (relative
      // error below 1.2e-10), φ(x) = 2ᵏφ(r) + ((2ᵏ − 1) + 2ᵏr − x) (exactly φ(r) where k = 0;
      // elsewhere φ ≥ 0.05 and the bracket's rounding costs at most 40ε relative),
      // m = φ + x, and G = x·m − φ down to x = −1.5 (a factor 4 of cancellation at
      // worst), 1 + (x − 1)eˣ below. A class the teacher masks has x = −∞: m = −1, G = 1.
      // The centre is the pair D + c, c = Σ q·((t − s) − D)/Σ q (as in distillation.ts: a
      // centre rounded into one number would move every x by ε·|ū|/T).
      const Sq = lanes(vSq);
      c = lanes(vSu) / Sq;
      const vC = f64x2.splat(c);
      // For dT, y = ((t − s) − (t_J − s_J))/T with dJ + eJ = t_J − s_J exactly, J the
      // teacher's largest logit: dᵢ − KL = yᵢ − E_{p_t}[y] (distillation.ts says why y, not x).
      dJ = mt - sJ;
      const zJ = dJ - mt;
      eJ = (mt - (dJ - zJ)) - (sJ + zJ);
      const vDJ = f64x2.splat(dJ);
      const vEJ = f64x2.splat(eJ);
      let vM = zero;
      let vG = zero;
      let vPy = zero;
      for (let i: i32 = 0; i < C; i += 2) {
        const sv = load2(sr + (<usize>i << 2));
        const tv = load2(tr + (<usize>i << 2));
        const kept = f64x2.ne(tv, ninf);
        // (x is finite on kept classes: |x| ≤ SPREAD_64.)
        const x = v128.and(f64x2.mul(centred2(tv, sv, vDD, vC), vInvT), kept);
        const k = f64x2.nearest(f64x2.mul(x, f64x2.splat(LOG2E)));
        const rr = f64x2.sub(f64x2.sub(x, f64x2.mul(k, f64x2.splat(LN2_HI))), f64x2.mul(k, f64x2.splat(LN2_LO)));
        const phir = phiv(rr);
        const ki = i64x2.extend_low_i32x4_s(i32x4.trunc_sat_f64x2_s_zero(k));
        const scale = i64x2.shl(i64x2.add(ki, i64x2.splat(1023)), 52);
        const phi = f64x2.add(f64x2.mul(scale, phir), f64x2.sub(f64x2.add(f64x2.sub(scale, one), f64x2.mul(scale, rr)), x));
        const ex = f64x2.mul(scale, f64x2.add(f64x2.add(one, rr), phir));
        let m = f64x2.add(phi, x);
        const low = f64x2.lt(x, f64x2.splat(-1.5));
        let G = v128.bitselect(f64x2.add(one, f64x2.mul(f64x2.sub(x, one), ex)), f64x2.sub(f64x2.mul(x, m), phi), low);
        m = v128.bitselect(m, f64x2.splat(-1), kept);
        G = v128.bitselect(G, one, kept);
        const a = v128.load(es + (<usize>i << 3));
        v128.store(et + (<usize>i << 3), m);
        vM = f64x2.add(vM, f64x2.mul(a, m));
        vG = f64x2.add(vG, f64x2.mul(a, G));
        // Σ q·eˣ·y for E_{p_t}[y] (0 on masked classes, where eˣ is set to 0), and eˣ.
        if (dT != 0) {
          const exk = v128.and(ex, kept);
          v128.store(exs + (<usize>i << 3), exk);
          const y = v128.and(f64x2.mul(centred2(tv, sv, vDJ, vEJ), vInvT), kept);
          vPy = f64x2.add(vPy, f64x2.mul(f64x2.mul(a, exk), y));
        }
      }
      M = lanes(vM) / Ss;
      kl = (lanes(vG) / Ss) / (1 + M) + hM(M);
      Epy = lanes(vPy) / (Ss * (1 + M));
    } else if (soft) {
      St = lanes(vSt);
      const Rt = lanes(vRt) + (lanes(vNt) - 1);
      ct = St == St ? Math.log1p(Rt) : St;
      // Pass 3, direct form: Σ p_t·((t − m_t) − (s − m_s))/T − (c_t − c_s), over the teacher's support.
      const vShift = f64x2.splat(ct - cs);
      const vInvSt = f64x2.splat(1.0 / St);
      let vkl = zero;
      for (let i: i32 = 0; i < C; i += 2) {
        const pt = f64x2.mul(v128.load(et + (<usize>i << 3)), vInvSt);
        const d = logDiff(tr, sr, i, vMt, vMs, vInvT, vShift);
        vkl = f64x2.add(vkl, v128.andnot(f64x2.mul(pt, d), f64x2.eq(pt, zero)));
      }
      kl = lanes(vkl);
    }
    // The raw sum, for dT in the direct form: the loss clamps a rounded negative KL
    // to 0, the teacher gradient does not (its rows then sum to 0 up to rounding).
    const klRaw = kl;
    let loss: f64 = 0;
    if (soft) {
      if (kl < 0) kl = 0;
      loss = alpha * T * T * kl;
    }
    const aT = (alpha * T) / norm;
    const h = (1 - alpha) / norm;
    let y: i32 = -1;
    if (hard) {
      y = load<i32>(labels + (<usize>r << 2));
      // (m − s_y) + log S₁, never (m + log S₁) − s_y, which rounds log S₁ away at |s| ≈ 1e16.
      loss += (1 - alpha) * ((ms - <f64>load<f32>(sr + (<usize>y << 2))) + c1);
    }
    total += loss;
    if (rowLoss != 0) store<f64>(rowLoss + (<usize>r << 3), loss);
    if (dS != 0) {
      // Pass 4: dS = α·T·(p_s − p_t)/B + (1 − α)(softmax(s) − onehot)/B; in the log-ratio
      // form p_s − p_t = q·(M − m)/(1 + M).
      const dr = dS + (<usize>(r * C) << 2);
      const vA = f64x2.splat(aT / (Ss * (1 + M)));
      const vMM = f64x2.splat(M);
      const vaT = f64x2.splat(aT);
      const vInvSs = f64x2.splat(1.0 / Ss);
      const vInvSt = f64x2.splat(1.0 / St);
      const vh = f64x2.splat(h / S1);
      for (let i: i32 = 0; i < C; i += 2) {
        let g = zero;
        const a = v128.load(es + (<usize>i << 3));
        if (logRatio) g = f64x2.mul(f64x2.mul(vA, a), f64x2.sub(vMM, v128.load(et + (<usize>i << 3))));
        else if (soft) g = f64x2.mul(vaT, f64x2.sub(f64x2.mul(a, vInvSs), f64x2.mul(v128.load(et + (<usize>i << 3)), vInvSt)));
        if (hard) g = f64x2.add(g, f64x2.mul(vh, v128.load(e1 + (<usize>i << 3))));
        store2(dr + (<usize>i << 2), g);
      }
      if (hard) {
        // The label's entry again, with the one-hot subtracted in float64 before rounding.
        let gy = h * (load<f64>(e1 + (<usize>y << 3)) / S1 - 1);
        const ey = load<f64>(es + (<usize>y << 3));
        if (logRatio) gy += (aT / (Ss * (1 + M))) * ey * (M - load<f64>(et + (<usize>y << 3)));
        else if (soft) gy += aT * (ey / Ss - load<f64>(et + (<usize>y << 3)) / St);
        store<f32>(dr + (<usize>y << 2), <f32>gy);
      }
    }
    if (dT != 0) {
      // dT = α·T·p_t·(log p_t − log p_s − KL)/B, 0 where p_t = 0 (but NaN everywhere in a
      // row whose KL is NaN: a student or teacher with no distribution). Log-ratio form:
      // p_t = q·eˣ/(1 + M) and log p_t − log p_s − KL = y − E_{p_t}[y].
      const dtr = dT + (<usize>(r * C) << 2);
      const vaT = f64x2.splat(aT);
      const vKl = f64x2.splat(klRaw);
      if (logRatio) {
        const vP = f64x2.splat(1.0 / (Ss * (1 + M)));
        const vDJ = f64x2.splat(dJ);
        const vEJ = f64x2.splat(eJ);
        const vLz = f64x2.splat(Epy);
        for (let i: i32 = 0; i < C; i += 2) {
          const tv = load2(tr + (<usize>i << 2));
          const y = v128.and(f64x2.mul(centred2(tv, load2(sr + (<usize>i << 2)), vDJ, vEJ), vInvT), f64x2.ne(tv, ninf));
          // eˣ as pass 3 formed it (2ᵏ·eʳ, not 1 + m, which keeps only ε/eˣ of it for x ≪ 0); 0 if masked.
          const pt = f64x2.mul(f64x2.mul(v128.load(es + (<usize>i << 3)), v128.load(exs + (<usize>i << 3))), vP);
          const g = f64x2.mul(vaT, f64x2.mul(pt, f64x2.sub(y, vLz)));
          store2(dtr + (<usize>i << 2), v128.andnot(g, f64x2.eq(pt, zero)));
        }
      } else if (soft && klRaw - klRaw == 0) {
        // A finite KL: dᵢ − KL = yᵢ − E_{p_t}[y], yᵢ = ((tᵢ − t_J) − (sᵢ − s_J))/T, J the
        // teacher's largest logit: no log-space number of the student's enters (distillation.ts).
        // (y from the two-sum pieces, relative to itself: distillation.ts.)
        const vInvSt = f64x2.splat(1.0 / St);
        const dJd = mt - sJ;
        const zJ = dJd - mt;
        const vDJ = f64x2.splat(dJd);
        const vEJ = f64x2.splat((mt - (dJd - zJ)) - (sJ + zJ));
        let vEy = zero;
        for (let i: i32 = 0; i < C; i += 2) {
          const pt = f64x2.mul(v128.load(et + (<usize>i << 3)), vInvSt);
          const y = f64x2.mul(centred2(load2(tr + (<usize>i << 2)), load2(sr + (<usize>i << 2)), vDJ, vEJ), vInvT);
          vEy = f64x2.add(vEy, v128.andnot(f64x2.mul(pt, y), f64x2.eq(pt, zero)));
        }
        const vLz = f64x2.splat(lanes(vEy));
        for (let i: i32 = 0; i < C; i += 2) {
          const pt = f64x2.mul(v128.load(et + (<usize>i << 3)), vInvSt);
          const y = f64x2.mul(centred2(load2(tr + (<usize>i << 2)), load2(sr + (<usize>i << 2)), vDJ, vEJ), vInvT);
          store2(dtr + (<usize>i << 2), v128.andnot(f64x2.mul(vaT, f64x2.mul(pt, f64x2.sub(y, vLz))), f64x2.eq(pt, zero)));
        }
      } else {
        // A KL that is NaN (no distribution: NaN everywhere, p_t = 0 included) or +∞ (−∞ at the
        // classes the student keeps, NaN where it masks), or no soft term (0).
        const vShift = f64x2.splat(ct - cs);
        const vInvSt = f64x2.splat(1.0 / St);
        const nanRow = klRaw != klRaw;
        for (let i: i32 = 0; i < C; i += 2) {
          let g = zero;
          if (soft) {
            const pt = f64x2.mul(v128.load(et + (<usize>i << 3)), vInvSt);
            const d = f64x2.sub(logDiff(tr, sr, i, vMt, vMs, vInvT, vShift), vKl);
            g = v128.andnot(f64x2.mul(vaT, f64x2.mul(pt, d)), nanRow ? zero : f64x2.eq(pt, zero));
          }
          store2(dtr + (<usize>i << 2), g);
        }
      }
    }
  }
  return total / <f64>B;
}

// φ(r) = eʳ − 1 − r = r²·Σₙ rⁿ/(n + 2)! for n = 0 … 7, |r| ≤ ½ ln 2 (the rest is below
// 2·0.347⁸/10! ≈ 1.2e-10 of φ: this kernel's results are float32), by Estrin's scheme.
// @ts-ignore: decorator
@inline function phiv(r: v128): v128 {
  const r2 = f64x2.mul(r, r);
  const r4 = f64x2.mul(r2, r2);
  const c01 = f64x2.add(f64x2.splat(1.0 / 2.0), f64x2.mul(r, f64x2.splat(1.0 / 6.0)));
  const c23 = f64x2.add(f64x2.splat(1.0 / 24.0), f64x2.mul(r, f64x2.splat(1.0 / 120.0)));
  const c45 = f64x2.add(f64x2.splat(1.0 / 720.0), f64x2.mul(r, f64x2.splat(1.0 / 5040.0)));
  const c67 = f64x2.add(f64x2.splat(1.0 / 40320.0), f64x2.mul(r, f64x2.splat(1.0 / 362880.0)));
  const p = f64x2.add(f64x2.add(c01, f64x2.mul(r2, c23)), f64x2.mul(r4, f64x2.add(c45, f64x2.mul(r2, c67))));
  return f64x2.mul(r2, p);
}

// ------------------------------- fused distillation loss, float32 lanes

const LOG2E_F: f32 = 1.4426950408889634;
// ln 2 split so that k·LN2_HI_F is exact in float32 for |k| < 2¹¹.
const LN2_HI_F: f32 = 0.693359375;
const LN2_LO_F: f32 = -2.12194440054690583e-4;

// Adding 1.5·2²³ rounds a float32 below 2²² to an integer (to nearest, ties
// to even) and leaves that integer k in the low mantissa bits: 0x4B400000 + k.
const ROUND_F: f32 = 12582912.0;

// 2^k as float32 from kb = k + 1.5·2²³ (−126 ≤ k ≤ 127): (bits(kb) + 127) << 23,
// where the shift also drops the bits of 1.5·2²³ (0x4B400000 << 23 overflows to 0).
// @ts-ignore: decorator
@inline function pow2(kb: v128): v128 {
  return i32x4.shl(i32x4.add(kb, i32x4.splat(127)), 23);
}

// The same with the exponent bias folded into the rounding constant: kb = k + 127 +
// 1.5·2²³ (rounded with ROUND_E) holds k + 127 in its low mantissa bits, so 2^k is
// bits(kb) << 23, one integer add and one constant fewer. (A tie, y exactly halfway
// between integers, may round to the other neighbour than with ROUND_F: either k
// leaves |r| ≤ ½ ln 2 + an ulp, which is all the reductions below need.)
const ROUND_E: f32 = 12583039.0;
// @ts-ignore: decorator
@inline function pow2e(kb: v128): v128 {
  return i32x4.shl(kb, 23);
}

// Range reduction x = k·ln 2 + r, |r| ≤ ½ ln 2, in four float32 lanes: kOf gives
// kb = k + 1.5·2²³ (for pow2), and reduce gives r from x and k = kb − 1.5·2²³.
// @ts-ignore: decorator
@inline function kOf(x: v128): v128 {
  return f32x4.add(f32x4.mul(x, f32x4.splat(LOG2E_F)), f32x4.splat(ROUND_F));
}
// @ts-ignore: decorator
@inline function reduce(x: v128, k: v128): v128 {
  return f32x4.sub(f32x4.sub(x, f32x4.mul(k, f32x4.splat(LN2_HI_F))), f32x4.mul(k, f32x4.splat(LN2_LO_F)));
}

// exp(a) in four float32 lanes for a ≤ 0: a = k·ln 2 + r, |r| ≤ ½ ln 2, e^r by
// its Taylor series to r⁷ (truncation < 6e-9 relative), 2^k in the exponent
// bits. k stops at −126, where 2^k leaves the normal range: below a = −87 the
// result is under 2⁻¹²⁶ (the odd-degree polynomial, clamped at 0, is 0 for
// r ≤ −3 and for a = −∞). exp(0) is exactly 1, so the max term of a softmax
// sum is exactly 1.
// @ts-ignore: decorator
@inline function expf4(a: v128): v128 {
  const tiny = f32x4.lt(a, f32x4.splat(-87.0));
  const kb = kOf(a);
  const r = reduce(a, f32x4.sub(kb, f32x4.splat(ROUND_F)));
  const r2 = f32x4.mul(r, r);
  const p01 = f32x4.add(f32x4.splat(1.0 / 2.0), f32x4.mul(r, f32x4.splat(1.0 / 6.0)));
  const p23 = f32x4.add(f32x4.splat(1.0 / 24.0), f32x4.mul(r, f32x4.splat(1.0 / 120.0)));
  const p45 = f32x4.add(f32x4.splat(1.0 / 720.0), f32x4.mul(r, f32x4.splat(1.0 / 5040.0)));
  const p = f32x4.add(p01, f32x4.mul(r2, f32x4.add(p23, f32x4.mul(r2, p45))));
  const e = f32x4.add(f32x4.splat(1.0), f32x4.add(r, f32x4.mul(r2, p)));
  const scale = pow2(kb);
  return v128.andnot(f32x4.mul(e, scale), tiny);
}

// exp((s − m)/T) in four float32 lanes for s ≤ m, with an error that does not grow
// with the gap: ds = fl(s − m) and its rounding error dl (Knuth's two-sum, ds + dl =
// s − m exactly); k = round((s − m)/T / ln 2) from the rounded quotient (any nearby k
// will do); then r·T = (ds − k·LT_hi) + (dl − k·LT_lo), LT = T ln 2, where ds − k·LT_hi
// is exact (k·LT_hi has at most 23 bits, and ds lies within a factor 2 of it, Sterbenz)
// so r·T carries a rounding of its own size only, and r = (r·T)/T two more. The
// argument error is then a few ulps of |r| ≤ 0.35, not of |(s − m)/T| (up to 87): a
// student gap g costs (2u + 3u·0.35) in eᵍ, not u·g. e^r by expf4's polynomial; below
// 2⁻¹²⁵ the result is 0.
// @ts-ignore: decorator
@inline function expGap(sv: v128, vm: v128, ds: v128, vK: v128, vLThi: v128, vLTlo: v128, vInvT: v128): v128 {
  const z = f32x4.sub(ds, sv);
  const dl = f32x4.sub(f32x4.sub(sv, f32x4.sub(ds, z)), f32x4.add(vm, z));
  const kb = f32x4.add(f32x4.mul(ds, vK), f32x4.splat(ROUND_E));
  const kf = f32x4.sub(kb, f32x4.splat(ROUND_E));
  const tiny = f32x4.lt(kf, f32x4.splat(-125.0));
  const rT = f32x4.add(f32x4.sub(ds, f32x4.mul(kf, vLThi)), f32x4.sub(dl, f32x4.mul(kf, vLTlo)));
  const r = f32x4.mul(rT, vInvT);
  const r2 = f32x4.mul(r, r);
  const p01 = f32x4.add(f32x4.splat(1.0 / 2.0), f32x4.mul(r, f32x4.splat(1.0 / 6.0)));
  const p23 = f32x4.add(f32x4.splat(1.0 / 24.0), f32x4.mul(r, f32x4.splat(1.0 / 120.0)));
  const p45 = f32x4.add(f32x4.splat(1.0 / 720.0), f32x4.mul(r, f32x4.splat(1.0 / 5040.0)));
  const p = f32x4.add(p01, f32x4.mul(r2, f32x4.add(p23, f32x4.mul(r2, p45))));
  const e = f32x4.add(f32x4.splat(1.0), f32x4.add(r, f32x4.mul(r2, p)));
  return v128.andnot(f32x4.mul(e, pow2e(kb)), tiny);
}

// v's four float32 lanes as float64: lanes 0, 1 (low) and 2, 3 (high).
// @ts-ignore: decorator
@inline function low64(v: v128): v128 {
  return f64x2.promote_low_f32x4(v);
}
// @ts-ignore: decorator
@inline function high64(v: v128): v128 {
  return f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1));
}

// a^n in four float32 lanes for a small integer n ≥ 1 (relative error ≈ n ulps).
// @ts-ignore: decorator
@inline function powf4(a: v128, n: i32): v128 {
  if (n == 4) {
    const b = f32x4.mul(a, a);
    return f32x4.mul(b, b);
  }
  if (n == 2) return f32x4.mul(a, a);
  let b = a;
  for (let j = 1; j < n; j++) b = f32x4.mul(b, a);
  return b;
}

// The largest spread of (t − s)/T the float32-lane kernel takes: |x| ≤ 30 keeps eˣ,
// (x − 1)eˣ and their sums well inside float32 (e³⁰ ≈ 1e13).
const SPREAD_F32: f64 = 30.0;

// The float32 kernel sums its per-class terms in float32 lanes over blocks of BLOCK
// classes (BLOCK/4 − 1 roundings a lane, relative to terms of one sign for Zs and Γ)
// and in float64 across blocks. 16 classes: three roundings a lane; with 32, a row of
// many tied classes reached 1e-6 relative (docs/distillation.md, "Float32 kernels").
const BLOCK: i32 = 16;

// h(M) = M/(1 + M) − log1p(M) = −M²/2 + 2M³/3 − 3M⁴/4 + …, by its series
// where the two terms would cancel.
function hM(M: f64): f64 {
  if (Math.abs(M) < 1e-3) return M * M * (-0.5 + M * (2.0 / 3.0 + M * (-0.75 + M * 0.8)));
  return M / (1 + M) - Math.log1p(M);
}

/**
 * The fused distillation loss for float32 student logits s and teacher
 * logits t [B, C] (contiguous; 16 readable bytes must follow each), labels [B]
 * (or 0 for none), α > 0, with the student gradient dS (or 0);
 * float32 lanes, with the KL formed so that float32 roundings stay relative
 * to the KL (docs/distillation.md, "Float32 kernels: the log-ratio form"):
 *
 *   q = softmax(s/T),  xᵢ = ((tᵢ − sᵢ) − ū)/T with ū = Σ q·(t − s), the q-mean,
 *   mᵢ = e^{xᵢ} − 1,  Gᵢ = 1 + (xᵢ − 1)e^{xᵢ},  M = Σ qᵢmᵢ,  Γ = Σ qᵢGᵢ,
 *   KL = Γ/(1 + M) + M/(1 + M) − log1p(M),   p_t − q = q·(m − M)/(1 + M).
 *
 * Centred at the q-mean, M = Σ q·(eˣ − 1 − x) = O(x²) and Γ/(1 + M) ≈ KL: the
 * float32 roundings of the terms cost a few ulps of the KL itself, not of
 * E_q[x²], which with a centre at the student's max reached (1 + 1/q_max)·KL.
 * Both exponentials take their argument reduced in logit units from exact
 * pieces (two-sums), so their error does not grow with the student's gap or
 * with |x|. The centre costs a second sweep: pass 2a forms q and ū, pass 2b x,
 * m, G.
 *
 * Each pass is a function of its own (f32Range, the exps* functions, f32LogRatio,
 * the grad* functions), so that a loop's constants are live in that loop only: in
 * one function, V8 kept every pass's constants live across all the loops and spilled
 * more of them, and of the loops' sums, to the stack. The cross-entropy's cases (none, a^T for T = 4, for
 * another small integer T, or expf4) are separate copies of passes 2a and 3, and a
 * row's last, partial vector is masked outside the loops, so no loop tests either.
 * The arithmetic is that of one function with the tests inside: the same results,
 * bit for bit, but where a reduction's k is exactly a tie (see ROUND_E).
 *
 * A row that does not suit float32 lanes (a non-finite logit, a spread of
 * the exact (t − s)/T over 30, a cross-entropy tail below 1e-8, or |E_p[x]| > 4·KL, where the
 * KL is a difference of larger numbers) goes through `distill` instead.
 * `scratch` holds 48·Cp bytes, Cp = C rounded up to a multiple of 4. The gradients are
 * divided by `norm` and each row's loss is stored at rowLoss when not 0, as in distillRows.
 * Returns the sum of the rows' losses (in row order) over B.
 */
export function distillF32(
  s: usize, t: usize, labels: usize, B: i32, C: i32, T: f64, alpha: f64, dS: usize, scratch: usize,
  norm: f64, rowLoss: usize,
): f64 {
  const hard = labels != 0 && alpha < 1;
  const invT = 1.0 / T;
  const powers: i32 = T >= 1 && T <= 8 && T == Math.floor(T) ? <i32>T : 0;
  const Cp = (C + 3) & ~3;
  const Ce = C + (C & 1);
  const es = scratch;
  const e1 = es + (<usize>Cp << 2);
  const mm = e1 + (<usize>Cp << 2);
  const rowS = mm + (<usize>Cp << 2);
  const rowT = rowS + (<usize>Cp << 2);
  const rowD = rowT + (<usize>Cp << 2);
  const slow = rowD + (<usize>Cp << 2);
  const invT32 = <f32>invT;
  // The student's exponentials reduce s − max s by k·(T ln 2) in logit units, before any
  // scaling by 1/T: T ln 2 as a head of 16 bits (k·head is exact for |k| < 2⁸) and a tail.
  const LT = Math.LN2 * T;
  const LThi = reinterpret<f32>(reinterpret<u32>(<f32>LT) & 0xffffff00);
  const LTlo = <f32>(LT - <f64>LThi);
  const K = <f32>(invT * 1.4426950408889634);
  let total: f64 = 0;
  for (let r: i32 = 0; r < B; r++) {
    const sr = s + (<usize>(r * C) << 2);
    const tr = t + (<usize>(r * C) << 2);
    f32Range(sr, tr, C);
    const ms = rMs;
    // The spread of the exact t − s: the range was taken over t − s rounded to float32,
    // each within 2⁻²⁴ of itself, so the exact one is at most (dmax − dmin) + 2⁻²⁴(|dmax| + |dmin|).
    // (From the rounded range alone, a student at 1e15, where float32 values are 6.7e7 apart,
    // had a spread of 0 whatever the teacher: x reached −407 and eˣ, (x − 1)eˣ overflowed float32.)
    const spread = (<f64>rDmax - <f64>rDmin + 5.960464477539063e-8 * (Math.abs(<f64>rDmax) + Math.abs(<f64>rDmin))) * invT;
    let fast = rBad == 0 && isFinite<f32>(ms) && isFinite<f64>(spread) && spread <= SPREAD_F32;
    let loss: f64 = 0;
    if (fast) {
      // Pass 2a: the student's exponentials (into the row of dS they become: up to 12 bytes
      // past the row may be written and are rewritten later; the caller leaves 16 bytes of
      // slack), their sum Zs, and Σ q·((t − s) − D), D = t − s at the student's max, for the
      // centre; the cross-entropy's exponentials and their sum Z1.
      const dHi: f32 = rTAt - ms;
      const esr = dS != 0 ? dS + (<usize>(r * C) << 2) : es;
      if (!hard) expsSoft(sr, tr, esr, C, ms, dHi, K, LThi, LTlo, invT32);
      else if (powers == 4) expsPow4(sr, tr, esr, C, ms, dHi, K, LThi, LTlo, invT32);
      else if (powers == 0) expsExp(sr, tr, esr, e1, C, ms, dHi, K, LThi, LTlo, invT32);
      else expsPow(sr, tr, esr, C, ms, dHi, K, LThi, LTlo, invT32, powers);
      const Zs = rZs;
      const Z1 = rZ1;
      // The centre ū = D + Σ q·((t − s) − D)/Σ q, the q-mean of t − s, as a float32 pair
      // ū_hi + ū_lo (the pair is exact to float64; any centre gives the same KL, and
      // this one makes M = Σ q·(eˣ − 1 − x) + O(rounding) small: nothing cancels).
      const ubar = <f64>dHi + rSu / Zs;
      const uHi = <f32>ubar;
      const uLo = <f32>(ubar - <f64>uHi);
      // Pass 2b: x = ((t − s) − ū)/T, m = eˣ − 1 and G = 1 + (x − 1)eˣ, and M, Γ.
      f32LogRatio(sr, tr, esr, mm, C, uHi, uLo, LThi, LTlo, invT32);
      const M = rM / Zs;
      const Gm = rG / Zs;
      let kl = Gm / (1 + M) + hM(M);
      // E_p[x] = (Γ + M)/(1 + M) = KL + log Z: where |E_p[x]| exceeds 4·KL, the KL is a
      // difference of larger numbers (p far from q), which float32 terms do not carry. With
      // the q-mean centre E_p[x] ≥ KL ≥ 0, but the centre here is formed from the rounded
      // float32 t − s, and a centre off by b adds about b to E_p[x], of either sign: a
      // negative E_p[x] far below −KL is as bad as a large one (a one-class row with
      // s = −1e30, t = −0.875 had x = −0.22 where it is 0, E_p[x] = −0.22, and a KL of 7e-9
      // where it is 0, until this test took |E_p[x]|).
      if ((hard && !(Z1 - 1 >= 1e-8)) || !(Math.abs(Gm + M) / (1 + M) <= 4 * kl)) fast = false;
      else {
        if (kl < 0) kl = 0;
        loss = alpha * T * T * kl;
        const A = (alpha * T) / (norm * Zs * (1 + M));
        const h = (1 - alpha) / norm;
        let y: i32 = -1;
        if (hard) {
          y = load<i32>(labels + (<usize>r << 2));
          loss += (1 - alpha) * (<f64>ms - <f64>load<f32>(sr + (<usize>y << 2)) + Math.log1p(Z1 - 1));
        }
        if (dS != 0) {
          // Pass 3: dS = α·T·(q − p_t)/B + (1 − α)(softmax(s) − onehot)/B, q − p_t = q·(M − m)/(1 + M).
          const dr = dS + (<usize>(r * C) << 2);
          const A32 = <f32>A;
          const M32 = <f32>M;
          if (!hard) gradSoft(esr, mm, dr, C, A32, M32);
          else {
            // The label's entry, with the one-hot subtracted in float64 before rounding (read
            // before the pass overwrites the exponentials with the gradient, stored after it).
            const ey = <f64>load<f32>(esr + (<usize>y << 2));
            let e1y: f64;
            if (powers == 4) {
              const e2 = ey * ey;
              e1y = e2 * e2;
            } else e1y = powers != 0 ? Math.pow(ey, <f64>powers) : <f64>load<f32>(e1 + (<usize>y << 2));
            const gy = A * ey * (M - <f64>load<f32>(mm + (<usize>y << 2))) + h * (e1y / Z1 - 1);
            const H = <f32>(h / Z1);
            if (powers == 4) gradPow4(esr, mm, dr, C, A32, M32, H);
            else if (powers == 0) gradExp(esr, mm, e1, dr, C, A32, M32, H);
            else gradPow(esr, mm, dr, C, A32, M32, H, powers);
            store<f32>(dr + (<usize>y << 2), <f32>gy);
          }
        }
      }
    }
    if (!fast) {
      // The float64-lane kernel for this row, on a copy padded with −∞ to an even count.
      memory.copy(rowS, sr, <usize>C << 2);
      memory.copy(rowT, tr, <usize>C << 2);
      if (Ce > C) {
        store<f32>(rowS + (<usize>C << 2), -Infinity);
        store<f32>(rowT + (<usize>C << 2), -Infinity);
      }
      loss = distillRows(rowS, rowT, labels != 0 ? labels + (<usize>r << 2) : 0, 1, Ce, T, alpha,
        dS != 0 ? rowD : 0, 0, slow, norm, 0);
      if (dS != 0) memory.copy(dS + (<usize>(r * C) << 2), rowD, <usize>C << 2);
    }
    total += loss;
    if (rowLoss != 0) store<f64>(rowLoss + (<usize>r << 3), loss);
  }
  return total / <f64>B;
}

// What the passes of `distillF32` over one row leave for the next (each pass is a
// function of its own, and a function returns one value).
let rMs: f32 = 0;
let rTAt: f32 = 0;
let rDmax: f32 = 0;
let rDmin: f32 = 0;
let rBad: f32 = 0;
let rZs: f64 = 0;
let rZ1: f64 = 0;
let rSu: f64 = 0;
let rM: f64 = 0;
let rG: f64 = 0;

// The largest of a vector's four float32 lanes, none of them NaN.
// @ts-ignore: decorator
@inline function lanesMax(v: v128): f32 {
  const h = f32x4.pmax(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(f32x4.pmax(h, v128.shuffle<f32>(h, h, 1, 0, 3, 2)), 0);
}
// @ts-ignore: decorator
@inline function lanesMin(v: v128): f32 {
  const h = f32x4.pmin(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(f32x4.pmin(h, v128.shuffle<f32>(h, h, 1, 0, 3, 2)), 0);
}

// Pass 1 of one row: the student's max ms (rMs), the teacher's logit there (rTAt), the
// range of t − s (rDmin, rDmax), and rBad, which sums (t − s)·0 and is NaN as soon as
// one t − s is not finite.
function f32Range(sr: usize, tr: usize, C: i32): void {
  const C4 = C & ~3;
  let vms = f32x4.splat(-Infinity);
  let vtAt = f32x4.splat(0);
  let vdmax = f32x4.splat(-Infinity);
  let vdmin = f32x4.splat(Infinity);
  // (pmax and pmin are one instruction each but skip NaN, so no lane of these is ever NaN:
  // vbad, which sums d·0, becomes NaN instead if any t − s is not finite.)
  let vbad = f32x4.splat(0);
  for (let i: i32 = 0; i < C4; i += 4) {
    const sv = v128.load(sr + (<usize>i << 2));
    const tv = v128.load(tr + (<usize>i << 2));
    vtAt = v128.bitselect(tv, vtAt, f32x4.gt(sv, vms));
    vms = f32x4.pmax(vms, sv);
    const d = f32x4.sub(tv, sv);
    vdmax = f32x4.pmax(vdmax, d);
    vdmin = f32x4.pmin(vdmin, d);
    vbad = f32x4.add(vbad, f32x4.mul(d, f32x4.splat(0)));
  }
  // Across lanes: the max, and the teacher's logit in the first lane holding it.
  let ms = lanesMax(vms);
  const first = ctz<i32>(i32x4.bitmask(f32x4.eq(vms, f32x4.splat(ms))));
  let tAt: f32 = f32x4.extract_lane(vtAt, 3);
  if (first == 0) tAt = f32x4.extract_lane(vtAt, 0);
  else if (first == 1) tAt = f32x4.extract_lane(vtAt, 1);
  else if (first == 2) tAt = f32x4.extract_lane(vtAt, 2);
  let dmax = lanesMax(vdmax);
  let dmin = lanesMin(vdmin);
  for (let i: i32 = C4; i < C; i++) {
    const si = load<f32>(sr + (<usize>i << 2));
    const ti = load<f32>(tr + (<usize>i << 2));
    if (si > ms) { ms = si; tAt = ti; }
    else if (si != si) ms = si;
    dmax = max<f32>(dmax, ti - si);
    dmin = min<f32>(dmin, ti - si);
  }
  rMs = ms;
  rTAt = tAt;
  rDmax = dmax;
  rDmin = dmin;
  rBad = f32x4.extract_lane(vbad, 0) + f32x4.extract_lane(vbad, 1) + f32x4.extract_lane(vbad, 2) + f32x4.extract_lane(vbad, 3);
}

// Pass 2a of one row: the student's exponentials a = exp((s − ms)/T) into esr, rZs = Σ a,
// rSu = Σ a·((t − s) − D) for the centre, and with `hard` rZ1 = Σ exp(s − ms), the
// cross-entropy's sum: a^P for the small integer T = P, else expf4 (stored in e1). Blocks
// of BLOCK classes: float32 lanes within a block (BLOCK/4 terms a lane), float64 across
// blocks; Z1, whose tail below the max term matters, is float64 throughout. Lanes past C
// are set to 0. One function per case (below), each with this loop inlined for constant
// `hard` and P (P = −1: a^n for the n in `n`), so no loop tests its case.
// @ts-ignore: decorator
@inline function expsRow(
  sr: usize, tr: usize, esr: usize, e1: usize, C: i32, ms: f32, D: f32, K: f32, LThi: f32, LTlo: f32, invT: f32,
  hard: bool, P: i32, n: i32,
): void {
  const C4 = C & ~3;
  const Cp = (C + 3) & ~3;
  const nFull = C4 & ~(BLOCK - 1);
  const vMs = f32x4.splat(ms);
  const vD = f32x4.splat(D);
  const vK = f32x4.splat(K);
  const vLThi = f32x4.splat(LThi);
  const vLTlo = f32x4.splat(LTlo);
  const vInvT = f32x4.splat(invT);
  let vZs = f64x2.splat(0);
  let vZ1 = f64x2.splat(0);
  let vSu = f64x2.splat(0);
  // Whole blocks, then the last (partial) one, whose last vector may be masked.
  for (let i0: i32 = 0; i0 < Cp; i0 += BLOCK) {
    const last = i0 >= nFull;
    const iEnd = last ? C4 : i0 + BLOCK;
    let fZs = f32x4.splat(0);
    let fSu = f32x4.splat(0);
    for (let i: i32 = i0; i < iEnd; i += 4) {
      const sv = v128.load(sr + (<usize>i << 2));
      const tv = v128.load(tr + (<usize>i << 2));
      const ds = f32x4.sub(sv, vMs);
      const a = expGap(sv, vMs, ds, vK, vLThi, vLTlo, vInvT);
      v128.store(esr + (<usize>i << 2), a);
      fZs = f32x4.add(fZs, a);
      fSu = f32x4.add(fSu, f32x4.mul(a, f32x4.sub(f32x4.sub(tv, sv), vD)));
      if (hard) {
        let b: v128;
        if (P == 0) {
          b = expf4(ds);
          v128.store(e1 + (<usize>i << 2), b);
        } else b = powf4(a, P > 0 ? P : n);
        vZ1 = f64x2.add(f64x2.add(vZ1, low64(b)), high64(b));
      }
    }
    if (last && C4 < Cp) {
      // The row's last vector: lanes past C belong to the next row (or lie past the end).
      const lastMask = i32x4.lt_s(i32x4.add(i32x4.splat(C4), i32x4(0, 1, 2, 3)), i32x4.splat(C));
      const sv = v128.load(sr + (<usize>C4 << 2));
      const tv = v128.load(tr + (<usize>C4 << 2));
      const ds = f32x4.sub(sv, vMs);
      const a = v128.and(expGap(sv, vMs, ds, vK, vLThi, vLTlo, vInvT), lastMask);
      v128.store(esr + (<usize>C4 << 2), a);
      fZs = f32x4.add(fZs, a);
      fSu = f32x4.add(fSu, f32x4.mul(a, f32x4.sub(f32x4.sub(tv, sv), vD)));
      if (hard) {
        let b: v128;
        if (P == 0) {
          b = v128.and(expf4(ds), lastMask);
          v128.store(e1 + (<usize>C4 << 2), b);
        } else b = powf4(a, P > 0 ? P : n);
        vZ1 = f64x2.add(f64x2.add(vZ1, low64(b)), high64(b));
      }
    }
    vZs = f64x2.add(f64x2.add(vZs, low64(fZs)), high64(fZs));
    vSu = f64x2.add(vSu, f64x2.add(low64(fSu), high64(fSu)));
  }
  rZs = f64x2.extract_lane(vZs, 0) + f64x2.extract_lane(vZs, 1);
  rZ1 = f64x2.extract_lane(vZ1, 0) + f64x2.extract_lane(vZ1, 1);
  rSu = f64x2.extract_lane(vSu, 0) + f64x2.extract_lane(vSu, 1);
}

function expsSoft(sr: usize, tr: usize, esr: usize, C: i32, ms: f32, D: f32, K: f32, LThi: f32, LTlo: f32, invT: f32): void {
  expsRow(sr, tr, esr, 0, C, ms, D, K, LThi, LTlo, invT, false, 1, 1);
}
function expsPow4(sr: usize, tr: usize, esr: usize, C: i32, ms: f32, D: f32, K: f32, LThi: f32, LTlo: f32, invT: f32): void {
  expsRow(sr, tr, esr, 0, C, ms, D, K, LThi, LTlo, invT, true, 4, 4);
}
function expsExp(sr: usize, tr: usize, esr: usize, e1: usize, C: i32, ms: f32, D: f32, K: f32, LThi: f32, LTlo: f32, invT: f32): void {
  expsRow(sr, tr, esr, e1, C, ms, D, K, LThi, LTlo, invT, true, 0, 0);
}
function expsPow(sr: usize, tr: usize, esr: usize, C: i32, ms: f32, D: f32, K: f32, LThi: f32, LTlo: f32, invT: f32, n: i32): void {
  expsRow(sr, tr, esr, 0, C, ms, D, K, LThi, LTlo, invT, true, -1, n);
}

// One vector of pass 2b: from s and t (four classes) and the centre ū = ū_hi + ū_lo,
// x = ((t − s) − ū)/T, m = eˣ − 1 (stored at mp) and G = 1 + (x − 1)eˣ (returned).
// With `masked`, lanes outside `mask` get x = 0, so m = G = 0.
// @ts-ignore: decorator
@inline function logRatioTerms(
  sv: v128, tv: v128, vUhi: v128, vUlo: v128, vLThi: v128, vLTlo: v128, vInvT: v128, mp: usize, masked: bool, mask: v128,
): v128 {
  // w = (t − s) − ū carried exactly as w₁ + w_l: d + e = t − s (Knuth's two-sum), then
  // w₁ = fl(d − ū_hi) with its own rounding error (two-sum again) folded into w_l.
  const d = f32x4.sub(tv, sv);
  const z = f32x4.sub(d, tv);
  const e = f32x4.sub(f32x4.sub(tv, f32x4.sub(d, z)), f32x4.add(sv, z));
  const w1 = f32x4.sub(d, vUhi);
  const z2 = f32x4.sub(w1, d);
  const wl = f32x4.add(f32x4.sub(f32x4.sub(d, f32x4.sub(w1, z2)), f32x4.add(vUhi, z2)), f32x4.sub(e, vUlo));
  let x = f32x4.mul(f32x4.add(w1, wl), vInvT);
  // x = k·ln 2 + r, |r| ≲ ½ ln 2, with k from the rounded x and r from the exact pieces
  // in logit units, r·T = (w₁ − k·LT_hi) + (w_l − k·LT_lo) (w₁ − k·LT_hi exact by
  // Sterbenz's lemma): eʳ, and so eˣ, carries a few ulps of |r| ≤ 0.35, not of |x|.
  let kb = f32x4.add(f32x4.mul(x, f32x4.splat(LOG2E_F)), f32x4.splat(ROUND_E));
  if (masked) {
    x = v128.and(x, mask);
    kb = v128.bitselect(kb, f32x4.splat(ROUND_E), mask);
  }
  const kf = f32x4.sub(kb, f32x4.splat(ROUND_E));
  let rT = f32x4.add(f32x4.sub(w1, f32x4.mul(kf, vLThi)), f32x4.sub(wl, f32x4.mul(kf, vLTlo)));
  if (masked) rT = v128.and(rT, mask);
  const rr = f32x4.mul(rT, vInvT);
  // φ(r) = r²(½ + r·ρ(r)), ρ(r) = Σⱼ rʲ/(j + 3)! to r⁴ (truncation below 1e-7 relative).
  const r2 = f32x4.mul(rr, rr);
  const q01 = f32x4.add(f32x4.splat(1.0 / 6.0), f32x4.mul(rr, f32x4.splat(1.0 / 24.0)));
  const q23 = f32x4.add(f32x4.splat(1.0 / 120.0), f32x4.mul(rr, f32x4.splat(1.0 / 720.0)));
  const rho = f32x4.add(q01, f32x4.mul(r2, f32x4.add(q23, f32x4.mul(r2, f32x4.splat(1.0 / 5040.0)))));
  const phir = f32x4.mul(r2, f32x4.add(f32x4.splat(0.5), f32x4.mul(rr, rho)));
  const scale = pow2e(kb);
  // φ(x) = 2ᵏ·φ(r) + (c_k + (2ᵏ − 1)·r), c_k = 2ᵏ − 1 − k·ln 2 (x = k ln 2 + r exactly, so
  // the rounded x does not enter); both vanish where k = 0.
  const sm1 = f32x4.sub(scale, f32x4.splat(1.0));
  const ck = f32x4.sub(f32x4.sub(sm1, f32x4.mul(kf, f32x4.splat(LN2_HI_F))), f32x4.mul(kf, f32x4.splat(LN2_LO_F)));
  const phi = f32x4.add(f32x4.mul(scale, phir), f32x4.add(ck, f32x4.mul(sm1, rr)));
  // m = eˣ − 1 and G = 1 + (x − 1)eˣ = x·m − φ, each in the form that cancels least:
  // φ + x and x·m − φ (for small x, x² + x·φ less x²/2 + …: one bit) down to
  // x = −1.5; below, where eˣ < 0.23, eˣ − 1 and 1 + (x − 1)eˣ (formed only for a
  // vector with such a lane).
  let m = f32x4.add(phi, x);
  let G = f32x4.sub(f32x4.mul(x, m), phi);
  const neg = f32x4.lt(x, f32x4.splat(-1.5));
  if (v128.any_true(neg)) {
    const ex = f32x4.mul(scale, f32x4.add(f32x4.add(f32x4.splat(1.0), rr), phir));
    m = v128.bitselect(f32x4.sub(ex, f32x4.splat(1.0)), m, neg);
    G = v128.bitselect(f32x4.add(f32x4.splat(1.0), f32x4.mul(f32x4.sub(x, f32x4.splat(1.0)), ex)), G, neg);
  }
  v128.store(mp, m);
  return G;
}

// Pass 2b of one row: with q = a (esr), rM = Σ q·m and rG = Σ q·G, m (into mm) and G from
// logRatioTerms; blocks as in pass 2a.
function f32LogRatio(sr: usize, tr: usize, esr: usize, mm: usize, C: i32, uHi: f32, uLo: f32, LThi: f32, LTlo: f32, invT: f32): void {
  const C4 = C & ~3;
  const Cp = (C + 3) & ~3;
  const nFull = C4 & ~(BLOCK - 1);
  const vUhi = f32x4.splat(uHi);
  const vUlo = f32x4.splat(uLo);
  const vLThi = f32x4.splat(LThi);
  const vLTlo = f32x4.splat(LTlo);
  const vInvT = f32x4.splat(invT);
  const ones = i32x4.splat(-1);
  let vM = f64x2.splat(0);
  let vG = f64x2.splat(0);
  for (let i0: i32 = 0; i0 < Cp; i0 += BLOCK) {
    const last = i0 >= nFull;
    const iEnd = last ? C4 : i0 + BLOCK;
    let fM = f32x4.splat(0);
    let fG = f32x4.splat(0);
    for (let i: i32 = i0; i < iEnd; i += 4) {
      const mp = mm + (<usize>i << 2);
      const G = logRatioTerms(v128.load(sr + (<usize>i << 2)), v128.load(tr + (<usize>i << 2)), vUhi, vUlo, vLThi, vLTlo, vInvT, mp, false, ones);
      const a = v128.load(esr + (<usize>i << 2));
      fM = f32x4.add(fM, f32x4.mul(a, v128.load(mp)));
      fG = f32x4.add(fG, f32x4.mul(a, G));
    }
    if (last && C4 < Cp) {
      const lastMask = i32x4.lt_s(i32x4.add(i32x4.splat(C4), i32x4(0, 1, 2, 3)), i32x4.splat(C));
      const mp = mm + (<usize>C4 << 2);
      const G = logRatioTerms(v128.load(sr + (<usize>C4 << 2)), v128.load(tr + (<usize>C4 << 2)), vUhi, vUlo, vLThi, vLTlo, vInvT, mp, true, lastMask);
      const a = v128.load(esr + (<usize>C4 << 2));
      fM = f32x4.add(fM, f32x4.mul(a, v128.load(mp)));
      fG = f32x4.add(fG, f32x4.mul(a, G));
    }
    vM = f64x2.add(f64x2.add(vM, low64(fM)), high64(fM));
    vG = f64x2.add(f64x2.add(vG, low64(fG)), high64(fG));
  }
  rM = f64x2.extract_lane(vM, 0) + f64x2.extract_lane(vM, 1);
  rG = f64x2.extract_lane(vG, 0) + f64x2.extract_lane(vG, 1);
}

// Pass 3 of one row: dS = A·q·(M − m) + H·softmax(s)·Z1 (the label's entry is redone by
// the caller), with softmax(s)·Z1 = a^P (P from the case, or n for P = −1) or e1 (P = 0).
// The last vector is stored whole: lanes past C hold 0 (q = 0 there) and land in the next
// row's entries, which are written later, or in the 16 bytes of slack after the last row.
// @ts-ignore: decorator
@inline function gradRow(esr: usize, mm: usize, e1: usize, dr: usize, C: i32, A: f32, M: f32, H: f32, hard: bool, P: i32, n: i32): void {
  const Cp = (C + 3) & ~3;
  const vA = f32x4.splat(A);
  const vMM = f32x4.splat(M);
  const vH = f32x4.splat(H);
  for (let i: i32 = 0; i < Cp; i += 4) {
    const ev = v128.load(esr + (<usize>i << 2));
    let g = f32x4.mul(f32x4.mul(vA, ev), f32x4.sub(vMM, v128.load(mm + (<usize>i << 2))));
    if (hard) g = f32x4.add(g, f32x4.mul(vH, P == 0 ? v128.load(e1 + (<usize>i << 2)) : powf4(ev, P > 0 ? P : n)));
    v128.store(dr + (<usize>i << 2), g);
  }
}

function gradSoft(esr: usize, mm: usize, dr: usize, C: i32, A: f32, M: f32): void {
  gradRow(esr, mm, 0, dr, C, A, M, 0, false, 1, 1);
}
function gradPow4(esr: usize, mm: usize, dr: usize, C: i32, A: f32, M: f32, H: f32): void {
  gradRow(esr, mm, 0, dr, C, A, M, H, true, 4, 4);
}
function gradExp(esr: usize, mm: usize, e1: usize, dr: usize, C: i32, A: f32, M: f32, H: f32): void {
  gradRow(esr, mm, e1, dr, C, A, M, H, true, 0, 0);
}
function gradPow(esr: usize, mm: usize, dr: usize, C: i32, A: f32, M: f32, H: f32, n: i32): void {
  gradRow(esr, mm, 0, dr, C, A, M, H, true, -1, n);
}


// --------------------------------------------- softmax and logSoftmax, rows

/**
 * logSoftmax along rows of C float32 values (C even: the caller pads with
 * −∞), in float64 lanes, stored as float32: y = (x − m) − log1p(R), the form of
 * src/kernels/softmax.ts (never x − (m + log s), whose sum rounds log s to a
 * multiple of ulp(m): [1e12, 1e12] gave −0.69312). R is the sum less the max's
 * term 1, formed as the terms below 1 plus (count of terms equal to 1) − 1: a
 * term rounds to 1 only when it is within an ulp of 1, so R keeps its relative
 * accuracy. A NaN sum (a NaN, or a +∞ entry: ∞ − ∞) makes the row NaN, as does
 * an all −∞ row.
 */
export function logSoftmaxRows(x: usize, y: usize, rows: i32, C: i32): void {
  const one = f64x2.splat(1);
  for (let r: i32 = 0; r < rows; r++) {
    const xr = x + (<usize>(r * C) << 2);
    const yr = y + (<usize>(r * C) << 2);
    let vm = f64x2.splat(-Infinity);
    for (let i: i32 = 0; i < C; i += 2) vm = f64x2.max(vm, load2(xr + (<usize>i << 2)));
    const m = max<f64>(f64x2.extract_lane(vm, 0), f64x2.extract_lane(vm, 1));
    const vM = f64x2.splat(m);
    let vs = f64x2.splat(0);
    let vr = f64x2.splat(0);
    let vn = f64x2.splat(0);
    for (let i: i32 = 0; i < C; i += 2) {
      const e = expv(f64x2.sub(load2(xr + (<usize>i << 2)), vM));
      vs = f64x2.add(vs, e);
      vr = f64x2.add(vr, v128.and(e, f64x2.lt(e, one)));
      vn = f64x2.add(vn, v128.and(one, f64x2.eq(e, one)));
    }
    const s = f64x2.extract_lane(vs, 0) + f64x2.extract_lane(vs, 1);
    const R = f64x2.extract_lane(vr, 0) + f64x2.extract_lane(vr, 1) + (f64x2.extract_lane(vn, 0) + f64x2.extract_lane(vn, 1) - 1);
    const logS = f64x2.splat(s == s ? Math.log1p(R) : s);
    for (let i: i32 = 0; i < C; i += 2) {
      store2(yr + (<usize>i << 2), f64x2.sub(f64x2.sub(load2(xr + (<usize>i << 2)), vM), logS));
    }
  }
}

/** softmax along rows (C even, padded with −∞): p = exp(x − m) / Σ exp(x − m), float64 lanes, float32 out. */
export function softmaxRows(x: usize, y: usize, rows: i32, C: i32, scratch: usize): void {
  for (let r: i32 = 0; r < rows; r++) {
    const xr = x + (<usize>(r * C) << 2);
    const yr = y + (<usize>(r * C) << 2);
    let vm = f64x2.splat(-Infinity);
    for (let i: i32 = 0; i < C; i += 2) vm = f64x2.max(vm, load2(xr + (<usize>i << 2)));
    const vM = f64x2.splat(max<f64>(f64x2.extract_lane(vm, 0), f64x2.extract_lane(vm, 1)));
    let vs = f64x2.splat(0);
    for (let i: i32 = 0; i < C; i += 2) {
      const e = expv(f64x2.sub(load2(xr + (<usize>i << 2)), vM));
      v128.store(scratch + (<usize>i << 3), e);
      vs = f64x2.add(vs, e);
    }
    const inv = f64x2.splat(1.0 / (f64x2.extract_lane(vs, 0) + f64x2.extract_lane(vs, 1)));
    for (let i: i32 = 0; i < C; i += 2) store2(yr + (<usize>i << 2), f64x2.mul(v128.load(scratch + (<usize>i << 3)), inv));
  }
}

/** logSoftmax backward along rows: dx = g − exp(y)·Σg (y the saved output; C even, padded with y = −∞, g = 0). */
export function logSoftmaxBackwardRows(y: usize, g: usize, dx: usize, rows: i32, C: i32): void {
  for (let r: i32 = 0; r < rows; r++) {
    const off = <usize>(r * C) << 2;
    let vs = f64x2.splat(0);
    for (let i: i32 = 0; i < C; i += 2) vs = f64x2.add(vs, load2(g + off + (<usize>i << 2)));
    const sum = f64x2.splat(f64x2.extract_lane(vs, 0) + f64x2.extract_lane(vs, 1));
    for (let i: i32 = 0; i < C; i += 2) {
      const p = expv(load2(y + off + (<usize>i << 2)));
      store2(dx + off + (<usize>i << 2), f64x2.sub(load2(g + off + (<usize>i << 2)), f64x2.mul(p, sum)));
    }
  }
}

/** softmax backward along rows: dx = p ⊙ (g − ⟨g, p⟩) (p the saved output; C even, padded with p = 0, g = 0). */
export function softmaxBackwardRows(p: usize, g: usize, dx: usize, rows: i32, C: i32): void {
  for (let r: i32 = 0; r < rows; r++) {
    const off = <usize>(r * C) << 2;
    let vd = f64x2.splat(0);
    for (let i: i32 = 0; i < C; i += 2) vd = f64x2.add(vd, f64x2.mul(load2(g + off + (<usize>i << 2)), load2(p + off + (<usize>i << 2))));
    const dot = f64x2.splat(f64x2.extract_lane(vd, 0) + f64x2.extract_lane(vd, 1));
    for (let i: i32 = 0; i < C; i += 2) {
      const pv = load2(p + off + (<usize>i << 2));
      store2(dx + off + (<usize>i << 2), f64x2.mul(pv, f64x2.sub(load2(g + off + (<usize>i << 2)), dot)));
    }
  }
}

// ------------------------------------------------------------ matmul, f32

/**
 * C[n×m] = A[n×k]·B[k×m], float32, row-major: A contiguous, B and C with rows
 * ld ≥ m apart (so that a block of columns of a wider product is a product of its
 * own), n a multiple of 4 and m of 8 (the caller pads with zeros). A 4×8
 * block of C lives in eight f32x4 registers while p runs over k (tile4x8):
 * each step loads eight numbers of row p of B and four of column p of A and
 * does 32 multiply-adds, so every load feeds several of them (the i-p-j order
 * of the TypeScript kernel, blocked for registers).
 *
 * The order of the blocks follows the wider matrix. Four rows of A at a time,
 * each across all of C's columns, read all of B once for every four rows:
 * right while B is the smaller (it stays in a core's cache). Where B is the
 * wider (m > n), a panel of eight columns at a time, every four rows down it
 * before the next panel: the panel of B then stays in a core's cache and A
 * streams through, where rows first would read B (5.8 MB at 1200 × 1200, more
 * than a core's cache here) from memory 32 times for a batch of 128 rows.
 *
 * p runs in blocks of KC = 256: every block of C gets its first 256 terms, then
 * every block its next 256, and so on, so that a panel of B (256 rows of 32
 * bytes, on 16 KB of cache lines) stays in the first-level cache (48 KB here)
 * while A streams past it.
 *
 * None of this changes an entry. Each is one float32 accumulator that starts at
 * 0 and adds a₍ᵢₚ₎·b₍ₚⱼ₎ for p = 0, 1, …, k − 1 in that order, one rounding per
 * product and one per addition; between two blocks of p the accumulator is
 * stored to C and loaded back, which is exact for a float32. So the product is
 * the same bit for bit whatever the order of the blocks, the block of p, and the
 * block of rows or columns each thread takes.
 *
 * Measured (the kernel alone, best of 5, bench/results/threads-where-the-time-goes.md):
 * the panel order took 128×1200×1200 from 23.1 to 14.4 ms; walking one pointer down
 * A's four rows (their offsets fixed in registers, where four row pointers each
 * added p's offset) and the blocks of p took it to 11.6 ms, 128×256×256 from 0.58
 * to 0.44 ms and 512³ from 9.9 to 7.3 ms.
 */
export function matmul(A: usize, B: usize, C: usize, n: i32, k: i32, m: i32, ld: i32): void {
  // At least one pass, so that k = 0 writes zeros.
  let p0: i32 = 0;
  do {
    const p1 = min(k, p0 + KC);
    if (m > n) {
      for (let j: i32 = 0; j < m; j += 8) for (let i: i32 = 0; i < n; i += 4) tile4x8(A, B, C, i, j, k, ld, p0, p1);
    } else {
      for (let i: i32 = 0; i < n; i += 4) for (let j: i32 = 0; j < m; j += 8) tile4x8(A, B, C, i, j, k, ld, p0, p1);
    }
    p0 = p1;
  } while (p0 < k);
}

/** The product's block of p (matmul). */
const KC: i32 = 256;

/**
 * C[i … i+3, j … j+7] (+)= A[i … i+3, p0 … p1−1]·B[p0 … p1−1, j … j+7] (matmul's
 * layout: B's and C's rows ld apart), in eight f32x4 accumulators: they start at 0
 * when p0 = 0 and at C's stored entries otherwise.
 */
// @ts-ignore: decorator
@inline function tile4x8(A: usize, B: usize, C: usize, i: i32, j: i32, k: i32, ld: i32, p0: i32, p1: i32): void {
  const rowA = <usize>k << 2;
  const rowB = <usize>ld << 2;
  const r2 = rowA << 1;
  const r3 = rowA * 3;
  const c = C + (<usize>i * <usize>ld + <usize>j) * 4;
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  if (p0 > 0) {
    c00 = v128.load(c);
    c01 = v128.load(c, 16);
    c10 = v128.load(c + rowB);
    c11 = v128.load(c + rowB, 16);
    c20 = v128.load(c + 2 * rowB);
    c21 = v128.load(c + 2 * rowB, 16);
    c30 = v128.load(c + 3 * rowB);
    c31 = v128.load(c + 3 * rowB, 16);
  }
  // a walks row i of A from column p0; rows i+1 … i+3 are at a + rowA, a + r2, a + r3.
  let a = A + <usize>i * rowA + (<usize>p0 << 2);
  const end = a + (<usize>(p1 - p0) << 2);
  let b = B + <usize>p0 * rowB + (<usize>j << 2);
  while (a < end) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    const x0 = v128.load32_splat(a);
    const x1 = v128.load32_splat(a + rowA);
    const x2 = v128.load32_splat(a + r2);
    const x3 = v128.load32_splat(a + r3);
    c00 = f32x4.add(c00, f32x4.mul(x0, b0));
    c01 = f32x4.add(c01, f32x4.mul(x0, b1));
    c10 = f32x4.add(c10, f32x4.mul(x1, b0));
    c11 = f32x4.add(c11, f32x4.mul(x1, b1));
    c20 = f32x4.add(c20, f32x4.mul(x2, b0));
    c21 = f32x4.add(c21, f32x4.mul(x2, b1));
    c30 = f32x4.add(c30, f32x4.mul(x3, b0));
    c31 = f32x4.add(c31, f32x4.mul(x3, b1));
    a += 4;
    b += rowB;
  }
  v128.store(c, c00);
  v128.store(c, c01, 16);
  v128.store(c + rowB, c10);
  v128.store(c + rowB, c11, 16);
  v128.store(c + 2 * rowB, c20);
  v128.store(c + 2 * rowB, c21, 16);
  v128.store(c + 3 * rowB, c30);
  v128.store(c + 3 * rowB, c31, 16);
}

// ------------------------------------------------------- element-wise, f32

/** y = max(x, 0) over n float32 values (NaN stays NaN, −0 becomes +0). */
export function relu(x: usize, y: usize, n: i32): void {
  const zero = f32x4.splat(0);
  let i: i32 = 0;
  for (; i + 4 <= n; i += 4) v128.store(y + (<usize>i << 2), f32x4.max(v128.load(x + (<usize>i << 2)), zero));
  for (; i < n; i++) store<f32>(y + (<usize>i << 2), max<f32>(load<f32>(x + (<usize>i << 2)), 0));
}

/** dx = g where y > 0, else exactly 0 (y the saved relu output; NaN y gives 0), over n float32 values. */
export function reluBackward(y: usize, g: usize, dx: usize, n: i32): void {
  const zero = f32x4.splat(0);
  let i: i32 = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dx + o, v128.and(v128.load(g + o), f32x4.gt(v128.load(y + o), zero)));
  }
  for (; i < n; i++) store<f32>(dx + (<usize>i << 2), load<f32>(y + (<usize>i << 2)) > 0 ? load<f32>(g + (<usize>i << 2)) : 0);
}

/**
 * θ ← θ − lr·g over n float32 values, computed in float64 and rounded once (the
 * same result as the TypeScript loop).
 */
export function sgdStep(theta: usize, g: usize, lr: f64, n: i32): void {
  const vlr = f64x2.splat(lr);
  let i: i32 = 0;
  for (; i + 2 <= n; i += 2) {
    const o = <usize>i << 2;
    store2(theta + o, f64x2.sub(load2(theta + o), f64x2.mul(vlr, load2(g + o))));
  }
  if (i < n) store<f32>(theta + (<usize>i << 2), <f32>(<f64>load<f32>(theta + (<usize>i << 2)) - lr * <f64>load<f32>(g + (<usize>i << 2))));
}

/** y[r·ld + j] += b[j] for r < rows, j < cols (cols a multiple of 4), in float32 (one rounding each). */
export function addRowVector(y: usize, b: usize, rows: i32, cols: i32, ld: i32): void {
  for (let r: i32 = 0; r < rows; r++) {
    const yr = y + (<usize>(r * ld) << 2);
    for (let j: i32 = 0; j < cols; j += 4) {
      const o = <usize>j << 2;
      v128.store(yr + o, f32x4.add(v128.load(yr + o), v128.load(b + o)));
    }
  }
}

/** out[j] = Σ_r g[r·cols + j], the column sums: float64 sums of float32 values, rows in order. */
export function columnSums(g: usize, out: usize, rows: i32, cols: i32): void {
  const c2 = cols & ~1;
  for (let j: i32 = 0; j < cols; j++) store<f64>(out + (<usize>j << 3), 0);
  for (let r: i32 = 0; r < rows; r++) {
    const gr = g + (<usize>(r * cols) << 2);
    for (let j: i32 = 0; j < c2; j += 2) {
      const o = out + (<usize>j << 3);
      v128.store(o, f64x2.add(v128.load(o), load2(gr + (<usize>j << 2))));
    }
    if (c2 < cols) {
      const o = out + (<usize>c2 << 3);
      store<f64>(o, load<f64>(o) + <f64>load<f32>(gr + (<usize>c2 << 2)));
    }
  }
}

// ------------------------------------------------------------ transpose

/**
 * dst[j·ld + i] = src[i·cols + j] for a contiguous float32 [rows, cols] src:
 * its transpose, written with row stride ld ≥ rows. 4×4 blocks go through
 * registers (four loads, eight shuffles, four stores); the edges one by one.
 *
 * The blocks are visited a 16 × 16 tile at a time. Row by row across all of src,
 * each block's four stores went to four rows of dst, and a 64-byte line of dst
 * was filled a quarter at a time by four visits a whole src row apart (1,200
 * lines of dst touched in between at 1,200 columns: evicted from the first-level
 * cache each time); with a power-of-two stride (256 columns) the four stores'
 * lines also fall in one cache set. In a 16 × 16 tile, dst's 16 lines are
 * written whole before the next tile. Measured on the shapes the products
 * transpose (ns per element, before → after): 256 × 256 0.62 → 0.18,
 * 128 × 256 0.51 → 0.16, 1200 × 1200 0.51 → 0.32, 784 × 1200 0.51 → 0.29.
 */
export function transpose(src: usize, dst: usize, rows: i32, cols: i32, ld: i32): void {
  const rows4 = rows & ~3;
  const cols4 = cols & ~3;
  const rowBytes = <usize>cols << 2;
  const ldBytes = <usize>ld << 2;
  for (let ib: i32 = 0; ib < rows4; ib += 16) {
    const ie = min(rows4, ib + 16);
    for (let jb: i32 = 0; jb < cols4; jb += 16) {
      const je = min(cols4, jb + 16);
      for (let i: i32 = ib; i < ie; i += 4) for (let j: i32 = jb; j < je; j += 4) transpose4x4(src, dst, rowBytes, ldBytes, i, j);
    }
  }
  for (let i: i32 = 0; i < rows4; i += 4) {
    for (let j: i32 = cols4; j < cols; j++) {
      for (let r: i32 = i; r < i + 4; r++) {
        store<f32>(dst + <usize>j * ldBytes + (<usize>r << 2), load<f32>(src + <usize>r * rowBytes + (<usize>j << 2)));
      }
    }
  }
  for (let i: i32 = rows4; i < rows; i++) {
    for (let j: i32 = 0; j < cols; j++) {
      store<f32>(dst + <usize>j * ldBytes + (<usize>i << 2), load<f32>(src + <usize>i * rowBytes + (<usize>j << 2)));
    }
  }
}

/** The 4×4 block of src at (i, j), transposed into dst at (j, i) (transpose's layout). */
// @ts-ignore: decorator
@inline function transpose4x4(src: usize, dst: usize, rowBytes: usize, ldBytes: usize, i: i32, j: i32): void {
  const p = src + <usize>i * rowBytes + (<usize>j << 2);
  const r0 = v128.load(p);
  const r1 = v128.load(p + rowBytes);
  const r2 = v128.load(p + 2 * rowBytes);
  const r3 = v128.load(p + 3 * rowBytes);
  const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
  const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
  const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  const q = dst + <usize>j * ldBytes + (<usize>i << 2);
  v128.store(q, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
  v128.store(q + ldBytes, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7));
  v128.store(q + 2 * ldBytes, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5));
  v128.store(q + 3 * ldBytes, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7));
}

// ------------------------------------------------------------ memory

/** Grow the memory so that it holds at least `bytes`; returns the page count. */
export function ensure(bytes: usize): i32 {
  const have = <usize>memory.size() << 16;
  if (bytes > have) memory.grow(<i32>((bytes - have + 0xffff) >> 16));
  return memory.size();
}

/** The first byte the JavaScript side may use. */
export function base(): usize {
  return (__heap_base + 15) & ~15;
}
