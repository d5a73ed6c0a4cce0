import { markThreadsBroken, threadHost, type WorkerHandle } from "../threads.js";

/**
 * The worker pool of the WebAssembly backend. Each worker instantiates the
 * same module (its own, unshared memory) and then waits in Atomics.wait for
 * jobs. A job is "copy these byte ranges of the shared arena into your memory,
 * call this export with these arguments, copy these ranges back": the calling
 * thread lays a call out in its own memory as it would for one thread, copies
 * what a worker needs into the arena (a SharedArrayBuffer), and the worker
 * copies it to the same addresses in its memory, so every pointer means the
 * same in both and scratch space is private to each thread. The module is
 * plain WebAssembly SIMD: no shared memory, no atomics inside it, so one build
 * serves runtimes with and without threads.
 *
 * Control block (a SharedArrayBuffer, Int32 words): [0] jobs pending, [1]
 * workers ready, [2] a worker failed; word GO + i is worker i's job counter.
 * From byte DESC_BYTES on, worker i's job descriptor, DESC float64 slots:
 *   [0] kind (0 run, 1 return to the event loop for a new arena)
 *   [1] export index (EXPORTS), [2] argument count, [3 …] arguments
 *   [24] bytes the memory must hold, [25] copy-ins, [26] copy-outs, then the
 *   (arena offset, address, bytes) triples: ins first, then outs; [63] the result.
 */

/** The exports a worker may call, by index. */
export const EXPORTS = ["matmul", "distill", "distillF32", "logSoftmaxRows", "softmaxRows", "logSoftmaxBackwardRows", "softmaxBackwardRows"] as const;
export type ExportName = (typeof EXPORTS)[number];

const PENDING = 0, READY = 1, FAILED = 2, GO = 8;
const MAX_WORKERS = 255;
const DESC = 64;
const DESC_BYTES = (4 * (GO + MAX_WORKERS + 1) + 7) & ~7;
const TRIPLES_AT = 27;
/** How long the first threaded call waits for the workers to start (they are then used as they come). */
const START_WAIT_MS = 2000;

/** The worker's script: plain JavaScript, run by the host (threads.ts) with its message glue. */
const WORKER_SOURCE = `
const EXPORTS = ${JSON.stringify(EXPORTS)};
let ctl, desc, arena, x, index, base, seq = 0;
function kdgradWorker(d) {
  if (d.bytes !== undefined) {
    x = new WebAssembly.Instance(new WebAssembly.Module(d.bytes), {}).exports;
    ctl = new Int32Array(d.control);
    index = d.index;
    base = ${DESC_BYTES / 8} + index * ${DESC};
    desc = new Float64Array(d.control);
  }
  arena = new Uint8Array(d.arena);
  if (d.bytes !== undefined) { Atomics.add(ctl, ${READY}, 1); Atomics.notify(ctl, ${READY}); }
  for (;;) {
    Atomics.wait(ctl, ${GO} + index, seq);
    const s = Atomics.load(ctl, ${GO} + index);
    if (s === seq) continue;
    seq = s;
    if (desc[base] === 1) { done(); return; }
    try { run(); } catch (e) { Atomics.store(ctl, ${FAILED}, 1); }
    done();
  }
}
function done() { if (Atomics.sub(ctl, ${PENDING}, 1) === 1) Atomics.notify(ctl, ${PENDING}); }
function run() {
  const args = [];
  for (let i = 0; i < desc[base + 2]; i++) args.push(desc[base + 3 + i]);
  x.ensure(desc[base + 24]);
  const ins = desc[base + 25], outs = desc[base + 26];
  let t = base + ${TRIPLES_AT};
  for (let i = 0; i < ins; i++, t += 3) new Uint8Array(x.memory.buffer, desc[t + 1], desc[t + 2]).set(arena.subarray(desc[t], desc[t] + desc[t + 2]));
  desc[base + 63] = x[EXPORTS[desc[base + 1]]](...args);
  for (let i = 0; i < outs; i++, t += 3) arena.set(new Uint8Array(x.memory.buffer, desc[t + 1], desc[t + 2]), desc[t]);
}
`;

