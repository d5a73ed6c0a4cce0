import { defineOp } from "./define-op.js";
import type { Tensor } from "../tensor/tensor.js";
import { binary, operands } from "./elementwise.js";

/**
 * mul(a, b) = a ⊙ b, broadcasting.
 *
 * Backward. ∂yᵢ/∂aᵢ = bᵢ and ∂yᵢ/∂bᵢ = aᵢ, so da = g ⊙ b and db = g ⊙ a.
 * Both inputs are saved (each is the other's derivative). Written with mul
 * itself, so it is differentiable: ∂(g ⊙ b)/∂b = g gives the mixed second
 * derivative ∂²y/∂a∂b = 1 (and ∂²y/∂a² = 0).
 */
export const mul = defineOp({
  name: "mul",
  forward(ctx, a: Tensor | number, b: Tensor | number): Tensor {
    const [x, y] = operands("mul", a, b);
    ctx.save({ x, y });
    return binary("mul", "mul", x, y);
  },
  backward(ctx, g): (Tensor | null)[] {
    const { x, y } = ctx.saved as { x: Tensor; y: Tensor };
    return [
      ctx.needsInputGrad[0] ? mul(g, y) : null,
      ctx.needsInputGrad[1] ? mul(g, x) : null,
    ];
  },
});
