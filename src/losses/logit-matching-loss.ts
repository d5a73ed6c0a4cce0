import { defineOp } from "../ops/define-op.js";
import { Tensor } from "../tensor/tensor.js";
import { promoteTypes } from "../tensor/dtype.js";
import { checkLogits, checkSameShape } from "./options.js";

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
 * of squares overflows.
 */
export const logitMatchingLoss = defineOp({
  name: "logitMatchingLoss",
  forward(ctx, student: Tensor, teacher: Tensor): Tensor {
    const fn = "logitMatchingLoss";
    checkLogits(student, fn, "student");
    checkLogits(teacher, fn, "teacher");
    checkSameShape(student, teacher, fn, "student", "teacher");
    const [B, C] = student.shape as [number, number];
    const s = student.contiguous().data;
    const t = teacher.contiguous().data;
    // centred holds (s − s̄) − (t − t̄) times the row's scale k (1, or 2⁻⁶⁰⁰ where s − t could
    // overflow); the backward divides by k after the 1/(C·B), so a representable gradient stays so.
    const centred = new Float64Array(B * C);
    const scale = new Float64Array(B);
    let total = 0;
    for (let r = 0; r < B; r++) {
      const o = r * C;
      let big = 0;
      for (let i = 0; i < C; i++) big = Math.max(big, Math.abs(s[o + i]!), Math.abs(t[o + i]!));
      if (!Number.isFinite(big)) {
        // NaN or ±∞ in the row (Math.max propagates NaN): no centred difference.
        for (let i = 0; i < C; i++) centred[o + i] = NaN;
        scale[r] = 1;
        total = NaN;
        continue;
      }
      const k = big > 2 ** 1000 ? 2 ** -600 : 1;
      scale[r] = k;
      let mean = 0;
      for (let i = 0; i < C; i++) mean += k * s[o + i]! - k * t[o + i]!;
      mean /= C;
      let rowTotal = 0;
      for (let i = 0; i < C; i++) {
        const d = k * s[o + i]! - k * t[o + i]! - mean;
        centred[o + i] = d;
        rowTotal += d * d;
      }
      total += rowTotal / k / k;
    }
    ctx.save({ centred, scale, B, C });
    const y = Tensor.empty([], promoteTypes(student.dtype, teacher.dtype, fn));
    y.data[0] = total / (2 * C * B);
    return y;
  },
  backward(ctx, g) {
    const { centred, scale, B, C } = ctx.saved as { centred: Float64Array; scale: Float64Array; B: number; C: number };
    const k = g.item() / (C * B);
    const ds = Tensor.empty([B, C], g.dtype);
    for (let r = 0; r < B; r++) for (let i = r * C; i < (r + 1) * C; i++) ds.data[i] = (centred[i]! * k) / scale[r]!;
    return [ctx.needsInputGrad[0] ? ds : null, ctx.needsInputGrad[1] ? ds.neg() : null];
  },
});
