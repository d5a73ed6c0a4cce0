/**
 * The float32 log-ratio kernels (TypeScript and WebAssembly) on adversarial rows,
 * against the exact reference (test/losses/exact.ts), up to C = 152,064 classes.
 *
 * The rows are built from the error analysis of docs/distillation.md ("Float32
 * kernels"): where the first-order error terms are largest.
 * - flat + top: a nearly flat student whose teacher differs only on the student's
 *   top class. Centred at the student's max, E_q[x²]/(2·KL) reaches 1 + 1/q_max ≈ C:
 *   the case that cost 7e-4 relative before the kernels centred x at the q-mean.
 * - tail: a confident student whose teacher differs only far in its tail, where the
 *   student's exponentials have arguments near −20 (an argument rounding of u·|a|
 *   would cost 20u there).
 * - shift + ulp: teacher = student + shift, differing by about one float32 ulp on
 *   half the classes (a KL of 1e-14).
 * - two-point: one class and C − 1 tied classes with (t − s)/T spread up to 29.9 (the
 *   float32 limit is 30): x rounded relative to itself would cost u·|x| in eˣ.
 * - far: a teacher whose mass sits where the student has e^{−10} of it, so that
 *   E_p[x] ≫ KL (log Z and E_p[x] cancel): the kernels hand such rows to the float64
 *   kernel, and the result must still hold.
 * - negative x: x in [−1.5, −0.3] on half the mass, where G = 1 + (x − 1)eˣ is a
 *   difference.
 * The contract: the loss within 1e-6 relative of the exact value (the float32 result's
 * own rounding, 6e-8, included), each gradient entry within 64 float32 ulps of the terms
 * it is made of (α·T·q·(|M| + |m|)/(1 + M), plus the cross-entropy's) and its rounding.
 */
import { afterAll, describe, expect, test } from "vitest";
import { distillationLoss, getBackend, setBackend, tensor, wasmAvailable, type Backend } from "../../src/index.js";
import { exactRow } from "../losses/exact.js";

const initial = getBackend();
afterAll(() => setBackend(initial));
const backends: Backend[] = wasmAvailable() ? ["js", "wasm"] : ["js"];
const U32 = 2 ** -24;
const f = Math.fround;

/** A row as groups of equal classes: values s[g], t[g] repeated n[g] times. */
interface Row {
  s: number[];
  t: number[];
  n: number[];
}

function expand(r: Row): [Float32Array, Float32Array, number[]] {
  const C = r.n.reduce((a, b) => a + b, 0);
  const s = new Float32Array(C);
  const t = new Float32Array(C);
  const group: number[] = [];
  let o = 0;
  r.n.forEach((cnt, g) => {
    for (let j = 0; j < cnt; j++) {
      s[o] = r.s[g]!;
      t[o] = r.t[g]!;
      group.push(g);
      o++;
    }
  });
  return [s, t, group];
}

/** The term sizes of each group's gradient entry (float64; a factor of the tolerance). */
function termSizes(r: Row, T: number, alpha: number, y: number): number[] {
  const ms = Math.max(...r.s);
  const e = r.s.map((v) => Math.exp((v - ms) / T));
  const Z = e.reduce((a, v, g) => a + v * r.n[g]!, 0);
  const q = e.map((v) => v / Z);
  const u = r.t.map((v, g) => v - r.s[g]!);
  const ubar = u.reduce((a, v, g) => a + q[g]! * r.n[g]! * v, 0);
  const m = u.map((v) => Math.expm1((v - ubar) / T));
  const M = q.reduce((a, qg, g) => a + qg * r.n[g]! * m[g]!, 0);
  const e1 = r.s.map((v) => Math.exp(v - ms));
  const Z1 = e1.reduce((a, v, g) => a + v * r.n[g]!, 0);
  return q.map((qg, g) => (alpha * T * qg * (Math.abs(M) + Math.abs(m[g]!))) / (1 + M) + (y >= 0 ? (1 - alpha) * (e1[g]! / Z1 + (g === y ? 1 : 0)) : 0));
}

