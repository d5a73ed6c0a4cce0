import { wasmBase64 } from "./bytes.js";
import { ensurePool, runParallel, type ExportName, type Job, type Local } from "./pool.js";
import { markThreadsBroken, threadHost, threadsFor } from "../threads.js";
import type { Storage } from "../../tensor/dtype.js";
import type { DistillationRowsCall, Divergence } from "../table.js";

/**
 * Loading and calling the WebAssembly kernels (wasm/kernels.ts). The module
 * is compiled synchronously on first use; if WebAssembly or SIMD is missing,
 * or the runtime refuses (a browser main thread may refuse synchronous
 * compiles of more than 4 KB), the kernels are simply unavailable and the
 * TypeScript ones run. Nothing here touches the file system.
 */
/** The part of the WebAssembly JS API used here (the core lib has no types for it). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  Memory: new (limits: { initial: number; maximum: number; shared: boolean }) => object;
}

interface Exports {
  memory: { buffer: ArrayBuffer };
  distill(s: number, t: number, labels: number, B: number, C: number, T: number, alpha: number, dS: number, dT: number, scratch: number, norm: number, rowLoss: number): number;
  divergenceRows(
    s: number, t: number, h: number, B: number, C: number, kind: number, mix: number, T: number, alpha: number, power: number,
    labels: number, ignoreIndex: number, norm: number,
    loss: number, dS: number, dT: number, dH: number, dTemp: number, scratch: number, squareOk: number,
  ): void;
  distillF32(s: number, t: number, labels: number, B: number, C: number, T: number, alpha: number, dS: number, scratch: number, norm: number, rowLoss: number): number;
  matmul(A: number, B: number, C: number, n: number, k: number, m: number, ld: number): void;
  transpose(src: number, dst: number, rows: number, cols: number, ld: number): void;
  relu(x: number, y: number, n: number): void;
  reluBackward(y: number, g: number, dx: number, n: number): void;
  sgdStep(theta: number, g: number, lr: number, n: number): void;
  addRowVector(y: number, b: number, rows: number, cols: number, ld: number): void;
  columnSums(g: number, out: number, rows: number, cols: number): void;
  logSoftmaxRows(x: number, y: number, rows: number, C: number): void;
  softmaxRows(x: number, y: number, rows: number, C: number, scratch: number): void;
  logSoftmaxBackwardRows(y: number, g: number, dx: number, rows: number, C: number): void;
  softmaxBackwardRows(p: number, g: number, dx: number, rows: number, C: number): void;
  ensure(bytes: number): number;
  base(): number;
}

type Num = { readonly [i: number]: number; readonly length: number };

/**
 * The WebAssembly kernels as functions over typed arrays. Each copies its
 * inputs into WebAssembly memory, runs, and copies its result straight into
 * the output array the caller gives (one copy out, no array allocated per
 * call); the memory is reused from call to call and grows only for a larger call.
 */
