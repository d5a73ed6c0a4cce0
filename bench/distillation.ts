/**
 * Question: how fast is kdgrad's fused distillation loss, value and gradient
 * with respect to the student, next to the same loss written unfused in
 * plain JavaScript, through kdgrad's own autodiff, in TensorFlow.js and in
 * jax-js?
 *
 *   L = α·T²·KL(softmax(t/T) ‖ softmax(s/T)) + (1 − α)·CE(s, y),   T = 4, α = 0.7,
 *
 * KL averaged over the B rows, CE the mean cross-entropy at T = 1 against
 * hard labels y; s and t are float32 [B, C]. Every variant computes the
 * teacher's softmax inside the call (as the fused kernel does), differentiates
 * with respect to s only, and ends with the loss as a number and ∂L/∂s
 * readable on the host as a Float32Array (dataSync / .grad), so no peer can
 * leave work pending. Each variant's loss and gradient are checked once per
 * shape against kdgrad's float64 value, outside the timing.
 *
 * Reported: ns per logit (time per call / (B·C)) and time as a multiple of
 * kdgrad's fused loss on the wasm backend, measured in the same Suite.
 */
import {
  Tensor, Generator, distillationLoss, distillationLossComposite, randn, randint, setBackend, type Backend,
} from "../src/index.js";
import { jit, nn, numpy as np, valueAndGrad } from "@jax-js/jax";
import type * as TF from "@tensorflow/tfjs";
import {
  fmt, fmtRatio, fmtRme, fmtTime, maxAbs, maxAbsDiff, measure, relClose, table, target, targetTable,
  type Measurement, type RunOptions, type SuiteResult, type Target, type Variant,
} from "./harness.js";
import { loadJax, loadTf, useTf, type TfBackend } from "./peers.js";

const temperature = 4;
const alpha = 0.7;
export const shapes: readonly (readonly [number, number])[] = [[128, 10], [256, 1000], [32, 32000]];

/** Loss agreement with kdgrad's float64 value: |L − L₆₄| ≤ lossRtol·|L₆₄|. */
const lossRtol = 1e-4;
/** Gradient agreement: max |g − g₆₄| ≤ gradRtol·max |g₆₄|. */
const gradRtol = 1e-3;

interface Output {
  loss: number;
  grad: ArrayLike<number>;
}

/** A variant that can also report its output (for the checks), and free what it holds. */
interface Case {
  name: string;
  run: () => Output;
  before?: () => void;
  dispose?: () => void;
}

interface Inputs {
  B: number;
  C: number;
  s: Tensor;
  t: Tensor;
  y: Tensor;
  sData: Float32Array;
  tData: Float32Array;
  yData: Int32Array;
}

function inputs(B: number, C: number): Inputs {
  const g = new Generator(1000 * B + C);
  const s = randn([B, C], { generator: g, dtype: "float32" });
  // A teacher twice as confident as the student, as after training.
  const t = randn([B, C], { generator: g, dtype: "float32" }).mul(2);
  const y = randint(0, C, [B], { generator: g });
  return { B, C, s, t, y, sData: s.data as Float32Array, tData: t.data as Float32Array, yData: y.data as Int32Array };
}

function kdgradFused(x: Inputs, backend: Backend): Case {
  return {
    name: `kdgrad fused (${backend})`,
    before: () => setBackend(backend),
    run: () => {
      setBackend(backend);
      const leaf = x.s.detach().requiresGrad_();
      const loss = distillationLoss(leaf, x.t, { labels: x.y, temperature, alpha });
      loss.backward();
      return { loss: loss.item(), grad: leaf.grad!.data };
    },
  };
}

function kdgradComposite(x: Inputs): Case {
  return {
    name: "kdgrad composite (autodiff)",
    before: () => setBackend("wasm"),
    run: () => {
      const leaf = x.s.detach().requiresGrad_();
      const loss = distillationLossComposite(leaf, x.t, { labels: x.y, temperature, alpha });
      loss.backward();
      return { loss: loss.item(), grad: leaf.grad!.data };
    },
  };
}