/** One worker's part of a call. */
export interface Job {
  fn: ExportName;
  args: number[];
  /** Bytes the worker's memory must hold (the calling thread's layout top). */
  top: number;
  /** [address, bytes] ranges of the calling thread's memory the worker reads. */
  ins: [number, number][];
  /** [address, bytes] ranges the worker writes, copied back to the same addresses. */
  outs: [number, number][];
}

interface Pool {
  workers: WorkerHandle[];
  ctl: Int32Array;
  desc: Float64Array;
  arena: SharedArrayBuffer;
  seq: number[];
}

let pool: Pool | null = null;
let waited = false;
let jobsRun = 0;

/** How many jobs workers have completed (tests check that threads really ran). */
export function workerJobs(): number {
  return jobsRun;
}

/** How many workers are running. */
export function workersStarted(): number {
  return pool === null ? 0 : pool.workers.length;
}

/** How many workers have started and wait for jobs. */
export function workersReady(): number {
  return pool === null ? 0 : Math.min(Atomics.load(pool.ctl, READY), pool.workers.length);
}

/**
 * Start `extra` workers (threads − 1) if they are not running yet, and on the first call
 * after new ones started, wait for them unless `wait` is false (setNumThreads starts them
 * without waiting, so that a thread which then yields to its event loop finds them ready).
 */
export function ensurePool(extra: number, bytes: Uint8Array, wait = true): Pool | null {
  const { host } = threadHost();
  if (host === null) return null;
  if (pool === null) {
    const control = new SharedArrayBuffer(DESC_BYTES + 8 * DESC * MAX_WORKERS);
    pool = { workers: [], ctl: new Int32Array(control), desc: new Float64Array(control), arena: new SharedArrayBuffer(1 << 20), seq: [] };
  }
  const p = pool;
  try {
    // Workers started for this call are waited for (once per batch: see below).
    if (p.workers.length < Math.min(extra, MAX_WORKERS)) waited = false;
    while (p.workers.length < Math.min(extra, MAX_WORKERS)) {
      const w = host.spawn(WORKER_SOURCE);
      w.postMessage({ bytes, control: p.ctl.buffer, arena: p.arena, index: p.workers.length });
      p.workers.push(w);
      p.seq.push(0);
    }
  } catch (e) {
    stop(`starting a worker failed: ${e instanceof Error ? e.message : String(e)}`);
    return null;
  }
  if (!waited && wait) {
    // Once per batch of new workers: give the workers time to start, so that the first call already uses them. A
    // runtime whose workers start only when this thread yields (a browser worker starting
    // nested ones may) loses this wait once; its workers join later calls when ready.
    waited = true;
    const t0 = Date.now();
    for (let r; (r = Atomics.load(p.ctl, READY)) < p.workers.length && Date.now() - t0 < START_WAIT_MS;) {
      Atomics.wait(p.ctl, READY, r, START_WAIT_MS);
    }
  }
  return p;
}

function stop(reason: string): void {
  markThreadsBroken(reason);
  if (pool !== null) for (const w of pool.workers) w.terminate();
  pool = null;
}

/** Wait until no job is pending. */
function join(p: Pool): void {
  for (let n; (n = Atomics.load(p.ctl, PENDING)) !== 0;) Atomics.wait(p.ctl, PENDING, n);
}

function post(p: Pool, i: number): void {
  p.seq[i]!++;
  Atomics.store(p.ctl, GO + i, p.seq[i]!);
  Atomics.notify(p.ctl, GO + i);
}

