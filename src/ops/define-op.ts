import { Tensor, checkReturned } from "../tensor/tensor.js";
import { handedOver, Node } from "../autograd/node.js";
import { isGradEnabled, noGrad } from "../autograd/no-grad.js";
import { asPublicCall } from "../tensor/public-call.js";
import { AutogradError } from "../tensor/errors.js";
import { checkOptions } from "../tensor/options.js";
import { checkFunction, checkName, describeValue, shapeStr } from "../tensor/shape.js";

/** Per-call scratch space shared by an op's forward and backward. */
export class Ctx {
  /** needsInputGrad[i]: argument i is a tensor that wants a gradient. */
  readonly needsInputGrad: readonly boolean[];
  saved: any = null;
  /**
   * True while backward runs for the last time: the graph is freed right after
   * (backward() without retainGraph), so a saved tensor may be handed over.
   */
  lastUse = false;
  /**
   * True while backward runs to create a graph of the gradients (higher-order
   * autodiff): the rule must then compute with differentiable ops, not with
   * raw kernels, so that its result is connected to g and to the saved inputs.
   */
  createGraph = false;

  constructor(needsInputGrad: readonly boolean[]) {
    this.needsInputGrad = needsInputGrad;
  }

  /**
   * Give `g`, a gradient this op returns, to the backward pass to own: nothing
   * else holds it (a fresh tensor, or a saved one on `lastUse`), so a leaf's
   * `.grad` may take it as it is instead of copying it. Returns `g`.
   */
  handOver(g: Tensor): Tensor {
    handedOver.add(g);
    return g;
  }

  /** Keep values for backward; they are dropped when the graph is freed. */
  save(values: object): void {
    this.saved = values;
  }
}

/** What `defineOp` takes: a name (for errors and the tests), a forward that computes the result, and a backward that returns one gradient per argument. */
export interface OpSpec<A extends unknown[]> {
  name: string;
  /** Computes the result; runs with graph recording off. */
  forward(ctx: Ctx, ...args: A): Tensor;
  /** Vector-Jacobian product: one gradient per argument, in the output's (broadcast) shape or the input's. */
  backward(ctx: Ctx, g: Tensor): readonly (Tensor | null | undefined)[];
}

export type Op<A extends unknown[]> = ((...args: A) => Tensor) & { readonly spec: OpSpec<A> };

/**
 * Turn a forward/backward pair into a differentiable function. The returned
 * function runs `forward`; when grad mode is on and some tensor argument
 * requires grad, it attaches a Node whose backward calls `spec.backward`.
 * Importing an op does nothing else: the spec is only attached, so tests
 * can find every op by scanning the exports.
 *
 * defineOp is public (users write their own ops), so what it is given and what
 * the spec's functions return are checked, each refusal a typed error naming
 * the op (or defineOp, for the spec itself) instead of a TypeError deep inside:
 * - the spec is an object with exactly `name` (a non-empty string), `forward`
 *   and `backward` (functions); another key (the removed `domain`, a typo) is
 *   a ValueError, as for options objects (src/tensor/options.ts);
 * - forward returns a Tensor (ValueError otherwise);
 * - backward returns a list with, for each argument that needs a gradient,
 *   null/undefined (no gradient) or a float Tensor whose shape is the
 *   argument's or broadcasts to it (what backward.ts sums back); anything
 *   else is an AutogradError saying which argument and what came back.
 * Errors the spec's own functions throw pass through untouched.
 */
