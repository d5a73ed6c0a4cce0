/**
 * Higher-order autodiff: createGraph, gradients(), and the JAX-style
 * transforms (grad nested, vjp, jvp, jacobian, hessian), each checked against
 * a closed form or against central differences in float64.
 */
import fc from "fast-check";
import { test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import {
  AutogradError, ShapeError, Tensor, ValueError, gradients, grad, hessian, jacobian, jvp, noGrad, tensor, valueAndGrad, vjp,
  gradgradcheck, assertGradgradcheck, defineOp, GradcheckError,
} from "../../src/index.js";
import { expectClose } from "../helpers/close.js";

const f64 = (v: number[] | number[][], requiresGrad = false): Tensor => tensor(v, { dtype: "float64", requiresGrad });

/** Central differences of a tensor-valued f at x (float64), shape out.shape ++ x.shape, flattened. */
function numericJacobian(f: (x: Tensor) => Tensor, x: Tensor, eps = 1e-6): number[][] {
  const base = x.toFlatArray();
  const cols: number[][] = [];
  for (let j = 0; j < base.length; j++) {
    const at = (h: number): number[] => {
      const v = [...base];
      v[j]! += h;
      return noGrad(() => f(tensor(v, { dtype: "float64", shape: x.shape }))).toFlatArray();
    };
    const plus = at(eps);
    const minus = at(-eps);
    cols.push(plus.map((p, o) => (p - minus[o]!) / (2 * eps)));
  }
  const m = cols[0]?.length ?? 0;
  return Array.from({ length: m }, (_, o) => cols.map((c) => c[o]!));
}

const vec = (n: number) => fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: n, maxLength: n });

describe("createGraph", () => {
  test("x.backward({ createGraph }) leaves a .grad that can be differentiated again", () => {
    const x = f64([1, 2, 3], true);
    x.mul(x).mul(x).sum().backward(undefined, { createGraph: true });
    const g = x.grad!;
    expect(g.toFlatArray()).toEqual([3, 12, 27]);
    expect(g.requiresGrad).toBe(true);
    x.grad = null;
    g.sum().backward();
    expect(x.grad!.toFlatArray()).toEqual([6, 12, 18]);
  });

  test("createGraph retains the graph by default; without it the graph is freed", () => {
    const x = f64([0.5], true);
    const y = x.exp().sum();
    y.backward(undefined, { createGraph: true });
    y.backward(undefined, { createGraph: true });
    const z = x.exp().sum();
    z.backward();
    expect(() => z.backward()).toThrow(AutogradError);
  });
});

describe("gradients (torch.autograd.grad)", () => {
  test("returns the vector-Jacobian product for leaves and intermediate tensors, writing no .grad", () => {
    const x = f64([1, 2], true);
    const h = x.mul(3);
    const y = h.mul(h).sum();
    const [gx, gh] = gradients([y], [x, h], [], { retainGraph: true });
    expect(gh!.toFlatArray()).toEqual([6, 12]);
    expect(gx!.toFlatArray()).toEqual([18, 36]);
    expect(x.grad).toBeNull();
  });

  test("an unused input is an error unless allowUnused", () => {
    const x = f64([1], true);
    const w = f64([2], true);
    const y = x.mul(2).sum();
    expect(() => gradients([y], [w], [], { retainGraph: true })).toThrow(/not used/);
    expect(gradients([y], [w], [], { allowUnused: true })[0]).toBeNull();
  });

  test("several outputs add their products; the cotangent must have the output's shape", () => {
    const x = f64([1, 2], true);
    const a = x.mul(x);
    const b = x.exp();
    const [g] = gradients([a, b], [x], [f64([1, 1]), f64([2, 0])], { retainGraph: true });
    expectClose(g!, [2 + 2 * Math.E, 4], { rtol: 1e-15 });
    expect(() => gradients([a], [x], [f64([1, 1, 1])])).toThrow(ShapeError);
  });
});

