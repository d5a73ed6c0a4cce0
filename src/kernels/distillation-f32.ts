import { centred, distillationKernel, hOfM } from "./distillation.js";

/**
 * The fused distillation kernel for float32 logits when α > 0 and the teacher
 * needs no gradient (the usual case: a frozen teacher), in TypeScript. Same
 * loss and student gradient as src/kernels/distillation.ts, formed so that
 * exponentials good to float32 accuracy (a table and a short polynomial, no
 * Math.exp) keep the KL accurate relative to itself, however small it is.
 * wasm/kernels.ts (`distillF32`) is the same algorithm in f32x4 lanes.
 *
 * The log-ratio form. For one row write q = softmax(s/T), the student, and
 * xᵢ = (tᵢ − sᵢ)/T − c for any constant c. Then p = softmax(t/T) ∝ q·eˣ, so
 *
 *   p = q·eˣ/Z,  Z = Σ q·eˣ = 1 + M,  M = Σ q·m,  m = eˣ − 1,
 *   KL(p ‖ q) = Σ p·(x − log Z) = (Σ q·x·eˣ)/Z − log Z.
 *
 * With G = 1 + (x − 1)eˣ, x·eˣ = G + m, so Σ q·x·eˣ = Γ + M (Γ = Σ q·G) and
 *
 *   KL = Γ/(1 + M) + h(M),   h(M) = M/(1 + M) − log1p(M) = −M²/2 + 2M³/3 − …
 *   p − q = q·(m − M)/(1 + M).
 *
 * Why this survives float32 roundings. G = x²/2 + x³/3 + … ≥ 0 and h(M) are
 * computed to relative accuracy (no O(x) terms cancel inside either), and
 * an error δ in some qᵢ is a change of the student's logits shared by p = q·eˣ/Z:
 * it moves the KL by at most 2·max|δ|·KL, not by O(δ). The usual
 * Σ p·(log p − log q) instead cancels O(x) terms down to O(x²), which leaves an
 * absolute error of a float32 ulp in the KL whatever its size (1e-2 relative at
 * KL ≈ 1e-6, measured). x is centred at ū, the q-mean of t − s (a second sweep:
 * pass 2a forms q and ū, pass 2b x, m and G), which makes M = Σ q·(eˣ − 1 − x) =
 * O(x²) and Γ/(1 + M) ≈ KL, so nothing cancels. (Centred at the student's max
 * instead, Γ ≈ E_q[x²]/2 and h(M) ≈ −M²/2 cancel down to the KL, and the
 * rounding is amplified by E_q[x²]/(2·KL), up to 1 + 1/q_max ≈ C for a flat
 * student.) x itself is formed in float64 from the exact t − s.
 *
 * Exponentials: e^y = 2^{k/16}·e^r, k = round(16y/ln 2), |r| ≤ ln 2/32, with
 * 2^{k/16} from a table and e^r by a short Taylor polynomial: relative error
 * below 5e-11 for the student's e^r (to r⁴) and for the teacher's
 * φ(r) = e^r − 1 − r (to r⁶), and no cancellation where k = 0 (below).
 * So every per-class quantity is good to about 1e-10, the sums are float64, and
 * the KL is within 1e-8 relative (docs/distillation.md, "Float32 kernels").
 *
 * Rows that do not suit this (a non-finite logit, a spread of (t − s)/T over
 * 30, so eˣ could overflow the table, a cross-entropy tail below 1e-8,
 * which the float64 kernel keeps exactly, or E_p[x] > 4·KL, where the KL is a
 * difference of larger numbers) go through `distillationKernel` one by one,
 * with the batch's 1/B. `scratch` holds 3·C float32 values.
 */
