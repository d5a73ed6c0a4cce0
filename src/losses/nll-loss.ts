import { defineOp } from "../ops/define-op.js";
import { Tensor } from "../tensor/tensor.js";
import { requireFloat } from "../tensor/dtype.js";
import { checkInteger, checkLabels, checkReduction, checkWeight, classLayout, reduceLoss, type Reduction } from "./options.js";

export interface NllLossOptions {
  reduction?: Reduction;
  ignoreIndex?: number;
  weight?: Tensor | readonly number[];
}

/**
 * nllLoss(input, target, options): the negative log-likelihood of class
 * indices under log-probabilities `input` ([N, C], [C] or [N, C, d₁, …]),
 * as PyTorch: lᵢ = −w[yᵢ]·input[i, yᵢ], 0 where yᵢ = ignoreIndex. The input
 * is used as given (it need not be normalised). 'mean' divides by Σ w[yᵢ]
 * over non-ignored positions (NaN if all are ignored).
 *
 * Backward. lᵢ is linear in input[i, yᵢ] with slope −w[yᵢ], so
 *   d input[i, c] = −w[yᵢ]·sᵢ·[c = yᵢ],
 * sᵢ the upstream times the reduction scale; ignored positions get 0.
 */
export const nllLoss = defineOp({
  name: "nllLoss",
  forward(ctx, input: Tensor, target: Tensor, options: NllLossOptions = {}): Tensor {
    const fn = "nllLoss";
    const { C, positions, rowShape, at } = classLayout(input, fn);
    const reduction = checkReduction(options.reduction ?? "mean", ["mean", "sum", "none"] as const, fn);
    const ignoreIndex = checkInteger(options.ignoreIndex ?? -100, fn, "ignoreIndex");
    const w = checkWeight(options.weight, C, fn);
    const y = checkLabels(target, rowShape, C, fn, "target", ignoreIndex);
    const x = input.contiguous().data;
    const picked = new Int32Array(positions).fill(-1);
    const loss = new Float64Array(positions);
    let denominator = 0;
    for (let i = 0; i < positions; i++) {
      const k = y[i]!;
      if (k === ignoreIndex) continue;
      const wy = w ? w[k]! : 1;
      picked[i] = at(i, k);
      loss[i] = -wy * x[picked[i]!]!;
      denominator += wy;
    }
    ctx.save({ picked, weights: Float64Array.from(y, (k) => (k === ignoreIndex ? 0 : w ? w[k]! : 1)), reduction, denominator, shape: input.shape });
    return reduceLoss(loss, reduction, denominator, rowShape, requireFloat(input.dtype, fn, "input"));
  },
  backward(ctx, g) {
    const { picked, weights, reduction, denominator, shape } = ctx.saved as {
      picked: Int32Array; weights: Float64Array; reduction: Reduction; denominator: number; shape: number[];
    };
    const gs = g.contiguous().data;
    const dx = Tensor.empty(shape, g.dtype);
    for (let i = 0; i < picked.length; i++) {
      if (picked[i]! < 0) continue;
      const s = reduction === "none" ? gs[i]! : reduction === "sum" ? gs[0]! : gs[0]! / denominator;
      dx.data[picked[i]!] = -weights[i]! * s;
    }
    return [dx, null, null];
  },
});
