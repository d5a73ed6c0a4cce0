import { defineOp } from "./define-op.js";
import { Tensor, checkTensor } from "../tensor/tensor.js";
import { kernel } from "../kernels/registry.js";

/**
 * clone(x): a contiguous copy with its own storage (the copy kernel).
 * `x.contiguous()` is clone when x is not already laid out from 0.
 *
 * Backward. The identity: dx = g. Check: ⟨clone(x), g⟩ = ⟨x, g⟩.
 *
 * Second order. dx = g is linear in g and free of x (∂²o/∂x² = 0); the
 * backward's own vector-Jacobian product is the identity again.
 */
export const clone = defineOp({
  name: "clone",
  forward(_ctx, x: Tensor): Tensor {
    checkTensor(x, "clone", "input");
    const o = Tensor.empty(x.shape, x.dtype);
    kernel("copy", x.dtype, x.size)({ data: x.data, offset: x.offset, strides: x.strides }, x.shape, o.data);
    return o;
  },
  backward(_ctx, g) {
    return [g];
  },
});
