/**
 * Question: how many GFLOP/s does kdgrad's float32 2-D matmul reach, on its
 * wasm and js backends, next to TensorFlow.js (cpu, wasm) and jax-js?
 *
 * Shapes: [128, 256] @ [256, 256] (an MLP layer's forward at batch 128) and
 * [512, 512] @ [512, 512]. A call counts 2·n·k·m floating-point operations
 * and ends with the product readable on the host (a kdgrad Tensor, dataSync
 * for the peers). Each result is checked once against kdgrad's float64
 * product, outside the timing.
 *
 * Reported: GFLOP/s and the time as a multiple of kdgrad on the wasm backend,
 * measured in the same Suite.
 */
import { Generator, Tensor, getNumThreads, matmul, randn, setBackend, setNumThreads, type Backend } from "../src/index.js";
// kdgrad/node: Node's way to start threads (worker_threads).
import "../src/node/index.js";
import { jit, numpy as np } from "@jax-js/jax";
import {
  fmt, fmtRatio, fmtRme, fmtTime, maxAbs, maxAbsDiff, measure, table, target, targetTable,
  type Measurement, type RunOptions, type SuiteResult, type Variant,
} from "./harness.js";
import { loadJax, loadTf, useTf, type TfBackend } from "./peers.js";

export const shapes: readonly (readonly [number, number, number])[] = [[128, 256, 256], [512, 512, 512]];
/** Agreement: max |C − C₆₄| ≤ rtol·max |C₆₄|. */
const rtol = 1e-5;

interface Case {
  name: string;
  before?: () => void;
  run: () => ArrayLike<number>;
  dispose?: () => void;
}

/** The default thread count here (the core count), read before any case sets it. */
const cores = getNumThreads();

/** kdgrad on `backend`; on wasm with `threads` threads (by default the core count). */
function kdgradCase(a: Tensor, b: Tensor, backend: Backend, threads = cores): Case {
  const use = (): void => {
    setBackend(backend);
    setNumThreads(threads);
  };
  return {
    name: threads === cores ? `kdgrad (${backend})` : `kdgrad (${backend}, ${threads} thread${threads === 1 ? "" : "s"})`,
    before: use,
    run: () => {
      use();
      return matmul(a, b).data;
    },
  };
}

async function tfCase(a: Tensor, b: Tensor, backend: TfBackend): Promise<Case> {
  const tf = await loadTf();
  useTf(backend);
  const at = tf.tensor2d(a.data as Float32Array, a.shape as [number, number]);
  const bt = tf.tensor2d(b.data as Float32Array, b.shape as [number, number]);
  return {
    name: `tfjs ${backend}`,
    before: () => useTf(backend),
    run: () => {
      const c = tf.matMul(at, bt);
      const out = c.dataSync();
      c.dispose();
      return out;
    },
    dispose: () => tf.dispose([at, bt]),
  };
}

async function jaxCase(a: Tensor, b: Tensor): Promise<Case> {
  await loadJax();
  const aj = np.array(a.data as Float32Array).reshape([...a.shape]);
  const bj = np.array(b.data as Float32Array).reshape([...b.shape]);
  const f = jit((x: np.Array, y: np.Array) => np.matmul(x, y));
  return {
    name: "jax-js jit(matmul)",
    run: () => f(aj.ref, bj.ref).dataSync(),
    dispose: () => {
      aj.dispose();
      bj.dispose();
      f.dispose();
    },
  };
}

export async function run(options: RunOptions): Promise<SuiteResult> {
  const parts = [
    "## matmul",
    "",
    "float32 A [n, k] @ B [k, m], result on the host. GFLOP/s = 2·n·k·m ÷ time per call; " +
      `kdgrad (wasm) uses ${cores} thread${cores === 1 ? "" : "s"} (getNumThreads(): the core count), "wasm, 1 thread" one. ` +
      "ratio = time ÷ time of kdgrad (wasm) in the same Suite (> 1: slower than kdgrad). " +
      `Check: max error within ${rtol} of max|C| of the float64 product.`,
  ];
  const mismatches: string[] = [];
  const data: unknown[] = [];
  for (const [n, k, m] of shapes) {
    process.stderr.write(`matmul [${n}, ${k}] @ [${k}, ${m}]\n`);
    const g = new Generator(n + k + m);
    const a = randn([n, k], { generator: g, dtype: "float32" });
    const b = randn([k, m], { generator: g, dtype: "float32" });
    const cases: Case[] = [
      kdgradCase(a, b, "wasm"),
      kdgradCase(a, b, "wasm", 1),
      kdgradCase(a, b, "js"),
      await tfCase(a, b, "cpu"),
      await tfCase(a, b, "wasm"),
      await jaxCase(a, b),
    ];
    const ref = matmul(a.to("float64"), b.to("float64")).data;
    const scale = maxAbs(ref);
    const checks = cases.map((c) => {
      const t0 = performance.now();
      try {
        c.before?.();
        const out = c.run();
        const seconds = (performance.now() - t0) / 1e3;
        const relErr = maxAbsDiff(out, ref) / scale;
        return { name: c.name, relErr, ok: relErr <= rtol, seconds };
      } catch (e) {
        return { name: c.name, relErr: NaN, ok: false, seconds: NaN, error: String(e) };
      }
    });
    const measured: Measurement[] = options.quick
      ? checks.map((ck) => ({ name: ck.name, mean: ck.seconds, rme: NaN, samples: 1 }))
      : measure(`matmul ${n}x${k}x${m}`, cases.map((c): Variant => ({ name: c.name, before: c.before, fn: () => void c.run() })));
    for (const c of cases) c.dispose?.();

    const flops = 2 * n * k * m;
    const base = measured[0]!.mean;
    const rows = measured.map((mm, i) => [
      mm.name, fmtTime(mm.mean), fmt(flops / mm.mean / 1e9), fmtRme(mm), fmtRatio(mm.mean / base), checks[i]!.ok ? "ok" : "MISMATCH",
    ]);
    for (const ck of checks) {
      if (ck.ok) continue;
      const what = "error" in ck ? ck.error! : `max error ${ck.relErr.toExponential(2)} of max|C|`;
      mismatches.push(`matmul [${n}, ${k}] @ [${k}, ${m}] ${ck.name}: ${what}`);
      rows.push([`MISMATCH: ${ck.name}`, "", "", "", "", what]);
    }
    parts.push(
      "",
      `### [${n}, ${k}] @ [${k}, ${m}]${options.quick ? " (quick: one call, not timed)" : ""}`,
      "",
      table(["variant", "time/call", "GFLOP/s", "±", "ratio to kdgrad wasm", "check"], rows),
    );
    const targets = n === 512 ? [target(`matmul 512: kdgrad wasm on ${cores} threads ≥ 1.8× one thread`, measured, "kdgrad (wasm)", "kdgrad (wasm, 1 thread)", 1.8)] : [];
    if (!options.quick && targets.length > 0) parts.push("", targetTable(targets));
    data.push({
      n, k, m, threads: cores, targets,
      variants: measured.map((mm, i) => ({
        name: mm.name, secondsPerCall: mm.mean, gflops: flops / mm.mean / 1e9, rmePercent: mm.rme, samples: mm.samples,
        ratioToKdgradWasm: mm.mean / base, ...(mm.error ? { error: mm.error } : {}), check: checks[i],
      })),
    });
  }
  return { key: "matmul", markdown: parts.join("\n"), mismatches, data: { shapes: data } };
}
