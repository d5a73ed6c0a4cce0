import { distillationKernel, hOfM } from "./distillation.js";

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
 *   p = q·eˣ/Z,  Z = Σ q·eˣ = 1 + M,  M = Σ q·ζ,  ζ = eˣ − 1 (`m` in the code),
 *   KL(p ‖ q) = Σ p·(x − log Z) = (Σ q·x·eˣ)/Z − log Z.
 *
 * With G = 1 + (x − 1)eˣ, x·eˣ = G + ζ, so Σ q·x·eˣ = Γ + M (Γ = Σ q·G) and
 *
 *   KL = Γ/(1 + M) + h(M),   h(M) = M/(1 + M) − log1p(M) = −M²/2 + 2M³/3 − …
 *   p − q = q·(ζ − M)/(1 + M).
 *
 * Why this survives float32 roundings. G = x²/2 + x³/3 + … ≥ 0 and h(M) are
 * computed to relative accuracy (no O(x) terms cancel inside either), and
 * an error δ in some qᵢ is a change of the student's logits shared by p = q·eˣ/Z:
 * it moves the KL by at most 2·max|δ|·KL, not by O(δ). The usual
 * Σ p·(log p − log q) instead cancels O(x) terms down to O(x²), which leaves an
 * absolute error of a float32 ulp in the KL whatever its size (1e-2 relative at
 * KL ≈ 1e-6, measured). x is centred at ū, the q-mean of t − s (a second sweep:
 * pass 2a forms q and ū, pass 2b x, ζ and G), which makes M = Σ q·(eˣ − 1 − x) =
 * O(x²) and Γ/(1 + M) ≈ KL, so nothing cancels. (Centred at the student's max
 * instead, Γ ≈ E_q[x²]/2 and h(M) ≈ −M²/2 cancel down to the KL, and the
 * rounding is amplified by E_q[x²]/(2·KL), up to 1 + 1/q_max ≈ C for a flat
 * student.) x itself is formed in float64 from the exact t − s.
 *
 * Exponentials: e^y = 2^{k/16}·e^r, k = round(16y/ln 2), |r| ≤ ln 2/32, with
 * 2^{k/16} from a table and e^r by a short Taylor polynomial: relative error
 * below 5e-11 for the student's e^r (to r⁴) and for the teacher's
 * φ(r) = e^r − 1 − r (to r⁶), and no cancellation where k = 0 (below).
 * q stays in float64 between the passes (stored as float32 it would carry 2⁻²⁴,
 * which by the fact above costs the KL 2·2⁻²⁴ ≈ 1.2e-7 relative). So every
 * per-class quantity is good to about 1e-10, the sums are float64, and the KL is
 * within 1e-8 relative (docs/distillation.md, "Float32 kernels").
 *
 * Passes per row: (1) the student's max; (2a) q, d = t − s, their sums for Zs and the
 * centre, the range of d and whether every d is exact; (2b) x = (d − ū)/T, ζ, G and
 * their sums; (3) the gradient. q and d (then ζ) sit side by side in one float64 array,
 * so passes 2b and 3 read one array (V8 checks every array a loop reads, at every
 * step). Each pass is a small function with its loop, and the cross-entropy's cases
 * (none, T = 4, another T) are separate functions, so that no loop tests its case.
 *
 * Rows that do not suit this (a non-finite logit: ±∞ gives an infinite spread and
 * NaN a NaN KL, caught by the last test; a spread of the exact (t − s)/T over 30, so eˣ could
 * leave the table; a cross-entropy tail below 1e-8, which the float64 kernel keeps
 * exactly; or |E_p[x]| > 4·KL, where the KL is a difference of larger numbers) go
 * through `distillationKernel` one by one, with the batch's 1/B. `scratch` holds
 * 3·C float32 values (the cross-entropy's exponentials use C of them, for T other
 * than 4); q and d take 2·C float64 of their own.
 */
