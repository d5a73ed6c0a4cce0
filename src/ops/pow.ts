import { defineOp } from "./define-op.js";
import { Tensor } from "../tensor/tensor.js";
import { binary, operands } from "./elementwise.js";
import { expand } from "./expand.js";

/**
 * xᵉ with C's (and so PyTorch's) special values where JavaScript's ** differs:
 * pow(1, e) = 1 for every e, NaN included, and pow(−1, ±∞) = 1 (** gives NaN for
 * both). Everything else is **, which already follows C: x⁰ = 1 for every x (NaN
 * too), a negative x with a non-integer e is NaN, 0⁻¹ = ∞, and so on.
 */
function cpow(x: number, e: number): number {
  if (x === 1 || (x === -1 && (e === Infinity || e === -Infinity))) return 1;
  return x ** e;
}

/**
 * pow(x, e) = xᵉ, with e a tensor (broadcasting) or a number, with C's special
 * values (`cpow` above). As in PyTorch, a negative x with a non-integer e gives NaN.
 *
 * Backward. ∂y/∂x = e·x^(e−1) and ∂y/∂e = xᵉ·log x = y·log x, so
 *   dx = g ⊙ e ⊙ x^(e−1),   de = g ⊙ y ⊙ log x.
 * Check: e = 2 gives dx = 2gx; e = 1 gives dx = g.
 *
 * Conventions at e = 0 and x = 0, where a formula meets 0·∞ or 0·log 0:
 * - dx = 0 where e = 0: x⁰ = 1 for every x, so x has no influence there. The 0 is
 *   selected, not multiplied: an upstream g = ±∞ or NaN still gives 0 (PyTorch's
 *   pow_backward_self does the same with `where`), and 0·x⁻¹ = NaN never appears at x = 0.
 * - de = 0 where x = 0 and e ≥ 0, as PyTorch's pow_backward_exponent: 0ᵉ = 0 for
 *   every e > 0, so e has no influence; at 0⁰ (1, but 0 for any e > 0 and ∞ for any
 *   e < 0) no derivative exists and PyTorch's value is 0. Selected, so g = ±∞ gives 0
 *   too (PyTorch multiplies here and gives NaN). For x = 0, e < 0, de = g·∞·(−∞).
 * - de = 0 where g·y = 0 (a zero upstream, or y = 0 from x = ±∞ or an underflow),
 *   which avoids 0·log 0 and 0·log(x < 0) = NaN; elsewhere de needs x > 0 to be finite.
 * de is only formed when e requires a gradient.
 */
export const pow = defineOp({
  name: "pow",
  forward(ctx, x: Tensor | number, e: Tensor | number): Tensor {
    const [base, exponent] = operands("pow", x, e);
    const y = binary("pow", base, exponent, cpow);
    ctx.save({ base, exponent, y });
    return y;
  },
  backward(ctx, g) {
    const { base, exponent, y } = ctx.saved as { base: Tensor; exponent: Tensor; y: Tensor };
    // g has the broadcast shape of y; read x and e through broadcast views of that shape.
    const xs = expand(base, g.shape).contiguous().data;
    const es = expand(exponent, g.shape).contiguous().data;
    const gs = g.contiguous().data;
    let dx: Tensor | null = null;
    let de: Tensor | null = null;
    if (ctx.needsInputGrad[0]) {
      dx = Tensor.empty(g.shape, g.dtype);
      const d = dx.data;
      for (let i = 0; i < d.length; i++) {
        const v = es[i]!;
        d[i] = v === 0 ? 0 : gs[i]! * v * cpow(xs[i]!, v - 1);
      }
    }
    if (ctx.needsInputGrad[1]) {
      de = Tensor.empty(g.shape, g.dtype);
      const d = de.data;
      const ys = expand(y, g.shape).contiguous().data;
      for (let i = 0; i < d.length; i++) {
        const u = xs[i]!;
        const gy = gs[i]! * ys[i]!;
        d[i] = (u === 0 && es[i]! >= 0) || gy === 0 ? 0 : gy * Math.log(u);
      }
    }
    return [dx, de];
  },
  domain: { inputs: [{ range: [0.5, 2] }, { range: [-2, 2] }], broadcast: true },
});