export interface WasmKernels {
  /**
   * The fused distillation loss (the table's `distillation`, kernels/table.ts):
   * returns the loss and writes the gradients into dS and dT when they are given.
   * The float32-lane kernel runs when α > 0 and no dT is asked (a frozen teacher),
   * the float64-lane kernel otherwise.
   */
  distill(
    s: Float32Array, t: Float32Array, labels: Int32Array | null, B: number, C: number, T: number, alpha: number,
    dS: Float32Array | null, dT: Float32Array | null,
  ): number;
  /**
   * distillationLoss's general rows, every divergence (the table's `distillationRows`,
   * kernels/table.ts; wasm/divergences.ts, a port of kernels/divergences.ts): s, t and h are
   * copied in as float64 whatever their storage (exact from float32), the results computed in
   * float64 and copied out into the caller's arrays (one rounding per stored value).
   */
  divergenceRows(
    s: Storage, t: Storage, h: Storage, B: number, C: number, call: DistillationRowsCall,
    loss: Float64Array, dS: Storage | null, dT: Storage | null, dH: Storage | null, dTemp: Float64Array | null,
  ): void;
  /**
   * The softmax family along rows of C float32 values (contiguous [rows, C]):
   * "logSoftmax" and "softmax" take x; their backwards take (y, g) with y the
   * saved output. Writes the [rows, C] result into `out`.
   */
  rows(kind: RowKind, inputs: readonly Float32Array[], rows: number, C: number, out: Float32Array): void;
  /**
   * C = A·B (+ bias, a float32 [m] added to every row) for float32 operands read
   * through strides; C is written contiguous into `out` from `outOffset`.
   */
  matmul(
    A: Num, aOff: number, rsA: number, csA: number, B: Num, bOff: number, rsB: number, csB: number,
    out: Float32Array, outOffset: number, n: number, k: number, m: number, bias?: Float32Array,
  ): void;
  /** y = relu(x) over n float32 values. */
  relu(x: Float32Array, y: Float32Array): void;
  /** dx = g where y > 0, else 0, from the saved output y and the upstream g. */
  reluBackward(y: Float32Array, g: Float32Array, dx: Float32Array): void;
  /**
   * For tests: fill this thread's working memory with 0xff bytes (float32 NaN), so that
   * a result the kernels forget to write cannot pass as a stale copy of a previous call's.
   */
  poison(): void;
  /** θ ← θ − lr·g in place (float64 arithmetic, one rounding: as the TypeScript loop). */
  sgdStep(theta: Float32Array, g: Float32Array, lr: number): void;
  /** sums = the column sums of a contiguous float32 [rows, cols], in float64. */
  columnSums(g: Float32Array, rows: number, cols: number, sums: Float64Array): void;
}

export type RowKind = "logSoftmax" | "softmax" | "logSoftmaxBackward" | "softmaxBackward";

/**
 * The least work a thread gets before a call is split (threads.ts, threadsFor).
 * Multiply-adds for the product; elements for the row kernels, and fewer for the
 * distillation rows, which do three exponentials and a dozen operations each.
 * A split costs about a microsecond when the worker is awake (it polls for a millisecond
 * after each job, pool.ts) and nothing but that when it is not, since the calling thread
 * then runs the worker's block itself. The product's 2¹⁶ (about 5 µs on one core) was
 * measured with the MLP step of bench/mlp-step.ts on two threads, on a quiet machine:
 * 2.07 ms at 2¹⁶ and at 2¹⁸, 2.12 at 2¹⁴, 2.75 at 2²⁰ (its products are 2¹⁸ to 2²³
 * multiply-adds), against 3.11 ms on one thread. (Before the workers shared the memory,
 * each split copied its block in and out, and 2²³ was the least that paid.) The row
 * kernels' thresholds date from then and are kept: their calls in training are few.
 */
const MATMUL_PER_THREAD = 1 << 16;
const ROWS_PER_THREAD = 1 << 15;
const DISTILL_PER_THREAD = 1 << 13;

const ROW_EXPORTS: Record<RowKind, ExportName> = {
  logSoftmax: "logSoftmaxRows", softmax: "softmaxRows", logSoftmaxBackward: "logSoftmaxBackwardRows", softmaxBackward: "softmaxBackwardRows",
};

/** wasm/divergences.ts's `kind` of each divergence. */
const DIVERGENCE_KIND: Record<Divergence, number> = { forward: 0, reverse: 1, jsd: 2, skewForward: 3, skewReverse: 4, tvd: 5 };

/**
 * divergenceRows works on blocks of rows of at most this many values (at least one row), so
 * that WebAssembly memory holds about 2 MB per float64 array whatever the batch: a [4096, 152064]
 * call needs no 5 GB copy of its logits.
 */
const BLOCK_VALUES = 1 << 18;

let loaded: WasmKernels | null | undefined;
/** For setNumThreads: the calling thread's instance on shared memory, and what a worker needs. */
let threaded: { share(): boolean; local: Local } | null = null;

/**
 * Start the workers for `threads` threads now, without waiting for them (setNumThreads):
 * a thread that yields to its event loop before its heavy calls finds them ready, where
 * workers start only then (a browser Worker starting nested ones).
 */
export function startWorkers(threads: number): void {
  if (threads > 1 && wasmKernels() !== null && threaded !== null && threaded.share()) ensurePool(threads - 1, threaded.local, false);
}

/** The kernels, or null where WebAssembly SIMD cannot run. */
export function wasmKernels(): WasmKernels | null {
  if (loaded === undefined) {
    try {
      loaded = instantiate();
    } catch {
      loaded = null;
    }
  }
  return loaded;
}

