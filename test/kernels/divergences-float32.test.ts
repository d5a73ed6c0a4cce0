/**
 * The float32 contract of distillationLoss's general kernel (every divergence), against the
 * exact reference (test/losses/exact-divergences.ts), on adversarial rows up to C = 152,064.
 *
 * What the kernel can promise (docs/distillation-methods.md, "Precision"). It reads float32
 * logits exactly, computes every row in float64 and rounds each stored value once. So a row's
 * float32 loss is fl32(L₆₄) and
 *   |L₃₂ − L|/L ≤ u + (1 + u)·E₆₄,   u = 2⁻²⁴ ≈ 6.0e-8,
 * with E₆₄ the float64 computation's relative error. E₆₄ is bounded to first order, per row,
 * by the error of each quantity times the divergence's sensitivity to it (errorBound64 below):
 *   - a shared relative error ν̄ = ε(2 + A) in q and p (p is formed from q in the log-ratio form):
 *     |δD| ≤ ν̄·(D + |D − S_p| + |S_p|), S_p = Σ p·f̃′(p/q) (f̃′ = f′ − f′(1) for D = Σ q·f(p/q));
 *     S_p = D for the forward KL, 0 for the reverse, ≤ D for the JSD;
 *   - an error δyᵢ in each log-ratio yᵢ = log(pᵢ/qᵢ): |δD| ≤ Σ pᵢ·|f̃′(rᵢ)|·δyᵢ, with δyᵢ =
 *     3ε|xᵢ| + δlog Z for a regular row (xᵢ centred at the q-mean, log Z = log Σ q·eˣ formed from
 *     M = Σ q(eˣ − 1): δlog Z ≤ (C + 8)ε·Σ q|eˣ − 1| + 2ε|log Z|), and 4ε(|z_t,i| + |z_s,i| + |c_t| + |c_s|)
 *     for a direct one (z the logits less their max, over T, c the log-sum-exps);
 *   - each term w·φ(v) ≥ 0 to 12ε relative, and their sum over C classes to (C − 1)ε.
 * Then E₆₄ ≤ [those]/D + (14 + C)ε. On a regular row every piece is O(ε) relative to D
 * (about (20 + C)ε·(a few)), so the float32 loss is within about 6.0e-8 + 1e-10: the final
 * rounding. The test holds each row to exactly that bound, with each row's own quantities.
 * Gradient entries: within 64 float32 ulps of the terms they are made of (as the original
 * kernel's contract) plus their own rounding.
 */
import { describe, expect, test } from "vitest";
import { distillationLoss, tensor, type Divergence } from "../../src/index.js";
import { mixtureWeight } from "../../src/losses/distillation-options.js";
import { exactDivergenceRow, mixtureWeights } from "../losses/exact-divergences.js";

const U = 2 ** -24;
const EPS = Number.EPSILON;
const f = Math.fround;

interface Row {
  name: string;
  s: number[];
  t: number[];
  n: number[];
  T: number;
}

/**
 * f̃′(r) of each divergence (f′ − f′(1)), D = Σ q·f(p/q), as a function of y = log r, written
 * without cancellation near r = 1 (expm1, log1p): the first-order sensitivity of D to yᵢ.
 */
function fPrime(d: Divergence, w: number, y: number): number {
  const e = Math.expm1(y);
  switch (d) {
    case "forward": return y;
    case "reverse": return -Math.expm1(-y);
    case "jsd": return w * (y - Math.log1p(w * e));
    case "skewForward": { const m = 1 + w * e; return y - Math.log1p(w * e) - ((1 - w) * w * e) / m; }
    case "skewReverse": { const m = 1 + (1 - w) * e; return ((1 - w) * (1 - w) * e) / m; }
    case "tvd": return Math.sign(y) / 2;
  }
}

