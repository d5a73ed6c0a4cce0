import { describe, expect, test } from "vitest";
import {
  AutogradError, ShapeError, Tensor, grad, noGrad, enableGrad, isGradEnabled, ones, randn,
  tensor, valueAndGrad, Generator, logSoftmax, defineOp, gradcheck, assertGradcheck, GradcheckError,
  distillationLoss,
} from "../../src/index.js";
import { expectClose } from "../helpers/close.js";

const f64 = (v: number[] | number[][], requiresGrad = true): Tensor => tensor(v, { dtype: "float64", requiresGrad });

describe("backward", () => {
  test("a tensor used twice accumulates both gradients", () => {
    const x = f64([1, 2, 3]);
    const y = x.mul(x).add(x).sum(); // Σ x² + x  → 2x + 1
    y.backward();
    expect(x.grad!.toFlatArray()).toEqual([3, 5, 7]);
  });

  test("gradients accumulate across backward calls until zeroGrad", () => {
    const x = f64([1, 2]);
    x.mul(3).sum().backward();
    x.mul(3).sum().backward();
    expect(x.grad!.toFlatArray()).toEqual([6, 6]);
    x.zeroGrad();
    expect(x.grad).toBeNull();
  });

  test("broadcast gradients are summed back to each input's shape", () => {
    const a = f64([[1, 2, 3], [4, 5, 6]]);
    const b = f64([10, 20, 30]);
    const c = f64([[2], [3]]);
    a.mul(b).add(c).sum().backward();
    expect(b.grad!.toFlatArray()).toEqual([5, 7, 9]);
    expect(c.grad!.shape).toEqual([2, 1]);
    expect(c.grad!.toFlatArray()).toEqual([3, 3]);
    expect(a.grad!.toArray()).toEqual([[10, 20, 30], [10, 20, 30]]);
  });

  test("a float32 leaf gets a float32 gradient even through float64 ops", () => {
    const x = tensor([1, 2], { requiresGrad: true });
    x.mul(f64([3, 4], false)).sum().backward();
    expect(x.grad!.dtype).toBe("float32");
    expect(x.grad!.toFlatArray()).toEqual([3, 4]);
  });

  test("retainGrad keeps an intermediate gradient", () => {
    const x = f64([1, 2]);
    const h = x.mul(2).retainGrad();
    h.mul(h).sum().backward();
    expect(h.grad!.toFlatArray()).toEqual([4, 8]);
    expect(x.grad!.toFlatArray()).toEqual([8, 16]);
  });

  test("a non-scalar output needs an explicit gradient of its shape", () => {
    const x = f64([1, 2]);
    const y = x.mul(3);
    expect(() => y.backward()).toThrow(AutogradError);
    expect(() => y.backward()).toThrow(/backward: gradient can be implicitly created only for a one-element output, got shape \[2\]/);
    expect(() => y.backward(ones([3], { dtype: "float64" }))).toThrow(ShapeError);
    y.backward(tensor([1, -1], { dtype: "float64" }));
    expect(x.grad!.toFlatArray()).toEqual([3, -3]);
  });

  test("a second backward through a freed graph is an error unless retainGraph", () => {
    const x = f64([1, 2]);
    const y = x.exp().sum();
    y.backward();
    expect(() => y.backward()).toThrow(/a second time.*retainGraph/);
    const z = x.exp().sum();
    z.backward(undefined, { retainGraph: true });
    z.backward();
    expectClose(x.grad!, [1, 2].map((v) => 3 * Math.exp(v)), { rtol: 1e-15 });
  });

  test("backward of a tensor that does not require grad is an error", () => {
    expect(() => tensor([1]).sum().backward()).toThrow(/backward: the tensor does not require grad/);
  });

  test("a chain of 100,000 ops does not overflow the stack", () => {
    const x = f64([1]);
    let y = x;
    for (let i = 0; i < 100_000; i++) y = y.add(1e-5);
    y.sum().backward();
    expect(x.grad!.item()).toBe(1);
    expect(y.item()).toBeCloseTo(2, 9);
  });
});

describe("graph control", () => {
  test("noGrad records nothing, nests, and restores the mode after a throw", () => {
    const x = f64([1, 2]);
    const y = noGrad(() => x.mul(2));
    expect(y.requiresGrad).toBe(false);
    expect(y.node).toBeNull();
    expect(() => noGrad(() => { throw new Error("boom"); })).toThrow("boom");
    expect(isGradEnabled()).toBe(true);
    noGrad(() => {
      expect(enableGrad(() => x.mul(2)).requiresGrad).toBe(true);
      expect(isGradEnabled()).toBe(false);
    });
  });

  test("detach cuts the graph and shares storage", () => {
    const x = f64([1, 2]);
    const d = x.mul(2).detach();
    expect(d.requiresGrad).toBe(false);
    const y = d.mul(x).sum();
    y.backward();
    expect(x.grad!.toFlatArray()).toEqual([2, 4]);
  });

  test(".grad owns its storage: a handed-over saved gradient only on the graph's last use", () => {
    // distillationLoss saves ∂L/∂s in the forward pass; without retainGraph its
    // backward hands it over and .grad takes it without a copy. With retainGraph
    // the graph keeps it, so .grad must be a copy: writing into .grad must not
    // change what a second backward returns.
    const s = tensor([[0.3, -1.2, 2.5], [1.1, 0.2, -0.4]], { dtype: "float64", requiresGrad: true });
    const t = tensor([[-0.5, 0.9, 1.7], [0.4, 2.1, -1.0]], { dtype: "float64" });
    const loss = distillationLoss(s, t, { temperature: 2 });
    loss.backward(undefined, { retainGraph: true });
    const first = s.grad!.toFlatArray();
    s.grad!.data[0] = 999;
    s.grad = null;
    loss.backward();
    expect(s.grad!.toFlatArray()).toEqual(first);
    // And the second (last-use) gradient is exclusively the leaf's.
    const again = distillationLoss(s, t, { temperature: 2 });
    s.grad = null;
    again.backward();
    expect(s.grad!.toFlatArray()).toEqual(first);
    expect(() => again.backward()).toThrow(AutogradError);
  });

  test("requiresGrad_ works only on leaves", () => {
    const x = f64([1]);
    expect(() => x.mul(2).requiresGrad_()).toThrow(AutogradError);
  });
});

