import { defineOp } from "../ops/define-op.js";
import { Tensor } from "../tensor/tensor.js";
import { promoteTypes } from "../tensor/dtype.js";
import { kernel } from "../kernels/registry.js";
import { contiguousData } from "../ops/elementwise.js";
import { div } from "../ops/div.js";
import { mean } from "../ops/mean.js";
import { mul } from "../ops/mul.js";
import { neg } from "../ops/neg.js";
import { sub } from "../ops/sub.js";
import { checkLogits, checkSameShape } from "./checks.js";
import { fusedWithGraph } from "./fused-with-graph.js";

/**
 * logitMatchingLoss(student, teacher): the T → ∞ limit of the distillation
 * soft term, T²·KL → (1/B) Σ_rows Σᵢ ((sᵢ − s̄) − (tᵢ − t̄))² / (2C)
 * (Hinton et al. 2015: matching logits after removing each row's mean).
 * Shapes [B, C]; the result is a scalar.
 *
 * Backward. Let δ = s − t and δ̃ = δ − δ̄ (δ̄ the row mean). For one row,
 * ∂/∂δ_k Σᵢ (δᵢ − δ̄)² = 2δ̃_k − (2/C)Σᵢ δ̃ᵢ = 2δ̃_k, since Σ δ̃ = 0. So
 *   ∂L/∂s = δ̃/(C·B),   ∂L/∂t = −δ̃/(C·B).
 * Check: this is exactly the T → ∞ limit of T·(p_s − p_t)/B, the fused
 * distillation gradient (docs/distillation.md).
 *
 * Non-finite input (docs/non-finite.md). A row holding NaN or ±∞ (in s or t)
 * has no centred difference (its mean is ±∞ or NaN, and ∞ − ∞ follows): the
 * loss is NaN and that row's gradients are NaN in every entry, both for s and
 * for t. A −∞ logit is not a mask here: masking a class changes the softmax at
 * every T, so the distillation loss has no logit-matching limit then. Finite
 * logits too large for s − t (above about 9e307) are scaled by 2⁻⁶⁰⁰ first,
 * exactly, so that s − t and the mean stay finite; the loss is +∞ when its sum
 * of squares overflows. The loops are the kernels logitMatching and
 * logitMatchingBackward.
 *
 * Second order. ∂L/∂s = δ̃/(C·B) is linear in s and t through the centring
 * δ ↦ δ̃ = (I − 11ᵀ/C)δ, so per row
 *   ∂²L/∂s² = ∂²L/∂t² = (I − 11ᵀ/C)/(C·B),   ∂²L/∂s∂t = −(I − 11ᵀ/C)/(C·B):
 * the centring matrix (I − 11ᵀ/C)/C, divided by B, is the limit as T → ∞ of the
 * distillation loss's student block α·A(p_s)/B (docs/distillation.md, "The
 * second-order view"). Check: (I − 11ᵀ/C)·1 = 0. With createGraph the rule
 * returns the kernel's values carrying the graph of ((s − t) − mean(s − t))·g/(C·B)
 * written with ops (fusedWithGraph).
 */
export const logitMatchingLoss = defineOp({
  name: "logitMatchingLoss",
  forward(ctx, student: Tensor, teacher: Tensor): Tensor {
    const fn = "logitMatchingLoss";
    checkLogits(student, fn, "student");
    checkLogits(teacher, fn, "teacher");
    checkSameShape(student, teacher, fn, "student", "teacher");
    const [B, C] = student.shape as [number, number];
    const dtype = promoteTypes(student.dtype, teacher.dtype, fn);
    // centred holds (s − s̄) − (t − t̄) times the row's scale k (1, or 2⁻⁶⁰⁰ where s − t could
    // overflow); the backward divides by k after the 1/(C·B), so a representable gradient stays so.
    const centred = new Float64Array(B * C);
    const scale = new Float64Array(B);
    const total = kernel("logitMatching", dtype, B * C)(contiguousData(student), contiguousData(teacher), B, C, centred, scale);
    ctx.save({ centred, scale, student, teacher });
    const y = Tensor.empty([], dtype);
    y.data[0] = total / (2 * C * B);
    return y;
  },
  backward(ctx, g) {
    const { centred, scale, student, teacher } = ctx.saved as { centred: Float64Array; scale: Float64Array; student: Tensor; teacher: Tensor };
    const [B, C] = student.shape as [number, number];
    const [wantS, wantT] = ctx.needsInputGrad;
    const ds = wantS ? Tensor.empty([B, C], g.dtype) : null;
    const dt = wantT ? Tensor.empty([B, C], g.dtype) : null;
    kernel("logitMatchingBackward", g.dtype, B * C)(centred, scale, C, g.item() / (C * B), ds ? ds.data : null, dt ? dt.data : null);
    if (!ctx.createGraph) return [ds ? ctx.handOver(ds) : null, dt ? ctx.handOver(dt) : null];
    const d = sub(student, teacher);
    const form = mul(sub(d, mean(d, -1, true)), div(g, C * B));
    return [ds ? fusedWithGraph("logitMatchingLoss", ds, form) : null, dt ? fusedWithGraph("logitMatchingLoss", dt, neg(form)) : null];
  },
});
