import { defineOp } from "./define-op.js";
import { Tensor, checkTensor } from "../tensor/tensor.js";
import type { DType, Storage } from "../tensor/dtype.js";
import { DTypeError } from "../tensor/errors.js";
import { kernel } from "../kernels/registry.js";
import { contiguousData } from "./elementwise.js";

/**
 * cast(x, dtype): the values in another dtype (`x.to(dtype)`). float64 →
 * float32 rounds to nearest. To int32 the values must already be integers
 * in int32's range (nothing is silently truncated or wrapped); an int32
 * result carries no gradient.
 *
 * Backward (between float types). The identity up to rounding: dx = g, cast
 * back to x's dtype (autograd casts every gradient to its input's dtype).
 * Check: for float32 → float64, exactly the identity; float64 → float32
 * rounds, whose derivative is 1 almost everywhere.
 *
 * Second order. dx = cast(g) is linear in g and free of x, so ∂²o/∂x² = 0;
 * the backward's own vector-Jacobian product is again a cast, made by the
 * same dtype conversion in backward.ts.
 */
export const cast = castOp("cast");

/**
 * `x.to(dtype)` (installed by methods.ts): cast under the method's own name, so that its
 * messages name what the user wrote (`Tensor.to: only integral values fit in int32, …`).
 */
export const castTo = castOp("Tensor.to");

function castOp(name: string) {
  return defineOp({
    name,
    forward(_ctx, x: Tensor, dtype: DType): Tensor {
      checkTensor(x, name, "input");
      if (dtype === "int32" && x.requiresGrad) throw new DTypeError(`${name}: a tensor that requires grad cannot become int32; detach() it first`);
      return new Tensor(castData(x, dtype, name), x.shape);
    },
    backward(_ctx, g) {
      return [g];
    },
  });
}

/**
 * x's elements in row-major order as a new storage of `dtype`, through the
 * copy kernels (copyInt32 checks that each value is an integer in range).
 * For ops that convert an operand (concat of float32 with float64).
 */
export function castData(x: Tensor, dtype: DType, fn = "cast"): Storage {
  const o = Tensor.empty(x.shape, dtype);
  const src = { data: x.data, offset: x.offset, strides: x.strides };
  if (dtype !== "int32") {
    kernel("copy", x.dtype, x.size)(src, x.shape, o.data);
    return o.data;
  }
  const bad = kernel("copyInt32", x.dtype, x.size)(src, x.shape, o.data as Int32Array);
  if (bad >= 0) {
    throw new DTypeError(`${fn}: only integral values fit in int32, got ${contiguousData(x)[bad]} at flat index ${bad}`);
  }
  return o.data;
}
