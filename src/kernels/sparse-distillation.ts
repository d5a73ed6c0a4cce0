import { phiSeries } from "./distillation.js";

type Num = { [i: number]: number; readonly length: number };

/** What one call of the sparse distillation kernel computes (kernels/table.ts, `sparseDistillation`). */
export interface SparseDistillationCall {
  /** T, in [1e-6, 1e6]. */
  readonly temperature: number;
  /** α, the weight of the soft term, in [0, 1]. */
  readonly alpha: number;
  /** Whether the soft term is multiplied by T² (else by 1). */
  readonly scaleT2: boolean;
  /** The tail outcome (k + 1 outcomes) or the renormalisation over the k listed classes. */
  readonly tail: boolean;
  /** One label per row (in [0, classes) or ignoreIndex), or null: no hard term, every row counts. */
  readonly labels: Int32Array | null;
  readonly ignoreIndex: number;
  /** The gradient rows are multiplied by this: 1/(counted rows) for 'mean', 1 for 'sum' and 'none'. */
  readonly scale: number;
}

/**
 * The sparse distillation loss of `rows` rows: student logits s [rows, C] and, per row, the
 * teacher's top-k classes `indices` [rows, k] (int32, distinct, in [0, C); checked first by
 * `topKCheck`) with their log-probabilities log P = `logprobs` [rows, k]. With q = softmax(s/T) over
 * all C classes, P_j the listed probabilities and Q_j = q at the j-th listed class, each counted row's loss is
 *
 *   L_r = α·T^κ·D + (1 − α)·CE,   CE = −log softmax(s)_y (T = 1),   κ = 2 (scaleT2) or 0,
 *
 * written to loss[r] (0 at a row whose label is ignoreIndex), and the gradients of
 * Σ_r scale·L_r, when asked (dS, dL not null; zero rows where ignored). D is
 *
 *   tail:  KL over the k + 1 outcomes (the listed classes, and "the rest"):
 *          P_rest = 1 − Σ P_j (a value that rounds below 0 counts as 0), Q_rest = Σ_{c unlisted} q_c,
 *          D = Σ_j P_j log(P_j/Q_j) + P_rest·log(P_rest/Q_rest)  (0·log 0 = 0). With k = C
 *          nothing is unlisted and there is no tail outcome: D = Σ_j P_j log(P_j/Q_j).
 *   renormalised (tail false): KL(P̂ ‖ Q̂), P̂ = P/ΣP and Q̂ = Q/ΣQ over the k listed classes.
 *
 * Gradients (src/losses/sparse-distillation-loss.ts derives them), per counted row, times scale:
 *
 *   dS = α·T^{κ−1}·(q·P_tot − p̃) + (1 − α)(softmax(s) − onehot(y)),
 *        p̃ = P_j at the j-th listed class and P_rest·q_c/Q_rest at an unlisted class c,
 *        P_tot = 1 while the tail outcome has mass, else Σ P_j;
 *        (renormalised: α·T^{κ−1}·(Q̂ − P̂) at the listed classes, 0 elsewhere)
 *   dL_j = α·T^κ·P_j·(x_j − x_rest)  while the tail outcome has mass, else α·T^κ·P_j·(x_j + 1),
 *        x_j = log(P_j/Q_j), x_rest = log(P_rest/Q_rest);
 *        (renormalised: α·T^κ·P̂_j·(x̂_j − D), x̂_j = log(P̂_j/Q̂_j))
 *   and 0 where P_j = 0.
 *
 * How D is formed (docs/lm-distillation.md, "Accuracy"). Over the outcomes o (k or k + 1 of
 * them), with x_o = log P_o − log Q_o formed in log space, D = Σ_o Q_o·G(x_o) + (ΣP − 1), where
 * G(x) = 1 + (x − 1)eˣ ≥ 0: since Q·G(x) = Q + P·(x − 1), the sum is ΣQ + Σ P·x − ΣP, and ΣQ = 1.
 * ΣP − 1 is 0 while the tail outcome has mass (P_rest = 1 − Σ P_j), else expm1(lse(log P)). No clamp:
 * D is a sum of terms ≥ 0 (and of ΣP − 1 > 0 where the tail is clamped), except with k = C and
 * Σ P_j < 1, where Σ P·log(P/Q) is not a KL and may be negative (it is what it is). Each term
 * is ≥ 0 and formed to a few ulps (G by its series near 0, where 1 + (x − 1)eˣ would cancel),
 * so nothing cancels at first order; an error σ common to every log Q_o (the student's
 * log-sum-exp) changes the sum by σ²/2 only, and an error τ_o in one x_o by about
 * τ_o·(|P_o − Q_o| + P_o|x_o|): the result is accurate relative to D, down to D of order
 * ε·(the log magnitudes)·√D. The direct Σ P·x instead keeps an absolute error of ε·|log q|.
 *
 * q_rest is never 1 − Σ q: it is the log-sum-exp of the unlisted classes, each exponential taken
 * from their own maximum (so it neither cancels nor underflows when the listed classes hold
 * nearly all the student's mass, at logits of ±1e4 say), and the unlisted classes are visited as
 * the segments between the sorted indices. Sums of exponentials are 1 (a maximum's) plus a
 * tail summed apart, whose log is log1p(tail) (a tail far below 1 survives). P_rest is
 * −expm1(lse(log P)), lse(log P) = max log P + log1p(Σ_{others} exp(log P − max log P)).
 *
 * Exponentials: Math.exp for float64 student logits; for float32 ones a table and a degree-6
 * polynomial (expGap, a relative error below 4ε, ε = 2⁻⁵³), with gaps below −150 taken as 0:
 * every result is rounded to float32, where such a term (below e⁻¹⁵⁰, in a sum with a term 1)
 * cannot show. Everything else is float64 arithmetic, whatever the storage.
 *
 * Non-finite inputs (docs/non-finite.md): a student row holding NaN or +∞, or all −∞, has no
 * distribution: its loss and gradients are NaN. −∞ masks a class: an outcome with P = 0 adds
 * nothing and gets dL = 0; teacher mass on an outcome the student masks (Q = 0) makes D = +∞.
 * NaN in the logprobs makes the row NaN. Terms of weight 0 are not evaluated: with α = 0 the
 * logprobs are not read (dL = 0), with α = 1 or no labels there is no cross-entropy.
 *
 * The unlisted classes' exponentials are kept in the row of dS (no scratch: the gradient is formed
 * there in place); `scratch` holds C float64 values (the cross-entropy's exponentials, with labels)
 * and `sorted` k int32 (a row's sorted indices), reused for every row.
 */
