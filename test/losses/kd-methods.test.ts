/**
 * Properties of the distillation methods (dkdLoss, distLoss, nkdLoss, wsldLoss), float64:
 * the fused losses against the same formulas written with kdgrad ops (kd-methods-composite.ts),
 * gradient rows that sum to 0, invariance to a per-row constant (and to a per-row positive
 * scale with standardize), the DKD identity KD = TCKD + (1 − p_t,y)·NCKD, the weighted
 * gradients of the stop-gradient losses checked against frozen-weight functions, the
 * second-order blocks derived in the loss files, createGraph values, the role of T, the
 * non-finite policy and the argument errors.
 */
import { test } from "@fast-check/vitest";
import fc from "fast-check";
import { describe, expect } from "vitest";
import {
  DTypeError, Generator, IndexError, ShapeError, Tensor, ValueError, assertGradcheck, distLoss, distillationLoss, dkdLoss, grad, hessian,
  jacobian, logSoftmax, noGrad, nkdLoss, softmax, tensor, wsldLoss,
} from "../../src/index.js";
import { distComposite, dkdComposite, nkdComposite, wsldComposite } from "./kd-methods-composite.js";

const f64 = (v: number[][], requiresGrad = false): Tensor => tensor(v, { dtype: "float64", requiresGrad });
const int = (v: number[]): Tensor => tensor(v, { dtype: "int32" });
const EPS = 2 ** -52;

type Method = "dkd" | "dist" | "nkd" | "wsld";
const methods: Method[] = ["dkd", "dist", "nkd", "wsld"];

/** Call method m as fused or as the ops composite. */
function lossOf(m: Method, fused: boolean, s: Tensor, t: Tensor, labels: Tensor, o: Record<string, unknown>): Tensor {
  switch (m) {
    case "dkd": return fused ? dkdLoss(s, t, labels, o) : dkdComposite(s, t, labels, o);
    case "dist": return fused ? distLoss(s, t, o) : distComposite(s, t, o);
    case "nkd": return fused ? nkdLoss(s, t, labels, o) : nkdComposite(s, t, labels, o);
    case "wsld": return fused ? wsldLoss(s, t, labels, o) : wsldComposite(s, t, labels, o);
  }
}

/** Options drawn for method m (each method's weights, temperatures). */
function optionsArb(m: Method): fc.Arbitrary<Record<string, unknown>> {
  const T = fc.constantFrom(0.25, 0.5, 1, 2, 4, 8, 20, 100);
  switch (m) {
    case "dkd": return fc.record({ alpha: fc.constantFrom(0, 0.5, 1, 2), beta: fc.constantFrom(0, 1, 8), temperature: T });
    case "dist": return fc.record({ beta: fc.constantFrom(0, 1, 2), gamma: fc.constantFrom(0, 1, 2), temperature: T });
    case "nkd": return fc.record({ gamma: fc.constantFrom(0, 1, 1.5), temperature: T });
    case "wsld": return fc.record({ alpha: fc.constantFrom(0, 1, 2.5), temperature: T });
  }
}

/** A batch: B rows (≥ 2 for DIST) of C logits in [−8, 8], and labels. */
const batchArb = fc
  .record({ B: fc.integer({ min: 2, max: 5 }), C: fc.integer({ min: 2, max: 7 }), seed: fc.nat() })
  .chain(({ B, C, seed }) =>
    fc.record({
      s: fc.array(fc.array(fc.double({ min: -8, max: 8, noNaN: true }), { minLength: C, maxLength: C }), { minLength: B, maxLength: B }),
      t: fc.array(fc.array(fc.double({ min: -8, max: 8, noNaN: true }), { minLength: C, maxLength: C }), { minLength: B, maxLength: B }),
      y: fc.array(fc.integer({ min: 0, max: C - 1 }), { minLength: B, maxLength: B }),
      seed: fc.constant(seed),
    }));

/**
 * A batch of uniform logits in [−8, 8] from a seeded generator (fast-check's doubles favour
 * 0 and the range's ends, which makes constant rows, the degenerate cases tested apart).
 */
const regularBatchArb = fc
  .record({ B: fc.integer({ min: 2, max: 5 }), C: fc.integer({ min: 2, max: 7 }), seed: fc.nat() })
  .map(({ B, C, seed }) => {
    const rng = new Generator(seed);
    const draw = (): number[][] => Array.from({ length: B }, () => Array.from({ length: C }, () => 16 * rng.uniform() - 8));
    return { s: draw(), t: draw(), y: Array.from({ length: B }, () => rng.below(C)), seed };
  });

/**
 * Whether every row of x and every column of softmax(x/T) varies: a constant row (or
 * column) has a centred norm of 0, where the composites' square roots have an infinite
 * derivative (NaN gradients) and the fused losses take the guard's or the σ = 0 limit.
 */
function nonDegenerate(x: number[][], T: number): boolean {
  // (Away from it too: the composites centre values near 1/C and lose ε/(relative spread) of
  // their accuracy, so the comparison at 1e-10 needs spreads well above 1e-6.)
  if (x.some((row) => Math.max(...row) - Math.min(...row) < 0.05 * Math.min(T, 1))) return false;
  const y = softmax(f64(x).div(T), -1).toArray() as number[][];
  for (let j = 0; j < x[0]!.length; j++) {
    const col = y.map((row) => row[j]!);
    if (Math.max(...col) - Math.min(...col) <= 1e-3 * Math.max(...col)) return false;
  }
  return true;
}

/** Logits on the grid k/16, so that a shift by a multiple of 1/16 is exact. */
const gridBatchArb = fc
  .record({ B: fc.integer({ min: 2, max: 5 }), C: fc.integer({ min: 2, max: 7 }) })
  .chain(({ B, C }) => {
    const row = fc.array(fc.integer({ min: -128, max: 128 }).map((k) => k / 16), { minLength: C, maxLength: C });
    return fc.record({
      s: fc.array(row, { minLength: B, maxLength: B }),
      t: fc.array(row, { minLength: B, maxLength: B }),
      y: fc.array(fc.integer({ min: 0, max: C - 1 }), { minLength: B, maxLength: B }),
      seed: fc.constant(0),
    });
  });

