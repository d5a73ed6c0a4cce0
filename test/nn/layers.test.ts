import { describe, expect, test } from "vitest";
import {
  Adam, Dropout, GELU, Generator, Linear, ReLU, Sequential, ShapeError, Tanh, Tensor, ValueError, assertGradcheck,
  countParameters, crossEntropy, mlp, randn, tensor, zeros,
} from "../../src/index.js";
import { expectClose } from "../helpers/close.js";

/** y = x·Wᵀ + b by explicit loops over rows of a 2-D x. */
function reference(x: number[][], w: number[][], b: number[] | null): number[][] {
  return x.map((row) => w.map((wj, j) => wj.reduce((s, wji, i) => s + wji * row[i]!, b === null ? 0 : b[j]!)));
}

describe("Linear", () => {
  test("stores weight [out, in] and bias [out], uniform in ±1/√in, drawn from the generator W first", () => {
    const layer = new Linear(3, 2, { generator: new Generator(5) });
    expect(layer.weight.shape).toEqual([2, 3]);
    expect(layer.bias!.shape).toEqual([2]);
    expect(layer.weight.dtype).toBe("float32");
    // The same draws by hand: bound = 1/√3, value = −bound + 2·bound·u with u = 24-bit uniforms.
    const g = new Generator(5);
    const bound = 1 / Math.sqrt(3);
    const expected = Array.from({ length: 8 }, () => Math.fround(-bound + 2 * bound * g.uniform24()));
    expect([...layer.weight.toFlatArray(), ...layer.bias!.toFlatArray()]).toEqual(expected);
  });

  test("float64 layers draw 53-bit uniforms: each value is −bound + 2·bound·u, rounded once", () => {
    const layer = new Linear(3, 2, { generator: new Generator(6), dtype: "float64" });
    const g = new Generator(6);
    const bound = 1 / Math.sqrt(3);
    const expected = Array.from({ length: 8 }, () => -bound + 2 * bound * g.uniform());
    expect([...layer.weight.toFlatArray(), ...layer.bias!.toFlatArray()]).toEqual(expected);
  });

  test("the initial values have the moments of U(−1/√in, 1/√in)", () => {
    const layer = new Linear(100, 300, { generator: new Generator(1), dtype: "float64" });
    const w = layer.weight.toFlatArray();
    const bound = 0.1;
    expect(w.every((v) => Math.abs(v) <= bound)).toBe(true);
    const mean = w.reduce((a, b) => a + b, 0) / w.length;
    const variance = w.reduce((a, b) => a + (b - mean) ** 2, 0) / w.length;
    // Var U(−b, b) = b²/3; with 30,000 draws the sample mean has sd b/√(3·30000) ≈ 3.3e-4 and the variance is within a few percent.
    expect(Math.abs(mean)).toBeLessThan(1.5e-3);
    expect(Math.abs(variance / (bound ** 2 / 3) - 1)).toBeLessThan(0.03);
  });

  test("the same seed gives the same layer, another seed another one", () => {
    const a = new Linear(4, 5, { generator: new Generator(7) });
    const b = new Linear(4, 5, { generator: new Generator(7) });
    const c = new Linear(4, 5, { generator: new Generator(8) });
    expect(a.weight.toFlatArray()).toEqual(b.weight.toFlatArray());
    expect(a.weight.toFlatArray()).not.toEqual(c.weight.toFlatArray());
  });

  test("forward is x·Wᵀ + b for a batch, a single vector and extra leading axes", () => {
    const layer = new Linear(3, 2, { dtype: "float64", generator: new Generator(2) });
    const w = layer.weight.toArray() as number[][];
    const b = layer.bias!.toFlatArray();
    const x = [[1, 2, 3], [-1, 0.5, 4]];
    expectClose(layer.forward(tensor(x, { dtype: "float64" })), reference(x, w, b).flat(), { rtol: 1e-15 });
    const single = layer.forward(tensor([1, 2, 3], { dtype: "float64" }));
    expect(single.shape).toEqual([2]);
    expectClose(single.toFlatArray(), reference([[1, 2, 3]], w, b)[0]!, { rtol: 1e-15 });
    const x3 = randn([2, 4, 3], { dtype: "float64", generator: new Generator(3) });
    const y3 = layer.forward(x3);
    expect(y3.shape).toEqual([2, 4, 2]);
    expectClose(y3.toFlatArray(), reference(x3.reshape(8, 3).toArray() as number[][], w, b).flat(), { rtol: 1e-14 });
  });

  test("without bias there is only a weight", () => {
    const layer = new Linear(2, 2, { bias: false });
    expect(layer.bias).toBeNull();
    expect(layer.namedParameters().map(([n]) => n)).toEqual(["weight"]);
    const w = layer.weight.toArray() as number[][];
    expectClose(layer.forward(tensor([[1, -1]])), reference([[1, -1]], w, null).flat(), { rtol: 1e-6 });
  });

  test("gradients flow to the input, the weight and the bias (gradcheck)", () => {
    const layer = new Linear(3, 2, { dtype: "float64", generator: new Generator(4) });
    const x = randn([4, 3], { dtype: "float64", requiresGrad: true, generator: new Generator(9) });
    assertGradcheck((xx, w, b) => xx.matmul(w.T).add(b), [x, layer.weight, layer.bias!]);
    layer.forward(x).mul(randn([4, 2], { dtype: "float64", generator: new Generator(10) })).sum().backward();
    expect(layer.weight.grad!.shape).toEqual([2, 3]);
    expect(layer.bias!.grad!.shape).toEqual([2]);
    expect(x.grad!.shape).toEqual([4, 3]);
  });

  test("arguments and input shapes are checked", () => {
    expect(() => new Linear(2.5, 3)).toThrow(/^Linear: inFeatures must be a non-negative integer, got 2.5$/);
    expect(() => new Linear(2, -1)).toThrow(/^Linear: outFeatures must be a non-negative integer, got -1$/);
    expect(() => new Linear(2, 3, { dtype: "int32" as "float32" })).toThrow(ValueError);
    expect(() => new Linear(3, 2).forward(zeros([4, 2]))).toThrow(ShapeError);
    expect(() => new Linear(3, 2).forward(zeros([4, 2]))).toThrow(/^Linear.forward: input of shape \[4,2\] does not end in inFeatures = 3$/);
  });
});

