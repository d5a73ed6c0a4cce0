import { Tensor } from "../tensor/tensor.js";
import { handedOver, type Node } from "./node.js";
import { AutogradError, DTypeError, ShapeError, ValueError } from "../tensor/errors.js";
import { describeValue, sameShape, shapeStr, type Shape } from "../tensor/shape.js";
import { asPublicCall } from "../tensor/public-call.js";
import { noGrad } from "./no-grad.js";
import { add } from "../ops/add.js";
import { sum } from "../ops/sum.js";
import { reshape } from "../ops/reshape.js";
import { onesLike } from "../tensor/creation.js";

/**
 * Sum a gradient computed in a broadcast shape back to the shape of the
 * input it belongs to. If y = broadcast(x), each xⱼ feeds every yᵢ it was
 * copied to, so ∂L/∂xⱼ = Σᵢ ∂L/∂yᵢ over those copies: sum over the leading
 * axes broadcasting added and over the axes where x had size 1.
 * This is the one place every op's broadcast is undone.
 */
export function sumToShape(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.ndim - shape.length;
  if (lead < 0) throw new ShapeError(`backward: gradient of shape ${shapeStr(g.shape)} cannot be summed to ${shapeStr(shape)}`);
  const axes: number[] = [];
  for (let i = 0; i < g.ndim; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  return reshape(sum(g, axes, true), shape);
}

/**
 * The reverse walk. Collect the nodes reachable from `root` with an explicit
 * stack (no recursion, so a chain of 100,000 ops is fine), visit them by
 * descending id (a reverse topological order, since inputs are created
 * before outputs), and accumulate: a tensor used by several ops receives the
 * sum of their gradients (∂L/∂x = Σ over uses).
 *
 * The upstream `gradient` must be a Tensor of the output's shape. A float gradient of the
 * other float dtype is converted to the output's dtype first, as PyTorch's engine does: a
 * gradient always has the dtype of the tensor it belongs to, so a float32 leaf never gets a
 * float64 `.grad`, and each backward rule receives g in its output's dtype. An int32 gradient
 * is a DTypeError (PyTorch would convert it; kdgrad's int32 takes no part in arithmetic).
 */
export function runBackward(root: Tensor, gradient: Tensor | undefined, retainGraph: boolean): void {
  asPublicCall("backward", () => walk(root, gradient, retainGraph));
}

function walk(root: Tensor, gradient: Tensor | undefined, retainGraph: boolean): void {
  if (gradient !== undefined && gradient !== null && !(gradient instanceof Tensor)) {
    throw new ValueError(`backward: gradient must be a Tensor of the output's shape ${shapeStr(root.shape)} (or absent for a one-element output), got ${describeValue(gradient)}`);
  }
  if (typeof retainGraph !== "boolean") throw new ValueError(`backward: retainGraph must be true or false, got ${describeValue(retainGraph)}`);
  if (!root.requiresGrad) {
    throw new AutogradError("backward: the tensor does not require grad (no input of the computation has requiresGrad set, or it was computed under noGrad)");
  }
  let g0: Tensor;
  if (gradient === undefined || gradient === null) {
    if (root.size !== 1) {
      throw new AutogradError(`backward: gradient can be implicitly created only for a one-element output, got shape ${shapeStr(root.shape)}; pass a gradient of that shape`);
    }
    g0 = onesLike(root);
  } else {
    if (!sameShape(gradient.shape, root.shape)) {
      throw new ShapeError(`backward: gradient has shape ${shapeStr(gradient.shape)} but the output has shape ${shapeStr(root.shape)}`);
    }
    if (gradient.dtype === "int32") {
      throw new DTypeError(`backward: gradient must be float32 or float64, got int32 (the output is ${root.dtype})`);
    }
    g0 = gradient.dtype === root.dtype ? gradient.detach() : noGrad(() => gradient.to(root.dtype));
  }

  const order: Tensor[] = [];
  const seen = new Set<Node>();
  const stack: Tensor[] = [root];
  while (stack.length > 0) {
    const t = stack.pop()!;
    const node = t.node;
    if (node === null || seen.has(node)) continue;
    seen.add(node);
    order.push(t);
    for (const input of node.inputs) if (input !== null && input.node !== null) stack.push(input);
  }
  order.sort((a, b) => b.node!.id - a.node!.id);

  for (const t of order) {
    if (t.node!.freed) {
      throw new AutogradError(`backward: trying to go through the graph of ${t.node!.name} a second time, but its saved values were freed; pass { retainGraph: true } to the first backward()`);
    }
  }

  noGrad(() => {
    const grads = new Map<Tensor, Tensor>();
    if (root.node === null) accumulateLeaf(root, g0);
    else grads.set(root, g0);
    for (const t of order) {
      const node = t.node!;
      const g = grads.get(t);
      grads.delete(t);
      if (g === undefined) continue;
      if (t.retainsGrad) accumulateLeaf(t, g);
      const inputGrads = node.backward(g, !retainGraph);
      node.inputs.forEach((input, i) => {
        const gi = inputGrads[i];
        if (input === null || !input.requiresGrad || gi == null) return;
        let r = sumToShape(gi, input.shape);
        if (r.dtype !== input.dtype) r = r.to(input.dtype);
        // A sum back to the input's shape or a dtype conversion is a fresh tensor.
        if (r !== gi) handedOver.add(r);
        if (input.node === null) accumulateLeaf(input, r);
        else {
          const prev = grads.get(input);
          grads.set(input, prev === undefined ? r : add(prev, r));
        }
      });
      if (!retainGraph) node.free();
    }
  });
}

/**
 * `.grad += g`, keeping `.grad` a fresh contiguous tensor the caller owns: a
 * copy of g, or g itself when an op handed it over (nothing else holds it).
 */
function accumulateLeaf(t: Tensor, g: Tensor): void {
  if (t.grad !== null) t.grad = add(t.grad, g);
  else if (handedOver.has(g) && g.offset === 0 && g.data.length === g.size && g.isContiguous()) {
    handedOver.delete(g);
    t.grad = g;
  } else t.grad = g.clone();
}
