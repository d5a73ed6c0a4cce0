import type { Storage } from "../../tensor/dtype.js";
import type { ClassTarget, Lanes, LossKernels, LossScale } from "../table.js";
import { distillationKernel } from "../distillation.js";
import { distillationKernelF32 } from "../distillation-f32.js";
import { dkd } from "./dkd.js";
import { dist } from "./dist.js";
import { nkd } from "./nkd.js";
import { wsld } from "./wsld.js";
import { sparseDistillationKernel, topKCheck as topKCheckRows } from "../sparse-distillation.js";

/**
 * The losses' loops in TypeScript (table.ts, LossKernels, states each formula; the
 * loss files in src/losses derive them). Everything is formed in float64 (JavaScript
 * numbers) and rounded once when stored.
 */

/** sᵢ of a LossScale: the upstream of element i (or the one scalar upstream), divided. */
const scaleAt = (sc: LossScale, i: number): number => (sc.each ? sc.g[i]! : sc.g[0]!) / sc.divisor;

/**
 * The fused distillation loss. The choice of algorithm lives here, not in the loss: a
 * frozen teacher (no dT) with α > 0 on float32 logits takes the float32 log-ratio kernel
 * (exponentials good to float32 accuracy, the KL still relative-accurate); anything else
 * the float64 kernel, told when its results are float32 (it may then use a cheaper
 * exponential for the cross-entropy). Each allocates only its scratch of 3·C values (4·C
 * with a teacher gradient).
 */
function distillation(
  s: Storage, t: Storage, labels: Int32Array | null, B: number, C: number, T: number, alpha: number,
  dS: Storage | null, dT: Storage | null,
): number {
  const float32 = s instanceof Float32Array && t instanceof Float32Array;
  if (float32 && alpha > 0 && dT === null) {
    return distillationKernelF32(s, t, labels, B, C, T, alpha, dS as Float32Array | null, new Float32Array(3 * C));
  }
  return distillationKernel(s, t, labels, B, C, T, alpha, dS, dT, new Float64Array((dT === null ? 3 : 4) * C), float32);
}

/** The sparse distillation loss: kernels/sparse-distillation.ts (it allocates its scratch of 2·C float64). */
const sparseDistillation: LossKernels["sparseDistillation"] = sparseDistillationKernel;

/** topKCheck with its scratch: one mark per class. */
function topKCheck(indices: Int32Array, logprobs: Storage, rows: number, k: number, classes: number, labels: Int32Array | null, ignoreIndex: number): number {
  return topKCheckRows(indices, logprobs, rows, k, classes, labels, ignoreIndex, new Int32Array(classes));
}

/** Visit each position (lane) of `l`: its index, first element and step along the classes. */
function eachPosition(l: Lanes, f: (position: number, start: number, step: number) => void): void {
  for (let o = 0; o < l.outer; o++) {
    for (let i = 0; i < l.inner; i++) f(o * l.inner + i, o * l.length * l.inner + i, l.inner);
  }
}

function classLoss(lp: Storage, lanes: Lanes, target: ClassTarget, loss: Float64Array): number {
  const C = lanes.length;
  const eps = target.smoothing;
  const w = target.weight;
  let denominator = 0;
  if (target.kind === "labels") {
    const { labels: y, ignoreIndex } = target;
    eachPosition(lanes, (i, start, step) => {
      const k = y[i]!;
      if (k === ignoreIndex) {
        loss[i] = 0;
        return;
      }
      const wy = w ? w[k]! : 1;
      denominator += wy;
      let l = eps < 1 ? (1 - eps) * wy * -lp[start + k * step]! : 0;
      if (eps > 0) {
        let smooth = 0;
        for (let c = 0; c < C; c++) smooth += (w ? w[c]! : 1) * -lp[start + c * step]!;
        l += (eps / C) * smooth;
      }
      loss[i] = l;
    });
    return denominator;
  }
  const t = target.probabilities;
  eachPosition(lanes, (i, start, step) => {
    let l = 0;
    for (let c = 0; c < C; c++) {
      const j = start + c * step;
      const q = eps > 0 ? (1 - eps) * t[j]! + eps / C : t[j]!;
      // 0·log 0 = 0: a class without target mass adds nothing, even at lp = −∞.
      if (q !== 0) l -= (w ? w[c]! : 1) * q * lp[j]!;
    }
    loss[i] = l;
  });
  return lanes.outer * lanes.inner;
}

