/**
 * Question: what does a teacher stored as its top-k classes cost per training step, next to the
 * dense teacher it replaces, at a language model's vocabulary?
 *
 * N = 16 token positions, V = 152,064 classes (Qwen2's vocabulary), float32, T = 1, the soft term
 * alone (α = 1, no labels), value and ∂L/∂student:
 *   - sparseDistillationLoss(student, indices, logprobs) at k = 8 and k = 64, with the tail
 *     outcome (the default) and renormalised over the top-k (tail: false);
 *   - distillationLoss(student, teacher) with the teacher's full [N, V] logits, on the wasm and
 *     the js backend (the sparse kernel is TypeScript only: both backends run it).
 * The teacher's top-k log-probabilities are taken from the same teacher logits, so every variant
 * distils the same teacher. Each variant's loss and gradient are checked once against its own
 * float64 value, outside the timing: the sparse loss at 1e-6 relative (its float32 contract,
 * docs/lm-distillation.md) and the gradient at 1e-5 of max|g|.
 *
 * Reported: ns per logit (time per call ÷ (N·V)) and time as a multiple of the dense loss on the
 * wasm backend, measured in the same Suite. The teacher's storage per position is given beside
 * it: k·(4 + 4) bytes (int32 indices, float32 logprobs; k·(8 + 2) as int64 and bfloat16) against
 * V·4 for dense float32 logits.
 */
import { Generator, Tensor, distillationLoss, randn, setBackend, sparseDistillationLoss, tensor, type Backend } from "../src/index.js";
import {
  fmt, fmtRatio, fmtRme, fmtTime, maxAbs, maxAbsDiff, measure, relClose, table,
  type Measurement, type RunOptions, type SuiteResult, type Variant,
} from "./harness.js";

export const N = 16;
export const V = 152064;
const T = 1;
const lossRtol = 1e-6;
const gradRtol = 1e-5;

interface Inputs {
  s: Tensor;
  t: Tensor;
  topk: Map<number, { indices: Tensor; logprobs: Tensor }>;
}

/** The top k classes of each row of log-softmax(t), by one pass per row keeping a sorted list of k. */
function topK(t: Tensor, k: number): { indices: Tensor; logprobs: Tensor } {
  const x = t.data as Float32Array;
  const idx = new Int32Array(N * k);
  const val = new Float32Array(N * k);
  for (let r = 0; r < N; r++) {
    const o = r * V;
    let m = -Infinity;
    for (let c = 0; c < V; c++) m = Math.max(m, x[o + c]!);
    let sum = 0;
    for (let c = 0; c < V; c++) sum += Math.exp(x[o + c]! - m);
    const lse = m + Math.log(sum);
    const best: number[] = [];
    for (let c = 0; c < V; c++) {
      const v = x[o + c]!;
      if (best.length === k && v <= x[o + best[k - 1]!]!) continue;
      let i = best.length === k ? k - 1 : best.length;
      while (i > 0 && x[o + best[i - 1]!]! < v) i--;
      best.splice(i, 0, c);
      if (best.length > k) best.pop();
    }
    best.forEach((c, j) => {
      idx[r * k + j] = c;
      val[r * k + j] = x[o + c]! - lse;
    });
  }
  return { indices: tensor(idx, { shape: [N, k] }), logprobs: tensor(val, { shape: [N, k], dtype: "float32" }) };
}

function inputs(): Inputs {
  const g = new Generator(152064);
  // A peaked teacher (logits of spread 3, so its top 64 hold a real part of the mass) and a student near it.
  const t = randn([N, V], { generator: g, dtype: "float32" }).mul(3);
  const s = t.mul(0.7).add(randn([N, V], { generator: g, dtype: "float32" }).mul(0.5));
  return { s, t, topk: new Map([8, 64].map((k) => [k, topK(t, k)])) };
}

interface Case {
  name: string;
  k: number | null;
  before?: () => void;
  run: () => { loss: number; grad: ArrayLike<number> };
  /** The same call in float64 (the js kernels). */
  reference: () => { loss: number; grad: ArrayLike<number> };
}

function sparseCase(x: Inputs, k: number, tail: boolean): Case {
  const { indices, logprobs } = x.topk.get(k)!;
  const call = (s: Tensor, lp: Tensor): { loss: number; grad: ArrayLike<number> } => {
    const leaf = s.detach().requiresGrad_();
    const loss = sparseDistillationLoss(leaf, indices, lp, { temperature: T, tail });
    loss.backward();
    return { loss: loss.item(), grad: leaf.grad!.data };
  };
  return {
    name: `kdgrad sparse k = ${k}${tail ? "" : ", renormalised"}`,
    k,
    run: () => call(x.s, logprobs),
    reference: () => call(x.s.to("float64"), logprobs.to("float64")),
  };
}

