import type { Storage } from "../../tensor/dtype.js";
import type { BinaryOp, ElementwiseKernels, UnaryOp, View } from "../table.js";
import { arithmetic, mapBinary, walk3 } from "./strided.js";
import { normalCdf, normalPdf } from "./erf.js";

/**
 * The element-wise kernels in TypeScript: one loop per operation (a switch
 * outside the loop, no call per element) for the common cases; a function
 * per element only for the rare layouts and operations.
 */

/** C's pow: 1ᵉ = 1 for every e (NaN and ±∞ too) and (−1)^±∞ = 1, where JavaScript's ** gives NaN. */
export function cpow(x: number, e: number): number {
  if (x === 1 || (x === -1 && (e === Infinity || e === -Infinity))) return 1;
  return x ** e;
}

/** σ(z) = 1/(1 + e^{−z}) without overflow for either sign of z. */
export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

const BINARY: Record<BinaryOp, (u: number, v: number) => number> = {
  add: (u, v) => u + v,
  sub: (u, v) => u - v,
  mul: (u, v) => u * v,
  div: (u, v) => u / v,
  pow: cpow,
  // NaN propagates from either side: u > v is false for a NaN v, which is then returned.
  maximum: (u, v) => (u > v || u !== u ? u : v),
  minimum: (u, v) => (u < v || u !== u ? u : v),
  gt: (u, v) => (u > v ? 1 : 0),
  ge: (u, v) => (u >= v ? 1 : 0),
  lt: (u, v) => (u < v ? 1 : 0),
  le: (u, v) => (u <= v ? 1 : 0),
  eq: (u, v) => (u === v ? 1 : 0),
  ne: (u, v) => (u !== v ? 1 : 0),
};

function unaryLoop(op: UnaryOp, x: Storage, y: Storage): void {
  const n = y.length;
  switch (op) {
    case "neg": for (let i = 0; i < n; i++) y[i] = -x[i]!; return;
    case "exp": for (let i = 0; i < n; i++) y[i] = Math.exp(x[i]!); return;
    case "log": for (let i = 0; i < n; i++) y[i] = Math.log(x[i]!); return;
    case "log1p": for (let i = 0; i < n; i++) y[i] = Math.log1p(x[i]!); return;
    case "sqrt": for (let i = 0; i < n; i++) y[i] = Math.sqrt(x[i]!); return;
    case "abs": for (let i = 0; i < n; i++) y[i] = Math.abs(x[i]!); return;
    case "sign": for (let i = 0; i < n; i++) { const v = x[i]!; y[i] = v > 0 ? 1 : v < 0 ? -1 : v; } return;
    case "tanh": for (let i = 0; i < n; i++) y[i] = Math.tanh(x[i]!); return;
    case "sigmoid": for (let i = 0; i < n; i++) y[i] = sigmoid(x[i]!); return;
  }
}

const SQRT_2_OVER_PI = 0.7978845608028654;
const KAPPA = 0.044715;

export const elementwise: ElementwiseKernels = {
  unary: unaryLoop,

  affine(x: Storage, scale: number, shift: number, y: Storage): void {
    for (let i = 0; i < y.length; i++) y[i] = shift + scale * x[i]!;
  },

  binary(op: BinaryOp, a: View, b: View, shape: readonly number[], y: Storage): void {
    if ((op === "add" || op === "sub" || op === "mul" || op === "div")
      && arithmetic(op, a.data, a.offset, a.strides, b.data, b.offset, b.strides, shape, y)) return;
    mapBinary(a.data, a.offset, a.strides, b.data, b.offset, b.strides, shape, y, BINARY[op]);
  },

  select(c: View, a: View, b: View, shape: readonly number[], y: Storage): void {
    walk3(c, a, b, shape, (i, pc, pa, pb) => {
      y[i] = c.data[pc] !== 0 ? a.data[pa]! : b.data[pb]!;
    });
  },

  relu(x: Storage, y: Storage): void {
    // (v + |v|)/2 is v for v > 0 and +0 for −∞ < v ≤ 0 (−0 too), with no data-dependent
    // branch (which mispredicts on half of random inputs). It is not finite in three rare
    // cases, which the second test (taken almost never, so predicted) sorts out: NaN
    // (stays NaN), −∞ (∞ − ∞: gives 0), and v > 8.99e307, where v + |v| overflows to ∞
    // (gives v; float32 values are added in float64 and never get there). Dividing by 2
    // first would avoid the overflow but round away the last bit of a subnormal v.
    for (let i = 0; i < y.length; i++) {
      const v = x[i]!;
      const r = (v + Math.abs(v)) * 0.5;
      y[i] = r - r === 0 ? r : v > 0 || v !== v ? v : 0;
    }
  },

  reluBackward(y: Storage, g: Storage, dx: Storage): void {
    if (dx instanceof Float32Array && g instanceof Float32Array) {
      // float32: the bits of g masked by −[y > 0] (all ones or zero), so no branch
      // (a data-dependent one mispredicts on half of random inputs) and an
      // infinite or NaN g still gives exactly 0 where y ≤ 0.
      const gb = new Int32Array(g.buffer, g.byteOffset, g.length);
      const db = new Int32Array(dx.buffer, dx.byteOffset, dx.length);
      for (let i = 0; i < db.length; i++) db[i] = gb[i]! & -(y[i]! > 0);
    } else {
      for (let i = 0; i < dx.length; i++) dx[i] = y[i]! > 0 ? g[i]! : 0;
    }
  },

  gelu(approximate, x, y, cdf): void {
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      const p = approximate === "none" ? normalCdf(v) : sigmoid(2 * SQRT_2_OVER_PI * (v + KAPPA * v * v * v));
      cdf[i] = p;
      y[i] = v * p;
    }
  },

  geluBackward(approximate, x, cdf, g, dx): void {
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      const p = cdf[i]!;
      let slope: number;
      if (approximate === "none") {
        slope = p + v * normalPdf(v);
      } else {
        const du = SQRT_2_OVER_PI * (1 + 3 * KAPPA * v * v);
        const q = sigmoid(-2 * SQRT_2_OVER_PI * (v + KAPPA * v * v * v));
        const pq = p * q;
        slope = pq === 0 && v - v === 0 ? p : p + v * pq * 2 * du;
      }
      dx[i] = g[i]! * slope;
    }
  },
};
