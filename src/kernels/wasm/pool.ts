import { markThreadsBroken, threadHost, type WorkerHandle } from "../threads.js";

/**
 * The worker pool of the WebAssembly backend. Every worker instantiates the
 * same module on the calling thread's memory, a shared WebAssembly.Memory
 * (module.ts), and then waits for jobs. A job is "call this export with these
 * arguments": the calling thread lays a call out in memory as it would for one
 * thread, giving each thread its own scratch region, and every pointer means
 * the same on every thread. Nothing is copied between threads; a worker writes
 * its block of the result where one thread would have written it.
 *
 * Waking a sleeping thread (Atomics.notify, then the operating system
 * scheduling it) takes about 40 µs here, as long as a small product. Two
 * things keep that off a call's time:
 *   - a worker that finishes a job polls for the next one for a while (SPIN
 *     polls, about a millisecond) before it sleeps in Atomics.wait, so that a
 *     training step's calls, microseconds apart, find it awake. It polls only
 *     while the threads do not outnumber the cores (a polling worker would
 *     take a core from a thread with work to do);
 *   - each job is claimed before it runs (a compare-exchange on its word
 *     CLAIM + i: 1 by its worker, 2 by the calling thread). The calling thread,
 *     done with its own block, claims and runs every job no worker has taken
 *     yet, so a call never waits for a thread to wake: at worst it takes what
 *     one thread takes. The same calls run either way, so the results are the same.
 *
 * Control block (a SharedArrayBuffer, Int32 words): [0] jobs pending, [1]
 * workers ready, [2] a job failed, [3] a worker failed to start, [4] how many
 * polls a worker makes before it sleeps; word GO + i is worker i's job
 * counter, CLAIM + i its job's claim. From byte DESC_BYTES on, worker i's job
 * descriptor, DESC float64 slots: [0] kind (0 run; 2 throw, for tests),
 * [1] export index (EXPORTS), [2] argument count, [3 …] arguments, [DESC − 1]
 * the result.
 */

/** The exports a worker may call, by index. */
export const EXPORTS = ["matmul", "distill", "distillF32", "logSoftmaxRows", "softmaxRows", "logSoftmaxBackwardRows", "softmaxBackwardRows"] as const;
export type ExportName = (typeof EXPORTS)[number];

const PENDING = 0, READY = 1, FAILED = 2, START_FAILED = 3, POLLS = 4, GO = 8;
const MAX_WORKERS = 255;
const CLAIM = GO + MAX_WORKERS + 1;
const DESC = 32;
const DESC_BYTES = (4 * (CLAIM + MAX_WORKERS + 1) + 7) & ~7;
/** How many times a worker polls its job counter before it sleeps (about a millisecond here). */
const SPIN = 1 << 17;
/** How many times the calling thread polls for the workers' end before it sleeps. */
const JOIN_SPIN = 1 << 14;
/** How long the first threaded call waits for the workers to start (they are then used as they come). */
const START_WAIT_MS = 2000;

/** The worker's script: plain JavaScript, run by the host (threads.ts) with its message glue. */
const WORKER_SOURCE = `
const EXPORTS = ${JSON.stringify(EXPORTS)};
function kdgradWorker(d) {
  const ctl = new Int32Array(d.control);
  const desc = new Float64Array(d.control);
  const go = ${GO} + d.index;
  const at = ${DESC_BYTES / 8} + d.index * ${DESC};
  let x;
  try {
    x = new WebAssembly.Instance(new WebAssembly.Module(d.bytes), { env: { memory: d.memory } }).exports;
  } catch (e) {
    Atomics.store(ctl, ${START_FAILED}, 1);
  }
  Atomics.add(ctl, ${READY}, 1);
  Atomics.notify(ctl, ${READY});
  if (x === undefined) return;
  // Never returns: the job loop owns this thread until the pool terminates it.
  for (let seq = 0; ;) {
    let s = Atomics.load(ctl, go);
    for (let i = 0, n = Atomics.load(ctl, ${POLLS}); s === seq && i < n; i++) s = Atomics.load(ctl, go);
    if (s === seq) {
      Atomics.wait(ctl, go, seq);
      continue;
    }
    seq = s;
    // Taken by the calling thread already (or a job this worker saw late): not ours to run.
    if (Atomics.compareExchange(ctl, ${CLAIM} + d.index, 0, 1) !== 0) continue;
    try {
      if (desc[at] === 2) throw new Error("a failure asked for by a test");
      const args = [];
      for (let i = 0; i < desc[at + 2]; i++) args.push(desc[at + 3 + i]);
      desc[at + ${DESC - 1}] = x[EXPORTS[desc[at + 1]]](...args) ?? 0;
    } catch (e) {
      Atomics.store(ctl, ${FAILED}, 1);
    }
    if (Atomics.sub(ctl, ${PENDING}, 1) === 1) Atomics.notify(ctl, ${PENDING});
  }
}
`;

/** One thread's part of a call. */
export interface Job {
  fn: ExportName;
  args: number[];
}

/** The calling thread's module: a way to call an export, and what a worker needs to instantiate its own on the same memory. */
export interface Local {
  call(fn: ExportName, args: number[]): number;
  /** The module's bytes, declaring its imported memory shared. */
  bytes: Uint8Array;
  /** The shared WebAssembly.Memory the calling thread's instance runs on. */
  memory: object;
}

