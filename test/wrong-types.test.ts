/**
 * What the fuzz suite (test/fuzz) found on this line, pinned by deterministic cases: wrong
 * JavaScript types reach typed errors naming the function called (not a TypeError from inside),
 * messages name what the user wrote (a method, a layer, a transform, not the helper below it),
 * a BigInt prints as itself, and no tensor breaks its own geometry.
 */
import { describe, expect, test } from "vitest";
import * as kd from "../src/index.js";
import { DTypeError, Generator, IndexError, KdgradError, ShapeError, Tensor, ValueError, tensor, zeros } from "../src/index.js";

/** The error `f` throws: a KdgradError of class `cls` whose message matches `message`. */
function expectRefusal(f: () => unknown, cls: new (...a: any[]) => Error, message: RegExp): void {
  let thrown: unknown;
  try {
    f();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, `no error for ${message}`).toBeInstanceOf(cls);
  expect(thrown).toBeInstanceOf(KdgradError);
  expect((thrown as Error).message).toMatch(message);
}

const x = (): Tensor => tensor([[1, 2], [3, 4]]);
const wrong: [unknown, string][] = [[NaN, "NaN"], [undefined, "undefined"], [null, "null"], ["2", '"2"'], [3n, "3n"], [{ shape: [2], data: [1, 2] }, "an object"], [[1, 2], "\\[1,2\\]"]];

describe("an op given something that is not a tensor says so, naming itself", () => {
  const ops: [string, (t: unknown) => unknown][] = [
    ["neg", (t) => kd.neg(t as Tensor)], ["exp", (t) => kd.exp(t as Tensor)], ["log", (t) => kd.log(t as Tensor)],
    ["log1p", (t) => kd.log1p(t as Tensor)], ["sqrt", (t) => kd.sqrt(t as Tensor)], ["abs", (t) => kd.abs(t as Tensor)],
    ["tanh", (t) => kd.tanh(t as Tensor)], ["sigmoid", (t) => kd.sigmoid(t as Tensor)], ["relu", (t) => kd.relu(t as Tensor)],
    ["gelu", (t) => kd.gelu(t as Tensor)], ["clone", (t) => kd.clone(t as Tensor)], ["cast", (t) => kd.cast(t as Tensor, "float64")],
    ["clamp", (t) => kd.clamp(t as Tensor, 0, 1)], ["sum", (t) => kd.sum(t as Tensor)], ["mean", (t) => kd.mean(t as Tensor)],
    ["max", (t) => kd.max(t as Tensor)], ["min", (t) => kd.min(t as Tensor)], ["logSumExp", (t) => kd.logSumExp(t as Tensor, 0)],
    ["reshape", (t) => kd.reshape(t as Tensor, [1])], ["transpose", (t) => kd.transpose(t as Tensor, 0, 0)],
    ["permute", (t) => kd.permute(t as Tensor, [])], ["expand", (t) => kd.expand(t as Tensor, [])],
    ["squeeze", (t) => kd.squeeze(t as Tensor)], ["unsqueeze", (t) => kd.unsqueeze(t as Tensor, 0)],
    ["slice", (t) => kd.slice(t as Tensor, 0)], ["softmax", (t) => kd.softmax(t as Tensor)], ["logSoftmax", (t) => kd.logSoftmax(t as Tensor)],
  ];
  for (const [name, op] of ops) {
    test(name, () => {
      for (const [bad, shown] of wrong) expectRefusal(() => op(bad), DTypeError, new RegExp(`^${name}: input must be a Tensor, got ${shown}$`));
    });
  }
});

