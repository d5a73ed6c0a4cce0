/**
 * The general kernel's gradients where one side puts all its mass on one class, and the centre of
 * its log-ratio form at huge logits (src/kernels/divergences.ts, "The centring";
 * docs/distillation-methods.md, "Precision"): defects the fuzz suite found, each with the rows
 * that showed it. The file runs once per backend (vitest.config.ts): float32 calls go to the
 * project's backend (TypeScript or WebAssembly), float64 ones to the TypeScript kernel.
 *
 * - A one-hot teacher (its other classes masked at −∞, or e^−800 and more below) has
 *   ∂D/∂t = 0 for every divergence but the reverse KL (whose ∂D/∂(t/T) is p − q): each term
 *   p ⊙ (a − E_p a) vanishes. The kernel formed ℓ_p − K_p (K_p the value's KL, Σ p = 1 assumed)
 *   and p·δρ − p·E_p δρ, which leave (1 − Σ p̂)·ℓ_J and the rounding of K_p: WebAssembly gave
 *   1.35e-20 where TypeScript gave 0 (s = [−2.25, −3], t = [−1.19e38, −∞], T = 2; the fuzz
 *   suite's float32 tolerance is relative to the tensor's largest entry, 1.8e-19 there). Each
 *   side is now centred on its largest class J: (a − a_J) − Σ w·(a − a_J), exactly 0 on a
 *   one-hot row. The same on the student's side for a one-hot student.
 * - The centre ū of the log-ratio form was rounded into one number, Su/Sq: at t − s = −1.7e34
 *   that rounding moved x by 5.8e17 (s = [−3, 1.625], t = [−1.7e34, −∞], T = 4: e^x = ∞, a NaN
 *   row on TypeScript where WebAssembly, whose exp rounded Sq differently, gave ∂/∂t = p − q).
 *   It is now the pair D + c, as in the fused kernel.
 * - The form was chosen from the spread of the rounded t − s: s = [1e20, 1e20], t = [0, 3000]
 *   has a rounded spread of 0 and an exact one of 3000 (x = 3000 at T = 1: a NaN row where the
 *   forward KL is log 2). The spread is now the exact one's, as in the fused kernel.
 */
import { describe, expect, test } from "vitest";
import { distillationLoss, getBackend, setBackend, tensor, type Divergence, type Tensor } from "../../src/index.js";
import { mixtureWeight } from "../../src/losses/distillation-options.js";
import { buildTensor } from "../fuzz/values.js";
import { BACKEND_RTOL } from "../fuzz/calls.js";
import type { TensorArg } from "../fuzz/values.js";
import { exactDivergenceRow } from "./exact-divergences.js";

const EPS = Number.EPSILON;
const U = 2 ** -24;
const f = Math.fround;

type DType = "float32" | "float64";
type Setting = [Divergence, number];

/** Every divergence, the JSD and the skews at a small and a large mixture weight. */
const settings: Setting[] = [
  ["forward", 0], ["reverse", 0], ["jsd", 0.5], ["jsd", 0.01], ["skewForward", 0.1], ["skewForward", 0.9],
  ["skewReverse", 0.1], ["skewReverse", 0.9], ["tvd", 0],
];
const optionsOf = ([d, w]: Setting): object => (d === "jsd" ? { divergence: d, beta: w } : d.startsWith("skew") ? { divergence: d, skew: w } : { divergence: d });

/** The weights (c_p, c_q, μ_p, μ_q) as the kernel uses them (mixtureWeight: μ_p + μ_q = 1 exactly). */
function weights([d, w]: Setting): [number, number, number, number] {
  const m = mixtureWeight(w);
  switch (d) {
    case "forward": return [1, 0, 0, 1];
    case "reverse": return [0, 1, 1, 0];
    case "jsd": return [m, 1 - m, m, 1 - m];
    case "skewForward": return [1, 0, m, 1 - m];
    case "skewReverse": return [0, 1, 1 - m, m];
    case "tvd": return [0, 0, 0, 0];
  }
}

