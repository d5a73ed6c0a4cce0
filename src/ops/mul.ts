import { defineOp } from "./define-op.js";
import type { Tensor } from "../tensor/tensor.js";
import { binary, operands } from "./elementwise.js";

/**
 * mul(a, b) = a ⊙ b, broadcasting.
 *
 * Backward. ∂oᵢ/∂aᵢ = bᵢ and ∂oᵢ/∂bᵢ = aᵢ, so da = g ⊙ b and db = g ⊙ a.
 * Both inputs are saved (each is the other's derivative). Written with mul
 * itself, so it is differentiable: ∂(g ⊙ b)/∂b = g gives the mixed second
 * derivative ∂²o/∂a∂b = 1 (and ∂²o/∂a² = 0).
 */
export const mul = defineOp({
  name: "mul",
  forward(ctx, a: Tensor | number, b: Tensor | number): Tensor {
    const [lhs, rhs] = operands("mul", a, b);
    ctx.save({ lhs, rhs });
    return binary("mul", "mul", lhs, rhs);
  },
  backward(ctx, g): (Tensor | null)[] {
    const { lhs, rhs } = ctx.saved as { lhs: Tensor; rhs: Tensor };
    return [
      ctx.needsInputGrad[0] ? mul(g, rhs) : null,
      ctx.needsInputGrad[1] ? mul(g, lhs) : null,
    ];
  },
});
