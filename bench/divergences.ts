/**
 * Question: how fast are distillationLoss's other divergences (reverse KL, JSD, the skewed KLs,
 * TVD: language-model distillation's GKD and DistiLLM use the first three) on the WebAssembly
 * general rows (wasm/divergences.ts) next to the TypeScript kernel they port, and next to jax-js
 * computing the same divergence with its ops?
 *
 *   L = α·T²·mean D(p_t, p_s) + (1 − α)·mean CE(s, y),   T = 4, α = 0.7,
 *
 * s and t float32 [B, C]; forward and ∂L/∂s, the loss read as a number and the gradient as a
 * Float32Array on the host. Each variant is checked once per shape against kdgrad's float64
 * value (the TypeScript kernel on float64 copies), outside the timing.
 *
 * Reported: ns per logit and time as a multiple of kdgrad's WebAssembly kernel in the same Suite.
 * The forward KL on the original fused kernel (WebAssembly SIMD) is listed for scale.
 */
import { Generator, distillationLoss, randn, randint, setBackend, type Backend, type Divergence, type Tensor } from "../src/index.js";
import { jit, nn, numpy as np, valueAndGrad } from "@jax-js/jax";
import {
  fmt, fmtRatio, fmtRme, fmtTime, maxAbs, maxAbsDiff, measure, relClose, table,
  type Measurement, type RunOptions, type SuiteResult,
} from "./harness.js";
import { loadJax } from "./peers.js";

const temperature = 4;
const alpha = 0.7;
const beta = 0.5;
const skew = 0.1;
export const shapes: readonly (readonly [number, number])[] = [[256, 1000], [4, 152_064]];
const divergences: readonly Divergence[] = ["reverse", "jsd", "skewForward", "tvd"];

const lossRtol = 1e-4;
const gradRtol = 1e-3;

interface Output {
  loss: number;
  grad: ArrayLike<number>;
}

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
}

function inputs(B: number, C: number): Inputs {
  const g = new Generator(7 * B + C);
  const s = randn([B, C], { generator: g, dtype: "float32" });
  const t = randn([B, C], { generator: g, dtype: "float32" }).mul(2);
  const y = randint(0, C, [B], { generator: g });
  return { B, C, s, t, y };
}

const optionsOf = (d: Divergence): object => (d === "jsd" ? { divergence: d, beta } : d.startsWith("skew") ? { divergence: d, skew } : { divergence: d });

function kdgrad(x: Inputs, d: Divergence, backend: Backend): Case {
  return {
    name: `kdgrad ${d} (${backend})`,
    before: () => setBackend(backend),
    run: () => {
      setBackend(backend);
      const leaf = x.s.detach().requiresGrad_();
      const loss = distillationLoss(leaf, x.t, { labels: x.y, temperature, alpha, ...optionsOf(d) } as never);
      loss.backward();
      return { loss: loss.item(), grad: leaf.grad!.data };
    },
  };
}

/**
 * jax-js, jit(valueAndGrad) of the divergence written with its ops, as a PyTorch user writes it
 * (the log of the mixture taken directly): reverse KL, JSD and TVD; the skews are the JSD's
 * arithmetic with other weights, so they are left to it.
 */
