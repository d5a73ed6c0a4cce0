import type { Tensor } from "../tensor/tensor.js";
import { ValueError } from "../tensor/errors.js";
import { checkBool, describeValue } from "../tensor/shape.js";
import { checkOptions } from "../tensor/options.js";
import { asPublicCall } from "../tensor/public-call.js";
import { noGrad } from "../autograd/no-grad.js";
import { abs } from "../ops/abs.js";
import { cast } from "../ops/cast.js";
import { div } from "../ops/div.js";
import { max } from "../ops/max.js";
import { mul } from "../ops/mul.js";
import { pow } from "../ops/pow.js";
import { sum } from "../ops/sum.js";
import { paramList, type GradParams } from "./grad-params.js";

/** Options of `clipGradNorm`: the norm type p (2 by default, `"inf"` for the max norm) and whether a non-finite total norm is an error. */
export interface ClipGradNormOptions {
  /** The norm's order p: a number > 0, or Infinity (also "inf") for the largest |g| (default 2). */
  normType?: number | "inf";
  /**
   * Refuse a non-finite total norm with a ValueError instead of scaling by it (default false,
   * as PyTorch's error_if_nonfinite).
   */
  errorIfNonfinite?: boolean;
}

/**
 * Rescale the gradients of `params` so that their joint p-norm is at most maxNorm, as
 * torch.nn.utils.clip_grad_norm_, and return that norm as it was before clipping.
 *
 * The norm is taken over all gradient elements together, as if concatenated:
 *   ‖g‖_p = (Σᵢ |gᵢ|ᵖ)^(1/p),   ‖g‖_∞ = maxᵢ |gᵢ|.
 * With c = maxNorm / (‖g‖ + 1e-6) (PyTorch's formula; the 1e-6 keeps c finite for a zero
 * gradient), every gradient is multiplied by min(c, 1): left as it is when ‖g‖ ≤ maxNorm
 * (up to the 1e-6), else scaled to norm maxNorm·‖g‖/(‖g‖ + 1e-6). Parameters whose grad is
 * null are skipped; with none left the norm is 0. The third argument is normType (a number)
 * or an options object; maxNorm = Infinity only measures.
 *
 * Numerics. The sum runs in float64 (float32 gradients are cast first: their squares cannot
 * overflow or underflow there), and the elements are first divided by a scale s:
 *   ‖g‖_p = s·(Σᵢ (|gᵢ|/s)ᵖ)^(1/p).
 * For p = 1 and 2, s is the largest power of two ≤ m = maxᵢ |gᵢ|. Dividing by a power of two
 * is exact and commutes with rounding, so the result is bit for bit the plain float64
 * Σ |gᵢ| or sqrt(Σ gᵢ²) whenever that does not overflow or underflow, and stays right when it
 * would (gradients of 1e200 or 1e-200). For other p, s = m, so every (|gᵢ|/m)ᵖ ≤ 1 and no p
 * overflows. Error bounds (N elements, u = 2⁻⁵³, γ_k = ku/(1 − ku), first order):
 *   p = 2: each square rounds once (u), recursive summation of N non-negative terms adds at
 *          most γ_{N−1}, the square root halves the relative error and rounds once (u/2),
 *          and ·s is exact: relative error ≤ (N + 1)u/2.
 *   p = 1: a sum of exact terms: ≤ γ_{N−1}.
 *   p = ∞: exact.
 *   other: each term has the division's u times p, plus pow's ≤ 1 ulp (2u): (p + 2)u; the
 *          sum adds γ_{N−1}; the root divides that by p, adds 2u and, through the rounded
 *          exponent 1/p, up to u·ln(Σ)/p with 1 ≤ Σ ≤ N (the largest term is exactly 1);
 *          ·m adds u: ≤ ((p + 2)u + γ_{N−1} + u·ln N)/p + 3u.
 * test/nn/clip-grad.test.ts checks these bounds against exact rational arithmetic. PyTorch computes the norm in the
 * gradients' dtype, per tensor then over the tensors' norms, so its float32 result can differ
 * from this one in the last float32 bits, and it overflows to ∞ where this one does not.
 * The coefficient c is formed in float64 and rounded to each gradient's dtype when it scales
 * it (as PyTorch's float32 coefficient).
 *
 * Non-finite gradients (docs/non-finite.md), as PyTorch with error_if_nonfinite=False: a
 * NaN anywhere makes the norm NaN, so c = NaN and every gradient becomes NaN; an infinite
 * element (and no NaN) makes it ∞, so c = 0: finite gradients become 0 and the infinite
 * ones NaN (∞·0). The norm returned says which. With { errorIfNonfinite: true } a non-finite
 * norm is a ValueError and no gradient changes.
 *
 * The gradients are replaced by new tensors (`p.grad = g·c`), not written in place; nothing
 * is recorded for autograd.
 *
 * @example loss.backward(); const norm = clipGradNorm(model.parameters(), 1.0); opt.step();
 */
