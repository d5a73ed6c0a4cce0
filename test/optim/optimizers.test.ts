/**
 * Each optimizer against updates worked out by hand from PyTorch's
 * algorithm boxes (torch.optim.SGD / Adam / AdamW). Parameters are float64
 * and the gradients are set directly, so every expected value below is
 * plain arithmetic written out in the test.
 */
import { describe, expect, test } from "vitest";
import { Adam, AdamW, Optimizer, SGD, Tensor, ValueError, tensor, zeros } from "../../src/index.js";

const param = (v: number[]): Tensor => tensor(v, { dtype: "float64", requiresGrad: true });
const setGrad = (p: Tensor, g: number[]): void => {
  p.grad = tensor(g, { dtype: "float64" });
};
/** Run steps with the given gradients and return the parameter after each. */
function run(make: (p: Tensor) => Optimizer, theta0: number[], grads: number[][]): number[][] {
  const p = param(theta0);
  const opt = make(p);
  return grads.map((g) => {
    setGrad(p, g);
    opt.step();
    return p.toFlatArray();
  });
}
const close = (got: number[][], want: number[][], rtol = 1e-15): void => {
  expect(got.length).toBe(want.length);
  got.forEach((row, t) => row.forEach((v, i) => {
    const w = want[t]![i]!;
    expect(Math.abs(v - w), `step ${t + 1}, element ${i}: ${v} vs ${w}`).toBeLessThanOrEqual(rtol * Math.abs(w) + 1e-17);
  }));
};

describe("SGD", () => {
  test("plain: θ ← θ − γ∇", () => {
    // γ = 0.1: 1 − 0.1·0.5 = 0.95, −2 − 0.1·0.25 = −2.025; then 0.95 − 0.1·(−1) = 1.05, −2.025 − 0.1·2 = −2.225.
    close(run((p) => new SGD([p], { lr: 0.1 }), [1, -2], [[0.5, 0.25], [-1, 2]]), [[0.95, -2.025], [1.05, -2.225]]);
  });

  test("momentum: the buffer starts as the first gradient, then b ← μb + g", () => {
    // μ = 0.9, γ = 0.1. t=1: b = 0.5, θ = 1 − 0.05 = 0.95. t=2: b = 0.45 + 0.25 = 0.7, θ = 0.95 − 0.07 = 0.88.
    // t=3 (g = 0): b = 0.63, θ = 0.88 − 0.063 = 0.817.
    close(run((p) => new SGD([p], { lr: 0.1, momentum: 0.9 }), [1], [[0.5], [0.25], [0]]), [[0.95], [0.88], [0.817]]);
  });

  test("dampening scales the new gradient from the second step on", () => {
    // μ = 0.9, τ = 0.5. t=1: b = 0.5 (no dampening), θ = 0.95. t=2: b = 0.45 + 0.5·0.25 = 0.575, θ = 0.95 − 0.0575 = 0.8925.
    close(run((p) => new SGD([p], { lr: 0.1, momentum: 0.9, dampening: 0.5 }), [1], [[0.5], [0.25]]), [[0.95], [0.8925]]);
  });

  test("nesterov: the step is g + μb", () => {
    // μ = 0.9. t=1: b = 0.5, g = 0.5 + 0.45 = 0.95, θ = 1 − 0.095 = 0.905.
    // t=2: b = 0.45 + 0.25 = 0.7, g = 0.25 + 0.63 = 0.88, θ = 0.905 − 0.088 = 0.817.
    close(run((p) => new SGD([p], { lr: 0.1, momentum: 0.9, nesterov: true }), [1], [[0.5], [0.25]]), [[0.905], [0.817]]);
  });

  test("weight decay adds λθ to the gradient (before momentum)", () => {
    // λ = 0.1. t=1: g = 0.5 + 0.1·1 = 0.6, θ = 0.94. t=2: g = 0.25 + 0.094 = 0.344, θ = 0.94 − 0.0344 = 0.9056.
    close(run((p) => new SGD([p], { lr: 0.1, weightDecay: 0.1 }), [1], [[0.5], [0.25]]), [[0.94], [0.9056]]);
    // With μ = 0.9: t=1: b = 0.6, θ = 0.94. t=2: b = 0.54 + 0.344 = 0.884, θ = 0.94 − 0.0884 = 0.8516.
    close(run((p) => new SGD([p], { lr: 0.1, momentum: 0.9, weightDecay: 0.1 }), [1], [[0.5], [0.25]]), [[0.94], [0.8516]]);
  });
});