export function defineOp<A extends unknown[]>(spec: OpSpec<A>): Op<A> {
  const { name, forward, backward } = checkOptions(spec as OpSpec<A> | undefined, "defineOp", ["name", "forward", "backward"], "spec");
  checkName(name, "defineOp", "spec.name");
  checkFunction(forward, "defineOp", "spec.forward");
  checkFunction(backward, "defineOp", "spec.backward");
  const op = (...args: A): Tensor => asPublicCall(name, () => run(...args));
  const run = (...args: A): Tensor => {
    let record = false;
    if (isGradEnabled()) {
      for (const a of args) if (a instanceof Tensor && a.requiresGrad) record = true;
    }
    const needs = record ? args.map((a) => a instanceof Tensor && a.requiresGrad) : args.map(() => false);
    const ctx = new Ctx(needs);
    let o = checkReturned(noGrad(() => forward.call(spec, ctx, ...args)), name, "forward");
    if (!record) return o;
    if ((args as unknown[]).includes(o)) o = o.asStrided(o.shape, o.strides, o.offset);
    const out = o as Tensor;
    out.requiresGrad = true;
    const inputs = args.map((a, i) => (needs[i] ? (a as Tensor) : null));
    out.node = new Node(
      name,
      inputs,
      (g, mode) => {
        ctx.lastUse = mode.lastUse && !mode.createGraph;
        ctx.createGraph = mode.createGraph;
        return checkGradients(name, backward.call(spec, ctx, g), inputs);
      },
      () => {
        ctx.saved = null;
      },
    );
    return out;
  };
  Object.defineProperty(op, "name", { value: name });
  Object.defineProperty(op, "spec", { value: spec, enumerable: false });
  return op as Op<A>;
}

/**
 * What a backward rule returned, checked against the inputs that need a gradient: a list, and
 * for each such input nothing (null/undefined) or a float Tensor whose shape broadcasts to the
 * input's (equal sizes, or the input's size is 1), with at least as many axes. backward.ts sums
 * such a gradient back to the input's shape (sumToShape) and converts float32/float64; anything
 * else would fail there with a message naming reshape or sum, or as a TypeError.
 */
function checkGradients(name: string, grads: unknown, inputs: readonly (Tensor | null)[]): readonly (Tensor | null | undefined)[] {
  if (!Array.isArray(grads)) {
    throw new AutogradError(`${name}: backward must return a list of gradients, got ${describeValue(grads)}`);
  }
  inputs.forEach((x, i) => {
    const g: unknown = grads[i];
    if (x === null || g === null || g === undefined) return;
    const lead = g instanceof Tensor ? g.ndim - x.ndim : -1;
    if (lead < 0 || (g as Tensor).dtype === "int32" || x.shape.some((d, k) => d !== 1 && d !== (g as Tensor).shape[lead + k])) {
      const got = g instanceof Tensor ? `a tensor of dtype ${g.dtype} and shape ${shapeStr(g.shape)}` : describeValue(g);
      throw new AutogradError(`${name}: backward returned ${got} for argument ${i} of ${x.dtype} shape ${shapeStr(x.shape)}; expected null or a float tensor broadcasting to it`);
    }
  });
  return grads as readonly (Tensor | null | undefined)[];
}

/**
 * Mark a function built from other ops (its gradient comes from theirs) so
 * that the tests find and gradcheck it like any op, and name it in errors.
 * `name` must be a non-empty string and `fn` a function returning a Tensor
 * (ValueError otherwise, naming defineComposite, or the composite when it runs).
 */
export function defineComposite<F extends (...args: never[]) => Tensor>(
  name: string, fn: F,
): F & { readonly spec: { name: string; composite: true } } {
  checkName(name, "defineComposite", "name");
  checkFunction(fn, "defineComposite", "fn");
  const wrapped = ((...args: Parameters<F>) => asPublicCall(name, () => checkReturned(fn(...args), name, "the function"))) as unknown as F;
  Object.defineProperty(wrapped, "name", { value: name });
  Object.defineProperty(wrapped, "spec", { value: { name, composite: true }, enumerable: false });
  return wrapped as F & { readonly spec: { name: string; composite: true } };
}

/** The name of a function made by defineOp or defineComposite, if it is one. */
export function opSpec(f: unknown): { name: string } | undefined {
  return typeof f === "function" ? (f as { spec?: { name: string } }).spec : undefined;
}