function classLossBackward(
  lp: Storage, lanes: Lanes, target: ClassTarget, scale: LossScale, softmax: boolean, dx: Storage | null, dt: Storage | null,
): void {
  const C = lanes.length;
  const eps = target.smoothing;
  const w = target.weight;
  const G = new Float64Array(C);
  eachPosition(lanes, (i, start, step) => {
    if (target.kind === "labels" && target.labels[i] === target.ignoreIndex) {
      for (let c = 0; c < C; c++) {
        if (dx) dx[start + c * step] = 0;
      }
      return;
    }
    const s = scaleAt(scale, i);
    // G_c = −s·a_c, where lᵢ = −Σ a_c lp_c.
    G.fill(0);
    if (target.kind === "labels") {
      const k = target.labels[i]!;
      if (eps < 1) G[k] = -s * (1 - eps) * (w ? w[k]! : 1);
      if (eps > 0) for (let c = 0; c < C; c++) G[c] = G[c]! - s * (eps / C) * (w ? w[c]! : 1);
    } else {
      const t = target.probabilities;
      for (let c = 0; c < C; c++) {
        const j = start + c * step;
        const q = eps > 0 ? (1 - eps) * t[j]! + eps / C : t[j]!;
        G[c] = -s * (w ? w[c]! : 1) * q;
      }
    }
    if (dx) {
      if (softmax) {
        let gSum = 0;
        for (let c = 0; c < C; c++) gSum += G[c]!;
        for (let c = 0; c < C; c++) {
          const j = start + c * step;
          dx[j] = G[c]! - Math.exp(lp[j]!) * gSum;
        }
      } else {
        for (let c = 0; c < C; c++) dx[start + c * step] = G[c]!;
      }
    }
    if (dt && target.kind === "probabilities") {
      for (let c = 0; c < C; c++) {
        const j = start + c * step;
        dt[j] = -(1 - eps) * s * (w ? w[c]! : 1) * lp[j]!;
      }
    }
  });
}

function classCoefficients(lanes: Lanes, target: ClassTarget, a: Storage, counted: Int32Array): void {
  const C = lanes.length;
  const eps = target.smoothing;
  const w = target.weight;
  eachPosition(lanes, (i, start, step) => {
    if (target.kind === "labels") {
      const k = target.labels[i]!;
      const ignored = k === target.ignoreIndex;
      counted[i] = ignored ? 0 : 1;
      for (let c = 0; c < C; c++) {
        let v = 0;
        if (!ignored) {
          if (eps > 0) v = (eps / C) * (w ? w[c]! : 1);
          if (c === k && eps < 1) v += (1 - eps) * (w ? w[k]! : 1);
        }
        a[start + c * step] = v;
      }
    } else {
      counted[i] = 1;
      const t = target.probabilities;
      for (let c = 0; c < C; c++) {
        const j = start + c * step;
        a[j] = (w ? w[c]! : 1) * (eps > 0 ? (1 - eps) * t[j]! + eps / C : t[j]!);
      }
    }
  });
}

function badLabel(labels: Int32Array, classes: number, ignoreIndex: number | null): number {
  for (let i = 0; i < labels.length; i++) {
    const k = labels[i]!;
    if ((k < 0 || k >= classes) && k !== ignoreIndex) return i;
  }
  return -1;
}

