import { Tensor } from "../tensor/tensor.js";
import { AutogradError, ValueError } from "../tensor/errors.js";
import { shapeStr } from "../tensor/shape.js";
import { enableGrad } from "./no-grad.js";
import { zerosLike } from "../tensor/creation.js";

type Argnums = number | readonly number[];

/** How many grad/valueAndGrad functions are running (to refuse nesting). */
let depth = 0;

/**
 * valueAndGrad(f, argnums = 0), as in JAX: a function returning
 * [f(...args), ∂f/∂args[argnums]]. f must return a one-element tensor.
 * The differentiated arguments are taken as fresh leaves (the caller's
 * tensors are untouched); a gradient that does not reach an argument is zeros.
 * With a list of argnums the gradients come as a list. First-order only:
 * backward rules run without recording, so grad(grad(f)) would silently give
 * zeros; calling grad or valueAndGrad inside another's function is an
 * AutogradError instead.
 *
 * @example const [loss, dW] = valueAndGrad((w) => mseLoss(x.matmul(w), y))(w0);
 */
export function valueAndGrad<A extends unknown[]>(f: (...args: A) => Tensor, argnums?: number): (...args: A) => [Tensor, Tensor];
export function valueAndGrad<A extends unknown[]>(f: (...args: A) => Tensor, argnums: readonly number[]): (...args: A) => [Tensor, Tensor[]];
export function valueAndGrad<A extends unknown[]>(
  f: (...args: A) => Tensor, argnums: Argnums = 0,
): (...args: A) => [Tensor, Tensor | Tensor[]] {
  const list = typeof argnums === "number" ? [argnums] : [...argnums];
  return (...args: A) => {
    if (depth > 0) {
      throw new AutogradError("valueAndGrad: nested differentiation (grad of grad) is not supported: kdgrad's autodiff is first-order");
    }
    for (const k of list) {
      if (!Number.isInteger(k) || k < 0 || k >= args.length || !(args[k] instanceof Tensor)) {
        throw new ValueError(`valueAndGrad: argnums ${JSON.stringify(argnums)} must index tensor arguments (got ${args.length} arguments)`);
      }
    }
    const leaves = args.map((a, i) => (list.includes(i) ? (a as Tensor).detach().requiresGrad_(true) : a)) as A;
    depth++;
    let value: Tensor;
    try {
      value = enableGrad(() => f(...leaves));
    } finally {
      depth--;
    }
    if (!(value instanceof Tensor) || value.size !== 1) {
      throw new ValueError(`valueAndGrad: f must return a one-element tensor, got ${value instanceof Tensor ? shapeStr(value.shape) : typeof value}`);
    }
    if (value.requiresGrad) value.backward();
    const grads = list.map((k) => {
      const leaf = leaves[k] as Tensor;
      return leaf.grad ?? zerosLike(leaf);
    });
    return [value.detach(), typeof argnums === "number" ? grads[0]! : grads];
  };
}

/** grad(f, argnums = 0), as in JAX: like valueAndGrad, returning only the gradient. */
export function grad<A extends unknown[]>(f: (...args: A) => Tensor, argnums?: number): (...args: A) => Tensor;
export function grad<A extends unknown[]>(f: (...args: A) => Tensor, argnums: readonly number[]): (...args: A) => Tensor[];
export function grad<A extends unknown[]>(f: (...args: A) => Tensor, argnums: Argnums = 0): (...args: A) => Tensor | Tensor[] {
  const vg = valueAndGrad(f, argnums as number);
  return (...args: A) => vg(...args)[1];
}
