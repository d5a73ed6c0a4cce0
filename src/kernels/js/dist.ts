import type { Storage } from "../../tensor/dtype.js";
import { SPREAD_64, centred } from "../distillation.js";
import { rowMax } from "./kd-rows.js";

/**
 * The fused DIST kernel (src/losses/dist-loss.ts derives the formulas). With
 * Y_s = softmax(s/T), Y_t = softmax(t/T) row by row ([B, C]) and
 * ρ(a, b) = ⟨ã, b̃⟩/(max(‖ã‖, ε)·max(‖b̃‖, ε)), x̃ = x − mean x, ε = eps:
 *
 *   loss = T²·[β·mean over rows (1 − ρ(Y_s,i, Y_t,i)) + γ·mean over classes (1 − ρ(Y_s[:, j], Y_t[:, j]))]
 *   G = ∂loss/∂Y_s = −T²·[β/B·∂ρ_row/∂a + γ/C·∂ρ_col/∂a],   dS = (1/T)·Y_s ⊙ (G − ⟨G, Y_s⟩_row)
 *   (the teacher likewise, with ∂ρ/∂b and Y_t)
 *
 * Accuracy. 1 − ρ is small when the two are nearly proportional, which is the end of
 * training, so the kernel never forms ρ and subtracts it from 1:
 * 1. The centred rows. A softmax row's mean is exactly 1/C, so Ỹ = Y − 1/C; when the
 *    row's logits span at most T (so every Y is within a factor e of 1/C and Y − 1/C would
 *    cancel, by up to a factor T/spread at large T) it is formed as
 *    Ỹ_j = (e_j − ē)/S with e_j = expm1((x_j − x̄)/T), S = C + Σe: relative-accurate.
 * 2. The difference of the two softmaxes, D = Y_t − Y_s, in the log-ratio form of the
 *    distillation kernel (src/kernels/distillation.ts): with q = Y_s and x = ((t − s) − ū)/T
 *    centred at the q-mean, D = q·(m − M)/(1 + M), m = expm1(x), M = Σq·m; so Ỹ_t = Ỹ_s + D
 *    (D sums to 0) differs from Ỹ_s by a relative-accurate D however close the two are.
 *    (Rows with masks the student does not share, NaN or spreads over SPREAD_64 use
 *    D = Y_t − Y_s.)
 * 3. One correlation, of a = Ỹ_s-part and b = a + D̃ (rows: D̃ = D; columns: both centred
 *    again over the batch): with N_a = ‖a‖, N_b = ‖b‖ both above ε,
 *      N_b − N_a = (2⟨a, D̃⟩ + ‖D̃‖²)/(N_a + N_b),   w = â − b̂ = (a·(N_b − N_a) − N_a·D̃)/(N_a·N_b),
 *      1 − ρ = ‖w‖²/2   (â, b̂ unit vectors: 1 − ⟨â, b̂⟩ = ‖â − b̂‖²/2),
 *      ∂ρ/∂a = (b̂ − ρ·â)/N_a = ((1 − ρ)·â − w)/N_a,   ∂ρ/∂b = (w + (1 − ρ)·b̂)/N_b;
 *    every piece is formed from D̃ without a cancellation at first order. When a norm is at or
 *    below ε the guard is active: ρ = ⟨a, b⟩/(max(N_a, ε)·max(N_b, ε)) directly, and the
 *    guarded norm is a constant (its derivative 0).
 *
 * Non-finite values: a class masked at −∞ has Y = 0 there, and everything stays finite;
 * NaN or +∞ in a row gives NaN (that row, and every column correlation, is NaN). A row
 * whose centred softmax vanishes (equal logits) hits the guard: its ρ is 0, as in PyTorch.
 */