/** The size of the terms a gradient entry is made of: (T + logit range)/B times the weights. */
function termScale(s: number[][], t: number[][], o: Record<string, unknown>): number {
  const range = Math.max(...s.flat().map(Math.abs)) + Math.max(...t.flat().map(Math.abs));
  const weights = ["alpha", "beta", "gamma"].reduce((a, k) => a + (typeof o[k] === "number" ? (o[k] as number) : 8), 1);
  return (((o.temperature as number) + range) / s.length) * weights;
}

/**
 * DIST's gradient term size. ∂ρ/∂a = (b̂ − ρ·â)/N_a is made of terms of size 1/N_a (N_a the
 * centred norm, guarded at 1e-8), so an entry of G = ∂L/∂Y is made of terms up to
 * T²·(β/(B·N_row) + γ/(C·N_col)), and an entry of ∂L/∂x = (1/T)·Y ⊙ (G − ⟨G, Y⟩) of terms up
 * to (1/T)·Y·(|G| + ⟨|G|, Y⟩). Entries that cancel (at C = 2 or B = 2 every unguarded ρ is
 * ±1 and the gradient 0) are only known to a few ulps of these.
 */
function distTermSize(s: number[][], t: number[][], o: Record<string, unknown>, side: "both" | "s" | "t" = "both"): number {
  const T = o.temperature as number;
  const beta = (o.beta as number | undefined) ?? 1;
  const gamma = (o.gamma as number | undefined) ?? 1;
  let size = 0;
  // ∂ρ/∂a has terms of size 1/N_a and ∂ρ/∂b of size 1/N_b (â and b̂ have norm ≤ 1, guarded or
  // not): the student's gradient is made of the student's terms, the teacher's of the teacher's.
  for (const x of side === "both" ? [s, t] : side === "s" ? [s] : [t]) {
    const Y = softmax(f64(x).div(T), -1).toArray() as number[][];
    const B = Y.length;
    const C = Y[0]!.length;
    const norm = (v: number[]): number => {
      const m = v.reduce((a, b) => a + b, 0) / v.length;
      return Math.max(1e-8, Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0)));
    };
    const rowN = Y.map(norm);
    const colN = Array.from({ length: C }, (_, j) => norm(Y.map((row) => row[j]!)));
    for (let r = 0; r < B; r++) {
      const G = Y[r]!.map((_, j) => T * T * (beta / (B * rowN[r]!) + gamma / (C * colN[j]!)));
      const dot = G.reduce((a, g, j) => a + g * Y[r]![j]!, 0);
      for (let j = 0; j < C; j++) size = Math.max(size, (Y[r]![j]! * (G[j]! + dot)) / T);
    }
  }
  return size;
}

/**
 * The size of the terms of dkdLoss's gradient with standardize: termScale on standardized
 * logits (entries within 2√C), through the standardization's Jacobian (scale 1/σ, σ the
 * smallest row std).
 */
function standardizedTermScale(s: number[][], t: number[][], T: number): number {
  const C = s[0]!.length;
  const sigma = Math.min(...[...s, ...t].map((row) => {
    const m = row.reduce((a, b) => a + b, 0) / C;
    return Math.sqrt(row.reduce((a, b) => a + (b - m) ** 2, 0) / (C - 1));
  }));
  return (((T + 4 * Math.sqrt(C)) / s.length) * 10) / sigma;
}

/** Value and both gradients of a loss at (s, t). */
function evaluate(f: (s: Tensor, t: Tensor) => Tensor, sv: number[][], tv: number[][]): { L: number; dS: number[]; dT: number[] } {
  const s = f64(sv, true);
  const t = f64(tv, true);
  const L = f(s, t);
  L.backward();
  return { L: L.item(), dS: s.grad!.toFlatArray(), dT: t.grad!.toFlatArray() };
}

function expectNear(got: number[], want: number[], rtol: number, atol: number, what: string): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < got.length; i++) {
    expect(Math.abs(got[i]! - want[i]!), `${what}[${i}]: ${got[i]} vs ${want[i]}`).toBeLessThanOrEqual(atol + rtol * Math.abs(want[i]!));
  }
}

describe("fused = composite written with kdgrad ops (float64)", () => {
  for (const m of methods) {
    test.prop([regularBatchArb, optionsArb(m)], { numRuns: 60 })(`${m}: loss and both gradients to 1e-10`, ({ s, t, y }, o) => {
      if (m === "dist") fc.pre(nonDegenerate(s, o.temperature as number) && nonDegenerate(t, o.temperature as number));
      const labels = int(y);
      const fused = evaluate((a, b) => lossOf(m, true, a, b, labels, o), s, t);
      const comp = evaluate((a, b) => lossOf(m, false, a, b, labels, o), s, t);
      const scale = Math.max(1, Math.abs(comp.L));
      expectNear([fused.L], [comp.L], 1e-10, 1e-13 * scale, `${m} loss`);
      // Absolute slack: 1e-12 of the largest entry, or for DIST of the largest term the
      // softmax's backward subtracts (its entries can cancel from terms far larger).
      const gs = Math.max(...comp.dS.map(Math.abs), ...comp.dT.map(Math.abs), m === "dist" ? distTermSize(s, t, o) : 0);
      expectNear(fused.dS, comp.dS, 1e-10, 1e-12 * gs + 1e-15, `${m} dS`);
      expectNear(fused.dT, comp.dT, 1e-10, 1e-12 * gs + 1e-15, `${m} dT`);
    });
  }

  test.prop([regularBatchArb, fc.constantFrom(0.5, 2, 4)], { numRuns: 30 })("dkd with standardize: the private standardization = the composite on standardized logits", ({ s, t, y }, T) => {
    const labels = int(y);
    const standardized = (x: Tensor): Tensor => {
      const C = x.shape[1]!;
      const c = x.sub(x.mean(-1, true));
      return c.div(c.mul(c).sum(-1, true).div(C - 1).sqrt().add(1e-7));
    };
    const fused = evaluate((a, b) => dkdLoss(a, b, labels, { temperature: T, standardize: true }), s, t);
    const comp = evaluate((a, b) => dkdComposite(standardized(a), standardized(b), labels, { temperature: T }), s, t);
    expectNear([fused.L], [comp.L], 1e-10, 1e-13, "loss");
    const gs = Math.max(...comp.dS.map(Math.abs), ...comp.dT.map(Math.abs), standardizedTermScale(s, t, T));
    expectNear(fused.dS, comp.dS, 1e-9, 1e-12 * gs, "dS");
    expectNear(fused.dT, comp.dT, 1e-9, 1e-12 * gs, "dT");
  });
});

