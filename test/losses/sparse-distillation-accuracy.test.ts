/**
 * The sparse distillation kernel against an exact reference (BigInt fixed point, 1100 fractional
 * bits: exact.ts), held to the bound derived in docs/lm-distillation.md ("Accuracy"):
 *
 *   |D̂ − D| ≤ (k + 30)ε·D + ν̄·Σ_o |P_o − Q_o| + Σ_o P_o·|x_o|·(ρ_o + ε) + [|σ|·|ΣP − 1| + ε·(|max ℓ| + k + 4)·ΣP] + 4(ν̄ + ρ̄ + |σ|)²,
 *
 * over the outcomes o (the k listed classes and, with the tail, the rest), x_o = log(P_o/Q_o):
 *   ν̄ = ε·(BLOCK + C/BLOCK + 3A + 3|b| + 18)   the student's per-outcome log error (A the largest
 *                                             gap |s_c − max|/T that carries mass, capped at 745;
 *                                             b = (max unlisted − max)/T; 4ε more for the table
 *                                             exponential of float32 logits),
 *   ρ_j = ε·(|ℓ_j| + |a_j| + |x_j| + λ + 6),   ρ_rest = ε·(|max ℓ| + k + 3)·(1 − P_rest)/P_rest
 *                                                     + ε·(|log P_rest| + |log Q_rest| + |x_rest| + λ + |b| + 10),
 *   σ the common error of log Σ exp(s/T), |σ| ≤ ν̄ + ε·λ; it matters only where ΣP ≠ 1 (k = C, or a
 *   clamped tail), which also adds the error of expm1(lse ℓ), ε·(|max ℓ| + k + 4)·ΣP.
 * float32 results add their rounding, 2⁻²⁴·D. The rows are adversarial: vocabularies of
 * 152,064 classes, a student that matches the teacher to 1e-4 (D ≈ 1e-9), logits at ±1e4, a
 * tail of mass 1e-12, T = 1e6 and T = 1e-6, and random rows.
 */
import { describe, expect, test } from "vitest";
import { Generator, sparseDistillationLoss, tensor, type SparseDistillationOptions } from "../../src/index.js";
import { expFix, fix, logFix, toNumber } from "./exact.js";

const F = 1100n;
const ONE = 1n << F;
const fmul = (a: bigint, b: bigint): bigint => (a * b) >> F;
const fdiv = (a: bigint, b: bigint): bigint => (a << F) / b;
const EPS = 2 ** -53;
const BLOCK = 256;

/** A row: unlisted classes as (value, count) groups, the listed classes' student logits and the teacher's logprobs. */
interface Row {
  name: string;
  groups: { v: number; n: number }[];
  top: number[];
  lp: number[];
  T: number;
  tail: boolean;
}

interface Exact {
  D: number;
  /** Per outcome: P, Q, x = log(P/Q) (the listed classes, then the rest when it is an outcome). */
  P: number[];
  Q: number[];
  x: number[];
  /** log Σ exp((s − max)/T), the student's normaliser. */
  lambda: number;
  /** The largest gap |s − max|/T (capped at 745), and (max unlisted − max)/T. */
  A: number;
  b: number;
  /** a_j = (s_j − max)/T of the listed classes. */
  a: number[];
  Prest: number;
  Qrest: number;
  xrest: number;
  active: boolean;
  sumP: number;
}