/** The first-order bound E₆₄ on the float64 relative error of D for one row (see the header). */
function errorBound64(d: Divergence, mix: number, row: Row, D: number, q: number[], p: number[], logRatio: number[]): number {
  const { s, t, n, T } = row;
  const C = n.reduce((a, b) => a + b, 0);
  const fin = (v: number[]): number[] => v.filter((x) => x !== -Infinity);
  const [ms, mt] = [Math.max(...fin(s)), Math.max(...fin(t))];
  // The kernel's choice of form (kernels/divergences.ts): regular when every logit is finite
  // or a teacher class is masked, the spread of (t − s)/T is at most 500, and the student's
  // mass on the teacher's support is at least 2⁻²⁰.
  const us = s.map((si, i) => t[i]! - si).filter(Number.isFinite);
  const keptMass = q.reduce((acc, qi, i) => acc + (t[i] === -Infinity ? 0 : qi * n[i]!), 0);
  const regular = s.every((si, i) => Number.isFinite(si) || t[i] === -Infinity) && (Math.max(...us) - Math.min(...us)) / T <= 500 && keptMass >= 2 ** -20;
  const A = Math.max(...s.map((si, i) => (q[i]! > 1e-300 ? Math.abs((si - ms) / T) : 0)));
  const nu = EPS * (2 + A);
  let Sp = 0;
  let first = 0;
  let l1 = 0;
  let ubar = 0;
  let Mabs = 0;
  if (regular) {
    let w = 0;
    s.forEach((si, i) => { if (t[i] !== -Infinity) { ubar += q[i]! * n[i]! * (t[i]! - si); w += q[i]! * n[i]!; } });
    ubar /= w;
    s.forEach((si, i) => { if (t[i] !== -Infinity) Mabs += q[i]! * n[i]! * Math.abs(Math.expm1((t[i]! - si - ubar) / T)); else Mabs += q[i]! * n[i]!; });
  }
  const logZ = Math.log(p.reduce((acc, pi, i) => acc + (t[i] === -Infinity ? 0 : q[i]! * n[i]! * Math.exp((t[i]! - s[i]! - ubar) / T)), 0));
  const dLogZ = ((C + 8) * EPS * Mabs) / Math.exp(logZ) + 2 * EPS * Math.abs(logZ);
  const cs = Math.log(s.reduce((acc, si, i) => acc + (si === -Infinity ? 0 : n[i]! * Math.exp((si - ms) / T)), 0));
  const ct = Math.log(t.reduce((acc, ti, i) => acc + (ti === -Infinity ? 0 : n[i]! * Math.exp((ti - mt) / T)), 0));
  for (let i = 0; i < s.length; i++) {
    const [pi, qi] = [p[i]!, q[i]!];
    l1 += n[i]! * Math.abs(pi - qi);
    if (pi === 0 || qi === 0) continue; // a masked side: the term is its limit, formed without y
    const fp = fPrime(d, mixtureWeight(mix), logRatio[i]!);
    Sp += n[i]! * pi * fp;
    const dy = regular
      ? 3 * EPS * Math.abs((t[i]! - s[i]! - ubar) / T) + dLogZ
      : 4 * EPS * (Math.abs((t[i]! - mt) / T) + Math.abs((s[i]! - ms) / T) + Math.abs(ct) + Math.abs(cs));
    first += n[i]! * pi * Math.abs(fp) * dy;
  }
  // The shared perturbation: δD = Σ νⱼqⱼf(rⱼ) − E_qν·(D − S_p) − E_pν·S_p, bounded two ways:
  // as it stands, and as −E_qν·D + S_p·(E_qν − E_pν) with |E_qν − E_pν| ≤ ν̄·Σ|p − q| (TVD needs
  // the second: its S_p is O(1) while D and Σ|p − q| = 2D are small together).
  const shared = nu * Math.min(D + Math.abs(D - Sp) + Math.abs(Sp), 2 * D + Math.abs(Sp) * l1);
  return (shared + first) / D + (14 + C) * EPS;
}