export function dist(
  s: Storage, t: Storage, B: number, C: number, T: number, beta: number, gamma: number, eps: number,
  dS: Storage | null, dT: Storage | null,
): number {
  const n = B * C;
  const ys = new Float64Array(n);
  const yt = new Float64Array(n);
  const a = new Float64Array(n); // Ỹ_s
  const d = new Float64Array(n); // D = Y_t − Y_s
  const invT = 1 / T;
  for (let r = 0; r < B; r++) {
    centredSoftmax(s, r * C, C, invT, ys, a);
    softmaxDifference(s, t, r * C, C, invT, ys, yt, d);
  }
  const needS = dS !== null;
  const needT = dT !== null;
  const Gs = needS ? new Float64Array(n) : null;
  const Gt = needT ? new Float64Array(n) : null;
  const T2 = T * T;
  const ga = new Float64Array(Math.max(B, C));
  const gb = new Float64Array(Math.max(B, C));
  let total = 0;
  if (beta > 0) {
    let sum = 0;
    for (let r = 0; r < B; r++) {
      sum += correlation(a, d, r * C, 1, C, false, eps, ga, gb);
      const k = (-T2 * beta) / B;
      for (let j = 0; j < C; j++) {
        if (Gs) Gs[r * C + j] = k * ga[j]!;
        if (Gt) Gt[r * C + j] = k * gb[j]!;
      }
    }
    total += (T2 * beta * sum) / B;
  }
  if (gamma > 0) {
    let sum = 0;
    for (let j = 0; j < C; j++) {
      sum += correlation(a, d, j, C, B, true, eps, ga, gb);
      const k = (-T2 * gamma) / C;
      for (let r = 0; r < B; r++) {
        if (Gs) Gs[r * C + j] = (beta > 0 ? Gs[r * C + j]! : 0) + k * ga[r]!;
        if (Gt) Gt[r * C + j] = (beta > 0 ? Gt[r * C + j]! : 0) + k * gb[r]!;
      }
    }
    total += (T2 * gamma * sum) / C;
  }
  // Through the softmax: dx = (1/T)·y ⊙ (G − ⟨G, y⟩) per row.
  if (dS && Gs) softmaxBackward(ys, Gs, B, C, invT, beta > 0 || gamma > 0, dS);
  if (dT && Gt) softmaxBackward(yt, Gt, B, C, invT, beta > 0 || gamma > 0, dT);
  return total;
}

function softmaxBackward(y: Float64Array, G: Float64Array, B: number, C: number, invT: number, any: boolean, dx: Storage): void {
  for (let r = 0; r < B; r++) {
    const o = r * C;
    if (!any) {
      for (let j = 0; j < C; j++) dx[o + j] = 0;
      continue;
    }
    let dot = 0;
    for (let j = 0; j < C; j++) dot += G[o + j]! * y[o + j]!;
    for (let j = 0; j < C; j++) dx[o + j] = invT * y[o + j]! * (G[o + j]! - dot);
  }
}

/**
 * One row of softmax(x/T) into y, and its centred values y − 1/C into yc. When the row's
 * logits are finite and span at most T, yc = (e − ē)/S with e = expm1((x − x̄)/T) and
 * S = C + Σe (y = (1 + e)/S); the shift by the mean x̄ changes nothing (both e + 1 and S
 * scale by the same factor) and keeps |(x − x̄)/T| ≤ 1. Otherwise the usual max-shifted
 * softmax and yc = y − 1/C: with a logit more than T from the mean, some entry of y is
 * off 1/C by at least (1 − e⁻¹)/C or more, and the row's centred norm is not small.
 */
function centredSoftmax(x: Storage, base: number, C: number, invT: number, y: Float64Array, yc: Float64Array): void {
  let sum = 0;
  let mx = -Infinity;
  let mn = Infinity;
  for (let j = 0; j < C; j++) {
    const v = x[base + j]!;
    sum += v;
    if (v > mx || v !== v) mx = v;
    if (v < mn || v !== v) mn = v;
  }
  if ((mx - mn) * invT <= 1) {
    const mean = sum / C;
    let se = 0;
    for (let j = 0; j < C; j++) {
      const e = Math.expm1((x[base + j]! - mean) * invT);
      yc[base + j] = e;
      se += e;
    }
    const S = C + se;
    const ebar = se / C;
    for (let j = 0; j < C; j++) {
      const e = yc[base + j]!;
      y[base + j] = (1 + e) / S;
      yc[base + j] = (e - ebar) / S;
    }
    return;
  }
  let S = 0;
  for (let j = 0; j < C; j++) {
    const e = Math.exp((x[base + j]! - mx) * invT);
    y[base + j] = e;
    S += e;
  }
  const invC = 1 / C;
  for (let j = 0; j < C; j++) {
    const p = y[base + j]! / S;
    y[base + j] = p;
    yc[base + j] = p - invC;
  }
}

/**
 * One row of y_t = softmax(t/T) and D = y_t − y_s, from q = y_s (already computed). In the
 * log-ratio form (src/kernels/distillation.ts) when the row is regular: x = ((t − s) − ū)/T
 * centred at the q-mean ū, m = expm1(x), M = Σ q·m, y_t = q·eˣ/(1 + M), D = q·(m − M)/(1 + M).
 * A class the teacher masks has eˣ = 0, m = −1. Otherwise the max-shifted softmax of t, and
 * D = y_t − y_s.
 */
