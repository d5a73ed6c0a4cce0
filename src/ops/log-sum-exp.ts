import { defineOp } from "./define-op.js";
import type { Tensor } from "../tensor/tensor.js";
import { requireFloat } from "../tensor/dtype.js";
import { ValueError } from "../tensor/errors.js";
import { expandBack, reductionLanes, reduceWith } from "./reduction.js";
import { binary } from "./elementwise.js";

/**
 * logSumExp(x, dim, keepDim = false) = log Σₖ exp(xₖ) over `dim` (required,
 * a number or a list), like torch.logsumexp.
 *
 * Forward. With m = maxₖ xₖ: m + log Σₖ exp(xₖ − m). Every exponent is ≤ 0
 * (no overflow) and the sum is ≥ 1 (no log 0), so logits at ±1e4 are fine.
 * If m = ±∞ the shift is taken as 0 instead (∞ − ∞ would be NaN): an all
 * −∞ lane gives −∞, a lane holding +∞ gives +∞, as in PyTorch.
 *
 * Backward. ∂y/∂xₖ = exp(xₖ)/Σⱼ exp(xⱼ) = exp(xₖ − y) = softmax(x)ₖ, so
 * dx = g ⊙ exp(x − y). We save x and y. Check: the gradient sums to g along
 * each lane (adding c to every xₖ adds c to y).
 */
export const logSumExp = defineOp({
  name: "logSumExp",
  forward(ctx, x: Tensor, dim: number | readonly number[], keepDim: boolean = false): Tensor {
    const dtype = requireFloat(x.dtype, "logSumExp", "input");
    if (dim === undefined) throw new ValueError("logSumExp: dim is required (a number or a list of axes)");
    const lanes = reductionLanes(x, dim, keepDim, "logSumExp");
    const y = reduceWith(lanes, dtype, (d, start, stride, n) => {
      let m = -Infinity;
      for (let k = 0, p = start; k < n; k++, p += stride) if (d[p]! > m || d[p] !== d[p]) m = d[p]!;
      if (m === Infinity || m === -Infinity) m = 0;
      let s = 0;
      for (let k = 0, p = start; k < n; k++, p += stride) s += Math.exp(d[p]! - m);
      return m + Math.log(s);
    });
    ctx.save({ x, y, keptShape: lanes.keptShape });
    return y;
  },
  backward(ctx, g) {
    const { x, y, keptShape } = ctx.saved as { x: Tensor; y: Tensor; keptShape: number[] };
    const p = binary("logSumExp", x, expandBack(y, keptShape, x.shape), (u, v) => Math.exp(u - v));
    return [binary("logSumExp", p, expandBack(g, keptShape, x.shape), (u, v) => u * v)];
  },
  domain: { inputs: [{ range: [-20, 20] }], kind: "reduce-required" },
});

