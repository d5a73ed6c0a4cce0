import type { Storage } from "../../tensor/dtype.js";
import type { Lanes, ReduceKernels, ReduceOp } from "../table.js";

/**
 * Reductions along lanes (table.ts, `Lanes`), accumulated in float64
 * (JavaScript numbers) whatever the storage type, in lane order.
 */

/** Visit each lane: its output index, first position and stride. */
function eachLane(l: Lanes, f: (out: number, start: number, stride: number) => void): void {
  for (let o = 0; o < l.outer; o++) {
    for (let i = 0; i < l.inner; i++) f(o * l.inner + i, o * l.length * l.inner + i, l.inner);
  }
}

export const reduce: ReduceKernels = {
  reduce(op: ReduceOp, x: Storage, lanes: Lanes, y: Storage): void {
    const n = lanes.length;
    switch (op) {
      case "sum":
      case "mean":
        eachLane(lanes, (j, start, stride) => {
          let s = 0;
          for (let k = 0, p = start; k < n; k++, p += stride) s += x[p]!;
          y[j] = op === "sum" ? s : s / n;
        });
        return;
      case "max":
      case "min": {
        const max = op === "max";
        // NaN wins over everything (propagates), as in PyTorch.
        eachLane(lanes, (j, start, stride) => {
          let m = x[start]!;
          for (let k = 1, p = start + stride; k < n && m === m; k++, p += stride) {
            const v = x[p]!;
            if (v !== v || (max ? v > m : v < m)) m = v;
          }
          y[j] = m;
        });
        return;
      }
    }
  },

  argReduce(op: "argmax" | "argmin", x: Storage, lanes: Lanes, y: Int32Array): void {
    const n = lanes.length;
    const max = op === "argmax";
    // The first extremum; a NaN counts as the extremum (its first occurrence), as in PyTorch.
    eachLane(lanes, (j, start, stride) => {
      let best = 0;
      let m = x[start]!;
      for (let k = 1, p = start + stride; k < n && m === m; k++, p += stride) {
        const v = x[p]!;
        if (v !== v || (max ? v > m : v < m)) {
          m = v;
          best = k;
        }
      }
      y[j] = best;
    });
  },

  logSumExp(x: Storage, lanes: Lanes, shift: Float64Array, logSum: Float64Array): void {
    const n = lanes.length;
    eachLane(lanes, (j, start, stride) => {
      let m = -Infinity;
      let top = start;
      for (let k = 0, p = start; k < n; k++, p += stride) {
        if (x[p]! > m || x[p] !== x[p]) {
          m = x[p]!;
          top = p;
        }
      }
      let L: number;
      if (m === Infinity || m === -Infinity) {
        // ∞ − ∞ would be NaN: shift by 0. An all −∞ lane gives −∞, a +∞ one +∞.
        m = 0;
        let s = 0;
        for (let k = 0, p = start; k < n; k++, p += stride) s += Math.exp(x[p]!);
        L = Math.log(s);
      } else {
        // log Σ exp(x − m) = log1p(R), R the sum without the max's own term 1,
        // so a tail below 2⁻⁵³ is kept (docs/softmax.md).
        let r = 0;
        for (let k = 0, p = start; k < n; k++, p += stride) if (p !== top) r += Math.exp(x[p]! - m);
        L = Math.log1p(r);
      }
      shift[j] = m;
      logSum[j] = L;
    });
  },
};