describe("gradient rows sum to 0 (a constant added to a row changes nothing)", () => {
  for (const m of methods) {
    test.prop([batchArb, optionsArb(m)], { numRuns: 40 })(`${m}: every row of ∂L/∂s and ∂L/∂t`, ({ s, t, y }, o) => {
      const labels = int(y);
      const { dS, dT } = evaluate((a, b) => lossOf(m, true, a, b, labels, o), s, t);
      const C = s[0]!.length;
      for (const [name, g] of [["dS", dS], ["dT", dT]] as const) {
        for (let r = 0; r < s.length; r++) {
          const row = g.slice(r * C, (r + 1) * C);
          const total = row.reduce((a, b) => a + b, 0);
          const size = row.reduce((a, b) => a + Math.abs(b), 0);
          // Each entry is formed to a few ulps of its terms (at most termScale in size, or the
          // entries themselves; for DIST the correlation's terms, 1/N of that side's centred
          // norms: distTermSize), so the sum can miss 0 by C·8ε of those.
          const dist = m === "dist" ? distTermSize(s, t, o, name === "dS" ? "s" : "t") : 0;
          const tol = 8 * C * EPS * (size + termScale(s, t, o) + dist);
          expect(Math.abs(total), `${m} ${name} row ${r}: Σ = ${total}, Σ|·| = ${size}`).toBeLessThanOrEqual(tol);
        }
      }
    });

    test.prop([gridBatchArb, optionsArb(m), fc.array(fc.integer({ min: -640, max: 640 }).map((k) => k / 16), { minLength: 5, maxLength: 5 })], { numRuns: 30 })(
      `${m}: a per-row constant in s or in t leaves the loss and the gradients unchanged`,
      ({ s, t, y }, o, shift) => {
        const labels = int(y);
        const base = evaluate((a, b) => lossOf(m, true, a, b, labels, o), s, t);
        const shifted = (x: number[][]): number[][] => x.map((row, r) => row.map((v) => v + shift[r]!));
        const T = o.temperature as number;
        // Logits and shifts on the grid k/16: x + c is exact, and so is every difference of two
        // logits of a row; only a row mean (DIST's centring, standardize) rounds differently,
        // by ε·(|x| + |c|)/T relative to the logits/T.
        const rtol = 64 * EPS * (1 + 48 / T) * s[0]!.length;
        for (const [sv, tv] of [[shifted(s), t], [s, shifted(t)]] as const) {
          const moved = evaluate((a, b) => lossOf(m, true, a, b, labels, o), sv, tv);
          expectNear([moved.L], [base.L], rtol, rtol, `${m} loss`);
          const gs = Math.max(...base.dS.map(Math.abs), ...base.dT.map(Math.abs), termScale(s, t, o), m === "dist" ? distTermSize(s, t, o) : 0);
          expectNear(moved.dS, base.dS, rtol, rtol * gs, `${m} dS`);
          expectNear(moved.dT, base.dT, rtol, rtol * gs, `${m} dT`);
        }
      },
    );
  }

  test.prop([regularBatchArb, fc.array(fc.double({ min: 0.2, max: 5, noNaN: true }), { minLength: 5, maxLength: 5 })], { numRuns: 30 })(
    "dkd with standardize: a positive per-row scale changes nothing (up to the 1e-7); without, it does",
    ({ s, t, y }, k) => {
      const labels = int(y);
      // Skip near-constant rows, where 1e-7 is not small next to the std.
      const spread = (x: number[][]): number => Math.min(...x.map((row) => Math.max(...row) - Math.min(...row)));
      fc.pre(spread(s) > 0.5 && spread(t) > 0.5);
      const scaled = (x: number[][]): number[][] => x.map((row, r) => row.map((v) => v * k[r]!));
      const o = { temperature: 2, standardize: true };
      const L0 = dkdLoss(f64(s), f64(t), labels, o).item();
      const L1 = dkdLoss(f64(scaled(s)), f64(scaled(t)), labels, o).item();
      // z̃/(σ + 1e-7) against z̃/(σ + 1e-7/k): the standardized logits move by a relative
      // 1e-7·|1 − 1/k|/σ ≤ 1e-7·5/σ, σ ≥ spread/C; the loss by at most about twice that times
      // its logit sensitivity, which these small rows keep below 1e-4 relative.
      expect(Math.abs(L1 - L0)).toBeLessThanOrEqual(1e-4 * Math.abs(L0) + 1e-12);
      const raw0 = dkdLoss(f64(s), f64(t), labels, { temperature: 2 }).item();
      const raw1 = dkdLoss(f64(scaled(s)), f64(scaled(t)), labels, { temperature: 2 }).item();
      fc.pre(k.slice(0, s.length).some((v) => Math.abs(v - 1) > 0.5));
      expect(Math.abs(raw1 - raw0)).toBeGreaterThan(Math.abs(L1 - L0));
    },
  );
});

