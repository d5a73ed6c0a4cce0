import { defineOp } from "./define-op.js";
import { Tensor } from "../tensor/tensor.js";

/**
 * clone(x): a contiguous copy with its own storage.
 *
 * Backward. The identity: dx = g.
 */
export const clone = defineOp({
  name: "clone",
  forward(_ctx, x: Tensor): Tensor {
    return new Tensor(x.copyData(), x.shape);
  },
  backward(_ctx, g) {
    return [g];
  },
});
