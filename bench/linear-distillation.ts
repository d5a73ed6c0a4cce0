/**
 * Question: what does linearDistillationLoss (the fused LM head + distillation loss, chunk by
 * chunk over rows) cost in memory and in time at a language model's vocabulary, against the
 * unfused path (matmul, then distillationLoss) and against the matrix products that any
 * implementation must do?
 *
 * N = 1024 positions, H = H' = 256, V = 152,064 (Qwen2's vocabulary), float32, the wasm backend;
 * labels (every row counted), T = 2, α = 0.5, a frozen teacher (teacherHidden and teacherWeight
 * need no gradient); forward and backward, gradients to hidden and weight.
 *
 * Memory (target: ≤ 5 % of the unfused path's). Each variant runs once in a fresh Node process
 * (node --expose-gc --import tsx), which makes its inputs in place (no temporary arrays), collects
 * garbage and reads its RSS, runs forward + backward, and reads its peak RSS
 * (process.resourceUsage().maxRSS). Reported: peak − RSS before the call − the gradients' bytes
 * (dH [N, H] and dW [V, H], which every implementation returns): the memory above the inputs,
 * weights and gradients. It includes WebAssembly memory (kdgrad's linear memory grows for the
 * operands a kernel call copies in) and garbage V8 had not collected at the peak.
 *
 * Time (target: ≤ 1.3× the products). In this process, one call of each (a call takes tens of
 * seconds at full size; benchmark.js's five samples of each would hold the shared machine for half
 * an hour): the fused call; the four products at full size through kdgrad's matmul (student logits
 * h·Wᵀ, teacher logits h'·W'ᵀ, dH = G·W and dW = Gᵀ·h with G a [N, V] gradient), the work any
 * implementation does; and the same four products in the blocks the fused call uses. Ratio =
 * time ÷ time of the one-call products.
 *
 * Check (outside the timing): the fused child's loss within 1e-5 relative, and its gradients
 * (at 2000 fixed positions each) within 1e-4 of max|g|, of the unfused child's in float32 (both
 * float32 computations of the same function; the float64 equality to 1e-10 is
 * test/losses/linear-distillation.test.ts's).
 *
 * --quick: N = 64, H = 32, V = 8192 (the same steps at a size of seconds).
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Tensor, distillationLoss, linearDistillationLoss, matmul, noGrad, setBackend, tensor } from "../src/index.js";
import { CHUNK_BUDGET_BYTES } from "../src/losses/linear-distillation-loss.js";
import { fmt, fmtRatio, fmtTime, maxAbs, maxAbsDiff, relClose, table, type Measurement, type RunOptions, type SuiteResult } from "./harness.js";

interface Size {
  N: number;
  H: number;
  V: number;
}

const FULL: Size = { N: 1024, H: 256, V: 152064 };
const QUICK: Size = { N: 64, H: 32, V: 8192 };
const TEMPERATURE = 2;
const ALPHA = 0.5;

/** Uniform values in ±scale from a 32-bit LCG, written straight into a Float32Array (no temporary). */
function filled(n: number, seed: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = ((x / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

interface Inputs {
  h: Tensor;
  w: Tensor;
  th: Tensor;
  tw: Tensor;
  labels: Tensor;
}

function inputs({ N, H, V }: Size): Inputs {
  // Logits of spread about ±3: hidden and weight entries of size √(3/H)·… give ⟨h, w⟩ of order 1–3.
  const s = Math.sqrt(3 / H) * 1.7;
  const labels = new Int32Array(N);
  for (let r = 0; r < N; r++) labels[r] = (r * 7919) % V;
  return {
    h: new Tensor(filled(N * H, 1, s), [N, H]).requiresGrad_(),
    w: new Tensor(filled(V * H, 2, s), [V, H]).requiresGrad_(),
    th: new Tensor(filled(N * H, 3, s * 1.3), [N, H]),
    tw: new Tensor(filled(V * H, 4, s), [V, H]),
    labels: tensor(labels, { shape: [N] }),
  };
}

const options = (x: Inputs) => ({ labels: x.labels, temperature: TEMPERATURE, alpha: ALPHA });

function fused(x: Inputs): number {
  const loss = linearDistillationLoss(x.h, x.w, x.th, x.tw, options(x));
  loss.backward();
  return loss.item();
}

function unfused(x: Inputs): number {
  const s = matmul(x.h, x.w.transpose(0, 1));
  const t = noGrad(() => matmul(x.th, x.tw.transpose(0, 1)));
  const loss = distillationLoss(s, t, options(x));
  loss.backward();
  return loss.item();
}

function clearGrads(x: Inputs): void {
  x.h.grad = null;
  x.w.grad = null;
}

// ---------------------------------------------------------------- memory, in a child process

interface MemoryReport {
  variant: string;
  loss: number;
  /** Peak RSS − RSS before the call − the gradients' bytes. */
  aboveBytes: number;
  peakBytes: number;
  beforeBytes: number;
  gradientBytes: number;
  inputBytes: number;
  /** dH and dW at 2000 fixed positions each, and max|g| of each: the agreement check compares them. */
  samples: number[][];
  maxAbs: number[];
}

/** 2000 fixed positions of an array of length n (a stride through it). */
const positions = (n: number): number[] => Array.from({ length: Math.min(n, 2000) }, (_, i) => Math.floor((i * n) / Math.min(n, 2000)));

function child(variant: string, size: Size): void {
  setBackend("wasm");
  const x = inputs(size);
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("bench/linear-distillation.ts: the memory child needs --expose-gc");
  gc();
  const before = process.memoryUsage().rss;
  const startPeak = process.resourceUsage().maxRSS * 1024;
  const loss = variant === "fused" ? fused(x) : unfused(x);
  const peak = process.resourceUsage().maxRSS * 1024;
  const gradientBytes = (x.h.size + x.w.size) * 4;
  const inputBytes = (x.h.size + x.w.size + x.th.size + x.tw.size) * 4;
  if (startPeak > peak) throw new Error("maxRSS went down");
  const grads = [x.h.grad!.data, x.w.grad!.data];
  const report: MemoryReport = {
    variant, loss, aboveBytes: peak - before - gradientBytes, peakBytes: peak, beforeBytes: before, gradientBytes, inputBytes,
    samples: grads.map((g) => positions(g.length).map((i) => g[i]!)), maxAbs: grads.map((g) => maxAbs(g)),
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

function memoryOf(variant: string, quick: boolean): MemoryReport {
  const self = fileURLToPath(import.meta.url);
  const out = execFileSync(process.execPath, ["--expose-gc", "--import", "tsx", self, "--child", variant, quick ? "quick" : "full"], {
    cwd: fileURLToPath(new URL("..", import.meta.url)), encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 20,
  });
  return JSON.parse(out.trim().split("\n").pop()!) as MemoryReport;
}

// ---------------------------------------------------------------- the suite

export async function run(opts: RunOptions): Promise<SuiteResult> {
  const size = opts.quick ? QUICK : FULL;
  const { N, H, V } = size;
  process.stderr.write(`linear distillation [${N}, ${H}] · [${V}, ${H}]ᵀ: memory (child processes)\n`);
  const memFused = memoryOf("fused", opts.quick);
  const memUnfused = memoryOf("unfused", opts.quick);
  setBackend("wasm");
  const x = inputs(size);
  // Agreement, outside the timing: the two children's losses and gradients (at fixed positions).
  const mismatches: string[] = [];
  const lossF = memFused.loss;
  const lossU = memUnfused.loss;
  const gradErr = Math.max(...memFused.samples.map((g, k) => maxAbsDiff(g, memUnfused.samples[k]!) / memUnfused.maxAbs[k]!));
  const lossErr = Math.abs(lossF - lossU) / Math.abs(lossU);
  const ok = relClose(lossF, lossU, 1e-5) && gradErr <= 1e-4;
  if (!ok) mismatches.push(`linear distillation: fused loss ${lossF} vs unfused ${lossU} (rel. ${lossErr.toExponential(2)}), gradients ${gradErr.toExponential(2)} of max|g|`);
  // The four products as four matmul calls on a [N, V] gradient G, and as the fused call makes
  // them: chunks of chunkRows rows times vocabulary blocks of 8192 (the same kernel calls, on a
  // contiguous [chunkRows, 8192] block of G, without the loss kernel or any copy).
  const G = noGrad(() => matmul(x.h, x.w.transpose(0, 1)));
  const products = (): void => {
    noGrad(() => {
      void [matmul(x.h, x.w.transpose(0, 1)), matmul(x.th, x.tw.transpose(0, 1)), matmul(G, x.w), matmul(G.transpose(0, 1), x.h)];
    });
  };
  const c0 = Math.max(1, Math.min(N, Math.floor(CHUNK_BUDGET_BYTES / (V * 4 * 3))));
  const blk = Math.min(8192, V);
  const Gb = G.slice(0, 0, c0).slice(1, 0, blk).contiguous();
  const blocked = (): void => {
    noGrad(() => {
      for (let r0 = 0; r0 < N; r0 += c0) {
        const c = Math.min(c0, N - r0);
        const hc = x.h.slice(0, r0, r0 + c);
        const thc = x.th.slice(0, r0, r0 + c);
        const g = c === c0 ? Gb : Gb.slice(0, 0, c).contiguous();
        for (let v0 = 0; v0 < V; v0 += blk) {
          const vb = Math.min(blk, V - v0);
          const gv = vb === blk ? g : g.slice(1, 0, vb).contiguous();
          const wv = x.w.slice(0, v0, v0 + vb);
          void [matmul(wv, hc.transpose(0, 1)), matmul(x.tw.slice(0, v0, v0 + vb), thc.transpose(0, 1)), matmul(gv, wv), matmul(gv.transpose(0, 1), hc)];
        }
      }
    });
  };
  const once = (f: () => void): number => {
    const t0 = performance.now();
    f();
    return (performance.now() - t0) / 1e3;
  };
  const names = [
    "linearDistillationLoss (fused, chunked)", "the four products, one matmul each (h·Wᵀ, h′·W′ᵀ, G·W, Gᵀ·h)",
    `the four products in the fused call's blocks (${c0} rows × ${blk} classes)`,
  ];
  // One call per variant: at full size a call takes tens of seconds, and benchmark.js's 5 samples
  // of each would keep the shared machine busy for half an hour.
  process.stderr.write("  timing: ");
  const seconds = [
    once(() => { fused(x); clearGrads(x); }), once(products), once(blocked),
  ];
  process.stderr.write(`${seconds.map((t) => fmtTime(t)).join(", ")}\n`);
  const measured: Measurement[] = seconds.map((mean, i) => ({ name: names[i]!, mean, rme: NaN, samples: 1 }));
  const base = measured[1]!.mean;
  const timeRatio = measured[0]!.mean / base;
  const blockedRatio = measured[0]!.mean / measured[2]!.mean;
  const memRatio = memFused.aboveBytes / memUnfused.aboveBytes;
  const MiB = (b: number): string => `${fmt(b / 2 ** 20)} MiB`;
  const timeRows = measured.map((m) => [m.name, fmtTime(m.mean), fmtRatio(m.mean / base)]);
  const memRows = [memFused, memUnfused].map((m) => [m.variant === "fused" ? names[0]! : "unfused (matmul, distillationLoss, backward)", MiB(m.aboveBytes), MiB(m.peakBytes), MiB(m.beforeBytes), fmtRatio(m.aboveBytes / memUnfused.aboveBytes)]);
  const verdict = (ok2: boolean): string => (ok2 ? "met" : "MISSED");
  const parts = [
    "## Fused linear + distillation loss (linearDistillationLoss)",
    "",
    `float32, wasm backend, N = ${N}, H = H′ = ${H}, V = ${V}, labels, T = ${TEMPERATURE}, α = ${ALPHA}, frozen teacher; forward and backward ` +
      "(gradients of hidden and weight). Memory: peak RSS of a fresh process running the call once, minus its RSS before the call " +
      "(inputs and weights made), minus the gradients' bytes. Ratio of time = time ÷ time of the four one-call products, same process. " +
      `Check: fused against unfused in float32, loss rel. err. ${lossErr.toExponential(2)}, gradients ${gradErr.toExponential(2)} of max|g|` +
      `${ok ? "" : " (MISMATCH)"}.`,
    "",
    `### Memory above inputs, weights and gradients${opts.quick ? " (quick size)" : ""}`,
    "",
    table(["variant", "above", "peak RSS", "RSS before", "ratio to unfused"], memRows),
    "",
    `Target ≤ 5 % of the unfused path: ${(memRatio * 100).toFixed(1)} % (${verdict(memRatio <= 0.05)}).`,
    "",
    `### Time (one call each${opts.quick ? ", quick size" : ""})`,
    "",
    table(["variant", "time/call", "ratio to the products"], timeRows),
    "",
    `Target ≤ 1.3× the products: ${timeRatio.toFixed(2)}× (${verdict(timeRatio <= 1.3)}); ` +
      `${blockedRatio.toFixed(2)}× the same products made in the fused call's blocks.`,
  ];
  const data = {
    N, H, V, temperature: TEMPERATURE, alpha: ALPHA, memory: { fused: memFused, unfused: memUnfused, ratio: memRatio },
    time: measured.map((m) => ({ name: m.name, secondsPerCall: m.mean, rmePercent: m.rme, samples: m.samples, ratioToProducts: m.mean / base })),
    timeRatio, blockedRatio, chunkRows: c0, check: { lossF, lossU, lossErr, gradErr, ok },
  };
  if (!opts.quick) writeFileSync(new URL("./results/linear-distillation.json", import.meta.url), `${JSON.stringify(data, null, 2)}\n`);
  return { key: "linear", markdown: parts.join("\n"), mismatches, data };
}

if (process.argv[2] === "--child") child(process.argv[3]!, process.argv[4] === "quick" ? QUICK : FULL);
