import { Tensor } from "../tensor/tensor.js";
import { describeValue, normalizeAxes } from "../tensor/shape.js";
import { ValueError } from "../tensor/errors.js";
import type { DType, Storage } from "../tensor/dtype.js";
import { kernel } from "../kernels/registry.js";
import type { Lanes, ReduceOp } from "../kernels/table.js";
import { contiguousData } from "./elementwise.js";
import { reshape } from "./reshape.js";
import { expand } from "./expand.js";

/**
 * Shared plumbing of the reductions (not an op): a reduction over `axes`
 * is a reduction along lanes (kernels/table.ts, `Lanes`). The input's
 * elements, contiguous, are seen as `outer × length × inner`; lane (o, i)
 * holds o·length·inner + k·inner + i, k < length, and its result goes to
 * output element o·inner + i.
 *
 * When the reduced axes are adjacent (one axis, all of them, [0, 1] of
 * [B, T, C]) they already form one lane in row-major order: outer is the
 * product of the sizes before them, inner of those after, and nothing moves.
 * Otherwise the kept axes are moved to the front (in their order) and the
 * reduced ones to the back before the copy, so each lane is a contiguous run
 * (inner = 1). Either way a lane lists its elements in the row-major order of
 * the reduced axes, so the two layouts add in the same order.
 */
export interface Reduction extends Lanes {
  /** x's elements laid out as the lanes (contiguous, from 0). */
  readonly data: Storage;
  /** The reduced axes, ascending. */
  readonly axes: number[];
  /** Shape of the result with keepDim (reduced axes of size 1). */
  readonly keptShape: number[];
  /** Shape of the result as returned. */
  readonly outShape: number[];
}

export function reductionLanes(
  x: Tensor, dim: number | readonly number[] | undefined, keepDim: boolean, fn: string,
): Reduction {
  if (typeof keepDim !== "boolean") throw new ValueError(`${fn}: keepDim must be true or false, got ${describeValue(keepDim)}`);
  const axes = normalizeAxes(dim, x.ndim, fn);
  const reduced = x.shape.map((_, i) => axes.includes(i));
  const keptShape = x.shape.map((d, i) => (reduced[i] ? 1 : d));
  const outShape = keepDim ? keptShape : x.shape.filter((_, i) => !reduced[i]);
  const product = (from: number, to: number): number => {
    let p = 1;
    for (let i = from; i < to; i++) p *= x.shape[i]!;
    return p;
  };
  const first = axes[0] ?? 0;
  const last = axes.length === 0 ? -1 : axes[axes.length - 1]!;
  if (last - first + 1 === axes.length) {
    return {
      data: contiguousData(x), outer: product(0, first), length: product(first, last + 1), inner: product(last + 1, x.ndim),
      axes, keptShape, outShape,
    };
  }
  const kept = [...x.shape.keys()].filter((i) => !reduced[i]);
  const perm = kept.concat(axes);
  const moved = x.asStrided(perm.map((a) => x.shape[a]!), perm.map((a) => x.strides[a]!), x.offset);
  const size = (list: number[]): number => list.reduce((p, a) => p * x.shape[a]!, 1);
  return { data: contiguousData(moved), outer: size(kept), length: size(axes), inner: 1, axes, keptShape, outShape };
}

/**
 * o = op over the lanes of a float tensor, on the registry's "reduce" kernel,
 * in shape `lanes.outShape` and the input's dtype.
 */
export function reduceLanes(op: ReduceOp, lanes: Reduction, dtype: DType, work: number): Tensor {
  const o = Tensor.empty(lanes.outShape, dtype);
  kernel("reduce", dtype, work)(op, lanes.data, lanes, o.data);
  return o;
}

/**
 * Undo a reduction's shape for backward: t (one value per lane) viewed with
 * the kept axes of size 1, then broadcast to `shape`. Both steps are view ops
 * (reshape, expand), so this costs no copy and is differentiable: its own
 * vector-Jacobian product sums over the broadcast axes (backward.ts).
 */
export function expandBack(t: Tensor, keptShape: readonly number[], shape: readonly number[]): Tensor {
  return expand(reshape(t, keptShape), shape);
}