/** log softmax(x/T) in float64 from the stored values (−∞ stays −∞): each entry to a few ε of |x − max x|/T + log C. */
function logSoftmax(x: number[], T: number): number[] {
  const m = Math.max(...x);
  const z = x.map((v) => (v - m) / T);
  const lse = Math.log(z.reduce((a, v) => a + Math.exp(v), 0));
  return z.map((v) => v - lse);
}

interface Grads {
  loss: number;
  dS: number[];
  dT: number[];
}

/** distillationLoss with reduction 'sum' (the general kernel for every divergence), α = 1, scaleT2: dS = T·∂D/∂(s/T). */
function grads(dtype: DType, s: number[], t: number[], T: number, setting: Setting): Grads {
  const x = tensor([s], { dtype, requiresGrad: true });
  const y = tensor([t], { dtype, requiresGrad: true });
  const l = distillationLoss(x, y, { ...optionsOf(setting), temperature: T, reduction: "sum" } as never);
  l.backward();
  return { loss: l.item(), dS: x.grad!.toFlatArray(), dT: y.grad!.toFlatArray() };
}

/**
 * ∂D/∂(w-side logits/T) for a one-hot distribution on the other side (all its mass on class J),
 * from the kernel's rule (header of src/kernels/divergences.ts) with the other side's probabilities
 * set to e_J: g = w ⊙ [c(ℓ − E_w ℓ) − μ(ρ − E_w ρ)], ℓ = log(w/m), ρ = (c_p·p + c_q·q)/m, m = μ_p·p + μ_q·q,
 * and the size of the terms each entry is made of (for the tolerance): w·(|log w| + |log m| + max|ℓ|) + 2|κ|(p + q).
 * `student` says which side w is: the student's (q, with p = e_J) or the teacher's (p, with q = e_J).
 */
function oneHotGradient(setting: Setting, lw: number[], J: number, student: boolean): { g: number[]; terms: number[] } {
  const [cp, cq, mp, mq] = weights(setting);
  const w = lw.map(Math.exp);
  const C = w.length;
  const e = w.map((_, i) => (i === J ? 1 : 0));
  const [p, q] = student ? [e, w] : [w, e];
  if (setting[0] === "tvd") {
    // σ = sign(p − q); g_t = ½·p ⊙ (σ − E_p σ), g_s = −½·q ⊙ (σ − E_q σ).
    const sg = p.map((pi, i) => Math.sign(pi - q[i]!));
    const E = w.reduce((a, wi, i) => a + wi * sg[i]!, 0);
    return { g: w.map((wi, i) => (student ? -0.5 : 0.5) * wi * (sg[i]! - E)), terms: w.map((wi, i) => 2 * (wi + e[i]!)) };
  }
  const [c, mu] = student ? [cq, mq] : [cp, mp];
  const m = p.map((pi, i) => mp * pi + mq * q[i]!);
  // ℓ = log(w/m) from the logs (log m = log μ_w + log w where the other side is 0).
  const l = w.map((wi, i) => (wi === 0 ? 0 : i === J ? lw[i]! - Math.log(m[i]!) : -Math.log(student ? mq : mp)));
  const rho = p.map((pi, i) => (m[i] === 0 ? 0 : (cp * pi + cq * q[i]!) / m[i]!));
  const El = w.reduce((a, wi, i) => a + wi * l[i]!, 0);
  const Er = w.reduce((a, wi, i) => a + wi * rho[i]!, 0);
  const big = Math.max(...l.map(Math.abs));
  const kappa = Math.abs(cp - mp);
  const g = w.map((wi, i) => wi * (c * (l[i]! - El) - mu * (rho[i]! - Er)));
  const terms = w.map((wi, i) => c * wi * (Math.abs(lw[i]!) + Math.abs(Math.log(m[i]!)) + big) + 2 * kappa * (p[i]! + q[i]!) + 2 * kappa * wi * Er);
  return { g, terms: terms.map((v) => (Number.isFinite(v) ? v : 0)) };
}

