import type { BackendDefinition, KernelName, KernelTable, Lanes } from "../table.js";
import { softmax as jsSoftmax } from "../js/softmax.js";
import { optim as jsOptim } from "../js/optim.js";
import { wasmKernels } from "./module.js";

/**
 * The WebAssembly SIMD backend: the float32 kernels that training spends its
 * time in (AssemblyScript in wasm/, compiled bytes in bytes.ts, loaded and
 * wrapped in module.ts). Every other call, and all float64 work, goes to the
 * TypeScript kernels, so gradchecks and golden tests keep float64 precision.
 * A kernel here may still hand a call to TypeScript when its layout does not
 * suit the SIMD loop (softmax along an axis that is not the last, SGD with
 * momentum). Each wrapper writes straight into the output array the table's
 * signature provides: one copy out of WebAssembly memory, nothing allocated.
 */

/** Rows long enough, the reduced axis last: the layout the row kernels take. */
const rowLayout = (l: Lanes): boolean => l.inner === 1 && l.length >= 16 && l.outer > 0;

const w = () => wasmKernels()!;

/** The row kernels pay off from a quarter of the threshold (rows of ≥ 16 float32 values). */
const ROWS: ReadonlySet<KernelName> = new Set<KernelName>(["softmax", "logSoftmax", "softmaxBackward", "logSoftmaxBackward"]);

/**
 * The fused distillation loss does three exponentials and a dozen other operations per
 * element, so WebAssembly wins at any size (float32 [128, 10], forward and backward:
 * 0.034 ms against 0.053 ms in TypeScript): it takes every float32 call. So do the general
 * rows (every divergence; float64 arithmetic, scalar): at [16, 10], forward and backward,
 * 0.030 ms against 0.035 ms for the reverse KL, 0.032 against 0.040 for the JSD.
 */
const ANY_SIZE: ReadonlySet<KernelName> = new Set<KernelName>(["distillation", "distillationRows"]);

const f32 = (a: unknown): Float32Array => a as Float32Array;

const kernels: Partial<KernelTable> = {
  relu(x, y) {
    w().relu(f32(x), f32(y));
  },
  reluBackward(y, g, dx) {
    w().reluBackward(f32(y), f32(g), f32(dx));
  },
  matmul(A, B, C, cOffset, n, k, m, bias) {
    w().matmul(A.data, A.offset, A.rowStride, A.colStride, B.data, B.offset, B.rowStride, B.colStride, f32(C), cOffset, n, k, m, bias === undefined ? undefined : f32(bias));
  },
  columnSums(g, rows, cols, sums) {
    w().columnSums(f32(g), rows, cols, sums);
  },
  softmax(x, l, y) {
    if (rowLayout(l)) w().rows("softmax", [f32(x)], l.outer, l.length, f32(y));
    else jsSoftmax.softmax(x, l, y);
  },
  logSoftmax(x, l, y) {
    if (rowLayout(l)) w().rows("logSoftmax", [f32(x)], l.outer, l.length, f32(y));
    else jsSoftmax.logSoftmax(x, l, y);
  },
  softmaxBackward(p, g, l, dx) {
    if (rowLayout(l)) w().rows("softmaxBackward", [f32(p), f32(g)], l.outer, l.length, f32(dx));
    else jsSoftmax.softmaxBackward(p, g, l, dx);
  },
  logSoftmaxBackward(y, g, l, dx) {
    if (rowLayout(l)) w().rows("logSoftmaxBackward", [f32(y), f32(g)], l.outer, l.length, f32(dx));
    else jsSoftmax.logSoftmaxBackward(y, g, l, dx);
  },
  distillation(s, t, labels, B, C, T, alpha, dS, dT) {
    // Both kernels (the float32-lane one for a frozen teacher, the float64-lane one
    // otherwise) are chosen inside the module's wrapper; mixed float32/float64 calls never
    // come here (the registry hands WebAssembly float32 calls only).
    return w().distill(f32(s), f32(t), labels, B, C, T, alpha, dS === null ? null : f32(dS), dT === null ? null : f32(dT));
  },
  distillationRows(s, t, h, rows, classes, call, loss, dS, dT, dH, dTemp) {
    // The general rows (every divergence, wasm/divergences.ts): the TypeScript kernel's
    // arithmetic in float64, whatever the storage (the standardized path hands it float64
    // rows of a float32 loss).
    w().divergenceRows(s, t, h, rows, classes, call, loss, dS, dT, dH, dTemp);
  },
  sgdStep(theta, grad, buf, first, o) {
    // Plain SGD in WebAssembly (the same float64 arithmetic and rounding, two lanes at a
    // time); momentum and weight decay run in TypeScript.
    if (buf === null && o.weightDecay === 0) w().sgdStep(f32(theta), f32(grad), o.lr);
    else jsOptim.sgdStep(theta, grad, buf, first, o);
  },
};

export const wasmBackend: BackendDefinition = {
  kernels,
  available: () => wasmKernels() !== null,
  requirement: "WebAssembly SIMD",
  minWork: 4096,
  takes(name, dtype, work, minWork) {
    return dtype === "float32" && (ANY_SIZE.has(name) || work >= (ROWS.has(name) ? minWork / 4 : minWork));
  },
};
