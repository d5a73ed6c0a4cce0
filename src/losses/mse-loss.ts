import { defineOp } from "../ops/define-op.js";
import { Tensor } from "../tensor/tensor.js";
import { promoteTypes, requireFloat } from "../tensor/dtype.js";
import { broadcastTarget, checkReduction, type Reduction } from "./options.js";

/**
 * mseLoss(input, target, { reduction = 'mean' }): l = (x − t)² element-wise,
 * then 'mean' (over every element), 'sum' or 'none'. As in PyTorch, the
 * target may be broadcast to the input's shape (PyTorch also warns then);
 * any other mismatch is a ShapeError.
 *
 * Backward. ∂l/∂x = 2(x − t) and ∂l/∂t = −2(x − t), so with s the upstream
 * times the reduction scale: dx = 2(x − t)·s, dt = −dx.
 */
export const mseLoss = defineOp({
  name: "mseLoss",
  forward(ctx, input: Tensor, target: Tensor, options: { reduction?: Reduction } = {}): Tensor {
    const fn = "mseLoss";
    requireFloat(input.dtype, fn, "input");
    requireFloat(target.dtype, fn, "target");
    target = broadcastTarget(input, target, fn);
    const reduction = checkReduction(options.reduction ?? "mean", ["mean", "sum", "none"] as const, fn);
    const dtype = promoteTypes(input.dtype, target.dtype, fn);
    const x = input.contiguous().data;
    const t = target.contiguous().data;
    const diff = new Float64Array(x.length);
    const l = Tensor.empty(input.shape, dtype);
    let total = 0;
    for (let i = 0; i < x.length; i++) {
      diff[i] = x[i]! - t[i]!;
      l.data[i] = diff[i]! * diff[i]!;
      total += diff[i]! * diff[i]!;
    }
    const denominator = reduction === "mean" ? input.size : 1;
    ctx.save({ diff, reduction, denominator, shape: input.shape });
    if (reduction === "none") return l;
    const out = Tensor.empty([], dtype);
    out.data[0] = total / denominator;
    return out;
  },
  backward(ctx, g) {
    const { diff, reduction, denominator, shape } = ctx.saved as { diff: Float64Array; reduction: Reduction; denominator: number; shape: number[] };
    const gs = g.contiguous().data;
    const dx = Tensor.empty(shape, g.dtype);
    for (let i = 0; i < diff.length; i++) dx.data[i] = 2 * diff[i]! * (reduction === "none" ? gs[i]! : gs[0]! / denominator);
    return [ctx.needsInputGrad[0] ? dx : null, ctx.needsInputGrad[1] ? dx.neg() : null, null];
  },
});
