/**
 * Question: how fast could the MLP step of bench/mlp-step.ts be on one and on two threads if
 * every tensor lived in the shared WebAssembly memory? (Issue 16's targets: two threads
 * ≥ 1.8× one, and ≥ 2× jax-js.) An experiment, not a suite: `npx tsx bench/resident-mlp-step.ts`.
 *
 * It runs the step with kdgrad's own kernels (the module in src/kernels/wasm/bytes.ts, on a
 * shared memory, and one worker_threads worker on the same memory), called by pointer on
 * tensors laid out once: no copy into or out of the memory, no allocation, no autograd, no
 * op dispatch — what a storage layer keeping tensors in that memory would leave. The network
 * is 64-256-256-16 (16 outputs instead of 10, so that the last layer needs no padding: 1.6 % of
 * the multiply-adds), batch 128, ReLU, log-softmax and cross-entropy, SGD at lr 0.01; the
 * forward transposes each weight and the backward each ∂L/∂Z for the weight gradient, as the
 * library's product does. Three ways:
 *   - "1 thread": every kernel on the calling thread;
 *   - "2 threads, products": each product of at least 2¹⁷ multiply-adds split by rows in two
 *     (the worker takes the second half), everything else on the calling thread;
 *   - "2 threads, all": the element-wise kernels, transposes, row-vector adds and SGD split
 *     in two as well.
 * Check: the three give the same weights, bit for bit, after the same number of steps (every
 * kernel's entries are the same sums whichever thread forms them).
 *
 * `npx tsx bench/resident-mlp-step.ts 784 1200` runs a 784-1200-1200-16 network instead (the
 * MNIST teacher's shape, without its dropout and max-norm).
 *
 * Reported: ms per step, median of 7 rounds (of 500 steps for the small network, fewer for a
 * larger, about 2·10⁸ multiply-adds a round) after one round's worth of warm-up steps.
 */
import { Worker } from "node:worker_threads";
import { wasmBase64 } from "../src/kernels/wasm/bytes.js";
import { memoryImport } from "../src/kernels/wasm/module.js";

type Fn = (...args: number[]) => number;
interface Exports {
  [name: string]: Fn;
}
/** What this script needs of WebAssembly (the project's TypeScript libraries do not declare it). */
const wasm = (globalThis as unknown as {
  WebAssembly: {
    Module: new (bytes: Uint8Array) => object;
    Instance: new (module: object, imports: object) => { exports: unknown };
    Memory: new (limits: { initial: number; maximum: number; shared: boolean }) => { buffer: ArrayBuffer };
  };
}).WebAssembly;

const bytes = Uint8Array.from(Buffer.from(wasmBase64, "base64"));
const limits = memoryImport(bytes);
if (limits === null) throw new Error("the module's memory import is not laid out as expected");
bytes[limits.flagsAt] = 3; // shared, with a maximum (module.ts, memoryImport)
const module = new wasm.Module(bytes);

const [I, H] = [Number(process.argv[2] ?? 64), Number(process.argv[3] ?? 256)];
const B = 128, O = 16;
/** Steps per timed round. */
const STEPS = Math.max(10, Math.min(500, Math.round(2e8 / (3 * B * (I * H + H * H + H * O)))));

const NAMES = ["matmul", "relu", "reluBackward", "transpose", "sgdStep", "addRowVector"] as const;
type Name = (typeof NAMES)[number];

