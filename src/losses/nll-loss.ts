import { defineOp } from "../ops/define-op.js";
import { Tensor } from "../tensor/tensor.js";
import { ShapeError } from "../tensor/errors.js";
import { requireFloat } from "../tensor/dtype.js";
import { laneGeometry } from "../tensor/shape.js";
import { checkInteger, checkLabels, checkReduction, checkWeight, type Reduction } from "./options.js";

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
    requireFloat(input.dtype, fn, "input");
    if (input.ndim === 0) throw new ShapeError(`${fn}: input must have a class axis, got shape []`);
    const reduction = checkReduction(options.reduction ?? "mean", ["mean", "sum", "none"] as const, fn);
    const ignoreIndex = checkInteger(options.ignoreIndex ?? -100, fn, "ignoreIndex");
    const axis = input.ndim === 1 ? 0 : 1;
    const C = input.shape[axis]!;
    const { outer, inner } = laneGeometry(input.shape, axis);
    const positions = outer * inner;
    const rowShape = input.shape.filter((_, i) => i !== axis);
    const w = checkWeight(options.weight, C, fn);
    const y = checkLabels(target, rowShape, C, fn, "target", ignoreIndex);
    const x = input.contiguous().data;
    const picked = new Int32Array(positions).fill(-1);
    const loss = Tensor.empty(rowShape, input.dtype);
    let total = 0;
    let denominator = 0;
    for (let i = 0; i < positions; i++) {
      const k = y[i]!;
      if (k === ignoreIndex) continue;
      const wy = w ? w[k]! : 1;
      picked[i] = Math.floor(i / inner) * C * inner + k * inner + (i % inner);
      const l = -wy * x[picked[i]!]!;
      loss.data[i] = l;
      total += l;
      denominator += wy;
    }
    ctx.save({ picked, weights: Float64Array.from(y, (k) => (k === ignoreIndex ? 0 : w ? w[k]! : 1)), reduction, denominator, shape: input.shape });
    if (reduction === "none") return loss;
    const out = Tensor.empty([], input.dtype);
    out.data[0] = reduction === "sum" ? total : total / denominator;
    return out;
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
  domain: { inputs: [{ range: [-5, 0] }], kind: "nllLoss" },
});