/** The exact D of a row, and what the bound needs. Every log is formed in fixed point from exact inputs. */
function exact(row: Row): Exact {
  const { groups, top, lp, T, tail } = row;
  const k = top.length;
  const TT = fix(T);
  const finite = (xs: number[]): number[] => xs.filter((x) => x !== -Infinity);
  const m = Math.max(...finite(top), ...finite(groups.map((g) => g.v)));
  const a = top.map((v) => (v === -Infinity ? null : fdiv(fix(v) - fix(m), TT)));
  const ea = a.map((v) => (v === null ? 0n : expFix(v)));
  const unlisted = groups.filter((g) => g.n > 0 && g.v !== -Infinity);
  const mr = unlisted.length > 0 ? Math.max(...unlisted.map((g) => g.v)) : -Infinity;
  // The rest's sum from its own maximum: Σ n·exp((s − m_r)/T) ≥ 1.
  const restSum = unlisted.reduce((acc, g) => acc + BigInt(g.n) * expFix(fdiv(fix(g.v) - fix(mr), TT)), 0n);
  const bFix = mr === -Infinity ? null : fdiv(fix(mr) - fix(m), TT);
  const Z = ea.reduce((x, y) => x + y, 0n) + (bFix === null ? 0n : fmul(restSum, expFix(bFix)));
  const lse = logFix(Z);
  const P = lp.map((l) => (l === -Infinity ? 0n : expFix(fix(l))));
  const sumP = P.reduce((x, y) => x + y, 0n);
  const hasRest = groups.reduce((acc, g) => acc + g.n, 0) > 0;
  let D = 0n;
  const out: Exact = {
    D: 0, P: [], Q: [], x: [], lambda: toNumber(lse), A: 0, b: bFix === null ? 0 : toNumber(bFix), a: a.map((v) => (v === null ? -Infinity : toNumber(v))),
    Prest: 0, Qrest: 0, xrest: 0, active: false, sumP: toNumber(sumP),
  };
  const gaps = [...top, ...groups.map((g) => g.v)].filter((v) => v !== -Infinity).map((v) => Math.min(745, (m - v) / T));
  out.A = Math.max(...gaps);
  if (tail) {
    for (let j = 0; j < k; j++) {
      const logQ = a[j] === null ? null : a[j]! - lse;
      const Q = logQ === null ? 0n : expFix(logQ);
      let x = Infinity;
      if (P[j] !== 0n && logQ !== null) {
        const term = fmul(P[j]!, fix(lp[j]!) - logQ);
        D += term;
        x = toNumber(fix(lp[j]!) - logQ);
      } else if (P[j] === 0n) x = -Infinity;
      out.P.push(toNumber(P[j]!));
      out.Q.push(toNumber(Q));
      out.x.push(x);
    }
    const Prest = ONE - sumP;
    if (hasRest && Prest > 0n) {
      if (bFix === null) throw new Error("exact: tail mass on a masked rest");
      const logQrest = bFix + logFix(restSum) - lse;
      const xr = logFix(Prest) - logQrest;
      D += fmul(Prest, xr);
      out.active = true;
      out.Prest = toNumber(Prest);
      out.Qrest = toNumber(expFix(logQrest));
      out.xrest = toNumber(xr);
      out.P.push(out.Prest);
      out.Q.push(out.Qrest);
      out.x.push(out.xrest);
    } else if (hasRest && bFix !== null) {
      out.Q.push(toNumber(expFix(bFix + logFix(restSum) - lse)));
      out.P.push(0);
      out.x.push(-Infinity);
    }
  } else {
    const Zt = ea.reduce((x, y) => x + y, 0n);
    const lseT = logFix(Zt);
    const lseP = logFix(sumP);
    for (let j = 0; j < k; j++) {
      const logP = fix(lp[j]!) - lseP;
      const logQ = a[j]! - lseT;
      const Pn = fdiv(P[j]!, sumP);
      D += fmul(Pn, logP - logQ);
      out.P.push(toNumber(Pn));
      out.Q.push(toNumber(expFix(logQ)));
      out.x.push(toNumber(logP - logQ));
    }
    out.lambda = toNumber(lseT);
  }
  out.D = toNumber(D);
  return out;
}

