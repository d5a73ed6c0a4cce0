/**
 * Threads (src/kernels/threads.ts, src/kernels/wasm/pool.ts): setNumThreads checks its
 * argument; the threaded WebAssembly kernels give, for every thread count, what one
 * thread gives, bit for bit (matmul and linear, the softmax-family rows, the fused
 * distillation loss and its gradients), whether the workers or the calling thread run
 * the blocks; and the workers really run (a count of the jobs they took, so that a
 * comparison of one thread with itself cannot pass).
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
import { failNextWorkerJob, setWorkStealing, workerJobs } from "../src/kernels/wasm/pool.js";
import { wasmBase64 } from "../src/kernels/wasm/bytes.js";
import { memoryImport, wasmKernels } from "../src/kernels/wasm/module.js";

const initial = getBackend();
const initialThreads = getNumThreads();
beforeAll(() => {
  setBackend("wasm");
  setMinWork("wasm", 0);
  // Split calls of any size, so that small shapes (odd ones, one block per thread) are split too.
  setThreadMinWork(1);
});
afterAll(() => {
  setWorkStealing(true);
  setBackend(initial);
  setMinWork("wasm", null);
  setThreadMinWork(null);
  setNumThreads(initialThreads);
});

const COUNTS = [1, 2, 3, 4, 7];

/**
 * f's float arrays at every thread count; each must equal the one-thread run bit for bit. Each
 * count runs twice: with every job left to its worker, where the workers must have run (unless
 * `split` is false: a call of one block, one row, stays whole), and with the calling thread
 * taking the jobs no worker has claimed yet (the default; tiny blocks mostly stay with it).
 */
function sameAtEveryCount(f: () => ArrayLike<number>[], split = true): void {
  // Poisoned before each run: a block the threads forget to write is NaN, not the last run's value.
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
    for (const stealing of [false, true]) {
      setWorkStealing(stealing);
      const jobs = workerJobs();
      const got = run();
      if (!stealing && split) expect(workerJobs(), `${n} threads: workers took jobs`).toBeGreaterThan(jobs);
      if (!split) expect(workerJobs(), `${n} threads: one block, no worker`).toBe(jobs);
      got.forEach((g, k) => {
        const w = want[k]!;
        expect(g.length).toBe(w.length);
        const differ = g.findIndex((v, i) => !Object.is(v, w[i]));
        expect(differ, `${n} threads (${stealing ? "" : "no "}stealing), output ${k}: first entry that differs from one thread's (${g[differ]} vs ${w[differ]})`).toBe(-1);
      });
    }
  }
  setWorkStealing(true);
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
    // k = 300: two blocks of p (the kernel's blocks of 256), on every thread.
    for (const [n, k, m] of [[1, 3, 5], [4, 8, 8], [9, 17, 33], [64, 70, 10], [130, 31, 257], [20, 300, 24]] as const) {
      const a = r32([n, k]);
      const b = r32([k, m]);
      const aT = r32([k, n]).transpose(0, 1);
      const bT = r32([m, k]).transpose(0, 1);
      // One row is one block of four: nothing to split.
      sameAtEveryCount(() => [matmul(a, b).data, matmul(aT, bT).data, matmul(a, bT).data], n > 4);
    }
  });

  test("the memory grows after the workers started: they compute in the grown memory", () => {
    // Small calls start the workers; then each product needs more memory than any before it
    // (the last about 12 MB), so the memory grows between calls the workers take part in.
    const small = [r32([33, 65]), r32([65, 17])] as const;
    const growing = [64, 256, 1024].map((k) => [r32([48, k]), r32([k, 3 * k])] as const);
    sameAtEveryCount(() => [small, ...growing].map(([a, b]) => matmul(a, b).data));
  });

  test("by default a call too small to pay for a worker stays on the calling thread", () => {
    setThreadMinWork(null);
    setWorkStealing(false);
    try {
      setNumThreads(2);
      const jobs = workerJobs();
      matmul(r32([16, 64]), r32([64, 127])); // 2¹⁷ multiply-adds, less than two threads' 2¹⁶ each
      softmax(r32([64, 256]), -1); // 2¹⁴ elements
      expect(workerJobs()).toBe(jobs);
      matmul(r32([16, 64]), r32([64, 128])); // 2¹⁷: split
      expect(workerJobs()).toBeGreaterThan(jobs);
    } finally {
      setThreadMinWork(1);
      setWorkStealing(true);
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

describe("the module on shared memory", () => {
  test("the build declares one memory import, unshared with a maximum; the shared form differs in that byte only", () => {
    const bytes = new Uint8Array(Buffer.from(wasmBase64, "base64"));
    const limits = memoryImport(bytes);
    expect(limits).not.toBeNull();
    expect(bytes[limits!.flagsAt]).toBe(1);
    expect(limits!.maximum).toBe(65536);
    // The byte found is the import's: with it set to 3, the module asks for a shared memory.
    const wasm = (globalThis as unknown as { WebAssembly: { Module: new (b: Uint8Array) => unknown; Instance: new (m: unknown, i: object) => unknown; Memory: new (d: object) => unknown } }).WebAssembly;
    const shared = bytes.slice();
    shared[limits!.flagsAt] = 3;
    const unsharedMemory = new wasm.Memory({ initial: limits!.initial, maximum: limits!.maximum });
    const sharedMemory = new wasm.Memory({ initial: limits!.initial, maximum: limits!.maximum, shared: true });
    expect(() => new wasm.Instance(new wasm.Module(shared), { env: { memory: sharedMemory } })).not.toThrow();
    expect(() => new wasm.Instance(new wasm.Module(shared), { env: { memory: unsharedMemory } })).toThrow();
    expect(() => new wasm.Instance(new wasm.Module(bytes), { env: { memory: unsharedMemory } })).not.toThrow();
    // Not a module laid out so: no import found, no byte to set.
    expect(memoryImport(bytes.slice(0, 8))).toBeNull();
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
    setWorkStealing(false);
    matmul(r32([64, 64]), r32([64, 64])); // the pool is up
    wasmKernels()!.poison();
    failNextWorkerJob();
    // The worker's block throws before it is computed (its rows stay NaN from the poison) and is computed again here.
    expect(Array.from(matmul(a, b).data)).toEqual(one);
    expect(threadInfo()).toMatchObject({ threads: 1, host: null, reason: "a worker failed", workers: 0 });
    // Later calls run on the calling thread, with the same results.
    const jobsBefore = workerJobs();
    setNumThreads(4);
    expect(getNumThreads()).toBe(1);
    expect(Array.from(matmul(a, b).data)).toEqual(one);
    expect(workerJobs()).toBe(jobsBefore);
  });
});
