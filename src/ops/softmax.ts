import { defineOp } from "./define-op.js";
import { Tensor, checkFloatTensor } from "../tensor/tensor.js";
import { laneGeometry, normalizeAxis } from "../tensor/shape.js";
import { kernel } from "../kernels/registry.js";
import { contiguousData } from "./elementwise.js";
import { mul } from "./mul.js";
import { sub } from "./sub.js";
import { sum } from "./sum.js";

/**
 * softmax(x, dim = −1)ᵢ = exp(xᵢ) / Σⱼ exp(xⱼ), along `dim`.
 *
 * Forward. pᵢ = exp(xᵢ − m) / Σⱼ exp(xⱼ − m) with m = maxⱼ xⱼ: the shift
 * cancels, no exponent is positive and the denominator is ≥ 1. A class at
 * −∞ gets probability exactly 0; an all −∞ lane (or one with +∞/NaN) is
 * NaN, as in PyTorch. The loop is the `softmax` kernel.
 *
 * Backward. ∂pᵢ/∂xⱼ = pᵢ(δᵢⱼ − pⱼ), a symmetric Jacobian, so
 *   (Jᵀg)ⱼ = pⱼ gⱼ − pⱼ Σᵢ gᵢ pᵢ = pⱼ (gⱼ − ⟨g, p⟩).
 * Only the output is needed, so we save p. Check: Σⱼ (Jᵀg)ⱼ = ⟨g,p⟩ − ⟨g,p⟩·Σp = 0
 * (the outputs always sum to 1). The product is the op softmaxBackward below
 * (PyTorch's _softmax_backward_data): one fused pass, differentiable again.
 */
export const softmax = defineOp({
  name: "softmax",
  forward(ctx, x: Tensor, dim: number = -1): Tensor {
    const dtype = checkFloatTensor(x, "softmax", "input").dtype;
    const ax = normalizeAxis(dim, x.ndim, "dim", "softmax");
    const p = Tensor.empty(x.shape, dtype);
    kernel("softmax", dtype, p.size)(contiguousData(x), laneGeometry(x.shape, ax), p.data);
    ctx.save({ p, ax });
    return p;
  },
  backward(ctx, g) {
    // p is the output as returned (its node is this op), so a recorded backward reaches x through it.
    const { p, ax } = ctx.saved as { p: Tensor; ax: number };
    const dx = softmaxBackward(g, p, ax);
    return [ctx.createGraph ? dx : ctx.handOver(dx)];
  },
});

/**
 * softmaxBackward(g, p, ax) = p ⊙ (g − ⟨g, p⟩), the ⟨·,·⟩ along axis ax:
 * softmax's vector-Jacobian product from its saved output p. Internal; the
 * forward is the fused `softmaxBackward` kernel.
 *
 * Backward. Write s = ⟨g, p⟩ per lane, so dxⱼ = pⱼgⱼ − pⱼs. For an upstream
 * u (the cotangent of dx), ⟨u, dx⟩ = Σⱼ uⱼpⱼgⱼ − ⟨u, p⟩·⟨g, p⟩, hence
 *   ∂/∂g: pₖuₖ − pₖ⟨u, p⟩ = softmaxBackward(u, p)  (the map is symmetric in g),
 *   ∂/∂p: uₖgₖ − uₖ⟨g, p⟩ − gₖ⟨u, p⟩ = uₖ(gₖ − s) − gₖ⟨u, p⟩.
 * The p part flows on through softmax's own backward (p is its output), which
 * gives the second derivative of softmax: the sum over the chain of both.
 * Check: with u = 1 (all ones), ⟨1, dx⟩ = Σdx = 0 for every g and p on the
 * simplex, so its derivative must vanish there: the g part is p(1 − Σp) = 0,
 * and the p part is (g − s) − g·Σp = −s·1, a constant along the lane, which
 * softmax's Jacobian diag(p) − ppᵀ maps to −s(p − p·Σp) = 0.
 */
const softmaxBackward = defineOp({
  name: "softmaxBackward",
  forward(ctx, g: Tensor, p: Tensor, ax: number): Tensor {
    const dx = Tensor.empty(p.shape, g.dtype);
    kernel("softmaxBackward", g.dtype, dx.size)(contiguousData(p), contiguousData(g), laneGeometry(p.shape, ax), dx.data);
    ctx.save({ g, p, ax });
    return dx;
  },
  backward(ctx, u): (Tensor | null)[] {
    const { g, p, ax } = ctx.saved as { g: Tensor; p: Tensor; ax: number };
    const dg = ctx.needsInputGrad[0] ? softmaxBackward(u, p, ax) : null;
    let dp: Tensor | null = null;
    if (ctx.needsInputGrad[1]) {
      const s = sum(mul(g, p), ax, true);
      const up = sum(mul(u, p), ax, true);
      dp = sub(mul(u, sub(g, s)), mul(g, up));
    }
    return [dg, dp, null];
  },
});