describe("the DKD identity: KD = T²·(TCKD + (1 − p_t,y)·NCKD)", () => {
  const rowArb = fc.record({
    C: fc.integer({ min: 2, max: 9 }),
    seed: fc.nat(),
    T: fc.constantFrom(0.5, 1, 2, 4, 10, 100),
  }).chain(({ C, seed, T }) => fc.record({
    s: fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: C, maxLength: C }),
    t: fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: C, maxLength: C }),
    y: fc.integer({ min: 0, max: C - 1 }),
    T: fc.constant(T), seed: fc.constant(seed),
  }));

  test.prop([rowArb], { numRuns: 80 })("per row: distillationLoss = dkd(α = 1, β = 0) + (1 − p_t,y)·dkd(α = 0, β = 1), values and student gradients", ({ s, t, y, T }) => {
    const labels = int([y]);
    const pty = (softmax(f64([t]).div(T), -1).toArray() as number[][])[0]![y]!;
    const kd = evaluate((a, b) => distillationLoss(a, b, { temperature: T }), [s], [t]);
    const tc = evaluate((a, b) => dkdLoss(a, b, labels, { alpha: 1, beta: 0, temperature: T }), [s], [t]);
    const nc = evaluate((a, b) => dkdLoss(a, b, labels, { alpha: 0, beta: 1, temperature: T }), [s], [t]);
    const sum = tc.L + (1 - pty) * nc.L;
    expect(Math.abs(kd.L - sum), `KD ${kd.L} vs ${sum}`).toBeLessThanOrEqual(1e-11 * Math.abs(kd.L) + 1e-14);
    // a = p_t,y does not move with s: the identity differentiates termwise in s. Each entry is
    // formed to a few ulps of terms T·(probability differences) of size at most 2T.
    expectNear(tc.dS.map((v, i) => v + (1 - pty) * nc.dS[i]!), kd.dS, 1e-9, 64 * EPS * 2 * T, "∂/∂s");
  });

  test.prop([batchArb, fc.constantFrom(0.5, 1, 2), fc.constantFrom(1, 4, 20)], { numRuns: 40 })(
    "DKD with β = α is α·KD plus α·T²·mean(p_t,y·NCKD): never below α·KD",
    ({ s, t, y }, alpha, T) => {
      const labels = int(y);
      const B = s.length;
      const dkd = dkdLoss(f64(s), f64(t), labels, { alpha, beta: alpha, temperature: T }).item();
      const kd = distillationLoss(f64(s), f64(t), { temperature: T }).item();
      const pt = softmax(f64(t).div(T), -1).toArray() as number[][];
      let extra = 0;
      for (let r = 0; r < B; r++) {
        const nckdT2 = dkdLoss(f64([s[r]!]), f64([t[r]!]), int([y[r]!]), { alpha: 0, beta: 1, temperature: T }).item();
        extra += pt[r]![y[r]!]! * nckdT2;
      }
      const want = alpha * kd + (alpha * extra) / B;
      expect(Math.abs(dkd - want), `${dkd} vs ${want}`).toBeLessThanOrEqual(1e-11 * Math.abs(want) + 1e-14);
      expect(dkd).toBeGreaterThanOrEqual(alpha * kd * (1 - 1e-12));
    },
  );
});

describe("stop-gradient weights: the gradient is the derivative with the weight frozen", () => {
  // F(s, t) = the loss with w fixed at its value at (s₀, t₀): its derivative at (s₀, t₀) is
  // the stop-gradient gradient. F = loss + (the frozen-weight correction), where the
  // correction is computed without a graph (so autograd sees the loss alone) but moves with
  // (s, t) under finite differences. A gradient that let the weight's derivative through,
  // or dropped a w, fails.
  const gen = fc.record({ B: fc.integer({ min: 1, max: 3 }), C: fc.integer({ min: 2, max: 5 }), seed: fc.nat(), T: fc.constantFrom(0.5, 1, 2, 4) })
    .chain(({ B, C, seed, T }) => fc.record({
      s: fc.array(fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: C, maxLength: C }), { minLength: B, maxLength: B }),
      t: fc.array(fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: C, maxLength: C }), { minLength: B, maxLength: B }),
      y: fc.array(fc.integer({ min: 0, max: C - 1 }), { minLength: B, maxLength: B }),
      T: fc.constant(T), seed: fc.constant(seed),
    }));
  const targetLogProb = (x: Tensor, y: number[]): Tensor => {
    const lp = logSoftmax(x, -1).toArray() as number[][];
    return tensor(y.map((k, r) => lp[r]![k]!), { dtype: "float64" });
  };

  test.prop([gen], { numRuns: 40 })("nkdLoss: w = softmax(t)_y frozen", ({ s, t, y, T }) => {
    const labels = int(y);
    const w0 = noGrad(() => targetLogProb(f64(t), y).exp());
    const F = (a: Tensor, b: Tensor): Tensor => {
      const correction = noGrad(() => targetLogProb(b, y).exp().sub(w0).mul(targetLogProb(a, y)).mean());
      return nkdLoss(a, b, labels, { temperature: T, gamma: 1.5 }).add(correction);
    };
    assertGradcheck(F, [f64(s, true), f64(t, true)]);
  });

  test.prop([gen, fc.constantFrom(1, 2.5)], { numRuns: 40 })("wsldLoss: w = 1 − exp(−ce_s/(ce_t + 1e-7)) frozen", ({ s, t, y, T }, alpha) => {
    const labels = int(y);
    const weight = (a: Tensor, b: Tensor): Tensor => {
      const r = targetLogProb(a, y).neg().div(targetLogProb(b, y).neg().add(1e-7));
      return r.maximum(0).neg().exp().neg().add(1);
    };
    const soft = (a: Tensor, b: Tensor): Tensor => softmax(b.div(T), -1).mul(logSoftmax(a.div(T), -1)).sum(-1).neg();
    const w0 = noGrad(() => weight(f64(s), f64(t)));
    const F = (a: Tensor, b: Tensor): Tensor => {
      const correction = noGrad(() => w0.sub(weight(a, b)).mul(soft(a, b)).mean().mul(alpha * T * T));
      return wsldLoss(a, b, labels, { temperature: T, alpha }).add(correction);
    };
    assertGradcheck(F, [f64(s, true), f64(t, true)]);
  });

  test("the frozen-weight check fails for a gradient that differentiates the weight (the composite without detach)", () => {
    const s = f64([[0.3, -1.2, 2.5], [1.1, 0.2, -0.4]], true);
    const t = f64([[-0.5, 0.9, 1.7], [0.4, 2.1, -1.0]], true);
    const y = [2, 0];
    const w0 = noGrad(() => targetLogProb(t, y).exp());
    const leaky = (a: Tensor, b: Tensor): Tensor => {
      // NKD's first term with the teacher's w left live: its gradient includes ∂w/∂t.
      const w = targetLogProb(b, y).exp();
      const correction = noGrad(() => targetLogProb(b, y).exp().sub(w0).mul(targetLogProb(a, y)).mean());
      return w.mul(targetLogProb(a, y)).mean().neg().add(correction);
    };
    expect(() => assertGradcheck(leaky, [s, t])).toThrow();
  });
});