interface Pool {
  workers: WorkerHandle[];
  /** The host's core count: workers poll between jobs only while the threads do not outnumber it. */
  cores: number;
  ctl: Int32Array;
  desc: Float64Array;
  seq: number[];
  memory: object;
}

let pool: Pool | null = null;
let waited = false;
let jobsRun = 0;
let failNext = false;
let stealing = true;

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

/** For tests: the next call split over threads has its first worker's job throw. */
export function failNextWorkerJob(): void {
  failNext = true;
}

/**
 * For tests: whether the calling thread runs the jobs no worker has taken yet (true, the
 * default) or leaves every job to its worker (false), so that tiny calls reach the workers.
 */
export function setWorkStealing(on: boolean): void {
  stealing = on;
}

/**
 * Start `extra` workers (threads − 1) on `local`'s memory if they are not running yet, and
 * on the first call after new ones started, wait for them unless `wait` is false
 * (setNumThreads starts them without waiting, so that a thread which then yields to its
 * event loop finds them ready).
 */
export function ensurePool(extra: number, local: Local, wait = true): Pool | null {
  const { host } = threadHost();
  if (host === null) return null;
  // A pool on another memory (the module was instantiated again) is of no use.
  if (pool !== null && pool.memory !== local.memory) {
    for (const w of pool.workers) w.terminate();
    pool = null;
  }
  if (pool === null) {
    const control = new SharedArrayBuffer(DESC_BYTES + 8 * DESC * MAX_WORKERS);
    pool = { workers: [], cores: host.cores, ctl: new Int32Array(control), desc: new Float64Array(control), seq: [], memory: local.memory };
  }
  const p = pool;
  try {
    // Workers started for this call are waited for (once per batch: see below).
    if (p.workers.length < Math.min(extra, MAX_WORKERS)) waited = false;
    while (p.workers.length < Math.min(extra, MAX_WORKERS)) {
      const w = host.spawn(WORKER_SOURCE);
      w.postMessage({ bytes: local.bytes, memory: local.memory, control: p.ctl.buffer, index: p.workers.length });
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
  if (Atomics.load(p.ctl, START_FAILED) !== 0) {
    stop("a worker could not instantiate the WebAssembly module on the shared memory");
    return null;
  }
  return p;
}

function stop(reason: string): void {
  markThreadsBroken(reason);
  if (pool !== null) for (const w of pool.workers) w.terminate();
  pool = null;
}

/** Wait until no job is pending: poll first (the workers are usually about to finish), then sleep. */
function join(p: Pool): void {
  let n = Atomics.load(p.ctl, PENDING);
  for (let i = 0; n !== 0 && i < JOIN_SPIN; i++) n = Atomics.load(p.ctl, PENDING);
  for (; n !== 0; n = Atomics.load(p.ctl, PENDING)) Atomics.wait(p.ctl, PENDING, n);
}

/**
 * Run jobs[0] on the calling thread and the others on workers, at the same time;
 * returns each job's result. Every job must already be laid out in the shared
 * memory, with scratch regions of its own. Where no worker can take them (no
 * threads here, workers still starting, or one failed) the calling thread runs
 * them all, one after another: the same calls, so the same results.
 */
export function runParallel(jobs: Job[], local: Local): number[] {
  const rest = jobs.length - 1;
  const p = rest === 0 ? null : ensurePool(rest, local);
  if (p === null || Atomics.load(p.ctl, READY) < p.workers.length) return jobs.map((j) => local.call(j.fn, j.args));
  // Workers poll between jobs only while every thread has a core of its own.
  Atomics.store(p.ctl, POLLS, p.workers.length < p.cores ? SPIN : 0);
  for (let i = 0; i < rest; i++) {
    const j = jobs[i + 1]!;
    const d = DESC_BYTES / 8 + i * DESC;
    p.desc[d] = failNext && i === 0 ? 2 : 0;
    p.desc[d + 1] = EXPORTS.indexOf(j.fn);
    p.desc[d + 2] = j.args.length;
    p.desc.set(j.args, d + 3);
  }
  failNext = false;
  Atomics.store(p.ctl, PENDING, rest);
  // The descriptors are written before their claims are cleared, and the claims before the
  // counters move: a worker that claims a job reads a whole descriptor.
  for (let i = 0; i < rest; i++) Atomics.store(p.ctl, CLAIM + i, 0);
  for (let i = 0; i < rest; i++) {
    Atomics.store(p.ctl, GO + i, ++p.seq[i]!);
    Atomics.notify(p.ctl, GO + i);
  }
  const results = [local.call(jobs[0]!.fn, jobs[0]!.args)];
  let taken = 0;
  for (let i = 0; i < rest; i++) {
    if (stealing && Atomics.compareExchange(p.ctl, CLAIM + i, 0, 2) === 0) {
      const j = jobs[i + 1]!;
      p.desc[DESC_BYTES / 8 + i * DESC + DESC - 1] = local.call(j.fn, j.args);
      Atomics.sub(p.ctl, PENDING, 1);
      taken++;
    }
  }
  join(p);
  if (Atomics.load(p.ctl, FAILED) !== 0) {
    // The failed block may be half written: every worker's block is computed again here.
    stop("a worker failed");
    return [results[0]!, ...jobs.slice(1).map((j) => local.call(j.fn, j.args))];
  }
  jobsRun += rest - taken;
  for (let i = 0; i < rest; i++) results.push(p.desc[DESC_BYTES / 8 + i * DESC + DESC - 1]!);
  return results;
}