export function distillationKernelF32(
  s: Float32Array, t: Float32Array, labels: Int32Array | null, B: number, C: number, T: number, alpha: number,
  dS: Float32Array | null, scratch: Float32Array,
): number {
  const hard = labels !== null && alpha < 1;
  const invT = 1 / T;
  const powers = Number.isInteger(T) && T >= 1 && T <= 8 ? T : 0;
  // Per row, float32 like the results: m and the cross-entropy's exponentials in
  // scratch, the student's exponentials in the row of dS they turn into.
  const e1 = scratch.subarray(0, C);
  const mm = scratch.subarray(C, 2 * C);
  const own = dS === null ? scratch.subarray(2 * C, 3 * C) : null;
  let fallback: Float64Array | null = null;
  let total = 0;
  for (let r = 0; r < B; r++) {
    const o = r * C;
    // Pass 1: the student's max (and the teacher's logit there), the range of t − s;
    // bad sums d·0, which is NaN as soon as one t − s is not finite.
    let ms = -Infinity;
    let tAt = 0;
    let dmax = -Infinity;
    let dmin = Infinity;
    let bad = 0;
    for (let i = 0; i < C; i++) {
      const si = s[o + i]!;
      const ti = t[o + i]!;
      if (si > ms) {
        ms = si;
        tAt = ti;
      }
      const d = ti - si;
      if (d > dmax) dmax = d;
      if (d < dmin) dmin = d;
      bad += d * 0;
    }
    let fast = bad === 0 && Number.isFinite(ms) && (dmax - dmin) * invT <= 30;
    let loss = 0;
    if (fast) {
      const es = own ?? dS!.subarray(o, o + C);
      const dAt = tAt - ms;
      // Pass 2a: q (unnormalised, es) and its sum, Σ q·(t − s) for the centre, and the
      // cross-entropy's exponentials.
      let Zs = 0;
      let Z1 = 0;
      let Su = 0;
      for (let i = 0; i < C; i++) {
        const si = s[o + i]!;
        const a = Math.max((si - ms) * invT, -110);
        const ka = a * INV_LN2_16 + ROUND - ROUND;
        const ra = a - ka * LN2_16_HI - ka * LN2_16_LO;
        const ea = POW[(ka | 0) - K_MIN]! * (1 + ra * (1 + ra * (1 / 2 + ra * (1 / 6 + ra * (1 / 24)))));
        es[i] = ea;
        Zs += ea;
        Su += ea * (t[o + i]! - si - dAt);
        if (hard) {
          let b: number;
          if (powers === 4) {
            b = ea * ea;
            b *= b;
          } else if (powers !== 0) {
            b = ea;
            for (let n = 1; n < powers; n++) b *= ea;
          } else b = expTable(si - ms);
          if (powers !== 4) e1[i] = b;
          Z1 += b;
        }
      }
      // Pass 2b: x = ((t − s) − ū)/T centred at ū, the q-mean of t − s; m = eˣ − 1,
      // G = 1 + (x − 1)eˣ = x·m − φ, and their q-weighted sums.
      // φ = eˣ − 1 − x = 2^{k/16}·φ(r) + ((2^{k/16} − 1) + 2^{k/16}·r − x), exactly φ(r) where k = 0.
      const ubar = dAt + Su / Zs;
      let M = 0;
      let Gam = 0;
      for (let i = 0; i < C; i++) {
        const x = centred(t[o + i]!, s[o + i]!, ubar) * invT;
        const kx = x * INV_LN2_16 + ROUND - ROUND;
        const rx = x - kx * LN2_16_HI - kx * LN2_16_LO;
        const P = POW[(kx | 0) - K_MIN]!;
        const phiR = rx * rx * (1 / 2 + rx * (1 / 6 + rx * (1 / 24 + rx * (1 / 120 + rx * (1 / 720)))));
        const phi = P * phiR + ((P - 1) + P * rx - x);
        const m = phi + x;
        const ea = es[i]!;
        mm[i] = m;
        M += ea * m;
        Gam += ea * (x * m - phi);
      }
      M /= Zs;
      Gam /= Zs;
      let kl = Gam / (1 + M) + hOfM(M);
      // E_p[x] = (Γ + M)/(1 + M) = KL + log Z: where it exceeds 4·KL the KL is a
      // difference of larger numbers (p far from q), left to the float64 kernel.
      if ((hard && !(Z1 - 1 >= 1e-8)) || !((Gam + M) / (1 + M) <= 4 * kl)) fast = false;
      else {
        if (kl < 0) kl = 0;
        loss = alpha * T * T * kl;
        let y = -1;
        if (hard) {
          y = labels![r]!;
          loss += (1 - alpha) * (ms - s[o + y]! + Math.log1p(Z1 - 1));
        }
        if (dS !== null) {
          // Pass 3: dS = [α·T·(q − p) + (1 − α)(softmax(s) − onehot(y))]/B, q − p = q·(M − m)/(1 + M).
          const A = (alpha * T) / (B * Zs * (1 + M));
          const H = hard ? (1 - alpha) / (B * Z1) : 0;
          const ey = hard ? es[y]! : 0;
          const e1y = powers === 4 ? ey * ey * ey * ey : hard ? e1[y]! : 0;
          if (!hard) for (let i = 0; i < C; i++) es[i] = A * es[i]! * (M - mm[i]!);
          else if (powers === 4) {
            // softmax(s)·Z1 = es⁴, recomputed rather than stored (T = 4, the usual case).
            for (let i = 0; i < C; i++) {
              const e = es[i]!;
              const e2 = e * e;
              es[i] = A * e * (M - mm[i]!) + H * (e2 * e2);
            }
          } else for (let i = 0; i < C; i++) es[i] = A * es[i]! * (M - mm[i]!) + H * e1[i]!;
          if (hard) es[y] = A * ey * (M - mm[y]!) + ((1 - alpha) / B) * (e1y / Z1 - 1);
        }
      }
    }
    if (!fast) {
      fallback ??= new Float64Array(3 * C);
      loss = distillationKernel(
        s.subarray(o, o + C), t.subarray(o, o + C), labels && labels.subarray(r, r + 1), 1, C, T, alpha,
        dS && dS.subarray(o, o + C), null, fallback, true, B,
      );
    }
    total += loss;
  }
  return total / B;
}

