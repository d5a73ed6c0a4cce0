import { defineOp } from "./define-op.js";
import { Tensor } from "../tensor/tensor.js";
import { broadcastAll } from "../tensor/broadcast.js";
import { promoteTypes, type Storage } from "../tensor/dtype.js";
import { asTensor } from "./elementwise.js";
import { expand } from "./expand.js";

/**
 * where(condition, a, b): aᵢ where conditionᵢ ≠ 0, else bᵢ; all three
 * broadcast together. `condition` is any tensor (int32 0/1 is usual) and
 * gets no gradient.
 *
 * Backward. y is a or b element by element, so da = g·[c ≠ 0] and
 * db = g·[c = 0]; the two masks add up to 1.
 */
export const where = defineOp({
  name: "where",
  forward(ctx, condition: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
    const x = asTensor(a, b instanceof Tensor ? b.dtype : "float32", "where", "input");
    const z = asTensor(b, x.dtype, "where", "other");
    const dtype = promoteTypes(x.dtype, z.dtype, "where");
    const shape = broadcastAll([condition.shape, x.shape, z.shape], "where");
    const c = expand(condition, shape).contiguous().data;
    const xs = expand(x, shape).contiguous().data;
    const zs = expand(z, shape).contiguous().data;
    const y = Tensor.empty(shape, dtype);
    const ys = y.data;
    for (let i = 0; i < ys.length; i++) ys[i] = c[i] !== 0 ? xs[i]! : zs[i]!;
    ctx.save({ c });
    return y;
  },
  backward(ctx, g) {
    const c = ctx.saved.c as Storage;
    const gs = g.contiguous().data;
    const pick = (onTrue: boolean): Tensor => {
      const d = Tensor.empty(g.shape, g.dtype);
      for (let i = 0; i < gs.length; i++) d.data[i] = (c[i] !== 0) === onTrue ? gs[i]! : 0;
      return d;
    };
    return [null, ctx.needsInputGrad[1] ? pick(true) : null, ctx.needsInputGrad[2] ? pick(false) : null];
  },
  domain: { inputs: [{}, {}, {}], broadcast: true, kind: "where" },
});