/** Each entry within 64ε of its terms (times T) plus, in float32, its own rounding. */
function expectGradient(what: string, dtype: DType, got: number[], want: number[], terms: number[], T: number): void {
  got.forEach((v, i) => {
    const w = T * want[i]!;
    const allowed = 64 * EPS * T * terms[i]! + (dtype === "float32" ? U * Math.abs(w) : 0) + 1e-300;
    expect(Math.abs(v - w), `${what}: entry ${i} is ${v}, the math says ${w}`).toBeLessThanOrEqual(allowed);
  });
}

/** Rows whose teacher (or student) is one-hot on class J = 0 in float64: masks, huge logits, e^−800 gaps. */
function oneHotRows(T: number, dtype: DType): [string, number[]][] {
  const r = dtype === "float32" ? f : (v: number): number => v;
  return [
    ["the others masked", [r(1.5), -Infinity, -Infinity, -Infinity, -Infinity]],
    ["the fuzz suite's row: −1.19e38 and −∞", [r(-1.189943821258335e38), -Infinity, -Infinity, -Infinity, -Infinity]],
    ["±1e38", [r(1e38), r(-1e38), r(-3e37), r(-1e38), -Infinity]],
    ["at 1e4, the others e^−800 and e^−900 below", [r(1e4), r(1e4 - 800 * T), r(1e4 - 900 * T), r(1e4 - 800 * T), r(1e4 - 1000 * T)]],
  ];
}

/** Moderate rows of 5 (students for a one-hot teacher, teachers for a one-hot student), and one at ±1e4. */
const moderate: number[][] = [
  [-2.25, -3, 0.5, 1.75, -0.125],
  [0.3, 2.9, -1.1, 0.7, 2.2],
  [1e4, -1e4, 9999.5, -3, 0],
];

describe("a one-hot teacher: ∂D/∂t is exactly 0 (p − q for the reverse KL), ∂D/∂s what the math says", () => {
  for (const setting of settings) {
    test(`${setting[0]}${setting[1] ? ` ${setting[1]}` : ""}`, () => {
      for (const dtype of ["float32", "float64"] as const) {
        for (const T of [0.5, 1, 2, 4, 10]) {
          for (const [name, t] of oneHotRows(T, dtype)) {
            for (const s0 of moderate) {
              const s = dtype === "float32" ? s0.map(f) : s0;
              const what = `${dtype}, T = ${T}, teacher ${name}, student [${s}]`;
              const r = grads(dtype, s, t, T, setting);
              const lq = logSoftmax(s, T);
              const q = lq.map(Math.exp);
              if (setting[0] === "reverse") {
                // ∂D/∂(t/T) = p − q: finite even where the teacher masks a class the student keeps (D = +∞).
                expectGradient(`${what}: dT`, dtype, r.dT, q.map((qi, i) => (i === 0 ? 1 : 0) - qi), q.map((qi, i) => 4 * (qi + (i === 0 ? 1 : 0))), T);
              } else {
                r.dT.forEach((v, i) => expect(v === 0, `${what}: dT[${i}] = ${v}`).toBe(true));
              }
              // ∂D/∂s: what the math says, where D is finite (the reverse KL of a teacher that masks
              // a class the student keeps is +∞; docs/non-finite.md says what its gradient is).
              if (!Number.isFinite(r.loss)) {
                expect(setting[0] === "reverse" && t.includes(-Infinity), `${what}: loss ${r.loss}`).toBe(true);
                continue;
              }
              // The reverse KL's and skewReverse's ℓ_q = log(q/p) at a class the teacher has e^−800 on:
              // from the logs, since p underflows (the closed form's w ⊙ … needs log p there).
              const lp = logSoftmax(t, T);
              let want: number[];
              let terms: number[];
              // (Sums over the student's support: a class it has no mass on adds nothing.)
              const Eq = (v: number[]): number => q.reduce((a, qi, i) => (qi === 0 ? a : a + qi * v[i]!), 0);
              if (setting[0] === "reverse") {
                const l = lq.map((v, i) => (q[i] === 0 ? 0 : v - lp[i]!));
                const K = Eq(l);
                const big = Math.max(...l.map(Math.abs));
                want = q.map((qi, i) => (qi === 0 ? 0 : qi * (l[i]! - K)));
                terms = q.map((qi, i) => (qi === 0 ? 0 : qi * (Math.abs(lq[i]!) + Math.abs(lp[i]!) + big) + 4 * qi));
              } else if (setting[0] === "skewReverse" && t.every(Number.isFinite)) {
                // m = λq + (1 − λ)p with p = e^−800: ℓ_q = log(q/m) = −log(λ + (1 − λ)·p/q), p/q from the logs.
                const [, , mp, mq] = weights(setting);
                const l = lq.map((v, i) => (q[i] === 0 ? 0 : -Math.log(mq + mp * Math.exp(lp[i]! - v))));
                const rho = l.map((v) => Math.exp(v));
                const K = Eq(l);
                const Er = Eq(rho);
                const big = Math.max(...l.map(Math.abs));
                want = q.map((qi, i) => (qi === 0 ? 0 : qi * ((l[i]! - K) - mq * (rho[i]! - Er))));
                terms = q.map((qi, i) => (qi === 0 ? 0 : qi * (Math.abs(lq[i]!) + Math.abs(l[i]!) + big) + 4 * qi * (1 + Er)));
              } else ({ g: want, terms } = oneHotGradient(setting, lq, 0, true));
              expectGradient(`${what}: dS`, dtype, r.dS, want, terms, T);
            }
          }
        }
      }
    });
  }
});