describe("activations", () => {
  test("ReLU, Tanh and GELU apply their functions and have no parameters", () => {
    const x = tensor([-2, -0.5, 0, 0.5, 2], { dtype: "float64" });
    expect(new ReLU().forward(x).toFlatArray()).toEqual([0, 0, 0, 0.5, 2]);
    expectClose(new Tanh().forward(x), x.toFlatArray().map(Math.tanh), { rtol: 1e-15 });
    expectClose(new GELU().forward(x).toFlatArray().slice(2, 4), [0, 0.5 * 0.6914624612740131]);
    expect([new ReLU(), new Tanh(), new GELU()].map(countParameters)).toEqual([0, 0, 0]);
  });
});

describe("Dropout", () => {
  const x = tensor(Float64Array.from({ length: 20000 }, (_, i) => 1 + (i % 7)), { dtype: "float64" });

  test("in training it zeroes about a fraction p and scales the rest by 1/(1 − p)", () => {
    const y = new Dropout(0.25, { generator: new Generator(1) }).forward(x).toFlatArray();
    const xs = x.toFlatArray();
    let zeros = 0;
    for (let i = 0; i < y.length; i++) {
      if (y[i] === 0) zeros++;
      else expect(y[i]).toBe(xs[i]! * (1 / 0.75)); // x times the mask value 1/(1 − p)
    }
    // Binomial(20000, 0.25): sd = √(20000·0.25·0.75) ≈ 61; allow 4 sd.
    expect(Math.abs(zeros - 5000)).toBeLessThan(245);
  });

  test("the mask is its definition: kept where a 53-bit uniform from the generator is ≥ p, scaled by 1/(1 − p) in x's dtype", () => {
    for (const dtype of ["float32", "float64"] as const) {
      const xs = randn([3, 50], { generator: new Generator(8), dtype });
      const y = new Dropout(0.4, { generator: new Generator(9) }).forward(xs).toFlatArray();
      const g = new Generator(9);
      const round = dtype === "float32" ? Math.fround : (v: number) => v;
      const scale = round(1 / 0.6);
      const want = xs.toFlatArray().map((v) => round(v * (g.uniform() >= 0.4 ? scale : 0)));
      expect(y, dtype).toEqual(want);
    }
  });

  test("the expected output equals the input (inverted dropout)", () => {
    const y = new Dropout(0.5, { generator: new Generator(2) }).forward(x);
    const ratio = y.sum().item() / x.sum().item();
    expect(Math.abs(ratio - 1)).toBeLessThan(0.03);
  });

  test("the gradient is the mask: 1/(1 − p) where kept, 0 where dropped", () => {
    const leaf = tensor([1, 2, 3, 4, 5, 6, 7, 8], { dtype: "float64", requiresGrad: true });
    const y = new Dropout(0.5, { generator: new Generator(3) }).forward(leaf);
    y.sum().backward();
    const kept = y.toFlatArray().map((v) => (v === 0 ? 0 : 2));
    expect(leaf.grad!.toFlatArray()).toEqual(kept);
    expect(kept).toContain(0);
    expect(kept).toContain(2);
  });

  test("eval mode and p = 0 are the identity; a fixed seed gives the same mask", () => {
    const d = new Dropout(0.3, { generator: new Generator(4) });
    d.eval();
    expect(d.forward(x)).toBe(x);
    expect(new Dropout(0).forward(x)).toBe(x);
    const a = new Dropout(0.3, { generator: new Generator(5) }).forward(x).toFlatArray();
    const b = new Dropout(0.3, { generator: new Generator(5) }).forward(x).toFlatArray();
    expect(a).toEqual(b);
  });

  test("p must be in [0, 1)", () => {
    for (const p of [1, -0.1, NaN, 2]) expect(() => new Dropout(p)).toThrow(new RegExp(`^Dropout: p must be in \\[0, 1\\), got ${p}$`));
  });
});