/** The bound of the header for a row (its exact quantities), and the kernel's float32 or float64 variant. */
function bound(row: Row, e: Exact, dtype: "float32" | "float64"): number {
  const k = row.top.length;
  const C = k + row.groups.reduce((acc, g) => acc + g.n, 0);
  const nu = EPS * (BLOCK + C / BLOCK + 3 * e.A + 3 * Math.abs(e.b) + 18 + (dtype === "float32" ? 4 : 0));
  const maxL = Math.max(...row.lp.filter((l) => l > -Infinity).map(Math.abs));
  const lam = Math.abs(e.lambda);
  let sumDiff = 0;
  let sumRho = 0;
  let rhoMax = 0;
  for (let o = 0; o < e.P.length; o++) {
    const P = e.P[o]!;
    const Q = e.Q[o]!;
    sumDiff += Math.abs(P - Q);
    if (P === 0) continue;
    let rho: number;
    if (o < k) rho = EPS * (Math.abs(row.lp[o]!) + Math.abs(e.a[o]!) + Math.abs(e.x[o]!) + lam + 6 + (row.tail ? 0 : maxL + k + 3));
    else {
      rho = EPS * (maxL + k + 3) * ((1 - e.Prest) / e.Prest) + EPS * (Math.abs(Math.log(e.Prest)) + Math.abs(e.xrest + Math.log(e.Qrest)) + Math.abs(e.xrest) + lam + Math.abs(e.b) + 10);
    }
    rho += EPS;
    rhoMax = Math.max(rhoMax, rho);
    sumRho += P * Math.abs(e.x[o]!) * rho;
  }
  const sigma = nu + EPS * lam;
  // Where the tail has no mass (k = C, or clamped), D adds expm1(lse ℓ) = ΣP − 1: the common error
  // σ of log Σ exp(s/T) no longer cancels (it costs σ·|ΣP − 1|), and lse ℓ's own error is added.
  const inactive = row.tail && !e.active;
  const off = inactive ? sigma * Math.abs(e.sumP - 1) + EPS * (maxL + k + 4) * e.sumP : 0;
  let B = (k + 30) * EPS * Math.abs(e.D) + nu * sumDiff + sumRho + off + 4 * (nu + rhoMax + sigma) ** 2;
  // float32: the result's own rounding, 2⁻²⁴ of |D̂| ≤ |D| + B.
  if (dtype === "float32") B += 2 ** -24 * (Math.abs(e.D) + B);
  return B;
}

/** The row as tensors: the listed classes spread over the row, the groups filling the rest in order. */
function materialise(row: Row): { s: number[]; idx: number[] } {
  const k = row.top.length;
  const C = k + row.groups.reduce((acc, g) => acc + g.n, 0);
  const s = new Array<number>(C);
  const idx: number[] = [];
  for (let j = 0; j < k; j++) idx.push(Math.floor(((j + 0.5) * C) / k));
  const listed = new Set(idx);
  let g = 0;
  let left = row.groups[0]?.n ?? 0;
  for (let c = 0; c < C; c++) {
    if (listed.has(c)) continue;
    while (left === 0) left = row.groups[++g]!.n;
    s[c] = row.groups[g]!.v;
    left--;
  }
  idx.forEach((c, j) => (s[c] = row.top[j]!));
  return { s, idx };
}

/** The kernel's D for a row (α = 1, no T², reduction none), computed on inputs of `dtype`. */
function kernelD(row: Row, dtype: "float32" | "float64"): number {
  const { s, idx } = materialise(row);
  const o: SparseDistillationOptions = { temperature: row.T, tail: row.tail, scaleT2: false, reduction: "none" };
  return sparseDistillationLoss(tensor(s, { dtype }), tensor(idx, { dtype: "int32" }), tensor(row.lp, { dtype }), o).item();
}

/** Round a row's inputs to float32 (the reference then uses the rounded values). */
function asFloat32(row: Row): Row {
  const f = Math.fround;
  return { ...row, groups: row.groups.map((g) => ({ v: f(g.v), n: g.n })), top: row.top.map(f), lp: row.lp.map(f) };
}