/** Give every worker a larger arena (each returns to its event loop to receive it). */
function grow(p: Pool, bytes: number): void {
  p.arena = new SharedArrayBuffer(Math.max(bytes, 2 * p.arena.byteLength));
  // The message is queued before the job that sends each worker back to its event loop.
  p.workers.forEach((w) => w.postMessage({ arena: p.arena }));
  Atomics.store(p.ctl, PENDING, p.workers.length);
  for (let i = 0; i < p.workers.length; i++) {
    p.desc[DESC_BYTES / 8 + i * DESC] = 1;
    post(p, i);
  }
  join(p);
}

/** The calling thread's module: its memory and a way to call an export. */
export interface Local {
  memory(): ArrayBuffer;
  call(fn: ExportName, args: number[]): number;
  /** The module's bytes (workers compile their own instance). */
  bytes: Uint8Array;
}

/**
 * Run jobs[0] on the calling thread and the others on workers, at the same time;
 * returns each job's result. Every job must already be laid out in the calling
 * thread's memory (its `ins` written there); the workers' `outs` are copied back
 * to the same addresses. Where no worker can take them (no threads here, workers
 * still starting, or one failed) the calling thread runs them all, one after
 * another: the same calls, so the same results.
 */
export function runParallel(jobs: Job[], local: Local): number[] {
  const rest = jobs.slice(1);
  const p = rest.length === 0 ? null : ensurePool(rest.length, local.bytes);
  if (p === null || Atomics.load(p.ctl, READY) < p.workers.length) return jobs.map((j) => local.call(j.fn, j.args));
  // An input several workers read (a product's B) goes into the arena once.
  const shared = new Map<string, number>();
  let need = 0;
  for (const j of rest) {
    for (const [addr, n] of j.ins) {
      if (shared.has(`${addr}:${n}`)) continue;
      shared.set(`${addr}:${n}`, -1);
      need += (n + 15) & ~15;
    }
    for (const [, n] of j.outs) need += (n + 15) & ~15;
  }
  if (need > p.arena.byteLength) grow(p, need);
  const arena = new Uint8Array(p.arena);
  const mem = new Uint8Array(local.memory());
  const placed: number[][] = [];
  let at = 0;
  rest.forEach((j, i) => {
    const d = DESC_BYTES / 8 + i * DESC;
    p.desc[d] = 0;
    p.desc[d + 1] = EXPORTS.indexOf(j.fn);
    p.desc[d + 2] = j.args.length;
    p.desc.set(j.args, d + 3);
    p.desc[d + 24] = j.top;
    p.desc[d + 25] = j.ins.length;
    p.desc[d + 26] = j.outs.length;
    let t = d + TRIPLES_AT;
    const offs: number[] = [];
    for (const [addr, n] of j.ins) {
      let from = shared.get(`${addr}:${n}`)!;
      if (from < 0) {
        from = at;
        arena.set(mem.subarray(addr, addr + n), at);
        shared.set(`${addr}:${n}`, at);
        at += (n + 15) & ~15;
      }
      p.desc.set([from, addr, n], t);
      t += 3;
    }
    for (const [addr, n] of j.outs) {
      p.desc.set([at, addr, n], t);
      offs.push(at);
      t += 3;
      at += (n + 15) & ~15;
    }
    placed.push(offs);
  });
  Atomics.store(p.ctl, PENDING, rest.length);
  for (let i = 0; i < rest.length; i++) post(p, i);
  const first = local.call(jobs[0]!.fn, jobs[0]!.args);
  join(p);
  if (Atomics.load(p.ctl, FAILED) !== 0) {
    stop("a worker failed");
    return [first, ...rest.map((j) => local.call(j.fn, j.args))];
  }
  jobsRun += rest.length;
  // The workers' results into the calling thread's memory, where one thread would have written them.
  const out = new Uint8Array(local.memory());
  rest.forEach((j, i) => j.outs.forEach(([addr, n], k) => out.set(arena.subarray(placed[i]![k]!, placed[i]![k]! + n), addr)));
  return [first, ...rest.map((_, i) => p.desc[DESC_BYTES / 8 + i * DESC + 63]!)];
}
