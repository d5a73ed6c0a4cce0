import { Tensor } from "../tensor/tensor.js";
import { handedOver, Node } from "../autograd/node.js";
import { isGradEnabled, noGrad } from "../autograd/no-grad.js";
import { asPublicCall } from "../tensor/public-call.js";

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
 */
export function defineOp<A extends unknown[]>(spec: OpSpec<A>): Op<A> {
  const op = (...args: A): Tensor => asPublicCall(spec.name, () => run(...args));
  const run = (...args: A): Tensor => {
    let record = false;
    if (isGradEnabled()) {
      for (const a of args) if (a instanceof Tensor && a.requiresGrad) record = true;
    }
    const needs = record ? args.map((a) => a instanceof Tensor && a.requiresGrad) : args.map(() => false);
    const ctx = new Ctx(needs);
    let y = noGrad(() => spec.forward(ctx, ...args));
    if (!record) return y;
    if ((args as unknown[]).includes(y)) y = y.asStrided(y.shape, y.strides, y.offset);
    y.requiresGrad = true;
    y.node = new Node(
      spec.name,
      args.map((a, i) => (needs[i] ? (a as Tensor) : null)),
      (g, mode) => {
        ctx.lastUse = mode.lastUse && !mode.createGraph;
        ctx.createGraph = mode.createGraph;
        return spec.backward(ctx, g);
      },
      () => {
        ctx.saved = null;
      },
    );
    return y;
  };
  Object.defineProperty(op, "name", { value: spec.name });
  Object.defineProperty(op, "spec", { value: spec, enumerable: false });
  return op as Op<A>;
}

/**
 * Mark a function built from other ops (its gradient comes from theirs) so
 * that the tests find and gradcheck it like any op, and name it in errors.
 */
export function defineComposite<F extends (...args: never[]) => Tensor>(
  name: string, fn: F,
): F & { readonly spec: { name: string; composite: true } } {
  const wrapped = ((...args: Parameters<F>) => asPublicCall(name, () => fn(...args))) as unknown as F;
  Object.defineProperty(wrapped, "name", { value: name });
  Object.defineProperty(wrapped, "spec", { value: { name, composite: true }, enumerable: false });
  return wrapped as F & { readonly spec: { name: string; composite: true } };
}

/** The name of a function made by defineOp or defineComposite, if it is one. */
export function opSpec(f: unknown): { name: string } | undefined {
  return typeof f === "function" ? (f as { spec?: { name: string } }).spec : undefined;
}
