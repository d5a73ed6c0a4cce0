/**
 * The float32 fused distillation kernels (the WebAssembly f32x4 kernel and the
 * TypeScript float32 kernel), used for float32 inputs when α > 0 and the
 * teacher needs no gradient. They compute exponentials in float32 accuracy
 * and form the KL from the teacher/student log-ratio (docs/distillation.md,
 * "Float32 kernels"), so the tests here hold them to the float64 kernel on the
 * same float32 inputs:
 * - the loss within 1e-6 relative, including when the KL is tiny (the case an
 *   ordinary float32 kernel gets wrong by up to 1e-2: its roundings leave an
 *   absolute error near 1e-8 in the KL whatever its size);
 * - the student gradient within 1e-6 of its largest entry in each row, plus
 *   what float32 arguments allow each entry (float32Bound: the error of any
 *   float32 softmax at the same logit gaps);
 * - rows that do not suit float32 lanes (masked classes, NaN, a wide spread of
 *   (t − s)/T, a cross-entropy tail below 1e-8) still exactly as the float64
 *   kernel gives them, scaled by the whole batch.
 */
import fc from "fast-check";
import { test } from "@fast-check/vitest";
import { afterAll, describe, expect } from "vitest";
import { Tensor, distillationLoss, getBackend, setBackend, tensor, type Backend } from "../../src/index.js";
import { projectBackends } from "../helpers/backend.js";

const initial = getBackend();
afterAll(() => setBackend(initial));
// The project's backend (this file runs once per backend: vitest.config.ts).
const backends: Backend[] = projectBackends();

type Options = Parameters<typeof distillationLoss>[2];

/** A tiny LCG for test data (uniform in [0, 1)). */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x * 1103515245 + 12345) >>> 0;
    return x / 2 ** 32;
  };
}

/** Approximately standard normal draws from the LCG (sum of 4 uniforms, rescaled). */
function normal(next: () => number): number {
  return (next() + next() + next() + next() - 2) * Math.sqrt(3);
}

/** Loss and student gradient with the teacher a plain (no-grad) float32 tensor. */
function run(backend: Backend, s: Float32Array, t: Float32Array, shape: [number, number], options: Options): { loss: number; grad: number[] } {
  setBackend(backend);
  const x = tensor(s, { shape }).requiresGrad_();
  const l = distillationLoss(x, tensor(t, { shape }), options);
  expect(l.dtype).toBe("float32");
  l.backward();
  return { loss: l.item(), grad: x.grad!.toFlatArray() };
}

/** The float64 kernel on the same float32 values. */
function reference(s: Float32Array, t: Float32Array, shape: [number, number], options: Options): { loss: number; grad: number[] } {
  const x = tensor(Float64Array.from(s), { shape }).requiresGrad_();
  const l = distillationLoss(x, tensor(Float64Array.from(t), { shape }), options);
  l.backward();
  return { loss: l.item(), grad: x.grad!.toFlatArray() };
}

function labelsFor(B: number, C: number, next: () => number): Tensor {
  return tensor(Int32Array.from({ length: B }, () => Math.floor(next() * C)), { shape: [B] });
}

/**
 * T²·KL(softmax(t/T) ‖ softmax(s/T)) averaged over rows, in float64 by a route
 * independent of both kernels' code and accurate to ~1e-15 relative even for a
 * tiny KL (where the float64 kernel's Σ p·(log p − log q), a cancellation of
 * O(x) terms down to O(x²), keeps an absolute error near 1e-16 per row):
 * with xᵢ = (tᵢ − sᵢ)/T centred at its q-mean, p ∝ q·eˣ, so
 * KL = Σ q·x·eˣ/Z − log Z, Z = Σ q·eˣ, which this writes with
 * m = expm1(x), G = 1 + (x − 1)eˣ (a series for small x) as
 * KL = (Γ + M)/(1 + M) − log1p(M), M = Σ q·m, Γ = Σ q·G.
 */