export function sparseDistillationKernel(
  s: Num, indices: Int32Array, logprobs: Num, rows: number, C: number, k: number, call: SparseDistillationCall,
  loss: Float64Array, dS: Num | null, dL: Num | null,
): void {
  const { temperature: T, alpha, tail, labels, ignoreIndex } = call;
  const soft = alpha > 0;
  const hard = labels !== null && alpha < 1;
  const fast = s instanceof Float32Array;
  const scratch = new Float64Array(hard ? C : 0);
  const kappa = call.scaleT2 ? T * T : 1;
  const row: Row = {
    T, invT: 1 / T, soft, hard, fast, alpha, aS: (alpha * kappa) / T, aL: alpha * kappa, h: 1 - alpha, scale: call.scale,
    e1: scratch, sorted: new Int32Array(k), C, k,
  };
  for (let r = 0; r < rows; r++) {
    const o = r * C;
    const ok = r * k;
    const y = labels === null ? -1 : labels[r]!;
    if (labels !== null && y === ignoreIndex) {
      loss[r] = 0;
      if (dS !== null) for (let c = 0; c < C; c++) dS[o + c] = 0;
      if (dL !== null) for (let j = 0; j < k; j++) dL[ok + j] = 0;
      continue;
    }
    let D = 0;
    if (!soft) ceRow(row, s, o, ok, y, dS, dL);
    else if (tail) D = tailRow(row, s, o, indices, ok, logprobs, y, dS, dL);
    else D = renormRow(row, s, o, indices, ok, logprobs, y, dS, dL);
    loss[r] = (soft ? alpha * kappa * D : 0) + (hard ? (1 - alpha) * rowCE : 0);
  }
}

