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

/**
 * Sums (or means) of the lanes, in float64, k ascending in each lane. Each
 * case is its own small function so that the engine optimizes its loop alone.
 */
function sumLanes(x: Storage, l: Lanes, y: Storage, mean: boolean): void {
  const { outer, length: n, inner } = l;
  if (inner === 1) {
    for (let o = 0; o < outer; o++) {
      let s = 0;
      const end = (o + 1) * n;
      for (let p = o * n; p < end; p++) s += x[p]!;
      y[o] = mean ? s / n : s;
    }
    return;
  }
  // Lanes across the rows (a sum over a leading axis): four lanes at a time, four float64
  // accumulators fed from the same row, so each cache line read serves four lanes (twice the
  // speed of one lane at a time at [1024, 256], and of a row-by-row array of accumulators).
  // Each lane still adds its elements in lane order k = 0, 1, ….
  const span = n * inner;
  for (let o = 0; o < outer; o++) {
    const start = o * span;
    const end = start + span;
    const out = o * inner;
    let i = 0;
    for (; i + 4 <= inner; i += 4) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let p = start + i; p < end; p += inner) {
        s0 += x[p]!;
        s1 += x[p + 1]!;
        s2 += x[p + 2]!;
        s3 += x[p + 3]!;
      }
      y[out + i] = mean ? s0 / n : s0;
      y[out + i + 1] = mean ? s1 / n : s1;
      y[out + i + 2] = mean ? s2 / n : s2;
      y[out + i + 3] = mean ? s3 / n : s3;
    }
    for (; i < inner; i++) {
      let s = 0;
      for (let p = start + i; p < end; p += inner) s += x[p]!;
      y[out + i] = mean ? s / n : s;
    }
  }
}

/** The max (min) of each lane; a NaN wins (once a lane holds NaN it keeps it). Exact. */
function extremumLanes(x: Storage, l: Lanes, y: Storage, max: boolean): void {
  const { outer, length: n, inner } = l;
  if (inner === 1) {
    for (let o = 0; o < outer; o++) {
      const start = o * n;
      const end = start + n;
      let m = x[start]!;
      if (max) {
        for (let p = start + 1; p < end && m === m; p++) {
          const v = x[p]!;
          if (v > m || v !== v) m = v;
        }
      } else {
        for (let p = start + 1; p < end && m === m; p++) {
          const v = x[p]!;
          if (v < m || v !== v) m = v;
        }
      }
      y[o] = m;
    }
    return;
  }
  // Lanes across the rows: one running extremum per lane, updated row by row (reads in
  // memory order). A float64 holds every stored value exactly, so y gets x's own values.
  const acc = new Float64Array(inner);
  for (let o = 0, p = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) acc[i] = x[p++]!;
    for (let k = 1; k < n; k++) {
      for (let i = 0; i < inner; i++) {
        const v = x[p++]!;
        const m = acc[i]!;
        if (m === m && (v !== v || (max ? v > m : v < m))) acc[i] = v;
      }
    }
    const base = o * inner;
    for (let i = 0; i < inner; i++) y[base + i] = acc[i]!;
  }
}

export const reduce: ReduceKernels = {
  reduce(op: ReduceOp, x: Storage, lanes: Lanes, y: Storage): void {
    if (op === "sum" || op === "mean") sumLanes(x, lanes, y, op === "mean");
    else extremumLanes(x, lanes, y, op === "max");
  },

  argReduce(op: "argmax" | "argmin", x: Storage, lanes: Lanes, y: Int32Array): void {
    const { outer, length: n, inner } = lanes;
    const max = op === "argmax";
    // The first extremum; a NaN counts as the extremum (its first occurrence), as in PyTorch.
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const start = o * n * inner + i;
        let best = 0;
        let m = x[start]!;
        for (let k = 1, p = start + inner; k < n && m === m; k++, p += inner) {
          const v = x[p]!;
          if (v !== v || (max ? v > m : v < m)) {
            m = v;
            best = k;
          }
        }
        y[o * inner + i] = best;
      }
    }
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