function klDiv(x: Storage, t: Storage, logTarget: boolean, l: Storage | null): number {
  let total = 0;
  for (let i = 0; i < x.length; i++) {
    const ti = t[i]!;
    let v: number;
    if (logTarget) v = ti === -Infinity ? 0 : Math.exp(ti) * (ti - x[i]!);
    else v = ti === 0 ? 0 : ti * (Math.log(ti) - x[i]!);
    if (l) l[i] = v;
    total += v;
  }
  return total;
}

function klDivBackward(x: Storage, t: Storage, logTarget: boolean, scale: LossScale, dx: Storage | null, dt: Storage | null): void {
  for (let i = 0; i < x.length; i++) {
    const ti = t[i]!;
    if (logTarget ? ti === -Infinity : ti === 0) {
      // Outside the target's support: exactly 0, whatever x and the upstream are.
      if (dx) dx[i] = 0;
      if (dt) dt[i] = 0;
      continue;
    }
    const s = scaleAt(scale, i);
    if (logTarget) {
      const e = Math.exp(ti);
      if (dx) dx[i] = -e * s;
      if (dt) dt[i] = e * (ti - x[i]! + 1) * s;
    } else {
      if (dx) dx[i] = -ti * s;
      if (dt) dt[i] = (Math.log(ti) + 1 - x[i]!) * s;
    }
  }
}

function squaredError(x: Storage, t: Storage, l: Storage | null): number {
  let total = 0;
  for (let i = 0; i < x.length; i++) {
    const d = x[i]! - t[i]!;
    if (l) l[i] = d * d;
    total += d * d;
  }
  return total;
}

function squaredErrorBackward(x: Storage, t: Storage, scale: LossScale, dx: Storage | null, dt: Storage | null): void {
  for (let i = 0; i < x.length; i++) {
    const v = 2 * (x[i]! - t[i]!) * scaleAt(scale, i);
    if (dx) dx[i] = v;
    // −v of the stored value, as dx.neg() would give.
    if (dt) dt[i] = dx ? -dx[i]! : -v;
  }
}

function logitMatching(s: Storage, t: Storage, B: number, C: number, centred: Float64Array, rowScale: Float64Array): number {
  let total = 0;
  for (let r = 0; r < B; r++) {
    const o = r * C;
    let big = 0;
    for (let i = 0; i < C; i++) big = Math.max(big, Math.abs(s[o + i]!), Math.abs(t[o + i]!));
    if (!Number.isFinite(big)) {
      // NaN or ±∞ in the row (Math.max propagates NaN): no centred difference.
      for (let i = 0; i < C; i++) centred[o + i] = NaN;
      rowScale[r] = 1;
      total = NaN;
      continue;
    }
    const k = big > 2 ** 1000 ? 2 ** -600 : 1;
    rowScale[r] = k;
    let mean = 0;
    for (let i = 0; i < C; i++) mean += k * s[o + i]! - k * t[o + i]!;
    mean /= C;
    let rowTotal = 0;
    for (let i = 0; i < C; i++) {
      const d = k * s[o + i]! - k * t[o + i]! - mean;
      centred[o + i] = d;
      rowTotal += d * d;
    }
    total += rowTotal / k / k;
  }
  return total;
}

function logitMatchingBackward(centred: Float64Array, rowScale: Float64Array, C: number, factor: number, ds: Storage | null, dt: Storage | null): void {
  for (let r = 0; r < rowScale.length; r++) {
    const k = rowScale[r]!;
    for (let i = r * C; i < (r + 1) * C; i++) {
      const v = (centred[i]! * factor) / k;
      if (ds) ds[i] = v;
      if (dt) dt[i] = ds ? -ds[i]! : -v;
    }
  }
}

export const losses: LossKernels = {
  distillation, sparseDistillation, topKCheck, classLoss, classLossBackward, classCoefficients, badLabel, klDiv, klDivBackward,
  squaredError, squaredErrorBackward, logitMatching, logitMatchingBackward, dkd, dist, nkd, wsld,
};