function check(name: string, r: Row, T: number, alpha = 1, y = -1): void {
  const ex = exactRow(r.s, r.t, r.n, T, alpha, y);
  const sizes = termSizes(r, T, alpha, y);
  const [s, t, group] = expand(r);
  const C = s.length;
  // y is a group of one class (its one-hot belongs to that class alone), or −1.
  if (y >= 0) expect(r.n[y]).toBe(1);
  const label = y >= 0 ? group.indexOf(y) : -1;
  for (const backend of backends) {
    setBackend(backend);
    const x = tensor(s, { shape: [1, C] }).requiresGrad_();
    const options = y >= 0 ? { labels: tensor([label], { dtype: "int32" }), temperature: T, alpha } : { temperature: T };
    const l = distillationLoss(x, tensor(t, { shape: [1, C] }), options);
    l.backward();
    const what = `${name} (${backend}, C = ${C}, T = ${T})`;
    expect(Math.abs(l.item() - ex.loss), `${what}: loss ${l.item()}, exact ${ex.loss}`).toBeLessThanOrEqual(1e-6 * Math.abs(ex.loss));
    const g = x.grad!.data as Float32Array;
    for (let i = 0; i < C; i++) {
      const want = ex.dS[group[i]!]!;
      const tol = 64 * U32 * sizes[group[i]!]! + U32 * Math.abs(want) + 2 ** -149;
      if (!(Math.abs(g[i]! - want) <= tol)) expect.fail(`${what}: dS[${i}] ${g[i]}, exact ${want}, tolerance ${tol}`);
    }
  }
}

const sizes = [100, 10_000, 32_000, 152_064];

describe("float32 kernels on adversarial rows, against the exact value", () => {
  test.each(sizes)("flat student, teacher differing only on the student's top class, C = %i", (C) => {
    for (const T of [1, 4, 8, 3.7]) {
      for (const gap of [0.5, 1e-3]) check(`flat+top gap ${gap}`, { s: [f(0.01), 0], t: [f(0.01 + gap), 0], n: [1, C - 1] }, T);
      check("flat+top with labels", { s: [f(0.01), 0], t: [f(0.51), 0], n: [1, C - 1] }, T, 0.5, 0);
    }
  });

  test.each(sizes)("a confident student and a teacher differing only in its tail, C = %i", (C) => {
    for (const T of [1, 4, 8, 3.7]) check("tail", { s: [f(20 * T), 0], t: [f(20 * T), f(0.5 * T)], n: [1, C - 1] }, T);
  });

  test.each(sizes)("teacher = student + shift, one float32 ulp apart on half the classes, C = %i", (C) => {
    for (const T of [1, 4, 8, 3.7]) check("shift+ulp", { s: [f(1.5), f(0.25)], t: [f(6.5), f(5.25 + 4.8e-7)], n: [C / 2, C / 2] }, T);
  });

  test.each(sizes)("two groups with (t − s)/T spread up to 29.9, C = %i", (C) => {
    for (const T of [1, 0.3, 3.7, 6.1]) {
      for (const X of [4, 12, 20, 29.9]) {
        for (const lo of [0.4, 3.3]) {
          const sLow = f(-X * T - lo * T);
          check(`two-point X=${X} lo=${lo}`, { s: [0, sLow], t: [0, f(sLow + (X - 0.7) * T)], n: [1, C - 1] }, T);
        }
      }
    }
  });

  test.each(sizes)("teacher mass where the student has little (E_p[x] ≫ KL: the float64 kernel), C = %i", (C) => {
    for (const T of [1, 4, 3.7]) check("far", { s: [0, f(-10 * T)], t: [0, f(15 * T)], n: [1, C - 1] }, T);
  });

  test.each(sizes)("x in [−1.5, −0.3] on half the mass, C = %i", (C) => {
    for (const T of [1, 4, 8, 3.7]) {
      for (const d of [0.3, 0.8, 1.5]) check(`negative x ${d}`, { s: [0.1, 0, f(0.3)], t: [0.1, 0, f(0.3 - d * T)], n: [1, C / 2 - 1, C / 2] }, T, 0.7, 0);
    }
  });

  test("random rows of two to four groups of tied classes (spreads up to 30, gaps up to 25·T, up to 15,000 classes)", () => {
    let seed = 2024;
    const rnd = (): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    for (let trial = 0; trial < 300; trial++) {
      const G = 2 + Math.floor(rnd() * 3);
      const T = [0.3, 1, 2, 3.7, 4, 6.1, 8, 20][Math.floor(rnd() * 8)]!;
      const spread = rnd() * 30;
      const s = Array.from({ length: G }, (_, g) => (g === 0 ? 0 : f(-rnd() * 25 * T)));
      const t = s.map((v) => f(v + (rnd() - 0.5) * spread * T + (rnd() < 0.3 ? 5 : 0)));
      const n = s.map((_, g) => (g === 0 ? 1 : 1 + Math.floor(rnd() ** 3 * 5000)));
      if (!(exactRow(s, t, n, T, 1).soft > 1e-30)) continue; // (a float32 loss of 0 either way)
      check(`random groups #${trial}`, { s, t, n }, T);
    }
  });

  test("random rows close to their teacher, C = 1000, against the exact value", () => {
    let seed = 12345;
    const rnd = (): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    for (const [T, noise] of [[4, 1e-3], [1, 1e-2], [8, 1e-5]] as const) {
      const s = Array.from({ length: 1000 }, () => f(3 * (rnd() + rnd() + rnd() - 1.5)));
      const t = s.map((v) => f(v + 2 + noise * (rnd() - 0.5)));
      check(`random noise ${noise}`, { s, t, n: s.map(() => 1) }, T, 0.5, 7);
    }
  });
});

