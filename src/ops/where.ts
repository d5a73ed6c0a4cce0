import { defineOp } from "./define-op.js";
import { Tensor, checkTensor } from "../tensor/tensor.js";
import { broadcastAll } from "../tensor/broadcast.js";
import { promoteTypes } from "../tensor/dtype.js";
import { DTypeError } from "../tensor/errors.js";
import { describeValue } from "../tensor/shape.js";
import { kernel } from "../kernels/registry.js";
import { asTensor, viewAs } from "./elementwise.js";

/**
 * where(condition, a, b): aᵢ where conditionᵢ ≠ 0, else bᵢ; all three
 * broadcast together. `condition` is any tensor (int32 0/1 is usual) and
 * gets no gradient. a and b are float (promoted together), or both int32.
 *
 * Backward. o is a or b element by element, so da = where(c, g, 0) and
 * db = where(c, 0, g); the two masks add up to 1. The zeros are selected,
 * not multiplied, so an infinite g gives the unselected side exactly 0.
 * Written with where itself, so it is differentiable (linear in g).
 */
export const where = defineOp({
  name: "where",
  forward(ctx, condition: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
    checkTensor(condition, "where", "condition");
    const x = asTensor(a, b instanceof Tensor ? b.dtype : "float32", "where", "input");
    const z = asTensor(b, x.dtype, "where", "other");
    // Two int32 operands select int32 values (masks); otherwise float promotion.
    const dtype = x.dtype === "int32" && z.dtype === "int32" ? "int32" : promoteTypes(x.dtype, z.dtype, "where");
    const shape = broadcastAll([condition.shape, x.shape, z.shape], "where");
    const o = Tensor.empty(shape, dtype);
    kernel("select", dtype, o.size)(viewAs(condition, shape, "where"), viewAs(x, shape, "where"), viewAs(z, shape, "where"), shape, o.data);
    ctx.save({ condition });
    return o;
  },
  backward(ctx, g): (Tensor | null)[] {
    const c = ctx.saved.condition as Tensor;
    return [null, ctx.needsInputGrad[1] ? where(c, g, 0) : null, ctx.needsInputGrad[2] ? where(c, 0, g) : null];
  },
});
