/**
 * An exact reference for the distillation loss and its gradients, in BigInt
 * fixed-point arithmetic with F = 1100 fractional bits.
 *
 * Why it is exact enough. Every input is a float64 or float32 value, which this
 * represents exactly (each is an integer times 2^e with e ≥ −1074). (sᵢ − max s)/T
 * is one division, rounded at 2⁻¹¹⁰⁰. exp is a Taylor series after reduction by
 * ln 2 (|r| ≤ 0.35, stopped when a term is below 2⁻¹¹²⁰), log an atanh series after
 * reduction to [1, 2): each carries an absolute error of a few units of 2⁻¹¹⁰⁰.
 * The KL is then Σ p·((b − a) − (LSE_t − LSE_s)) with every term formed in fixed
 * point: an absolute error of at most (C + 10)·(1 + max|log p − log q|)·2⁻¹⁰⁹⁰, which
 * T² (≤ 1e12 here) keeps below 1e-300 for any C that fits in memory; a gradient
 * entry likewise. So any result of 1e-290 or more is known to 1e-10 relative or
 * better, and anything smaller is a float64 subnormal or 0 in any case. A
 * probability below 2⁻¹¹¹⁰ (e^{−770}) is 0 here, as in float64.
 *
 * Rows given as (value, multiplicity) groups let adversarial rows with C up to
 * 152,064 but few distinct (sᵢ, tᵢ) pairs be evaluated in milliseconds.
 */
const F = 1100n;
const ONE = 1n << F;

/** The exact value of a finite double x (a multiple of 2⁻¹⁰⁷⁴, so of 2⁻¹¹⁰⁰). */
export function fix(x: number): bigint {
  if (!Number.isFinite(x)) throw new Error(`fix: ${x} is not finite`);
  if (x === 0) return 0n;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const sign = bits >> 63n ? -1n : 1n;
  const biased = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & ((1n << 52n) - 1n);
  let e: number;
  if (biased === 0) e = -1074;
  else {
    mant |= 1n << 52n;
    e = biased - 1075;
  }
  // x = mant·2^e; in units of 2⁻ᶠ: mant·2^(e + F).
  const shift = BigInt(e) + F;
  if (shift >= 0n) return sign * (mant << shift);
  const q = mant >> -shift;
  const rem = mant - (q << -shift);
  const half = 1n << (-shift - 1n);
  return sign * (rem > half || (rem === half && (q & 1n) === 1n) ? q + 1n : q);
}

/** A fixed-point number as the nearest double. */
export function toNumber(x: bigint): number {
  if (x === 0n) return 0;
  const neg = x < 0n;
  let a = neg ? -x : x;
  // Keep 64 significant bits, then scale: a·2⁻ᶠ (in two steps: 2⁻¹¹⁰⁰ alone underflows).
  const len = a.toString(2).length;
  let scale = -Number(F);
  if (len > 64) {
    const drop = BigInt(len - 64);
    a = a >> drop;
    scale += Number(drop);
  }
  const v = Number(a) * 2 ** Math.max(scale, -1000) * 2 ** Math.min(scale + 1000, 0);
  return neg ? -v : v;
}

const mul = (a: bigint, b: bigint): bigint => (a * b) >> F;
const div = (a: bigint, b: bigint): bigint => (a << F) / b;

/** ln 2 = Σ_{k≥1} 1/(k·2^k), to 2⁻⁽ᶠ⁺²⁰⁾ (computed with 20 guard bits). */
const LN2 = (() => {
  const G = F + 20n;
  let sum = 0n;
  for (let k = 1n; k < G + 10n; k++) sum += (1n << G) / (k << k);
  return sum >> 20n;
})();

/** e^y for a fixed-point y; 0 when e^y < 2⁻⁽ᶠ⁺¹⁰⁾. */
export function expFix(y: bigint): bigint {
  if (y < -(F + 10n) * LN2) return 0n;
  // y = k·ln 2 + r, |r| ≤ ln 2/2 (k rounded from an approximate quotient, then r recomputed exactly).
  let k = (y + (y >= 0n ? LN2 / 2n : -LN2 / 2n)) / LN2;
  let r = y - k * LN2;
  if (r > LN2 / 2n) {
    k += 1n;
    r -= LN2;
  } else if (r < -LN2 / 2n) {
    k -= 1n;
    r += LN2;
  }
  // e^r to 2⁻⁽ᶠ⁺²⁰⁾ with 20 guard bits.
  const G = 20n;
  const rr = r << G;
  const one = ONE << G;
  let term = one;
  let sum = one;
  for (let n = 1n; term !== 0n; n++) {
    term = (term * rr) / (one * n);
    sum += term;
  }
  const v = k >= 0n ? sum << k : sum >> -k;
  return v >> G;
}