describe("a BigInt prints as itself (JSON.stringify cannot print one, and 3n is not 3)", () => {
  test("in the messages of permute, Adam, mlp, Module, Generator, Tensor and the options checker", () => {
    expectRefusal(() => kd.permute(zeros([2]), [3n] as never), IndexError, /got 3n\)$/);
    expectRefusal(() => new kd.Adam([zeros([1], { requiresGrad: true })], { betas: [3n, 0.9] as never }), ValueError, /^Adam: betas\[0\] must be in \[0, 1\), got 3n$/);
    expectRefusal(() => new kd.Adam([zeros([1], { requiresGrad: true })], { betas: [3n] as never }), ValueError, /^Adam: betas must be a pair \[beta1, beta2\], got \[3n\]$/);
    expectRefusal(() => kd.mlp([2, 3n] as never), ValueError, /^mlp: sizes must be positive integers, got \[2,3n\]$/);
    expectRefusal(() => new Generator(3n as never), ValueError, /^Generator: seed must be a non-negative safe integer, got 3n$/);
    expectRefusal(() => new Tensor(new Float32Array(2), [2], 3n as never), ShapeError, /^Tensor: strides must be a list of 1 integers for shape \[2\], got 3n$/);
    expectRefusal(() => Tensor.empty([2], 3n as never), DTypeError, /^Tensor.empty: dtype must be "float32", "float64" or "int32", got 3n$/);
    expectRefusal(() => new kd.SGD([zeros([1], { requiresGrad: true })], { lr: 3n } as never), ValueError, /^SGD: lr must be a finite number >= 0, got 3n$/);
  });
});