function decodeBase64(text: string): Uint8Array {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const value = new Int16Array(128).fill(-1);
  for (let i = 0; i < 64; i++) value[alphabet.charCodeAt(i)] = i;
  const clean = text.replace(/=+$/, "");
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let count = 0;
  let o = 0;
  for (let i = 0; i < clean.length; i++) {
    bits = (bits << 6) | value[clean.charCodeAt(i)]!;
    count += 6;
    if (count >= 8) {
      count -= 8;
      out[o++] = (bits >> count) & 0xff;
    }
  }
  return out;
}

/**
 * The module's one import, its memory (`env.memory`): where its limits' flags byte is, and
 * the page counts it declares. The build (scripts/build-wasm.mjs) declares the memory with a
 * maximum and unshared (flags 1); the same module on shared memory, for threads, differs in
 * that one byte (flags 3: a maximum, shared). Null if the bytes are not laid out so.
 */
export function memoryImport(bytes: Uint8Array): { flagsAt: number; initial: number; maximum: number } | null {
  let p = 8;
  const leb = (): number => {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bytes[p++]!;
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
    }
  };
  while (p < bytes.length) {
    const id = bytes[p++]!;
    const size = leb();
    const end = p + size;
    if (id === 2) {
      if (leb() !== 1) return null;
      // (Not `p += leb()`: that would add to p as it was before leb moved it.)
      for (let name = 0; name < 2; name++) {
        const length = leb(); // the module's name, then the field's
        p += length;
      }
      if (bytes[p++] !== 2) return null; // not a memory
      const flagsAt = p;
      if (bytes[p++] !== 1) return null; // not "unshared, with a maximum"
      const initial = leb();
      return { flagsAt, initial, maximum: leb() };
    }
    p = end;
  }
  return null;
}

