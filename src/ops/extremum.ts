import { Tensor } from "../tensor/tensor.js";
import { requireFloat } from "../tensor/dtype.js";
import { ValueError } from "../tensor/errors.js";
import { reductionLanes, reduceWith, unlane, type Lanes } from "./reduction.js";
import type { Ctx } from "./define-op.js";

/**
 * Shared body of max and min (not an op). `better(a, b)` says a beats b.
 * NaN wins over everything (propagates), as in PyTorch.
 *
 * Backward. Where the extremum m is attained at a single element, ∂m/∂xₖ is
 * 1 there and 0 elsewhere. With ties the derivative does not exist; we split
 * g evenly over the c tied elements (g/c each), as torch.amax does, so the
 * gradient still sums to g along the lane.
 */
export function extremumForward(
  ctx: Ctx, fn: string, x: Tensor, dim: number | readonly number[] | undefined, keepDim: boolean,
  better: (a: number, b: number) => boolean,
): Tensor {
  const dtype = requireFloat(x.dtype, fn, "input");
  const lanes = reductionLanes(x, dim, keepDim, fn);
  if (lanes.length === 0) throw new ValueError(`${fn}: cannot reduce over an axis of size 0 (shape [${x.shape.join(",")}])`);
  const y = reduceWith(lanes, dtype, (d, start, stride, n) => {
    let m = d[start]!;
    for (let k = 1, p = start + stride; k < n; k++, p += stride) {
      const v = d[p]!;
      if (v !== v) return v;
      if (better(v, m)) m = v;
    }
    return m;
  });
  ctx.save({ lanes, y, shape: x.shape });
  return y;
}

export function extremumBackward(ctx: Ctx, g: Tensor): Tensor {
  const { lanes, y, shape } = ctx.saved as { lanes: Lanes; y: Tensor; shape: number[] };
  const { data, outer, length, inner } = lanes;
  const gs = g.contiguous().data;
  const ms = y.data;
  // dx in the lane layout, then moved back to x's layout by the same permutation.
  const dl = Tensor.empty([outer * length * inner], g.dtype);
  const dd = dl.data;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const j = o * inner + i;
      const start = o * length * inner + i;
      let c = 0;
      for (let k = 0, p = start; k < length; k++, p += inner) if (data[p] === ms[j]) c++;
      if (c === 0) continue;
      const share = gs[j]! / c;
      for (let k = 0, p = start; k < length; k++, p += inner) if (data[p] === ms[j]) dd[p] = share;
    }
  }
  return unlane(dl, lanes, shape);
}