interface Row {
  T: number;
  invT: number;
  soft: boolean;
  hard: boolean;
  /** float32 student logits: the table exponential. */
  fast: boolean;
  alpha: number;
  /** α·T^{κ−1}: the soft term's factor for the student gradient (∂/∂s = (1/T)·∂/∂(s/T)). */
  aS: number;
  /** α·T^κ: the soft term's factor for the logprobs gradient. */
  aL: number;
  /** 1 − α. */
  h: number;
  scale: number;
  /** exp(s − max s), the cross-entropy's, when T ≠ 1 (and the whole row's for the cross-entropy alone). */
  e1: Float64Array;
  sorted: Int32Array;
  C: number;
  k: number;
}

// What a row leaves for the caller and between passes (module variables: the passes are
// small functions, see kernels/distillation-f32.ts for why).
let rowCE = 0;
let restMax = 0;
let restAt = -1;
let restR = 0;
let restR1 = 0;

/**
 * lse = log Σ P_j over one row of logprobs: max log P + log1p(Σ_{j ≠ argmax} exp(log P_j − max log P)),
 * so that −expm1(lse), the tail's mass, keeps its accuracy when Σ P is near 1. −∞ when every
 * log P is −∞, NaN when one is NaN, +∞ when one is +∞ (refused earlier by topKCheck).
 */
export function logSumExpRow(lp: Num, o: number, k: number): number {
  let m = -Infinity;
  let at = -1;
  for (let j = 0; j < k; j++) {
    const v = lp[o + j]!;
    if (v > m || v !== v) {
      m = v;
      at = j;
    }
  }
  if (m !== m) return NaN;
  if (m === -Infinity || m === Infinity) return m;
  let R = 0;
  for (let j = 0; j < k; j++) if (j !== at) R += Math.exp(lp[o + j]! - m);
  return m + Math.log1p(R);
}

/** log(1 − eᵃ) for a ≤ 0, without cancellation at either end (Mächler's log1mexp). */
function log1mexp(a: number): number {
  return a > -Math.LN2 ? Math.log(-Math.expm1(a)) : Math.log1p(-Math.exp(a));
}

/**
 * One outcome's term Q·G(x) of D = Σ Q·G(x) + (ΣP − 1), G(x) = 1 + (x − 1)eˣ, x = log(P/Q).
 * For |x| ≤ 1, G = x·ζ − φ with φ = eˣ − 1 − x by its series and ζ = φ + x (`m` in the code) (a factor 2 of
 * cancellation at small x, 4 at x = −1); for x > 1, Q + P·(x − 1), two terms ≥ 0 (and no eˣ,
 * which may overflow where Q has underflowed); for x < −1, Q·(1 + (x − 1)eˣ), which cancels by
 * at most a factor 7 (at x = −1). P = 0 gives Q (G(−∞) = 1: 0·log 0 = 0), P > 0 = Q gives +∞.
 */
export function klTerm(P: number, Q: number, x: number): number {
  if (P === 0) return Q;
  if (x > 1) return Q + P * (x - 1);
  if (x >= -1) {
    const phi = phiSeries(x);
    return Q * (x * (phi + x) - phi);
  }
  return Q * (1 + (x - 1) * Math.exp(x));
}

