import { defineOp } from "../ops/define-op.js";
import { checkOptions } from "../tensor/options.js";
import { Tensor, checkTensor } from "../tensor/tensor.js";
import { DTypeError, ShapeError, ValueError } from "../tensor/errors.js";
import { requireFloat, promoteTypes, type FloatDType } from "../tensor/dtype.js";
import { shapeStr } from "../tensor/shape.js";
import { kernel } from "../kernels/registry.js";
import type { ClassTarget } from "../kernels/table.js";
import { contiguousData } from "../ops/elementwise.js";
import { add } from "../ops/add.js";
import { div } from "../ops/div.js";
import { logSoftmax } from "../ops/log-softmax.js";
import { mul } from "../ops/mul.js";
import { reshape } from "../ops/reshape.js";
import { softmax } from "../ops/softmax.js";
import { sub } from "../ops/sub.js";
import { sum } from "../ops/sum.js";
import { where } from "../ops/where.js";
import { checkInteger, checkLabels, checkReduction, checkWeight, type Reduction } from "./checks.js";
import { classConstants, classLayout, classWeights, reduceLoss, type ClassLayout } from "./class-layout.js";
import { fusedWithGraph } from "./fused-with-graph.js";

/** Options of `crossEntropy`: reduction, class weights, an ignored label, label smoothing. */
export interface CrossEntropyOptions {
  /** 'mean' (default), 'sum' or 'none'. */
  reduction?: Reduction;
  /** ε ∈ [0, 1]: mix the target with the uniform distribution (PyTorch's definition). Default 0. */
  labelSmoothing?: number;
  /** Class-index targets equal to this are skipped (default −100). Index targets only. */
  ignoreIndex?: number;
  /** A weight per class, as a Tensor or an array (a constant: it gets no gradient). */
  weight?: Tensor | readonly number[];
}

/**
 * crossEntropy(input, target, options): the cross-entropy of logits `input`
 * against class indices (int32) or class probabilities (a float tensor of
 * the input's shape), with PyTorch's semantics (docs/losses.md).
 * Shapes: input [N, C], [C] or [N, C, d₁, …] (classes on axis 1, or 0 for
 * 1-D); index target [N, d₁, …] ([] for 1-D input); 'none' returns that shape.
 *
 * Forward, per position i with lp = logSoftmax(input) along the class axis:
 *   indices:        lᵢ = (1−ε)·w[yᵢ]·(−lp[i,yᵢ]) + (ε/C)·Σ_c w_c·(−lp[i,c])   (0 if yᵢ = ignoreIndex)
 *   probabilities:  lᵢ = −Σ_c w_c·t_ε,ic·lp_ic,  t_ε = (1−ε)·target + ε/C (`q` in the code),  terms with t_ε,ic = 0 skipped (0·log 0 = 0)
 * 'mean' divides by Σ w[yᵢ] over non-ignored positions (indices) or by the
 * number of positions N·d₁·… (probabilities), as PyTorch does.
 *
 * Backward. lᵢ = −Σ_c a_c·lp_c with a_c the coefficients above, and
 * ∂lp_c/∂x_k = δ_ck − p_k, so with G_c = −sᵢ·a_c (sᵢ the reduction scale
 * times the upstream):
 *   dx_k = G_k − p_k·Σ_c G_c,
 *   d target_c = −(1−ε)·sᵢ·w_c·lp_c   (probabilities only; +∞ where lp = −∞, the true derivative).
 * Check: Σ_k dx_k = ΣG − ΣG = 0.
 * The loops are kernels: logSoftmax (into float64, whatever the input's dtype),
 * classLoss and classLossBackward (kernels/table.ts states their formulas).
 *
 * Second order. Write Aᵢ = Σ_c a_ic (the position's total coefficient), so
 * dx = sᵢ·(p·Aᵢ − a) with p = softmax(x) the only part that moves with x:
 *   ∂dx_k/∂x_j = sᵢ·Aᵢ·p_k(δ_kj − p_j):  the Hessian of lᵢ is Aᵢ·(diag(p) − ppᵀ),
 * logSumExp's Hessian (docs/autograd.md) scaled by the coefficients' total, PSD with
 * the all-ones vector in its null space. With probability targets a = w ⊙ t_ε depends
 * on t, linearly: ∂dx_k/∂t_c = sᵢ(1 − ε)w_c·(p_k − δ_kc), the mixed block (its
 * transpose is ∂dt_c/∂x_k = −(1 − ε)sᵢw_c(δ_ck − p_k), the derivative of lp_c: the
 * same), and ∂dt/∂t = 0 (the loss is linear in t). Both gradients are linear in g.
 * Check: Σ_k ∂dx_k/∂x_j = sᵢAᵢ(p_j − p_j) = 0 (a shift of x changes no gradient), and
 * Σ_k ∂dx_k/∂t_c = sᵢ(1 − ε)w_c(1 − 1) = 0.
 * With createGraph the rule returns the kernel's values carrying the graph of
 * s ⊙ (softmax(x) ⊙ ΣA − A) and −(1 − ε)·s·w ⊙ logSoftmax(x) written with ops
 * (a from kernel classCoefficients for labels, from t with ops for probabilities;
 * s selected to 0 at ignored positions; fusedWithGraph).
 *
 * Non-finite: a class at −∞ with no target mass contributes nothing; label
 * smoothing or target mass on such a class gives +∞ (finite gradients);
 * all positions ignored gives NaN for 'mean' and zero gradients, as PyTorch.
 *
 * @example crossEntropy(logits, tensor([3, 1], { dtype: "int32" }), { labelSmoothing: 0.1 })
 */