// 2^{k/16} for K_MIN ≤ k ≤ K_MAX (2⁻¹⁶⁰ to 2⁵⁰; the teacher's |x| ≤ 31 needs
// |k| ≤ 716): exact powers of two times the sixteen values 2^{j/16}.
const K_MIN = -2560;
const K_MAX = 800;
const POW = (() => {
  const frac = Array.from({ length: 16 }, (_, j) => Math.pow(2, j / 16));
  const table = new Float64Array(K_MAX - K_MIN + 1);
  for (let k = K_MIN; k <= K_MAX; k++) table[k - K_MIN] = frac[k & 15]! * 2 ** (k >> 4);
  return table;
})();
const INV_LN2_16 = 16 / Math.LN2;
// ln 2/16 in a head of 24 bits (k·head is exact) and a tail.
const LN2_16_HI = Math.fround(Math.LN2 / 16);
const LN2_16_LO = Math.LN2 / 16 - LN2_16_HI;
// y + 1.5·2⁵² − 1.5·2⁵² rounds y to an integer (ties to even) for |y| < 2⁵¹.
const ROUND = 6755399441055744;

/** e^y for −110 ≤ y ≤ 0 by the table (relative error < 1e-8); below −110 gives e^{−110}. */
function expTable(y: number): number {
  const a = Math.max(y, -110);
  const k = a * INV_LN2_16 + ROUND - ROUND;
  const r = a - k * LN2_16_HI - k * LN2_16_LO;
  return POW[(k | 0) - K_MIN]! * (1 + r * (1 + r * (1 / 2 + r * (1 / 6))));
}