export function distillationKernelF32(
  s: Float32Array, t: Float32Array, labels: Int32Array | null, B: number, C: number, T: number, alpha: number,
  dS: Float32Array | null, scratch: Float32Array,
): number {
  const hard = labels !== null && alpha < 1;
  const invT = 1 / T;
  const powers = hard && Number.isInteger(T) && T >= 1 && T <= 8 ? T : 0;
  // Per row, in float64: qᵢ at qd[2i] and, beside it, dᵢ = tᵢ − sᵢ (pass 2a), replaced by
  // ζᵢ (pass 2b). Every pass after 2a then reads one array, where V8 checks each
  // array it reads at every step. The cross-entropy's exponentials (T not 4) in float32
  // scratch: they only feed the gradient.
  const qd = new Float64Array(2 * C);
  const e1 = scratch.subarray(0, C);
  let fallback: Float64Array | null = null;
  let total = 0;
  for (let r = 0; r < B; r++) {
    const o = r * C;
    // Pass 1: the student's max and where it is.
    studentMax(s, o, C);
    const ms = rowMs;
    let fast = ms - ms === 0;
    let loss = 0;
    // D = t − s at the student's max, the reference for the centre's sum.
    const D = fast ? t[rowAt]! - ms : 0;
    if (fast) {
      // Pass 2a: q (unnormalised) and d, Zs = Σ q, Σ q·(d − D) for the centre, the range
      // of d, whether every d is exact, and the cross-entropy's exponentials.
      if (!hard) studentExps(s, t, qd, o, C, ms, invT, D);
      else if (powers === 4) studentExpsPow4(s, t, qd, o, C, ms, invT, D);
      else studentExpsHard(s, t, qd, e1, o, C, ms, invT, D, powers);
      // A spread of (t − s)/T over 30 (or an infinite one: a logit at ±∞) leaves the table.
      // It is the spread of the exact t − s: d is t − s rounded to float64, exact unless the
      // exponents of t and s lie more than 28 apart, and otherwise within 2⁻⁵³|d|, so that the
      // exact spread is at most (dmax − dmin) + 2⁻⁵³(|dmax| + |dmin|). (From the rounded d
      // alone, a student at 1e20 and a teacher at [0, −3000] had a spread of 0, and x = ±1500
      // left the table: NaN.)
      const slack = rowExact ? 0 : 2 ** -53 * (Math.abs(rowDmax) + Math.abs(rowDmin));
      fast = (rowDmax - rowDmin + slack) * invT <= 30;
    }
    if (fast) {
      const Zs = rowZs;
      const Z1 = rowZ1;
      // Pass 2b: x = ((t − s) − ū)/T centred at ū, the q-mean of t − s; ζ = eˣ − 1,
      // G = 1 + (x − 1)eˣ = x·ζ − φ, and their q-weighted sums.
      if (rowExact) logRatioSums(qd, C, D + rowSu / Zs, invT);
      else logRatioSumsTwoSum(s, t, qd, o, C, D, rowSu, Zs, invT);
      const M = rowM / Zs;
      const Gam = rowG / Zs;
      let kl = Gam / (1 + M) + hOfM(M);
      // E_p[x] = (Γ + M)/(1 + M) = KL + log Z: where |E_p[x]| exceeds 4·KL the KL is a
      // difference of larger numbers (p far from q), left to the float64 kernel. With the
      // q-mean centre E_p[x] ≥ KL ≥ 0; a centre off by b (its rounding) adds about b to
      // E_p[x], of either sign, and a negative E_p[x] far below −KL is as bad as a large
      // one (fact 3 of docs/distillation.md, "Precision", with |R₂|). A NaN (a NaN logit,
      // which the comparisons above let through) fails this test too.
      if ((hard && !(Z1 - 1 >= 1e-8)) || !(Math.abs(Gam + M) / (1 + M) <= 4 * kl)) fast = false;
      else {
        if (kl < 0) kl = 0;
        loss = alpha * T * T * kl;
        let y = -1;
        if (hard) {
          y = labels![r]!;
          loss += (1 - alpha) * (ms - s[o + y]! + Math.log1p(Z1 - 1));
        }
        if (dS !== null) {
          // Pass 3: dS = [α·T·(q − p) + (1 − α)(softmax(s) − onehot(y))]/B, q − p = q·(M − ζ)/(1 + M).
          const A = (alpha * T) / (B * Zs * (1 + M));
          if (!hard) studentGrad(dS, qd, o, C, A, M);
          else {
            const H = (1 - alpha) / (B * Z1);
            // softmax(s)·Z1 = q⁴, recomputed rather than stored (T = 4, the usual case).
            if (powers === 4) studentGradPow4(dS, qd, o, C, A, M, H);
            else studentGradHard(dS, qd, e1, o, C, A, M, H);
            // The label's entry again, with the one-hot subtracted before rounding.
            const qy = qd[2 * y]!;
            const e1y = powers === 4 ? qy * qy * (qy * qy) : e1[y]!;
            dS[o + y] = A * qy * (M - qd[2 * y + 1]!) + ((1 - alpha) / B) * (e1y / Z1 - 1);
          }
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

// What one pass over a row leaves for the next. Each pass is a function of its own
// (small loops that V8 compiles well), and the cross-entropy's cases are separate
// functions so that no loop tests which case it is in.
let rowMs = 0;
let rowAt = 0;
let rowDmin = 0;
let rowDmax = 0;
let rowExact = true;
let rowZs = 0;
let rowZ1 = 0;
let rowSu = 0;
let rowM = 0;
let rowG = 0;

/** Pass 1: the max of s[o … o + C) (rowMs; NaN entries are skipped) and its index (rowAt). */
function studentMax(s: Float32Array, o: number, C: number): void {
  let ms = -Infinity;
  let at = o;
  const end = o + C;
  for (let i = o; i < end; i++) {
    const si = s[i]!;
    if (si > ms) {
      ms = si;
      at = i;
    }
  }
  rowMs = ms;
  rowAt = at;
}

// Pass 2a, one function per cross-entropy case (the same loop but for Z1). For each
// class: a = exp((s − ms)/T) by the table into qd[2i] (rowZs = Σ a); d = t − s into
// qd[2i + 1], computed in float64 from float32 values and exact unless their exponents
// lie more than 28 apart, which Knuth's two-sum detects (rowExact: every d exact, its
// error e = (t − (d − z)) − (s + z), z = d − t, is 0); rowSu = Σ a·(d − D); and the range
// of d (rowDmin, rowDmax).

function studentExps(s: Float32Array, t: Float32Array, qd: Float64Array, o: number, C: number, ms: number, invT: number, D: number): void {
  let Zs = 0;
  let Su = 0;
  let dmax = -Infinity;
  let dmin = Infinity;
  let exact = true;
  for (let i = 0; i < C; i++) {
    const si = s[o + i]!;
    const ti = t[o + i]!;
    const a = expGap(si - ms, invT);
    const d = ti - si;
    const z = d - ti;
    if ((ti - (d - z)) - (si + z) !== 0) exact = false;
    qd[2 * i] = a;
    qd[2 * i + 1] = d;
    Zs += a;
    Su += a * (d - D);
    if (d > dmax) dmax = d;
    if (d < dmin) dmin = d;
  }
  rowZs = Zs;
  rowSu = Su;
  rowZ1 = 0;
  rowDmax = dmax;
  rowDmin = dmin;
  rowExact = exact;
}

/** Pass 2a at T = 4 with the cross-entropy: rowZ1 = Σ a⁴ = Σ exp(s − ms) besides. */
function studentExpsPow4(s: Float32Array, t: Float32Array, qd: Float64Array, o: number, C: number, ms: number, invT: number, D: number): void {
  let Zs = 0;
  let Su = 0;
  let Z1 = 0;
  let dmax = -Infinity;
  let dmin = Infinity;
  let exact = true;
  for (let i = 0; i < C; i++) {
    const si = s[o + i]!;
    const ti = t[o + i]!;
    const a = expGap(si - ms, invT);
    const d = ti - si;
    const z = d - ti;
    if ((ti - (d - z)) - (si + z) !== 0) exact = false;
    qd[2 * i] = a;
    qd[2 * i + 1] = d;
    Zs += a;
    Su += a * (d - D);
    const a2 = a * a;
    Z1 += a2 * a2;
    if (d > dmax) dmax = d;
    if (d < dmin) dmin = d;
  }
  rowZs = Zs;
  rowSu = Su;
  rowZ1 = Z1;
  rowDmax = dmax;
  rowDmin = dmin;
  rowExact = exact;
}

/**
 * Pass 2a with the cross-entropy at another T: e1 = exp(s − ms) besides (a^T by repeated
 * multiplication for a small integer T = powers, else the table) and rowZ1 = Σ e1.
 */
function studentExpsHard(
  s: Float32Array, t: Float32Array, qd: Float64Array, e1: Float32Array, o: number, C: number, ms: number, invT: number, D: number,
  powers: number,
): void {
  let Zs = 0;
  let Su = 0;
  let Z1 = 0;
  let dmax = -Infinity;
  let dmin = Infinity;
  let exact = true;
  for (let i = 0; i < C; i++) {
    const si = s[o + i]!;
    const ti = t[o + i]!;
    const a = expGap(si - ms, invT);
    const d = ti - si;
    const z = d - ti;
    if ((ti - (d - z)) - (si + z) !== 0) exact = false;
    qd[2 * i] = a;
    qd[2 * i + 1] = d;
    Zs += a;
    Su += a * (d - D);
    let b: number;
    if (powers !== 0) {
      b = a;
      for (let n = 1; n < powers; n++) b *= a;
    } else b = expGap(si - ms, 1);
    e1[i] = b;
    Z1 += b;
    if (d > dmax) dmax = d;
    if (d < dmin) dmin = d;
  }
  rowZs = Zs;
  rowSu = Su;
  rowZ1 = Z1;
  rowDmax = dmax;
  rowDmin = dmin;
  rowExact = exact;
}

/**
 * Pass 2b: x = (d − ū)/T from the exact d of pass 2a (one rounding, relative to x however
 * large t, s and ū are), φ = eˣ − 1 − x (phiTable), ζ = φ + x into qd[2i + 1] (d is not
 * needed again), rowM = Σ q·ζ and rowG = Σ q·(x·ζ − φ) = Σ q·G.
 */
function logRatioSums(qd: Float64Array, C: number, ubar: number, invT: number): void {
  let M = 0;
  let Gam = 0;
  for (let i = 0; i < C; i++) {
    const x = (qd[2 * i + 1]! - ubar) * invT;
    const phi = phiTable(x);
    const m = phi + x;
    const a = qd[2 * i]!;
    qd[2 * i + 1] = m;
    M += a * m;
    Gam += a * (x * m - phi);
  }
  rowM = M;
  rowG = Gam;
}

/**
 * Pass 2b for a row where some t − s was not exact in float64 (exponents of t and s more
 * than 28 apart): the same, from d + e = t − s (Knuth's two-sum), so that a small x keeps
 * its relative accuracy. The centre must be the q-mean of that exact t − s, not of d: it
 * is the pair D + c with c = Σ q·((d − D) + e)/Zs (Su = Σ q·(d − D) from pass 2a, the
 * Σ q·e added here), and x = (((d − D) − c) + e)/T. Centred at D + Su/Zs instead, every
 * x was off by E_q[e]/T: a one-class row (s = −1e30, t = −0.875: e = −0.875) had
 * x = −0.22 where it is 0, and a KL of 7e-16 where it is 0.
 */
function logRatioSumsTwoSum(
  s: Float32Array, t: Float32Array, qd: Float64Array, o: number, C: number, D: number, Su: number, Zs: number, invT: number,
): void {
  let Se = 0;
  for (let i = 0; i < C; i++) {
    const ti = t[o + i]!;
    const si = s[o + i]!;
    const d = ti - si;
    const z = d - ti;
    Se += qd[2 * i]! * ((ti - (d - z)) - (si + z));
  }
  const c = (Su + Se) / Zs;
  let M = 0;
  let Gam = 0;
  for (let i = 0; i < C; i++) {
    const ti = t[o + i]!;
    const si = s[o + i]!;
    const d = ti - si;
    const z = d - ti;
    const x = (((d - D) - c) + ((ti - (d - z)) - (si + z))) * invT;
    const phi = phiTable(x);
    const m = phi + x;
    const a = qd[2 * i]!;
    qd[2 * i + 1] = m;
    M += a * m;
    Gam += a * (x * m - phi);
  }
  rowM = M;
  rowG = Gam;
}

/** Pass 3, no cross-entropy: dS = A·q·(M − m). */
function studentGrad(dS: Float32Array, qd: Float64Array, o: number, C: number, A: number, M: number): void {
  for (let i = 0; i < C; i++) dS[o + i] = A * qd[2 * i]! * (M - qd[2 * i + 1]!);
}

/** Pass 3 at T = 4: dS = A·q·(M − m) + H·q⁴ (the label's entry is redone by the caller). */
function studentGradPow4(dS: Float32Array, qd: Float64Array, o: number, C: number, A: number, M: number, H: number): void {
  for (let i = 0; i < C; i++) {
    const a = qd[2 * i]!;
    const a2 = a * a;
    dS[o + i] = A * a * (M - qd[2 * i + 1]!) + H * (a2 * a2);
  }
}

/** Pass 3 at another T: dS = A·q·(M − m) + H·e1 (the label's entry is redone by the caller). */
function studentGradHard(dS: Float32Array, qd: Float64Array, e1: Float32Array, o: number, C: number, A: number, M: number, H: number): void {
  for (let i = 0; i < C; i++) dS[o + i] = A * qd[2 * i]! * (M - qd[2 * i + 1]!) + H * e1[i]!;
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

/**
 * e^{g·invT} for a gap g ≤ 0 by the table: 2^{k/16}·e^r, |r| ≤ ln 2/32, e^r to r⁴
 * (relative error < 5e-11). Arguments below −110 give e^{−110}; a NaN gives NaN.
 */
function expGap(g: number, invT: number): number {
  const y = g * invT;
  const a = y < -110 ? -110 : y;
  const k = a * INV_LN2_16 + ROUND - ROUND;
  const r = a - k * LN2_16_HI - k * LN2_16_LO;
  return POW[(k - K_MIN) | 0]! * (1 + r * (1 + r * (1 / 2 + r * (1 / 6 + r * (1 / 24)))));
}

/**
 * φ(x) = eˣ − 1 − x for |x| ≤ 31 by the table: x = k·ln 2/16 + r, |r| ≤ ln 2/32, and
 * φ(x) = 2^{k/16}·φ(r) + ((2^{k/16} − 1) + 2^{k/16}·r − x), with φ(r) to r⁶ (relative error
 * < 5e-11); exactly φ(r) where k = 0, so a small x keeps its relative accuracy.
 */
function phiTable(x: number): number {
  const k = x * INV_LN2_16 + ROUND - ROUND;
  const r = x - k * LN2_16_HI - k * LN2_16_LO;
  const P = POW[(k - K_MIN) | 0]!;
  const phiR = r * r * (1 / 2 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (1 / 720)))));
  return P * phiR + ((P - 1) + P * r - x);
}
