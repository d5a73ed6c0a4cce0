import { Tensor } from "../tensor/tensor.js";
import { handedOver, type Node } from "./node.js";
import { AutogradError, DTypeError, ShapeError, ValueError } from "../tensor/errors.js";
import { describeValue, sameShape, shapeStr, type Shape } from "../tensor/shape.js";
import { asPublicCall } from "../tensor/public-call.js";
import { checkOptions } from "../tensor/options.js";
import { enableGrad, noGrad } from "./no-grad.js";
import { add } from "../ops/add.js";
import { sum } from "../ops/sum.js";
import { reshape } from "../ops/reshape.js";
import { clone } from "../ops/clone.js";
import { onesLike } from "../tensor/creation.js";

/** Options of `backward()`: keep the graph for another pass, or record the pass for higher-order gradients. */
export interface BackwardOptions {
  /** Keep the graph's saved values, so that it can be walked again. Default: createGraph. */
  retainGraph?: boolean;
  /**
   * Record the backward pass itself, so the gradients are differentiable
   * (grad of grad, Hessians). Default false.
   */
  createGraph?: boolean;
}

/**
 * Sum a gradient computed in a broadcast shape back to the shape of the
 * input it belongs to. If y = broadcast(x), each xⱼ feeds every yᵢ it was
 * copied to, so ∂L/∂xⱼ = Σᵢ ∂L/∂yᵢ over those copies: sum over the leading
 * axes broadcasting added and over the axes where x had size 1.
 * This is the one place every op's broadcast is undone. (It is written with
 * ops, so it is differentiable too: its own backward is a broadcast.)
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
 * `root.backward(gradient)`: accumulate ∂root/∂leaf (times `gradient`) into
 * every leaf's `.grad` (and into `.grad` of tensors that called retainGrad).
 */
export function runBackward(root: Tensor, gradient: Tensor | undefined, options?: BackwardOptions): void {
  asPublicCall("backward", () => {
    const { createGraph, retainGraph } = backwardOptions(options, "backward");
    const g0 = rootGradient(root, gradient, "backward", createGraph);
    propagate([root], [g0], null, createGraph, retainGraph, "backward");
  });
}

/** backward()'s options when none are given (most calls). */
const DEFAULT_MODE = Object.freeze({ createGraph: false, retainGraph: false });

function backwardOptions(options: GradientsOptions | undefined, fn: string): { createGraph: boolean; retainGraph: boolean } {
  if (options === undefined) return DEFAULT_MODE;
  options = checkOptions(options, fn, fn === "gradients" ? ["retainGraph", "createGraph", "allowUnused"] : ["retainGraph", "createGraph"]);
  for (const key of ["createGraph", "retainGraph", "allowUnused"] as const) {
    const v = options[key];
    if (v !== undefined && typeof v !== "boolean") throw new ValueError(`${fn}: ${key} must be true or false, got ${describeValue(v)}`);
  }
  const createGraph = options.createGraph ?? false;
  return { createGraph, retainGraph: options.retainGraph ?? createGraph };
}

/** Options of `gradients` (torch.autograd.grad): backward's, and whether an input the outputs do not depend on is allowed. */
export interface GradientsOptions extends BackwardOptions {
  /** Return null for an input the outputs do not depend on, instead of raising. Default false. */
  allowUnused?: boolean;
}

/**
 * Σ over outputs of ⟨gradOutputs[k], ∂outputs[k]/∂inputs⟩: the vector-Jacobian
 * product with respect to each of `inputs` (any tensors of the graph, leaves or
 * not), like torch.autograd.grad. Nothing is accumulated into `.grad`. Only the
 * part of the graph between the outputs and the inputs is walked.
 */
