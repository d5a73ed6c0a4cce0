import { Tensor, checkReturned, checkTensor } from "../tensor/tensor.js";
import { DTypeError, ShapeError, ValueError } from "../tensor/errors.js";
import { checkFunction, describeValue, sameShape, shapeStr } from "../tensor/shape.js";
import { zeros, zerosLike } from "../tensor/creation.js";
import { enableGrad, isGradEnabled, noGrad } from "./no-grad.js";
import { gradients } from "./backward.js";
import { defineOp } from "../ops/define-op.js";
import { stack } from "../ops/stack.js";
import { reshape } from "../ops/reshape.js";

/**
 * JAX-style function transforms over kdgrad's tape: grad, valueAndGrad, vjp,
 * jvp, jacobian, hessian. They compose: grad(grad(f)), jacobian(grad(f)),
 * jvp(grad(f), …) all work, because each transform differentiates with
 * createGraph whenever its result may itself be differentiated.
 *
 * How nesting works. A transform takes each differentiated argument x as a
 * fresh input of its own: when x does not require grad, a new leaf
 * `x.detach().requiresGrad_()`; when it does (x is an outer transform's input,
 * or a parameter the caller is differentiating through), an identity op
 * applied to x, so the inner graph hangs off the outer one. In the second
 * case the inner gradients are computed with createGraph: they are functions
 * of x that the outer transform differentiates again. The same holds when f's
 * result depends on any other tensor that requires grad, an argument the
 * transform does not differentiate or a tensor f captures: in
 * jacobian(grad(f, 0), 1)(s, t) or jacobian((t) => grad((s) => f(s, t))(s0))(t0)
 * the inner gradient must stay a function of t, or the mixed partials
 * ∂²f/∂t∂s come out 0. So grad of a function of plain tensors costs a
 * first-order backward, and only nesting pays for the recorded backward.
 */

type Argnums = number | readonly number[];

/** The identity, recorded: a graph node that separates a transform's input from the caller's tensor. */
const input = defineOp({
  name: "input",
  forward(_ctx, x: Tensor): Tensor {
    return x;
  },
  backward(_ctx, g) {
    return [g];
  },
});

interface Lifted {
  args: unknown[];
  /** The transform's own inputs, one per differentiated argument. */
  xs: Tensor[];
  /** Whether the results must stay differentiable (some argument is being differentiated outside). */
  nested: boolean;
}

/**
 * A transform's arguments, checked when the transform is made (before any call): f a function,
 * argnums a non-negative integer or a non-empty list of distinct ones (ValueError naming `fn`,
 * the transform the user called).
 */
function checkTransform(f: unknown, argnums: unknown, fn: string): void {
  checkFunction(f, fn, "f");
  const list = typeof argnums === "number" ? [argnums] : Array.isArray(argnums) ? (argnums as unknown[]) : null;
  if (list === null || list.some((k) => typeof k !== "number" || !Number.isInteger(k) || k < 0)) {
    throw new ValueError(`${fn}: argnums must be a non-negative integer or a list of them, got ${describeValue(argnums)}`);
  }
  if (list.length === 0) throw new ValueError(`${fn}: argnums must name at least one argument, got []`);
  if (new Set(list).size !== list.length) throw new ValueError(`${fn}: argnums ${describeValue(argnums)} lists an argument twice`);
}

/** The differentiated positions for a call with `args`: each must hold a float Tensor. */
function argnumList(argnums: Argnums, args: readonly unknown[], fn: string, what = "argument"): number[] {
  const list = typeof argnums === "number" ? [argnums] : [...argnums];
  for (const k of list) {
    if (k >= args.length) throw new ValueError(`${fn}: argnums ${describeValue(argnums)} names ${what} ${k}, but the call has ${args.length}`);
    checkTensor(args[k], fn, `${what} ${k}`);
    if ((args[k] as Tensor).dtype === "int32") {
      throw new DTypeError(`${fn}: ${what} ${k} is int32; only float tensors can be differentiated`);
    }
  }
  return list;
}