describe("second order: the blocks derived in the loss files", () => {
  /** A(p) = diag(p) − ppᵀ. */
  const A = (p: number[]): number[][] => p.map((pi, i) => p.map((pj, j) => (i === j ? pi : 0) - pi * pj));
  const mixed = (L: (a: Tensor, b: Tensor) => Tensor, a: Tensor, b: Tensor): Tensor => {
    const live = a.detach().requiresGrad_();
    return jacobian((v: Tensor) => grad((u: Tensor) => L(u, v))(live), 0)(b);
  };
  const blocks = (L: (a: Tensor, b: Tensor) => Tensor, s: Tensor, t: Tensor): number[][] => [
    hessian((a: Tensor) => L(a, t))(s).toFlatArray(),
    mixed(L, s, t).toFlatArray(),
    hessian((b: Tensor) => L(s, b))(t).toFlatArray(),
  ];

  const rows = fc.nat().map((seed) => {
    const rng = new Generator(seed);
    return Array.from({ length: 2 }, () => Array.from({ length: 4 }, () => 8 * rng.uniform() - 4));
  });

  for (const m of methods) {
    test.prop([rows, rows, fc.constantFrom(0.5, 1, 3), fc.nat()], { numRuns: 10 })(
      `${m}: ∂²L/∂s², ∂²L/∂s∂t, ∂²L/∂t² of the fused loss = those of the composite`,
      (sv, tv, T, seed) => {
        const labels = int([seed % 4, (seed >> 2) % 4]);
        const o = m === "dkd" ? { alpha: 1, beta: 3, temperature: T } : m === "dist" ? { beta: 1, gamma: 2, temperature: T }
          : m === "nkd" ? { gamma: 1.5, temperature: T } : { alpha: 2.5, temperature: T };
        fc.pre(m !== "dist" || (nonDegenerate(sv, T) && nonDegenerate(tv, T)));
        // (DIST's blocks are sums of terms up to T²/N² in size, N a centred norm, that cancel.)
        const s = f64(sv);
        const t = f64(tv);
        const fused = blocks((a, b) => lossOf(m, true, a, b, labels, o), s, t);
        const comp = blocks((a, b) => lossOf(m, false, a, b, labels, o), s, t);
        for (let k = 0; k < 3; k++) {
          const got = fused[k]!;
          const want = comp[k]!;
          const size = Math.max(1, ...want.map(Math.abs), m === "dist" ? distTermSize(sv, tv, o) ** 2 : 0);
          expectNear(got, want, 1e-8, 1e-10 * size, `${m} block ${["ss", "st", "tt"][k]}`);
        }
      },
    );
  }

  test.prop([rows, rows, fc.constantFrom(0.5, 2), fc.constantFrom(0.5, 1), fc.constantFrom(0, 2), fc.nat()], { numRuns: 15 })(
    "dkd: ∂²L/∂s² = [α(b·b̄·v vᵀ − (b − a)A_O(q̂)) + β·A_O(q̂)]/B and ∂²L/∂s∂t = −[α·a·ā·v_s v_tᵀ + β·A_O(p̂)]/B",
    (sv, tv, T, alpha, beta, seed) => {
      const y = [seed % 4, (seed >> 2) % 4];
      const labels = int(y);
      const s = f64(sv);
      const t = f64(tv);
      const L = (a: Tensor, b: Tensor): Tensor => dkdLoss(a, b, labels, { alpha, beta, temperature: T });
      const Hss = hessian((a: Tensor) => L(a, t))(s).toArray() as number[][][][];
      const Hst = mixed(L, s, t).toArray() as number[][][][];
      const B = 2;
      for (let r = 0; r < B; r++) {
        const k = y[r]!;
        const split = (x: number[]): { p: number; hat: number[] } => {
          const z = x.map((v) => v / T);
          const m = Math.max(...z);
          const e = z.map((v) => Math.exp(v - m));
          const S = e.reduce((a2, b2) => a2 + b2, 0);
          // Summed over the other classes, not S − e_k: that cancels when the target holds nearly all the mass.
          const rest = e.reduce((a2, b2, j) => (j === k ? a2 : a2 + b2), 0);
          return { p: e[k]! / S, hat: e.map((v, j) => (j === k ? 0 : v / rest)) };
        };
        const st = split(sv[r]!);
        const tt = split(tv[r]!);
        const b = st.p;
        const a = tt.p;
        const vs = st.hat.map((q, j) => (j === k ? 1 : 0) - q);
        const vt = tt.hat.map((q, j) => (j === k ? 1 : 0) - q);
        const Aq = A(st.hat);
        const Ap = A(tt.hat);
        for (let i = 0; i < 4; i++) {
          for (let j = 0; j < 4; j++) {
            const wantSS = (alpha * (b * (1 - b) * vs[i]! * vs[j]! - (b - a) * Aq[i]![j]!) + beta * Aq[i]![j]!) / B;
            const wantST = -(alpha * a * (1 - a) * vs[i]! * vt[j]! + beta * Ap[i]![j]!) / B;
            expect(Math.abs(Hss[r]![i]![r]![j]! - wantSS), `ss ${r} ${i} ${j}`).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(wantSS)));
            expect(Math.abs(Hst[r]![i]![r]![j]! - wantST), `st ${r} ${i} ${j}`).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(wantST)));
          }
        }
      }
    },
  );

  test("createGraph changes no gradient value (fusedWithGraph): bit for bit", () => {
    const s = [[0.3, -1.2, 2.5, 0.7], [1.1, 0.2, -0.4, -2.2]];
    const t = [[-0.5, 0.9, 1.7, -1.3], [0.4, 2.1, -1.0, 0.0]];
    const labels = int([2, 0]);
    for (const m of methods) {
      const o = { temperature: 3 };
      const plain = evaluate((a, b) => lossOf(m, true, a, b, labels, o), s, t);
      const a = f64(s, true);
      const b = f64(t, true);
      lossOf(m, true, a, b, labels, o).backward(undefined, { createGraph: true });
      expect(a.grad!.toFlatArray(), m).toEqual(plain.dS);
      expect(b.grad!.toFlatArray(), m).toEqual(plain.dT);
      expect(a.grad!.requiresGrad, m).toBe(true);
    }
  });

  test("dkd: a non-target class the teacher masks keeps every second-order block finite", () => {
    const s = f64([[0.3, -1.2, 2.5, 0.7], [1.1, 0.2, -0.4, -2.2]]);
    const t = f64([[-0.5, -Infinity, 1.7, -1.3], [0.4, 2.1, -Infinity, 0.0]]);
    const labels = int([2, 0]);
    for (const m of ["dkd", "nkd", "wsld"] as const) {
      const L = (a: Tensor, b: Tensor): Tensor => lossOf(m, true, a, b, labels, { temperature: 2 });
      for (const H of [hessian((a: Tensor) => L(a, t))(s), mixed(L, s, t), hessian((b: Tensor) => L(s, b))(t)]) {
        expect(H.toFlatArray().every(Number.isFinite), m).toBe(true);
      }
    }
  });
});