export function clipGradNorm(params: GradParams, maxNorm: number, normType: number | "inf" | ClipGradNormOptions = 2): number {
  const fn = "clipGradNorm";
  const list = paramList(params, fn);
  if (typeof maxNorm !== "number" || !(maxNorm >= 0)) {
    throw new ValueError(`${fn}: maxNorm must be a number >= 0 (Infinity only measures), got ${describeValue(maxNorm)}`);
  }
  const options = typeof normType === "object" && normType !== null ? checkOptions(normType, fn, ["normType", "errorIfNonfinite"]) : { normType };
  const rawP = options.normType ?? 2;
  const p = rawP === "inf" ? Infinity : rawP;
  if (typeof p !== "number" || !(p > 0)) {
    throw new ValueError(`${fn}: normType must be a number > 0 or Infinity ("inf"), got ${describeValue(rawP)}`);
  }
  const errorIfNonfinite = checkBool(options.errorIfNonfinite ?? false, fn, "errorIfNonfinite");

  return asPublicCall(fn, () => noGrad(() => {
    const withGrad = list.filter((t) => t.grad !== null && t.grad.size > 0);
    // Each gradient's elements as float64 magnitudes (exact: a cast to float64 and |·| never round).
    const mags = withGrad.map((t) => abs(cast(t.grad!, "float64")));
    const maxima = mags.map((a) => max(a).item());
    const m = maxima.reduce((a, b) => (a > b || a !== a ? a : b), 0); // NaN wins, as in max
    let total: number;
    if (p === Infinity || m === 0 || !Number.isFinite(m)) {
      // ‖g‖_∞ = m exactly; and for finite p, m = 0 means g = 0, m = ∞ (no NaN) gives ∞, m = NaN gives NaN.
      total = m;
    } else {
      // p = 1, 2: s the largest power of two ≤ m (exact division, u ∈ [0, 2)); other p: s = m,
      // so u ∈ [0, 1] and uᵖ ≤ 1 cannot overflow however large p is.
      const s = p === 1 || p === 2 ? powerOfTwoBelow(m) : m;
      let acc = 0;
      for (const a of mags) {
        const u = div(a, s);
        acc += sum(p === 1 ? u : p === 2 ? mul(u, u) : pow(u, p)).item();
      }
      total = s * (p === 1 ? acc : p === 2 ? Math.sqrt(acc) : acc ** (1 / p));
    }
    if (!Number.isFinite(total) && errorIfNonfinite) {
      const bad = maxima.findIndex((v) => !Number.isFinite(v));
      throw new ValueError(`${fn}: the total norm of order ${p} of the gradients is ${total} (parameters[${list.indexOf(withGrad[bad]!)}] has a non-finite gradient element), so it cannot be clipped; with errorIfNonfinite false they would be scaled by ${maxNorm} / (${total} + 1e-6)`);
    }
    const coefficient = maxNorm / (total + 1e-6);
    // min(c, 1), PyTorch's clamp(max=1): NaN stays NaN. At exactly 1 the gradients are kept
    // as they are (g·1 = g, bit for bit), so nothing is copied.
    const c = coefficient < 1 || coefficient !== coefficient ? coefficient : 1;
    if (c !== 1) for (const t of withGrad) t.grad = mul(t.grad!, c);
    return total;
  }));
}

/** The largest power of two ≤ m, for 0 < m < ∞ (subnormal m too): a scale that divides exactly. */
function powerOfTwoBelow(m: number): number {
  // The exponent kept within float64's powers of two, 2⁻¹⁰⁷⁴ … 2¹⁰²³: Math.log2 of the largest
  // double rounds up to 1024, and 2¹⁰²⁴ = ∞ would never halve to a finite number.
  let s = 2 ** Math.min(Math.max(Math.floor(Math.log2(m)), -1074), 1023);
  // Math.log2 may be off by one next to a power of two; step to the exact one.
  while (s > m) s /= 2;
  while (s * 2 <= m) s *= 2;
  return s;
}