/** log q for listed logits against groups, in float64 (to build teachers that nearly match). */
function studentLogProbs(top: number[], groups: { v: number; n: number }[], T: number): number[] {
  const m = Math.max(...top, ...groups.map((g) => g.v));
  let z = 0;
  for (const v of top) z += Math.exp((v - m) / T);
  for (const g of groups) z += g.n * Math.exp((g.v - m) / T);
  return top.map((v) => (v - m) / T - Math.log(z));
}

const V = 152064;

function rows(): Row[] {
  const rng = new Generator(2024);
  const out: Row[] = [];
  const u = (lo: number, hi: number): number => lo + (hi - lo) * rng.uniform();
  // A language-model row: 64 listed classes holding most of the mass, 151,000 others in ten groups.
  const lmGroups = (n: number): { v: number; n: number }[] => {
    const gs = Array.from({ length: 10 }, () => ({ v: u(-8, 1), n: Math.floor(n / 10) }));
    gs[0]!.n += n - gs.reduce((a, g) => a + g.n, 0);
    return gs;
  };
  for (const [T, dev] of [[1, 1e-4], [2, 1e-5], [1, 1e-2], [0.5, 1e-3]] as const) {
    const k = 64;
    const groups = lmGroups(V - k);
    const top = Array.from({ length: k }, () => u(2, 9));
    const lq = studentLogProbs(top, groups, T);
    // The teacher: the student's listed log-probabilities moved by ±dev (the tail takes the rest).
    const lp = lq.map((l) => l + dev * (2 * rng.uniform() - 1));
    out.push({ name: `LM V=${V} k=64 T=${T} deviation ${dev}`, groups, top, lp, T, tail: true });
    out.push({ name: `LM V=${V} k=64 T=${T} deviation ${dev}, renormalised`, groups, top, lp, T, tail: false });
  }
  // k = 8 from the LM row.
  {
    const groups = lmGroups(V - 8);
    const top = Array.from({ length: 8 }, () => u(4, 12));
    const lp = studentLogProbs(top, groups, 1).map((l) => l + 1e-3 * (2 * rng.uniform() - 1));
    out.push({ name: `LM V=${V} k=8`, groups, top, lp, T: 1, tail: true });
  }
  // Logits at ±1e4: the rest's student mass is e⁻²⁰⁰⁰⁰, the teacher's 1e-7.
  out.push({
    name: "±1e4, tail mass 1e-7", groups: [{ v: -1e4, n: V - 8 }], top: Array.from({ length: 8 }, (_, j) => 1e4 - j),
    lp: studentLogProbs(Array.from({ length: 8 }, (_, j) => 1e4 - j), [], 1).map((l) => l + Math.log1p(-1e-7)), T: 1, tail: true,
  });
  // A flat student over 152,064 classes, the teacher close to it on its top 8.
  {
    const top = Array.from({ length: 8 }, () => 1e-3 * rng.uniform());
    const groups = [{ v: 0, n: V - 8 }];
    out.push({ name: "flat student", groups, top, lp: studentLogProbs(top, groups, 1).map((l) => l * (1 + 1e-6)), T: 1, tail: true });
  }
  // A tail of mass 1e-12 (Σ P = 1 − 1e-12).
  {
    const top = [3, 2, 1, 0];
    const p = [0.4, 0.3, 0.2, 0.1 - 1e-12];
    out.push({ name: "tail mass 1e-12", groups: [{ v: -2, n: 1000 }], top, lp: p.map(Math.log), T: 1, tail: true });
  }
  // T = 1e6: q is flat to 1e-6, the teacher too; D ≈ 1e-13.
  {
    const groups = [{ v: 3, n: 500 }, { v: -3, n: 500 }];
    const top = [2, -1, 0.5, 1];
    const lp = studentLogProbs(top, groups, 1e6).map((l) => l + 1e-7 * (2 * rng.uniform() - 1));
    out.push({ name: "T = 1e6", groups, top, lp, T: 1e6, tail: true });
  }
  // T = 1e-6: the student is one-hot on its argmax.
  out.push({ name: "T = 1e-6", groups: [{ v: 0.5, n: 100 }], top: [1, 0.9, 0.2], lp: [Math.log(0.7), Math.log(0.2), Math.log(0.05)], T: 1e-6, tail: true });
  // Clamped: Σ P = 1 + 5e-7; k = C.
  out.push({ name: "clamped tail", groups: [{ v: 0, n: 50 }], top: [2, 1], lp: [Math.log(0.6), Math.log(0.4 + 5e-7)], T: 1, tail: true });
  {
    const top = [1.5, -0.5, 0.25, 2, -3];
    const lp = studentLogProbs(top, [], 2).map((l, j) => l - 1e-3 * (1 + Math.sin(j + 1)));
    out.push({ name: "k = C", groups: [], top, lp, T: 2, tail: true });
  }
  // Random rows: C = 1000, logits ±10, T in [0.5, 10], random k and teacher.
  for (let i = 0; i < 40; i++) {
    const k = 1 + rng.below(30);
    const groups = Array.from({ length: 5 }, () => ({ v: u(-10, 10), n: 1 + rng.below(400) }));
    const top = Array.from({ length: k }, () => u(-10, 10));
    const w = Array.from({ length: k }, () => rng.uniform());
    const mass = u(0.05, 0.999);
    const total = w.reduce((a, b) => a + b, 0);
    out.push({ name: `random ${i}`, groups, top, lp: w.map((x) => Math.log((mass * x) / total)), T: u(0.5, 10), tail: i % 4 !== 0 });
  }
  return out;
}