/** A row with the tail outcome (tail: true; with k = C there is none), and the cross-entropy. Returns D. */
function tailRow(
  w: Row, s: Num, o: number, indices: Int32Array, ok: number, lp: Num, y: number, dS: Num | null, dL: Num | null,
): number {
  const { C, k, invT, T, sorted, e1, hard } = w;
  sortRow(indices, ok, k, sorted);
  // Pass 1: the largest unlisted logit (restMax, at restAt) and the largest listed one.
  findRestMax(s, o, sorted, k, C);
  const mr = restMax;
  let mt = -Infinity;
  let jt = -1;
  for (let j = 0; j < k; j++) {
    const v = s[o + indices[ok + j]!]!;
    if (v > mt || v !== v) {
      mt = v;
      jt = j;
    }
  }
  const m = mr >= mt || mr !== mr ? mr : mt;
  if (!(m - m === 0)) return nanRow(w, o, ok, dS, dL);
  const hasRest = k < C && mr > -Infinity;
  // Pass 2: the unlisted classes' exponentials from their own maximum (e, and e1 at T = 1 from
  // the row's maximum for the cross-entropy when T ≠ 1), summed without the maximum's 1.
  // The exponentials e_c are kept in the row of dS (rounded to its dtype: they only feed the
  // gradient, which the last pass forms there in place); the sums are taken before that rounding.
  const ce1 = hard && T !== 1;
  if (hasRest) {
    restExps(s, o, sorted, k, C, restAt, mr, invT, w.fast, dS);
    if (ce1) restExps1(s, o, sorted, k, C, restAt, m, w.fast, e1);
  } else {
    // No unlisted class (k = C), or every one masked (−∞): q is 0 there.
    if (k < C) {
      if (dS !== null) zeroRest(sorted, k, C, dS, o);
      if (ce1) zeroRest(sorted, k, C, e1, 0);
    }
    restR = 0;
    restR1 = 0;
  }
  const Rr = restR;
  const Sr = hasRest ? 1 + Rr : 0;
  const Er = hasRest ? Math.exp((mr - m) * invT) : 0;
  // λ = log Σ_all exp((s − m)/T) = log1p(everything but the maximum's 1).
  let Rtot = mr >= mt ? Rr : 0;
  if (mr < mt) Rtot += Sr * Er;
  let R1tot = ce1 ? restR1 : 0;
  if (ce1 && hasRest && mr < mt) R1tot += Math.exp(mr - m);
  for (let j = 0; j < k; j++) {
    const v = s[o + indices[ok + j]!]!;
    if (mr >= mt || j !== jt) {
      Rtot += Math.exp((v - m) * invT);
      if (ce1) R1tot += Math.exp(v - m);
    }
  }
  const lambda = Math.log1p(Rtot);
  const Z = 1 + Rtot;
  // q_c = e_c·κ at an unlisted class: κ = exp((m_r − m)/T − λ) = Q_rest/S_r.
  const kap = Er / Z;
  const Qrest = Sr * kap;
  const logQrest = hasRest ? (mr - m) * invT + Math.log1p(Rr) - lambda : -Infinity;
  // The teacher: lse(log P), the tail's mass, and which form applies.
  const lse = logSumExpRow(lp, ok, k);
  let Prest = k < C ? -Math.expm1(lse) : 0;
  if (Prest < 0) Prest = 0;
  // The tail outcome has mass: P_rest > 0 (a NaN lse makes the row NaN below).
  const active = Prest > 0;
  const Ptot = active ? 1 : Math.exp(lse);
  let D = 0;
  for (let j = 0; j < k; j++) {
    const lj = lp[ok + j]!;
    const a = (s[o + indices[ok + j]!]! - m) * invT;
    D += klTerm(Math.exp(lj), Math.exp(a) / Z, (lj - a) + lambda);
  }
  const xRest = active ? log1mexp(lse) - logQrest : 0;
  if (k < C) D += klTerm(Prest, Qrest, xRest);
  // ΣP − 1: 0 while the tail has mass, else Σ P − 1 (the tail rounded to 0, or k = C).
  if (!active) D += Math.expm1(lse);
  // The cross-entropy at T = 1: (m − s_y) + log Σ exp(s − m), never s_y − (m + log Σ).
  if (hard) rowCE = (m - s[o + y]!) + (ce1 ? Math.log1p(R1tot) : lambda);
  const S1 = ce1 ? 1 + R1tot : Z;
  if (dS !== null) {
    const { aS, h, scale } = w;
    // Unlisted classes: α·T^{κ−1}·e_c·(P_tot·κ − P_rest/S_r) + (1 − α)·σ_c, σ_c = e_c·κ (T = 1) or e1_c/S1.
    // (Where every unlisted class is masked, S_r = 0 and e = 0 there: the KL sends them nothing.)
    const W = aS * (Ptot * kap - (active && Sr > 0 ? Prest / Sr : 0));
    if (k < C) {
      if (!hard) restGrad(dS, o, sorted, k, C, W * scale);
      else if (!ce1) restGrad(dS, o, sorted, k, C, (W + h * kap) * scale);
      else restGradCE(dS, o, sorted, k, C, W * scale, e1, (h / S1) * scale);
    }
    for (let j = 0; j < k; j++) {
      const c = indices[ok + j]!;
      const a = (s[o + c]! - m) * invT;
      let g = aS * ((Math.exp(a) / Z) * Ptot - Math.exp(lp[ok + j]!));
      if (hard) g += h * ((ce1 ? Math.exp(s[o + c]! - m) : Math.exp(a)) / S1);
      dS[o + c] = g * scale;
    }
    if (hard) dS[o + y] = dS[o + y]! - h * scale;
  }
  if (dL !== null) {
    const f = w.aL * w.scale;
    for (let j = 0; j < k; j++) {
      const lj = lp[ok + j]!;
      const Pj = Math.exp(lj);
      let g = 0;
      if (Pj !== 0) {
        const x = (lj - (s[o + indices[ok + j]!]! - m) * invT) + lambda;
        g = f * Pj * (active ? x - xRest : x + 1);
      }
      dL[ok + j] = g;
    }
  }
  return D;
}