describe("messages name what the user wrote", () => {
  test("methods that alias an op: x.to, x.broadcastTo, x.T", () => {
    expectRefusal(() => x().to("float16" as never), DTypeError, /^Tensor\.to: dtype must be "float32", "float64" or "int32", got "float16"$/);
    expectRefusal(() => x().add(0.5).to("int32"), DTypeError, /^Tensor\.to: only integral values fit in int32, got 1\.5 at flat index 0$/);
    expectRefusal(() => x().requiresGrad_().to("int32"), DTypeError, /^Tensor\.to: a tensor that requires grad cannot become int32/);
    expectRefusal(() => x().broadcastTo([3]), ShapeError, /^Tensor\.broadcastTo: cannot expand \[2,2\] to fewer dimensions \[3\]$/);
    expectRefusal(() => x().broadcastTo([3, 2]), ShapeError, /^Tensor\.broadcastTo: cannot broadcast \[2,2\] to \[3,2\]$/);
    expectRefusal(() => zeros([3]).T, ShapeError, /^Tensor\.T: needs at least 2 dimensions, got shape \[3\]$/);
    expect(x().T.toArray()).toEqual([[1, 3], [2, 4]]);
    // The method is differentiable like the op it names differently.
    const a = tensor([1.5, 2], { requiresGrad: true });
    a.to("float64").mul(3).sum().backward();
    expect(a.grad!.dtype).toBe("float32");
    expect(a.grad!.toArray()).toEqual([3, 3]);
  });

  test("layers check their input themselves", () => {
    const int = tensor([1], { dtype: "int32" });
    expectRefusal(() => new kd.ReLU().forward(int), DTypeError, /^ReLU\.forward: input must be float32 or float64, got int32$/);
    expectRefusal(() => new kd.Tanh().forward(NaN as never), DTypeError, /^Tanh\.forward: input must be a Tensor, got NaN$/);
    expectRefusal(() => new kd.GELU().forward(int), DTypeError, /^GELU\.forward: input must be float32 or float64, got int32$/);
    expectRefusal(() => new kd.Dropout(0.5).forward(NaN as never), DTypeError, /^Dropout\.forward: input must be a Tensor, got NaN$/);
    expectRefusal(() => new kd.Dropout(0.5, { generator: 3 as never }), ValueError, /^Dropout: generator must be a Generator, got 3$/);
  });

  test("mlp refuses before any layer is built; Linear checks its bias size", () => {
    expectRefusal(() => kd.mlp([2, 3], { dtype: "float16" as never }), ValueError, /^mlp: dtype must be "float32" or "float64", got "float16"$/);
    expectRefusal(() => kd.mlp([2, 3], { generator: 3 as never }), ValueError, /^mlp: generator must be a Generator, got 3$/);
    expectRefusal(() => kd.mlp([1e10, 2]), ValueError, /^mlp: the weight \[2, 10000000000\] has 20000000000 elements, above the limit/);
    expectRefusal(() => kd.mlp([2, 3], { dropout: 0.5, generator: new Generator(1), dtype: "float64", bias: false } as never), ValueError, /^mlp: unknown key "bias" in options/);
    expectRefusal(() => new kd.Linear(0, 1e10), ValueError, /^Linear: the bias \[10000000000\] has 10000000000 elements, above the limit/);
  });

  test("the transforms and checkers name themselves, not the one they are built on", () => {
    const w = tensor([1, 2], { dtype: "float64" });
    const f = (t: Tensor): Tensor => t.mul(t).sum();
    expectRefusal(() => kd.grad(f, [0, 0.5] as never), ValueError, /^grad: argnums must be a non-negative integer or a list of them, got \[0,0\.5\]$/);
    expectRefusal(() => kd.grad(f)(tensor([1], { dtype: "int32" })), DTypeError, /^grad: argument 0 is int32/);
    expectRefusal(() => kd.grad(3 as never), ValueError, /^grad: f must be a function, got 3$/);
    expectRefusal(() => kd.valueAndGrad(f, 3n as never), ValueError, /^valueAndGrad: argnums must be .*got 3n$/);
    expectRefusal(() => kd.hessian(f)(tensor([1], { dtype: "int32" })), DTypeError, /^hessian: argument 0 is int32/);
    expectRefusal(() => kd.hessian(f, 2)(w), ValueError, /^hessian: argnums 2 names argument 2, but the call has 1$/);
    expectRefusal(() => kd.jacobian(f, [])(w), ValueError, /^jacobian: argnums must name at least one argument, got \[\]$/);
    expectRefusal(() => kd.vjp(f, tensor([1], { dtype: "int32" })), ValueError, /^vjp: no primal is a float Tensor/);
    expectRefusal(() => kd.jvp(f, [w], [3 as never]), DTypeError, /^jvp: tangents\[0\] must be a Tensor, got 3$/);
    const doubled = kd.defineOp({ name: "doubled", forward: (_c, t: Tensor) => t.clone(), backward: (_c, g) => [g.mul(2)] });
    const wrong = (t: Tensor): Tensor => doubled(t).tanh().sum();
    const a = tensor([0.5, -1], { dtype: "float64", requiresGrad: true });
    expectRefusal(() => kd.assertGradcheck(wrong, [a]), kd.GradcheckError, /^assertGradcheck: wrong failed/);
    expectRefusal(() => kd.assertGradgradcheck(wrong, [a]), kd.GradcheckError, /^assertGradgradcheck: wrong failed/);
    expectRefusal(() => kd.assertGradcheck(wrong, [a], { eps: 0 }), ValueError, /^assertGradcheck: eps must be a finite number > 0, got 0$/);
    expectRefusal(() => kd.gradcheck(() => 3 as never, [a]), ValueError, /^gradcheck: fn must return a Tensor, got 3$/);
    expectRefusal(() => kd.gradients([a.sum()], [a], null as never), ValueError, /^gradients: gradOutputs must be a list of one gradient per output \(1\), or empty, got null$/);
  });

  test("creation with requiresGrad on int32 names the function called, not requiresGrad_", () => {
    expectRefusal(() => zeros([2], { dtype: "int32", requiresGrad: true }), DTypeError, /^zeros: requiresGrad needs a float dtype, got int32$/);
    expectRefusal(() => kd.eye(2, 2, { dtype: "int32", requiresGrad: true }), DTypeError, /^eye: requiresGrad needs a float dtype/);
    expectRefusal(() => kd.zerosLike(tensor([1], { dtype: "int32" }), { requiresGrad: true }), DTypeError, /^zerosLike: requiresGrad needs a float dtype/);
    expectRefusal(() => tensor([1], { dtype: "int32", requiresGrad: true }), DTypeError, /^tensor: requiresGrad needs a float dtype/);
  });

  test("functions that take a function, a module or a caller's name check it", () => {
    expectRefusal(() => kd.noGrad(3 as never), ValueError, /^noGrad: fn must be a function, got 3$/);
    expectRefusal(() => kd.enableGrad(undefined as never), ValueError, /^enableGrad: fn must be a function, got undefined$/);
    expectRefusal(() => kd.countParameters({} as never), ValueError, /^countParameters: module must be a Module, got an object$/);
    expectRefusal(() => kd.broadcastShapes([2], [3], 3 as never), ValueError, /^broadcastShapes: fn must be a non-empty string, got 3$/);
    expect(() => kd.broadcastShapes([2], [3], "myOp")).toThrow(/^myOp: cannot broadcast \[2\] with \[3\]$/);
    expectRefusal(() => new Generator(1).reseed(1, 3 as never), ValueError, /^Generator\.reseed: fn must be a non-empty string, got 3$/);
  });
});