function lift(args: readonly unknown[], list: readonly number[]): Lifted {
  const out = [...args];
  const xs: Tensor[] = [];
  let nested = false;
  for (const k of list) {
    const a = args[k] as Tensor;
    let x: Tensor;
    if (a.requiresGrad && isGradEnabled()) {
      x = enableGrad(() => input(a));
      nested = true;
    } else {
      x = a.detach().requiresGrad_(true);
    }
    out[k] = x;
    xs.push(x);
  }
  return { args: out, xs, nested };
}

function call(f: (...args: any[]) => unknown, args: readonly unknown[], fn: string): Tensor {
  return checkReturned(enableGrad(() => f(...args)), fn, "f");
}

/**
 * Whether the transform's results must stay differentiable: recording is on
 * (outside the transform) and y depends on a tensor requiring grad that is not
 * one of the transform's own fresh leaves xs — an input lifted through the
 * identity op (an outer transform's input), another argument, or a captured
 * tensor. Found by walking y's graph back to its leaves (Node.inputs lists only
 * the tensors that need a gradient), stopping at xs; an explicit stack, as in
 * the backward walk.
 */
function isNested(y: Tensor, lifted: Lifted, gradEnabled: boolean): boolean {
  if (!gradEnabled || !y.requiresGrad) return false;
  if (lifted.nested) return true;
  const own = new Set<Tensor>(lifted.xs);
  const seen = new Set<Tensor>();
  const stack: Tensor[] = [y];
  while (stack.length > 0) {
    const t = stack.pop()!;
    if (own.has(t) || seen.has(t)) continue;
    seen.add(t);
    if (t.node === null) return true;
    for (const x of t.node.inputs) if (x !== null) stack.push(x);
  }
  return false;
}

/** ∂y/∂xs (times cotangent), zeros where y does not depend on an x. */
function pullback(y: Tensor, xs: readonly Tensor[], cotangent: Tensor | undefined, createGraph: boolean): Tensor[] {
  if (!y.requiresGrad) return xs.map((x) => zerosLike(x));
  const gs = gradients([y], xs, [cotangent], { createGraph, retainGraph: true, allowUnused: true });
  return gs.map((g, i) => g ?? zerosLike(xs[i]!));
}

/**
 * valueAndGrad(f, argnums = 0), as in JAX: a function returning
 * [f(...args), ∂f/∂args[argnums]]. f must return a one-element tensor.
 * The caller's tensors are untouched (no `.grad` is written). A gradient that
 * does not reach an argument is zeros. With a list of argnums the gradients
 * come as a list. Nestable: grad(grad(f)) is the second derivative.
 *
 * @example const [loss, dW] = valueAndGrad((w) => mseLoss(x.matmul(w), y))(w0);
 */
export function valueAndGrad<A extends unknown[]>(f: (...args: A) => Tensor, argnums?: number): (...args: A) => [Tensor, Tensor];
export function valueAndGrad<A extends unknown[]>(f: (...args: A) => Tensor, argnums: readonly number[]): (...args: A) => [Tensor, Tensor[]];
export function valueAndGrad<A extends unknown[]>(
  f: (...args: A) => Tensor, argnums: Argnums = 0,
): (...args: A) => [Tensor, Tensor | Tensor[]] {
  return valueAndGradAs(f, argnums, "valueAndGrad");
}

/** valueAndGrad's body; `fn` is the transform the user called (valueAndGrad, grad or hessian), which messages name. */
function valueAndGradAs<A extends unknown[]>(
  f: (...args: A) => Tensor, argnums: Argnums, fn: string,
): (...args: A) => [Tensor, Tensor | Tensor[]] {
  checkTransform(f, argnums, fn);
  return (...args: A) => {
    const gradEnabled = isGradEnabled();
    const l = lift(args, argnumList(argnums, args, fn));
    const { args: lifted, xs } = l;
    const value = call(f, lifted, fn);
    if (value.size !== 1) {
      throw new ValueError(`${fn}: f must return a one-element tensor, got ${shapeStr(value.shape)}`);
    }
    const nested = isNested(value, l, gradEnabled);
    const grads = pullback(value, xs, undefined, nested);
    return [nested ? value : value.detach(), typeof argnums === "number" ? grads[0]! : grads];
  };
}

