import type { DType } from "../tensor/dtype.js";
import { ValueError } from "../tensor/errors.js";
import { describeValue } from "../tensor/shape.js";
import type { BackendDefinition, KernelName, KernelTable } from "./table.js";
import { jsKernels } from "./js/index.js";
import { wasmBackend } from "./wasm/index.js";
import { availableThreads, setRequestedThreads, threadHost } from "./threads.js";
import { workerJobs, workersReady, workersStarted } from "./wasm/pool.js";
import { startWorkers } from "./wasm/module.js";

/**
 * The kernel registry: the one file that knows which backends exist. An op
 * asks for a kernel by name with the dtype and the amount of work of the
 * call (elements, or multiply-adds for a product); the registry answers
 * with the selected backend's kernel when that backend has one and takes
 * the call, else with the TypeScript kernel, which exists for every entry.
 *
 * Adding a backend is one folder (kernels/<name>/) exporting a
 * `BackendDefinition`, and one line in `backends` below.
 */

const backends = {
  js: { kernels: jsKernels, available: () => true, requirement: "JavaScript", takes: () => true, minWork: 0 },
  wasm: wasmBackend,
} satisfies Record<string, BackendDefinition>;

/** The name of a registered backend. */
export type Backend = keyof typeof backends;

const availability = new Map<Backend, boolean>();
const minWork = new Map<Backend, number>();
let chosen: Backend | null = null;

function isAvailable(name: Backend): boolean {
  let ok = availability.get(name);
  if (ok === undefined) {
    try {
      ok = backends[name].available();
    } catch {
      ok = false;
    }
    availability.set(name, ok);
  }
  return ok;
}

/** Registered backends, in order of preference (the last available one is the default). */
export function backendNames(): Backend[] {
  return Object.keys(backends) as Backend[];
}

/** The backend in use: the one set with setBackend, else the most capable available here. */
export function getBackend(): Backend {
  if (chosen === null) chosen = backendNames().filter(isAvailable).pop()!;
  return chosen;
}

/**
 * Choose the backend. A backend that cannot run here (WebAssembly SIMD in
 * QuickJS, old engines, a browser main thread refusing a synchronous
 * compile) is a ValueError; "js" always works.
 */
export function setBackend(backend: Backend): void {
  if (typeof backend !== "string" || !Object.hasOwn(backends, backend)) {
    // Most capable first: `backend must be "wasm" or "js", got "gpu"`.
    const names = backendNames().reverse().map((b) => JSON.stringify(b));
    throw new ValueError(`setBackend: backend must be ${names.slice(0, -1).join(", ")} or ${names[names.length - 1]}, got ${describeValue(backend)}`);
  }
  if (!isAvailable(backend)) {
    throw new ValueError(`setBackend: ${backends[backend].requirement} is not available in this runtime; use "js"`);
  }
  chosen = backend;
}

/** Whether a backend can run in this runtime. */
export function backendAvailable(backend: Backend): boolean {
  return Object.hasOwn(backends, backend) && isAvailable(backend);
}

/** Whether WebAssembly SIMD kernels can run here. */
export function wasmAvailable(): boolean {
  return isAvailable("wasm");
}

/**
 * For tests: the work below which `backend` hands calls to TypeScript
 * (null restores its default). At 0 every call of a dtype the backend takes
 * runs on it, so small test inputs exercise its kernels too.
 */
export function setMinWork(backend: Backend, work: number | null): void {
  if (work === null) minWork.delete(backend);
  else minWork.set(backend, work);
}

/**
 * The kernel `name` for a call of `dtype` doing `work`: the selected
 * backend's when it has one and takes the call, else TypeScript's.
 */
export function kernel<K extends KernelName>(name: K, dtype: DType, work: number): KernelTable[K] {
  const b = getBackend();
  if (b !== "js") {
    const def: BackendDefinition = backends[b];
    const k = def.kernels[name];
    if (k !== undefined && def.takes(name, dtype, work, minWork.get(b) ?? def.minWork)) return k as KernelTable[K];
  }
  return jsKernels[name];
}

/**
 * Set how many threads kdgrad's kernels may use, as torch.set_num_threads: the
 * WebAssembly backend's float32 products (matmul, linear), softmax-family rows
 * and fused distillation rows split large calls into blocks of rows, one per
 * thread, the calling thread taking one block. Calls below a work threshold stay on
 * one thread. The results do not depend on the count: every threaded kernel
 * gives what it gives on one thread, bit for bit (docs/runtimes.md, "Threads").
 * Where threads cannot run (QuickJS, a browser page that is not cross-origin
 * isolated or its main thread, Node or Deno without kdgrad/node) the setting is
 * kept but has no effect, and getNumThreads() says 1. Where they can, the workers
 * start now, in the background (threadInfo().ready counts those that have); in a
 * browser Worker they start only once the thread yields to its event loop, so
 * call this early and await something before the heavy calls.
 *
 * @param threads an integer from 1 to 256; the default is the core count.
 * @throws ValueError naming setNumThreads and the value, for anything else.
 * @example
 * setNumThreads(1); // one thread: what a run with more gives, bit for bit
 */
export function setNumThreads(threads: number): void {
  setRequestedThreads(threads, "setNumThreads");
  // Start the workers now (without waiting): they are ready by the first large call.
  if (isAvailable("wasm")) startWorkers(availableThreads());
}

/**
 * The number of threads kdgrad's kernels use here: the count set with
 * setNumThreads (by default the core count: navigator.hardwareConcurrency, or
 * os.availableParallelism() through kdgrad/node), or 1 where threads cannot
 * run — no SharedArrayBuffer, a thread that may not block (a browser's main
 * thread), no way to start a worker, no WebAssembly, or workers that failed to start.
 *
 * @returns an integer ≥ 1.
 * @example
 * getNumThreads(); // 2 on two cores in Node with kdgrad/node imported
 */
export function getNumThreads(): number {
  return isAvailable("wasm") ? availableThreads() : 1;
}

/** What threadInfo() reports. */
export interface ThreadInfo {
  /** getNumThreads(): the threads kernels use here. */
  threads: number;
  /** How workers are started here ("worker_threads", "Web Workers"), or null where they cannot be. */
  host: string | null;
  /** Why threads cannot run here ("" where they can). */
  reason: string;
  /** Workers started so far (by setNumThreads, or on the first call large enough to split). */
  workers: number;
  /** Of those, how many are running and wait for blocks. */
  ready: number;
  /** Blocks of rows the workers have computed so far. */
  jobs: number;
}

/**
 * Whether and how kdgrad's kernels use threads here, and how much the workers
 * have done: for checking that a runtime really runs them, and for learning
 * why it does not (`reason`), as torch.__config__.parallel_info().
 *
 * @returns a fresh ThreadInfo object.
 * @example
 * threadInfo(); // { threads: 1, host: null, reason: "SharedArrayBuffer is not available (…)", workers: 0, ready: 0, jobs: 0 }
 */
export function threadInfo(): ThreadInfo {
  const { host, reason } = threadHost();
  const wasm = isAvailable("wasm");
  return {
    threads: getNumThreads(),
    host: host === null || !wasm ? null : host.name,
    reason: wasm ? reason : "WebAssembly SIMD is not available (the threaded kernels are WebAssembly's)",
    workers: workersStarted(),
    ready: workersReady(),
    jobs: workerJobs(),
  };
}
