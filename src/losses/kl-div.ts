import { defineOp } from "../ops/define-op.js";
import { Tensor } from "../tensor/tensor.js";
import { promoteTypes, requireFloat } from "../tensor/dtype.js";
import { broadcastTarget, checkReduction, type KlReduction } from "./options.js";

export interface KlDivOptions {
  /** 'batchmean' (default: the true KL per example), 'sum', 'mean' (divides by every element) or 'none'. */
  reduction?: KlReduction;
  /** The target is given as log-probabilities. Default false. */
  logTarget?: boolean;
}

/**
 * klDiv(input, target, options): the pointwise KL term between a target
 * distribution t and log-probabilities x = `input`, as torch's kl_div:
 *   logTarget = false:  l = t·(log t − x)        (0·log 0 = 0)
 *   logTarget = true:   l = eᵗ·(t − x)
 * Summed over the classes, Σ l = KL(t ‖ exp x) when both are normalised.
 * Nothing is softmaxed or normalised here. As in PyTorch, `target` may be
 * broadcast to the input's shape (a [1, C] target for every row); any other
 * mismatch is a ShapeError. A broadcast target's gradient is summed back to
 * its own shape by autograd.
 *
 * Reductions. 'batchmean' divides Σ l by input.shape[0] (the batch), which
 * is the KL per example. This is kdgrad's default. PyTorch's default 'mean'
 * divides by every element (batch × classes), which silently shrinks the
 * loss by a factor C: the most common distillation bug. 'mean' here keeps
 * PyTorch's meaning, it is not reinterpreted.
 *
 * Backward (times sᵢ, the upstream times the reduction scale):
 *   logTarget = false:  dx = −t,      dt = log t + 1 − x
 *   logTarget = true:   dx = −eᵗ,     dt = eᵗ·(t − x + 1)
 * Check: with t = softmax(z) the chain rule gives dz_j = t_j((log t_j − x_j) − Σ l),
 * the KL gradient derived in docs/distillation.md.
 *
 * Non-finite policy (docs/non-finite.md). An element whose target
 * probability is 0 (t = 0, or t = −∞ with logTarget) is outside the support
 * and contributes exactly 0 to the loss and 0 to both gradients, whatever x
 * is (PyTorch gives NaN for the target gradient there, and NaN loss when
 * x = −∞ too). The one-sided derivative in t is −∞ at t = 0; 0 is what makes
 * every chain through softmax or exp, where ∂t/∂z = 0 at those entries, give
 * the exact finite limit. Target mass on an input at −∞ gives +∞.
 */
export const klDiv = defineOp({
  name: "klDiv",
  forward(ctx, input: Tensor, target: Tensor, options: KlDivOptions = {}): Tensor {
    const fn = "klDiv";
    requireFloat(input.dtype, fn, "input");
    requireFloat(target.dtype, fn, "target");
    target = broadcastTarget(input, target, fn);
    const reduction = checkReduction(options.reduction ?? "batchmean", ["batchmean", "sum", "mean", "none"] as const, fn);
    const logTarget = options.logTarget ?? false;
    const dtype = promoteTypes(input.dtype, target.dtype, fn);
    const x = input.contiguous().data;
    const t = target.contiguous().data;
    const l = Tensor.empty(input.shape, dtype);
    let total = 0;
    for (let i = 0; i < x.length; i++) {
      const ti = t[i]!;
      let v: number;
      if (logTarget) v = ti === -Infinity ? 0 : Math.exp(ti) * (ti - x[i]!);
      else v = ti === 0 ? 0 : ti * (Math.log(ti) - x[i]!);
      l.data[i] = v;
      total += v;
    }
    const denominator = reduction === "mean" ? input.size : reduction === "batchmean" && input.ndim > 0 ? input.shape[0]! : 1;
    ctx.save({ x, t, logTarget, reduction, denominator, shape: input.shape });
    if (reduction === "none") return l;
    const out = Tensor.empty([], dtype);
    out.data[0] = total / denominator;
    return out;
  },
  backward(ctx, g) {
    const { x, t, logTarget, reduction, denominator, shape } = ctx.saved as {
      x: Float64Array; t: Float64Array; logTarget: boolean; reduction: KlReduction; denominator: number; shape: number[];
    };
    const gs = g.contiguous().data;
    const dx = ctx.needsInputGrad[0] ? Tensor.empty(shape, g.dtype) : null;
    const dt = ctx.needsInputGrad[1] ? Tensor.empty(shape, g.dtype) : null;
    for (let i = 0; i < x.length; i++) {
      const ti = t[i]!;
      if (logTarget ? ti === -Infinity : ti === 0) continue;
      const s = reduction === "none" ? gs[i]! : gs[0]! / denominator;
      if (logTarget) {
        const e = Math.exp(ti);
        if (dx) dx.data[i] = -e * s;
        if (dt) dt.data[i] = e * (ti - x[i]! + 1) * s;
      } else {
        if (dx) dx.data[i] = -ti * s;
        if (dt) dt.data[i] = (Math.log(ti) + 1 - x[i]!) * s;
      }
    }
    return [dx, dt, null];
  },
});
