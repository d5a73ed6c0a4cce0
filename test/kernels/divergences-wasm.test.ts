/**
 * The WebAssembly twin of distillationLoss's general rows (wasm/divergences.ts): the registry
 * hands it every float32 call, and it agrees with the TypeScript kernel (kernels/divergences.ts)
 * on adversarial rows. Its accuracy against the exact value is test/kernels/divergences-float32.test.ts,
 * which runs on the wasm project with every float32 call sent to WebAssembly.
 *
 * Why the two agree so closely. The twin is the same float64 arithmetic, in the same order; only
 * the elementary functions differ (AssemblyScript's exp, log, log1p, expm1 against V8's: within
 * 2.2 ulps of each other, each within 1.31 ulps of the exact value, docs/distillation-methods.md,
 * "The WebAssembly twin"). The TypeScript kernel's own error analysis ("Precision" there) counts
 * each of those as a few ε of the quantity it forms, so either kernel is within E₆₄ of the exact
 * value and the two within 2·E₆₄:
 *   - the loss: E₆₄ ≤ (20 + C)ε relative on these rows (regular rows, and direct rows whose D is
 *     of the size of their log magnitudes, where the direct form's absolute ε(|z| + |c|) is a few ε
 *     relative): |L_wasm − L_js| ≤ 2(20 + C)ε·|L|, and a non-finite loss the same on both;
 *   - ∂L/∂T = α·T^{k−1}(k·D − E/T)/norm, E a sum of C products: each within (16 + C)ε of the size of
 *     its parts, M = k·|L_soft|/T + Σ(|dS_i|·|z_s,i| + |dT_i|·|z_t,i|)/T (z the logits less their max):
 *     |Δ| ≤ 2(16 + C)ε·M (relative to ∂L/∂T itself it is about ε·T·√C: it cancels at large T);
 *   - each float32 gradient entry: the two float64 values agree to far below a float32 ulp of the
 *     row's terms, so the stored values are equal or one rounding step apart: |Δ| ≤ 2u·|g| + 2⁻⁴⁰·max|g|.
 */
import { afterEach, describe, expect, test, vi } from "vitest";
import { cast, distillationLoss, getBackend, setBackend, tensor, wasmAvailable, type Divergence } from "../../src/index.js";
import { kernel, setMinWork } from "../../src/kernels/registry.js";
import { jsKernels } from "../../src/kernels/js/index.js";
import { wasmBackend } from "../../src/kernels/wasm/index.js";
import type { DistillationRowsCall } from "../../src/kernels/table.js";
import { mixtureWeight } from "../../src/losses/distillation-options.js";

const EPS = Number.EPSILON;
const U = 2 ** -24;
const wasmRows = wasmBackend.kernels.distillationRows!;

describe.skipIf(!wasmAvailable())("the registry picks the WebAssembly general rows for float32", () => {
  const before = getBackend();
  afterEach(() => {
    setBackend(before);
    setMinWork("wasm", before === "wasm" ? 0 : null);
    vi.restoreAllMocks();
  });

  test("kernel(distillationRows): WebAssembly's for float32 at the default threshold, at any size; TypeScript's for float64", () => {
    setBackend("wasm");
    setMinWork("wasm", null);
    for (const n of [160, 4096, 152_064 * 4]) {
      expect(kernel("distillationRows", "float32", n)).toBe(wasmRows);
      expect(kernel("distillationRows", "float64", n)).toBe(jsKernels.distillationRows);
    }
    setBackend("js");
    expect(kernel("distillationRows", "float32", 152_064)).toBe(jsKernels.distillationRows);
  });

  test("distillationLoss sends a float32 call of every non-default divergence to it, standardized rows included", () => {
    setBackend("wasm");
    setMinWork("wasm", null);
    const spy = vi.spyOn(wasmBackend.kernels, "distillationRows");
    const s = tensor(Float32Array.from({ length: 64 * 100 }, (_, i) => Math.sin(i)), { shape: [64, 100] }).requiresGrad_();
    const t = tensor(Float32Array.from({ length: 64 * 100 }, (_, i) => Math.cos(3 * i)), { shape: [64, 100] });
    const calls: [Divergence, boolean][] = [["reverse", false], ["jsd", false], ["skewForward", false], ["skewReverse", false], ["tvd", false], ["reverse", true]];
    for (const [divergence, standardize] of calls) distillationLoss(s, t, { divergence, standardize, temperature: 2 }).backward();
    expect(spy).toHaveBeenCalledTimes(calls.length);
    // float64 stays on TypeScript.
    distillationLoss(cast(s, "float64"), cast(t, "float64"), { divergence: "reverse" });
    expect(spy).toHaveBeenCalledTimes(calls.length);
  });
});

