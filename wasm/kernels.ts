// kdgrad's WebAssembly SIMD kernels, in AssemblyScript.
//
// Built by `npm run build:wasm` (scripts/build-wasm.mjs) into
// src/kernels/wasm/bytes.ts, which embeds the module's bytes so the library
// needs no file loading. Memory is laid out by the JavaScript side
// (src/kernels/wasm/backend.ts): it grows the exported memory, copies the
// inputs in at offsets it chooses, calls a kernel, and copies results out.
//
// All float32 kernels compute in float64 lanes (f64x2): the sums behind a
// KL that is O(1/T²) at large T need float64 accuracy, and f64x2 keeps two
// lanes busy at a time.

// ---------------------------------------------------------------- exp, f64x2

const LOG2E: f64 = 1.4426950408889634;
const LN2_HI: f64 = 6.93147180369123816490e-1;
const LN2_LO: f64 = 1.90821492927058770002e-10;

// exp(x) in both lanes. x = k·ln 2 + r, |r| ≤ ½ ln 2 (ln 2 split in a head
// with trailing zeros and a tail, so k·ln2_hi is exact); e^r by its Taylor
// series to r¹¹ (relative error < 1e-14 on |r| ≤ 0.347); 2^k built in the
// exponent bits. x < −708 gives 0 (this covers −∞); NaN stays NaN; the
// kernels only pass x ≤ 0.
// @ts-ignore: decorator
@inline function expv(x: v128): v128 {
  const tiny = f64x2.lt(x, f64x2.splat(-708.0));
  const xc = f64x2.max(x, f64x2.splat(-708.0));
  const k = f64x2.nearest(f64x2.mul(xc, f64x2.splat(LOG2E)));
  const r = f64x2.sub(f64x2.sub(xc, f64x2.mul(k, f64x2.splat(LN2_HI))), f64x2.mul(k, f64x2.splat(LN2_LO)));
  // Estrin's scheme: pairs c₂ⱼ + c₂ⱼ₊₁·r, combined with r², r⁴, r⁸, so the
  // multiply-adds do not wait on each other as Horner's rule would.
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
  const p = f64x2.add(f64x2.add(q0, f64x2.mul(r4, q1)), f64x2.mul(r8, q2));
  // 2^k: (k + 1023) << 52 as the bits of a double.
  const ki = i64x2.extend_low_i32x4_s(i32x4.trunc_sat_f64x2_s_zero(k));
  const scale = i64x2.shl(i64x2.add(ki, i64x2.splat(1023)), 52);
  const y = f64x2.mul(p, scale);
  return v128.andnot(y, tiny);
}