describe("functional transforms", () => {
  test.prop([vec(4)])("grad(grad(f)) matches the closed form: f = Σ x⁴/4, ∇f = x³, ∇Σ∇f = 3x²", (v) => {
    const x = f64(v);
    const f = (t: Tensor): Tensor => t.pow(4).div(4).sum();
    const d2 = grad((t: Tensor) => grad(f)(t).sum())(x);
    expectClose(d2, v.map((a) => 3 * a * a), { rtol: 1e-12, atol: 1e-12 });
  });

  test("grad nests three deep: d³/dx³ of x·exp(x) is (x + 3)eˣ", () => {
    const f = (t: Tensor): Tensor => t.mul(t.exp()).sum();
    const d1 = (t: Tensor): Tensor => grad(f)(t).sum();
    const d2 = (t: Tensor): Tensor => grad(d1)(t).sum();
    const x = f64([0.3, -1.2]);
    expectClose(grad(d2)(x), [0.3, -1.2].map((a) => (a + 3) * Math.exp(a)), { rtol: 1e-13 });
  });

  test("valueAndGrad inside grad keeps both differentiable", () => {
    const f = (t: Tensor): Tensor => {
      const [v, g] = valueAndGrad((u: Tensor) => u.mul(u).sum())(t);
      return v.add(g.sum());
    };
    // v = Σx², g = 2x: d/dx (Σx² + 2Σx) = 2x + 2
    expect(grad(f)(f64([1, -3])).toFlatArray()).toEqual([4, -4]);
  });

  test.prop([vec(3), vec(3)])("jvp agrees with central differences along the tangent", (v, t) => {
    const f = (x: Tensor): Tensor => x.mul(x).tanh().mul(x.sigmoid());
    const x = f64(v);
    const [y, dy] = jvp(f, [x], [f64(t)]);
    const J = numericJacobian(f, x);
    expectClose(y, noGrad(() => f(x)).toFlatArray(), { rtol: 0 });
    expectClose(dy, J.map((row) => row.reduce((s, a, j) => s + a * t[j]!, 0)), { rtol: 1e-6, atol: 1e-8 });
  });

  test("jvp of a function that ignores its input is zeros; mismatched tangents are errors", () => {
    const [, dy] = jvp((x) => f64([1, 2]).add(x.mul(0).sum().detach()), [f64([1])], [f64([1])]);
    expect(dy.toFlatArray()).toEqual([0, 0]);
    expect(() => jvp((x) => x, [f64([1])], [f64([1, 2])])).toThrow(ShapeError);
    expect(() => jvp((x) => x, [f64([1])], [])).toThrow(ValueError);
  });

  test.prop([vec(3)])("jacobian has shape out.shape ++ x.shape and matches central differences", (v) => {
    const f = (x: Tensor): Tensor => x.reshape([3, 1]).mul(x.exp()).tanh();
    const x = f64(v);
    const J = jacobian(f)(x);
    expect(J.shape).toEqual([3, 3, 3]);
    expectClose(J, numericJacobian(f, x).flat(), { rtol: 1e-6, atol: 1e-8 });
  });

  test("jacobian with a list of argnums gives one Jacobian per argument", () => {
    const [Ja, Jb] = jacobian((a: Tensor, b: Tensor) => a.mul(b), [0, 1])(f64([1, 2]), f64([3, 4]));
    expect(Ja!.toArray()).toEqual([[3, 0], [0, 4]]);
    expect(Jb!.toArray()).toEqual([[1, 0], [0, 2]]);
  });

  test.prop([vec(3)])("hessian is the jacobian of the gradient and is symmetric", (v) => {
    const f = (x: Tensor): Tensor => x.mul(x.reshape([3, 1])).tanh().sum();
    const x = f64(v);
    const H = hessian(f)(x);
    expect(H.shape).toEqual([3, 3]);
    const numeric = numericJacobian((t) => grad(f)(t), x);
    expectClose(H, numeric.flat(), { rtol: 1e-6, atol: 1e-8 });
    const h = H.toArray() as number[][];
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) expect(Math.abs(h[i]![j]! - h[j]![i]!)).toBeLessThan(1e-12);
  });

  test("mixed partials: an inner transform records its gradient when f also depends on another argument or a captured tensor that requires grad", () => {
    // f(a, b) = Σ a²b³: ∂f/∂a = 2ab³ and ∂²f/∂b∂a = diag(6ab²). The inner grad differentiates
    // in a only; its result must stay a function of b for the outer jacobian (it was zeros).
    const f = (a: Tensor, b: Tensor): Tensor => a.mul(a).mul(b.mul(b).mul(b)).sum();
    const a = f64([0.5, -2]);
    const b = f64([1.5, 3]);
    const want = [[6 * 0.5 * 1.5 ** 2, 0], [0, 6 * -2 * 9]];
    // (+ 0 compares −0 equal to 0: an off-diagonal entry is 6·a·b²·0.)
    const plain = (t: Tensor): number[][] => (t.toArray() as number[][]).map((r) => r.map((v) => v + 0));
    expect(plain(jacobian((x: Tensor, y: Tensor) => grad(f, 0)(x, y), 1)(a, b))).toEqual(want);
    expect(plain(jacobian((y: Tensor) => grad((x: Tensor) => f(x, y))(a))(b))).toEqual(want);
    const [, dy] = jvp((y: Tensor) => grad((x: Tensor) => f(x, y))(a), [b], [f64([1, 1])]);
    expect(dy.toFlatArray()).toEqual([want[0]![0], want[1]![1]]);
    expect(grad((y: Tensor) => valueAndGrad((x: Tensor) => f(x, y))(a)[1].sum())(b).toFlatArray()).toEqual([want[0]![0], want[1]![1]]);
    const [, back] = vjp((x: Tensor) => x.mul(x).mul(b), a);
    expect(grad((y: Tensor) => vjp((x: Tensor) => x.mul(x).mul(y), a)[1](f64([1, 1]))[0]!.sum())(b).toFlatArray()).toEqual([1, -4]);
    // Not nested (nothing outside requires grad, or recording is off): plain tensors, as before.
    expect(grad(f, 0)(a, b).requiresGrad).toBe(false);
    expect(back(f64([1, 1]))[0]!.requiresGrad).toBe(false);
    const w = f64([2, 2], true);
    expect(noGrad(() => grad((x: Tensor) => f(x, w))(a)).requiresGrad).toBe(false);
    expect(grad((x: Tensor) => f(x, w))(a).requiresGrad).toBe(true);
  });

  test("vjp can be called many times and with different cotangents", () => {
    const [y, back] = vjp((a: Tensor, b: Tensor) => a.mul(b), f64([1, 2]), f64([3, 4]));
    expect(y.toFlatArray()).toEqual([3, 8]);
    expect(back(f64([1, 0])).map((g) => g.toFlatArray())).toEqual([[3, 0], [1, 0]]);
    expect(back(f64([0, 1])).map((g) => g.toFlatArray())).toEqual([[0, 4], [0, 2]]);
  });

  test("the caller's tensors are untouched and results of an un-nested transform are plain tensors", () => {
    const x = f64([1, 2]);
    const H = hessian((t: Tensor) => t.pow(3).sum())(x);
    expect(H.toArray()).toEqual([[6, 0], [0, 12]]);
    expect(H.requiresGrad).toBe(false);
    expect(x.grad).toBeNull();
    expect(x.requiresGrad).toBe(false);
  });
});

