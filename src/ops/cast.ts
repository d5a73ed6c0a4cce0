import { defineOp } from "./define-op.js";
import { Tensor } from "../tensor/tensor.js";
import { allocate, type DType } from "../tensor/dtype.js";
import { DTypeError } from "../tensor/errors.js";

/**
 * cast(x, dtype): the values in another dtype (`x.to(dtype)`). float64 →
 * float32 rounds to nearest. To int32 the values must already be integers
 * (nothing is silently truncated); an int32 result carries no gradient.
 *
 * Backward (between float types). The identity up to rounding: dx = g, cast
 * back to x's dtype (autograd casts every gradient to its input's dtype).
 */
export const cast = defineOp({
  name: "cast",
  forward(_ctx, x: Tensor, dtype: DType): Tensor {
    const src = x.contiguous().data;
    if (dtype === "int32") {
      if (x.requiresGrad) throw new DTypeError("cast: a tensor that requires grad cannot become int32; detach() it first");
      for (let i = 0; i < src.length; i++) {
        const v = src[i]!;
        if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) {
          throw new DTypeError(`cast: only integral values fit in int32, got ${v} at flat index ${i}`);
        }
      }
    }
    const out = allocate(dtype, src.length);
    out.set(src);
    return new Tensor(out, x.shape);
  },
  backward(_ctx, g) {
    return [g];
  },
});
