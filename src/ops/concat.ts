import { defineComposite, defineOp } from "./define-op.js";
import { Tensor } from "../tensor/tensor.js";
import { ShapeError, ValueError } from "../tensor/errors.js";
import { normalizeAxis, shapeStr } from "../tensor/shape.js";
import { requireFloat } from "../tensor/dtype.js";
import { writeStrided } from "../kernels/strided.js";
import { slice } from "./slice.js";

/**
 * concat(tensors, dim = 0): join tensors along an existing axis; all other
 * sizes must agree. float32 with float64 gives float64.
 *
 * Backward. Each input occupies a block [offsetₖ, offsetₖ + nₖ) of the axis,
 * so its gradient is that block of g: dxₖ = slice(g, dim, offsetₖ, offsetₖ + nₖ).
 */
const concatOp = defineOp({
  name: "concat",
  forward(ctx, dim: number, ...xs: Tensor[]): Tensor {
    if (xs.length === 0) throw new ValueError("concat: tensors must be a non-empty list");
    const first = xs[0]!;
    const ax = normalizeAxis(dim, first.ndim, "dim", "concat");
    let dtype = requireFloat(first.dtype, "concat", "tensors[0]");
    let total = 0;
    xs.forEach((x, k) => {
      if (requireFloat(x.dtype, "concat", `tensors[${k}]`) === "float64") dtype = "float64";
      if (x.ndim !== first.ndim || x.shape.some((d, i) => i !== ax && d !== first.shape[i])) {
        throw new ShapeError(`concat: tensors[${k}] has shape ${shapeStr(x.shape)}, which does not match ${shapeStr(first.shape)} outside dim ${ax}`);
      }
      total += x.shape[ax]!;
    });
    const shape = [...first.shape];
    shape[ax] = total;
    const y = Tensor.empty(shape, dtype);
    const starts: number[] = [];
    let at = 0;
    for (const x of xs) {
      starts.push(at);
      writeStrided(y.data, at * y.strides[ax]!, x.shape, y.strides, x.contiguous().data);
      at += x.shape[ax]!;
    }
    ctx.save({ ax, starts, sizes: xs.map((x) => x.shape[ax]!) });
    return y;
  },
  backward(ctx, g) {
    const { ax, starts, sizes } = ctx.saved as { ax: number; starts: number[]; sizes: number[] };
    return [null, ...starts.map((s, k) => (ctx.needsInputGrad[k + 1] ? slice(g, ax, s, s + sizes[k]!) : null))];
  },
  domain: { inputs: [{}], kind: "concat" },
});

export const concat = defineComposite(
  "concat",
  (tensors: readonly Tensor[], dim = 0): Tensor => concatOp(dim, ...tensors),
  concatOp.spec.domain,
);