/** Adam by the textbook formulas (bias-corrected m̂ and v̂), for comparison with the implementation's arrangement. */
function adamByHand(theta: number, grads: number[], o: { lr: number; b1: number; b2: number; eps: number; l2?: number; decoupled?: number; amsgrad?: boolean }): number[] {
  let m = 0;
  let v = 0;
  let vMax = 0;
  return grads.map((g0, i) => {
    const t = i + 1;
    if (o.decoupled) theta = theta - o.lr * o.decoupled * theta;
    const g = g0 + (o.l2 ?? 0) * theta;
    m = o.b1 * m + (1 - o.b1) * g;
    v = o.b2 * v + (1 - o.b2) * g * g;
    vMax = Math.max(vMax, v);
    const mHat = m / (1 - o.b1 ** t);
    const vHat = (o.amsgrad ? vMax : v) / (1 - o.b2 ** t);
    theta = theta - (o.lr * mHat) / (Math.sqrt(vHat) + o.eps);
    return theta;
  });
}

describe("Adam", () => {
  test("two steps by hand with the defaults β = (0.9, 0.999), ε = 1e-8", () => {
    // γ = 0.1, θ₀ = 1.
    // t=1, g = 0.5: m = 0.05, v = 0.001·0.25 = 0.00025; m̂ = 0.05/0.1 = 0.5, v̂ = 0.00025/0.001 = 0.25, √v̂ = 0.5;
    //   θ₁ = 1 − 0.1·0.5/(0.5 + 1e-8) = 1 − 0.05/0.50000001.
    // t=2, g = 0.25: m = 0.045 + 0.025 = 0.07, v = 0.999·0.00025 + 0.001·0.0625 = 0.00031225;
    //   m̂ = 0.07/(1 − 0.81) = 0.07/0.19, v̂ = 0.00031225/(1 − 0.998001) = 0.00031225/0.001999;
    //   θ₂ = θ₁ − 0.1·m̂/(√v̂ + 1e-8).
    const theta1 = 1 - 0.05 / 0.50000001;
    const theta2 = theta1 - (0.1 * (0.07 / 0.19)) / (Math.sqrt(0.00031225 / 0.001999) + 1e-8);
    close(run((p) => new Adam([p], { lr: 0.1 }), [1], [[0.5], [0.25]]), [[theta1], [theta2]], 1e-14);
    // The first step moves every coordinate by about γ whatever the gradient's scale (m̂/√v̂ = sign g).
    const p = run((q) => new Adam([q], { lr: 0.1 }), [0, 0], [[1e-3, -1e3]]);
    close(p, [[-0.1 * 1e-3 / (1e-3 + 1e-8), 0.1 * 1e3 / (1e3 + 1e-8)]], 1e-14);
  });

  test("three steps agree with the textbook form for other betas and eps", () => {
    const o = { lr: 0.05, b1: 0.8, b2: 0.9, eps: 1e-3 };
    const grads = [0.3, -1.2, 0.7];
    const got = run((p) => new Adam([p], { lr: o.lr, betas: [o.b1, o.b2], eps: o.eps }), [2], grads.map((g) => [g]));
    close(got, adamByHand(2, grads, o).map((v) => [v]), 1e-14);
  });

  test("weight decay adds λθ to the gradient (L2), so it enters m and v", () => {
    // λ = 0.1, θ₀ = 1: t=1: g = 0.5 + 0.1 = 0.6; m = 0.06, v = 0.00036; m̂ = 0.6, √v̂ = 0.6; θ₁ = 1 − 0.1·0.6/(0.6 + 1e-8).
    const theta1 = 1 - 0.06 / 0.60000001;
    const got = run((p) => new Adam([p], { lr: 0.1, weightDecay: 0.1 }), [1], [[0.5], [0.25]]);
    close([got[0]!], [[theta1]], 1e-14);
    close(got, adamByHand(1, [0.5, 0.25], { lr: 0.1, b1: 0.9, b2: 0.999, eps: 1e-8, l2: 0.1 }).map((v) => [v]), 1e-14);
  });

  test("amsgrad normalises by the running maximum of v", () => {
    // β = (0.5, 0.5), γ = 0.1, ε = 0, gradients 1 then 0.01.
    // t=1: m = 0.5, v = 0.5, vMax = 0.5; m̂ = 1, v̂ = 1; θ₁ = 1 − 0.1 = 0.9 (with or without amsgrad).
    // t=2: m = 0.25 + 0.005 = 0.255, v = 0.25 + 0.00005 = 0.25005 < vMax = 0.5;
    //   m̂ = 0.255/0.75 = 0.34; amsgrad: v̂ = 0.5/0.75, plain: v̂ = 0.25005/0.75.
    const make = (amsgrad: boolean) => (p: Tensor) => new Adam([p], { lr: 0.1, betas: [0.5, 0.5], eps: 0, amsgrad });
    const ams = run(make(true), [1], [[1], [0.01]]);
    const plain = run(make(false), [1], [[1], [0.01]]);
    close(ams, [[0.9], [0.9 - (0.1 * 0.34) / Math.sqrt(0.5 / 0.75)]], 1e-14);
    close(plain, [[0.9], [0.9 - (0.1 * 0.34) / Math.sqrt(0.25005 / 0.75)]], 1e-14);
    expect(ams[1]![0]).toBeGreaterThan(plain[1]![0]!); // the larger denominator takes a smaller step
  });

  test("a parameter without a gradient is skipped and its step count does not advance", () => {
    const a = param([1]);
    const b = param([1]);
    const opt = new Adam([a, b], { lr: 0.1 });
    setGrad(a, [0.5]);
    opt.step(); // b has no gradient
    expect(b.toFlatArray()).toEqual([1]);
    setGrad(b, [0.5]);
    a.grad = null;
    opt.step(); // now only b moves, and its update is a first step (bias correction with t = 1)
    expect(a.toFlatArray()).toEqual([1 - 0.05 / 0.50000001]);
    expect(b.toFlatArray()).toEqual(a.toFlatArray());
  });
});

