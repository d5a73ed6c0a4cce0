import { defineOp } from "../ops/define-op.js";
import { checkOptions } from "../tensor/options.js";
import { Tensor, checkTensor } from "../tensor/tensor.js";
import { requireFloat, type FloatDType, type Storage } from "../tensor/dtype.js";
import { kernel } from "../kernels/registry.js";
import type { ClassTarget } from "../kernels/table.js";
import { contiguousData } from "../ops/elementwise.js";
import { div } from "../ops/div.js";
import { mul } from "../ops/mul.js";
import { neg } from "../ops/neg.js";
import { reshape } from "../ops/reshape.js";
import { where } from "../ops/where.js";
import { checkInteger, checkLabels, checkReduction, checkWeight, type Reduction } from "./checks.js";
import { classConstants, classLayout, reduceLoss, type ClassLayout } from "./class-layout.js";
import { fusedWithGraph } from "./fused-with-graph.js";

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
 * over non-ignored positions (NaN if all are ignored). The loops are the
 * classLoss kernels with the input as the class scores and no smoothing.
 *
 * Backward. lᵢ is linear in input[i, yᵢ] with slope −w[yᵢ], so
 *   d input[i, c] = −w[yᵢ]·sᵢ·[c = yᵢ],
 * sᵢ the upstream times the reduction scale; ignored positions get 0.
 * Check: ⟨d input, v⟩ = −Σᵢ sᵢ·w[yᵢ]·v[i, yᵢ], the loss's change along v.
 *
 * Second order. The gradient does not depend on the input (the loss is linear
 * in it), so ∂²/∂input² = 0; it is linear in the upstream g, with
 * ∂(d input)/∂g = −a/denominator ('mean'), a = w[yᵢ]·onehot(yᵢ) the constant
 * coefficients (kernel classCoefficients). With createGraph the rule returns the
 * kernel's values carrying the graph of −a ⊙ s, s = g (÷ denominator) selected
 * to 0 at ignored positions (so an upstream of NaN or ∞ there, or 'mean' over
 * no position, gives 0 and not 0·∞).
 */
export const nllLoss = defineOp({
  name: "nllLoss",
  forward(ctx, input: Tensor, target: Tensor, opts?: NllLossOptions): Tensor {
    const fn = "nllLoss";
    checkTensor(input, fn, "input");
    checkTensor(target, fn, "target");
    const options = checkOptions(opts, fn, ["reduction", "ignoreIndex", "weight"]);
    const layout = classLayout(input, fn);
    const reduction = checkReduction(options.reduction ?? "mean", ["mean", "sum", "none"] as const, fn);
    const ignoreIndex = checkInteger(options.ignoreIndex ?? -100, fn, "ignoreIndex");
    const weight = checkWeight(options.weight, layout.C, fn);
    const labels = checkLabels(target, layout.rowShape, layout.C, fn, "target", ignoreIndex);
    const dtype = requireFloat(input.dtype, fn, "input");
    const x = contiguousData(input);
    const classes: ClassTarget = { kind: "labels", labels, ignoreIndex, weight, smoothing: 0 };
    const loss = new Float64Array(layout.positions);
    const denominator = kernel("classLoss", dtype, input.size)(x, layout.lanes, classes, loss);
    ctx.save({ x, layout, classes, reduction, denominator, shape: input.shape });
    return reduceLoss(loss, reduction, denominator, layout.rowShape, dtype);
  },
  backward(ctx, g) {
    const { x, layout, classes, reduction, denominator, shape } = ctx.saved as {
      x: Storage; layout: ClassLayout; classes: ClassTarget; reduction: Reduction; denominator: number; shape: number[];
    };
    const dx = Tensor.empty(shape, g.dtype);
    const scale = { g: contiguousData(g), each: reduction === "none", divisor: reduction === "mean" ? denominator : 1 };
    kernel("classLossBackward", g.dtype, dx.size)(x, layout.lanes, classes, scale, false, dx.data, null);
    if (!ctx.createGraph) return [ctx.handOver(dx), null, null];
    const { a, counted } = classConstants(layout, classes, shape, g.dtype as FloatDType);
    const s = reduction === "none" ? reshape(g, layout.keptShape) : reduction === "mean" ? div(g, denominator) : g;
    return [fusedWithGraph("nllLoss", dx, neg(mul(a, where(counted, s, 0)))), null, null];
  },
});