describe("no tensor breaks its own geometry", () => {
  test("slice of a 0-d tensor is an IndexError (it made shape [NaN]), as in PyTorch", () => {
    expectRefusal(() => kd.slice(tensor(1), 0, 0, 1), IndexError, /^slice: a 0-d tensor has no axis to slice/);
    expectRefusal(() => kd.slice(tensor(1), -1), IndexError, /^slice: a 0-d tensor has no axis to slice/);
  });

  test("the constructor: strides a list, offset non-negative even for an empty view, at most 2^31 - 1 elements", () => {
    const data = new Float32Array(2);
    expectRefusal(() => new Tensor(data, [0, 2], [-1, 0], -1), ValueError, /^Tensor: offset must be a non-negative integer, got -1$/);
    expectRefusal(() => new Tensor(data, [2], null as never), ShapeError, /^Tensor: strides must be a list of 1 integers for shape \[2\], got null$/);
    expectRefusal(() => new Tensor(data, [1e10], [0]), ValueError, /^Tensor: shape \[10000000000\] has 10000000000 elements, above the limit of 2147483647/);
    expect(new Tensor(data, [2 ** 31 - 1], [0]).size).toBe(2 ** 31 - 1);
    expectRefusal(() => Tensor.empty(undefined as never, "float32"), ShapeError, /^Tensor\.empty: shape must be a list of non-negative integers, got undefined$/);
    expectRefusal(() => Tensor.empty([2, "3"] as never, "float32"), ShapeError, /^Tensor\.empty: shape must be a list of non-negative integers, got \[2,"3"\]$/);
  });

  test("tensor() takes only the three storage types; another typed array is refused, not relabelled int32", () => {
    for (const values of [new Uint8Array(2), new Int16Array(2), new BigInt64Array(2), new Uint32Array(2)]) {
      expectRefusal(() => tensor(values as never), DTypeError, /^tensor: a typed array must be a Float32Array, Float64Array or Int32Array, got a (Uint8Array|Int16Array|BigInt64Array|Uint32Array)$/);
    }
  });

  test("a dtype string outside the three is refused everywhere (it gave a tensor with undefined storage)", () => {
    for (const dtype of ["Float32", "float16", "int8", "toString", "__proto__", ""]) {
      const d = dtype as never;
      expectRefusal(() => zeros([], { dtype: d }), DTypeError, /^zeros: dtype must be "float32", "float64" or "int32"/);
      expectRefusal(() => kd.zerosLike(x(), { dtype: d }), DTypeError, /^zerosLike: dtype must be/);
      expectRefusal(() => kd.full([1], 0, { dtype: d }), DTypeError, /^full: dtype must be/);
      expectRefusal(() => kd.fullLike(x(), 0, { dtype: d }), DTypeError, /^fullLike: dtype must be/);
      expectRefusal(() => kd.eye(2, 2, { dtype: d }), DTypeError, /^eye: dtype must be/);
      expectRefusal(() => kd.arange(0, 2, 1, { dtype: d }), DTypeError, /^arange: dtype must be/);
      expectRefusal(() => Tensor.empty([1], d), DTypeError, /^Tensor\.empty: dtype must be/);
    }
  });
});
