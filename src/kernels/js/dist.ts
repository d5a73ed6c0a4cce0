import type { Storage } from "../../tensor/dtype.js";
import { softmaxDifference } from "./kd-rows.js";

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
  const b = new Float64Array(n); // Ỹ_t
  const d = new Float64Array(n); // D = Y_t − Y_s
  const invT = 1 / T;
  for (let r = 0; r < B; r++) {
    centredSoftmax(s, r * C, C, invT, ys, a);
    centredSoftmax(t, r * C, C, invT, yt, b);
    softmaxDifference(s, t, r * C, C, -1, invT, ys, r * C, d, r * C);
  }
  const needS = dS !== null;
  const needT = dT !== null;
  const Gs = needS ? new Float64Array(n) : null;
  const Gt = needT ? new Float64Array(n) : null;
  const T2 = T * T;
  const ga = new Float64Array(Math.max(B, C));
  const gb = new Float64Array(Math.max(B, C));
  const gd = new Float64Array(Math.max(B, C));
  let total = 0;
  if (beta > 0) {
    let sum = 0;
    for (let r = 0; r < B; r++) {
      sum += correlation(a, b, d, r * C, 1, C, false, eps, ga, gb, gd);
      const k = (-T2 * beta) / B;
      for (let j = 0; j < C; j++) {
        if (Gs) Gs[r * C + j] = k * ga[j]!;
        if (Gt) Gt[r * C + j] = k * gb[j]!;
      }
    }
    total += (T2 * beta * sum) / B;
  }
  if (gamma > 0) {
    const k = (-T2 * gamma) / C;
    total += (T2 * gamma * columnCorrelations(ys, a, yt, b, d, B, C, eps, k, beta > 0, Gs, Gt)) / C;
  }
  // Through the softmax: dx = (1/T)·y ⊙ (G − ⟨G, y⟩) per row.
  if (dS && Gs) softmaxBackward(ys, Gs, B, C, invT, beta > 0 || gamma > 0, dS);
  if (dT && Gt) softmaxBackward(yt, Gt, B, C, invT, beta > 0 || gamma > 0, dT);
  return total;
}

/**
 * Σ_j (1 − ρ_j) over the columns (the intra-class relation), adding k·∂ρ_j/∂a into Gs and
 * k·∂ρ_j/∂b into Gt (or setting them, when `accumulate` is false). The same arithmetic as
 * `correlation` (centre, norms, the close-pair form or the direct one, the guard), organised
 * in row-major passes with one accumulator per column, so that no pass walks a column of the
 * row-major arrays (a stride of C between reads).
 *
 * A column is centred over the batch from Y or from Ỹ = Y − 1/C (the same centred values in
 * exact arithmetic), whichever is smaller in size: centring cancels down to the column's
 * spread, so its error is ε times the size of what is centred.
 */
