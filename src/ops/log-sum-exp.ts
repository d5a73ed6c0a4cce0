import { defineOp } from "./define-op.js";
import { Tensor, checkFloatTensor } from "../tensor/tensor.js";
import { ValueError } from "../tensor/errors.js";
import { expandBack, reductionLanes } from "./reduction.js";
import { kernel } from "../kernels/registry.js";
import { exp } from "./exp.js";
import { mul } from "./mul.js";
import { sub } from "./sub.js";
import { abs } from "./abs.js";
import { where } from "./where.js";
import { compare } from "./elementwise.js";

/**
 * logSumExp(x, dim, keepDim = false) = log Σₖ exp(xₖ) over `dim` (required,
 * a number or a list), like torch.logsumexp.
 *
 * Forward. With m = x_j a maximal element of the lane and S = Σₖ exp(xₖ − m),
 * o = m + log S with log S = log1p(S − 1), S − 1 = Σ_{k ≠ j} exp(xₖ − m) summed apart. Every
 * exponent is ≤ 0 (no overflow) and the sum is ≥ 1 (no log 0), so logits at ±1e4 are fine. The
 * addition m + log S is the last operation, so its rounding is just the rounding of
 * the result (at m = 1e16, o = 1e16 is the nearest double to 1e16 + ln 2); log1p
 * keeps log S's digits when S − 1 is below 2⁻⁵³ (o = m + (S − 1) then still rounds correctly).
 * If m = ±∞ the shift is taken as 0 instead (∞ − ∞ would be NaN): an all −∞
 * lane gives −∞, a lane holding +∞ gives +∞, as in PyTorch.
 *
 * Backward. ∂o/∂xₖ = exp(xₖ)/Σⱼ exp(xⱼ) = softmax(x)ₖ = rₖ, so dx = g ⊙ r. We do not
 * form r as exp(x − o): o is rounded to ulp(m) (and to float32 for float32 input),
 * and at x = [1e16, 1e16] exp(x − o) = [1, 1] where r = [½, ½]. We save m and log S per
 * lane, in float64, and take r = exp((x − m) − log S), the split of log-softmax
 * (src/kernels/js/softmax-rows.ts), which is accurate to a few ulps however large m is.
 * Check: the gradient sums to g along each lane (adding c to every xₖ adds c to o).
 *
 * Second order. m and log S are constants, so exp((x − m) − log S) alone would have
 * the derivative r instead of r(δ − r). We subtract (o − sg(o)), sg(o) = o detached:
 * its value is exactly 0 (the same number twice), so r keeps its accurate
 * value, and its derivative is ∂o/∂x = r, which restores ∂r/∂x = diag(r) − rrᵀ
 * (the Hessian of logSumExp: docs/autograd.md). Only where o is finite: at
 * o = ±∞, o − sg(o) = ∞ − ∞ = NaN would spoil the whole lane, so 0 is selected
 * there (such a lane has no second derivative to restore; its gradient stays
 * NaN at a +∞ entry and 0 elsewhere, docs/non-finite.md).
 */
export const logSumExp = defineOp({
  name: "logSumExp",
  forward(ctx, x: Tensor, dim: number | readonly number[], keepDim: boolean = false): Tensor {
    const dtype = checkFloatTensor(x, "logSumExp", "input").dtype;
    if (dim === undefined) throw new ValueError("logSumExp: dim is required (a number or a list of axes)");
    const lanes = reductionLanes(x, dim, keepDim, "logSumExp");
    const shift = Tensor.empty(lanes.keptShape, "float64");
    const logS = Tensor.empty(lanes.keptShape, "float64");
    kernel("logSumExp", dtype, x.size)(lanes.data, lanes, shift.data as Float64Array, logS.data as Float64Array);
    const o = Tensor.empty(lanes.outShape, dtype);
    // o = m + L, added in float64 and rounded once to o's dtype (the binary kernel stores into o).
    const flat = (t: Tensor) => ({ data: t.data, offset: 0, strides: [1] });
    kernel("binary", "float64", o.size)("add", flat(shift), flat(logS), [o.size], o.data);
    ctx.save({ x, o, shift, logS, keptShape: lanes.keptShape });
    return o;
  },
  backward(ctx, g) {
    const { x, o, shift, logS, keptShape } = ctx.saved as { x: Tensor; o: Tensor; shift: Tensor; logS: Tensor; keptShape: number[] };
    const back = (t: Tensor): Tensor => expandBack(t, keptShape, x.shape);
    const zero = where(compare("logSumExp", "lt", abs(o), Infinity), sub(o, o.detach()), 0);
    const p = exp(sub(sub(sub(x, back(shift)), back(logS)), back(zero)));
    return [mul(p, back(g))];
  },
});