/** log x for a fixed-point x > 0. */
export function logFix(x: bigint): bigint {
  if (x <= 0n) throw new Error("logFix: x must be > 0");
  const len = BigInt(x.toString(2).length);
  const k = len - F - 1n; // x = 2^k·m, m ∈ [1, 2)
  const G = 20n;
  const one = ONE << G;
  const m = k >= 0n ? (x << G) >> k : (x << G) << -k;
  // log m = 2·atanh(z), z = (m − 1)/(m + 1) ∈ [0, 1/3].
  const z = ((m - one) * one) / (m + one);
  const z2 = (z * z) / one;
  let term = z;
  let sum = 0n;
  for (let n = 1n; term !== 0n; n += 2n) {
    sum += term / n;
    term = (term * z2) / one;
  }
  return k * LN2 + ((2n * sum) >> G);
}

export interface ExactResult {
  /** α·T²·KL + (1 − α)·CE for the row (no 1/B). */
  loss: number;
  /** T²·KL alone. */
  soft: number;
  /** ∂(row loss)/∂s, ∂(row loss)/∂t (no 1/B), per group. */
  dS: number[];
  dT: number[];
}

/**
 * One row given as groups: class values s[g], t[g], each repeated n[g] times
 * (−∞ allowed in t, and in s where t is −∞ too). T and α as doubles; y the
 * group of the label (or −1 for none: α must then be 1). Exact to far below
 * float64 rounding (see above).
 */
export function exactRow(s: number[], t: number[], n: number[], T: number, alpha: number, y = -1): ExactResult {
  const TT = fix(T);
  const finiteMax = (v: number[]): number => Math.max(...v.filter((x) => x !== -Infinity));
  const ms = finiteMax(s);
  const mt = finiteMax(t);
  const a = s.map((v) => (v === -Infinity ? null : div(fix(v) - fix(ms), TT)));
  const b = t.map((v) => (v === -Infinity ? null : div(fix(v) - fix(mt), TT)));
  const ea = a.map((v) => (v === null ? 0n : expFix(v)));
  const eb = b.map((v) => (v === null ? 0n : expFix(v)));
  const count = n.map(BigInt);
  const Zs = ea.reduce((acc, v, i) => acc + v * count[i]!, 0n);
  const Zt = eb.reduce((acc, v, i) => acc + v * count[i]!, 0n);
  const lseS = logFix(Zs);
  const lseT = logFix(Zt);
  const q = ea.map((v) => div(v, Zs));
  const p = eb.map((v) => div(v, Zt));
  // d = log p − log q = (b − a) − (LSE_t − LSE_s), on the teacher's support.
  let kl = 0n;
  const d: (bigint | null)[] = b.map((bv, i) => {
    if (bv === null) return null;
    const av = a[i];
    if (av === null || av === undefined) throw new Error("exactRow: teacher mass on a class the student masks (KL = ∞)");
    return bv - av - (lseT - lseS);
  });
  d.forEach((di, i) => {
    if (di !== null) kl += mul(p[i]!, di) * count[i]!;
  });
  const T2 = mul(TT, TT);
  const soft = mul(T2, kl);
  // Cross-entropy at T = 1: (max s − s_y) + log Σ exp(s − max s).
  let ce = 0n;
  let p1: bigint[] = [];
  if (y >= 0) {
    const e1 = s.map((v) => (v === -Infinity ? 0n : expFix(fix(v) - fix(ms))));
    const Z1 = e1.reduce((acc, v, i) => acc + v * count[i]!, 0n);
    ce = fix(ms) - fix(s[y]!) + logFix(Z1);
    p1 = e1.map((v) => div(v, Z1));
  }
  const A = fix(alpha);
  const loss = mul(A, soft) + (y >= 0 ? mul(ONE - A, ce) : 0n);
  // dS = α·T·(q − p) + (1 − α)(softmax(s) − onehot(y)); dT = α·T·p·(d − KL).
  const aT = mul(A, TT);
  const dS = q.map((qi, i) => {
    let g = mul(aT, qi - p[i]!);
    if (y >= 0) g += mul(ONE - A, p1[i]! - (i === y ? ONE : 0n));
    return toNumber(g);
  });
  const dT = p.map((pi, i) => (d[i] === null ? 0 : toNumber(mul(aT, mul(pi, d[i]! - kl)))));
  return { loss: toNumber(loss), soft: toNumber(soft), dS, dT };
}