describe("gradgradcheck", () => {
  // square with a backward that is right to first order but built from raw
  // numbers, so its second derivative is lost (a rule that is not differentiable).
  const opaqueSquare = defineOp({
    name: "opaqueSquare",
    forward(ctx, x: Tensor) {
      ctx.save({ x });
      return noGrad(() => x.mul(x));
    },
    backward(ctx, g) {
      const x = ctx.saved.x as Tensor;
      return [tensor(Float64Array.from(x.toFlatArray(), (v, i) => 2 * v * g.toFlatArray()[i]!), { shape: x.shape })];
    },
  });

  test("passes a differentiable rule and catches one whose backward is not differentiable", () => {
    const x = f64([0.5, -1.5, 2], true);
    expect(gradgradcheck((t: Tensor) => t.mul(t).exp(), [x]).ok).toBe(true);
    const report = gradgradcheck((t: Tensor) => opaqueSquare(t), [x]);
    expect(report.ok).toBe(false);
    expect(() => assertGradgradcheck((t: Tensor) => opaqueSquare(t), [x])).toThrow(GradcheckError);
    expect(() => assertGradgradcheck((t: Tensor) => opaqueSquare(t), [x])).toThrow(/^assertGradgradcheck: .*failed.*\n  input 0 \[3\]/);
  });
});