describe("a teacher with a mass m̄ off its top class: ∂D/∂t within m̄·64(C + 8)ε·(1 + b̄ + max|ℓ_p|) of the exact value", () => {
  // The centred form's bound (docs/distillation-methods.md, "The gradients' centring"): every
  // entry of the teacher's side is within m̄·[2δ + (2ν + (C + 3)ε)·b̄] (the ℓ part; δ, ν a few ε of
  // the row's log-space numbers, b̄ = max|ℓ_p − ℓ_p,J|) plus, for the mixture with μ_q > 0, a few
  // (C + 8)ε·|κ|·m̄: it vanishes with m̄. The uncentred form's error at J did not (a few ε·(1 + K)):
  // at m̄ = 1e-8 and 1e-12 it is far outside. The reverse KL's teacher side (p − q, from the
  // mixture with μ_q = 0) carries the student's mass off J and is not bounded by m̄.
  let worst = 0;
  for (const setting of settings.filter(([d]) => d !== "reverse")) {
    test(`${setting[0]}${setting[1] ? ` ${setting[1]}` : ""}`, () => {
      const [cp, , mp, mq] = weights(setting);
      for (const dtype of ["float32", "float64"] as const) {
        for (const T of [0.5, 1, 4]) {
          for (const mbar of [1e-3, 1e-8, 1e-12]) {
            const r = dtype === "float32" ? f : (v: number): number => v;
            const t = [0, r(T * Math.log(0.5 * mbar)), r(T * Math.log(0.3 * mbar)), r(T * Math.log(0.2 * mbar)), -Infinity];
            for (const s0 of moderate.slice(0, 2)) {
              const s = s0.map(r);
              const what = `${dtype}, T = ${T}, m̄ = ${mbar}, student [${s}]`;
              const got = grads(dtype, s, t, T, setting).dT;
              const ex = exactDivergenceRow(setting[0], setting[1], s, t, s.map(() => 1), T, 1, 2);
              const C = s.length;
              // ℓ_p = log(p/m) on the teacher's support; b̄ and max|ℓ_p| over it (TVD: σ, so 2 and 1).
              const lp = ex.logP.map((l, i) => (ex.p[i]! > 0 ? l - Math.log(mp * ex.p[i]! + mq * ex.q[i]!) : NaN));
              const on = lp.filter((v) => !Number.isNaN(v));
              const bbar = setting[0] === "tvd" ? 2 : Math.max(...on.map((v) => Math.abs(v - lp[0]!)));
              const L = setting[0] === "tvd" ? 1 : Math.max(...on.map(Math.abs));
              const mass = 1 - ex.p[0]!;
              expect(mass, what).toBeLessThan(1.01 * mbar);
              got.forEach((v, i) => {
                const want = ex.dT[i]!;
                const allowed = T * 64 * (C + 8) * EPS * mass * (1 + bbar + L) * Math.max(cp, 1) + (dtype === "float32" ? U * Math.abs(want) : 0) + 1e-300;
                expect(Math.abs(v - want), `${what}: dT[${i}] = ${v}, exact ${want}`).toBeLessThanOrEqual(allowed);
                if (dtype === "float64") worst = Math.max(worst, Math.abs(v - want) / allowed);
              });
            }
          }
        }
      }
    });
  }
  test("summary", () => {
    expect(worst).toBeLessThanOrEqual(1);
    console.log(`near-one-hot teacher, float64: worst ∂D/∂t error ${worst.toExponential(2)} of m̄·64(C + 8)ε·(1 + b̄ + max|ℓ_p|)`);
  });
});