describe("distLoss at its guard (a centred norm ≤ 1e-8)", () => {
  // Teacher column 0 is tiny (≈ 1e-9, centred norm 4e-10: guarded, and it stays guarded under
  // the finite differences' steps) next to a large student column (0.24 and 0.02). Forming
  // the teacher's centred column as a + D̃ (student plus the difference) cancelled 0.15 down
  // to 4e-10 and left 1e-7 of relative noise in ρ: the finite differences of the loss saw it
  // (gradcheck failed); the teacher's own centred values do not cancel.
  const s = [[0, 1, -1], [-3, 0, 0]];
  const t = [[-22, 0, 1], [-20, 1, 0]];

  test("gradcheck in both inputs, column relation alone and with the rows", () => {
    for (const o of [{ beta: 0, gamma: 1, temperature: 1 }, { beta: 1, gamma: 2, temperature: 1 }]) {
      assertGradcheck((a: Tensor, b: Tensor) => distLoss(a, b, o), [f64(s, true), f64(t, true)]);
    }
  });

  test("a constant row (centred norm 0) keeps the loss, the gradients and the second order finite", () => {
    const flat = [[0.5, 0.5, 0.5], [1, -2, 0.3]];
    const L = (a: Tensor, b: Tensor): Tensor => distLoss(a, b, { temperature: 2 });
    const r = evaluate(L, flat, t);
    expect([r.L, ...r.dS, ...r.dT].every(Number.isFinite)).toBe(true);
    for (const H of [hessian((a: Tensor) => L(a, f64(t)))(f64(flat)), hessian((b: Tensor) => L(f64(t), b))(f64(flat))]) {
      expect(H.toFlatArray().every(Number.isFinite)).toBe(true);
    }
  });
});

describe("the role of T at large T", () => {
  const s = [[1.3, -0.2, 0.5, -1.1, 0.4], [0.1, 2.0, -0.7, 0.3, -0.9], [-0.6, 0.8, 1.1, -1.5, 0.2]];
  const t = [[0.9, 0.4, -0.3, -0.8, 1.0], [-0.2, 1.5, 0.6, -1.2, 0.1], [0.4, -0.3, 1.6, -0.9, -0.5]];
  const labels = int([0, 1, 2]);
  const norm = (g: number[]): number => Math.sqrt(g.reduce((a, b) => a + b * b, 0));
  const gradNorm = (m: Method, T: number): number =>
    norm(evaluate((a, b) => lossOf(m, true, a, b, labels, { temperature: T }), s, t).dS);

  test("dkd, nkd, wsld: the T²-scaled student gradient tends to a T-independent limit (ratio → 1 per 10× in T)", () => {
    for (const m of ["dkd", "nkd", "wsld"] as const) {
      for (const T of [100, 1000]) {
        const ratio = gradNorm(m, 10 * T) / gradNorm(m, T);
        // The correction to the limit is O(1/T) (the softmax's second-order term).
        expect(Math.abs(ratio - 1), `${m} T = ${T}: ${ratio}`).toBeLessThanOrEqual(20 / T);
      }
    }
  });

  test("dkd → weighted logit matching: α(C − 1)/(2C²)·(δ_y − δ̄_O)² + β/(2(C − 1))·Σ_O (δ_j − δ̄_O)², δ = s − t", () => {
    const C = 5;
    const limit = (alpha: number, beta: number): number => {
      let total = 0;
      s.forEach((row, r) => {
        const y = r; // labels are [0, 1, 2]
        const delta = row.map((v, j) => v - t[r]![j]!);
        const others = delta.filter((_, j) => j !== y);
        const mean = others.reduce((a, b) => a + b, 0) / (C - 1);
        total += (alpha * (C - 1) * (delta[y]! - mean) ** 2) / (2 * C * C) + (beta / (2 * (C - 1))) * others.reduce((a, v) => a + (v - mean) ** 2, 0);
      });
      return total / s.length;
    };
    for (const [alpha, beta] of [[1, 8], [1, 0], [0, 1], [2, 3]] as const) {
      const errs = [1e3, 1e4, 1e5].map((T) => Math.abs(dkdLoss(f64(s), f64(t), labels, { alpha, beta, temperature: T }).item() / limit(alpha, beta) - 1));
      // The correction is O(R/T) (R ≈ 2 here): it falls tenfold per tenfold T.
      expect(errs[0]!, `α=${alpha} β=${beta}`).toBeLessThanOrEqual(1e-2);
      expect(errs[1]! / errs[0]!).toBeLessThan(0.15);
      expect(errs[2]! / errs[1]!).toBeLessThan(0.15);
    }
  });

  test("dist: the gradient grows like T² (ρ ignores the 1/(C·T) scale of the centred softmax)", () => {
    for (const T of [100, 1000]) {
      const ratio = gradNorm("dist", 10 * T) / gradNorm("dist", T);
      expect(Math.abs(ratio / 100 - 1), `T = ${T}: ${ratio}`).toBeLessThanOrEqual(20 / T);
    }
  });
});