export const crossEntropy = defineOp({
  name: "crossEntropy",
  forward(ctx, input: Tensor, target: Tensor, opts?: CrossEntropyOptions): Tensor {
    const fn = "crossEntropy";
    checkTensor(input, fn, "input");
    checkTensor(target, fn, "target");
    const options = checkOptions(opts, fn, ["reduction", "labelSmoothing", "ignoreIndex", "weight"]);
    const layout = classLayout(input, fn);
    const { C, lanes, positions, rowShape } = layout;
    const reduction = checkReduction(options.reduction ?? "mean", ["mean", "sum", "none"] as const, fn);
    const eps = options.labelSmoothing ?? 0;
    if (typeof eps !== "number" || !(eps >= 0 && eps <= 1)) {
      throw new ValueError(`${fn}: labelSmoothing must be in [0, 1], got ${String(eps)}`);
    }
    const weight = checkWeight(options.weight, C, fn);
    if (!(target instanceof Tensor)) throw new DTypeError(`${fn}: target must be a Tensor, got ${typeof target}`);
    const soft = target.dtype !== "int32";
    let classes: ClassTarget;
    if (!soft) {
      const ignoreIndex = checkInteger(options.ignoreIndex ?? -100, fn, "ignoreIndex");
      classes = { kind: "labels", labels: checkLabels(target, rowShape, C, fn, "target", ignoreIndex), ignoreIndex, weight, smoothing: eps };
    } else {
      if (target.ndim !== input.ndim || target.shape.some((d, i) => d !== input.shape[i])) {
        throw new ShapeError(`${fn}: a float target holds class probabilities and must have the input's shape ${shapeStr(input.shape)}, got ${shapeStr(target.shape)}; class indices must be int32`);
      }
      if (options.ignoreIndex !== undefined && options.ignoreIndex >= 0) {
        throw new ValueError(`${fn}: ignoreIndex is not supported with class-probability targets, got ${options.ignoreIndex}`);
      }
      classes = { kind: "probabilities", probabilities: contiguousData(target), weight, smoothing: eps };
    }
    const dtype = soft ? promoteTypes(input.dtype, target.dtype, fn) : requireFloat(input.dtype, fn, "input");
    // lp in float64 whatever the input's dtype (the call's dtype is lp's): the loss and the
    // backward read it, and float64 keeps every lp_c to a few ulps of its own size.
    const lp = new Float64Array(input.size);
    kernel("logSoftmax", "float64", input.size)(contiguousData(input), lanes, lp);
    const loss = new Float64Array(positions);
    const denominator = kernel("classLoss", "float64", input.size)(lp, lanes, classes, loss);
    ctx.save({ input, target, lp, layout, classes, reduction, denominator });
    return reduceLoss(loss, reduction, denominator, rowShape, dtype);
  },
  backward(ctx, g) {
    const { input, target, lp, layout, classes, reduction, denominator } = ctx.saved as {
      input: Tensor; target: Tensor; lp: Float64Array; layout: ClassLayout; classes: ClassTarget; reduction: Reduction; denominator: number;
    };
    const soft = classes.kind === "probabilities";
    const dx = ctx.needsInputGrad[0] ? Tensor.empty(input.shape, g.dtype) : null;
    const dt = ctx.needsInputGrad[1] && soft ? Tensor.empty(input.shape, g.dtype) : null;
    const scale = { g: contiguousData(g), each: reduction === "none", divisor: reduction === "mean" ? denominator : 1 };
    kernel("classLossBackward", g.dtype, input.size)(lp, layout.lanes, classes, scale, true, dx ? dx.data : null, dt ? dt.data : null);
    if (!ctx.createGraph) return [dx ? ctx.handOver(dx) : null, dt ? ctx.handOver(dt) : null, null];

    const fn = "crossEntropy";
    const { axis, keptShape } = layout;
    const eps = classes.smoothing;
    const dtype = g.dtype as FloatDType;
    const w = classes.weight ? classWeights(classes.weight, layout, input.shape, dtype) : null;
    let a: Tensor;
    let s: Tensor = reduction === "none" ? reshape(g, keptShape) : reduction === "mean" ? div(g, denominator) : g;
    if (soft) {
      // a = w ⊙ t_ε with t_ε = (1 − ε)·t + ε/C, in ops: the probabilities' own derivative.
      const q = eps > 0 ? add(mul(target, 1 - eps), eps / layout.C) : target;
      a = w ? mul(q, w) : q;
    } else {
      const constants = classConstants(layout, classes, input.shape, dtype);
      a = constants.a;
      s = where(constants.counted, s, 0);
    }
    const formX = mul(s, sub(mul(softmax(input, axis), sum(a, axis, true)), a));
    let formT: Tensor | null = null;
    if (dt) {
      const t = mul(mul(logSoftmax(input, axis), s), -(1 - eps));
      formT = w ? mul(t, w) : t;
    }
    return [dx ? fusedWithGraph(fn, dx, formX) : null, dt && formT ? fusedWithGraph(fn, dt, formT) : null, null];
  },
});