/** Row-wise log-softmax of x [B, C] into a new array: (xᵢ − m) − log Σⱼ exp(xⱼ − m). */
function logSoftmaxRows(x: Float32Array, B: number, C: number): Float32Array {
  const y = new Float32Array(B * C);
  for (let r = 0; r < B; r++) {
    const o = r * C;
    let m = -Infinity;
    for (let i = 0; i < C; i++) m = Math.max(m, x[o + i]!);
    let sum = 0;
    for (let i = 0; i < C; i++) sum += Math.exp(x[o + i]! - m);
    const shift = m + Math.log(sum);
    for (let i = 0; i < C; i++) y[o + i] = x[o + i]! - shift;
  }
  return y;
}

function mapArray(x: Float32Array, f: (v: number) => number): Float32Array {
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = f(x[i]!);
  return y;
}

/**
 * The loss as one would write it in plain JavaScript without a framework:
 * one Float32Array per intermediate (s/T, t/T, their log-softmaxes, both
 * softmaxes, the KL terms, log-softmax(s), softmax(s), the two gradient
 * parts and the gradient), the gradient written from the same derivation
 * as the fused kernel: [α·T·(p_s − p_t) + (1 − α)(softmax(s) − onehot(y))] / B.
 */
function plainJs(s: Float32Array, t: Float32Array, y: Int32Array, B: number, C: number): Output {
  const n = B * C;
  const lps = logSoftmaxRows(mapArray(s, (v) => v / temperature), B, C);
  const lpt = logSoftmaxRows(mapArray(t, (v) => v / temperature), B, C);
  const ps = mapArray(lps, Math.exp);
  const pt = mapArray(lpt, Math.exp);
  const klTerms = new Float32Array(n);
  for (let i = 0; i < n; i++) klTerms[i] = pt[i]! * (lpt[i]! - lps[i]!);
  let kl = 0;
  for (let i = 0; i < n; i++) kl += klTerms[i]!;
  const ls1 = logSoftmaxRows(s, B, C);
  let ce = 0;
  for (let r = 0; r < B; r++) ce -= ls1[r * C + y[r]!]!;
  const p1 = mapArray(ls1, Math.exp);
  const gSoft = new Float32Array(n);
  for (let i = 0; i < n; i++) gSoft[i] = ps[i]! - pt[i]!;
  const gHard = p1.slice();
  for (let r = 0; r < B; r++) gHard[r * C + y[r]!] = gHard[r * C + y[r]!]! - 1;
  const grad = new Float32Array(n);
  const a = (alpha * temperature) / B;
  const b = (1 - alpha) / B;
  for (let i = 0; i < n; i++) grad[i] = a * gSoft[i]! + b * gHard[i]!;
  return { loss: (alpha * temperature * temperature * kl + (1 - alpha) * ce) / B, grad };
}

async function tfCase(x: Inputs, backend: TfBackend): Promise<Case> {
  const tf = await loadTf();
  useTf(backend);
  const { B, C } = x;
  const s = tf.tensor2d(x.sData, [B, C]);
  const t = tf.tensor2d(x.tData, [B, C]);
  const y = tf.tensor1d(x.yData, "int32");
  // The idiomatic tfjs loss: KL written out (tfjs has no KL loss), CE with
  // tf.losses.softmaxCrossEntropy (mean over the batch).
  const loss = (sv: TF.Tensor): TF.Scalar => {
    const lps = tf.logSoftmax(sv.div(temperature));
    const lpt = tf.logSoftmax(t.div(temperature));
    const kl = tf.sum(tf.exp(lpt).mul(lpt.sub(lps)));
    const ce = tf.losses.softmaxCrossEntropy(tf.oneHot(y, C), sv);
    return kl.mul((alpha * temperature * temperature) / B).add(ce.mul(1 - alpha)) as TF.Scalar;
  };
  const vg = tf.valueAndGrad(loss);
  return {
    name: `tfjs ${backend}`,
    before: () => useTf(backend),
    run: () => {
      let out: Output = { loss: NaN, grad: [] };
      tf.tidy(() => {
        const { value, grad } = vg(s);
        out = { loss: value.dataSync()[0]!, grad: grad.dataSync() as Float32Array };
      });
      return out;
    },
    dispose: () => tf.dispose([s, t, y]),
  };
}

