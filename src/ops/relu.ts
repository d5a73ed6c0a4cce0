import { defineOp } from "./define-op.js";
import { Tensor, checkFloatTensor } from "../tensor/tensor.js";
import { kernel } from "../kernels/registry.js";
import { contiguousData } from "./elementwise.js";

/**
 * relu(x) = max(x, 0). relu(−0) is +0 on every backend (PyTorch's CPU kernel
 * returns −0; the sign of a zero is cosmetic here, docs/ops.md). NaN stays NaN.
 *
 * Backward. The slope is 1 for x > 0 and 0 for x < 0; at x = 0 we use 0,
 * as PyTorch does. dx = g ⊙ [y > 0], read from the saved output: the op
 * reluBackward below, a fused kernel with a derivative of its own.
 */
export const relu = defineOp({
  name: "relu",
  forward(ctx, x: Tensor): Tensor {
    checkFloatTensor(x, "relu", "input");
    const y = Tensor.empty(x.shape, x.dtype);
    kernel("relu", x.dtype, y.size)(contiguousData(x), y.data);
    ctx.save({ y });
    return y;
  },
  backward(ctx, g) {
    const dx = reluBackward(g, ctx.saved.y as Tensor);
    return [ctx.createGraph ? dx : ctx.handOver(dx)];
  },
});

/**
 * reluBackward(g, y) = g ⊙ [y > 0] (relu's vector-Jacobian product), with an
 * exact 0 where y ≤ 0 even for an infinite or NaN g (selected, not
 * multiplied). Internal: relu's backward, made an op so that it can itself
 * be differentiated (PyTorch's threshold_backward).
 *
 * Backward. The map is linear in g with the constant mask [y > 0], so
 * ∂/∂g gives reluBackward(gg, y); as a function of y it is a step, whose
 * derivative is 0 wherever it exists (relu'' = 0), so y gets none.
 */
const reluBackward = defineOp({
  name: "reluBackward",
  forward(ctx, g: Tensor, y: Tensor): Tensor {
    const dx = Tensor.empty(y.shape, g.dtype);
    kernel("reluBackward", g.dtype, dx.size)(y.data, contiguousData(g), dx.data);
    ctx.save({ y });
    return dx;
  },
  backward(ctx, gg): (Tensor | null)[] {
    return [ctx.needsInputGrad[0] ? reluBackward(gg, ctx.saved.y as Tensor) : null, null];
  },
});
