import { defineOp } from "./define-op.js";
import { Tensor, checkFloatTensor } from "../tensor/tensor.js";
import { kernel } from "../kernels/registry.js";
import { contiguousData } from "./elementwise.js";

/**
 * relu(x) = max(x, 0). relu(−0) is +0 on every backend (PyTorch's CPU kernel
 * returns −0; the sign of a zero is cosmetic here, docs/ops.md). NaN stays NaN.
 *
 * Backward. The slope is 1 for x > 0 and 0 for x < 0; at x = 0 we use 0,
 * as PyTorch does. dx = g ⊙ [o > 0], read from the saved output: the op
 * reluBackward below, a fused kernel with a derivative of its own.
 */
export const relu = defineOp({
  name: "relu",
  forward(ctx, x: Tensor): Tensor {
    checkFloatTensor(x, "relu", "input");
    const o = Tensor.empty(x.shape, x.dtype);
    kernel("relu", x.dtype, o.size)(contiguousData(x), o.data);
    ctx.save({ o });
    return o;
  },
  backward(ctx, g) {
    const dx = reluBackward(g, ctx.saved.o as Tensor);
    return [ctx.createGraph ? dx : ctx.handOver(dx)];
  },
});

/**
 * reluBackward(g, o) = g ⊙ [o > 0] (relu's vector-Jacobian product), with an
 * exact 0 where o ≤ 0 even for an infinite or NaN g (selected, not
 * multiplied). Internal: relu's backward, made an op so that it can itself
 * be differentiated (PyTorch's threshold_backward).
 *
 * Backward. The map is linear in g with the constant mask [o > 0], so
 * ∂/∂g gives reluBackward(gg, o); as a function of o it is a step, whose
 * derivative is 0 wherever it exists (relu'' = 0), so o gets none.
 */
const reluBackward = defineOp({
  name: "reluBackward",
  forward(ctx, g: Tensor, o: Tensor): Tensor {
    const dx = Tensor.empty(o.shape, g.dtype);
    kernel("reluBackward", g.dtype, dx.size)(o.data, contiguousData(g), dx.data);
    ctx.save({ o });
    return dx;
  },
  backward(ctx, gg): (Tensor | null)[] {
    return [ctx.needsInputGrad[0] ? reluBackward(gg, ctx.saved.o as Tensor) : null, null];
  },
});
