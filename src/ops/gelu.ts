import { defineOp } from "./define-op.js";
import { Tensor } from "../tensor/tensor.js";
import { requireFloat } from "../tensor/dtype.js";
import { ValueError } from "../tensor/errors.js";
import { normalCdf, normalPdf } from "../kernels/erf.js";

export type GeluApproximate = "none" | "tanh";

/** √(2/π), the slope of the tanh approximation's argument at 0. */
const SQRT_2_OVER_PI = 0.7978845608028654;
const KAPPA = 0.044715;

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
 * Backward, exact form. d/dx [x Φ(x)] = Φ(x) + x φ(x), φ(x) = e^{−x²/2}/√(2π),
 * so dx = g ⊙ (Φ + x φ). We save x and Φ (Φ costs a series or a continued
 * fraction; φ is one exponential). Checks: at x = 0 the slope is Φ(0) = ½;
 * it tends to 1 as x → +∞ and to 0 as x → −∞, like relu's. Far out x·φ(x)
 * underflows to 0 (φ(x) is 0 once x² > 1500, erf.ts), so the slope is exactly
 * 1 or 0 for every finite |x| ≳ 40, up to the largest double. At x = ±∞ it is
 * ∞·0 = NaN, as in PyTorch.
 *
 * Tanh form. With u = √(2/π)(x + κx³), κ = 0.044715, use 1 + tanh u = 2σ(2u):
 *   y = x·σ(2u),   dy/dx = σ(2u) + x·σ(2u)·σ(−2u)·2u',   u' = √(2/π)(1 + 3κx²).
 * (σ' = σ(1 − σ), and 1 − σ(z) = σ(−z) is computed directly, so neither
 * 1 + tanh u nor 1 − σ loses digits for large |u|.) Check: slope ½ at 0.
 * Far out σ(2u)·σ(−2u) underflows to 0 while u' = √(2/π)(1 + 3κx²) overflows
 * (|x| ≳ 3.6e154), and 0·∞ would be NaN: where the product σσ is 0 for a
 * finite x, the second term is its limit 0 (x³e^{−2u} → 0), so the slope is
 * 1 or 0 as in the exact form. (PyTorch's tanh-form backward gives NaN there.)
 * At x = ±∞ the slope is NaN, as in PyTorch.
 */
export const gelu = defineOp({
  name: "gelu",
  forward(ctx, x: Tensor, approximate: GeluApproximate = "none"): Tensor {
    requireFloat(x.dtype, "gelu", "input");
    if (approximate !== "none" && approximate !== "tanh") {
      throw new ValueError(`gelu: approximate must be "none" or "tanh", got ${JSON.stringify(approximate)}`);
    }
    const xc = x.contiguous();
    const xs = xc.data;
    const y = Tensor.empty(x.shape, x.dtype);
    const ys = y.data;
    // cdf holds Φ(x) (exact form) or σ(2u) (tanh form): what backward needs.
    const cdf = new Float64Array(xs.length);
    for (let i = 0; i < xs.length; i++) {
      const v = xs[i]!;
      const p = approximate === "none" ? normalCdf(v) : sigmoid(2 * SQRT_2_OVER_PI * (v + KAPPA * v * v * v));
      cdf[i] = p;
      ys[i] = v * p;
    }
    ctx.save({ xc, cdf, approximate });
    return y;
  },
  backward(ctx, g) {
    const { xc, cdf, approximate } = ctx.saved as { xc: Tensor; cdf: Float64Array; approximate: GeluApproximate };
    const xs = xc.data;
    const gs = g.contiguous().data;
    const dx = Tensor.empty(xc.shape, g.dtype);
    const d = dx.data;
    for (let i = 0; i < xs.length; i++) {
      const v = xs[i]!;
      const p = cdf[i]!;
      let slope: number;
      if (approximate === "none") {
        slope = p + v * normalPdf(v);
      } else {
        const du = SQRT_2_OVER_PI * (1 + 3 * KAPPA * v * v);
        const q = sigmoid(-2 * SQRT_2_OVER_PI * (v + KAPPA * v * v * v));
        const pq = p * q;
        slope = pq === 0 && v - v === 0 ? p : p + v * pq * 2 * du;
      }
      d[i] = gs[i]! * slope;
    }
    return [dx];
  },
  domain: { inputs: [{ range: [-5, 5] }] },
});

/** σ(z) = 1/(1 + e^{−z}) without overflow for either sign of z. */
function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}