/** grad(f, argnums = 0), as in JAX: like valueAndGrad, returning only the gradient. */
export function grad<A extends unknown[]>(f: (...args: A) => Tensor, argnums?: number): (...args: A) => Tensor;
export function grad<A extends unknown[]>(f: (...args: A) => Tensor, argnums: readonly number[]): (...args: A) => Tensor[];
export function grad<A extends unknown[]>(f: (...args: A) => Tensor, argnums: Argnums = 0): (...args: A) => Tensor | Tensor[] {
  return gradAs(f, argnums, "grad");
}

function gradAs<A extends unknown[]>(f: (...args: A) => Tensor, argnums: Argnums, fn: string): (...args: A) => Tensor | Tensor[] {
  const vg = valueAndGradAs(f, argnums, fn);
  return (...args: A) => vg(...args)[1];
}

/**
 * vjp(f, ...primals) → [f(...primals), vjpFn], as in JAX: vjpFn(cotangent)
 * returns ⟨cotangent, ∂f/∂primalᵢ⟩ for every primal (every argument that is a
 * float tensor), a list in argument order. vjpFn can be called many times
 * (the graph is kept until vjpFn is garbage-collected). The cotangent has
 * f's output shape.
 *
 * @example const [y, back] = vjp((x) => softmax(x), x0); const [dx] = back(g);
 */
export function vjp<A extends Tensor[]>(f: (...args: A) => Tensor, ...primals: A): [Tensor, (cotangent: Tensor) => Tensor[]] {
  const fn = "vjp";
  checkFunction(f, fn, "f");
  const list = primals.flatMap((p, i) => (p instanceof Tensor && p.dtype !== "int32" ? [i] : []));
  if (list.length === 0) throw new ValueError(`${fn}: no primal is a float Tensor, got ${describeValue(primals)}`);
  const gradEnabled = isGradEnabled();
  const l = lift(primals, list);
  const { args, xs } = l;
  const y = call(f as (...a: unknown[]) => Tensor, args, fn);
  const nested = isNested(y, l, gradEnabled);
  const back = (cotangent: Tensor): Tensor[] => {
    checkLike(cotangent, y, fn, "cotangent");
    return pullback(y, xs, cotangent, nested || cotangent.requiresGrad);
  };
  return [nested ? y : y.detach(), back];
}

/**
 * jvp(f, primals, tangents) → [f(...primals), J·tangents], the
 * Jacobian-vector product (forward-mode semantics), as in JAX. Every primal
 * is a float tensor and has a tangent of its shape.
 *
 * Computed by the double-vjp trick, not by forward-mode rules: with a
 * cotangent u (a dummy variable), v(u) = Jᵀu is linear in u, so
 *   ∂⟨v(u), t⟩/∂u = J t.
 * One forward pass, one recorded backward pass (vjp with createGraph) and a
 * backward pass through that one: about three times the cost of a vjp, and
 * the recorded graph's memory, where true forward mode would cost about one
 * forward pass. The result does not depend on u (J t is u-free), so u = 0.
 *
 * @example const [y, dy] = jvp((x) => x.tanh(), [x0], [ones([3])]);
 */
export function jvp(f: (...args: Tensor[]) => Tensor, primals: readonly Tensor[], tangents: readonly Tensor[]): [Tensor, Tensor] {
  const fn = "jvp";
  checkFunction(f, fn, "f");
  if (!Array.isArray(primals) || !Array.isArray(tangents)) {
    throw new ValueError(`${fn}: primals and tangents must be lists of tensors, got ${describeValue(primals)} and ${describeValue(tangents)}`);
  }
  if (primals.length !== tangents.length) {
    throw new ValueError(`${fn}: got ${primals.length} primals but ${tangents.length} tangents`);
  }
  const list = primals.map((_, i) => i);
  argnumList(list, primals, fn, "primal");
  primals.forEach((p, i) => checkLike(tangents[i], p, fn, `tangents[${i}]`));
  const gradEnabled = isGradEnabled();
  const l = lift(primals, list);
  const { args, xs } = l;
  const y = call(f as (...a: unknown[]) => Tensor, args, fn);
  const nested = isNested(y, l, gradEnabled);
  if (!y.requiresGrad) return [y.detach(), zerosLike(y)];
  const u = zerosLike(y).requiresGrad_(true);
  const vs = gradients([y], xs, [u], { createGraph: true, retainGraph: true, allowUnused: true });
  const pairs = vs.flatMap((v, i) => (v !== null && v.requiresGrad ? [[v, tangents[i]!] as const] : []));
  if (pairs.length === 0) return [nested ? y : y.detach(), zerosLike(y)];
  const createGraph = nested || tangents.some((t) => t.requiresGrad);
  const [dy] = gradients(pairs.map(([v]) => v), [u], pairs.map(([, t]) => t), { createGraph, allowUnused: true });
  return [nested ? y : y.detach(), dy ?? zerosLike(y)];
}

