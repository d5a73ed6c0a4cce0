import { defineOp } from "./define-op.js";
import type { Tensor } from "../tensor/tensor.js";
import { binary, operands } from "./elementwise.js";

/**
 * pow(x, e) = xᵉ, with e a tensor (broadcasting) or a number. As in
 * PyTorch, a negative x with a non-integer e gives NaN.
 *
 * Backward. ∂y/∂x = e·x^(e−1) and ∂y/∂e = xᵉ·log x = y·log x, so
 *   dx = g ⊙ e ⊙ x^(e−1),   de = g ⊙ y ⊙ log x.
 * Check: e = 2 gives dx = 2gx; e = 1 gives dx = g.
 * de is only formed when e requires a gradient (it needs x > 0 to be finite).
 */
export const pow = defineOp({
  name: "pow",
  forward(ctx, x: Tensor | number, e: Tensor | number): Tensor {
    const [base, exponent] = operands("pow", x, e);
    const y = binary("pow", base, exponent, (u, v) => u ** v);
    ctx.save({ base, exponent, y });
    return y;
  },
  backward(ctx, g) {
    const { base, exponent, y } = ctx.saved as { base: Tensor; exponent: Tensor; y: Tensor };
    const dx = ctx.needsInputGrad[0]
      ? binary("pow", g, binary("pow", base, exponent, (u, v) => (v === 0 ? 0 : v * u ** (v - 1))), (u, v) => u * v)
      : null;
    const de = ctx.needsInputGrad[1]
      ? binary("pow", binary("pow", g, y, (u, v) => u * v), base, (u, v) => (u === 0 ? 0 : u * Math.log(v)))
      : null;
    return [dx, de];
  },
  domain: { inputs: [{ range: [0.5, 2] }, { range: [-2, 2] }], broadcast: true },
});

