import type { Tensor } from "../tensor/tensor.js";
import { mul } from "../ops/mul.js";
import { fusedWithGraph } from "./fused-with-graph.js";

/**
 * The two backward paths of a fused loss whose gradients the kernel formed in the forward
 * pass (dkdLoss, distLoss, nkdLoss, wsldLoss): the ordinary one hands them over, times the
 * upstream scalar; the createGraph one returns the same values carrying the graph of the
 * gradient written with ops (fusedWithGraph).
 */

/**
 * The ordinary backward of a fused loss whose gradients were formed in the forward pass:
 * the saved gradients times the upstream scalar g. A saved gradient is nobody else's once
 * the graph is freed: handed over, a leaf's .grad takes it without a copy.
 */
export function handOverGradients(
  ctx: { handOver(t: Tensor): Tensor; lastUse: boolean }, g: Tensor, dS: Tensor | null, dT: Tensor | null,
): [Tensor | null, Tensor | null] {
  const scale = g.item();
  const give = (d: Tensor | null): Tensor | null => {
    if (d === null) return null;
    if (scale !== 1) return ctx.handOver(mul(d, scale));
    return ctx.lastUse ? ctx.handOver(d) : d;
  };
  return [give(dS), give(dT)];
}

/**
 * The createGraph backward of a fused loss: the kernel's gradients times g, carrying the
 * graph of `form·g` (fusedWithGraph); a null form (every term of weight 0) keeps the value.
 */
export function withGraph(
  fn: string, g: Tensor, dS: Tensor | null, dT: Tensor | null, formS: Tensor | null, formT: Tensor | null,
): [Tensor | null, Tensor | null] {
  const scale = g.item();
  const value = (d: Tensor): Tensor => (scale !== 1 ? mul(d, scale) : d);
  const one = (d: Tensor | null, form: Tensor | null): Tensor | null =>
    d === null ? null : form === null ? value(d) : fusedWithGraph(fn, value(d), mul(form, g));
  return [one(dS, formS), one(dT, formT)];
}
