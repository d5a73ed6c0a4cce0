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
    const centred = new Float64Array(B * C);
    let total = 0;
    for (let r = 0; r < B; r++) {
      let mean = 0;
      for (let i = 0; i < C; i++) mean += s[r * C + i]! - t[r * C + i]!;
      mean /= C;
      for (let i = 0; i < C; i++) {
        const d = s[r * C + i]! - t[r * C + i]! - mean;
        centred[r * C + i] = d;
        total += d * d;
      }
    }
    ctx.save({ centred, B, C });
    const y = Tensor.empty([], promoteTypes(student.dtype, teacher.dtype, fn));
    y.data[0] = total / (2 * C * B);
    return y;
  },
  backward(ctx, g) {
    const { centred, B, C } = ctx.saved as { centred: Float64Array; B: number; C: number };
    const k = g.item() / (C * B);
    const ds = Tensor.empty([B, C], g.dtype);
    for (let i = 0; i < centred.length; i++) ds.data[i] = centred[i]! * k;
    return [ctx.needsInputGrad[0] ? ds : null, ctx.needsInputGrad[1] ? ds.neg() : null];
  },
});
