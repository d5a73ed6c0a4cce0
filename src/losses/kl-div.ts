import { defineOp } from "../ops/define-op.js";
import { checkOptions } from "../tensor/options.js";
import { Tensor, checkFloatTensor } from "../tensor/tensor.js";
import { promoteTypes, requireFloat, type Storage } from "../tensor/dtype.js";
import { kernel } from "../kernels/registry.js";
import { compare, contiguousData } from "../ops/elementwise.js";
import { add } from "../ops/add.js";
import { div } from "../ops/div.js";
import { exp } from "../ops/exp.js";
import { log } from "../ops/log.js";
import { mul } from "../ops/mul.js";
import { neg } from "../ops/neg.js";
import { sub } from "../ops/sub.js";
import { where } from "../ops/where.js";
import { broadcastTarget, checkReduction, type KlReduction } from "./checks.js";
import { fusedWithGraph } from "./fused-with-graph.js";

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
 * the KL gradient derived in docs/distillation.md. The loops are the kernels
 * klDiv and klDivBackward.
 *
 * Second order (per element, times s). logTarget = false: l = t·log t − t·x, so
 *   ∂²l/∂x² = 0,   ∂²l/∂x∂t = −1,   ∂²l/∂t² = 1/t;
 * logTarget = true: l = eᵗ(t − x), so
 *   ∂²l/∂x² = 0,   ∂²l/∂x∂t = −eᵗ,  ∂²l/∂t² = eᵗ(t − x + 2).
 * Check: differentiating dt = eᵗ(t − x + 1) once more in t gives eᵗ(t − x + 1) + eᵗ.
 * With createGraph the rule returns the kernel's values carrying the graph of the
 * same formulas written with ops (fusedWithGraph). An element outside the support
 * keeps 0 and gets no derivative: its t and x are replaced (where) by 1 and 0
 * (logTarget: 0 and 0) before log and the products, so no log 0 or ∞ meets the
 * 0 that the selection sends back (0·∞ would be NaN and reach every input).
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
  forward(ctx, input: Tensor, target: Tensor, opts?: KlDivOptions): Tensor {
    const fn = "klDiv";
    checkFloatTensor(input, fn, "input");
    checkFloatTensor(target, fn, "target");
    const options = checkOptions(opts, fn, ["reduction", "logTarget"]);
    requireFloat(input.dtype, fn, "input");
    requireFloat(target.dtype, fn, "target");
    const t = broadcastTarget(input, target, fn);
    const reduction = checkReduction(options.reduction ?? "batchmean", ["batchmean", "sum", "mean", "none"] as const, fn);
    const logTarget = options.logTarget ?? false;
    const dtype = promoteTypes(input.dtype, target.dtype, fn);
    const xs = contiguousData(input);
    const ts = contiguousData(t);
    const l = reduction === "none" ? Tensor.empty(input.shape, dtype) : null;
    const total = kernel("klDiv", dtype, input.size)(xs, ts, logTarget, l ? l.data : null);
    const denominator = reduction === "mean" ? input.size : reduction === "batchmean" && input.ndim > 0 ? input.shape[0]! : 1;
    ctx.save({ input, target, xs, ts, logTarget, reduction, denominator });
    if (l) return l;
    const out = Tensor.empty([], dtype);
    out.data[0] = total / denominator;
    return out;
  },
  backward(ctx, g) {
    const { input, target, xs, ts, logTarget, reduction, denominator } = ctx.saved as {
      input: Tensor; target: Tensor; xs: Storage; ts: Storage; logTarget: boolean; reduction: KlReduction; denominator: number;
    };
    const [wantX, wantT] = ctx.needsInputGrad;
    const dx = wantX ? Tensor.empty(input.shape, g.dtype) : null;
    const dt = wantT ? Tensor.empty(input.shape, g.dtype) : null;
    const scale = { g: contiguousData(g), each: reduction === "none", divisor: denominator };
    kernel("klDivBackward", g.dtype, input.size)(xs, ts, logTarget, scale, dx ? dx.data : null, dt ? dt.data : null);
    if (!ctx.createGraph) return [dx ? ctx.handOver(dx) : null, dt ? ctx.handOver(dt) : null, null];
    const fn = "klDiv";
    const s = reduction === "none" ? g : div(g, denominator);
    // The support (t ≠ 0, or t ≠ −∞) and t, x with safe values outside it.
    const inside = compare(fn, "ne", target, logTarget ? -Infinity : 0);
    const tIn = where(inside, target, logTarget ? 0 : 1);
    const xIn = where(inside, input, 0);
    let formX: Tensor;
    let formT: Tensor;
    if (logTarget) {
      const e = exp(tIn);
      formX = neg(mul(e, s));
      formT = mul(mul(e, add(sub(tIn, xIn), 1)), s);
    } else {
      formX = mul(neg(tIn), s);
      formT = mul(sub(add(log(tIn), 1), xIn), s);
    }
    return [
      dx ? fusedWithGraph(fn, dx, where(inside, formX, 0)) : null,
      dt ? fusedWithGraph(fn, dt, where(inside, formT, 0)) : null,
      null,
    ];
  },
});
