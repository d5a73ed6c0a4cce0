import { Tensor } from "../tensor/tensor.js";
import { DTypeError, ShapeError, ValueError } from "../tensor/errors.js";
import { describeValue, shapeStr } from "../tensor/shape.js";
import { paramList, type GradParams } from "./grad-params.js";

/**
 * The max-norm constraint of Srivastava et al. (2014), which Hinton, Vinyals and Dean's MNIST
 * teacher trains under: after each optimiser step, every hidden unit's vector of incoming
 * weights is projected back onto the ball of radius c = maxNorm,
 *
 *   w_r ← w_r · min(1, c / ‖w_r‖₂),
 *
 * where w_r is row r of a weight stored [outFeatures, inFeatures] (Linear's layout, so a row is
 * one unit's incoming weights). A row already inside the ball is left bit for bit as it is; a
 * row outside is scaled onto its surface. This is the Euclidean projection onto the ball (the
 * nearest point of it), which is what lets dropout use large learning rates without the
 * weights growing without bound. `torch.renorm(w, 2, 0, c)` computes the same thing (out of
 * place, with its own rounding of the scale).
 *
 * `weights` is one tensor or an iterable of them (e.g. the weights of a model's Linear layers;
 * pass biases and they are refused, since a 1-D tensor has no rows). Each must be a float32 or
 * float64 tensor of rank 2; strided views are written through their strides. The tensors are
 * changed in place and nothing is recorded for autograd (the constraint is a projection after
 * the step, not part of the loss). Returns the number of rows that were scaled.
 *
 * Numerics. ‖w_r‖ is computed in float64 as m·sqrt(Σ (w_rj/m)²) with m = max_j |w_rj|: every
 * term is ≤ 1, so no square overflows (float64 weights of 1e200) or underflows to zero (1e-200).
 * Its relative error is at most (n + 3)u₆₄/2 + u₆₄ for n inputs (n roundings of the sum of
 * non-negative terms, the division by m, the square root, the product by m; u₆₄ = 2⁻⁵³).
 * The scale s = c/‖w_r‖ is formed in float64 and each w_rj·s is rounded once to the weight's
 * dtype, so after the projection ‖w_r‖ ≤ c·(1 + u_d)(1 + (n + 5)u₆₄) with u_d the dtype's unit
 * roundoff (2⁻²⁴ for float32): within c·(1 + 2⁻²³) for float32 rows of up to 10⁶ inputs.
 * Check: a row of norm exactly 2c is halved; a row of norm c/2 is untouched.
 *
 * A row whose max already answers is not summed: the computed sum of n terms each ≤ 1 is ≤ n
 * (each partial sum is at most an integer ≤ n, which rounding, monotone, cannot pass), so the
 * computed norm is ≤ m·√n as computed (the square root and the product are monotone too); where
 * m·√n ≤ c the norm is ≤ c and the row would be left untouched, so it is left at once. The
 * decisions, and the bits, are those of summing every row; only the time changes (a row of
 * 1,200 inputs with no entry above 0.1 at c = 3.5, as a freshly initialised layer's).
 *
 * Non-finite weights (docs/non-finite.md). A row holding NaN has a NaN norm, which is not
 * above c: the row is left as it is and the NaN stays visible. A row holding ±∞ and no NaN has
 * norm ∞ and scale c/∞ = 0: its finite entries become 0 and its infinite ones NaN (∞·0), as
 * torch.renorm gives.
 *
 * @example opt.step(); maxNorm(model.parameters().filter((p) => p.ndim === 2), 3.5);
 */
export function maxNorm(weights: GradParams, maxNorm: number): number {
  const fn = "maxNorm";
  const list = paramList(weights, fn);
  if (typeof maxNorm !== "number" || !(maxNorm > 0)) {
    throw new ValueError(`${fn}: maxNorm must be a number > 0 (Infinity constrains nothing), got ${describeValue(maxNorm)}`);
  }
  list.forEach((w, i) => {
    if (w.dtype === "int32") throw new DTypeError(`${fn}: weights[${i}] must be float32 or float64, got int32`);
    if (w.ndim !== 2) {
      throw new ShapeError(`${fn}: weights[${i}] must be a matrix [outFeatures, inFeatures] (one row per unit), got shape ${shapeStr(w.shape)}`);
    }
  });
  let scaled = 0;
  for (const w of list) scaled += projectRows(w, maxNorm);
  return scaled;
}

/** Project each row of the 2-D float tensor `w` onto the ball of radius c, in place; the count of rows scaled. */
function projectRows(w: Tensor, c: number): number {
  const [rows, cols] = w.shape as [number, number];
  const [s0, s1] = w.strides as [number, number];
  const d = w.data;
  let scaled = 0;
  for (let r = 0; r < rows; r++) {
    const base = w.offset + r * s0;
    // m = max_j |w_rj|, NaN when an entry is (Math.max propagates NaN).
    let m = 0;
    for (let j = 0; j < cols; j++) m = Math.max(m, Math.abs(d[base + j * s1]!));
    if (m !== m || m === 0) continue; // a NaN row is left visible; a zero row has norm 0 ≤ c.
    let norm: number;
    if (m === Infinity) norm = Infinity;
    else if (!(m * Math.sqrt(cols) > c)) continue;
    else {
      // m·sqrt(Σ (wⱼ/m)²): each term ≤ 1, so nothing overflows or underflows (see above).
      let acc = 0;
      for (let j = 0; j < cols; j++) {
        const t = d[base + j * s1]! / m;
        acc += t * t;
      }
      norm = m * Math.sqrt(acc);
    }
    if (!(norm > c)) continue;
    const s = c / norm;
    for (let j = 0; j < cols; j++) d[base + j * s1] = d[base + j * s1]! * s;
    scaled++;
  }
  return scaled;
}