function denseCase(x: Inputs, backend: Backend): Case {
  const call = (s: Tensor, t: Tensor): { loss: number; grad: ArrayLike<number> } => {
    const leaf = s.detach().requiresGrad_();
    const loss = distillationLoss(leaf, t, { temperature: T });
    loss.backward();
    return { loss: loss.item(), grad: leaf.grad!.data };
  };
  return {
    name: `kdgrad dense (${backend})`,
    k: null,
    before: () => setBackend(backend),
    run: () => {
      setBackend(backend);
      return call(x.s, x.t);
    },
    reference: () => call(x.s.to("float64"), x.t.to("float64")),
  };
}

interface Check {
  loss: number;
  lossRelErr: number;
  gradRelErr: number;
  ok: boolean;
  seconds: number;
  error?: string;
}

function check(c: Case): Check {
  try {
    c.before?.();
    const t0 = performance.now();
    const out = c.run();
    const seconds = (performance.now() - t0) / 1e3;
    setBackend("js");
    const ref = c.reference();
    c.before?.();
    const gradRelErr = maxAbsDiff(out.grad, ref.grad) / maxAbs(ref.grad);
    const lossRelErr = Math.abs(out.loss - ref.loss) / Math.abs(ref.loss);
    return { loss: out.loss, lossRelErr, gradRelErr, ok: relClose(out.loss, ref.loss, lossRtol) && gradRelErr <= gradRtol, seconds };
  } catch (e) {
    return { loss: NaN, lossRelErr: NaN, gradRelErr: NaN, ok: false, seconds: NaN, error: String(e) };
  }
}

export async function run(options: RunOptions): Promise<SuiteResult> {
  process.stderr.write(`sparse [${N}, ${V}]\n`);
  const x = inputs();
  const cases: Case[] = [
    denseCase(x, "wasm"), denseCase(x, "js"),
    sparseCase(x, 8, true), sparseCase(x, 64, true), sparseCase(x, 64, false),
  ];
  const checks = cases.map(check);
  const variants: Variant[] = cases.map((c) => ({ name: c.name, before: c.before, fn: () => void c.run() }));
  const measured: Measurement[] = options.quick
    ? checks.map((ck, i) => ({ name: cases[i]!.name, mean: ck.seconds, rme: NaN, samples: 1 }))
    : measure(`sparse [${N}, ${V}]`, variants);
  setBackend("wasm");
  const base = measured[0]!.mean;
  const mismatches: string[] = [];
  const storage = (k: number | null): string => (k === null ? `${fmt((V * 4) / 1024)} KiB` : `${k * 8} B (${k * 10} B as I64 + BF16)`);
  const rows = measured.map((m, i) => {
    const ck = checks[i]!;
    return [m.name, fmtTime(m.mean), fmt((m.mean * 1e9) / (N * V)), fmtRme(m), fmtRatio(m.mean / base), storage(cases[i]!.k), ck.ok ? "ok" : "MISMATCH"];
  });
  checks.forEach((ck, i) => {
    if (ck.ok) return;
    const what = ck.error ?? `loss rel. err. ${ck.lossRelErr.toExponential(2)} (float64 reference), grad rel. err. ${ck.gradRelErr.toExponential(2)}`;
    mismatches.push(`sparse [${N}, ${V}] ${cases[i]!.name}: ${what}`);
    rows.push([`MISMATCH: ${cases[i]!.name}`, "", "", "", "", "", what]);
  });
  const parts = [
    "## Sparse (top-k) distillation loss + gradient",
    "",
    `float32, N = ${N} positions, V = ${V} classes, T = ${T}, soft term alone; forward and ∂L/∂student. ` +
      "ns/logit = time per call ÷ (N·V); ratio = time ÷ time of the dense loss (wasm) in the same Suite (< 1: faster). " +
      `Check: loss within ${lossRtol} relative and gradient within ${gradRtol} of max|g| of the same call in float64. ` +
      "Teacher storage is per position.",
    "",
    `### [${N}, ${V}]${options.quick ? " (quick: one call, not timed)" : ""}`,
    "",
    table(["variant", "time/call", "ns/logit", "±", "ratio to dense wasm", "teacher storage", "check"], rows),
  ];
  return {
    key: "sparse",
    markdown: parts.join("\n"),
    mismatches,
    data: {
      N, V, temperature: T,
      variants: measured.map((m, i) => ({
        name: m.name, k: cases[i]!.k, secondsPerCall: m.mean, nsPerLogit: (m.mean * 1e9) / (N * V), rmePercent: m.rme, samples: m.samples,
        ratioToDenseWasm: m.mean / base, check: checks[i],
      })),
    },
  };
}
