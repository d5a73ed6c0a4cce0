import type { Tensor } from "../tensor/tensor.js";
import { add } from "../ops/add.js";
import { compare } from "../ops/elementwise.js";
import { div } from "../ops/div.js";
import { mean } from "../ops/mean.js";
import { mul } from "../ops/mul.js";
import { sqrt } from "../ops/sqrt.js";
import { sub } from "../ops/sub.js";
import { sum } from "../ops/sum.js";
import { where } from "../ops/where.js";

/**
 * A private stand-in, for dkdLoss's `standardize` option only, for the shared op
 * `standardizeLogits(x, dim, eps)` that issue 12 (item 6) adds on a parallel branch:
 * the same formula, so that at the merge dkdLoss calls `standardizeLogits(x, -1, 1e-7)`
 * and this file is deleted. Not exported from src/index.ts.
 *
 * Logit standardization (Sun et al., CVPR 2024), row by row of x [B, C]:
 *
 *   z̃ = z − mean z,   σ = √(Σ z̃²/(C − 1))  (unbiased),   standardize(z) = z̃/(σ + ε),  ε = 1e-7.
 *
 * Written with ops, so it is differentiable through the mean and the std to any order.
 * Its derivative: with v = Σ z̃²/(C − 1), ∂σ/∂z = z̃/((C − 1)·σ) (the centring projects,
 * and z̃ is already centred), so
 *   ∂(z̃ᵢ/(σ + ε))/∂z_k = (δᵢₖ − 1/C)/(σ + ε) − z̃ᵢ·z̃_k/((C − 1)·σ·(σ + ε)²).
 * Check: Σ_k of it is 0 (a constant added to the row changes nothing), and for ε = 0 its
 * contraction with z is 0 (a positive scale changes nothing: the output is then
 * scale-invariant, up to ε/σ with ε > 0).
 *
 * A row with σ = 0 (all logits equal): the output is 0 and the std is a constant there
 * (selected with where before the square root, whose derivative at 0 is infinite), so the
 * gradient is the finite (I − 11ᵀ/C)/ε: the std's own derivative multiplies z̃ = 0 in the
 * formula above. (PyTorch's composite gives NaN there.) A row with −∞, +∞ or NaN has no
 * mean: NaN.
 */
export function standardizeRows(x: Tensor, fn: string): Tensor {
  const C = x.shape[x.ndim - 1]!;
  const centredX = sub(x, mean(x, -1, true));
  const v = div(sum(mul(centredX, centredX), -1, true), C - 1);
  const positive = compare(fn, "gt", v, 0);
  const std = where(positive, sqrt(where(positive, v, 1)), 0);
  return div(centredX, add(std, 1e-7));
}