/** A deterministic standard normal stream (Box–Muller on a Park–Miller generator). */
function normals(seed: number): () => number {
  let x = seed;
  const u = (): number => {
    x = (x * 16807) % 2147483647;
    return x / 2147483647;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

type RowMaker = (C: number, g: () => number) => [number[], number[]];

/** The adversarial rows: each returns a student and a teacher row of C logits (rounded to float32 on storage). */
const kinds: Record<string, RowMaker> = {
  "random, teacher = student + noise": (C, g) => {
    const s = Array.from({ length: C }, () => 3 * g());
    return [s, s.map((v) => v + g())];
  },
  "nearly equal (teacher = student + 1e-3 noise)": (C, g) => {
    const s = Array.from({ length: C }, () => 3 * g());
    return [s, s.map((v) => v + 1e-3 * g())];
  },
  "flat student, teacher differs on the top class": (C) => [new Array<number>(C).fill(0).map((_, i) => (i === 0 ? 1e-3 : 0)), new Array<number>(C).fill(0).map((_, i) => (i === 0 ? 2e-3 : 0))],
  "logits at ±1e4 on every 97th class": (C, g) => {
    const s = Array.from({ length: C }, () => 3 * g());
    const t = s.map((v) => v + g());
    for (let i = 0; i < C; i += 97) [s[i], t[i]] = [1e4 * Math.sign(g()), -1e4 * Math.sign(g())];
    return [s, t];
  },
  "teacher masks a third, the student a seventh": (C, g) => {
    const s = Array.from({ length: C }, () => 3 * g());
    const t = s.map((v) => v + g());
    for (let i = 0; i < C; i += 3) t[i] = -Infinity;
    for (let i = 1; i < C; i += 7) s[i] = -Infinity;
    return [s, t];
  },
  "teacher masks a third (both on every 6th)": (C, g) => {
    const s = Array.from({ length: C }, () => 2 * g());
    const t = s.map((v) => v + g());
    for (let i = 0; i < C; i += 3) t[i] = -Infinity;
    for (let i = 0; i < C; i += 6) s[i] = -Infinity;
    return [s, t];
  },
  "both probabilities near the smallest subnormal on one class": (C) => {
    const s = new Array<number>(C).fill(-30);
    const t = new Array<number>(C).fill(-30);
    [s[0], t[0], s[1], t[1]] = [0, 0, -744, -744.5];
    return [s, t];
  },
  "NaN in the teacher": (C, g) => {
    const s = Array.from({ length: C }, () => g());
    const t = s.map((v) => v + g());
    t[C >> 1] = NaN;
    return [s, t];
  },
  "+∞ in the student": (C, g) => {
    const s = Array.from({ length: C }, () => g());
    const t = s.map((v) => v + g());
    s[3] = Infinity;
    return [s, t];
  },
  "teacher all −∞": (C, g) => [Array.from({ length: C }, () => g()), new Array<number>(C).fill(-Infinity)],
  // One-hot sides, where ∂D/∂t (∂D/∂s) is 0 (kernels/divergences.ts, "The centring"): WebAssembly
  // gave 1.35e-20 where TypeScript gave 0, which the allowance below, relative to the row, refuses.
  "one-hot teacher at −1.19e38, the rest masked": (C, g) => [Array.from({ length: C }, () => g()), new Array<number>(C).fill(-Infinity).map((v, i) => (i === 0 ? -1.189943821258335e38 : v))],
  "one-hot student at 1e38, the rest at −1e38": (C, g) => [new Array<number>(C).fill(-1e38).map((v, i) => (i === 1 ? 1e38 : v)), Array.from({ length: C }, () => g())],
  // The centre at huge t − s: a one-class support at −1.7e34 (TypeScript: NaN, the centre rounded
  // by 2.3e18), and a student at 1e20 whose teacher spreads 3000 (rounded spread 0: NaN on both).
  "t − s = −1.7e34 on the teacher's only class": (C, g) => [Array.from({ length: C }, () => g()), new Array<number>(C).fill(-Infinity).map((v, i) => (i === 2 ? -1.734578681155948e34 : v))],
  "student at 1e20 on every class, teacher in [0, 3000]": (C, g) => [new Array<number>(C).fill(1e20), Array.from({ length: C }, () => 1500 + 1000 * g())],
};

const settings: [Divergence, number][] = [
  ["forward", 0], ["reverse", 0], ["jsd", 0.5], ["jsd", 0.01], ["skewForward", 0.1], ["skewReverse", 0.9], ["skewReverse", 0], ["tvd", 0],
];

interface Out {
  loss: Float64Array;
  dS: Float32Array;
  dT: Float32Array;
  dH: Float32Array | null;
  dTemp: Float64Array;
  dS64: Float64Array;
  dT64: Float64Array;
}

function run(
  k: typeof wasmRows, s: Float32Array | Float64Array, t: Float32Array | Float64Array, h: Float32Array | Float64Array,
  B: number, C: number, call: DistillationRowsCall, withH: boolean, sizes: boolean,
): Out {
  const o: Out = {
    loss: new Float64Array(B), dS: new Float32Array(B * C), dT: new Float32Array(B * C), dH: withH ? new Float32Array(B * C) : null,
    dTemp: new Float64Array(B), dS64: new Float64Array(B * C), dT64: new Float64Array(B * C),
  };
  k(s, t, h, B, C, call, o.loss, o.dS, o.dT, o.dH, o.dTemp);
  // The float64 gradients for the size of ∂L/∂T's parts (the same call, stored without rounding).
  if (sizes) k(s, t, h, B, C, call, new Float64Array(B), o.dS64, o.dT64, null, null);
  return o;
}

const worst = { loss: 0, dTemp: 0, grad: 0 };

function compare(name: string, s: Float32Array | Float64Array, t: Float32Array | Float64Array, B: number, C: number, call: DistillationRowsCall, a: Out, b: Out): void {
  const { temperature: T, power } = call;
  for (let r = 0; r < B; r++) {
    const [lw, lj] = [a.loss[r]!, b.loss[r]!];
    if (!Number.isFinite(lj)) expect(lw, `${name} row ${r}: loss`).toBe(lj);
    else {
      const err = Math.abs(lw - lj);
      expect(err, `${name} row ${r}: loss ${lw} vs ${lj}`).toBeLessThanOrEqual(2 * (20 + C) * EPS * Math.abs(lj));
      if (lj !== 0) worst.loss = Math.max(worst.loss, err / (2 * (20 + C) * EPS * Math.abs(lj)));
    }
    const base = r * C;
    let ms = -Infinity;
    let mt = -Infinity;
    for (let i = 0; i < C; i++) {
      if (s[base + i]! > ms || s[base + i] !== s[base + i]) ms = s[base + i]!;
      if (t[base + i]! > mt || t[base + i] !== t[base + i]) mt = t[base + i]!;
    }
    // ∂L/∂T: 2(16 + C)ε of the size of its parts.
    const [tw, tj] = [a.dTemp[r]!, b.dTemp[r]!];
    if (!Number.isFinite(tj)) expect(tw, `${name} row ${r}: dTemp`).toBe(tj);
    else {
      // (k·|L| is at least k·|L_soft|; a loss made infinite by the hard term alone, a label on a
      // class the student masks, leaves ∂L/∂T finite: its soft part is then bounded by the products.)
      let M = Number.isFinite(lj) ? (power * Math.abs(lj)) / T : 0;
      for (let i = 0; i < C; i++) {
        const [gs, gt] = [b.dS64[base + i]!, b.dT64[base + i]!];
        // (A masked logit adds nothing to E: its soft gradient is 0, the hard term's is not in E.)
        if (gs !== 0 && s[base + i] !== -Infinity) M += Math.abs(gs * (s[base + i]! - ms)) / T;
        if (gt !== 0 && t[base + i] !== -Infinity) M += Math.abs(gt * (t[base + i]! - mt)) / T;
      }
      // (A row with +∞ or NaN among its logits has no finite size of parts: the same value on both.)
      if (!Number.isFinite(M)) {
        expect(tw, `${name} row ${r}: dTemp`).toBe(tj);
        continue;
      }
      const err = Math.abs(tw - tj);
      expect(err, `${name} row ${r}: dTemp ${tw} vs ${tj} (parts ${M})`).toBeLessThanOrEqual(2 * (16 + C) * EPS * M);
      if (M > 0) worst.dTemp = Math.max(worst.dTemp, err / (2 * (16 + C) * EPS * M));
    }
    // Gradient entries, as stored in float32: equal or one rounding step apart.
    for (const [gw, gj] of [[a.dS, b.dS], [a.dT, b.dT], [a.dH, b.dH]] as const) {
      if (gw === null || gj === null) continue;
      let gmax = 0;
      for (let i = 0; i < C; i++) if (Number.isFinite(gj[base + i]!)) gmax = Math.max(gmax, Math.abs(gj[base + i]!));
      for (let i = 0; i < C; i++) {
        const [x, y] = [gw[base + i]!, gj[base + i]!];
        if (!Number.isFinite(y)) {
          expect(x, `${name} row ${r}: gradient entry ${i}`).toBe(y);
          continue;
        }
        const allowed = 2 * U * Math.abs(y) + 2 ** -40 * gmax;
        const err = Math.abs(x - y);
        if (err > allowed) expect(err, `${name} row ${r}: gradient entry ${i}: ${x} vs ${y}`).toBeLessThanOrEqual(allowed);
        if (allowed > 0) worst.grad = Math.max(worst.grad, err / allowed);
      }
    }
  }
}

// The kernels are called directly, whatever the project's backend: this runs once, in the wasm project.
describe.skipIf(!wasmAvailable() || getBackend() !== "wasm")("the WebAssembly general rows agree with the TypeScript kernel", () => {
  const temperatures = [1e-6, 1, 4, 1e3, 1e6];
  // At C = 152,064, the divergences language-model distillation uses (and TVD), at three temperatures.
  const large = new Set(["reverse 0", "jsd 0.5", "skewForward 0.1", "tvd 0"]);
  for (const C of [1000, 152_064]) {
    const names = Object.keys(kinds);
    // At C = 152,064 the rows that exercise the accuracy (the rest are the same code at any C).
    const use = C === 1000 ? names : names.slice(0, 5);
    for (const [divergence, mixIn] of settings) {
      if (C > 1000 && !large.has(`${divergence} ${mixIn}`)) continue;
      test(`C = ${C}, ${divergence}${mixIn ? ` ${mixIn}` : ""}: ${use.length} kinds of row, ${C > 1000 ? "T ∈ {1e-6, 4, 1e6}, α = 0.5" : "T from 1e-6 to 1e6, α ∈ {1, 0.5, 0}"}, k ∈ {0, 2}, an ignored row`, () => {
        const g = normals(C + 17);
        const B = use.length + 1;
        const s = new Float32Array(B * C);
        const t = new Float32Array(B * C);
        use.forEach((k, r) => {
          const [sr, tr] = kinds[k]!(C, g);
          s.set(sr, r * C);
          t.set(tr, r * C);
        });
        s.set(s.subarray(0, C), use.length * C); // the ignored row: a copy of the first
        t.set(t.subarray(0, C), use.length * C);
        const labels = Int32Array.from({ length: B }, (_, r) => (r === use.length ? -100 : (r * 7919) % C));
        for (const T of C > 1000 ? [1e-6, 4, 1e6] : temperatures) {
          for (const [alpha, power] of [[1, 2], [0.5, 2], [0.5, 0], [0, 2]] as const) {
            if (C > 1000 && alpha !== 0.5) continue;
            const call: DistillationRowsCall = {
              divergence, mix: mixtureWeight(mixIn), temperature: T, alpha, power, labels, ignoreIndex: -100, norm: B - 1,
            };
            const a = run(wasmRows, s, t, s, B, C, call, false, false);
            const b = run(jsKernels.distillationRows, s, t, s, B, C, call, false, true);
            compare(`T = ${T}, α = ${alpha}, k = ${power}`, s, t, B, C, call, a, b);
          }
        }
      });
    }
  }

  test("standardized rows: float64 s, t with the float32 logits as h (dH), as distillationLoss hands them over", () => {
    const C = 3000;
    const g = normals(5);
    const B = 3;
    const h = Float32Array.from({ length: B * C }, () => 4 * g());
    const s = Float64Array.from(h, (v) => v / 4 + 1e-3 * g());
    const t = Float64Array.from(s, (v) => v + g());
    for (let i = 0; i < C; i += 5) t[C + i] = -Infinity;
    const labels = new Int32Array([3, 1500, 2999]);
    for (const [divergence, mixIn] of settings) {
      for (const T of [1, 4, 1e3]) {
        const call: DistillationRowsCall = { divergence, mix: mixtureWeight(mixIn), temperature: T, alpha: 0.5, power: 2, labels, ignoreIndex: -100, norm: B };
        const a = run(wasmRows, s, t, h, B, C, call, true, false);
        const b = run(jsKernels.distillationRows, s, t, h, B, C, call, true, true);
        compare(`standardized ${divergence} T = ${T}`, s, t, B, C, call, a, b);
      }
    }
  });

  test("summary", () => {
    expect(worst.loss).toBeLessThanOrEqual(1);
    console.log(`wasm vs TypeScript general rows: worst loss difference ${worst.loss.toFixed(4)} of 2(20 + C)ε relative, ∂L/∂T ${worst.dTemp.toFixed(4)} of its allowance, gradient entries ${worst.grad.toFixed(4)} of one float32 rounding step`);
  });
});