export function gradients(
  outputs: readonly Tensor[], inputs: readonly Tensor[], gradOutputs: readonly (Tensor | undefined)[] = [],
  options?: GradientsOptions,
): (Tensor | null)[] {
  const fn = "gradients";
  const { createGraph, retainGraph } = backwardOptions(options, fn);
  const allowUnused = options?.allowUnused ?? false;
  if (!Array.isArray(outputs) || !outputs.every((y) => y instanceof Tensor)) {
    throw new ValueError(`${fn}: outputs must be an array of Tensors, got ${describeValue(outputs)}`);
  }
  if (!Array.isArray(inputs) || !inputs.every((x) => x instanceof Tensor)) {
    throw new ValueError(`${fn}: inputs must be an array of Tensors, got ${describeValue(inputs)}`);
  }
  if (!Array.isArray(gradOutputs) || (gradOutputs.length !== 0 && gradOutputs.length !== outputs.length)) {
    throw new ValueError(`${fn}: gradOutputs must be a list of one gradient per output (${outputs.length}), or empty, got ${describeValue(gradOutputs)}`);
  }
  for (const x of inputs) {
    if (!x.requiresGrad) throw new AutogradError(`${fn}: every input must require grad (one does not, shape ${shapeStr(x.shape)})`);
  }
  const roots = outputs.map((y, k) => {
    if (!y.requiresGrad) throw new AutogradError(`${fn}: output ${k} does not require grad (it does not depend on any input that requires grad)`);
    return y;
  });
  const g0 = roots.map((y, k) => rootGradient(y, gradOutputs[k], fn, createGraph));
  const found = propagate(roots, g0, new Set(inputs), createGraph, retainGraph, fn)!;
  return inputs.map((x, i) => {
    const g = found.get(x);
    if (g !== undefined) return g;
    if (allowUnused) return null;
    throw new AutogradError(`${fn}: input ${i} (shape ${shapeStr(x.shape)}) was not used to compute the outputs; pass { allowUnused: true } to get null for it`);
  });
}

/**
 * The upstream gradient of a root: a Tensor of the root's shape. A float gradient of the
 * other float dtype is converted to the root's dtype first, as PyTorch's engine does: a
 * gradient always has the dtype of the tensor it belongs to, so a float32 leaf never gets a
 * float64 `.grad`, and each backward rule receives g in its output's dtype. An int32 gradient
 * is a DTypeError (PyTorch would convert it; kdgrad's int32 takes no part in arithmetic).
 */
function rootGradient(root: Tensor, gradient: Tensor | undefined, fn: string, createGraph: boolean): Tensor {
  if (gradient !== undefined && gradient !== null && !(gradient instanceof Tensor)) {
    throw new ValueError(`${fn}: gradient must be a Tensor of the output's shape ${shapeStr(root.shape)} (or absent for a one-element output), got ${describeValue(gradient)}`);
  }
  if (!root.requiresGrad) {
    throw new AutogradError(`${fn}: the tensor does not require grad (no input of the computation has requiresGrad set, or it was computed under noGrad)`);
  }
  if (gradient === undefined || gradient === null) {
    if (root.size !== 1) {
      throw new AutogradError(`${fn}: gradient can be implicitly created only for a one-element output, got shape ${shapeStr(root.shape)}; pass a gradient of that shape`);
    }
    return onesLike(root);
  }
  if (!sameShape(gradient.shape, root.shape)) {
    throw new ShapeError(`${fn}: gradient has shape ${shapeStr(gradient.shape)} but the output has shape ${shapeStr(root.shape)}`);
  }
  if (gradient.dtype === "int32") {
    throw new DTypeError(`${fn}: gradient must be float32 or float64, got int32 (the output is ${root.dtype})`);
  }
  if (gradient.dtype !== root.dtype) return (createGraph ? enableGrad : noGrad)(() => gradient.to(root.dtype));
  return createGraph ? gradient : gradient.detach();
}

/**
 * The reverse walk. Collect the nodes reachable from the roots with an
 * explicit stack (no recursion, so a chain of 100,000 ops is fine), visit them
 * by descending id (a reverse topological order, since inputs are created
 * before outputs), and accumulate: a tensor used by several ops receives the
 * sum of their gradients (∂L/∂x = Σ over uses).
 *
 * With `targets` (gradients()), only nodes with a path to a target are
 * visited, and the targets' gradients are returned instead of being stored
 * in `.grad`. Without, every leaf that requires grad accumulates into `.grad`.
 *
 * With createGraph the walk records ops like any forward computation, so the
 * gradients it produces are themselves differentiable; without it, it runs
 * under noGrad and costs nothing beyond the backward rules.
 */