/** exp of one double, through the same polynomial (lane 0). */
export function exp1(x: f64): f64 {
  return f64x2.extract_lane(expv(f64x2.splat(x)), 0);
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
@inline function logRatio(tr: usize, sr: usize, i: i32, mt: v128, ms: v128, invT: v128, shift: v128): v128 {
  const dt = f64x2.sub(load2(tr + (<usize>i << 2)), mt);
  const ds = f64x2.sub(load2(sr + (<usize>i << 2)), ms);
  return f64x2.sub(f64x2.mul(f64x2.sub(dt, ds), invT), shift);
}

/**
 * The fused distillation loss of src/kernels/distillation.ts for float32
 * s, t [B, C] (C even: the caller pads odd C with a −∞ class, which has no
 * mass in either distribution), labels [B] (or 0 for none), writing dS and
 * dT (float32, or 0 to skip) and using 3·C float64 of scratch. Returns the
 * mean loss over rows. Same math, same passes, two lanes at a time.
 */
export function distill(
  s: usize, t: usize, labels: usize, B: i32, C: i32, T: f64, alpha: f64,
  dS: usize, dT: usize, scratch: usize,
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
  let total: f64 = 0;
  for (let r: i32 = 0; r < B; r++) {
    const sr = s + (<usize>(r * C) << 2);
    const tr = t + (<usize>(r * C) << 2);
    // Pass 1: maxima (f64x2.max propagates NaN).
    let vms = f64x2.splat(-Infinity);
    let vmt = f64x2.splat(-Infinity);
    for (let i: i32 = 0; i < C; i += 2) {
      vms = f64x2.max(vms, load2(sr + (<usize>i << 2)));
      vmt = f64x2.max(vmt, load2(tr + (<usize>i << 2)));
    }
    const ms = max<f64>(f64x2.extract_lane(vms, 0), f64x2.extract_lane(vms, 1));
    const mt = max<f64>(f64x2.extract_lane(vmt, 0), f64x2.extract_lane(vmt, 1));
    const vMs = f64x2.splat(ms);
    const vMt = f64x2.splat(mt);
    // Pass 2: exponentials and sums.
    let vSs = f64x2.splat(0);
    let vSt = f64x2.splat(0);
    let vS1 = f64x2.splat(0);
    // Each sum is 1 (the max term) plus a tail R, and log S = log1p(R) keeps a
    // tail far below 1 that log(1 + R) would round away: the terms below 1 are
    // summed apart from those equal to 1 (the max and its ties), which are
    // counted, and R = Σ_{e < 1} e + (count(e = 1) − 1).
    let vRs = f64x2.splat(0);
    let vRt = f64x2.splat(0);
    let vR1 = f64x2.splat(0);
    let vNs = f64x2.splat(0);
    let vNt = f64x2.splat(0);
    let vN1 = f64x2.splat(0);
    const one = f64x2.splat(1);
    for (let i: i32 = 0; i < C; i += 2) {
      const ds = f64x2.sub(load2(sr + (<usize>i << 2)), vMs);
      const a = expv(f64x2.mul(ds, vInvT));
      v128.store(es + (<usize>i << 3), a);
      vSs = f64x2.add(vSs, a);
      vRs = f64x2.add(vRs, v128.and(a, f64x2.lt(a, one)));
      vNs = f64x2.add(vNs, v128.and(one, f64x2.eq(a, one)));
      if (soft) {
        const b = expv(f64x2.mul(f64x2.sub(load2(tr + (<usize>i << 2)), vMt), vInvT));
        v128.store(et + (<usize>i << 3), b);
        vSt = f64x2.add(vSt, b);
        vRt = f64x2.add(vRt, v128.and(b, f64x2.lt(b, one)));
        vNt = f64x2.add(vNt, v128.and(one, f64x2.eq(b, one)));
      }
      if (hard && T != 1.0) {
        let c: v128;
        if (powers != 0) {
          c = f64x2.splat(1);
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
    const Ss = f64x2.extract_lane(vSs, 0) + f64x2.extract_lane(vSs, 1);
    const St = f64x2.extract_lane(vSt, 0) + f64x2.extract_lane(vSt, 1);
    const S1 = T == 1.0 ? Ss : f64x2.extract_lane(vS1, 0) + f64x2.extract_lane(vS1, 1);
    const lanes = (v: v128): f64 => f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
    const Rs = lanes(vRs) + (lanes(vNs) - 1);
    const Rt = lanes(vRt) + (lanes(vNt) - 1);
    const R1 = T == 1.0 ? Rs : lanes(vR1) + (lanes(vN1) - 1);
    // (A NaN sum is a row with no distribution: keep the NaN.)
    const cs = Ss == Ss ? Math.log1p(Rs) : Ss;
    const ct = St == St ? Math.log1p(Rt) : St;
    const c1 = S1 == S1 ? Math.log1p(R1) : S1;
    const vShift = f64x2.splat(ct - cs);
    const vInvSt = f64x2.splat(1.0 / St);
    // Pass 3: the KL from log-space differences over the teacher's support,
    // and in the same sweep the student gradient (which does not need the KL).
    const aT = (alpha * T) / <f64>B;
    const h = (1 - alpha) / <f64>B;
    const vaT = f64x2.splat(aT);
    const vh = f64x2.splat(h);
    const vInvSs = f64x2.splat(1.0 / Ss);
    const vInvS1 = f64x2.splat(1.0 / S1);
    const dr = dS + (<usize>(r * C) << 2);
    let vkl = f64x2.splat(0);
    for (let i: i32 = 0; i < C; i += 2) {
      let g = f64x2.splat(0);
      if (soft) {
        const pt = f64x2.mul(v128.load(et + (<usize>i << 3)), vInvSt);
        const d = logRatio(tr, sr, i, vMt, vMs, vInvT, vShift);
        vkl = f64x2.add(vkl, v128.andnot(f64x2.mul(pt, d), f64x2.eq(pt, f64x2.splat(0))));
        g = f64x2.mul(vaT, f64x2.sub(f64x2.mul(v128.load(es + (<usize>i << 3)), vInvSs), pt));
      }
      if (hard) g = f64x2.add(g, f64x2.mul(vh, f64x2.mul(v128.load(e1 + (<usize>i << 3)), vInvS1)));
      if (dS != 0) store2(dr + (<usize>i << 2), g);
    }
    let kl: f64 = 0;
    if (soft) {
      kl = f64x2.extract_lane(vkl, 0) + f64x2.extract_lane(vkl, 1);
      if (kl < 0) kl = 0;
      total += alpha * T * T * kl;
    }
    if (hard) {
      const y = load<i32>(labels + (<usize>r << 2));
      total += (1 - alpha) * (ms + c1 - <f64>load<f32>(sr + (<usize>y << 2)));
      if (dS != 0) {
        // The label's entry again, with the one-hot subtracted in float64 before rounding.
        let gy = h * (load<f64>(e1 + (<usize>y << 3)) / S1 - 1);
        if (soft) gy += aT * (load<f64>(es + (<usize>y << 3)) / Ss - load<f64>(et + (<usize>y << 3)) / St);
        store<f32>(dr + (<usize>y << 2), <f32>gy);
      }
    }
    if (dT != 0) {
      const dtr = dT + (<usize>(r * C) << 2);
      const vKl = f64x2.splat(kl);
      for (let i: i32 = 0; i < C; i += 2) {
        let g = f64x2.splat(0);
        if (soft) {
          const pt = f64x2.mul(v128.load(et + (<usize>i << 3)), vInvSt);
          const d = f64x2.sub(logRatio(tr, sr, i, vMt, vMs, vInvT, vShift), vKl);
          g = v128.andnot(f64x2.mul(vaT, f64x2.mul(pt, d)), f64x2.eq(pt, f64x2.splat(0)));
        }
        store2(dtr + (<usize>i << 2), g);
      }
    }
  }
  return total / <f64>B;
}

// --------------------------------------------- softmax and logSoftmax, rows

/**
 * logSoftmax along rows of C float32 values (C even: the caller pads with
 * −∞): y = x − (m + log Σ exp(x − m)), computed in float64 lanes, stored as
 * float32. The same max-shift as src/kernels/softmax.ts: no exponent is
 * positive and the sum is ≥ 1. An all −∞ (or NaN) row gives NaN.
 */
export function logSoftmaxRows(x: usize, y: usize, rows: i32, C: i32): void {
  for (let r: i32 = 0; r < rows; r++) {
    const xr = x + (<usize>(r * C) << 2);
    const yr = y + (<usize>(r * C) << 2);
    let vm = f64x2.splat(-Infinity);
    for (let i: i32 = 0; i < C; i += 2) vm = f64x2.max(vm, load2(xr + (<usize>i << 2)));
    const m = max<f64>(f64x2.extract_lane(vm, 0), f64x2.extract_lane(vm, 1));
    const vM = f64x2.splat(m);
    let vs = f64x2.splat(0);
    for (let i: i32 = 0; i < C; i += 2) vs = f64x2.add(vs, expv(f64x2.sub(load2(xr + (<usize>i << 2)), vM)));
    const shift = f64x2.splat(m + Math.log(f64x2.extract_lane(vs, 0) + f64x2.extract_lane(vs, 1)));
    for (let i: i32 = 0; i < C; i += 2) store2(yr + (<usize>i << 2), f64x2.sub(load2(xr + (<usize>i << 2)), shift));
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
 * C[n×m] = A[n×k]·B[k×m], float32, all row-major and contiguous, with n a
 * multiple of 4 and m a multiple of 8 (the caller pads with zeros). A 4×8
 * block of C lives in eight f32x4 registers while p runs over k: each step
 * loads eight numbers of row p of B and four of column p of A and does 32
 * multiply-adds, so every load feeds several of them (the i-p-j order of
 * the TypeScript kernel, blocked for registers).
 */
export function matmul(A: usize, B: usize, C: usize, n: i32, k: i32, m: i32): void {
  const rowA = <usize>k << 2;
  const rowB = <usize>m << 2;
  for (let i: i32 = 0; i < n; i += 4) {
    const a0 = A + <usize>i * rowA;
    const a1 = a0 + rowA;
    const a2 = a1 + rowA;
    const a3 = a2 + rowA;
    for (let j: i32 = 0; j < m; j += 8) {
      let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
      let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
      let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
      let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
      let b = B + (<usize>j << 2);
      for (let p: i32 = 0; p < k; p++) {
        const b0 = v128.load(b);
        const b1 = v128.load(b, 16);
        const off = <usize>p << 2;
        const x0 = f32x4.splat(load<f32>(a0 + off));
        const x1 = f32x4.splat(load<f32>(a1 + off));
        const x2 = f32x4.splat(load<f32>(a2 + off));
        const x3 = f32x4.splat(load<f32>(a3 + off));
        c00 = f32x4.add(c00, f32x4.mul(x0, b0));
        c01 = f32x4.add(c01, f32x4.mul(x0, b1));
        c10 = f32x4.add(c10, f32x4.mul(x1, b0));
        c11 = f32x4.add(c11, f32x4.mul(x1, b1));
        c20 = f32x4.add(c20, f32x4.mul(x2, b0));
        c21 = f32x4.add(c21, f32x4.mul(x2, b1));
        c30 = f32x4.add(c30, f32x4.mul(x3, b0));
        c31 = f32x4.add(c31, f32x4.mul(x3, b1));
        b += rowB;
      }
      const c = C + (<usize>i * <usize>m + <usize>j) * 4;
      v128.store(c, c00);
      v128.store(c, c01, 16);
      v128.store(c + rowB, c10);
      v128.store(c + rowB, c11, 16);
      v128.store(c + 2 * rowB, c20);
      v128.store(c + 2 * rowB, c21, 16);
      v128.store(c + 3 * rowB, c30);
      v128.store(c + 3 * rowB, c31, 16);
    }
  }
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