async function jaxCase(x: Inputs): Promise<Case> {
  await loadJax();
  const { B, C } = x;
  const s = np.array(x.sData).reshape([B, C]);
  const t = np.array(x.tData).reshape([B, C]);
  const y = np.array(x.yData, { dtype: np.int32 });
  // jax-js arrays are reference-counted and every function consumes its
  // arguments: a value used twice is passed once as `.ref`.
  const loss = (sv: np.Array, tv: np.Array, yv: np.Array): np.Array => {
    const lps = nn.logSoftmax(sv.ref.mul(1 / temperature), -1);
    const lpt = nn.logSoftmax(tv.mul(1 / temperature), -1);
    const kl = np.sum(np.exp(lpt.ref).mul(lpt.sub(lps)));
    // onehot(y) as y[:, None] == arange(C): nn.oneHot is eye(C)[y], and under
    // jit the C×C identity is materialised (4 GB at C = 32000, beyond wasm32).
    const onehot = np.equal(yv.reshape([B, 1]), np.arange(C).astype(np.int32)).astype(np.float32);
    const ce = np.sum(nn.logSoftmax(sv, -1).mul(onehot)).mul(-1);
    return kl.mul((alpha * temperature * temperature) / B).add(ce.mul((1 - alpha) / B));
  };
  const f = jit(valueAndGrad(loss));
  return {
    name: "jax-js jit(valueAndGrad)",
    run: () => {
      const [value, grad] = f(s.ref, t.ref, y.ref);
      return { loss: value.dataSync()[0]!, grad: grad.dataSync() };
    },
    dispose: () => {
      s.dispose();
      t.dispose();
      y.dispose();
      f.dispose();
    },
  };
}

interface Check {
  name: string;
  loss: number;
  lossRelErr: number;
  gradRelErr: number;
  ok: boolean;
  /** Duration of this first call (includes jax-js's jit compile): the "time" of a quick run. */
  seconds: number;
  error?: string;
}

/** One call of `c`, outside any timing loop, compared with the float64 reference. */
function check(c: Case, ref: { loss: number; grad: Float64Array }): Check {
  const t0 = performance.now();
  try {
    c.before?.();
    const out = c.run();
    const seconds = (performance.now() - t0) / 1e3;
    const gradRelErr = maxAbsDiff(out.grad, ref.grad) / maxAbs(ref.grad);
    const lossRelErr = Math.abs(out.loss - ref.loss) / Math.abs(ref.loss);
    const ok = relClose(out.loss, ref.loss, lossRtol) && gradRelErr <= gradRtol;
    return { name: c.name, loss: out.loss, lossRelErr, gradRelErr, ok, seconds };
  } catch (e) {
    return { name: c.name, loss: NaN, lossRelErr: NaN, gradRelErr: NaN, ok: false, seconds: NaN, error: String(e) };
  }
}