/** A renormalised row (tail: false, α > 0): the k listed classes only, and the cross-entropy over all. */
function renormRow(
  w: Row, s: Num, o: number, indices: Int32Array, ok: number, lp: Num, y: number, dS: Num | null, dL: Num | null,
): number {
  const { C, k, invT, hard } = w;
  let mt = -Infinity;
  let jt = -1;
  for (let j = 0; j < k; j++) {
    const v = s[o + indices[ok + j]!]!;
    if (v > mt || v !== v) {
      mt = v;
      jt = j;
    }
  }
  if (!(mt - mt === 0)) return nanRow(w, o, ok, dS, dL);
  let R = 0;
  for (let j = 0; j < k; j++) if (j !== jt) R += Math.exp((s[o + indices[ok + j]!]! - mt) * invT);
  const lam = Math.log1p(R);
  const Z = 1 + R;
  const lse = logSumExpRow(lp, ok, k);
  let D = 0;
  for (let j = 0; j < k; j++) {
    const a = (s[o + indices[ok + j]!]! - mt) * invT;
    const lpj = lp[ok + j]! - lse;
    D += klTerm(Math.exp(lpj), Math.exp(a) / Z, (lpj - a) + lam);
  }
  if (lse !== lse || lse === -Infinity) D = NaN;
  // The cross-entropy needs the whole row at T = 1.
  let m = 0;
  let S1 = 1;
  if (hard) {
    m = fullRowExps(w, s, o);
    if (m - m === 0) {
      S1 = 1 + restR1;
      rowCE = (m - s[o + y]!) + Math.log1p(restR1);
    } else rowCE = NaN;
  }
  if (dS !== null) {
    const { aS, h, scale, e1 } = w;
    if (!hard) for (let c = 0; c < C; c++) dS[o + c] = 0;
    else if (m - m === 0) for (let c = 0; c < C; c++) dS[o + c] = ((h * e1[c]!) / S1) * scale;
    else for (let c = 0; c < C; c++) dS[o + c] = NaN;
    for (let j = 0; j < k; j++) {
      const c = indices[ok + j]!;
      const a = (s[o + c]! - mt) * invT;
      dS[o + c] = dS[o + c]! + aS * (Math.exp(a) / Z - Math.exp(lp[ok + j]! - lse)) * scale;
    }
    if (hard) dS[o + y] = dS[o + y]! - h * scale;
  }
  if (dL !== null) {
    const f = w.aL * w.scale;
    for (let j = 0; j < k; j++) {
      const lpj = lp[ok + j]! - lse;
      const Pj = Math.exp(lpj);
      let g = 0;
      if (Pj !== 0) {
        const a = (s[o + indices[ok + j]!]! - mt) * invT;
        g = f * Pj * ((lpj - a) + lam - D);
      }
      dL[ok + j] = g;
    }
  }
  return D;
}

/** A row of a call with α = 0: the cross-entropy alone (the logprobs are not read: dL = 0). */
function ceRow(w: Row, s: Num, o: number, ok: number, y: number, dS: Num | null, dL: Num | null): void {
  const { C, k, h, scale, e1 } = w;
  const m = fullRowExps(w, s, o);
  const finite = m - m === 0;
  const S1 = 1 + restR1;
  rowCE = finite ? (m - s[o + y]!) + Math.log1p(restR1) : NaN;
  if (dS !== null) {
    for (let c = 0; c < C; c++) dS[o + c] = finite ? ((h * e1[c]!) / S1) * scale : NaN;
    dS[o + y] = dS[o + y]! - h * scale;
  }
  if (dL !== null) for (let j = 0; j < k; j++) dL[ok + j] = 0;
}

