import { defineOp } from "../ops/define-op.js";
import { Tensor } from "../tensor/tensor.js";
import { DTypeError, ShapeError, ValueError } from "../tensor/errors.js";
import { requireFloat, promoteTypes } from "../tensor/dtype.js";
import { shapeStr } from "../tensor/shape.js";
import { logSoftmaxForward } from "../kernels/js/softmax-rows.js";
import { checkInteger, checkLabels, checkReduction, checkWeight, classLayout, reduceLoss, type Reduction } from "./options.js";

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
 *   probabilities:  lᵢ = −Σ_c w_c·q_ic·lp_ic,  q = (1−ε)·target + ε/C,  terms with q_ic = 0 skipped (0·log 0 = 0)
 * 'mean' divides by Σ w[yᵢ] over non-ignored positions (indices) or by the
 * number of positions N·d₁·… (probabilities), as PyTorch does.
 *
 * Backward. lᵢ = −Σ_c a_c·lp_c with a_c the coefficients above, and
 * ∂lp_c/∂x_k = δ_ck − p_k, so with G_c = −sᵢ·a_c (sᵢ the reduction scale
 * times the upstream):
 *   dx_k = G_k − p_k·Σ_c G_c,
 *   d target_c = −(1−ε)·sᵢ·w_c·lp_c   (probabilities only; +∞ where lp = −∞, the true derivative).
 * Check: Σ_k dx_k = ΣG − ΣG = 0.
 *
 * Non-finite: a class at −∞ with no target mass contributes nothing; label
 * smoothing or target mass on such a class gives +∞ (finite gradients);
 * all positions ignored gives NaN for 'mean' and zero gradients, as PyTorch.
 *
 * @example crossEntropy(logits, tensor([3, 1], { dtype: "int32" }), { labelSmoothing: 0.1 })
 */
export const crossEntropy = defineOp({
  name: "crossEntropy",
  forward(ctx, input: Tensor, target: Tensor, options: CrossEntropyOptions = {}): Tensor {
    const fn = "crossEntropy";
    const { C, inner, positions, rowShape, at } = classLayout(input, fn);
    const reduction = checkReduction(options.reduction ?? "mean", ["mean", "sum", "none"] as const, fn);
    const eps = options.labelSmoothing ?? 0;
    if (typeof eps !== "number" || !(eps >= 0 && eps <= 1)) {
      throw new ValueError(`${fn}: labelSmoothing must be in [0, 1], got ${String(eps)}`);
    }
    const w = checkWeight(options.weight, C, fn);
    const lp = new Float64Array(input.size);
    logSoftmaxForward(input.contiguous().data, lp, positions / inner, C, inner);
    const loss = new Float64Array(positions);
    let denominator: number;

    if (!(target instanceof Tensor)) throw new DTypeError(`${fn}: target must be a Tensor, got ${typeof target}`);
    const soft = target.dtype !== "int32";
    let y: Int32Array | null = null;
    let q: Float64Array | null = null;
    let ignoreIndex = -100;
    if (!soft) {
      ignoreIndex = checkInteger(options.ignoreIndex ?? -100, fn, "ignoreIndex");
      y = checkLabels(target, rowShape, C, fn, "target", ignoreIndex);
      denominator = 0;
      for (let i = 0; i < positions; i++) {
        const k = y[i]!;
        if (k === ignoreIndex) continue;
        const wy = w ? w[k]! : 1;
        denominator += wy;
        let l = eps < 1 ? (1 - eps) * wy * -lp[at(i, k)]! : 0;
        if (eps > 0) {
          let smooth = 0;
          for (let c = 0; c < C; c++) smooth += (w ? w[c]! : 1) * -lp[at(i, c)]!;
          l += (eps / C) * smooth;
        }
        loss[i] = l;
      }
    } else {
      if (target.ndim !== input.ndim || target.shape.some((d, i) => d !== input.shape[i])) {
        throw new ShapeError(`${fn}: a float target holds class probabilities and must have the input's shape ${shapeStr(input.shape)}, got ${shapeStr(target.shape)}; class indices must be int32`);
      }
      if (options.ignoreIndex !== undefined && options.ignoreIndex >= 0) {
        throw new ValueError(`${fn}: ignoreIndex is not supported with class-probability targets, got ${options.ignoreIndex}`);
      }
      const t = target.contiguous().data;
      q = new Float64Array(t.length);
      for (let j = 0; j < t.length; j++) q[j] = eps > 0 ? (1 - eps) * t[j]! + eps / C : t[j]!;
      denominator = positions;
      for (let i = 0; i < positions; i++) {
        let l = 0;
        for (let c = 0; c < C; c++) {
          const j = at(i, c);
          if (q[j] !== 0) l -= (w ? w[c]! : 1) * q[j]! * lp[j]!;
        }
        loss[i] = l;
      }
    }

    const dtype = soft ? promoteTypes(input.dtype, target.dtype, fn) : requireFloat(input.dtype, fn, "input");
    ctx.save({ lp, y, q, w, eps, C, at, positions, reduction, denominator, ignoreIndex, inputShape: input.shape });
    return reduceLoss(loss, reduction, denominator, rowShape, dtype);
  },
  backward(ctx, g) {
    const { lp, y, q, w, eps, C, at, positions, reduction, denominator, ignoreIndex, inputShape } = ctx.saved as {
      lp: Float64Array; y: Int32Array | null; q: Float64Array | null; w: Float64Array | null; eps: number; C: number;
      at: (i: number, c: number) => number; positions: number; reduction: Reduction; denominator: number; ignoreIndex: number; inputShape: number[];
    };
    const gs = g.contiguous().data;
    const scale = (i: number): number => (reduction === "none" ? gs[i]! : reduction === "sum" ? gs[0]! : gs[0]! / denominator);
    const dx = ctx.needsInputGrad[0] ? Tensor.empty(inputShape, g.dtype) : null;
    const dt = ctx.needsInputGrad[1] && q ? Tensor.empty(inputShape, g.dtype) : null;
    const G = new Float64Array(C);
    for (let i = 0; i < positions; i++) {
      if (y && y[i] === ignoreIndex) continue;
      const s = scale(i);
      // G_c = −s·a_c, where lᵢ = −Σ a_c lp_c.
      G.fill(0);
      if (y) {
        const k = y[i]!;
        if (eps < 1) G[k] = -s * (1 - eps) * (w ? w[k]! : 1);
        if (eps > 0) for (let c = 0; c < C; c++) G[c] = G[c]! - s * (eps / C) * (w ? w[c]! : 1);
      } else {
        for (let c = 0; c < C; c++) G[c] = -s * (w ? w[c]! : 1) * q![at(i, c)]!;
      }
      if (dx) {
        let gSum = 0;
        for (let c = 0; c < C; c++) gSum += G[c]!;
        for (let c = 0; c < C; c++) {
          const j = at(i, c);
          dx.data[j] = G[c]! - Math.exp(lp[j]!) * gSum;
        }
      }
      if (dt) {
        for (let c = 0; c < C; c++) {
          const j = at(i, c);
          dt.data[j] = -(1 - eps) * s * (w ? w[c]! : 1) * lp[j]!;
        }
      }
    }
    return [dx, dt, null];
  },
});
