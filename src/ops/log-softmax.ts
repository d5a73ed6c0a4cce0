import { defineOp } from "./define-op.js";
import { Tensor, checkFloatTensor } from "../tensor/tensor.js";
import { laneGeometry, normalizeAxis } from "../tensor/shape.js";
import { kernel } from "../kernels/registry.js";
import { contiguousData } from "./elementwise.js";
import { exp } from "./exp.js";
import { mul } from "./mul.js";
import { neg } from "./neg.js";
import { sub } from "./sub.js";
import { sum } from "./sum.js";

/**
 * logSoftmax(x, dim = −1)ᵢ = xᵢ − log Σⱼ exp(xⱼ), along `dim`.
 *
 * Forward. With m = maxⱼ xⱼ we compute (xᵢ − m) − log Σⱼ exp(xⱼ − m).
 * The shift cancels, every exponent is ≤ 0 (no overflow) and the sum is
 * ≥ 1 (finite log), so logits spread over ±1e4 stay exact to rounding.
 * The order matters, with S = Σⱼ exp(xⱼ − m): xᵢ − (m + log S) would round log S to a multiple of
 * ulp(m) and give [0, 0] for [1e16, 1e16]. Each entry is accurate to
 * (n + t* + 5)·u relative (the bound is derived above logSoftmaxForward in
 * src/kernels/js/softmax-rows.ts). A class at −∞ contributes exp(−∞) = 0 and
 * stays −∞. A lane that is all −∞, or holds +∞ or NaN, has no defined result
 * and gives NaN, as in PyTorch (docs/non-finite.md). The loop is the
 * `logSoftmax` kernel.
 *
 * Backward. Let o = logSoftmax(x) and p = exp(o) = softmax(x). Then
 *   ∂oᵢ/∂xⱼ = δᵢⱼ − pⱼ,   so   (Jᵀg)ⱼ = gⱼ − pⱼ Σᵢ gᵢ.
 * The rule needs only o, so we save the output, not the input.
 * Check: Σⱼ (Jᵀg)ⱼ = Σg − Σg = 0, since shifting all logits changes nothing.
 * At a masked class pⱼ = 0, so dxⱼ = gⱼ (PyTorch gives the same). The
 * product is the op logSoftmaxBackward below (PyTorch's
 * _log_softmax_backward_data): one fused pass, differentiable again.
 */
export const logSoftmax = defineOp({
  name: "logSoftmax",
  forward(ctx, x: Tensor, dim: number = -1): Tensor {
    const dtype = checkFloatTensor(x, "logSoftmax", "input").dtype;
    const ax = normalizeAxis(dim, x.ndim, "dim", "logSoftmax");
    const o = Tensor.empty(x.shape, dtype);
    kernel("logSoftmax", dtype, o.size)(contiguousData(x), laneGeometry(x.shape, ax), o.data);
    ctx.save({ o, ax });
    return o;
  },
  backward(ctx, g) {
    // o is the output as returned (its node is this op), so a recorded backward reaches x through it.
    const { o, ax } = ctx.saved as { o: Tensor; ax: number };
    const dx = logSoftmaxBackward(g, o, ax);
    return [ctx.createGraph ? dx : ctx.handOver(dx)];
  },
});

/**
 * logSoftmaxBackward(g, o, ax) = g − exp(o)·Σg, the sum along axis ax:
 * logSoftmax's vector-Jacobian product from its saved output o. Internal;
 * the forward is the fused `logSoftmaxBackward` kernel.
 *
 * Backward. With p = exp(o) and S = Σg per lane, dxⱼ = gⱼ − pⱼS. For an
 * upstream u (the cotangent of dx), ⟨u, dx⟩ = ⟨u, g⟩ − ⟨u, p⟩·S, hence
 *   ∂/∂g: uₖ − ⟨u, p⟩        (J·u, the forward-mode product of logSoftmax,
 *                             where the rule itself is Jᵀ·g),
 *   ∂/∂o: −uₖ pₖ S           (∂pₖ/∂oₖ = pₖ).
 * The o part flows on through logSoftmax's own backward (o is its output).
 * Composed: the Hessian of ⟨g, logSoftmax(x)⟩ is −S·(diag(p) − ppᵀ), the
 * logSumExp Hessian scaled by −Σg, as it must be since Σⱼgⱼoⱼ = ⟨g, x⟩ − S·lse(x).
 * Check: with u = 1, ⟨1, dx⟩ = S(1 − Σp) = 0 for every g when Σp = 1, so
 * its derivative must vanish there: the g part is 1 − Σp = 0, and the
 * o part −pS is mapped by logSoftmax's backward to −pS − p·(−S·Σp) = 0.
 */
const logSoftmaxBackward = defineOp({
  name: "logSoftmaxBackward",
  forward(ctx, g: Tensor, o: Tensor, ax: number): Tensor {
    const dx = Tensor.empty(o.shape, g.dtype);
    kernel("logSoftmaxBackward", g.dtype, dx.size)(contiguousData(o), contiguousData(g), laneGeometry(o.shape, ax), dx.data);
    ctx.save({ g, o, ax });
    return dx;
  },
  backward(ctx, u): (Tensor | null)[] {
    const { g, o, ax } = ctx.saved as { g: Tensor; o: Tensor; ax: number };
    const p = exp(o);
    const dg = ctx.needsInputGrad[0] ? sub(u, sum(mul(u, p), ax, true)) : null;
    const dOut = ctx.needsInputGrad[1] ? neg(mul(mul(u, p), sum(g, ax, true))) : null;
    return [dg, dOut, null];
  },
});