/**
 * The TypeScript kernel's proven bound (docs/distillation.md, "The TypeScript kernel: 1e-6
 * proven"): its KL within 2e-9 + 12·C·ε relative, so the float32 loss it returns within that
 * plus the result's own rounding, 2⁻²⁴. The rows the kernel hands to the float64 kernel (the
 * "far" family) are held to the same, which that kernel's bound is well inside.
 */
describe("the TypeScript float32 kernel within its proven bound", () => {
  const EPS = 2 ** -53;
  function checkTs(name: string, r: Row, T: number, alpha = 1, y = -1): void {
    const ex = exactRow(r.s, r.t, r.n, T, alpha, y);
    const [s, t, group] = expand(r);
    const C = s.length;
    setBackend("js");
    const options = y >= 0 ? { labels: tensor([group.indexOf(y)], { dtype: "int32" }), temperature: T, alpha } : { temperature: T };
    const l = distillationLoss(tensor(s, { shape: [1, C] }), tensor(t, { shape: [1, C] }), options).item();
    const bound = (2e-9 + 12 * C * EPS + U32) * Math.abs(ex.loss);
    expect(Math.abs(l - ex.loss), `${name} (C = ${C}, T = ${T}): loss ${l}, exact ${ex.loss}`).toBeLessThanOrEqual(bound);
  }

  test.each(sizes)("the adversarial families, C = %i", (C) => {
    for (const T of [1, 4, 8, 3.7]) {
      for (const gap of [0.5, 1e-3]) checkTs(`flat+top gap ${gap}`, { s: [f(0.01), 0], t: [f(0.01 + gap), 0], n: [1, C - 1] }, T);
      checkTs("flat+top with labels", { s: [f(0.01), 0], t: [f(0.51), 0], n: [1, C - 1] }, T, 0.5, 0);
      checkTs("tail", { s: [f(20 * T), 0], t: [f(20 * T), f(0.5 * T)], n: [1, C - 1] }, T);
      checkTs("shift+ulp", { s: [f(1.5), f(0.25)], t: [f(6.5), f(5.25 + 4.8e-7)], n: [C / 2, C / 2] }, T);
      for (const d of [0.3, 0.8, 1.5]) checkTs(`negative x ${d}`, { s: [0.1, 0, f(0.3)], t: [0.1, 0, f(0.3 - d * T)], n: [1, C / 2 - 1, C / 2] }, T, 0.7, 0);
    }
    for (const T of [1, 0.3, 3.7, 6.1]) {
      for (const X of [4, 12, 20, 29.9]) {
        const sLow = f(-X * T - 0.4 * T);
        checkTs(`two-point X=${X}`, { s: [0, sLow], t: [0, f(sLow + (X - 0.7) * T)], n: [1, C - 1] }, T);
      }
    }
    for (const T of [1, 4, 3.7]) checkTs("far", { s: [0, f(-10 * T)], t: [0, f(15 * T)], n: [1, C - 1] }, T);
  });

  test("t − s not exact in float64 (a student at 1e-9, a teacher at 100: exponents 36 apart), both backends", () => {
    for (const T of [1, 4]) {
      const r = { s: [0, f(1e-9), f(3e-9)], t: [100, 100, 100], n: [1, 500, 499] };
      checkTs("inexact t − s", r, T);
      check("inexact t − s", r, T);
    }
  });

  test("random rows of two to four groups of tied classes", () => {
    let seed = 2024;
    const rnd = (): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    for (let trial = 0; trial < 300; trial++) {
      const G = 2 + Math.floor(rnd() * 3);
      const T = [0.3, 1, 2, 3.7, 4, 6.1, 8, 20][Math.floor(rnd() * 8)]!;
      const spread = rnd() * 30;
      const s = Array.from({ length: G }, (_, g) => (g === 0 ? 0 : f(-rnd() * 25 * T)));
      const t = s.map((v) => f(v + (rnd() - 0.5) * spread * T + (rnd() < 0.3 ? 5 : 0)));
      const n = s.map((_, g) => (g === 0 ? 1 : 1 + Math.floor(rnd() ** 3 * 5000)));
      if (!(exactRow(s, t, n, T, 1).soft > 1e-30)) continue;
      checkTs(`random groups #${trial}`, { s, t, n }, T);
    }
  });
});
