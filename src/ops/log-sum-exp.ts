import { defineOp } from "./define-op.js";
import { Tensor } from "../tensor/tensor.js";
import { requireFloat } from "../tensor/dtype.js";
import { ValueError } from "../tensor/errors.js";
import { expandBack, reductionLanes, reduceWith } from "./reduction.js";
import { binary } from "./elementwise.js";

/**
 * logSumExp(x, dim, keepDim = false) = log Σₖ exp(xₖ) over `dim` (required,
 * a number or a list), like torch.logsumexp.
 *
 * Forward. With m = x_j a maximal element of the lane and R = Σ_{k ≠ j} exp(xₖ − m),
 * y = m + L with L = log Σₖ exp(xₖ − m) = log1p(R). Every exponent is ≤ 0 (no
 * overflow) and the sum is ≥ 1 (no log 0), so logits at ±1e4 are fine. The
 * addition m + L is the last operation, so its rounding is just the rounding of
 * the result (at m = 1e16, y = 1e16 is the nearest double to 1e16 + ln 2); log1p
 * keeps L's digits when R is below 2⁻⁵³ (y = m + R then still rounds correctly).
 * If m = ±∞ the shift is taken as 0 instead (∞ − ∞ would be NaN): an all −∞
 * lane gives −∞, a lane holding +∞ gives +∞, as in PyTorch.
 *
 * Backward. ∂y/∂xₖ = exp(xₖ)/Σⱼ exp(xⱼ) = softmax(x)ₖ, so dx = g ⊙ p. We do not
 * form p as exp(x − y): y is rounded to ulp(m) (and to float32 for float32 input),
 * and at x = [1e16, 1e16] exp(x − y) = [1, 1] where p = [½, ½]. We save m and L per
 * lane, in float64, and take p = exp((x − m) − L), the split of log-softmax
 * (src/kernels/softmax.ts), which is accurate to a few ulps however large m is.
 * Check: the gradient sums to g along each lane (adding c to every xₖ adds c to y).
 */
export const logSumExp = defineOp({
  name: "logSumExp",
  forward(ctx, x: Tensor, dim: number | readonly number[], keepDim: boolean = false): Tensor {
    const dtype = requireFloat(x.dtype, "logSumExp", "input");
    if (dim === undefined) throw new ValueError("logSumExp: dim is required (a number or a list of axes)");
    const lanes = reductionLanes(x, dim, keepDim, "logSumExp");
    const shift = Tensor.empty(lanes.keptShape, "float64");
    const logS = Tensor.empty(lanes.keptShape, "float64");
    const ms = shift.data;
    const ls = logS.data;
    let lane = 0;
    const y = reduceWith(lanes, dtype, (d, start, stride, n) => {
      let m = -Infinity;
      let j = start;
      for (let k = 0, p = start; k < n; k++, p += stride) {
        if (d[p]! > m || d[p] !== d[p]) {
          m = d[p]!;
          j = p;
        }
      }
      let L: number;
      if (m === Infinity || m === -Infinity) {
        m = 0;
        let s = 0;
        for (let k = 0, p = start; k < n; k++, p += stride) s += Math.exp(d[p]!);
        L = Math.log(s);
      } else {
        let r = 0;
        for (let k = 0, p = start; k < n; k++, p += stride) if (p !== j) r += Math.exp(d[p]! - m);
        L = Math.log1p(r);
      }
      ms[lane] = m;
      ls[lane] = L;
      lane++;
      return m + L;
    });
    ctx.save({ x, shift, logS, keptShape: lanes.keptShape });
    return y;
  },
  backward(ctx, g) {
    const { x, shift, logS, keptShape } = ctx.saved as { x: Tensor; shift: Tensor; logS: Tensor; keptShape: number[] };
    const d = binary("logSumExp", x, expandBack(shift, keptShape, x.shape), (u, v) => u - v);
    const p = binary("logSumExp", d, expandBack(logS, keptShape, x.shape), (u, v) => Math.exp(u - v));
    return [binary("logSumExp", p, expandBack(g, keptShape, x.shape), (u, v) => u * v)];
  },
  domain: { inputs: [{ range: [-20, 20] }], kind: "reduce-required" },
});