describe("sparseDistillationLoss: accuracy against an exact reference", () => {
  const all = rows();
  const worst = { float64: 0, float32: 0 };
  for (const row of all) {
    for (const dtype of ["float64", "float32"] as const) {
      test(`${row.name} (${dtype}): within the derived bound`, () => {
        const r = dtype === "float32" ? asFloat32(row) : row;
        const e = exact(r);
        const got = kernelD(r, dtype);
        const B = bound(r, e, dtype);
        const err = Math.abs(got - e.D);
        worst[dtype] = Math.max(worst[dtype], err / B);
        expect(err, `D = ${e.D}, got ${got}, bound ${B}`).toBeLessThanOrEqual(B);
      });
    }
  }

  test("the bound is tight enough to refuse the direct form Σ P·(log P − log Q)", () => {
    // The same row, D formed as the direct sum in float64: its absolute error of ε·|log q| is
    // far outside the bound where D is small.
    const row = all.find((r) => r.name.startsWith(`LM V=${V} k=64 T=1 deviation 0.0001`))!;
    const e = exact(row);
    const lq = studentLogProbs(row.top, row.groups, row.T);
    const P = row.lp.map(Math.exp);
    const Prest = -Math.expm1(Math.log(P.reduce((a, b) => a + b, 0)));
    const Qrest = 1 - lq.reduce((a, l) => a + Math.exp(l), 0);
    let direct = Prest * (Math.log(Prest) - Math.log(Qrest));
    for (let j = 0; j < P.length; j++) direct += P[j]! * (row.lp[j]! - lq[j]!);
    expect(Math.abs(direct - e.D)).toBeGreaterThan(bound(row, e, "float64"));
    expect(Math.abs(kernelD(row, "float64") - e.D)).toBeLessThanOrEqual(bound(row, e, "float64"));
  });

  test("float32 results keep 1e-6 relative accuracy on the language-model rows", () => {
    for (const row of all.filter((r) => r.name.startsWith("LM") || r.name.startsWith("random"))) {
      const r = asFloat32(row);
      const e = exact(r);
      const err = Math.abs(kernelD(r, "float32") - e.D);
      expect(err, row.name).toBeLessThanOrEqual(1e-6 * Math.abs(e.D));
    }
    // For the record (docs/lm-distillation.md quotes these): the largest error as a fraction of the bound.
    expect(worst.float64).toBeLessThanOrEqual(1);
    expect(worst.float32).toBeLessThanOrEqual(1);
  });
});
