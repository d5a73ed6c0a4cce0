import { defineOp } from "./define-op.js";
import { Tensor, checkTensor } from "../tensor/tensor.js";
import { ShapeError } from "../tensor/errors.js";
import { describeValue, normalizeAxis } from "../tensor/shape.js";

/**
 * permute(x, dims): axis i of the result is axis dims[i] of x (a view).
 *
 * Backward. The inverse permutation π⁻¹ (π⁻¹[π[i]] = i) puts g's axes back:
 * dx = permute(g, π⁻¹), a view. Check: permute(permute(x, π), π⁻¹) = x, and
 * ⟨permute(x, π), g⟩ = ⟨x, permute(g, π⁻¹)⟩ (the same pairs of elements).
 *
 * Second order. The backward is a permutation, linear in g and free of x
 * (∂²o/∂x² = 0); its own vector-Jacobian product is permute(·, π) again.
 */
export const permute = defineOp({
  name: "permute",
  forward(ctx, x: Tensor, dims: readonly number[]): Tensor {
    checkTensor(x, "permute", "input");
    if (!Array.isArray(dims)) throw new ShapeError(`permute: dims must be a list of the ${x.ndim} axes in their new order, got ${describeValue(dims)}`);
    if (dims.length !== x.ndim) {
      throw new ShapeError(`permute: dims ${describeValue(dims)} must list each of the ${x.ndim} axes of shape [${x.shape.join(",")}] once`);
    }
    const perm = dims.map((d) => normalizeAxis(d, x.ndim, "dims", "permute"));
    if (new Set(perm).size !== perm.length) {
      throw new ShapeError(`permute: dims ${describeValue(dims)} repeats an axis`);
    }
    const inverse = new Array<number>(perm.length);
    perm.forEach((p, i) => (inverse[p] = i));
    ctx.save({ inverse });
    return x.asStrided(perm.map((p) => x.shape[p]!), perm.map((p) => x.strides[p]!), x.offset);
  },
  backward(ctx, g): (Tensor | null)[] {
    return [permute(g, ctx.saved.inverse as number[])];
  },
});
