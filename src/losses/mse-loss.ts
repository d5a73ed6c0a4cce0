import { defineOp } from "../ops/define-op.js";
import { checkOptions } from "../tensor/options.js";
import { Tensor, checkFloatTensor } from "../tensor/tensor.js";
import { promoteTypes, requireFloat, type Storage } from "../tensor/dtype.js";
import { kernel } from "../kernels/registry.js";
import { contiguousData } from "../ops/elementwise.js";
import { div } from "../ops/div.js";
import { mul } from "../ops/mul.js";
import { neg } from "../ops/neg.js";
import { sub } from "../ops/sub.js";
import { broadcastTarget, checkReduction, type Reduction } from "./checks.js";
import { fusedWithGraph } from "./fused-with-graph.js";

/**
 * mseLoss(input, target, { reduction = 'mean' }): l = (x − t)² element-wise,
 * then 'mean' (over every element), 'sum' or 'none'. As in PyTorch, the
 * target may be broadcast to the input's shape (PyTorch also warns then);
 * any other mismatch is a ShapeError. The loop is the `squaredError` kernel
 * (x − t in float64, the sum of the unrounded squares).
 *
 * Backward. ∂l/∂x = 2(x − t) and ∂l/∂t = −2(x − t), so with s the upstream
 * times the reduction scale (g, or g/n for 'mean'): dx = 2(x − t)·s, dt = −dx
 * (kernel squaredErrorBackward, from the saved inputs). A broadcast target's
 * dt is summed back to its shape by autograd.
 * Check: dx + dt = 0, since adding c to both x and t changes nothing.
 *
 * Second order. dx = 2(x − t)·s is linear in each of x, t and g:
 *   ∂dx/∂x = 2s·I,   ∂dx/∂t = −2s·I,   ∂dx/∂g = 2(x − t)/n ('mean'; /1 otherwise),
 * so the Hessian of the loss in (x, t) is (2/n)·[[I, −I], [−I, I]] per element (times g).
 * With createGraph the rule returns the kernel's values carrying the graph of
 * 2(x − t)·s written with ops (sub, mul, div; fusedWithGraph).
 * Check: each row of that Hessian sums to 0 over (x, t), as the first-order check requires.
 */
export const mseLoss = defineOp({
  name: "mseLoss",
  forward(ctx, input: Tensor, target: Tensor, opts?: { reduction?: Reduction }): Tensor {
    const fn = "mseLoss";
    checkFloatTensor(input, fn, "input");
    checkFloatTensor(target, fn, "target");
    const options = checkOptions(opts, fn, ["reduction"]);
    requireFloat(input.dtype, fn, "input");
    requireFloat(target.dtype, fn, "target");
    const t = broadcastTarget(input, target, fn);
    const reduction = checkReduction(options.reduction ?? "mean", ["mean", "sum", "none"] as const, fn);
    const dtype = promoteTypes(input.dtype, target.dtype, fn);
    const xs = contiguousData(input);
    const ts = contiguousData(t);
    const l = reduction === "none" ? Tensor.empty(input.shape, dtype) : null;
    const total = kernel("squaredError", dtype, input.size)(xs, ts, l ? l.data : null);
    const denominator = reduction === "mean" ? input.size : 1;
    ctx.save({ input, target, xs, ts, reduction, denominator });
    if (l) return l;
    const out = Tensor.empty([], dtype);
    out.data[0] = total / denominator;
    return out;
  },
  backward(ctx, g) {
    const { input, target, xs, ts, reduction, denominator } = ctx.saved as {
      input: Tensor; target: Tensor; xs: Storage; ts: Storage; reduction: Reduction; denominator: number;
    };
    const [wantX, wantT] = ctx.needsInputGrad;
    const dx = wantX ? Tensor.empty(input.shape, g.dtype) : null;
    const dt = wantT ? Tensor.empty(input.shape, g.dtype) : null;
    const scale = { g: contiguousData(g), each: reduction === "none", divisor: denominator };
    kernel("squaredErrorBackward", g.dtype, input.size)(xs, ts, scale, dx ? dx.data : null, dt ? dt.data : null);
    if (!ctx.createGraph) return [dx ? ctx.handOver(dx) : null, dt ? ctx.handOver(dt) : null, null];
    const s = reduction === "mean" ? div(g, denominator) : g;
    const form = mul(mul(sub(input, target), 2), s);
    return [dx ? fusedWithGraph("mseLoss", dx, form) : null, dt ? fusedWithGraph("mseLoss", dt, neg(form)) : null, null];
  },
});
