import type { Storage } from "../../tensor/dtype.js";
import type { DivergenceKernels, Lanes } from "../table.js";
import { distillationRowsKernel, keptRows } from "../divergences.js";

/**
 * The divergence family in TypeScript (table.ts, DivergenceKernels): distillationLoss's
 * general rows (kernels/divergences.ts, with its scratch of 10·C float64 values), the row
 * bookkeeping of ignored labels, and logit standardization with its vector-Jacobian product.
 */

/**
 * Standardize each lane over its entries that are not −∞. μ = first + Σ(x − first)/n: the
 * shift by the lane's first entry keeps the sum's rounding relative to the spread, not to |x|
 * (a lane near 1e4 keeps its small differences). σ² = (Σd² − (Σd)²/n)/(n − 1) with d = x − μ,
 * the corrected two-pass formula (the (Σd)²/n term removes what the rounding of μ left in d).
 * When Σd² overflows (|d| beyond 1e154) the sums are taken of d/A, A = max |d|, and σ scaled
 * back by A. n < 2 gives σ = 0: every deviation is then exactly 0.
 */
function standardize(x: Storage, l: Lanes, eps: number, y: Storage, sigma: Float64Array): void {
  const { outer, length: L, inner } = l;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const lane = o * inner + j;
      const start = o * L * inner + j;
      const end = start + L * inner;
      let n = 0;
      let shift = 0;
      let sum = 0;
      let bad = false;
      for (let k = start; k < end; k += inner) {
        const v = x[k]!;
        if (v === -Infinity) continue;
        if (!(v < Infinity)) bad = true; // NaN or +∞
        if (n === 0) shift = v;
        sum += v - shift;
        n++;
      }
      if (bad) {
        for (let k = start; k < end; k += inner) y[k] = NaN;
        sigma[lane] = NaN;
        continue;
      }
      const mu = n === 0 ? 0 : shift + sum / n;
      let sd = 0;
      let sd2 = 0;
      for (let k = start; k < end; k += inner) {
        const v = x[k]!;
        if (v === -Infinity) continue;
        const d = v - mu;
        sd += d;
        sd2 += d * d;
      }
      let sig = 0;
      if (n > 1) {
        if (sd2 < Infinity) sig = Math.sqrt(Math.max(sd2 - (sd * sd) / n, 0) / (n - 1));
        else {
          let A = 0;
          for (let k = start; k < end; k += inner) if (x[k] !== -Infinity) A = Math.max(A, Math.abs(x[k]! - mu));
          let c = 0;
          let c2 = 0;
          for (let k = start; k < end; k += inner) {
            if (x[k] === -Infinity) continue;
            const d = (x[k]! - mu) / A;
            c += d;
            c2 += d * d;
          }
          sig = A * Math.sqrt(Math.max(c2 - (c * c) / n, 0) / (n - 1));
        }
      }
      sigma[lane] = sig;
      const den = sig + eps;
      for (let k = start; k < end; k += inner) {
        const v = x[k]!;
        y[k] = v === -Infinity ? -Infinity : (v - mu) / den;
      }
    }
  }
}

/**
 * dx = [(g − ḡ) − y·⟨g, y⟩·d/((n − 1)σ)]/d over the entries that are not −∞ (0 at those),
 * d = σ + eps, ḡ and ⟨g, y⟩ over the same entries. At σ = 0 the second term is 0: there
 * y ⊙ ⟨g, y⟩/σ = (x − μ)⟨g, x − μ⟩/(σ·d²) = O(σ) → 0 (src/ops/standardize-logits.ts).
 *
 * Then the lane's mean of dx is subtracted. In exact arithmetic it is 0 (Σy = 0: a constant
 * added to the lane changes nothing), but the stored y sums to about n·ulp(|x|)/d, not 0, and
 * the second term multiplies that by ⟨g, y⟩/((n − 1)σ): on a lane of nearly equal logits far
 * from 0 (σ = 2e-11 at |x| = 20) the gradient's sum came out at 0.0125 of g. The true dx lies in
 * the zero-mean subspace, so projecting the computed one onto it (subtracting its mean) cannot
 * move it further from the truth: ‖P(dx̃) − dx‖₂ = ‖P(dx̃ − dx)‖₂ ≤ ‖dx̃ − dx‖₂.
 */
function standardizeBackward(y: Storage, sigma: Float64Array, eps: number, g: Storage, l: Lanes, dx: Storage): void {
  const { outer, length: L, inner } = l;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const lane = o * inner + j;
      const start = o * L * inner + j;
      const end = start + L * inner;
      let n = 0;
      let gs = 0;
      let gy = 0;
      for (let k = start; k < end; k += inner) {
        const v = y[k]!;
        if (v === -Infinity) continue;
        n++;
        gs += g[k]!;
        gy += g[k]! * v;
      }
      const sig = sigma[lane]!;
      const den = sig + eps;
      const gbar = n > 0 ? gs / n : 0;
      const k2 = sig > 0 ? den / ((n - 1) * sig) : 0;
      let mean = 0;
      for (let k = start; k < end; k += inner) {
        const v = y[k]!;
        if (v !== -Infinity) mean += ((g[k]! - gbar) - v * gy * k2) / den;
      }
      mean = n > 0 ? mean / n : 0;
      for (let k = start; k < end; k += inner) {
        const v = y[k]!;
        dx[k] = v === -Infinity ? 0 : ((g[k]! - gbar) - v * gy * k2) / den - mean;
      }
    }
  }
}

export const divergences: DivergenceKernels = {
  distillationRows(s, t, h, rows, classes, call, loss, dS, dT, dH, dTemp) {
    distillationRowsKernel(s, t, h, rows, classes, call, loss, dS, dT, dH, dTemp, new Float64Array(10 * classes));
  },
  keptRows,
  standardize,
  standardizeBackward,
};