describe("a one-hot student: ∂D/∂s is exactly 0 (q − p for the forward KL)", () => {
  for (const setting of settings) {
    test(`${setting[0]}${setting[1] ? ` ${setting[1]}` : ""}`, () => {
      for (const dtype of ["float32", "float64"] as const) {
        for (const T of [0.5, 1, 2, 4, 10]) {
          for (const [name, s] of oneHotRows(T, dtype)) {
            for (const t0 of moderate) {
              const t = dtype === "float32" ? t0.map(f) : t0;
              const what = `${dtype}, T = ${T}, student ${name}, teacher [${t}]`;
              const r = grads(dtype, s, t, T, setting);
              if (setting[0] === "forward") {
                const p = logSoftmax(t, T).map(Math.exp);
                expectGradient(`${what}: dS`, dtype, r.dS, p.map((pi, i) => (i === 0 ? 1 : 0) - pi), p.map((pi, i) => 4 * (pi + (i === 0 ? 1 : 0))), T);
              } else {
                r.dS.forEach((v, i) => expect(v === 0, `${what}: dS[${i}] = ${v}`).toBe(true));
              }
            }
          }
        }
      }
    });
  }
});

describe("the log-ratio form's centre and spread at huge logits", () => {
  test("s = [−3, 1.625], t = [−1.7e34, −∞], T = 4 (the reverse KL: D = +∞, ∂D/∂(t/T) = p − q)", () => {
    for (const dtype of ["float32", "float64"] as const) {
      const s = [-3, 1.625];
      const t = [dtype === "float32" ? f(-1.734578681155948e34) : -1.734578681155948e34, -Infinity];
      const r = grads(dtype, s, t, 4, ["reverse", 0]);
      const q = logSoftmax(s, 4).map(Math.exp);
      expect(r.loss, dtype).toBe(Infinity);
      expectGradient(`${dtype}: dT`, dtype, r.dT, [1 - q[0]!, -q[1]!], [4, 4], 4);
    }
  });

  test("s = [1e20, 1e20], t = [0, 3000], T = 1: the exact spread is 3000, not the rounded 0", () => {
    // q = [½, ½], p = [e^−3000, 1] = [0, 1] in float64. Forward: D = log 2, ∂D/∂s = q − p,
    // ∂D/∂t = 0. Reverse: D = ½(3000 − log 2) + ½·log ½ = 1500 − log 2, ∂D/∂s = q ⊙ (ℓ_q − D) =
    // [750, −750], ∂D/∂t = p − q. JSD at ½: the closed form below, ∂D/∂t = 0.
    const s = [1e20, 1e20];
    const t = [0, 3000];
    const fw = grads("float64", s, t, 1, ["forward", 0]);
    expect(Math.abs(fw.loss - Math.LN2)).toBeLessThanOrEqual(4 * EPS);
    expectGradient("forward dS", "float64", fw.dS, [0.5, -0.5], [2, 2], 1);
    expect(fw.dT.every((v) => v === 0), `forward dT ${fw.dT}`).toBe(true);
    const rv = grads("float64", s, t, 1, ["reverse", 0]);
    expect(Math.abs(rv.loss - (1500 - Math.LN2))).toBeLessThanOrEqual(8 * EPS * 1500);
    expectGradient("reverse dS", "float64", rv.dS, [750, -750], [3000, 3000], 1);
    expectGradient("reverse dT", "float64", rv.dT, [-0.5, 0.5], [2, 2], 1);
    // JSD at β = ½: m = [¼, ¾]; D = ½·log(1/¾) + ½·(½·log(½/¼) + ½·log(½/¾)).
    const js = grads("float64", s, t, 1, ["jsd", 0.5]);
    const D = 0.5 * Math.log(4 / 3) + 0.5 * (0.5 * Math.log(2) + 0.5 * Math.log(2 / 3));
    expect(Math.abs(js.loss - D)).toBeLessThanOrEqual(16 * EPS * D);
    expect(js.dT.every((v) => v === 0), `jsd dT ${js.dT}`).toBe(true);
  });
});

