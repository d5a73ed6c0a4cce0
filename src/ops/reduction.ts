import { Tensor } from "../tensor/tensor.js";
import { describeValue, laneGeometry, normalizeAxes } from "../tensor/shape.js";
import { ValueError } from "../tensor/errors.js";
import type { Storage } from "../tensor/dtype.js";
import { permute } from "./permute.js";

/**
 * Shared plumbing of the reductions (not an op): a reduction over `axes`
 * is a reduction along lanes. The input is seen as `outer × length × inner`
 * (contiguous); lane (o, i) holds the elements o·length·inner + k·inner + i,
 * k < length, and its result goes to output element o·inner + i. Several
 * axes are first moved to the end (kept axes keep their order), so they
 * form one lane of length Π sizes.
 */
export interface Lanes {
  data: Storage;
  outer: number;
  length: number;
  inner: number;
  /** Shape of the result with keepDim (reduced axes of size 1). */
  keptShape: number[];
  /** Shape of the result as returned. */
  outShape: number[];
  /** The permutation applied to x to bring the reduced axes last (null: none). */
  perm: number[] | null;
}

export function reductionLanes(
  x: Tensor, dim: number | readonly number[] | undefined, keepDim: boolean, fn: string,
): Lanes {
  if (typeof keepDim !== "boolean") throw new ValueError(`${fn}: keepDim must be true or false, got ${describeValue(keepDim)}`);
  const axes = normalizeAxes(dim, x.ndim, fn);
  const keptShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const outShape = keepDim ? keptShape : x.shape.filter((_, i) => !axes.includes(i));
  if (axes.length === 1) {
    const c = x.contiguous();
    return { data: c.data, ...laneGeometry(c.shape, axes[0]!), keptShape, outShape, perm: null };
  }
  const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const perm = [...kept, ...axes];
  const moved = permute(x, perm).contiguous();
  let length = 1;
  for (const a of axes) length *= x.shape[a]!;
  let outer = 1;
  for (const k of kept) outer *= x.shape[k]!;
  return { data: moved.data, outer, length, inner: 1, keptShape, outShape, perm };
}

/** Undo a reduction's shape for backward: g viewed with kept axes, expanded to `shape`. */
export function expandBack(g: Tensor, keptShape: readonly number[], shape: readonly number[]): Tensor {
  return g.reshape(keptShape).expand(shape);
}

/**
 * Data laid out as `reductionLanes` made it (one value per input element)
 * back in x's own axis order.
 */
export function unlane(t: Tensor, lanes: Lanes, shape: readonly number[]): Tensor {
  if (lanes.perm === null) return t.reshape(shape);
  const perm = lanes.perm;
  const inverse = perm.map((_, i) => perm.indexOf(i));
  return t.reshape(perm.map((a) => shape[a]!)).permute(inverse);
}

/** A new tensor of `shape` holding the per-lane results computed by `f(start, stride, length)`. */
export function reduceWith(
  lanes: Lanes, dtype: "float32" | "float64" | "int32",
  f: (data: Storage, start: number, stride: number, length: number) => number,
): Tensor {
  const { data, outer, length, inner, outShape } = lanes;
  const y = Tensor.empty(outShape, dtype);
  const ys = y.data;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) ys[o * inner + i] = f(data, o * length * inner + i, inner, length);
  }
  return y;
}