/**
 * jacobian(f, argnums = 0): a function returning ∂f/∂args[argnums] with shape
 * out.shape ++ arg.shape (a list of such for a list of argnums), like
 * jax.jacrev: one vjp per output element, each with a one-hot cotangent.
 *
 * @example jacobian((x) => softmax(x))(x0)   // [C, C]: diag(p) − ppᵀ
 */
export function jacobian<A extends unknown[]>(f: (...args: A) => Tensor, argnums?: number): (...args: A) => Tensor;
export function jacobian<A extends unknown[]>(f: (...args: A) => Tensor, argnums: readonly number[]): (...args: A) => Tensor[];
export function jacobian<A extends unknown[]>(f: (...args: A) => Tensor, argnums: Argnums = 0): (...args: A) => Tensor | Tensor[] {
  return jacobianAs(f, argnums, "jacobian");
}

/** jacobian's body; `fn` is the transform the user called (jacobian or hessian). */
function jacobianAs<A extends unknown[]>(f: (...args: A) => Tensor, argnums: Argnums, fn: string): (...args: A) => Tensor | Tensor[] {
  checkTransform(f, argnums, fn);
  return (...args: A) => {
    const gradEnabled = isGradEnabled();
    const l = lift(args, argnumList(argnums, args, fn));
    const { args: lifted, xs } = l;
    const y = call(f, lifted, fn);
    const nested = isNested(y, l, gradEnabled);
    const rows: Tensor[][] = xs.map(() => []);
    for (let o = 0; o < y.size; o++) {
      const e = zerosLike(y);
      e.data[o] = 1;
      pullback(y, xs, e, nested).forEach((g, i) => rows[i]!.push(g));
    }
    const build = nested ? enableGrad : noGrad;
    const out = xs.map((x, i) => build(() =>
      y.size === 0 ? zeros([...y.shape, ...x.shape], { dtype: x.dtype }) : reshape(stack(rows[i]!), [...y.shape, ...x.shape])));
    return typeof argnums === "number" ? out[0]! : out;
  };
}

/**
 * hessian(f, argnums = 0): ∂²f/∂x² for a scalar-valued f, with shape
 * x.shape ++ x.shape, as jax.hessian: the jacobian of the gradient.
 *
 * @example hessian((x) => logSumExp(x, 0))(x0)   // diag(p) − ppᵀ
 */
export function hessian<A extends unknown[]>(f: (...args: A) => Tensor, argnums = 0): (...args: A) => Tensor {
  if (typeof argnums !== "number") throw new ValueError(`hessian: argnums must be one argument's index, got ${describeValue(argnums)}`);
  return jacobianAs(gradAs(f, argnums, "hessian") as (...args: A) => Tensor, argnums, "hessian") as (...args: A) => Tensor;
}

function checkLike(t: unknown, like: Tensor, fn: string, arg: string): void {
  const v = checkTensor(t, fn, arg);
  if (v.dtype === "int32") throw new DTypeError(`${fn}: ${arg} must be a float tensor, got int32`);
  if (!sameShape(v.shape, like.shape)) {
    throw new ShapeError(`${fn}: ${arg} has shape ${shapeStr(v.shape)} but must have shape ${shapeStr(like.shape)}`);
  }
}