function softmaxDifference(s: Storage, t: Storage, base: number, C: number, invT: number, q: Float64Array, yt: Float64Array, D: Float64Array): void {
  const ms = rowMax(s, base, C, -1);
  const mt = rowMax(t, base, C, -1);
  let umin = Infinity;
  let umax = -Infinity;
  let masksOk = true;
  for (let j = 0; j < C; j++) {
    const u = t[base + j]! - s[base + j]!;
    if (u - u === 0) {
      if (u < umin) umin = u;
      if (u > umax) umax = u;
    } else if (t[base + j]! !== -Infinity) masksOk = false;
  }
  if (masksOk && ms - ms === 0 && mt - mt === 0 && (umax - umin) * invT <= SPREAD_64) {
    let Su = 0;
    let Sq = 0;
    for (let j = 0; j < C; j++) {
      const tj = t[base + j]!;
      if (tj !== -Infinity) {
        Su += q[base + j]! * (tj - s[base + j]!);
        Sq += q[base + j]!;
      }
    }
    const ubar = Sq > 0 ? Su / Sq : umax;
    let M = 0;
    for (let j = 0; j < C; j++) {
      const tj = t[base + j]!;
      const m = tj === -Infinity ? -1 : Math.expm1(centred(tj, s[base + j]!, ubar) * invT);
      D[base + j] = m;
      M += q[base + j]! * m;
    }
    for (let j = 0; j < C; j++) {
      const m = D[base + j]!;
      const qj = q[base + j]!;
      yt[base + j] = (qj * (1 + m)) / (1 + M);
      D[base + j] = (qj * (m - M)) / (1 + M);
    }
    return;
  }
  let S = 0;
  for (let j = 0; j < C; j++) {
    const e = Math.exp((t[base + j]! - mt) * invT);
    yt[base + j] = e;
    S += e;
  }
  for (let j = 0; j < C; j++) {
    yt[base + j] = yt[base + j]! / S;
    D[base + j] = yt[base + j]! - q[base + j]!;
  }
}

/**
 * 1 − ρ(a, a + D̃) for the strided vectors a, d of `len` entries from `offset` by `stride`
 * (centred along them first when `centre`), and ∂ρ/∂a into ga, ∂ρ/∂b into gb (b = a + D̃),
 * indices 0 … len − 1. See the kernel's comment, item 3.
 */
function correlation(
  A: Float64Array, Dm: Float64Array, offset: number, stride: number, len: number, centre: boolean, eps: number,
  ga: Float64Array, gb: Float64Array,
): number {
  let ma = 0;
  let md = 0;
  if (centre) {
    for (let k = 0; k < len; k++) {
      ma += A[offset + k * stride]!;
      md += Dm[offset + k * stride]!;
    }
    ma /= len;
    md /= len;
  }
  let aa = 0;
  let bb = 0;
  let ad = 0;
  let dd = 0;
  for (let k = 0; k < len; k++) {
    const av = A[offset + k * stride]! - ma;
    const dv = Dm[offset + k * stride]! - md;
    const bv = av + dv;
    ga[k] = av;
    gb[k] = dv;
    aa += av * av;
    bb += bv * bv;
    ad += av * dv;
    dd += dv * dv;
  }
  const Na = Math.sqrt(aa);
  const Nb = Math.sqrt(bb);
  if (Na > eps && Nb > eps) {
    const dN = (2 * ad + dd) / (Na + Nb);
    const k1 = 1 / (Na * Nb);
    let ww = 0;
    for (let k = 0; k < len; k++) {
      const w = (ga[k]! * dN - Na * gb[k]!) * k1;
      ww += w * w;
      gb[k] = w; // keep w; a stays in ga
    }
    const om = ww / 2;
    for (let k = 0; k < len; k++) {
      const av = ga[k]!;
      const w = gb[k]!;
      const ahat = av / Na;
      // b̂ = â − w.
      ga[k] = (om * ahat - w) / Na;
      gb[k] = (w + om * (ahat - w)) / Nb;
    }
    return om;
  }
  // The guard is active on at least one side (or a norm is NaN).
  const Pa = Math.max(Na, eps);
  const Pb = Math.max(Nb, eps);
  let ab = 0;
  for (let k = 0; k < len; k++) ab += ga[k]! * (ga[k]! + gb[k]!);
  const rho = ab / (Pa * Pb);
  const live = Na === Na && Nb === Nb;
  for (let k = 0; k < len; k++) {
    const av = ga[k]!;
    const bv = av + gb[k]!;
    ga[k] = live ? bv / (Pa * Pb) - (Na > eps ? (rho * av) / (Na * Na) : 0) : NaN;
    gb[k] = live ? av / (Pa * Pb) - (Nb > eps ? (rho * bv) / (Nb * Nb) : 0) : NaN;
  }
  return 1 - rho;
}