function softLossReference(s: Float32Array, t: Float32Array, B: number, C: number, T: number): number {
  let total = 0;
  for (let r = 0; r < B; r++) {
    const sr = Array.from(s.subarray(r * C, (r + 1) * C));
    const tr = Array.from(t.subarray(r * C, (r + 1) * C));
    const ms = Math.max(...sr);
    const e = sr.map((v) => Math.exp((v - ms) / T));
    const Z = e.reduce((a, b) => a + b, 0);
    const q = e.map((v) => v / Z);
    const u = tr.map((v, i) => (v - sr[i]!) / T);
    const c = u.reduce((a, v, i) => a + q[i]! * v, 0);
    let M = 0;
    let Gam = 0;
    u.forEach((ui, i) => {
      const x = ui - c;
      const m = Math.expm1(x);
      const G = Math.abs(x) < 0.1
        ? x * x * (1 / 2 + x * (1 / 3 + x * (1 / 8 + x * (1 / 30 + x * (1 / 144 + x * (1 / 840 + x / 5760))))))
        : x * (1 + m) - m;
      M += q[i]! * m;
      Gam += q[i]! * G;
    });
    const h = Math.abs(M) < 1e-2
      ? M * M * (-1 / 2 + M * (2 / 3 + M * (-3 / 4 + M * (4 / 5 + M * (-5 / 6 + M * (6 / 7 - M * 7 / 8))))))
      : M / (1 + M) - Math.log1p(M);
    total += T * T * (Gam / (1 + M) + h);
  }
  return total / B;
}

/** α·softLossReference + (1 − α)·(mean cross-entropy at T = 1), in float64, log1p for a tiny tail. */
function lossReference(s: Float32Array, t: Float32Array, B: number, C: number, T: number, alpha: number, labels: Int32Array | null): number {
  let ce = 0;
  if (labels) {
    for (let r = 0; r < B; r++) {
      const sr = Array.from(s.subarray(r * C, (r + 1) * C));
      const ms = Math.max(...sr);
      const j = sr.indexOf(ms);
      const tail = sr.reduce((a, v, i) => (i === j ? a : a + Math.exp(v - ms)), 0);
      ce += ms - sr[labels[r]!]! + Math.log1p(tail);
    }
  }
  return alpha * softLossReference(s, t, B, C, T) + (labels ? ((1 - alpha) * ce) / B : 0);
}

/**
 * What float32 arithmetic allows in each gradient entry. A float32 kernel
 * rounds each exponential's argument to float32, so a probability at a logit
 * gap g (in units of T) carries a relative error of about (1 + |g|)·2⁻²⁴, as in
 * any float32 softmax (PyTorch's included): the result is exact for logits
 * moved by an ulp. Entry i of ∂L/∂s = [α·T·(q − p) + (1 − α)(softmax(s) − onehot)]/B
 * sums those errors: q at gap (max s − sᵢ)/T, p through q·e^{xᵢ} with xᵢ the
 * log-ratio centred at the student's max, softmax(s) as q^T (T·(1 + gap)).
 * 8 ulps of headroom cover the polynomials and products.
 */
function float32Bound(s: Float32Array, t: Float32Array, B: number, C: number, T: number, alpha: number, hard: boolean): number[] {
  const eps = 2 ** -24;
  const bound: number[] = [];
  for (let r = 0; r < B; r++) {
    const sr = Array.from(s.subarray(r * C, (r + 1) * C));
    const tr = Array.from(t.subarray(r * C, (r + 1) * C));
    const ms = Math.max(...sr);
    const mt = Math.max(...tr);
    const j = sr.indexOf(ms);
    const softmax = (v: number[], m: number, scale: number): number[] => {
      const e = v.map((z) => Math.exp((z - m) / scale));
      const sum = e.reduce((a, b) => a + b, 0);
      return e.map((z) => z / sum);
    };
    const q = softmax(sr, ms, T);
    const p = softmax(tr, mt, T);
    const h = softmax(sr, ms, 1);
    sr.forEach((si, i) => {
      const gap = (ms - si) / T;
      const x = Math.abs((tr[i]! - si - (tr[j]! - ms)) / T);
      const soft = alpha * T * (q[i]! * (1 + gap) + p[i]! * (1 + gap + x));
      const ce = hard ? (1 - alpha) * h[i]! * (T + ms - si) : 0;
      bound.push((8 * eps * (soft + ce)) / B);
    });
  }
  return bound;
}

