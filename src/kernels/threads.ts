import { ValueError } from "../tensor/errors.js";
import { describeValue } from "../tensor/shape.js";

/**
 * Threads for the kernels: what a runtime must offer, how the core starts a
 * worker without knowing the runtime, and the thread count (setNumThreads).
 * The worker pool itself is the WebAssembly backend's (wasm/pool.ts); this file
 * knows no backend.
 *
 * A kernel call is synchronous, so the calling thread hands blocks of rows to
 * workers, computes its own block (and any no worker has claimed), and then
 * blocks in Atomics.wait until the workers are done. That needs
 *   - SharedArrayBuffer (a browser exposes it only to a cross-origin isolated
 *     page: docs/runtimes.md, "Threads"),
 *   - Atomics.wait on the calling thread (refused on a browser's main thread),
 *   - a way to start a worker: a `ThreadHost`. The core finds one in Bun and
 *     browsers (the global `Worker`, on a blob: URL); Node has no global Worker
 *     and Deno's keeps the process alive with no way to unref it, so there the
 *     host comes from kdgrad/node (worker_threads, unref'd), registered when
 *     kdgrad/node is imported.
 * Where any is missing every kernel runs on the calling thread, and
 * getNumThreads() says 1.
 */

/** A started worker: what the pool needs of it. */
export interface WorkerHandle {
  postMessage(data: unknown): void;
  terminate(): void;
}

/**
 * What the core needs from a runtime to start workers. `spawn(source)` starts a
 * worker running the script `source`, which defines a function
 * `kdgradWorker(data)`; the worker must call it with every message it receives
 * (the host adds that glue: `self.onmessage` on the web, `parentPort.on` in
 * worker_threads). A worker must not keep the process alive.
 */
export interface ThreadHost {
  spawn(source: string): WorkerHandle;
  /** Logical cores (the default thread count). */
  readonly cores: number;
  /** Names the host in messages ("worker_threads", "Web Workers"). */
  readonly name: string;
}

let registered: ThreadHost | null = null;
let requested: number | null = null;
let broken: string | null = null;

/** For kdgrad/node: the host to use (null: none, back to what the runtime has). */
export function setThreadHost(host: ThreadHost | null): void {
  registered = host;
}

/** The runtime's own way to start workers: the global `Worker` on a blob: URL (Bun, browsers). */
function globalHost(): ThreadHost | null {
  const g = globalThis as {
    Worker?: new (url: string, options: { type: "module" }) => WorkerHandle & { onmessage: unknown; unref?: () => void };
    Blob?: new (parts: string[], options: { type: string }) => unknown;
    URL?: { createObjectURL?(blob: unknown): string };
    Deno?: unknown;
    navigator?: { hardwareConcurrency?: number };
  };
  // Deno's Worker keeps the process running while it lives and has no unref: kdgrad/node
  // brings node:worker_threads there.
  if (g.Deno !== undefined) return null;
  const W = g.Worker, B = g.Blob, U = g.URL;
  if (typeof W !== "function" || typeof B !== "function" || typeof U?.createObjectURL !== "function") return null;
  const cores = g.navigator?.hardwareConcurrency;
  return {
    name: "Web Workers",
    cores: typeof cores === "number" && cores >= 1 ? Math.floor(cores) : 1,
    spawn(source) {
      const url = U.createObjectURL!(new B([`${source}\nself.onmessage = (e) => kdgradWorker(e.data);\n`], { type: "text/javascript" }));
      const w = new W(url, { type: "module" });
      // Bun's Worker would keep the process alive; a browser's has no unref and needs none.
      if (typeof w.unref === "function") w.unref();
      return w;
    },
  };
}

/** Whether this thread may block in Atomics.wait (not a browser's main thread). */
function canBlock(): boolean {
  try {
    // Returns "not-equal" at once where waiting is allowed; throws where it is not.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

let blockable: boolean | undefined;

/** The host to start workers with, or null with the reason threads cannot run here. */
export function threadHost(): { host: ThreadHost | null; reason: string } {
  if (broken !== null) return { host: null, reason: broken };
  if (typeof SharedArrayBuffer !== "function" || typeof Atomics !== "object") {
    return { host: null, reason: "SharedArrayBuffer is not available (a browser page must be cross-origin isolated)" };
  }
  blockable ??= canBlock();
  if (!blockable) return { host: null, reason: "this thread may not block in Atomics.wait (a browser's main thread)" };
  const host = registered ?? globalHost();
  if (host === null) return { host: null, reason: "no way to start a worker here (in Node and Deno, import kdgrad/node)" };
  return { host, reason: "" };
}

/** For the pool: workers could not be started or failed; every call runs on the calling thread from now on. */
export function markThreadsBroken(reason: string): void {
  broken = reason;
}

/**
 * The threads a kernel may use: the count set with setNumThreads, by default
 * the host's core count; 1 where threads cannot run (threadHost says why).
 */
export function availableThreads(): number {
  const { host } = threadHost();
  if (host === null) return 1;
  return requested ?? host.cores;
}

/** The most threads setNumThreads accepts. */
export const MAX_THREADS = 256;

/** setNumThreads's argument check and setting (the registry's public function calls it). */
export function setRequestedThreads(n: number, fn: string): void {
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > MAX_THREADS) {
    throw new ValueError(`${fn}: threads must be an integer from 1 to ${MAX_THREADS}, got ${describeValue(n)}`);
  }
  requested = n;
}

/**
 * The least work (the unit of the kernel's `work`: multiply-adds for a product,
 * elements for the row kernels) a thread must get before a call is split: below
 * it, handing a block to a worker costs more than it saves. Null
 * restores the kernels' defaults; tests set 1 to split even tiny calls.
 */
let minWorkPerThread: number | null = null;

/** For tests: split calls of any size (1), or restore the defaults (null). */
export function setThreadMinWork(work: number | null): void {
  minWorkPerThread = work;
}

/**
 * How many threads a call doing `work` in `blocks` independent blocks should use:
 * at most the requested count, one block each at least, and `perThread` work
 * each (the kernel's default, or the test override). 1 where threads cannot run.
 */
export function threadsFor(work: number, blocks: number, perThread: number): number {
  const n = availableThreads();
  if (n <= 1 || blocks <= 1) return 1;
  const each = minWorkPerThread ?? perThread;
  return Math.max(1, Math.min(n, blocks, Math.floor(work / each)));
}