describe("Sequential and mlp", () => {
  test("Sequential applies its layers in order and names them by position", () => {
    const g = new Generator(6);
    const a = new Linear(2, 3, { generator: g, dtype: "float64" });
    const b = new Linear(3, 1, { generator: g, dtype: "float64" });
    const s = new Sequential(a, new ReLU(), b);
    const x = tensor([[0.5, -1]], { dtype: "float64" });
    expectClose(s.forward(x), b.forward(a.forward(x).relu()), { rtol: 0, atol: 0 });
    expect(s.length).toBe(3);
    expect(s.namedParameters().map(([n]) => n)).toEqual(["0.weight", "0.bias", "2.weight", "2.bias"]);
    expect(() => new Sequential(new ReLU(), 3 as unknown as ReLU)).toThrow(/^Sequential: argument 1 is not a Module$/);
  });

  test("mlp builds Linear → activation → Dropout → … → Linear, without an activation at the end", () => {
    const net = mlp([64, 256, 256, 10], { dropout: 0.2 });
    expect(net.layers.map((m) => m.constructor.name)).toEqual(["Linear", "ReLU", "Dropout", "Linear", "ReLU", "Dropout", "Linear"]);
    expect(net.namedParameters().map(([n, t]) => `${n} ${t.shape.join("x")}`)).toEqual([
      "0.weight 256x64", "0.bias 256", "3.weight 256x256", "3.bias 256", "6.weight 10x256", "6.bias 10",
    ]);
    expect(countParameters(net)).toBe(64 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10);
    expect(mlp([4, 8, 2]).layers.map((m) => m.constructor.name)).toEqual(["Linear", "ReLU", "Linear"]);
    expect(mlp([4, 2]).layers.map((m) => m.constructor.name)).toEqual(["Linear"]);
    expect(mlp([4, 8, 2], { activation: "tanh" }).layers[1]).toBeInstanceOf(Tanh);
    expect(mlp([4, 8, 2], { activation: "gelu" }).layers[1]).toBeInstanceOf(GELU);
    expect(mlp([4, 8, 2], { dtype: "float64" }).parameters().every((p) => p.dtype === "float64")).toBe(true);
  });

  test("mlp is reproducible from its generator", () => {
    const a = mlp([5, 7, 3], { generator: new Generator(11) }).stateDict();
    const b = mlp([5, 7, 3], { generator: new Generator(11) }).stateDict();
    for (const [k, t] of a) expect(b.get(k)!.toFlatArray()).toEqual(t.toFlatArray());
  });

  test("mlp checks its arguments", () => {
    expect(() => mlp([4])).toThrow(/^mlp: sizes must list at least an input and an output width, got \[4\]$/);
    expect(() => mlp([4, 0, 2])).toThrow(/^mlp: sizes must be positive integers, got \[4,0,2\]$/);
    expect(() => mlp([4, 2], { activation: "sigmoid" as "relu" })).toThrow(/^mlp: activation must be "relu", "tanh" or "gelu", got "sigmoid"$/);
    expect(() => mlp([4, 2], { dropout: 1 })).toThrow(/^mlp: dropout must be in \[0, 1\), got 1$/);
  });

  test("mlp([64, 256, 256, 10]) trains: 200 Adam steps shrink the loss on a separable problem by over 100×", () => {
    // 30 points, 3 per class, each a class prototype plus a little noise.
    const g = new Generator(2024);
    const prototypes = randn([10, 64], { generator: g });
    const labels = Array.from({ length: 30 }, (_, i) => i % 10);
    const x = new Tensor(Float32Array.from({ length: 30 * 64 }, (_, k) => prototypes.data[labels[Math.floor(k / 64)]! * 64 + (k % 64)]! + 0.3 * g.normal()), [30, 64]);
    const y = tensor(labels, { dtype: "int32" });
    const net = mlp([64, 256, 256, 10], { generator: new Generator(1) });
    const opt = new Adam(net.parameters(), { lr: 1e-3 });
    let first = NaN;
    let last = NaN;
    for (let step = 0; step < 200; step++) {
      const loss = crossEntropy(net.forward(x), y);
      if (step === 0) first = loss.item();
      last = loss.item();
      opt.zeroGrad();
      loss.backward();
      opt.step();
    }
    expect(first).toBeGreaterThan(1.5); // about log 10 = 2.3 at the start
    expect(last).toBeLessThan(first / 100);
  });
});