describe("non-finite policy (docs/non-finite.md)", () => {
  const labels = int([0, 2]);
  const check = (m: Method, sv: number[][], tv: number[][], o: Record<string, unknown>, want: "finite" | "inf" | "nan"): void => {
    const r = evaluate((a, b) => lossOf(m, true, a, b, labels, o), sv, tv);
    if (want === "finite") {
      expect(Number.isFinite(r.L), `${m} loss ${r.L}`).toBe(true);
      expect(r.dS.every(Number.isFinite) && r.dT.every(Number.isFinite), `${m} gradients`).toBe(true);
    } else if (want === "inf") expect(r.L, m).toBe(Infinity);
    else {
      expect(r.L, m).toBeNaN();
      expect(r.dS.some(Number.isNaN), `${m} dS`).toBe(true);
    }
  };

  test("a class the teacher masks (−∞) adds nothing: finite, and 0 in the teacher's gradient there", () => {
    const s = [[0.3, -1.2, 2.5, 0.7], [1.1, 0.2, -0.4, -2.2]];
    const t = [[-0.5, -Infinity, 1.7, -1.3], [0.4, -Infinity, 1.0, 0.0]];
    for (const m of methods) check(m, s, t, { temperature: 2 }, "finite");
    for (const m of ["dkd", "nkd", "wsld"] as const) {
      const r = evaluate((a, b) => lossOf(m, true, a, b, labels, { temperature: 2 }), s, t);
      expect(r.dT[1], m).toBe(0);
      expect(r.dT[5], m).toBe(0);
    }
  });

  test("both mask the same class: finite, and (but for DIST) equal to the loss without that class", () => {
    const s = [[0.3, -Infinity, 2.5, 0.7], [1.1, -Infinity, -0.4, -2.2]];
    const t = [[-0.5, -Infinity, 1.7, -1.3], [0.4, -Infinity, 1.0, 0.0]];
    const drop = (x: number[][]): number[][] => x.map((row) => row.filter((_, j) => j !== 1));
    for (const m of methods) {
      check(m, s, t, { temperature: 2 }, "finite");
      // DIST keeps the class: Y = 0 there enters every row's mean, and its column's
      // correlation hits the guard (ρ = 0), adding γ·T²/C.
      if (m === "dist") continue;
      const full = lossOf(m, true, f64(s), f64(t), labels, { temperature: 2 }).item();
      const reduced = lossOf(m, true, f64(drop(s)), f64(drop(t)), int([0, 1]), { temperature: 2 }).item();
      expect(Math.abs(full - reduced), m).toBeLessThanOrEqual(1e-13 * Math.abs(reduced));
    }
  });

  test("teacher mass on a class the student masks: +∞ (dkd, nkd, wsld)", () => {
    const s = [[0.3, -Infinity, 2.5, 0.7], [1.1, 0.2, -0.4, -2.2]];
    const t = [[-0.5, 0.3, 1.7, -1.3], [0.4, 0.5, 1.0, 0.0]];
    for (const m of ["dkd", "nkd", "wsld"] as const) check(m, s, t, { temperature: 2 }, "inf");
  });

  test("dkd: a target the teacher masks gives a = 0, TCKD = −log(1 − b): finite; the student's target masked too: TCKD = 0", () => {
    const s = [[0.3, -1.2, 2.5, 0.7], [1.1, 0.2, -0.4, -2.2]];
    const t = [[-Infinity, 0.9, 1.7, -1.3], [0.4, 2.1, -Infinity, 0.0]];
    check("dkd", s, t, { temperature: 2 }, "finite");
    const tc = dkdLoss(f64(s), f64(t), labels, { alpha: 1, beta: 0, temperature: 2 }).item();
    // −log(1 − b) per row, b = softmax(s/2)_y, in log space: softplus(ℓ_s) = log(1 + e^{ℓ_s}).
    const want = [0, 1].map((r) => {
      const z = s[r]!.map((v) => v / 2);
      const k = [0, 2][r]!;
      const others = Math.log(z.reduce((a, v, j) => (j === k ? a : a + Math.exp(v)), 0));
      return Math.log1p(Math.exp(z[k]! - others));
    });
    expect(Math.abs(tc - 4 * (want[0]! + want[1]!) / 2)).toBeLessThanOrEqual(1e-13 * tc);
    const both = dkdLoss(f64([[-Infinity, 1, 2]]), f64([[-Infinity, 2, 1]]), int([0]), { alpha: 1, beta: 0, temperature: 1 }).item();
    expect(both).toBe(0);
  });

  test("logits at ±1e4: every loss and gradient finite; DKD's 1 − p_y is not a subtraction", () => {
    const s = [[1e4, -1e4, 0, 5e3], [-1e4, 1e4, 3, -2]];
    const t = [[-1e4, 1e4, 2, 0], [1e4, -1e4, -5e3, 1]];
    for (const m of methods) for (const T of [1, 4, 1e4]) check(m, s, t, { temperature: T }, "finite");
    // One row: the student puts all its mass on the target (1 − p_y = e^{−2e4/T}, 0 in float64 at
    // T = 1), the teacher none: TCKD = ā·log(ā/b̄) = −log b̄ = 2e4/T + log1p(…) ≈ 2e4 at T = 1.
    const tc = dkdLoss(f64([[1e4, -1e4, -1e4]]), f64([[-1e4, 1e4, 1e4]]), int([0]), { alpha: 1, beta: 0, temperature: 1 }).item();
    expect(Math.abs(tc - (2e4 - Math.log(2)))).toBeLessThanOrEqual(1e-12 * 2e4);
  });

  test("NaN in, NaN out", () => {
    const s = [[0.3, NaN, 2.5, 0.7], [1.1, 0.2, -0.4, -2.2]];
    const t = [[-0.5, 0.9, 1.7, -1.3], [0.4, 2.1, -1.0, 0.0]];
    for (const m of methods) check(m, s, t, { temperature: 2 }, "nan");
    for (const m of methods) check(m, t, s, { temperature: 2 }, "nan");
  });

  test("dkd: a teacher whose non-target logits are all −∞ has no NCKD (NaN with β > 0); TCKD alone keeps its value −log b", () => {
    const s = [[0.3, -1.2, 2.5]];
    const t = [[1, -Infinity, -Infinity]];
    const y = int([0]);
    expect(dkdLoss(f64(s), f64(t), y, { alpha: 1, beta: 1, temperature: 2 }).item()).toBeNaN();
    const r = evaluate((a, b) => dkdLoss(a, b, y, { alpha: 1, beta: 0, temperature: 2 }), s, t);
    const z = s[0]!.map((v) => v / 2);
    const logB = z[0]! - Math.log(z.reduce((acc, v) => acc + Math.exp(v), 0));
    expect(Math.abs(r.L - 4 * -logB)).toBeLessThanOrEqual(1e-14 * r.L);
    expect([...r.dS, ...r.dT].every(Number.isFinite)).toBe(true);
  });

  test("wsld with α = 0 does not read the teacher: it is the cross-entropy, whatever the teacher holds", () => {
    const s = [[0.3, -1.2, 2.5], [1.1, 0.2, -0.4]];
    const t = [[NaN, Infinity, -Infinity], [NaN, 0, 1]];
    const r = evaluate((a, b) => wsldLoss(a, b, labels, { alpha: 0 }), s, t);
    const ce = s.reduce((acc, row, i) => acc - row[[0, 2][i]!]! + Math.log(row.reduce((a2, v) => a2 + Math.exp(v), 0)), 0) / 2;
    expect(Math.abs(r.L - ce)).toBeLessThanOrEqual(1e-14 * ce);
    expect(r.dT).toEqual([0, 0, 0, 0, 0, 0]);
  });

  test("a term of weight 0 is not evaluated: dkd with α = 0 does not read the target column", () => {
    const s = [[NaN, -1.2, 2.5, 0.7], [1.1, 0.2, NaN, -2.2]];
    const t = [[Infinity, 0.9, 1.7, -1.3], [0.4, 2.1, NaN, 0.0]];
    check("dkd", s, t, { alpha: 0, beta: 1, temperature: 2 }, "finite");
    const r = evaluate((a, b) => dkdLoss(a, b, labels, { alpha: 0, beta: 1, temperature: 2 }), s, t);
    expect([r.dS[0], r.dS[6], r.dT[0], r.dT[6]]).toEqual([0, 0, 0, 0]);
  });
});

