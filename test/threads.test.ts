/**
 * Threads (src/kernels/threads.ts, src/kernels/wasm/pool.ts): setNumThreads checks its
 * argument; the threaded WebAssembly kernels give, for every thread count, what one
 * thread gives, bit for bit (matmul and linear, the softmax-family rows, the fused
 * distillation loss and its gradients); and the workers really run (a count of the
 * jobs they took, so that a comparison of one thread with itself cannot pass).
 * Runs once (vitest.config.ts): it selects the WebAssembly backend itself.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import "../src/node/index.js";
import {
  Generator, Tensor, ValueError, distillationLoss, getBackend, getNumThreads, linear, logSoftmax, matmul, randn, setBackend,
  setNumThreads, softmax, tensor, threadInfo,
} from "../src/index.js";
import { setMinWork } from "../src/kernels/registry.js";
import { setThreadMinWork } from "../src/kernels/threads.js";
import { runParallel, workerJobs, type Job, type Local } from "../src/kernels/wasm/pool.js";
import { wasmBase64 } from "../src/kernels/wasm/bytes.js";
import { wasmKernels } from "../src/kernels/wasm/module.js";

const initial = getBackend();
const initialThreads = getNumThreads();
beforeAll(() => {
  setBackend("wasm");
  setMinWork("wasm", 0);
  // Split calls of any size, so that small shapes (odd ones, one block per thread) are split too.
  setThreadMinWork(1);
});
afterAll(() => {
  setBackend(initial);
  setMinWork("wasm", null);
  setThreadMinWork(null);
  setNumThreads(initialThreads);
});

const COUNTS = [1, 2, 3, 4, 7];

/**
 * f's float arrays at every thread count; each must equal the one-thread run bit for bit, and
 * workers must have run (unless `split` is false: a call of one block, one row, stays whole).
 */
function sameAtEveryCount(f: () => ArrayLike<number>[], split = true): void {
  // Poisoned before each run: a block the threads forget to write back is NaN, not the last run's value.
  const run = (): number[][] => {
    wasmKernels()!.poison();
    return f().map((a) => Array.from(a));
  };
  setNumThreads(1);
  const before = workerJobs();
  const want = run();
  expect(workerJobs(), "one thread uses no worker").toBe(before);
  for (const n of COUNTS.slice(1)) {
    setNumThreads(n);
    const jobs = workerJobs();
    const got = run();
    if (split) expect(workerJobs(), `${n} threads: workers took jobs`).toBeGreaterThan(jobs);
    else expect(workerJobs(), `${n} threads: one block, no worker`).toBe(jobs);
    got.forEach((g, k) => {
      const w = want[k]!;
      expect(g.length).toBe(w.length);
      const differ = g.findIndex((v, i) => !Object.is(v, w[i]));
      expect(differ, `${n} threads, output ${k}: first entry that differs from one thread's (${g[differ]} vs ${w[differ]})`).toBe(-1);
    });
  }
}

const gen = new Generator(7);
const r32 = (shape: number[], scale = 1): Tensor => randn(shape, { dtype: "float32", generator: gen }).mul(scale);

describe("setNumThreads / getNumThreads", () => {
  test("threads run in Node with kdgrad/node: the count set is the count used", () => {
    setNumThreads(3);
    expect(getNumThreads()).toBe(3);
    setNumThreads(1);
    expect(getNumThreads()).toBe(1);
  });

  test("anything but an integer from 1 to 256 is a ValueError naming setNumThreads and the value", () => {
    setNumThreads(2);
    for (const [bad, shown] of [[0, "0"], [-1, "-1"], [1.5, "1.5"], [NaN, "NaN"], [Infinity, "Infinity"], [257, "257"], ["2", '"2"'], [null, "null"], [undefined, "undefined"]] as const) {
      expect(() => setNumThreads(bad as number)).toThrow(ValueError);
      expect(() => setNumThreads(bad as number)).toThrow(`setNumThreads: threads must be an integer from 1 to 256, got ${shown}`);
    }
    // A refused value leaves the setting as it was.
    expect(getNumThreads()).toBe(2);
  });
});