/** Build float32 rows (values rounded to float32 first, so the reference sees the same inputs). */
const row = (name: string, s: number[], t: number[], n: number[], T: number): Row => ({ name, s: s.map(f), t: t.map(f), n, T });

/** The adversarial rows at class count BIG (the largest vocabulary the contract covers, or a smaller one). */
const rowsAt = (BIG: number): Row[] => [
  row("flat student, teacher differs on the top class only", [1e-3, 0], [2e-3, 0], [1, BIG - 1], 1),
  row("flat student, large T", [0.5, 0], [1.5, 0], [1, BIG - 1], 1e3),
  row("flat student, T = 1e6", [3, 0], [-2, 0], [1, 32_000 - 1], 1e6),
  row("confident student, the teacher differs in its tail", [20, 0, 0], [20, 0, 0.5], [1, BIG - 2, 1], 1),
  row("teacher = student + shift, one float32 ulp apart on half", [1.5, -0.75], [4.5, f(-0.75 + 3) + 2 ** -22], [BIG / 2, BIG / 2], 1),
  row("two groups, (t − s)/T = 29.9", [0, 0], [29.9 * 0.3, 0], [1, 1000], 0.3),
  row("two groups, (t − s)/T = 400 (regular)", [0, 0], [400 * 2, 0], [1, 1000], 2),
  row("two groups, (t − s)/T = 700 (direct)", [0, 0], [700, 0], [3, 1000], 1),
  row("teacher mass where the student has e⁻¹⁰", [10, 0], [0, 10], [1, 100], 1),
  row("x in [−1.5, −0.3] on half the mass", [0, 0, 0], [-1.5, -0.3, 0.4], [500, 500, 1000], 1),
  row("logits at ±1e4", [1e4, -1e4, 0, 5], [-1e4, 1e4, 5, 0], [1, 1, 10, 10], 4),
  row("logits at ±1e4, T = 1e-6", [1e4, -1e4, 3e-6, 0], [1e4, 0, 0, 1e-6], [1, 1, 1, 1], 1e-6),
  row("moderate logits, T = 1e-6", [1e-6, 0, -2e-6], [0, 2e-6, 0], [1, 2, 3], 1e-6),
  row("teacher masks a third (both sides on a tenth)", [0.2, 0, -Infinity], [-Infinity, 0.7, -Infinity], [50_000, 100_000, 2064], 2),
  row("nearly equal rows, large C", [0.25, -0.125, 0], [0.25 + 2 ** -20, -0.125, 0], [1000, 1000, BIG - 2000], 1),
];
// Every setting runs every row; five of them (one of each kind of mixture) at C = 152,064, the
// rest at C = 16,384, where the same first-order terms dominate (and the suite stays quick).
const LARGE = new Set(["reverse 0", "jsd 0.5", "skewForward 0.1", "skewReverse 0.9", "tvd 0"]);
/** Rows where the student masks classes the teacher keeps: forward and reverse are infinite there. */
const studentMasked: Row[] = [
  row("student masks classes the teacher keeps", [0, 1, -Infinity], [0.5, 0, 2], [1000, 1000, 10], 1.5),
  row("student masks a class with 1e-20 of the teacher's mass", [0, 0.3, -Infinity], [0, 0.3, -46], [5000, 5000, 1], 1),
];

const settings: [Divergence, number][] = [
  ["forward", 0], ["reverse", 0], ["jsd", 0.5], ["jsd", 0.01], ["jsd", 0.99], ["skewForward", 0], ["skewForward", 0.1], ["skewForward", 0.9],
  ["skewReverse", 0.1], ["skewReverse", 0.9], ["tvd", 0],
];

function expandRow(r: Row): [Float32Array, Float32Array, number[]] {
  const C = r.n.reduce((a, b) => a + b, 0);
  const [s, t] = [new Float32Array(C), new Float32Array(C)];
  const group: number[] = [];
  let o = 0;
  r.n.forEach((cnt, g) => {
    s.fill(r.s[g]!, o, o + cnt);
    t.fill(r.t[g]!, o, o + cnt);
    for (let j = 0; j < cnt; j++) group.push(g);
    o += cnt;
  });
  return [s, t, group];
}