/** The step on its own memory; `threads` 1, or 2 with what the worker takes. */
function run(mode: "1 thread" | "2 threads, products" | "2 threads, all"): Promise<{ ms: number; weights: Uint32Array }> {
  const memory = new wasm.Memory({ initial: limits!.initial, maximum: limits!.maximum, shared: true });
  const x = new wasm.Instance(module, { env: { memory } }).exports as unknown as Exports;
  let at = x.base!() + 4096;
  const f32 = (n: number): number => {
    const p = at;
    at += (n * 4 + 63) & ~63;
    return p;
  };
  const X = f32(B * I), W1 = f32(H * I), W1T = f32(I * H), b1 = f32(H), Z1 = f32(B * H), H1 = f32(B * H);
  const W2 = f32(H * H), W2T = f32(H * H), b2 = f32(H), Z2 = f32(B * H), H2 = f32(B * H);
  const W3 = f32(O * H), W3T = f32(H * O), b3 = f32(O), Z3 = f32(B * O), L3 = f32(B * O), G3 = f32(B * O);
  const dZ3 = f32(B * O), dZ3T = f32(O * B), dW3 = f32(O * H), dH2 = f32(B * H), dZ2 = f32(B * H), dZ2T = f32(H * B);
  const dW2 = f32(H * H), dH1 = f32(B * H), dZ1 = f32(B * H), dZ1T = f32(H * B), dW1 = f32(H * I);
  const sums = at;
  at += 8 * H;
  x.ensure!(at);
  const F = new Float32Array(memory.buffer);
  let s = 1;
  const draw = (): number => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5;
  for (const [p, n, scale] of [[X, B * I, 2], [W1, H * I, 0.2], [W2, H * H, 0.1], [W3, O * H, 0.1]] as const) {
    for (let i = 0; i < n; i++) F[p / 4 + i] = draw() * scale;
  }
  // Cross-entropy's gradient with respect to the log-probabilities: −1/B at each row's label.
  for (let r = 0; r < B; r++) F[G3 / 4 + r * O + (r % 10)] = -1 / B;

  const two = mode !== "1 thread";
  const all = mode === "2 threads, all";
  const control = new Int32Array(new SharedArrayBuffer(8));
  const args = new Float64Array(new SharedArrayBuffer(8 * 8));
  const worker = new Worker(
    `const { workerData } = require("node:worker_threads");
const { module, memory, control, args, names } = workerData;
const x = new WebAssembly.Instance(module, { env: { memory } }).exports;
const c = new Int32Array(control), a = new Float64Array(args);
for (let seen = 0; ;) {
  let v;
  while ((v = Atomics.load(c, 0)) === seen) {}
  if (v < 0) break;
  seen = v;
  x[names[a[0]]](...Array.from(a.subarray(2, 2 + a[1])));
  Atomics.store(c, 1, v);
}`,
    { eval: true, workerData: { module, memory, control: control.buffer, args: args.buffer, names: NAMES } },
  );
  let seq = 0;
  /** The worker runs `name(...a)` while the calling thread runs `mine`; then both are done. */
  const both = (name: Name, a: number[], mine: () => void): void => {
    args[0] = NAMES.indexOf(name);
    args[1] = a.length;
    args.set(a, 2);
    Atomics.store(control, 0, ++seq);
    mine();
    while (Atomics.load(control, 1) !== seq) { /* the worker's half */ }
  };
  const half = (n: number): number => (n >> 3) << 2; // a multiple of 4, the product's row block

  const mm = (A: number, Bp: number, C: number, n: number, k: number, m: number): void => {
    if (!two || n * k * m < 1 << 17) return void x.matmul!(A, Bp, C, n, k, m);
    const h = half(n);
    both("matmul", [A + 4 * h * k, Bp, C + 4 * h * m, n - h, k, m], () => x.matmul!(A, Bp, C, h, k, m));
  };
  const relu = (y: number, out: number, n: number): void => {
    if (!all) return void x.relu!(y, out, n);
    const h = half(n);
    both("relu", [y + 4 * h, out + 4 * h, n - h], () => x.relu!(y, out, h));
  };
  const reluBackward = (y: number, g: number, dx: number, n: number): void => {
    if (!all) return void x.reluBackward!(y, g, dx, n);
    const h = half(n);
    both("reluBackward", [y + 4 * h, g + 4 * h, dx + 4 * h, n - h], () => x.reluBackward!(y, g, dx, h));
  };
  // dst [cols, rows] = srcᵀ; a block of source rows is a block of dst's columns (ld stays rows).
  const transpose = (src: number, dst: number, rows: number, cols: number): void => {
    if (!all || rows * cols < 1 << 14) return void x.transpose!(src, dst, rows, cols, rows);
    const h = half(rows);
    both("transpose", [src + 4 * h * cols, dst + 4 * h, rows - h, cols, rows], () => x.transpose!(src, dst, h, cols, rows));
  };
  const addBias = (y: number, b: number, rows: number, cols: number): void => {
    if (!all) return void x.addRowVector!(y, b, rows, cols, cols);
    const h = half(rows);
    both("addRowVector", [y + 4 * h * cols, b, rows - h, cols, cols], () => x.addRowVector!(y, b, h, cols, cols));
  };
  const sgd = (theta: number, g: number, n: number): void => {
    if (!all) return void x.sgdStep!(theta, g, 0.01, n);
    const h = half(n);
    both("sgdStep", [theta + 4 * h, g + 4 * h, 0.01, n - h], () => x.sgdStep!(theta, g, 0.01, h));
  };

  const step = (): void => {
    transpose(W1, W1T, H, I); mm(X, W1T, Z1, B, I, H); addBias(Z1, b1, B, H); relu(Z1, H1, B * H);
    transpose(W2, W2T, H, H); mm(H1, W2T, Z2, B, H, H); addBias(Z2, b2, B, H); relu(Z2, H2, B * H);
    transpose(W3, W3T, O, H); mm(H2, W3T, Z3, B, H, O); x.addRowVector!(Z3, b3, B, O, O); x.logSoftmaxRows!(Z3, L3, B, O);
    x.logSoftmaxBackwardRows!(L3, G3, dZ3, B, O);
    transpose(dZ3, dZ3T, B, O); mm(dZ3T, H2, dW3, O, B, H); x.columnSums!(dZ3, sums, B, O);
    mm(dZ3, W3, dH2, B, O, H); reluBackward(H2, dH2, dZ2, B * H);
    transpose(dZ2, dZ2T, B, H); mm(dZ2T, H1, dW2, H, B, H); x.columnSums!(dZ2, sums, B, H);
    mm(dZ2, W2, dH1, B, H, H); reluBackward(H1, dH1, dZ1, B * H);
    transpose(dZ1, dZ1T, B, H); mm(dZ1T, X, dW1, H, B, I); x.columnSums!(dZ1, sums, B, H);
    sgd(W1, dW1, H * I); sgd(W2, dW2, H * H); sgd(W3, dW3, O * H);
  };

  return new Promise((resolve) => {
    // Let the worker start (it instantiates the module) before the first step.
    setTimeout(() => {
      for (let i = 0; i < STEPS; i++) step();
      const rounds: number[] = [];
      for (let r = 0; r < 7; r++) {
        const t0 = performance.now();
        for (let i = 0; i < STEPS; i++) step();
        rounds.push((performance.now() - t0) / STEPS);
      }
      rounds.sort((a, b) => a - b);
      const weights = new Uint32Array(memory.buffer, W1, (W3T - W1) / 4).slice();
      Atomics.store(control, 0, -1);
      void worker.terminate().then(() => resolve({ ms: rounds[3]!, weights }));
    }, 300);
  });
}

const modes = ["1 thread", "2 threads, products", "2 threads, all"] as const;
const results = [];
for (const mode of modes) results.push({ mode, ...(await run(mode)) });
const one = results[0]!;
console.log(`${I}-${H}-${H}-${O}, batch ${B}, ${STEPS} steps a round\n\n| way | ms per step | one thread ÷ this |\n| --- | --- | --- |`);
for (const r of results) console.log(`| ${r.mode} | ${r.ms.toFixed(3)} | ${(one.ms / r.ms).toFixed(2)}× |`);
const same = results.every((r) => r.weights.length === one.weights.length && r.weights.every((v, i) => v === one.weights[i]));
console.log(same ? "The weights after every run are the same bits." : "MISMATCH: the weights differ between the ways.");
if (!same) process.exitCode = 1;