/** A row with no distribution (NaN, +∞, or every class at −∞): NaN loss and gradients. */
function nanRow(w: Row, o: number, ok: number, dS: Num | null, dL: Num | null): number {
  rowCE = NaN;
  if (dS !== null) for (let c = 0; c < w.C; c++) dS[o + c] = NaN;
  if (dL !== null) for (let j = 0; j < w.k; j++) dL[ok + j] = w.soft ? NaN : 0;
  return NaN;
}

/** sorted = the row's k indices in ascending order (insertion sort for small k, else the typed-array sort). */
function sortRow(indices: Int32Array, ok: number, k: number, sorted: Int32Array): void {
  if (k > 32) {
    sorted.set(indices.subarray(ok, ok + k));
    sorted.sort();
    return;
  }
  for (let j = 0; j < k; j++) {
    const v = indices[ok + j]!;
    let i = j - 1;
    while (i >= 0 && sorted[i]! > v) {
      sorted[i + 1] = sorted[i]!;
      i--;
    }
    sorted[i + 1] = v;
  }
}

// The unlisted classes are the segments [start, end) between consecutive sorted indices:
// [0, sorted[0]), (sorted[0], sorted[1]), …, (sorted[k − 1], C).

/**
 * restMax, restAt: the largest unlisted logit (−∞ if none; NaN if one is NaN) and its first
 * position (−1 if none). The maximum runs in four lanes of Math.max (which lets NaN through, and
 * tests no branch per class); the position is looked for afterwards, up to the first hit.
 */
function findRestMax(s: Num, o: number, sorted: Int32Array, k: number, C: number): void {
  let m = -Infinity;
  let start = 0;
  for (let p = 0; p <= k; p++) {
    const end = p < k ? sorted[p]! : C;
    if (end > start) m = Math.max(m, segmentMax(s, o + start, o + end));
    start = end + 1;
  }
  restMax = m;
  restAt = -1;
  if (m === -Infinity) return;
  start = 0;
  for (let p = 0; p <= k && restAt < 0; p++) {
    const end = p < k ? sorted[p]! : C;
    for (let c = start; c < end; c++) {
      const v = s[o + c]!;
      if (v === m || (m !== m && v !== v)) {
        restAt = c;
        break;
      }
    }
    start = end + 1;
  }
}

/** max of x[from … to) (NaN if one is NaN), in four lanes. */
function segmentMax(x: Num, from: number, to: number): number {
  let m0 = -Infinity;
  let m1 = -Infinity;
  let m2 = -Infinity;
  let m3 = -Infinity;
  let i = from;
  for (; i + 3 < to; i += 4) {
    m0 = Math.max(m0, x[i]!);
    m1 = Math.max(m1, x[i + 1]!);
    m2 = Math.max(m2, x[i + 2]!);
    m3 = Math.max(m3, x[i + 3]!);
  }
  for (; i < to; i++) m0 = Math.max(m0, x[i]!);
  return Math.max(m0, m1, m2, m3);
}

// 2^{n/16} for −16·217 ≤ n ≤ 0: exact powers of two times the sixteen values 2^{j/16}, each
// rounded once (a relative ε/2).
const N_MIN = -16 * 217;
const POW = (() => {
  const frac = Array.from({ length: 16 }, (_, j) => Math.pow(2, j / 16));
  const table = new Float64Array(1 - N_MIN);
  for (let n = N_MIN; n <= 0; n++) table[n - N_MIN] = frac[n & 15]! * 2 ** (n >> 4);
  return table;
})();
const INV_LN2_16 = 16 / Math.LN2;
// ln 2/16 as a head of 24 bits (n·head is exact for |n| < 2²⁹) and a tail.
const LN2_16_HI = Math.fround(Math.LN2 / 16);
const LN2_16_LO = Math.LN2 / 16 - LN2_16_HI;
// y + 1.5·2⁵² − 1.5·2⁵² rounds y to an integer (ties to even) for |y| < 2⁵¹.
const ROUND = 6755399441055744;