describe("AdamW", () => {
  test("decays θ ← θ − γλθ first, then takes the Adam step with the raw gradient", () => {
    // γ = 0.1, λ = 0.1, θ₀ = 1. t=1: θ = 1 − 0.01 = 0.99; then m̂ = 0.5, √v̂ = 0.5: θ₁ = 0.99 − 0.05/0.50000001.
    // t=2: θ = θ₁·(1 − 0.01); then the same Adam step as plain Adam's second step (the decay never enters m or v).
    const theta1 = 0.99 - 0.05 / 0.50000001;
    const theta2 = theta1 * 0.99 - (0.1 * (0.07 / 0.19)) / (Math.sqrt(0.00031225 / 0.001999) + 1e-8);
    close(run((p) => new AdamW([p], { lr: 0.1, weightDecay: 0.1 }), [1], [[0.5], [0.25]]), [[theta1], [theta2]], 1e-14);
  });

  test("defaults: weightDecay 1e-2 (Adam's is 0), lr 1e-3, betas (0.9, 0.999), eps 1e-8", () => {
    const p = param([1]);
    const w = new AdamW([p]);
    const a = new Adam([param([1])]);
    expect([w.lr, w.beta1, w.beta2, w.eps, w.weightDecay, w.amsgrad]).toEqual([1e-3, 0.9, 0.999, 1e-8, 1e-2, false]);
    expect([a.lr, a.beta1, a.beta2, a.eps, a.weightDecay, a.amsgrad]).toEqual([1e-3, 0.9, 0.999, 1e-8, 0, false]);
    expect(w.decoupled && !a.decoupled).toBe(true);
    expect(w).toBeInstanceOf(Adam);
    // One default step: θ = 1·(1 − 1e-5) − 1e-3·0.5/(0.5 + 1e-8).
    setGrad(p, [0.5]);
    w.step();
    expect(Math.abs(p.item() - (1 - 1e-5 - 1e-3 * 0.5 / 0.50000001))).toBeLessThan(1e-16);
  });

  test("with amsgrad it matches the textbook form", () => {
    const o = { lr: 0.1, b1: 0.5, b2: 0.5, eps: 1e-6, decoupled: 0.2, amsgrad: true };
    const grads = [1, 0.01, -0.3];
    const got = run((p) => new AdamW([p], { lr: o.lr, betas: [o.b1, o.b2], eps: o.eps, weightDecay: 0.2, amsgrad: true }), [1.5], grads.map((g) => [g]));
    close(got, adamByHand(1.5, grads, o).map((v) => [v]), 1e-14);
  });
});

