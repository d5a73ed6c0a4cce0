import { defineOp } from "./define-op.js";
import type { Tensor } from "../tensor/tensor.js";
import { unary } from "./elementwise.js";

/**
 * neg(x) = −x.   Backward: dx = −g.
 */
export const neg = defineOp({
  name: "neg",
  forward(_ctx, x: Tensor): Tensor {
    return unary("neg", "neg", x);
  },
  backward(_ctx, g): (Tensor | null)[] {
    return [neg(g)];
  },
});