function propagate(
  roots: readonly Tensor[], rootGrads: readonly Tensor[], targets: ReadonlySet<Tensor> | null,
  createGraph: boolean, retainGraph: boolean, fn: string,
): Map<Tensor, Tensor> | null {
  const order: Tensor[] = [];
  const seen = new Set<Node>();
  const stack: Tensor[] = [...roots];
  while (stack.length > 0) {
    const t = stack.pop()!;
    const node = t.node;
    if (node === null || seen.has(node)) continue;
    seen.add(node);
    order.push(t);
    for (const input of node.inputs) if (input !== null && input.node !== null) stack.push(input);
  }
  order.sort((a, b) => b.node!.id - a.node!.id);

  // With targets: which tensors have a path to one (ascending id, so inputs are decided first).
  let leads: Set<Tensor> | null = null;
  if (targets !== null) {
    leads = new Set(targets);
    for (let k = order.length - 1; k >= 0; k--) {
      const t = order[k]!;
      if (t.node!.inputs.some((x) => x !== null && leads!.has(x))) leads.add(t);
    }
  }
  for (const t of order) {
    if (walks(t, leads) && t.node!.freed) {
      throw new AutogradError(`${fn}: trying to go through the graph of ${t.node!.name} a second time, but its saved values were freed; pass { retainGraph: true } to the first backward()`);
    }
  }

  const run = createGraph ? enableGrad : noGrad;
  return run(() => {
    const grads = new Map<Tensor, Tensor>();
    for (let k = 0; k < roots.length; k++) give(grads, roots[k]!, rootGrads[k]!, targets, createGraph);
    for (const t of order) {
      const node = t.node!;
      const g = grads.get(t);
      if (g === undefined) continue;
      if (targets === null) {
        grads.delete(t);
        if (t.retainsGrad) accumulateLeaf(t, g, createGraph);
      } else if (!targets.has(t)) grads.delete(t);
      if (!walks(t, leads)) continue;
      const inputGrads = node.backward(g, { lastUse: !retainGraph, createGraph });
      const inputs = node.inputs;
      for (let i = 0; i < inputs.length; i++) {
        const input = inputs[i] as Tensor | null;
        const gi = inputGrads[i];
        if (input === null || !input.requiresGrad || gi == null) continue;
        if (leads !== null && !leads.has(input)) continue;
        let r = sumToShape(gi, input.shape);
        if (r.dtype !== input.dtype) r = r.to(input.dtype);
        // A sum back to the input's shape or a dtype conversion is a fresh tensor.
        if (r !== gi && !createGraph) handedOver.add(r);
        give(grads, input, r, targets, createGraph);
      }
      if (!retainGraph) node.free();
    }
    return targets === null ? null : grads;
  });
}

/** Whether the walk goes through t's op: always without targets, else when an input leads to one. */
function walks(t: Tensor, leads: ReadonlySet<Tensor> | null): boolean {
  return leads === null || t.node!.inputs.some((x) => x !== null && leads.has(x));
}

/**
 * Hand the gradient g of x to the walk: a leaf's `.grad` (backward), or the sum of x's
 * gradients so far. (Module functions rather than closures of propagate: a backward of one
 * small op should not pay for making functions.)
 */
function give(grads: Map<Tensor, Tensor>, x: Tensor, g: Tensor, targets: ReadonlySet<Tensor> | null, createGraph: boolean): void {
  if (targets === null && x.node === null) accumulateLeaf(x, g, createGraph);
  else {
    const prev = grads.get(x);
    grads.set(x, prev === undefined ? g : add(prev, g));
  }
}

/**
 * `.grad += g`. Without createGraph `.grad` stays a fresh contiguous tensor
 * the caller owns: a copy of g, or g itself when an op handed it over
 * (nothing else holds it). With createGraph `.grad` keeps g's graph.
 */
function accumulateLeaf(t: Tensor, g: Tensor, createGraph: boolean): void {
  if (t.grad !== null) t.grad = add(t.grad, g);
  else if (createGraph) t.grad = clone(g);
  else if (handedOver.has(g) && g.offset === 0 && g.data.length === g.size && g.isContiguous()) {
    handedOver.delete(g);
    t.grad = g;
  } else t.grad = g.clone();
}