describe("the fuzz suite's replays: both backends agree within its float32 tolerance", () => {
  // (FUZZ_ONLY='backend:distillationLoss' FUZZ_SEED=4242 FUZZ_PATH='14' FUZZ_RUNS=60: first the
  // one-hot rows, then, shrunk, the centre's.) The calls as the suite drew them, compared as
  // test/fuzz/calls.ts compareBackends does: within BACKEND_RTOL·(max(|js|, |wasm|) + S), S the
  // largest finite magnitude of the tensor, non-finite values equal.
  const tensorOf = (kind: string, dtype: "float32" | "int32", shape: number[], seed: number, extra: object = {}): Tensor =>
    buildTensor({ k: "tensor", dtype, shape, layout: "contiguous", kind, seed, grad: false, ...extra } as unknown as TensorArg);
  const calls: [string, () => [Tensor, Tensor, object]][] = [
    ["[4097, 2], T = 2, scaleT2: false (a one-hot teacher in row 30)",
      () => [tensorOf("moderate", "float32", [4097, 2], 29), tensorOf("huge", "float32", [4097, 2], 2113567179), { temperature: 2, scaleT2: false }]],
    ["[1000, 2], the reverse KL with labels (t − s = −1.7e34 alone in row 906)",
      () => [tensorOf("moderate", "float32", [1000, 2], 0), tensorOf("huge", "float32", [1000, 2], 0),
        { labels: tensorOf("classes", "int32", [1000], 1, { classes: 2 }), divergence: "reverse" }]],
  ];
  for (const [name, make] of calls) {
    test.skipIf(getBackend() !== "wasm")(name, () => {
      const [s, t0, options] = make();
      const out: Record<string, number[][]> = {};
      for (const backend of ["js", "wasm"] as const) {
        setBackend(backend);
        const t = t0.detach().requiresGrad_();
        const l = distillationLoss(s, t, options as never);
        l.backward();
        out[backend] = [l.toFlatArray(), t.grad!.toFlatArray()];
      }
      setBackend("wasm");
      out.js!.forEach((a, k) => {
        const b = out.wasm![k]!;
        const S = Math.max(0, ...a.filter(Number.isFinite).map(Math.abs));
        a.forEach((u, i) => {
          const w = b[i]!;
          if (Object.is(u, w) || (Number.isNaN(u) && Number.isNaN(w))) return;
          expect(Number.isFinite(u) && Number.isFinite(w), `tensor ${k} at ${i}: js ${u}, wasm ${w}`).toBe(true);
          expect(Math.abs(u - w), `tensor ${k} at ${i}: js ${u}, wasm ${w}`).toBeLessThanOrEqual(BACKEND_RTOL * (Math.max(Math.abs(u), Math.abs(w)) + S));
        });
      });
    });
  }
});