describe("all optimizers", () => {
  test("zeroGrad sets every gradient to null", () => {
    const p = param([1, 2]);
    setGrad(p, [1, 1]);
    const opt = new SGD([p], { lr: 1 });
    opt.zeroGrad();
    expect(p.grad).toBeNull();
    opt.step(); // nothing to do
    expect(p.toFlatArray()).toEqual([1, 2]);
  });

  test("float32 parameters are updated in float32 storage", () => {
    const p = tensor([1], { requiresGrad: true });
    p.grad = tensor([0.1]);
    new SGD([p], { lr: 0.1 }).step();
    expect(p.data).toBeInstanceOf(Float32Array);
    expect(p.item()).toBe(Math.fround(1 - 0.1 * Math.fround(0.1)));
  });

  test("a gradient held as a transposed view, or in the other float dtype, is read in the parameter's layout and dtype", () => {
    const p = tensor([[1, 2, 3], [4, 5, 6]], { requiresGrad: true });
    const g64 = tensor([[0.1, 0.4], [0.2, 0.5], [0.3, 0.6]], { dtype: "float64" });
    p.grad = g64.T;
    new SGD([p], { lr: 0.5 }).step();
    // θ − γ·g with g first converted to float32 (the parameter's dtype), then rounded once.
    const want = [1, 2, 3, 4, 5, 6].map((t, i) => Math.fround(t - 0.5 * Math.fround([0.1, 0.2, 0.3, 0.4, 0.5, 0.6][i]!)));
    expect(p.toFlatArray()).toEqual(want);
  });

  test("float32 momentum and Adam steps: float64 arithmetic, each stored value rounded once", () => {
    const theta = [0.5, -1.25, 3];
    const grads = [[0.1, -0.2, 0.3], [0.05, 0.4, -0.6]];
    const p = tensor(theta, { requiresGrad: true });
    const opt = new SGD([p], { lr: 0.1, momentum: 0.9, weightDecay: 0.01 });
    let th = theta.map(Math.fround);
    let b: number[] = [];
    grads.forEach((gr, t) => {
      p.grad = tensor(gr);
      opt.step();
      const g = gr.map((v, i) => Math.fround(v) + 0.01 * th[i]!);
      b = t === 0 ? g.map(Math.fround) : g.map((v, i) => Math.fround(0.9 * b[i]! + v));
      th = th.map((v, i) => Math.fround(v - 0.1 * b[i]!));
      expect(p.toFlatArray(), `SGD step ${t + 1}`).toEqual(th);
    });
    const q = tensor(theta, { requiresGrad: true });
    const adam = new Adam([q], { lr: 0.01 });
    let m = [0, 0, 0];
    let v = [0, 0, 0];
    let phi = theta.map(Math.fround);
    grads.forEach((gr, t) => {
      q.grad = tensor(gr);
      adam.step();
      const g = gr.map(Math.fround);
      m = m.map((mi, i) => Math.fround(0.9 * mi + 0.1 * g[i]!));
      v = v.map((vi, i) => Math.fround(0.999 * vi + 0.001 * g[i]! * g[i]!));
      const stepSize = 0.01 / (1 - 0.9 ** (t + 1));
      const bc2 = Math.sqrt(1 - 0.999 ** (t + 1));
      phi = phi.map((x, i) => Math.fround(x - (stepSize * m[i]!) / (Math.sqrt(v[i]!) / bc2 + 1e-8)));
      expect(q.toFlatArray(), `Adam step ${t + 1}`).toEqual(phi);
    });
  });

  test("options are validated with errors naming the optimizer and the option", () => {
    const ps = (): Tensor[] => [param([1])];
    const cases: [() => unknown, RegExp][] = [
      [() => new SGD(ps(), {} as { lr: number }), /^SGD: lr is required/],
      [() => new SGD(ps(), { lr: -1 }), /^SGD: lr must be a finite number >= 0, got -1$/],
      [() => new SGD(ps(), { lr: 0.1, momentum: -0.5 }), /^SGD: momentum must be a finite number >= 0, got -0.5$/],
      [() => new SGD(ps(), { lr: 0.1, weightDecay: -1 }), /^SGD: weightDecay must be a finite number >= 0, got -1$/],
      [() => new SGD(ps(), { lr: 0.1, nesterov: true }), /^SGD: nesterov requires momentum > 0 and dampening 0, got momentum 0 and dampening 0$/],
      [() => new SGD(ps(), { lr: 0.1, nesterov: true, momentum: 0.9, dampening: 0.1 }), /^SGD: nesterov requires momentum > 0 and dampening 0/],
      [() => new Adam(ps(), { lr: NaN }), /^Adam: lr must be a finite number >= 0, got NaN$/],
      [() => new Adam(ps(), { betas: [1, 0.999] }), /^Adam: betas\[0\] must be in \[0, 1\), got 1$/],
      [() => new Adam(ps(), { betas: [0.9, -0.1] }), /^Adam: betas\[1\] must be in \[0, 1\), got -0.1$/],
      [() => new Adam(ps(), { betas: [0.9] as unknown as [number, number] }), /^Adam: betas must be a pair/],
      [() => new Adam(ps(), { eps: -1e-8 }), /^Adam: eps must be a finite number >= 0, got -1e-8$/],
      [() => new AdamW(ps(), { weightDecay: -0.01 }), /^AdamW: weightDecay must be a finite number >= 0, got -0.01$/],
      [() => new Adam([]), /^Adam: params is an empty list; an optimizer needs at least one parameter \(e.g. model.parameters\(\)\)$/],
      [() => { const p = param([1]); return new Adam([p, p]); }, /^Adam: params\[1\] appears more than once$/],
      [() => new SGD([tensor([1])], { lr: 1 }), /^SGD: params\[0\] \(shape \[1\]\) must be a leaf tensor with requiresGrad set$/],
      [() => new SGD([param([1]).mul(2)], { lr: 1 }), /must be a leaf tensor/],
      [() => new SGD([zeros([2, 3]).T.requiresGrad_()], { lr: 1 }), /^SGD: params\[0\] \(shape \[3,2\]\) must own contiguous storage, not be a view$/],
      [() => new SGD(3 as unknown as Tensor[], { lr: 1 }), /^SGD: params must be an iterable of tensors/],
    ];
    for (const [make, message] of cases) {
      expect(make).toThrow(ValueError);
      expect(make).toThrow(message);
    }
  });
});
