import { Tensor, checkFloatTensor } from "../tensor/tensor.js";
import { ValueError } from "../tensor/errors.js";
import { expandBack, reduceLanes, reductionLanes } from "./reduction.js";
import type { Ctx } from "./define-op.js";
import { compare } from "./elementwise.js";
import { cast } from "./cast.js";
import { div } from "./div.js";
import { maximum } from "./maximum.js";
import { reshape } from "./reshape.js";
import { sum } from "./sum.js";
import { where } from "./where.js";

/**
 * Shared body of max and min (not an op). The extremum of each lane, on the
 * "reduce" kernel; NaN wins over everything (propagates), as in PyTorch.
 *
 * Backward. Where the extremum m of a lane is attained at a single element,
 * ∂m/∂xₖ is 1 there and 0 elsewhere. With ties the derivative does not
 * exist; we split g evenly over the c tied elements (g/c each), as
 * torch.amax does, so the gradient still sums to g along the lane:
 *   dx = where(T, E(g/c), 0),   T = [x = E(m)],   c = Σ_lane T,
 * E the broadcast back to x's shape (expandBack). A lane whose m is NaN has
 * no element equal to it (c = 0) and gets 0, selected; c is taken as 1 there,
 * so no 0/0 appears in the rule or in its derivative.
 * Check: Σ_lane dx = c·(g/c) = g when c ≥ 1.
 *
 * Second order. T and c are comparisons and counts of x, constants of the
 * graph (piecewise constant in x), so dx is linear in g with fixed
 * coefficients: ∂²m/∂x² = 0 wherever the derivative exists, and the
 * backward's own vector-Jacobian product, for a cotangent h of x's shape, is
 * h ↦ Σ_lane T·h / c (where's, div's and expand's rules), the same share
 * taken from h. Check: ⟨where(T, E(g/c), 0), h⟩ = ⟨g, Σ_lane T·h/c⟩.
 */
export function extremumForward(
  ctx: Ctx, fn: "max" | "min", x: Tensor, dim: number | readonly number[] | undefined, keepDim: boolean,
): Tensor {
  const dtype = checkFloatTensor(x, fn, "input").dtype;
  const lanes = reductionLanes(x, dim, keepDim, fn);
  if (lanes.length === 0) throw new ValueError(`${fn}: cannot reduce over an axis of size 0 (shape [${x.shape.join(",")}])`);
  const o = reduceLanes(fn, lanes, dtype, x.size);
  // o only feeds the comparison T, a constant, so the value saved need not be graph-connected.
  ctx.save({ x, o, axes: lanes.axes, keptShape: lanes.keptShape, fn });
  return o;
}

export function extremumBackward(ctx: Ctx, g: Tensor): Tensor {
  const { x, o, axes, keptShape, fn } = ctx.saved as { x: Tensor; o: Tensor; axes: number[]; keptShape: number[]; fn: string };
  const ties = compare(fn, "eq", x, expandBack(o, keptShape, x.shape));
  // A 0-d input has no axis to list (dim = [] is refused); undefined reduces "all" of none.
  // c = 0 only in a NaN lane, where T selects nothing: dividing by 1 there instead keeps
  // g/c finite, so the backward's own derivative (h ↦ Σ T·h/c) is 0 there, not 0/0.
  const c = maximum(sum(cast(ties, g.dtype), axes.length === 0 ? undefined : axes, true), 1);
  return where(ties, expandBack(div(reshape(g, keptShape), c), keptShape, x.shape), 0);
}