describe("functional API", () => {
  test("grad and valueAndGrad follow JAX, leaving the arguments untouched", () => {
    const f = (a: Tensor, b: Tensor): Tensor => a.mul(b).sum();
    const a = f64([1, 2], false);
    const b = f64([3, 4], false);
    expect((grad(f)(a, b) as Tensor).toFlatArray()).toEqual([3, 4]);
    const [value, [ga, gb]] = valueAndGrad(f, [0, 1])(a, b);
    expect(value.item()).toBe(11);
    expect(ga!.toFlatArray()).toEqual([3, 4]);
    expect(gb!.toFlatArray()).toEqual([1, 2]);
    expect(a.grad).toBeNull();
  });

  test("an argument the output ignores gets zeros; a non-scalar output is an error", () => {
    const g = grad((a: Tensor, b: Tensor) => a.sum(), 1);
    expect(g(f64([1], false), f64([5, 6], false)).toFlatArray()).toEqual([0, 0]);
    expect(() => grad((a: Tensor) => a.mul(2))(f64([1, 2], false))).toThrow(/one-element tensor, got \[2\]/);
    expect(() => grad((a: Tensor) => a.sum(), 3)(f64([1], false))).toThrow(/argnums/);
  });
});

test("grad of grad is the second derivative, and an un-nested call after it is first-order", () => {
  const f = (x: Tensor): Tensor => x.mul(x).mul(x).sum();
  const df = (x: Tensor): Tensor => (grad(f)(x) as Tensor).sum();
  // d/dx Σ 3x² = 6x
  expect((grad(df)(f64([1, 2], false)) as Tensor).toFlatArray()).toEqual([6, 12]);
  const g = grad(f)(f64([2], false)) as Tensor;
  expect(g.item()).toBe(12);
  expect(g.requiresGrad).toBe(false);
});

test("gradients are constants: .grad carries no graph, and a .grad reused in a later loss is held fixed (docs/autograd.md)", () => {
  const x = f64([1, 2, 3]);
  x.mul(x).mul(x).sum().backward(); // ∂/∂x Σx³ = 3x²
  expect(x.grad!.toFlatArray()).toEqual([3, 12, 27]);
  expect(x.grad!.requiresGrad).toBe(false);
  expect(x.grad!.node).toBeNull();
  // L = Σ (3x²)·x with 3x² taken from .grad: dL/dx = 3x² (the constant), not 9x² (the true total derivative).
  const g = x.grad!;
  x.zeroGrad();
  g.mul(x).sum().backward();
  expect(x.grad!.toFlatArray()).toEqual([3, 12, 27]);
});

describe("gradcheck", () => {
  // exp with a wrong backward: dx = g (forgets the factor y).
  const badExp = defineOp({
    name: "badExp",
    forward(_ctx, x: Tensor) {
      return noGrad(() => x.exp());
    },
    backward(_ctx, g) {
      return [g];
    },
  });

  test("catches a wrong backward in full-Jacobian and in projection mode", () => {
    const small = randn([3, 4], { dtype: "float64", requiresGrad: true, generator: new Generator(1) });
    const large = randn([20, 30], { dtype: "float64", requiresGrad: true, generator: new Generator(2) });
    const r1 = gradcheck(badExp, [small]);
    expect(r1.mode).toBe("full");
    expect(r1.ok).toBe(false);
    const r2 = gradcheck(badExp, [large]);
    expect(r2.mode).toBe("projection");
    expect(r2.ok).toBe(false);
    expect(() => assertGradcheck(badExp, [small])).toThrow(GradcheckError);
    expect(() => assertGradcheck(badExp, [small])).toThrow(/badExp failed/);
  });

  test("passes a correct op in both modes and reports errors per input", () => {
    const small = randn([3, 4], { dtype: "float64", requiresGrad: true, generator: new Generator(1) });
    const large = randn([20, 30], { dtype: "float64", requiresGrad: true, generator: new Generator(2) });
    for (const x of [small, large]) {
      const r = gradcheck((t) => logSoftmax(t, -1), [x]);
      expect(r.ok).toBe(true);
      expect(r.inputs[0]!.maxAbsError).toBeLessThan(1e-7);
    }
  });

  test("a softmax backward that returns zeros fails (the upstream is random, not a sum)", () => {
    const zeroBack = defineOp({
      name: "zeroBackSoftmax",
      forward(_ctx, x: Tensor) {
        return x.softmax(-1);
      },
      backward(_ctx, g) {
        return [g.mul(0)];
      },
    });
    expect(gradcheck(zeroBack, [randn([2, 5], { dtype: "float64", requiresGrad: true })]).ok).toBe(false);
  });

  test("needs an input that requires grad", () => {
    expect(() => gradcheck((x) => x.exp(), [tensor([1], { dtype: "float64" })])).toThrow(/no input requires grad/);
  });
});