/**
 * Loss to 1e-6 relative (non-finite: identical). Gradient to 1e-6 of each row's
 * largest entry plus `bound` (float32Bound, per entry), or to float64 rounding
 * of the O(1) terms it is a difference of, 1e-15·(αT + 1)/B, where the whole row
 * is that small (a confident student and teacher: every entry is a
 * cancellation, in the float64 reference as well).
 */
function expectClose(
  got: { loss: number; grad: number[] }, want: { loss: number; grad: number[] }, C: number, label: string,
  floor = 0, bound: number[] = [],
): void {
  if (!Number.isFinite(want.loss)) expect(Object.is(got.loss, want.loss) || (Number.isNaN(got.loss) && Number.isNaN(want.loss)), `${label} loss ${got.loss} vs ${want.loss}`).toBe(true);
  else expect(Math.abs(got.loss - want.loss), `${label} loss ${got.loss} vs ${want.loss}`).toBeLessThanOrEqual(1e-6 * Math.abs(want.loss) + 1e-12);
  for (let r = 0; r * C < want.grad.length; r++) {
    const row = want.grad.slice(r * C, (r + 1) * C);
    const scale = Math.max(...row.filter(Number.isFinite).map(Math.abs));
    row.forEach((w, i) => {
      const v = got.grad[r * C + i]!;
      if (!Number.isFinite(w)) expect(Object.is(v, w) || (Number.isNaN(v) && Number.isNaN(w)), `${label} grad[${r}, ${i}] ${v} vs ${w}`).toBe(true);
      else expect(Math.abs(v - w), `${label} grad[${r}, ${i}] ${v} vs ${w}`).toBeLessThanOrEqual(1e-6 * scale + floor + (bound[r * C + i] ?? 0));
    });
  }
}

