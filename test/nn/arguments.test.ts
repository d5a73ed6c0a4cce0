import { describe, expect, test } from "vitest";
import {
  DTypeError, Generator, Linear, ShapeError, Tensor, ValueError, assertGradcheck, linear, mlp, tensor, zeros,
} from "../../src/index.js";

describe("Linear with a size 0 (PyTorch returns the bias, broadcast)", () => {
  test("new Linear(0, 3).forward(zeros([2, 0])) is the bias on every row, and its backward works", () => {
    const layer = new Linear(0, 3, { generator: new Generator(1) });
    const bias = layer.bias!.toFlatArray();
    expect(bias.every((v) => v === 0)).toBe(true); // bound 1/√0 is taken as 0
    layer.bias!.data.set([1, -2, 0.5]);
    const y = layer.forward(zeros([2, 0]));
    expect(y.shape).toEqual([2, 3]);
    expect(y.toArray()).toEqual([[1, -2, 0.5], [1, -2, 0.5]]);
    y.backward(tensor([[1, 2, 3], [4, 5, 6]]));
    expect(layer.bias!.grad!.toFlatArray()).toEqual([5, 7, 9]);
    expect(layer.weight.grad!.shape).toEqual([3, 0]);
    expect(layer.forward(zeros([4, 2, 0])).shape).toEqual([4, 2, 3]);
  });

  test("Linear(3, 0) and empty batches give empty outputs, with gradients of the right shapes", () => {
    const layer = new Linear(3, 0);
    const x = zeros([2, 3], { requiresGrad: true });
    const y = layer.forward(x);
    expect(y.shape).toEqual([2, 0]);
    y.backward(zeros([2, 0]));
    expect(x.grad!.toArray()).toEqual([[0, 0, 0], [0, 0, 0]]);
    expect(new Linear(3, 2).forward(zeros([0, 3])).shape).toEqual([0, 2]);
  });

  test("linear(x, W, b) with in = 0 is gradchecked (float64): y = b broadcast, db = column sums of g", () => {
    const b = tensor([0.5, -1, 2], { dtype: "float64", requiresGrad: true });
    const W = zeros([3, 0], { dtype: "float64", requiresGrad: true });
    assertGradcheck((bb: Tensor, ww: Tensor) => linear(zeros([2, 0], { dtype: "float64" }), ww, bb), [b, W]);
  });
});

describe("Linear's arguments", () => {
  test("sizes are integers and the weight fits the element limit", () => {
    expect(() => new Linear(1e5, 1e5)).toThrow(ValueError);
    expect(() => new Linear(1e5, 1e5)).toThrow(/^Linear: the weight \[100000, 100000\] has 10000000000 elements, above the limit of 2147483647 \(2\^31 - 1\) elements per tensor$/);
    expect(() => new Linear(NaN, 2)).toThrow(/^Linear: inFeatures must be a non-negative integer, got NaN$/);
    expect(() => new Linear(2, "3" as unknown as number)).toThrow(/^Linear: outFeatures must be a non-negative integer, got "3"$/);
    expect(() => new Linear(2, 3, { generator: 7 as unknown as Generator })).toThrow(/^Linear: generator must be a Generator, got 7$/);
    expect(() => mlp([4, 1e5, 1e5, 2])).toThrow(/^mlp: the weight \[100000, 100000\]/);
  });

  test("forward refuses an input of another dtype, naming both and the conversion", () => {
    const layer = new Linear(2, 3);
    const x64 = tensor([[1, 2]], { dtype: "float64" });
    expect(() => layer.forward(x64)).toThrow(DTypeError);
    expect(() => layer.forward(x64)).toThrow(/^Linear.forward: input is float64 but the layer's parameters are float32; convert the input with x.to\("float32"\), or build the layer with \{ dtype: "float64" \}$/);
    expect(layer.forward(x64.to("float32")).dtype).toBe("float32");
    expect(() => layer.forward([[1, 2]] as unknown as Tensor)).toThrow(/^Linear.forward: input must be a Tensor, got \[\[1,2\]\]$/);
    expect(new Linear(2, 3, { dtype: "float64" }).forward(x64).dtype).toBe("float64");
  });

  test("the functional linear and matmul refuse mixed float dtypes too; the error names both and the fix", () => {
    const x = tensor([[1, 2]]);
    const W = tensor([[1, 0], [0, 1]], { dtype: "float64" });
    expect(() => linear(x, W)).toThrow(DTypeError);
    expect(() => linear(x, W)).toThrow(/^linear: input is float32 but weight is float64; linear does not mix float dtypes \(PyTorch refuses too\), so convert one operand, e.g. weight.to\("float32"\) or input.to\("float64"\)$/);
    expect(() => linear(x, W.to("float32"), tensor([0, 0], { dtype: "float64" }))).toThrow(/^linear: input is float32 but bias is float64/);
    // Element-wise ops keep promoting, as PyTorch's do.
    expect(x.add(W.slice(0, 0, 1)).dtype).toBe("float64");
  });
});

describe("loadStateDict's arguments", () => {
  test("anything but a Map or an object of tensors is a ValueError saying what was expected", () => {
    const net = new Linear(2, 1);
    expect(() => net.loadStateDict(null as unknown as Map<string, Tensor>)).toThrow(ValueError);
    expect(() => net.loadStateDict(null as unknown as Map<string, Tensor>)).toThrow(/^loadStateDict: dict must be a Map or an object of tensors \(e.g. model.stateDict\(\)\), got null$/);
    expect(() => net.loadStateDict(3 as unknown as Map<string, Tensor>)).toThrow(/got 3$/);
    expect(() => net.loadStateDict({ weight: [[1, 2]], bias: tensor([0]) } as unknown as Record<string, Tensor>)).toThrow(/^loadStateDict: "weight" must be a Tensor, got \[\[1,2\]\]$/);
    expect(() => net.loadStateDict(net.stateDict(), null as unknown as {})).toThrow(/^loadStateDict: options must be an object with keys among strict, got null$/);
  });

  test("keys named like Object.prototype members are ordinary (unexpected) keys", () => {
    const net = new Linear(2, 1);
    const dict = Object.fromEntries([["weight", tensor([[1, 2]])], ["bias", tensor([3])], ["constructor", tensor([0])], ["__proto__", tensor([0])]]);
    expect(() => net.loadStateDict(dict)).toThrow(/^loadStateDict: unexpected key\(s\) in state dict for Linear: "constructor", "__proto__"$/);
    expect(net.loadStateDict(dict, { strict: false }).unexpectedKeys).toEqual(["constructor", "__proto__"]);
    expect(net.weight.toFlatArray()).toEqual([1, 2]);
  });
});
