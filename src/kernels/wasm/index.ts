import type { BackendDefinition } from "../registry.js";
import type { KernelTable, Lanes } from "../table.js";
import { softmax as jsSoftmax } from "../js/softmax.js";
import { optim as jsOptim } from "../js/optim.js";
import { wasmKernels } from "./backend.js";

/**
 * The WebAssembly SIMD backend: the float32 kernels that training spends its
 * time in (AssemblyScript in wasm/, compiled bytes in bytes.ts). Every other
 * call, and all float64 work, goes to the TypeScript kernels, so gradchecks
 * and golden tests keep float64 precision. A kernel here may still hand a
 * call to TypeScript when its layout does not suit the SIMD loop (softmax
 * along an axis that is not the last).
 */

/** Rows long enough, the reduced axis last: the layout the row kernels take. */
const rowLayout = (l: Lanes, size: number): boolean => l.inner === 1 && l.length >= 16 && size > 0;

const w = () => wasmKernels()!;

const ROWS = new Set<string>(["softmax", "logSoftmax", "softmaxBackward", "logSoftmaxBackward"]);

const kernels: Partial<KernelTable> = {
  relu(x, y) {
    y.set(w().relu(x as Float32Array));
  },
  reluBackward(y, g, dx) {
    dx.set(w().reluBackward(y as Float32Array, g as Float32Array));
  },
  matmul(A, B, C, cOffset, n, k, m, bias) {
    const out = cOffset === 0 && C.length === n * m ? (C as Float32Array) : new Float32Array(n * m);
    w().matmul(A.data, A.offset, A.rowStride, A.colStride, B.data, B.offset, B.rowStride, B.colStride, out, n, k, m, bias as Float32Array | undefined);
    if (out !== C) C.set(out, cOffset);
  },
  columnSums(g, rows, cols, sums) {
    sums.set(w().columnSums(g as Float32Array, rows, cols));
  },
  softmax(x, l, y) {
    if (rowLayout(l, x.length)) y.set(w().rows("softmax", [x as Float32Array], l.outer, l.length));
    else jsSoftmax.softmax(x, l, y);
  },
  logSoftmax(x, l, y) {
    if (rowLayout(l, x.length)) y.set(w().rows("logSoftmax", [x as Float32Array], l.outer, l.length));
    else jsSoftmax.logSoftmax(x, l, y);
  },
  softmaxBackward(p, g, l, dx) {
    if (rowLayout(l, g.length)) dx.set(w().rows("softmaxBackward", [p as Float32Array, g as Float32Array], l.outer, l.length));
    else jsSoftmax.softmaxBackward(p, g, l, dx);
  },
  logSoftmaxBackward(y, g, l, dx) {
    if (rowLayout(l, g.length)) dx.set(w().rows("logSoftmaxBackward", [y as Float32Array, g as Float32Array], l.outer, l.length));
    else jsSoftmax.logSoftmaxBackward(y, g, l, dx);
  },
  sgdStep(theta, grad, buf, first, o) {
    // Plain SGD in WebAssembly (the same float64 arithmetic and rounding, two lanes at a
    // time); momentum and weight decay run in TypeScript.
    if (buf === null && o.weightDecay === 0) w().sgdStep(theta as Float32Array, grad as Float32Array, o.lr);
    else jsOptim.sgdStep(theta, grad, buf, first, o);
  },
};

export const wasmBackend: BackendDefinition = {
  kernels,
  available: () => wasmKernels() !== null,
  minWork: 4096,
  takes(name, dtype, work, minWork) {
    // The row kernels pay off from a quarter of the threshold (rows of ≥ 16 float32 values).
    return dtype === "float32" && work >= (ROWS.has(name) ? minWork / 4 : minWork);
  },
};
