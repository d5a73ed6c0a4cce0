import { defineOp } from "./define-op.js";
import { Tensor } from "../tensor/tensor.js";
import { requireFloat } from "../tensor/dtype.js";
import { DTypeError, ValueError } from "../tensor/errors.js";
import { describeValue, laneGeometry, normalizeAxis } from "../tensor/shape.js";
import { kernel } from "../kernels/registry.js";
import { compare, contiguousData } from "./elementwise.js";
import { abs } from "./abs.js";
import { add } from "./add.js";
import { cast } from "./cast.js";
import { div } from "./div.js";
import { maximum } from "./maximum.js";
import { mul } from "./mul.js";
import { sqrt } from "./sqrt.js";
import { sub } from "./sub.js";
import { sum } from "./sum.js";
import { where } from "./where.js";

/**
 * standardizeLogits(x, dim = −1, eps = 1e-7): logit standardization (Sun et al., "Logit
 * Standardization in Knowledge Distillation", CVPR 2024), along `dim`:
 *
 *   o = (x − x̄)/(σ + eps),   x̄ = mean of the lane,   σ = √(Σ(x − x̄)²/(n − 1))  (unbiased),
 *
 * the z-score their code applies to student and teacher logits before the temperature
 * (torch's x.std() is unbiased). `distillationLoss(…, { standardize: true })` uses it.
 *
 * Masks and edges. A −∞ entry (a masked class) stays −∞ and is left out of x̄, σ and n, so a
 * masked class stays masked and the others are standardized among themselves (a −∞ in PyTorch's
 * formula makes the whole lane NaN). A lane with fewer than two entries that are not −∞ has
 * σ = 0 (its deviations are all exactly 0; PyTorch's unbiased std is 0/0 = NaN there), so its
 * finite entries become 0. A lane holding NaN or +∞ is NaN (NaN in, NaN out). eps must be a
 * finite number ≥ 0; eps = 0 gives 0/0 = NaN on a constant lane.
 *
 * Forward: the `standardize` kernel, float64 (kernels/table.ts states its accuracy), saving
 * σ per lane.
 *
 * Backward. Write σ₊ = σ + eps (`den` in the code) and o = (x − x̄)/σ₊, over one lane of n
 * entries. With ∂x̄/∂x_j = 1/n and ∂σ/∂x_j = (x_j − x̄)/((n − 1)σ) (the −x̄ terms sum to 0),
 *   ∂o_i/∂x_j = (δ_ij − 1/n)/σ₊ − (x_i − x̄)(x_j − x̄)/(σ₊²(n − 1)σ)
 *            = (δ_ij − 1/n)/σ₊ − o_i·o_j/((n − 1)σ),
 * a symmetric Jacobian, so
 *   dx_j = Σ_i g_i ∂o_i/∂x_j = [(g_j − ḡ) − o_j·⟨g, o⟩·σ₊/((n − 1)σ)]/σ₊.
 * Checks. Σ_j dx_j = 0 (Σ o = 0): a constant added to the lane changes nothing. ⟨dx, x − x̄⟩ =
 * ⟨g, o⟩·(1 − σ/σ₊) = ⟨g, o⟩·eps/σ₊: with eps = 0, o is invariant to a positive scale of the
 * lane, so its derivative along x − x̄ vanishes. At σ = 0 (a constant lane) the second term is
 * o·⟨g, o⟩/σ·(…) = (x − x̄)⟨g, x − x̄⟩/(σσ₊²) = O(σ) → 0: the derivative exists and is
 * (I − 11ᵀ/n)/eps (o ≈ (x − x̄)/eps for deviations far below eps). Masked entries get 0.
 *
 * Second order. The rule above written with ops (standardizeLogitsVjp), recomputing x̄ (`mu`), σ
 * and o from the saved input x, so its derivative in x and in g is the second derivative of the
 * standardization. The fused kernel `standardizeBackward` gives the value; when backward
 * creates a graph, that value carries the graph of the ops form (value + form − sg(form), sg the detached form, as
 * losses/fused-with-graph.ts does; ops may not import losses, hence a local copy of the line). At a constant lane σ is not differentiable (o's second
 * derivative does not exist there); the form keeps σ = 0 as a constant there, so the second
 * derivative it returns is that of o = (x − x̄)/eps, finite, not NaN.
 *
 * @example
 * standardizeLogits(tensor([[1, 2, 3]])).toArray();   // [[-1, 0, 1]] (to 1e-7 relative)
 */