describe("argument errors name the function, the argument and the value", () => {
  const s = f64([[0.3, -1.2, 2.5], [1.1, 0.2, -0.4]]);
  const t = f64([[-0.5, 0.9, 1.7], [0.4, 2.1, -1.0]]);
  const y = int([0, 2]);
  const cases: [string, () => unknown, new (...a: any[]) => Error, RegExp][] = [
    ["dkd one class", () => dkdLoss(f64([[1], [2]]), f64([[1], [2]]), y), ShapeError, /dkdLoss: student must have a target class and at least one other class, got shape \[2,1\]/],
    ["nkd one class", () => nkdLoss(f64([[1], [2]]), f64([[1], [2]]), y), ShapeError, /nkdLoss: student/],
    ["dist one row", () => distLoss(f64([[1, 2]]), f64([[2, 1]])), ValueError, /distLoss: the batch must have at least 2 rows.*got 1/],
    ["dkd negative beta", () => dkdLoss(s, t, y, { beta: -1 }), ValueError, /dkdLoss: beta must be a finite number ≥ 0, got -1/],
    ["dkd NaN alpha", () => dkdLoss(s, t, y, { alpha: NaN }), ValueError, /dkdLoss: alpha .* got NaN/],
    ["dist infinite gamma", () => distLoss(s, t, { gamma: Infinity }), ValueError, /distLoss: gamma .* got Infinity/],
    ["nkd string gamma", () => nkdLoss(s, t, y, { gamma: "1" as unknown as number }), ValueError, /nkdLoss: gamma .* got "1"/],
    ["wsld negative alpha", () => wsldLoss(s, t, y, { alpha: -0.5 }), ValueError, /wsldLoss: alpha .* got -0.5/],
    ["temperature 0", () => wsldLoss(s, t, y, { temperature: 0 }), ValueError, /wsldLoss: temperature must be in \[1e-6, 1e6\], got 0/],
    ["temperature 1e7", () => dkdLoss(s, t, y, { temperature: 1e7 }), ValueError, /dkdLoss: temperature/],
    ["standardize string", () => dkdLoss(s, t, y, { standardize: "yes" as unknown as boolean }), ValueError, /dkdLoss: standardize must be true or false, got yes/],
    ["label out of range", () => nkdLoss(s, t, int([0, 3])), IndexError, /nkdLoss: labels\[1\] = 3 is out of range \[0, 3\)/],
    ["float labels", () => dkdLoss(s, t, f64([[0, 1]]) as Tensor), DTypeError, /dkdLoss: labels must be int32/],
    ["labels shape", () => wsldLoss(s, t, int([0])), ShapeError, /wsldLoss: labels has shape \[1\] but the input needs \[2\]/],
    ["shape mismatch", () => distLoss(s, f64([[1, 2], [3, 4]])), ShapeError, /distLoss: teacher has shape \[2,2\] but student has shape \[2,3\]/],
    ["rank", () => dkdLoss(tensor([1, 2, 3], { dtype: "float64" }), t, y), ShapeError, /dkdLoss: student must have shape \[B, C\]/],
    ["options", () => nkdLoss(s, t, y, 3 as unknown as object), ValueError, /nkdLoss: options must be an object with keys among temperature, gamma, got 3/],
  ];
  for (const [name, f, cls, msg] of cases) {
    test(name, () => {
      expect(f).toThrow(cls);
      expect(f).toThrow(msg);
    });
  }
});
