import { defineOp } from "./define-op.js";
import { Tensor, checkFloatTensor } from "../tensor/tensor.js";
import { ValueError } from "../tensor/errors.js";
import { describeValue } from "../tensor/shape.js";
import { kernel } from "../kernels/registry.js";
import { contiguousData } from "./elementwise.js";
import { add } from "./add.js";
import { exp } from "./exp.js";
import { mul } from "./mul.js";
import { sigmoid } from "./sigmoid.js";
import { sub } from "./sub.js";

/** gelu's form: "none" (exact, with erf) or "tanh" (the tanh approximation). */
export type GeluApproximate = "none" | "tanh";

/** √(2/π), the slope of the tanh approximation's argument at 0. */
const SQRT_2_OVER_PI = 0.7978845608028654;
const KAPPA = 0.044715;
/** 1/√(2π), the standard normal density at 0. */
const INV_SQRT_2PI = 0.3989422804014327;

/**
 * gelu(x) = x·Φ(x), with Φ the standard normal CDF (PyTorch's default,
 * `approximate: "none"`), or the tanh approximation
 * ½x(1 + tanh(√(2/π)(x + 0.044715x³))) with `"tanh"`.
 *
 * Forward, exact form. Φ(x) = ½ erfc(−x/√2), computed by `normalCdf`
 * (src/kernels/erf.ts) to a few ulps relative to its size, rather than as
 * ½(1 + erf(x/√2)): for x ≪ 0 that subtracts two nearly equal numbers, so
 * gelu(−10) ≈ −7.6e-23 would come out as 0 (PyTorch's formula does).
 *
 * Backward, exact form. d/dx [x Φ(x)] = Φ(x) + x Φ′(x), Φ′(x) = e^{−x²/2}/√(2π) the normal
 * density, so dx = g ⊙ (Φ + x Φ′). We save x and Φ (Φ costs a series or a continued
 * fraction; Φ′ is one exponential). Checks: at x = 0 the slope is Φ(0) = ½;
 * it tends to 1 as x → +∞ and to 0 as x → −∞, like relu's. Far out x·Φ′(x)
 * underflows to 0 (Φ′(x) is 0 once x² > 1500, erf.ts), so the slope is exactly
 * 1 or 0 for every finite |x| ≳ 40, up to the largest double. At x = ±∞ it is
 * ∞·0 = NaN, as in PyTorch.
 *
 * Tanh form. With v = √(2/π)(x + κx³), κ = 0.044715, use 1 + tanh v = 2σ(2v):
 *   o = x·σ(2v),   ∂o/∂x = σ(2v) + x·σ(2v)·σ(−2v)·2v′,   v′ = √(2/π)(1 + 3κx²).
 * (σ' = σ(1 − σ), and 1 − σ(z) = σ(−z) is computed directly, so neither
 * 1 + tanh v nor 1 − σ loses digits for large |v|.) Check: slope ½ at 0.
 * Far out σ(2v)·σ(−2v) underflows to 0 while v′ = √(2/π)(1 + 3κx²) overflows
 * (|x| ≳ 3.6e154), and 0·∞ would be NaN: where the product σσ is 0 for a
 * finite x, the second term is its limit 0 (x³e^{−2v} → 0), so the slope is
 * 1 or 0 as in the exact form. (PyTorch's tanh-form backward gives NaN there.)
 * At x = ±∞ the slope is NaN, as in PyTorch.
 */
export const gelu = defineOp({
  name: "gelu",
  forward(ctx, x: Tensor, approximate: GeluApproximate = "none"): Tensor {
    checkFloatTensor(x, "gelu", "input");
    if (approximate !== "none" && approximate !== "tanh") {
      throw new ValueError(`gelu: approximate must be "none" or "tanh", got ${describeValue(approximate)}`);
    }
    const o = Tensor.empty(x.shape, x.dtype);
    // cdf holds Φ(x) (exact form) or σ(2v) (tanh form): what backward needs.
    const cdf = new Float64Array(o.size);
    kernel("gelu", x.dtype, o.size)(approximate, contiguousData(x), o.data, cdf);
    ctx.save({ x, cdf, approximate });
    return o;
  },
  backward(ctx, g) {
    const { x, cdf, approximate } = ctx.saved as { x: Tensor; cdf: Float64Array; approximate: GeluApproximate };
    return [geluBackward(g, x, approximate, cdf)];
  },
});

/**
 * geluBackward(g, x) = g ⊙ gelu′(x), gelu's vector-Jacobian product as an op
 * of its own (a fused kernel, from the cdf saved by the forward pass), so
 * that it can be differentiated again. Internal.
 *
 * Backward. Linear in g: ∂/∂g is geluBackward(gg, x). In x it is g ⊙ gelu″(x):
 * - exact form: gelu′ = Φ + xΦ′ and Φ″ = −xΦ′, so gelu″ = Φ′ + Φ′ − x²Φ′ = Φ′(x)(2 − x²)
 *   (Φ′ is `phi` in the code);
 * - tanh form: with Π = σ(2v)σ(−2v) (`S` in the code; σ′(2v) = Π, Π′ = Π(1 − 2σ(2v))·2v′),
 *   gelu′ = σ(2v) + 2xΠv′ and gelu″ = 4Πv′ + 4xΠ(1 − 2σ(2v))v′² + 2xΠv″,
 *   v′ = √(2/π)(1 + 3κx²), v″ = 6√(2/π)κx.
 * Both are written with ops, so every further order follows by autodiff.
 * Check: at x = 0 gelu″ is 2Φ′(0) = 0.798 (exact) and 4·¼·√(2/π) = 0.798 (tanh).
 */
const geluBackward = defineOp({
  name: "geluBackward",
  forward(ctx, g: Tensor, x: Tensor, approximate: GeluApproximate, cdf: Float64Array): Tensor {
    const dx = Tensor.empty(x.shape, g.dtype);
    kernel("geluBackward", g.dtype, dx.size)(approximate, contiguousData(x), cdf, contiguousData(g), dx.data);
    ctx.save({ g, x, approximate, cdf });
    return dx;
  },
  backward(ctx, gg): (Tensor | null)[] {
    const { x, approximate, cdf } = ctx.saved as { x: Tensor; approximate: GeluApproximate; cdf: Float64Array };
    const dg = ctx.needsInputGrad[0] ? geluBackward(gg, x, approximate, cdf) : null;
    let dx: Tensor | null = null;
    if (ctx.needsInputGrad[1]) {
      const g = ctx.saved.g as Tensor;
      dx = mul(mul(gg, g), secondDerivative(x, approximate));
    }
    return [dg, dx, null, null];
  },
});

/** gelu″(x) in ops (see geluBackward). */
function secondDerivative(x: Tensor, approximate: GeluApproximate): Tensor {
  const x2 = mul(x, x);
  if (approximate === "none") {
    const phi = mul(exp(mul(x2, -0.5)), INV_SQRT_2PI);
    return mul(phi, sub(2, x2));
  }
  const v = mul(add(x, mul(mul(x2, x), KAPPA)), SQRT_2_OVER_PI);
  const dv = mul(add(mul(x2, 3 * KAPPA), 1), SQRT_2_OVER_PI);
  const ddv = mul(x, 6 * KAPPA * SQRT_2_OVER_PI);
  const s = sigmoid(mul(v, 2));
  const S = mul(s, sigmoid(mul(v, -2)));
  return add(add(mul(mul(S, dv), 4), mul(mul(mul(mul(x, S), sub(1, mul(s, 2))), mul(dv, dv)), 4)), mul(mul(mul(x, S), ddv), 2));
}