const worst = { loss: 0, bound: 0, E64: 0, gradient: 0, tvd: 0 };

describe("float32 contract of the general kernel: every divergence against the exact reference", () => {
  for (const [d, mix] of settings) {
    const options = d === "jsd" ? { divergence: d, beta: mix } : d.startsWith("skew") ? { divergence: d, skew: mix } : { divergence: d };
    // KL(p_t ‖ ·) with no mixture (forward, skewForward at λ = 0) is +∞ where the student masks
    // a class the teacher keeps; the mixtures (λ > 0, the JSD) and TVD stay finite there.
    const rows = rowsAt(LARGE.has(`${d} ${mix}`) ? 152_064 : 16_384);
    const finite = d === "forward" || d === "reverse" || (d.startsWith("skew") && mix === 0) ? rows : [...rows, ...studentMasked];
    for (const r of finite) {
      const infinite = d === "reverse" && r.t.includes(-Infinity) && r.s.some((v, i) => v !== -Infinity && r.t[i] === -Infinity);
      test(`${d}${mix ? ` ${mix}` : ""}: ${r.name}`, () => {
        const [s, t, group] = expandRow(r);
        const C = s.length;
        const label = group.findIndex((g) => r.s[g] !== -Infinity);
        const alpha = 0.5;
        const x = tensor(s, { shape: [1, C] }).requiresGrad_();
        const y = tensor(t, { shape: [1, C] }).requiresGrad_();
        const loss = distillationLoss(x, y, { ...options, labels: tensor([label], { dtype: "int32" }), alpha, temperature: r.T, reduction: "none" } as never);
        if (infinite) {
          expect(loss.item()).toBe(Infinity);
          return;
        }
        loss.backward();
        const ref = exactDivergenceRow(d, mix, r.s, r.t, r.n, r.T, alpha, 2, group[label]!);
        const got = loss.item();
        const E64 = errorBound64(d, mix, r, ref.D, ref.q, ref.p, ref.logRatio);
        if (ref.loss === 0) {
          // p = q and CE = 0 to far below the smallest double (a row of T = 1e-6 whose argmaxes agree).
          expect(got).toBe(0);
          return;
        }
        // The loss is α·T²·D + (1 − α)·CE: the soft part to E₆₄ of itself, the CE (and the sum
        // of the two) to 16ε of the loss, then one float32 rounding.
        const soft = alpha * r.T * r.T * ref.D;
        const allowed = U * ref.loss + (1 + U) * (E64 * soft + 16 * EPS * ref.loss);
        const err = Math.abs(got - ref.loss);
        expect(err, `loss ${got} vs exact ${ref.loss}, E64 ${E64} of the soft part ${soft}`).toBeLessThanOrEqual(allowed);
        worst.loss = Math.max(worst.loss, err / ref.loss);
        worst.bound = Math.max(worst.bound, allowed / ref.loss);
        worst.E64 = Math.max(worst.E64, (E64 * soft) / ref.loss);
        // Gradients: each entry within 64 float32 ulps of its terms (as in termSizes of
        // test/losses/divergences.test.ts: w·(|log w| + |log m| + max|ℓ|) + 2|κ|(p + q), times
        // α·T, plus the cross-entropy's (1 − α)(softmax + 1)), plus its own rounding.
        const [cp, cq, mp, mq] = mixtureWeights(d, mix);
        const kappa = Math.abs(cp - mp);
        const logM = ref.p.map((pi, g) => Math.log(mp * pi + mq * ref.q[g]!));
        const ell = [...ref.logP.map((v, g) => (ref.p[g]! > 0 ? Math.abs(v - logM[g]!) : 0)), ...ref.logQ.map((v, g) => (ref.q[g]! > 0 ? Math.abs(v - logM[g]!) : 0))];
        const big = Math.max(0, ...ell.filter(Number.isFinite));
        const sm = Math.max(...r.s.filter((v) => v !== -Infinity));
        const z1 = r.s.reduce((a, v, g) => a + (v === -Infinity ? 0 : r.n[g]! * Math.exp(v - sm)), 0);
        const [gs, gt] = [x.grad!.toFlatArray(), y.grad!.toFlatArray()];
        // TVD's gradient holds σ = sign(p − q), a step: where |p − q| is below the error of the
        // log-ratio that decides it (the direct form's 4ε(|z_t| + |z_s| + |c_t| + |c_s|), relative),
        // the computed σ may be 0 or the other sign. Such a class moves its own entry by at most
        // ½·(p + q)·2 and every entry's centring by its mass: the test allows exactly that.
        let ambiguous = 0;
        const amb: boolean[] = ref.p.map((pi, g) => {
          const qi = ref.q[g]!;
          if (d !== "tvd" || pi === 0 || qi === 0) return false;
          const zt = Math.abs(ref.logP[g]!) + Math.abs(ref.logQ[g]!);
          const yes = Math.abs(pi - qi) <= 16 * EPS * (1 + zt + 2 * Math.log(C)) * Math.max(pi, qi);
          if (yes) ambiguous += r.n[g]! * (pi + qi);
          return yes;
        });
        for (let i = 0; i < C; i += Math.max(1, Math.floor(C / 2000))) {
          const g = group[i]!;
          const [pi, qi] = [ref.p[g]!, ref.q[g]!];
          const tvd = d === "tvd";
          const step = tvd ? (pi + qi) * ((amb[g] ? 1 : 0) + ambiguous) / (64 * U) : 0;
          const termT = alpha * r.T * (tvd ? pi + qi + step : (pi > 0 ? cp * pi * (Math.abs(ref.logP[g]!) + Math.abs(logM[g]!) + big) : 0) + 2 * kappa * (pi + qi));
          const termS = alpha * r.T * (tvd ? pi + qi + step : (qi > 0 ? cq * qi * (Math.abs(ref.logQ[g]!) + Math.abs(logM[g]!) + big) : 0) + 2 * kappa * (pi + qi))
            + (1 - alpha) * ((r.s[g] === -Infinity ? 0 : Math.exp(r.s[g]! - sm) / z1) + (i === label ? 1 : 0));
          // The reference puts the label's −(1 − α) on its whole group; only class `label` has it.
          const wantS = ref.dS[g]! + (g === group[label] && i !== label ? 1 - alpha : 0);
          for (const [v, want, term] of [[gs[i]!, wantS, termS], [gt[i]!, ref.dT[g]!, termT]] as const) {
            const err = Math.abs(v - want);
            expect(err, `gradient entry ${i}: ${v} vs ${want}`).toBeLessThanOrEqual(64 * U * term + U * Math.abs(want) + 1e-44);
            if (!tvd) worst.gradient = Math.max(worst.gradient, err / (64 * U * term + U * Math.abs(want) + 1e-44));
            if (term > 0 && tvd) worst.tvd = Math.max(worst.tvd, err / (64 * U * term + U * Math.abs(want)));
          }
        }
      });
    }
  }
  test("summary: the worst relative loss error stays below 1e-7 (the bound's largest value too)", () => {
    expect(worst.loss).toBeLessThan(1e-7);
    expect(worst.bound).toBeLessThan(1e-7);
    console.log(`divergences float32: worst loss error ${worst.loss.toExponential(2)} relative (bound ${worst.bound.toExponential(2)}; its float64 part ${worst.E64.toExponential(2)}), worst gradient error ${worst.gradient.toFixed(3)} of its allowance, 64 u of its terms plus its rounding (TVD: ${worst.tvd.toFixed(3)}, the sign steps included)`);
  });
});