function instantiate(): WasmKernels | null {
  // The bundles built without the module (dist/kdgrad.nowasm.js) carry no bytes: they never
  // touch WebAssembly, so a sandbox that forbids compiling it sees no attempt.
  if (wasmBase64.length === 0) return null;
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (wasm === undefined) return null;
  const bytes = decodeBase64(wasmBase64);
  const limits = memoryImport(bytes);
  if (limits === null || !wasm.validate(bytes)) return null;
  const sharedBytes = bytes.slice();
  sharedBytes[limits.flagsAt] = 3;

  /**
   * An instance of the module on a memory of its own: shared where threads can run (the
   * workers instantiate the same module on it), unshared elsewhere (a runtime without
   * SharedArrayBuffer, or before kdgrad/node registered a way to start workers).
   */
  const create = (shared: boolean): { x: Exports; memory: object } => {
    const memory = new wasm.Memory({ initial: limits.initial, maximum: limits.maximum, shared });
    const instance = new wasm.Instance(new wasm.Module(shared ? sharedBytes : bytes), { env: { memory } });
    return { x: instance.exports as unknown as Exports, memory };
  };
  let made: { x: Exports; memory: object } | null = null;
  let isShared = false;
  if (threadHost().host !== null) {
    try {
      made = create(true);
      isShared = true;
    } catch {
      made = null;
    }
  }
  made ??= create(false);
  let x = made.x;
  const base = x.base();

  /** Reserve `sizes` consecutive regions (16-byte aligned) above the heap base; returns their offsets. */
  const layout = (sizes: number[]): number[] => {
    const offsets: number[] = [];
    let at = base;
    for (const s of sizes) {
      offsets.push(at);
      at += (s + 15) & ~15;
    }
    x.ensure(at);
    return offsets;
  };

  const local: Local = {
    call: (fn, args) => (x[fn] as (...a: number[]) => number)(...args) ?? 0,
    bytes: sharedBytes,
    memory: made.memory,
  };

  /**
   * Before a call split over threads, and before its layout: the instance must run on
   * shared memory. One made before threads could run here (kdgrad/node imported after the
   * first kernel call) is replaced by one on shared memory; nothing lives in the memory
   * between calls. False, with threads off from then on, where that fails.
   */
  const share = (): boolean => {
    if (isShared) return true;
    try {
      const next = create(true);
      x = next.x;
      local.memory = next.memory;
      isShared = true;
      return true;
    } catch (e) {
      markThreadsBroken(`shared WebAssembly memory is refused here: ${e instanceof Error ? e.message : String(e)}`);
      return false;
    }
  };
  threaded = { share, local };

  /**
   * The threads a call of `work` in `blocks` blocks gets (threads.ts, threadsFor), called
   * before its layout: where it is split, the instance is moved to shared memory first, and
   * where that is refused the call stays on one thread.
   */
  const split = (work: number, blocks: number, perThread: number): number => {
    const n = threadsFor(work, blocks, perThread);
    return n > 1 && share() ? n : 1;
  };

  /**
   * Run `call` over blocks of `rows` rows (a multiple of `unit` each, but the last) on
   * up to `threads` threads: the calling thread takes the first block. `call(r0, r1, i)`
   * gives block i's export and arguments (its scratch must be its own). Returns each
   * block's result.
   */
  const blocks = (
    rows: number, unit: number, threads: number, call: (r0: number, r1: number, i: number) => Job,
  ): number[] => {
    const units = Math.ceil(rows / unit);
    const jobs: Job[] = [];
    for (let i = 0; i < threads; i++) {
      const r0 = Math.min(rows, unit * Math.floor((i * units) / threads));
      const r1 = Math.min(rows, unit * Math.floor(((i + 1) * units) / threads));
      if (r1 > r0) jobs.push(call(r0, r1, jobs.length));
    }
    return runParallel(jobs, local);
  };

  /**
   * The distillation kernels on blocks of rows: each block stores its rows' losses at
   * `prl` (float64), and they are summed here in row order and divided by B, as the
   * kernel sums them on one thread: the loss is bit-identical for every thread count
   * (and so are the gradients, row by row, each divided by the whole batch's B).
   */
  const rowLosses = (B: number, threads: number, prl: number, call: Parameters<typeof blocks>[3]): number => {
    blocks(B, 1, threads, call);
    const losses = new Float64Array(x.memory.buffer, prl, B);
    let total = 0;
    for (let r = 0; r < B; r++) total += losses[r]!;
    return total / B;
  };

  return {
    poison() {
      new Uint8Array(x.memory.buffer, base).fill(0xff);
    },

    distill(s, t, labels, B, C, T, alpha, dS, dT) {
      // Memory is read as x.memory.buffer after layout(), which may have grown it (and
      // detached the old buffer). No closure is made per call: this path is the small-shape
      // fast path, where a few hundred nanoseconds of JavaScript count.
      const wantS = dS !== null;
      const wantT = dT !== null;
      if (alpha > 0 && !wantT) {
        // The float32-lane kernel (the teacher needs no gradient): rows as they
        // are, 16 bytes of slack after each array for its last vector loads and stores.
        // Its vector stores may write up to 12 bytes past a block's last row of dS (rewritten
        // later on one thread), so on several threads each block's rows of dS get slack of
        // their own: block i's start 16·i bytes further on, and are copied out block by block.
        const n = B * C;
        const threads = split(n, B, DISTILL_PER_THREAD);
        const each = 48 * ((C + 3) & ~3);
        const [ps, pt, pl, pdS, scratch, prl] = layout([4 * n + 16, 4 * n + 16, 4 * B, wantS ? 4 * n + 16 * threads : 0, threads * each, threads > 1 ? 8 * B : 0]);
        new Float32Array(x.memory.buffer, ps!, n).set(s);
        new Float32Array(x.memory.buffer, pt!, n).set(t);
        if (labels) new Int32Array(x.memory.buffer, pl!, B).set(labels);
        if (threads === 1) {
          const loss = x.distillF32(ps!, pt!, labels ? pl! : 0, B, C, T, alpha, wantS ? pdS! : 0, scratch!, B, 0);
          // One copy out of WebAssembly memory, straight into the caller's array.
          if (dS) dS.set(new Float32Array(x.memory.buffer, pdS!, n));
          return loss;
        }
        const starts: number[] = [];
        const loss = rowLosses(B, threads, prl!, (r0, r1, i) => {
          starts.push(r0);
          return {
            fn: "distillF32",
            args: [ps! + 4 * r0 * C, pt! + 4 * r0 * C, labels ? pl! + 4 * r0 : 0, r1 - r0, C, T, alpha, wantS ? pdS! + 4 * r0 * C + 16 * i : 0, scratch! + i * each, B, prl! + 8 * r0],
          };
        });
        if (dS) {
          starts.push(B);
          for (let i = 0; i + 1 < starts.length; i++) {
            dS.set(new Float32Array(x.memory.buffer, pdS! + 4 * starts[i]! * C + 16 * i, (starts[i + 1]! - starts[i]!) * C), starts[i]! * C);
          }
        }
        return loss;
      }
      // The float64-lane kernel takes two classes at a time: an odd C gets a
      // padding class at −∞, which has no probability under either softmax.
      const Cp = C + (C & 1);
      const n = B * Cp;
      const threads = split(n, B, DISTILL_PER_THREAD);
      const each = (wantT ? 32 : 24) * Cp;
      const [ps, pt, pl, pdS, pdT, scratch, prl] = layout([4 * n, 4 * n, 4 * B, wantS ? 4 * n : 0, wantT ? 4 * n : 0, threads * each, threads > 1 ? 8 * B : 0]);
      const S = new Float32Array(x.memory.buffer, ps!, n);
      const Tt = new Float32Array(x.memory.buffer, pt!, n);
      if (Cp === C) {
        S.set(s);
        Tt.set(t);
      } else {
        for (let r = 0; r < B; r++) {
          S.set(s.subarray(r * C, (r + 1) * C), r * Cp);
          Tt.set(t.subarray(r * C, (r + 1) * C), r * Cp);
          S[r * Cp + C] = -Infinity;
          Tt[r * Cp + C] = -Infinity;
        }
      }
      if (labels) new Int32Array(x.memory.buffer, pl!, B).set(labels);
      const loss = threads === 1
        ? x.distill(ps!, pt!, labels ? pl! : 0, B, Cp, T, alpha, wantS ? pdS! : 0, wantT ? pdT! : 0, scratch!, B, 0)
        : rowLosses(B, threads, prl!, (r0, r1, i) => {
          const from = 4 * r0 * Cp;
          return {
            fn: "distill",
            args: [ps! + from, pt! + from, labels ? pl! + 4 * r0 : 0, r1 - r0, Cp, T, alpha, wantS ? pdS! + from : 0, wantT ? pdT! + from : 0, scratch! + i * each, B, prl! + 8 * r0],
          };
        });
      const out = (p: number, into: Float32Array): void => {
        const all = new Float32Array(x.memory.buffer, p, n);
        if (Cp === C) into.set(all);
        else for (let i = 0; i < B; i++) into.set(all.subarray(i * Cp, i * Cp + C), i * C);
      };
      if (dS) out(pdS!, dS);
      if (dT) out(pdT!, dT);
      return loss;
    },

    divergenceRows(s, t, h, B, C, call, loss, dS, dT, dH, dTemp) {
      if (B === 0) return;
      const soft = call.alpha > 0;
      const sameH = h === s;
      // h is read only by the hard term, and copied only when it is not s itself.
      const copyH = !sameH && call.labels !== null && call.alpha < 1;
      const labels = call.labels;
      const R = Math.max(1, Math.min(B, Math.floor(BLOCK_VALUES / C)));
      const n = R * C;
      const [ps, pt, ph, pl, ploss, pdS, pdT, pdH, pdTemp, scratch] = layout([
        8 * n, soft ? 8 * n : 0, copyH ? 8 * n : 8, labels ? 4 * R : 0, 8 * R,
        dS ? 8 * n : 0, dT ? 8 * n : 0, dH ? 8 * n : 0, dTemp ? 8 * R : 0, 80 * C,
      ]);
      // (No allocation happens in WebAssembly during the loop: the buffer stays the same.)
      const mem = x.memory.buffer;
      const kind = DIVERGENCE_KIND[call.divergence];
      const power = call.power;
      for (let r0 = 0; r0 < B; r0 += R) {
        const rows = Math.min(R, B - r0);
        const from = r0 * C;
        const m = rows * C;
        new Float64Array(mem, ps!, m).set(s.subarray(from, from + m));
        if (soft) new Float64Array(mem, pt!, m).set(t.subarray(from, from + m));
        if (copyH) new Float64Array(mem, ph!, m).set(h.subarray(from, from + m));
        if (labels) new Int32Array(mem, pl!, rows).set(labels.subarray(r0, r0 + rows));
        x.divergenceRows(
          ps!, pt!, sameH ? ps! : ph!, rows, C, kind, call.mix, call.temperature, call.alpha, power,
          labels ? pl! : 0, call.ignoreIndex, call.norm,
          ploss!, dS ? pdS! : 0, dT ? pdT! : 0, dH ? pdH! : 0, dTemp ? pdTemp! : 0, scratch!, s instanceof Float32Array ? 1 : 0,
        );
        loss.set(new Float64Array(mem, ploss!, rows), r0);
        if (dS) dS.set(new Float64Array(mem, pdS!, m), from);
        if (dT) dT.set(new Float64Array(mem, pdT!, m), from);
        if (dH) dH.set(new Float64Array(mem, pdH!, m), from);
        if (dTemp) dTemp.set(new Float64Array(mem, pdTemp!, rows), r0);
      }
    },

    rows(kind, inputs, rows, C, result) {
      // Two classes per step: an odd C gets a padding column, at −∞ for logits and
      // log-probabilities (no probability) and 0 for gradients and probabilities.
      const Cp = C + (C & 1);
      const n = rows * Cp;
      const pad = kind === "logSoftmax" || kind === "softmax" ? [-Infinity] : kind === "logSoftmaxBackward" ? [-Infinity, 0] : [0, 0];
      // Rows are independent: a block of them on each thread gives what one thread gives, bit for bit.
      const threads = split(n, rows, ROWS_PER_THREAD);
      const offsets = layout([...inputs.map(() => 4 * n), 4 * n, threads * 8 * Cp]);
      const mem = x.memory.buffer;
      inputs.forEach((src, j) => {
        const dst = new Float32Array(mem, offsets[j]!, n);
        if (Cp === C) dst.set(src.subarray(0, n));
        else for (let r = 0; r < rows; r++) {
          dst.set(src.subarray(r * C, (r + 1) * C), r * Cp);
          dst[r * Cp + C] = pad[j]!;
        }
      });
      const out = offsets[inputs.length]!;
      const scratch = offsets[inputs.length + 1]!;
      const fn = ROW_EXPORTS[kind];
      const argsFor = (r0: number, r1: number, i: number): number[] => {
        const ins = inputs.map((_, j) => offsets[j]! + 4 * r0 * Cp);
        return kind === "softmax" ? [ins[0]!, out + 4 * r0 * Cp, r1 - r0, Cp, scratch + i * 8 * Cp] : [...ins, out + 4 * r0 * Cp, r1 - r0, Cp];
      };
      if (threads === 1) local.call(fn, argsFor(0, rows, 0));
      else blocks(rows, 1, threads, (r0, r1, i) => ({ fn, args: argsFor(r0, r1, i) }));
      const all = new Float32Array(x.memory.buffer, out, n);
      if (Cp === C) result.set(all);
      else for (let r = 0; r < rows; r++) result.set(all.subarray(r * Cp, r * Cp + C), r * C);
    },

    relu(xs, ys) {
      const n = xs.length;
      const [px, py] = layout([4 * n, 4 * n]);
      new Float32Array(x.memory.buffer, px!, n).set(xs);
      x.relu(px!, py!, n);
      ys.set(new Float32Array(x.memory.buffer, py!, n));
    },

    reluBackward(ys, gs, dx) {
      const n = ys.length;
      const [py, pg, pd] = layout([4 * n, 4 * n, 4 * n]);
      new Float32Array(x.memory.buffer, py!, n).set(ys);
      new Float32Array(x.memory.buffer, pg!, n).set(gs);
      x.reluBackward(py!, pg!, pd!, n);
      dx.set(new Float32Array(x.memory.buffer, pd!, n));
    },

    sgdStep(theta, g, lr) {
      const n = theta.length;
      const [pt, pg] = layout([4 * n, 4 * n]);
      const t = new Float32Array(x.memory.buffer, pt!, n);
      t.set(theta);
      new Float32Array(x.memory.buffer, pg!, n).set(g);
      x.sgdStep(pt!, pg!, lr, n);
      theta.set(new Float32Array(x.memory.buffer, pt!, n));
    },

    columnSums(g, rows, cols, sums) {
      const [pg, po] = layout([4 * rows * cols, 8 * cols]);
      new Float32Array(x.memory.buffer, pg!, rows * cols).set(g.subarray(0, rows * cols));
      x.columnSums(pg!, po!, rows, cols);
      sums.set(new Float64Array(x.memory.buffer, po!, cols));
    },

    matmul(A, aOff, rsA, csA, B, bOff, rsB, csB, out, outOffset, n, k, m, bias) {
      // The kernel wants n a multiple of 4 and m of 8: pad with zeros. A transposed
      // view of a contiguous matrix (as W.T in a linear layer, or Aᵀ in backward)
      // is copied as it is and transposed in WebAssembly.
      const n4 = (n + 3) & ~3;
      const m8 = (m + 7) & ~7;
      // Each thread takes a block of C: every entry is the same sum, in the same order (p
      // ascending, one float32 accumulator), whichever thread forms it, so the product is
      // bit-identical for every thread count. Blocks of eight columns where B is the wider
      // (then each thread reads only its columns of B: 128×1200×1200 on two threads 7.47 →
      // 7.20 ms against blocks of rows), of four rows otherwise.
      const byColumns = m8 > n4;
      const threads = split(n * k * m, byColumns ? m8 / 8 : n4 / 4, MATMUL_PER_THREAD);
      const [pa, pb, pc, pt, pbias] = layout([4 * n4 * k, 4 * k * m8, 4 * n4 * m8, 4 * Math.max(n, m) * k, bias ? 4 * m8 : 0]);
      const mem = x.memory.buffer;
      const a = new Float32Array(mem, pa!, n4 * k);
      const b = new Float32Array(mem, pb!, k * m8);
      if (A instanceof Float32Array && csA === 1 && rsA === k) a.set(A.subarray(aOff, aOff + n * k));
      else if (A instanceof Float32Array && rsA === 1 && csA === n && n * k > 0) {
        new Float32Array(mem, pt!, n * k).set(A.subarray(aOff, aOff + n * k));
        x.transpose(pt!, pa!, k, n, k);
      } else for (let i = 0; i < n; i++) for (let p = 0; p < k; p++) a[i * k + p] = A[aOff + i * rsA + p * csA]!;
      a.fill(0, n * k);
      if (B instanceof Float32Array && csB === 1 && rsB === m && m8 === m) b.set(B.subarray(bOff, bOff + k * m));
      else if (B instanceof Float32Array && rsB === 1 && csB === k && m * k > 0) {
        if (m8 !== m) b.fill(0);
        new Float32Array(mem, pt!, m * k).set(B.subarray(bOff, bOff + m * k));
        x.transpose(pt!, pb!, m, k, m8);
      } else {
        b.fill(0);
        for (let p = 0; p < k; p++) for (let j = 0; j < m; j++) b[p * m8 + j] = B[bOff + p * rsB + j * csB]!;
      }
      if (threads === 1) x.matmul(pa!, pb!, pc!, n4, k, m8, m8);
      else if (byColumns) blocks(m8, 8, threads, (j0, j1) => ({ fn: "matmul", args: [pa!, pb! + 4 * j0, pc! + 4 * j0, n4, k, j1 - j0, m8] }));
      else blocks(n4, 4, threads, (r0, r1) => ({ fn: "matmul", args: [pa! + 4 * r0 * k, pb!, pc! + 4 * r0 * m8, r1 - r0, k, m8, m8] }));
      if (bias) {
        const bv = new Float32Array(x.memory.buffer, pbias!, m8);
        bv.set(bias.subarray(0, m));
        bv.fill(0, m);
        x.addRowVector(pc!, pbias!, n, m8, m8);
      }
      const c = new Float32Array(x.memory.buffer, pc!, n4 * m8);
      if (m8 === m) out.set(c.subarray(0, n * m), outOffset);
      else for (let i = 0; i < n; i++) out.set(c.subarray(i * m8, i * m8 + m), outOffset + i * m);
    },
  };
}