/**
 * eʸ for y ≤ 0 in float64 by the table: y = n·ln 2/16 + r, |r| ≤ ln 2/32, eʸ = 2^{n/16}·eʳ with eʳ to
 * r⁶ (truncation below r⁷/7! < 5e-16 relative, so a relative error below 4ε in all, the table's
 * rounding included). y < −150 gives 0 (used only where the results are float32: see the kernel).
 * NaN gives NaN.
 */
export function expGap(y: number): number {
  if (y < -150) return 0;
  const n = y * INV_LN2_16 + ROUND - ROUND;
  const r = (y - n * LN2_16_HI) - n * LN2_16_LO;
  const p = 1 + r * (1 + r * (1 / 2 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (1 / 720))))));
  return POW[(n - N_MIN) | 0]! * p;
}

/**
 * restR = Σ_{c unlisted, c ≠ at} e_c, e_c = exp((s_c − m_r)/T) (at, the first maximum, has e = 1),
 * and, when d is not null, d[o + c] = e_c at every unlisted class (rounded to d's dtype). The sums
 * run over blocks of BLOCK classes, each block's sum then added to the total: a rounding error of
 * at most (BLOCK + C/BLOCK + k)·ε relative instead of C·ε (about 900ε instead of 152,064ε for a
 * vocabulary of 152,064). The maximum's 1 is in the total; when the rest is below 1 (R < 2),
 * R − 1 would round part of it away, and the sum is formed again without it.
 */
function restExps(s: Num, o: number, sorted: Int32Array, k: number, C: number, at: number, mr: number, invT: number, fast: boolean, d: Num | null): void {
  let R = 0;
  let start = 0;
  for (let p = 0; p <= k; p++) {
    const end = p < k ? sorted[p]! : C;
    R += segment(s, o, start, end, mr, invT, fast, d);
    start = end + 1;
  }
  if (R >= 2) {
    restR = R - 1;
    return;
  }
  // The sum again, without the maximum: [start, at) and (at, end) in its segment.
  let sum = 0;
  start = 0;
  for (let p = 0; p <= k; p++) {
    const end = p < k ? sorted[p]! : C;
    if (at >= start && at < end) sum += segment(s, o, start, at, mr, invT, fast, null) + segment(s, o, at + 1, end, mr, invT, fast, null);
    else sum += segment(s, o, start, end, mr, invT, fast, null);
    start = end + 1;
  }
  restR = sum;
}

/** The block of the blocked sums (restExps). */
const BLOCK = 256;

/**
 * Σ_{c ∈ [from, to)} exp((s_c − m)·invT) in blocks (expGap for float32 logits, else Math.exp), each
 * kept in d[dOff + c] when d is not null. One loop per case, so that no loop tests its case.
 */
function segment(s: Num, o: number, from: number, to: number, m: number, invT: number, fast: boolean, d: Num | null, dOff = o): number {
  let R = 0;
  for (let b = from; b < to; b += BLOCK) {
    const stop = b + BLOCK < to ? b + BLOCK : to;
    let part = 0;
    if (fast && d !== null) {
      for (let c = b; c < stop; c++) {
        const a = expGap((s[o + c]! - m) * invT);
        d[dOff + c] = a;
        part += a;
      }
    } else if (fast) for (let c = b; c < stop; c++) part += expGap((s[o + c]! - m) * invT);
    else if (d !== null) {
      for (let c = b; c < stop; c++) {
        const a = Math.exp((s[o + c]! - m) * invT);
        d[dOff + c] = a;
        part += a;
      }
    } else for (let c = b; c < stop; c++) part += Math.exp((s[o + c]! - m) * invT);
    R += part;
  }
  return R;
}

/**
 * The cross-entropy's exponentials at the unlisted classes (T ≠ 1): e1_c = exp(s_c − m) into e1
 * (float64, at e1[c]), restR1 = their sum without `at` (subtracted where that loses at most a bit,
 * else summed again from e1).
 */
