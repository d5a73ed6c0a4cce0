import fc from "fast-check";
import { Generator, Tensor, tensor } from "../src/index.js";
import { broadcastPairs, logits, shapes } from "../src/testing/fast-check.js";
import type { Domain } from "./op-samples.js";

type InputDomain = Domain["inputs"][number];

/** A shape of rank in [minRank, maxRank] with sizes in [1, maxDim]: the shipped `shapes` (kdgrad/testing/fast-check). */
export function shapeArb(minRank = 0, maxRank = 3, maxDim = 4): fc.Arbitrary<number[]> {
  return shapes({ minRank, maxRank, maxDim });
}

/**
 * Two shapes that broadcast together: the shipped `broadcastPairs`, both cut from one full
 * shape by dropping leading axes and setting axes to 1, each side on its own.
 */
export function broadcastPairArb(minRank = 0, maxRank = 3, maxDim = 4): fc.Arbitrary<[number[], number[]]> {
  return broadcastPairs({ minRank, maxRank, maxDim });
}

/** Values for a domain: uniform in its range, pushed ≥ 1e-2 away from its kinks. */
export function drawValues(rng: Generator, n: number, d: InputDomain = {}): number[] {
  const [lo, hi] = d.range ?? [-2, 2];
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    let v = lo + (hi - lo) * rng.uniform();
    for (const k of d.awayFrom ?? []) if (Math.abs(v - k) < 1e-2) v = k + (v < k ? -2e-2 : 2e-2);
    out.push(v);
  }
  return out;
}

/** How a leaf is presented to the op: as it is, transposed, or as a strided slice. */
export type Layout = "plain" | "transposed" | "strided";

/**
 * A float64 leaf that requires grad, plus a function turning it into a
 * tensor of `shape` laid out as `layout` (a non-contiguous view for
 * "transposed" and "strided"). gradcheck perturbs the leaf.
 */
export function viewed(rng: Generator, shape: readonly number[], d: InputDomain, layout: Layout): { leaf: Tensor; view: (t: Tensor) => Tensor } {
  const n = shape.length;
  if (layout === "transposed" && n >= 2) {
    const base = [...shape];
    [base[n - 2], base[n - 1]] = [base[n - 1]!, base[n - 2]!];
    const leaf = make(rng, base, d);
    return { leaf, view: (t) => t.transpose(-2, -1) };
  }
  if (layout === "strided" && n >= 1) {
    const base = [...shape];
    base[n - 1] = 2 * base[n - 1]!;
    const leaf = make(rng, base, d);
    return { leaf, view: (t) => t.slice(-1, 0, undefined, 2) };
  }
  return { leaf: make(rng, shape, d), view: (t) => t };
}

function make(rng: Generator, shape: readonly number[], d: InputDomain): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return tensor(Float64Array.from(drawValues(rng, size, d)), { shape, requiresGrad: true });
}

/**
 * Rows of logits with the given spread, for loss properties: the shipped `logits`, whose
 * values fast-check draws (one in four exactly 0 or ±maxAbs) and shrinks.
 */
export function logitRows(options: { maxAbs?: number; minRows?: number; maxRows?: number; minClasses?: number; maxClasses?: number } = {}): fc.Arbitrary<Tensor> {
  return logits({ maxRows: 5, ...options });
}