function columnCorrelations(
  ys: Float64Array, a: Float64Array, yt: Float64Array, b: Float64Array, d: Float64Array, B: number, C: number, eps: number,
  k: number, accumulate: boolean, Gs: Float64Array | null, Gt: Float64Array | null,
): number {
  const maxYs = new Float64Array(C);
  const maxA = new Float64Array(C);
  const maxYt = new Float64Array(C);
  const maxB = new Float64Array(C);
  for (let r = 0; r < B; r++) {
    const o = r * C;
    for (let j = 0; j < C; j++) {
      maxYs[j] = Math.max(maxYs[j]!, Math.abs(ys[o + j]!));
      maxA[j] = Math.max(maxA[j]!, Math.abs(a[o + j]!));
      maxYt[j] = Math.max(maxYt[j]!, Math.abs(yt[o + j]!));
      maxB[j] = Math.max(maxB[j]!, Math.abs(b[o + j]!));
    }
  }
  // The source of each column (Y when no larger than Ỹ), copied so that the passes below
  // read plain arrays: xa, xb the sources, xd = D; each then centred in place.
  const n = B * C;
  const xa = new Float64Array(n);
  const xb = new Float64Array(n);
  const xd = new Float64Array(n);
  const ma = new Float64Array(C);
  const mb = new Float64Array(C);
  const md = new Float64Array(C);
  for (let r = 0; r < B; r++) {
    const o = r * C;
    for (let j = 0; j < C; j++) {
      // (NaN compares false and takes Ỹ: NaN either way.)
      const va = maxYs[j]! <= maxA[j]! ? ys[o + j]! : a[o + j]!;
      const vb = maxYt[j]! <= maxB[j]! ? yt[o + j]! : b[o + j]!;
      const vd = d[o + j]!;
      xa[o + j] = va;
      xb[o + j] = vb;
      xd[o + j] = vd;
      ma[j] = ma[j]! + va;
      mb[j] = mb[j]! + vb;
      md[j] = md[j]! + vd;
    }
  }
  for (let j = 0; j < C; j++) {
    ma[j] = ma[j]! / B;
    mb[j] = mb[j]! / B;
    md[j] = md[j]! / B;
  }
  // Centre, and the centred sums ‖ã‖², ‖b̃‖², ⟨ã, b̃⟩, ⟨ã, D̃⟩, ‖D̃‖².
  const aa = new Float64Array(C);
  const bb = new Float64Array(C);
  const ab = new Float64Array(C);
  const ad = new Float64Array(C);
  const dd = new Float64Array(C);
  for (let r = 0; r < B; r++) {
    const o = r * C;
    for (let j = 0; j < C; j++) {
      const x = xa[o + j]! - ma[j]!;
      const y = xb[o + j]! - mb[j]!;
      const z = xd[o + j]! - md[j]!;
      xa[o + j] = x;
      xb[o + j] = y;
      xd[o + j] = z;
      aa[j] = aa[j]! + x * x;
      bb[j] = bb[j]! + y * y;
      ab[j] = ab[j]! + x * y;
      ad[j] = ad[j]! + x * z;
      dd[j] = dd[j]! + z * z;
    }
  }
  // Per column: N_a, N_b (the close form's N_a + δN when close), and the form: 0 guarded,
  // 1 close (w from D̃), 2 far (w from b̃).
  const Na = new Float64Array(C);
  const Nb = new Float64Array(C);
  const dN = new Float64Array(C);
  const form = new Uint8Array(C);
  for (let j = 0; j < C; j++) {
    const na = Math.sqrt(aa[j]!);
    let nb = Math.sqrt(bb[j]!);
    const close = na > eps && Math.sqrt(dd[j]!) <= na / 2;
    if (close) {
      dN[j] = (2 * ad[j]! + dd[j]!) / (na + nb);
      nb = na + dN[j]!;
    }
    Na[j] = na;
    Nb[j] = nb;
    form[j] = na > eps && nb > eps ? (close ? 1 : 2) : 0;
  }
  // w = â − b̂ into xd (D̃ is not needed after it), and ‖w‖² per unguarded column.
  const ww = new Float64Array(C);
  for (let r = 0; r < B; r++) {
    const o = r * C;
    for (let j = 0; j < C; j++) {
      const f = form[j]!;
      if (f === 0) continue;
      const x = xa[o + j]!;
      const v = f === 1 ? (x * dN[j]! - Na[j]! * xd[o + j]!) / (Na[j]! * Nb[j]!) : x / Na[j]! - xb[o + j]! / Nb[j]!;
      xd[o + j] = v;
      ww[j] = ww[j]! + v * v;
    }
  }
  // 1 − ρ per column; for a guarded one ρ = ⟨ã, b̃⟩/(max(N_a, ε)·max(N_b, ε)).
  const om = new Float64Array(C);
  const rho = new Float64Array(C);
  let sum = 0;
  for (let j = 0; j < C; j++) {
    if (form[j] === 0) {
      rho[j] = ab[j]! / (Math.max(Na[j]!, eps) * Math.max(Nb[j]!, eps));
      om[j] = 1 - rho[j]!;
    } else om[j] = ww[j]! / 2;
    sum += om[j]!;
  }
  // The gradients, entry by entry.
  for (let r = 0; r < B; r++) {
    const o = r * C;
    for (let j = 0; j < C; j++) {
      const x = xa[o + j]!;
      const na = Na[j]!;
      const nb = Nb[j]!;
      let ga: number;
      let gb: number;
      if (form[j] === 0) {
        const y = xb[o + j]!;
        const P = Math.max(na, eps) * Math.max(nb, eps);
        const live = na === na && nb === nb;
        ga = live ? y / P - (na > eps ? (rho[j]! * x) / (na * na) : 0) : NaN;
        gb = live ? x / P - (nb > eps ? (rho[j]! * y) / (nb * nb) : 0) : NaN;
      } else {
        // ∂ρ/∂a = ((1 − ρ)·â − w)/N_a, ∂ρ/∂b = (w + (1 − ρ)·b̂)/N_b, b̂ = â − w.
        const ahat = x / na;
        const v = xd[o + j]!;
        ga = (om[j]! * ahat - v) / na;
        gb = (v + om[j]! * (ahat - v)) / nb;
      }
      if (Gs) Gs[o + j] = (accumulate ? Gs[o + j]! : 0) + k * ga;
      if (Gt) Gt[o + j] = (accumulate ? Gt[o + j]! : 0) + k * gb;
    }
  }
  return sum;
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
 * 1 − ρ(a, b) for the strided vectors a = A, b = Bt of `len` entries from `offset` by
 * `stride` (centred along them first when `centre`; D̃ = Dm centred likewise is b − a,
 * accurate), with ∂ρ/∂a into ga and ∂ρ/∂b into gb (indices 0 … len − 1). See the kernel's
 * comment, item 3. The difference D̃ is used where it is the accurate one: when
 * ‖D̃‖ ≤ N_a/2 (then N_b ≥ N_a/2, and b = a + D̃ loses nothing); otherwise b's own centred
 * values are, and w = â − b̂ does not cancel by more than the inputs' own condition.
 */
function correlation(
  A: Float64Array, Bt: Float64Array, Dm: Float64Array, offset: number, stride: number, len: number, centre: boolean, eps: number,
  ga: Float64Array, gb: Float64Array, gd: Float64Array,
): number {
  let ma = 0;
  let mb = 0;
  let md = 0;
  if (centre) {
    for (let k = 0; k < len; k++) {
      ma += A[offset + k * stride]!;
      mb += Bt[offset + k * stride]!;
      md += Dm[offset + k * stride]!;
    }
    ma /= len;
    mb /= len;
    md /= len;
  }
  let aa = 0;
  let bb = 0;
  let ab = 0;
  let ad = 0;
  let dd = 0;
  for (let k = 0; k < len; k++) {
    const av = A[offset + k * stride]! - ma;
    const bv = Bt[offset + k * stride]! - mb;
    const dv = Dm[offset + k * stride]! - md;
    ga[k] = av;
    gb[k] = bv;
    gd[k] = dv;
    aa += av * av;
    bb += bv * bv;
    ab += av * bv;
    ad += av * dv;
    dd += dv * dv;
  }
  const Na = Math.sqrt(aa);
  let Nb = Math.sqrt(bb);
  // (Only for an unguarded a: at N_a = 0 the formula below would be 0/0.)
  const close = Na > eps && Math.sqrt(dd) <= Na / 2;
  // Close: N_b − N_a = (2⟨a, D̃⟩ + ‖D̃‖²)/(N_a + N_b) with N_b ≥ N_a/2, formed from D̃.
  let dN = 0;
  if (close) {
    dN = (2 * ad + dd) / (Na + Nb);
    Nb = Na + dN;
  }
  if (Na > eps && Nb > eps) {
    let ww = 0;
    for (let k = 0; k < len; k++) {
      // w = â − b̂: from D̃ when close, (a·(N_b − N_a) − N_a·D̃)/(N_a·N_b); else directly.
      const w = close ? (ga[k]! * dN - Na * gd[k]!) / (Na * Nb) : ga[k]! / Na - gb[k]! / Nb;
      ww += w * w;
      gd[k] = w;
    }
    const om = ww / 2;
    for (let k = 0; k < len; k++) {
      const ahat = ga[k]! / Na;
      const w = gd[k]!;
      // ∂ρ/∂a = ((1 − ρ)·â − w)/N_a and ∂ρ/∂b = (w + (1 − ρ)·b̂)/N_b, with b̂ = â − w.
      ga[k] = (om * ahat - w) / Na;
      gb[k] = (w + om * (ahat - w)) / Nb;
    }
    return om;
  }
  // The guard is active on at least one side (or a norm is NaN): the direct formula.
  const Pa = Math.max(Na, eps);
  const Pb = Math.max(Nb, eps);
  const rho = ab / (Pa * Pb);
  const live = Na === Na && Nb === Nb;
  for (let k = 0; k < len; k++) {
    const av = ga[k]!;
    const bv = gb[k]!;
    ga[k] = live ? bv / (Pa * Pb) - (Na > eps ? (rho * av) / (Na * Na) : 0) : NaN;
    gb[k] = live ? av / (Pa * Pb) - (Nb > eps ? (rho * bv) / (Nb * Nb) : 0) : NaN;
  }
  return 1 - rho;
}