describe("float32 distillation kernels against float64, teacher without gradient", () => {
  test.prop([
    fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 41 }), fc.nat(), fc.constantFrom(0.5, 1, 2, 3.7, 4, 1000),
    fc.constantFrom(0.3, 0.7, 1), fc.boolean(), fc.constantFrom(1, 4, 12), fc.constantFrom("independent", "close"),
  ])(
    "on random shapes (any class count, so lane padding), temperatures and weights",
    (B, C, seed, T, alpha, labelled, scale, relation) => {
      const next = lcg(seed);
      const s = Float32Array.from({ length: B * C }, () => scale * normal(next));
      const t = Float32Array.from(s, (v) => (relation === "close" ? v + 2 + 0.05 * normal(next) : 2 * scale * normal(next)));
      const labels = labelsFor(B, C, next);
      const options: Options = labelled ? { labels, temperature: T, alpha } : { temperature: T };
      // The float64 kernel's gradient, and the loss by the accurate route: at T = 1000 the
      // float64 kernel's own KL is off by up to ~1e-5 relative (see softLossReference).
      const want = { ...reference(s, t, [B, C], options), loss: lossReference(s, t, B, C, T, labelled ? alpha : 1, labelled ? (labels.data as Int32Array) : null) };
      const bound = float32Bound(s, t, B, C, T, labelled ? alpha : 1, labelled);
      for (const backend of backends) expectClose(run(backend, s, t, [B, C], options), want, C, backend, 1e-15 * (alpha * T + 1) / B, bound);
    },
  );

  test.prop([fc.nat(), fc.constantFrom(1, 4, 8, 1000), fc.constantFrom(1e-2, 1e-3, 1e-5), fc.constantFrom(10, 37, 1000)])(
    "a tiny KL (teacher = student + shift + small noise) keeps 1e-6 relative accuracy",
    (seed, T, noise, C) => {
      const next = lcg(seed);
      const B = 3;
      const s = Float32Array.from({ length: B * C }, () => 3 * normal(next));
      const t = Float32Array.from(s, (v) => v + 5 + noise * normal(next));
      const want = reference(s, t, [B, C], { temperature: T });
      const loss = softLossReference(s, t, B, C, T);
      expect(loss).toBeGreaterThan(0);
      // The float64 kernel's loss agrees where its absolute error floor (~1e-16·T² a row) allows.
      expect(Math.abs(want.loss - loss)).toBeLessThanOrEqual(1e-9 * loss + 1e-14 * T * T);
      for (const backend of backends) {
        expectClose(run(backend, s, t, [B, C], { temperature: T }), { loss, grad: want.grad }, C, `${backend} T=${T} noise=${noise}`, 0, float32Bound(s, t, B, C, T, 1, false));
      }
    },
  );

  test("rows unfit for float32 lanes fall back row by row, with the batch's 1/B", () => {
    const C = 7;
    const rows: number[][] = [
      [0.3, -1.2, 2.5, 0.7, 0.1, -0.3, 1.9], // ordinary
      [0.3, -Infinity, 2.5, 0.7, 0.1, -0.3, 1.9], // a masked student class
      [4000, -3000, 25, 0, 1, 2, 3], // a spread of (t − s)/T far over 30
      [40, 0, 0, 0, 0, 0, 0], // a confident student: cross-entropy tail below 1e-8
      [1.1, 0.2, -0.4, -2.2, 0.5, 0.5, 0.9], // ordinary
    ];
    const teacher: number[][] = [
      [-0.5, 0.9, 1.7, -1.3, 0.2, 0.2, 0.4],
      [-0.5, -Infinity, 1.7, -1.3, 0.2, 0.2, 0.4],
      [-4000, 3000, 20, 1, 1, 1, 1],
      [30, 1, 0, -1, 0, 1, 0],
      [0.4, 2.1, -1.0, 0.0, 0.3, -0.3, 0.8],
    ];
    const s = Float32Array.from(rows.flat());
    const t = Float32Array.from(teacher.flat());
    const labels = tensor(Int32Array.from([2, 0, 0, 0, 1]), { shape: [5] });
    for (const T of [1, 4, 2.5]) {
      const options: Options = { labels, temperature: T, alpha: 0.6 };
      const want = reference(s, t, [5, C], options);
      const bound = float32Bound(s, t, 5, C, T, 0.6, true).map((b) => (Number.isFinite(b) ? b : 0));
      for (const backend of backends) expectClose(run(backend, s, t, [5, C], options), want, C, `${backend} T=${T}`, 1e-15 * (0.6 * T + 1) / 5, bound);
    }
  });

  test("a NaN logit makes that row's loss NaN, and the others keep their gradient", () => {
    const s = Float32Array.from([0.3, NaN, 2.5, 0.7, 1.1, 0.2, -0.4, -2.2]);
    const t = Float32Array.from([-0.5, 0.9, 1.7, -1.3, 0.4, 2.1, -1.0, 0.0]);
    for (const backend of backends) {
      const got = run(backend, s, t, [2, 4], { temperature: 4 });
      const want = reference(s, t, [2, 4], { temperature: 4 });
      expect(Number.isNaN(got.loss)).toBe(true);
      expectClose({ loss: 0, grad: got.grad.slice(4) }, { loss: 0, grad: want.grad.slice(4) }, 4, backend);
    }
  });
});
