import { defineOp } from "./define-op.js";
import { Tensor } from "../tensor/tensor.js";
import { binary, compare, operands } from "./elementwise.js";
import { mul } from "./mul.js";
import { sub } from "./sub.js";
import { log } from "./log.js";
import { abs } from "./abs.js";
import { where } from "./where.js";

/**
 * pow(x, e) = xᵉ, with e a tensor (broadcasting) or a number, with C's special
 * values (kernels/js/elementwise.ts, `cpow`). As in PyTorch, a negative x with a non-integer e gives NaN.
 * Forward conventions at e = 0 and x = ±1 (JavaScript's `**` differs on the last two):
 * x⁰ = 1 for every x, NaN and ±∞ included; 1ᵉ = 1 for every e, NaN and ±∞ included;
 * (−1)^±∞ = 1. Check: pow(NaN, 0) = 1 and pow(1, NaN) = 1, while NaN ** 0 = 1 and 1 ** NaN = NaN.
 *
 * Backward. ∂o/∂x = e·x^(e−1) and ∂o/∂e = xᵉ·log x = o·log x, so
 *   dx = g ⊙ e ⊙ x^(e−1),   de = g ⊙ o ⊙ log x.
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
 * - de = 0 where o = 0 (x = ±∞ with the sign of e that sends o to 0, or an underflow),
 *   which avoids 0·log 0; and where g = 0 and log x is not finite (x < 0, x = +∞), which
 *   avoids 0·log(x < 0) = NaN. Elsewhere de needs x > 0 to be finite.
 * de is only formed when e requires a gradient.
 *
 * Second order. Both rules are products of ops (pow, mul, log), so their own derivatives
 * follow (e.g. ∂dx/∂x = g·e·(e−1)·x^(e−2)); the masks are constants. Wherever log x is
 * finite no mask looks at g, so de = (g·o)·log x is linear in g with derivative o·log x —
 * what jvp, a vjp differentiated in g at g = 0, needs (a mask [g·o = 0] would select 0 at
 * g = 0 and lose it). Check: at x = 2, e = 3, g = 0 the derivative of de in g is 8·log 2.
 */
export const pow = defineOp({
  name: "pow",
  forward(ctx, x: Tensor | number, e: Tensor | number): Tensor {
    const [base, exponent] = operands("pow", x, e);
    const o = binary("pow", "pow", base, exponent);
    ctx.save({ base, exponent, o });
    return o;
  },
  backward(ctx, g): (Tensor | null)[] {
    const { base, exponent, o } = ctx.saved as { base: Tensor; exponent: Tensor; o: Tensor };
    // Written with ops (pow itself for x^(e−1)); the conventions' masks are constants.
    let dx: Tensor | null = null;
    let de: Tensor | null = null;
    if (ctx.needsInputGrad[0]) {
      dx = where(compare("pow", "eq", exponent, 0), 0, mul(mul(g, exponent), pow(base, sub(exponent, 1))));
    }
    if (ctx.needsInputGrad[1]) {
      const L = log(base);
      // 0 selected where x = 0 and e ≥ 0, or o = 0 …
      const still = where(compare("pow", "eq", base, 0), compare("pow", "ge", exponent, 0), compare("pow", "eq", o, 0));
      // … or where g = 0 and log x is not finite (L ≠ L is an int32 0 wherever L is finite).
      const finite = compare("pow", "lt", abs(L), Infinity);
      const drop = where(still, still, where(finite, compare("pow", "ne", L, L), compare("pow", "eq", g, 0)));
      de = where(drop, 0, mul(mul(g, o), L));
    }
    return [dx, de];
  },
});