export const standardizeLogits = defineOp({
  name: "standardizeLogits",
  forward(ctx, x: Tensor, dim: number = -1, eps: number = 1e-7): Tensor {
    const fn = "standardizeLogits";
    if (!(x instanceof Tensor)) throw new DTypeError(`${fn}: input must be a Tensor, got ${describeValue(x)}`);
    const dtype = requireFloat(x.dtype, fn, "input");
    const ax = normalizeAxis(dim, x.ndim, "dim", fn);
    if (typeof eps !== "number" || !(eps >= 0 && eps < Infinity)) {
      throw new ValueError(`${fn}: eps must be a finite number ≥ 0, got ${describeValue(eps)}`);
    }
    const lanes = laneGeometry(x.shape, ax);
    const o = Tensor.empty(x.shape, dtype);
    const sigma = new Float64Array(lanes.outer * lanes.inner);
    kernel("standardize", dtype, o.size)(contiguousData(x), lanes, eps, o.data, sigma);
    ctx.save({ x, o, sigma, ax, eps });
    return o;
  },
  backward(ctx, g) {
    const { x, o, sigma, ax, eps } = ctx.saved as { x: Tensor; o: Tensor; sigma: Float64Array; ax: number; eps: number };
    const dx = Tensor.empty(x.shape, x.dtype);
    kernel("standardizeBackward", x.dtype, dx.size)(o.data, sigma, eps, contiguousData(g), laneGeometry(x.shape, ax), dx.data);
    if (!ctx.createGraph) return [ctx.handOver(dx), null, null];
    // The kernel's value (x̄ from a shifted sum: the ops form's plain mean loses ε·|x|/σ of o on
    // a lane far from 0) carrying the graph of the form (fusedWithGraph's trick).
    return [withGraphOf(dx, standardizeLogitsVjp(x, g, ax, eps)), null, null];
  },
});

/** value + (form − sg(form)), sg(form) = form detached, with the non-finite entries of form selected out (losses/fused-with-graph.ts). */
function withGraphOf(value: Tensor, form: Tensor): Tensor {
  const finite = compare("standardizeLogits", "lt", abs(form.detach()), Infinity);
  return add(value, where(finite, sub(form, form.detach()), 0));
}

/**
 * standardizeLogits's vector-Jacobian product written with ops (its derivation is above), from
 * the input x itself: x̄ (`mu`), σ and o are recomputed with ops so that the result is differentiable
 * in x and in g. The lane's count n and the masks (x ≠ −∞; NaN counts, so it propagates) are
 * constants. Where σ = 0 the term with 1/σ is selected to 0, and σ is taken as the constant 0
 * (sqrt's derivative at 0 is infinite; the selection keeps it out of the graph).
 */
export function standardizeLogitsVjp(x: Tensor, g: Tensor, ax: number, eps: number): Tensor {
  const fn = "standardizeLogits";
  const kept = compare(fn, "ne", x, -Infinity);
  const n = sum(cast(kept, x.dtype), ax, true);
  const nSafe = maximum(n, 1);
  const nm1 = maximum(sub(n, 1), 1);
  const mu = div(sum(where(kept, x, 0), ax, true), nSafe);
  const d = where(kept, sub(x, mu), 0);
  const ss = sum(mul(d, d), ax, true);
  const pos = compare(fn, "gt", ss, 0);
  const sigma = where(pos, sqrt(div(where(pos, ss, 1), nm1)), 0);
  const den = add(sigma, eps);
  const o = div(d, den);
  const gk = where(kept, g, 0);
  const gbar = div(sum(gk, ax, true), nSafe);
  const gy = sum(mul(gk, o), ax, true);
  const k = where(pos, div(den, mul(nm1, where(pos, sigma, 1))), 0);
  return where(kept, div(sub(sub(gk, gbar), mul(o, mul(gy, k))), den), 0);
}
