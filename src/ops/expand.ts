import { defineOp } from "./define-op.js";
import { Tensor, checkTensor } from "../tensor/tensor.js";
import { ShapeError } from "../tensor/errors.js";
import { broadcastStrides } from "../tensor/broadcast.js";
import { checkCount, describeValue, shapeStr, sizeOf } from "../tensor/shape.js";

/**
 * expand(x, shape) (alias broadcastTo): a view of x broadcast to `shape`;
 * −1 keeps an existing size. Broadcast axes get stride 0, so nothing is copied.
 *
 * Backward. Each xⱼ is read by every oᵢ it was copied to, so dx sums g over
 * the copies. autograd does exactly this for every op (sumToShape), so the
 * rule here is dx = g in the broadcast shape.
 * Check: ⟨expand(x), g⟩ = Σⱼ xⱼ Σ_{copies i of j} gᵢ = ⟨x, sumToShape(g)⟩.
 *
 * Second order. sumToShape is written with sum and reshape, linear in g and
 * free of x (∂²o/∂x² = 0); its own vector-Jacobian product is sum's, a
 * broadcast back: expand again.
 */
export const expand = expandOp("expand");

/**
 * `x.broadcastTo(shape)` (installed by methods.ts): expand under the method's own name, so that
 * its messages name what the user wrote.
 */
export const broadcastTo = expandOp("Tensor.broadcastTo");

function expandOp(name: string) {
  return defineOp({
    name,
    forward(_ctx, x: Tensor, shape: readonly number[]): Tensor {
      checkTensor(x, name, "input");
      if (!Array.isArray(shape)) throw new ShapeError(`${name}: shape must be a list of sizes, got ${describeValue(shape)}`);
      const lead = shape.length - x.ndim;
      if (lead < 0) throw new ShapeError(`${name}: cannot expand ${shapeStr(x.shape)} to fewer dimensions ${describeValue(shape)}`);
      const target = shape.map((d, i) => (d === -1 && i >= lead ? x.shape[i - lead]! : d));
      if (target.some((d) => typeof d !== "number" || !Number.isInteger(d) || d < 0)) {
        throw new ShapeError(`${name}: invalid shape ${describeValue(shape)} (sizes must be non-negative integers, or -1 to keep an existing size)`);
      }
      // A view holds no copy, but its elements are indexed like any tensor's (argmax's int32 flat index).
      checkCount(sizeOf(target), name, () => `shape ${shapeStr(target)}`);
      return x.asStrided(target, broadcastStrides(x.shape, x.strides, target, name), x.offset);
    },
    backward(_ctx, g) {
      return [g];
    },
  });
}