export async function run(options: RunOptions): Promise<SuiteResult> {
  const parts: string[] = [
    "## Distillation loss + gradient",
    "",
    `float32, T = ${temperature}, α = ${alpha}, hard labels; forward and ∂L/∂student. ` +
      "ns/logit = time per call ÷ (B·C); ratio = time ÷ time of kdgrad fused (wasm) in the same Suite (> 1: slower than kdgrad). " +
      `Check: loss within ${lossRtol} relative and gradient within ${gradRtol} of max|g| of kdgrad's float64 value.`,
  ];
  const mismatches: string[] = [];
  const data: unknown[] = [];
  const targets: Target[] = [];
  const [wasm, js, tfWasm, jax] = ["kdgrad fused (wasm)", "kdgrad fused (js)", "tfjs wasm", "jax-js jit(valueAndGrad)"] as const;
  for (const [B, C] of shapes) {
    process.stderr.write(`distillation [${B}, ${C}]\n`);
    const x = inputs(B, C);
    const cases: Case[] = [
      kdgradFused(x, "wasm"),
      kdgradFused(x, "js"),
      kdgradComposite(x),
      { name: "plain JS unfused", run: () => plainJs(x.sData, x.tData, x.yData, B, C) },
      await tfCase(x, "cpu"),
      await tfCase(x, "wasm"),
      await jaxCase(x),
    ];

    // The float64 reference, through kdgrad's fused loss on the float64 (js) kernels.
    const leaf = x.s.to("float64").requiresGrad_();
    const refLoss = distillationLoss(leaf, x.t.to("float64"), { labels: x.y, temperature, alpha });
    refLoss.backward();
    const ref = { loss: refLoss.item(), grad: leaf.grad!.data as Float64Array };
    const checks = cases.map((c) => check(c, ref));

    const variants: Variant[] = cases.map((c) => ({ name: c.name, before: c.before, fn: () => void c.run() }));
    const measured: Measurement[] = options.quick
      ? checks.map((ck) => ({ name: ck.name, mean: ck.seconds, rme: NaN, samples: 1 }))
      : measure(`distillation [${B}, ${C}]`, variants);
    for (const c of cases) c.dispose?.();

    const base = measured[0]!.mean;
    const rows = measured.map((m: Measurement, i) => {
      const ck = checks[i]!;
      return [
        m.name, fmtTime(m.mean), fmt((m.mean * 1e9) / (B * C)), fmtRme(m), fmtRatio(m.mean / base),
        ck.ok ? "ok" : "MISMATCH",
      ];
    });
    for (const ck of checks) {
      if (ck.ok) continue;
      const what = ck.error ?? `loss ${ck.loss} vs float64 ${ref.loss} (rel. err. ${ck.lossRelErr.toExponential(2)}), grad rel. err. ${ck.gradRelErr.toExponential(2)}`;
      mismatches.push(`distillation [${B}, ${C}] ${ck.name}: ${what}`);
      rows.push([`MISMATCH: ${ck.name}`, "", "", "", "", what]);
    }
    parts.push(
      "",
      `### [${B}, ${C}]${options.quick ? " (quick: one call, not timed)" : ""}`,
      "",
      table(["variant", "time/call", "ns/logit", "±", "ratio to kdgrad wasm", "check"], rows),
    );
    const at = `[${B}, ${C}]`;
    if (C >= 1000) {
      targets.push(
        target(`${at} wasm ≥ 8× tfjs wasm`, measured, wasm, tfWasm, 8),
        target(`${at} wasm ≥ 6× jax-js`, measured, wasm, jax, 6),
        target(`${at} js ≥ 4× tfjs wasm`, measured, js, tfWasm, 4),
        target(`${at} js ≥ 2× jax-js`, measured, js, jax, 2),
      );
    } else {
      targets.push(target(`${at} wasm ≥ 5× jax-js`, measured, wasm, jax, 5));
    }
    data.push({
      B, C, referenceLoss: ref.loss,
      variants: measured.map((m, i) => ({
        name: m.name,
        secondsPerCall: m.mean,
        nsPerLogit: (m.mean * 1e9) / (B * C),
        rmePercent: m.rme,
        samples: m.samples,
        ratioToKdgradWasm: m.mean / base,
        ...(m.error ? { error: m.error } : {}),
        check: checks[i],
      })),
    });
  }
  if (!options.quick) parts.push("", "### Targets", "", targetTable(targets));
  return { key: "distillation", markdown: parts.join("\n"), mismatches, data: { temperature, alpha, shapes: data, targets } };
}