describe("the threaded kernels give one thread's results, bit for bit", () => {
  test("matmul over shapes whose rows do and do not divide among the threads, views included", () => {
    for (const [n, k, m] of [[1, 3, 5], [4, 8, 8], [9, 17, 33], [64, 70, 10], [130, 31, 257]] as const) {
      const a = r32([n, k]);
      const b = r32([k, m]);
      const aT = r32([k, n]).transpose(0, 1);
      const bT = r32([m, k]).transpose(0, 1);
      // One row is one block of four: nothing to split.
      sameAtEveryCount(() => [matmul(a, b).data, matmul(aT, bT).data, matmul(a, bT).data], n > 4);
    }
  });

  test("a call larger than the shared arena (1 MB at first): the arena grows, the workers take the new one", () => {
    // B alone is 1024·300 float32 = 1.2 MB; the calls after the growth use the new arena too.
    const a = r32([40, 1024]);
    const b = r32([1024, 300]);
    const c = r32([33, 65]);
    const d = r32([65, 17]);
    sameAtEveryCount(() => [matmul(a, b).data, matmul(c, d).data]);
  });

  test("by default a call too small to pay for a worker stays on the calling thread", () => {
    setThreadMinWork(null);
    try {
      setNumThreads(2);
      const jobs = workerJobs();
      matmul(r32([128, 256]), r32([256, 256])); // 2²³ multiply-adds: one thread's worth
      softmax(r32([64, 256]), -1); // 2¹⁴ elements
      expect(workerJobs()).toBe(jobs);
      matmul(r32([256, 256]), r32([256, 256])); // 2²⁴: split
      expect(workerJobs()).toBeGreaterThan(jobs);
    } finally {
      setThreadMinWork(1);
    }
  });

  test("linear, forward and both weight gradients (the products of backward)", () => {
    const x = r32([67, 45]).requiresGrad_();
    const w = r32([30, 45]).requiresGrad_();
    const bias = r32([30]).requiresGrad_();
    const g = r32([67, 30]);
    sameAtEveryCount(() => {
      x.grad = null;
      w.grad = null;
      bias.grad = null;
      const y = linear(x, w, bias);
      y.backward(g);
      return [y.data, x.grad!.data, w.grad!.data, bias.grad!.data];
    });
  });

  test("softmax and logSoftmax rows, forward and backward, even and odd class counts, logits at ±1e4", () => {
    for (const [rows, C] of [[1, 16], [5, 17], [33, 64], [70, 129]] as const) {
      const x = r32([rows, C], 1e4).requiresGrad_();
      const g = r32([rows, C]);
      sameAtEveryCount(() => {
        x.grad = null;
        const p = softmax(x, -1);
        p.backward(g);
        const dp = x.grad!.data.slice();
        x.grad = null;
        const y = logSoftmax(x, -1);
        y.backward(g);
        return [p.data, dp, y.data, x.grad!.data];
      }, rows > 1);
    }
  });

  test("distillationLoss: the loss and both gradients, frozen or learning teacher, with labels, odd class counts", () => {
    for (const [B, C] of [[1, 10], [7, 33], [64, 10], [33, 257]] as const) {
      const s = r32([B, C], 3).requiresGrad_();
      const t = r32([B, C], 3);
      const labels = tensor(Int32Array.from({ length: B }, (_, i) => (i * 7) % C), { shape: [B] });
      for (const options of [{ temperature: 4, alpha: 0.9, labels }, { temperature: 1, alpha: 1 }, { temperature: 20, alpha: 0.5, labels }]) {
        // Frozen teacher: the float32-lane kernel.
        sameAtEveryCount(() => {
          s.grad = null;
          const l = distillationLoss(s, t, options);
          l.backward();
          return [l.data, s.grad!.data];
        }, B > 1);
        // A teacher that learns too: the float64-lane kernel, with dT.
        const tl = t.detach().requiresGrad_();
        sameAtEveryCount(() => {
          s.grad = null;
          tl.grad = null;
          const l = distillationLoss(s, tl, options);
          l.backward();
          return [l.data, s.grad!.data, tl.grad!.data];
        }, B > 1);
      }
    }
  });
});

describe("a worker that fails", () => {
  // Last in the file: after a failure the process stays on one thread.
  test("its blocks are recomputed on the calling thread, and from then on every call runs there", () => {
    const a = r32([130, 31]);
    const b = r32([31, 257]);
    setNumThreads(1);
    const one = Array.from(matmul(a, b).data);
    setNumThreads(2);
    matmul(r32([64, 64]), r32([64, 64])); // the pool is up
    // A second instance of the module, as the calling thread's (the test's types have no WebAssembly namespace).
    const wasm = (globalThis as unknown as { WebAssembly: { Instance: new (m: unknown, i: object) => { exports: unknown }; Module: new (b: Uint8Array) => unknown } }).WebAssembly;
    const x = new wasm.Instance(new wasm.Module(Buffer.from(wasmBase64, "base64")), {}).exports as {
      memory: { buffer: ArrayBuffer }; base(): number; ensure(bytes: number): number;
    };
    const local: Local = {
      memory: () => x.memory.buffer,
      call: (fn, args) => ((x as unknown as Record<string, (...a: number[]) => number | undefined>)[fn]!(...args) ?? 0),
      bytes: new Uint8Array(Buffer.from(wasmBase64, "base64")),
    };
    // C[8×8] = A[8×4]·B[4×8] in two blocks of four rows; the second block also asks for bytes
    // far outside the worker's memory, which it cannot copy back: it fails after its product.
    const base = x.base();
    const [pa, pb, pc] = [base, base + 128, base + 256];
    const top = base + 512;
    x.ensure(top);
    const f32 = new Float32Array(x.memory.buffer);
    for (let i = 0; i < 32; i++) f32[pa / 4 + i] = i + 1;
    for (let i = 0; i < 32; i++) f32[pb / 4 + i] = (i % 5) - 2;
    f32.fill(NaN, pc / 4, pc / 4 + 64);
    const jobs = [0, 4].map((r0): Job => ({
      fn: "matmul", args: [pa + 16 * r0, pb, pc + 32 * r0, 4, 4, 8], top,
      ins: [[pb, 128], [pa + 16 * r0, 64]], outs: r0 === 0 ? [[pc, 128]] : [[pc + 128, 128], [2 ** 30, 16]],
    }));
    runParallel(jobs, local);
    const c = Array.from(new Float32Array(x.memory.buffer, pc, 64));
    const want = Array.from({ length: 64 }, (_, e) => {
      const [i, j] = [Math.floor(e / 8), e % 8];
      let sum = 0;
      for (let p = 0; p < 4; p++) sum += (i * 4 + p + 1) * (((p * 8 + j) % 5) - 2);
      return sum;
    });
    expect(c).toEqual(want);
    expect(threadInfo()).toMatchObject({ threads: 1, host: null, reason: "a worker failed", workers: 0 });
    // Later calls run on the calling thread, with the same results.
    const jobsBefore = workerJobs();
    setNumThreads(4);
    expect(getNumThreads()).toBe(1);
    expect(Array.from(matmul(a, b).data)).toEqual(one);
    expect(workerJobs()).toBe(jobsBefore);
  });
});