async function jaxCase(x: Inputs, d: Divergence): Promise<Case | null> {
  if (d !== "reverse" && d !== "jsd" && d !== "tvd") return null;
  await loadJax();
  const { B, C } = x;
  const s = np.array(x.s.data as Float32Array).reshape([B, C]);
  const t = np.array(x.t.data as Float32Array).reshape([B, C]);
  const y = np.array(x.y.data as Int32Array, { dtype: np.int32 });
  const loss = (sv: np.Array, tv: np.Array, yv: np.Array): np.Array => {
    const lps = nn.logSoftmax(sv.ref.mul(1 / temperature), -1);
    const lpt = nn.logSoftmax(tv.mul(1 / temperature), -1);
    let D: np.Array;
    if (d === "reverse") D = np.sum(np.exp(lps.ref).mul(lps.sub(lpt)));
    else if (d === "tvd") D = np.sum(np.abs(np.exp(lpt).sub(np.exp(lps)))).mul(0.5);
    else {
      const ps = np.exp(lps.ref);
      const pt = np.exp(lpt.ref);
      const lm = np.log(pt.ref.mul(beta).add(ps.ref.mul(1 - beta)));
      D = np.sum(pt.mul(lpt.sub(lm.ref))).mul(beta).add(np.sum(ps.mul(lps.sub(lm))).mul(1 - beta));
    }
    const onehot = np.equal(yv.reshape([B, 1]), np.arange(C).astype(np.int32)).astype(np.float32);
    const ce = np.sum(nn.logSoftmax(sv, -1).mul(onehot)).mul(-1);
    return D.mul((alpha * temperature * temperature) / B).add(ce.mul((1 - alpha) / B));
  };
  const f = jit(valueAndGrad(loss));
  return {
    name: `jax-js ${d} jit(valueAndGrad)`,
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
  ok: boolean;
  lossRelErr: number;
  gradRelErr: number;
  seconds: number;
  error?: string;
}

function check(c: Case, ref: { loss: number; grad: Float64Array }): Check {
  const t0 = performance.now();
  try {
    c.before?.();
    const out = c.run();
    const seconds = (performance.now() - t0) / 1e3;
    const gradRelErr = maxAbsDiff(out.grad, ref.grad) / maxAbs(ref.grad);
    const lossRelErr = Math.abs(out.loss - ref.loss) / Math.abs(ref.loss);
    return { name: c.name, ok: relClose(out.loss, ref.loss, lossRtol) && gradRelErr <= gradRtol, lossRelErr, gradRelErr, seconds };
  } catch (e) {
    return { name: c.name, ok: false, lossRelErr: NaN, gradRelErr: NaN, seconds: NaN, error: String(e) };
  }
}

export async function run(options: RunOptions): Promise<SuiteResult> {
  const parts: string[] = [
    "## Divergences (reverse KL, JSD, skew KL, TVD) + gradient",
    "",
    `float32, T = ${temperature}, α = ${alpha}, β = ${beta}, λ = ${skew}, hard labels; forward and ∂L/∂student. ` +
      "ns/logit = time per call ÷ (B·C); ratio = time ÷ time of kdgrad's WebAssembly kernel for the same divergence " +
      "(> 1: slower). The forward KL on the original fused WebAssembly kernel is listed for scale. " +
      `Check: loss within ${lossRtol} relative and gradient within ${gradRtol} of max|g| of kdgrad's float64 value.`,
  ];
  const mismatches: string[] = [];
  const data: unknown[] = [];
  for (const [B, C] of shapes) {
    process.stderr.write(`divergences [${B}, ${C}]\n`);
    const x = inputs(B, C);
    const rows: string[][] = [];
    const shapeData: unknown[] = [];
    for (const d of ["forward" as const, ...divergences]) {
      const cases: Case[] = [kdgrad(x, d, "wasm")];
      if (d !== "forward") {
        cases.push(kdgrad(x, d, "js"));
        const j = await jaxCase(x, d);
        if (j) cases.push(j);
      }
      setBackend("js");
      const leaf = x.s.to("float64").requiresGrad_();
      const refLoss = distillationLoss(leaf, x.t.to("float64"), { labels: x.y, temperature, alpha, ...optionsOf(d) } as never);
      refLoss.backward();
      const ref = { loss: refLoss.item(), grad: leaf.grad!.data as Float64Array };
      const checks = cases.map((c) => check(c, ref));
      const variants = cases.map((c) => ({ name: c.name, before: c.before, fn: () => void c.run() }));
      const measured: Measurement[] = options.quick
        ? checks.map((ck) => ({ name: ck.name, mean: ck.seconds, rme: NaN, samples: 1 }))
        : measure(`divergences ${d} [${B}, ${C}]`, variants);
      for (const c of cases) c.dispose?.();
      const base = measured[0]!.mean;
      measured.forEach((m, i) => {
        const ck = checks[i]!;
        rows.push([m.name, fmtTime(m.mean), fmt((m.mean * 1e9) / (B * C)), fmtRme(m), fmtRatio(m.mean / base), ck.ok ? "ok" : "MISMATCH"]);
        if (!ck.ok) {
          const what = ck.error ?? `loss rel. err. ${ck.lossRelErr.toExponential(2)}, grad rel. err. ${ck.gradRelErr.toExponential(2)}`;
          mismatches.push(`divergences [${B}, ${C}] ${ck.name}: ${what}`);
        }
      });
      shapeData.push({
        divergence: d, referenceLoss: ref.loss,
        variants: measured.map((m, i) => ({
          name: m.name, secondsPerCall: m.mean, nsPerLogit: (m.mean * 1e9) / (B * C), rmePercent: m.rme, samples: m.samples,
          ratioToKdgradWasm: m.mean / base, ...(m.error ? { error: m.error } : {}), check: checks[i],
        })),
      });
    }
    parts.push(
      "",
      `### [${B}, ${C}]${options.quick ? " (quick: one call, not timed)" : ""}`,
      "",
      table(["variant", "time/call", "ns/logit", "±", "ratio to kdgrad wasm (same divergence)", "check"], rows),
    );
    data.push({ B, C, divergences: shapeData });
  }
  return { key: "divergences", markdown: parts.join("\n"), mismatches, data: { temperature, alpha, beta, skew, shapes: data } };
}