function restExps1(s: Num, o: number, sorted: Int32Array, k: number, C: number, at: number, m: number, fast: boolean, e1: Float64Array): void {
  let R1 = 0;
  let start = 0;
  for (let p = 0; p <= k; p++) {
    const end = p < k ? sorted[p]! : C;
    R1 += segment(s, o, start, end, m, 1, fast, e1, 0);
    start = end + 1;
  }
  if (2 * e1[at]! <= R1) {
    restR1 = R1 - e1[at]!;
    return;
  }
  let sum = 0;
  start = 0;
  for (let p = 0; p <= k; p++) {
    const end = p < k ? sorted[p]! : C;
    for (let c = start; c < end; c++) if (c !== at) sum += e1[c]!;
    start = end + 1;
  }
  restR1 = sum;
}

/** x[o + c] = 0 at every unlisted class. */
function zeroRest(sorted: Int32Array, k: number, C: number, x: Num, o: number): void {
  let start = 0;
  for (let p = 0; p <= k; p++) {
    const end = p < k ? sorted[p]! : C;
    for (let c = start; c < end; c++) x[o + c] = 0;
    start = end + 1;
  }
}

/** dS_c = e_c·f at every unlisted class, e_c already in dS. */
function restGrad(dS: Num, o: number, sorted: Int32Array, k: number, C: number, f: number): void {
  let start = 0;
  for (let p = 0; p <= k; p++) {
    const end = p < k ? sorted[p]! : C;
    for (let c = o + start; c < o + end; c++) dS[c] = dS[c]! * f;
    start = end + 1;
  }
}

/** dS_c = e_c·f + e1_c·f1 at every unlisted class, e_c already in dS. */
function restGradCE(dS: Num, o: number, sorted: Int32Array, k: number, C: number, f: number, e1: Float64Array, f1: number): void {
  let start = 0;
  for (let p = 0; p <= k; p++) {
    const end = p < k ? sorted[p]! : C;
    for (let c = start; c < end; c++) dS[o + c] = dS[o + c]! * f + e1[c]! * f1;
    start = end + 1;
  }
}

/**
 * e1_c = exp(s_c − m) over the whole row (m = max s, returned; NaN or ±∞ returned as they are),
 * restR1 = their sum without the maximum's 1 (the first maximum), in blocks (restExps).
 */
function fullRowExps(w: Row, s: Num, o: number): number {
  const { C, e1 } = w;
  let m = -Infinity;
  let at = -1;
  for (let c = 0; c < C; c++) {
    const v = s[o + c]!;
    if (v > m || v !== v) {
      m = v;
      at = c;
    }
  }
  if (!(m - m === 0)) return m;
  // The maximum's term, exactly 1 (exp(0)), is left out of the sum: [0, at) and (at, C).
  e1[at] = 1;
  restR1 = segment(s, o, 0, at, m, 1, w.fast, e1, 0) + segment(s, o, at + 1, C, m, 1, w.fast, e1, 0);
  return m;
}

/**
 * The first problem in the top-k rows that count (a row whose label is ignoreIndex is not read):
 * −1 if there is none, else 3·i + kind, i = r·k + j the flat position and kind
 *   0: indices[i] lies outside [0, classes),
 *   1: indices[i] repeats an earlier index of its row,
 *   2: Σ_j exp(logprobs[r, ·]) > 1 + 1e-6, that is lse(log P) > log1p(1e-6) (i = r·k; NaN passes).
 * `marks` (classes int32, zeroed) is scratch: marks[c] = r + 1 while row r is checked.
 */
export function topKCheck(
  indices: Int32Array, logprobs: Num, rows: number, k: number, classes: number,
  labels: Int32Array | null, ignoreIndex: number, marks: Int32Array,
): number {
  const limit = Math.log1p(1e-6);
  for (let r = 0; r < rows; r++) {
    if (labels !== null && labels[r] === ignoreIndex) continue;
    for (let j = 0; j < k; j++) {
      const i = r * k + j;
      const c = indices[i]!;
      if (c < 0 || c >= classes) return 3 * i;
      if (marks[c] === r + 1) return 3 * i + 1;
      marks[c] = r + 1;
    }
    if (logSumExpRow(logprobs, r * k, k) > limit) return 3 * r * k + 2;
  }
  return -1;
}
