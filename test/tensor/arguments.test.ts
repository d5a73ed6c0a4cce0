import { describe, expect, test } from "vitest";
import * as kd from "../../src/index.js";
import {
  DTypeError, Generator, IndexError, KdgradError, ShapeError, Tensor, ValueError,
  arange, eye, full, ones, randint, tensor, zeros,
} from "../../src/index.js";

type ErrorClass = new (...a: any[]) => Error;

/** Call `f`, and check it throws `cls` (a KdgradError) with a message matching `message`. */
function expectRefusal(f: () => unknown, cls: ErrorClass, message: RegExp): void {
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

const x23 = (): Tensor => tensor([[1, 2, 3], [4, 5, 6]]);
const labels = (v: number[]): Tensor => tensor(v, { dtype: "int32" });

describe("integer arguments are checked everywhere (no malformed tensor is made)", () => {
  test("slice: start and end must be integers; a fraction or NaN made a view outside its storage", () => {
    expectRefusal(() => kd.slice(x23(), 0, 0.5), ValueError, /^slice: start must be an integer, got 0\.5$/);
    expectRefusal(() => kd.slice(x23(), 1, 0, NaN), ValueError, /^slice: end must be an integer, got NaN$/);
    expectRefusal(() => kd.slice(x23(), 1, "1" as unknown as number), ValueError, /^slice: start must be an integer, got "1"$/);
    expectRefusal(() => kd.slice(x23(), 0, 0, 2, "1" as unknown as number), ValueError, /^slice: step must be a positive integer, got "1"$/);
    expectRefusal(() => kd.slice(x23(), 0.5), IndexError, /^slice: dim is out of range \(expected an integer in \[-2, 1\], got 0\.5\)$/);
    // Absent bounds (undefined, or null as in Python's x[:2]) still mean the axis ends.
    expect(kd.slice(x23(), 1, null as unknown as number, 2).toArray()).toEqual([[1, 2], [4, 5]]);
  });

  test("arange: NaN or infinite bounds are refused; the count is checked against the limit", () => {
    expectRefusal(() => arange(0, NaN), ValueError, /^arange: end must be a number, got NaN$/);
    expectRefusal(() => arange(NaN), ValueError, /^arange: end must be a number, got NaN$/);
    expectRefusal(() => arange(-Infinity, 3), ValueError, /^arange: start must be a finite number, got -Infinity$/);
    expectRefusal(() => arange(0, Infinity), ValueError, /^arange: the range from 0 to Infinity by 1 has Infinity elements, above the limit of 2147483647 \(2\^31 - 1\)/);
    expectRefusal(() => arange(0, 3e9), ValueError, /^arange: .* has 3000000000 elements, above the limit of 2147483647/);
  });

  test("concat of 0-d tensors is a ShapeError (it made shape [NaN]); stack joins them", () => {
    expectRefusal(() => kd.concat([tensor(1), tensor(2)]), ShapeError, /^concat: tensors\[0\] is 0-d \(shape \[\]\), which has no axis to concatenate along; use stack/);
    expect(kd.stack([tensor(1), tensor(2)]).toArray()).toEqual([1, 2]);
    expectRefusal(() => kd.concat([zeros([2]), zeros([2])], 0.5), IndexError, /^concat: dim is out of range/);
    expectRefusal(() => kd.concat(zeros([2]) as unknown as Tensor[]), ValueError, /^concat: tensors must be a list of tensors, got a Tensor$/);
    expectRefusal(() => kd.concat([zeros([2]), 3 as unknown as Tensor]), ValueError, /^concat: tensors\[1\] must be a Tensor, got 3$/);
    expectRefusal(() => kd.stack([zeros([2]), zeros([2])], 1.5), IndexError, /^stack: dim is out of range/);
  });

  test("gather on 0-d inputs checks the index (only 0 is in bounds), like torch.gather", () => {
    expect(kd.gather(tensor(5), 0, labels([0]).reshape([])).item()).toBe(5);
    expectRefusal(() => kd.gather(tensor(5), 0, labels([3]).reshape([])), IndexError, /^gather: index 3 is out of bounds for dim 0 with size 1$/);
    expectRefusal(() => kd.gather(tensor(5), 0, labels([-1]).reshape([])), IndexError, /^gather: index -1 is out of bounds/);
    expectRefusal(() => kd.gather(x23(), 1, [[0]] as unknown as Tensor), DTypeError, /^gather: index must be an int32 Tensor, got \[\[0\]\]$/);
  });

  test("shape arguments: reshape, expand, permute take lists of integers", () => {
    expectRefusal(() => kd.reshape(x23(), [2.5, 2]), ShapeError, /^reshape: invalid shape \[2\.5,2\]/);
    expectRefusal(() => kd.reshape(x23(), [NaN, -1]), ShapeError, /^reshape: invalid shape \[NaN,-1\]/);
    expectRefusal(() => kd.reshape(x23(), 6 as unknown as number[]), ShapeError, /^reshape: shape must be a list of sizes, got 6$/);
    expectRefusal(() => kd.expand(x23(), 3 as unknown as number[]), ShapeError, /^expand: shape must be a list of sizes, got 3$/);
    expectRefusal(() => kd.expand(x23(), [NaN, 3]), ShapeError, /^expand: invalid shape \[NaN,3\]/);
    expectRefusal(() => kd.expand(tensor([1]), [1e6, 1e6]), ValueError, /^expand: shape \[1000000,1000000\] has 1000000000000 elements, above the limit of 2147483647/);
    expectRefusal(() => kd.permute(x23(), undefined as unknown as number[]), ShapeError, /^permute: dims must be a list of the 2 axes in their new order, got undefined$/);
    expectRefusal(() => kd.permute(x23(), [0, 0.5]), IndexError, /^permute: dims is out of range \(expected an integer in \[-2, 1\], got 0\.5\)$/);
  });

  test("axes: squeeze, unsqueeze, transpose, argmax and the reductions", () => {
    expectRefusal(() => kd.unsqueeze(x23(), 0.5), IndexError, /^unsqueeze: dim is out of range \(expected an integer in \[-3, 2\], got 0\.5\)$/);
    expectRefusal(() => kd.transpose(x23(), 0, NaN), IndexError, /^transpose: dim1 is out of range .*got NaN\)$/);
    expectRefusal(() => kd.squeeze(x23(), "0" as unknown as number), IndexError, /^squeeze: dim must be an axis or a list of axes, got "0"$/);
    expectRefusal(() => kd.squeeze(x23(), [0.5]), IndexError, /^squeeze: dim is out of range/);
    expectRefusal(() => kd.argmax(x23(), 0.5), IndexError, /^argmax: dim is out of range .*got 0\.5\)$/);
    expectRefusal(() => kd.argmax(x23(), [0, 1] as unknown as number), IndexError, /^argmax: dim must be one axis \(an integer\) or absent, got \[0,1\]$/);
    expectRefusal(() => kd.sum(x23(), { dim: 0 } as unknown as number), IndexError, /^sum: dim must be an axis or a list of axes, got an object$/);
    expectRefusal(() => kd.sum(x23(), 0, 1 as unknown as boolean), ValueError, /^sum: keepDim must be true or false, got 1$/);
  });

  test("oneHot: numClasses and labels are checked", () => {
    expectRefusal(() => kd.oneHot(labels([0, 1]), 2.5), ValueError, /^oneHot: numClasses must be a positive integer or -1, got 2\.5$/);
    expectRefusal(() => kd.oneHot(labels([0, 1]), NaN), ValueError, /^oneHot: numClasses must be a positive integer or -1, got NaN$/);
    expectRefusal(() => kd.oneHot([0, 1] as unknown as Tensor, 2), DTypeError, /^oneHot: labels must be an int32 Tensor, got \[0,1\]$/);
    expectRefusal(() => kd.oneHot(labels([0]), 2, { dtype: "int64" as "int32" }), DTypeError, /^oneHot: dtype must be "float32", "float64" or "int32", got "int64"$/);
  });

  test("eye and randint take integer sizes and bounds", () => {
    expectRefusal(() => eye(2.5), ValueError, /^eye: n must be a non-negative integer, got 2\.5$/);
    expectRefusal(() => eye(2, NaN), ValueError, /^eye: m must be a non-negative integer, got NaN$/);
    expectRefusal(() => randint(0, 5, [2.5]), ShapeError, /^randint: shape must hold non-negative integers, got \[2\.5\]$/);
    expectRefusal(() => randint(0, NaN, [2]), ValueError, /^randint: need integers low < high, got low=0, high=NaN$/);
    expectRefusal(() => zeros(3 as unknown as number[]), ShapeError, /^zeros: shape must be a list of non-negative integers, got 3$/);
    expectRefusal(() => tensor([1, 2], { shape: [NaN] }), ShapeError, /^tensor: shape must hold non-negative integers, got \[NaN\]$/);
  });

  test("the Tensor constructor refuses a geometry that reads outside its storage", () => {
    const data = new Float32Array(6);
    expectRefusal(() => new Tensor(data, [2, 3], [3, 1], 0.5), ValueError, /^Tensor: offset must be a non-negative integer, got 0\.5$/);
    expectRefusal(() => new Tensor(data, [3, 3]), ShapeError, /^Tensor: shape \[3,3\] with strides \[3,1\] at offset 0 reads positions 0 to 8, outside the storage of 6 elements$/);
    expectRefusal(() => new Tensor(data, [2, NaN]), ShapeError, /^Tensor: shape must be a list of non-negative integers, got \[2,NaN\]$/);
    expectRefusal(() => new Tensor([1, 2] as unknown as Float32Array, [2]), DTypeError, /^Tensor: data must be a Float32Array, Float64Array or Int32Array/);
    expect(new Tensor(data, [0, 5], [5, 1], 6).size).toBe(0); // an empty view may sit anywhere
  });
});

describe("sizes beyond a typed array: a ValueError naming the function, the size and the limit", () => {
  const limit = /above the limit of 2147483647 \(2\^31 - 1\) elements per tensor$/;
  test("creation", () => {
    expectRefusal(() => zeros([1e10]), ValueError, /^zeros: shape \[10000000000\] has 10000000000 elements, /);
    expectRefusal(() => zeros([1e10]), ValueError, limit);
    expectRefusal(() => ones([1e5, 1e5]), ValueError, /^ones: shape \[100000,100000\] has 10000000000 elements/);
    expectRefusal(() => kd.rand([65536, 65536]), ValueError, /^rand: shape \[65536,65536\] has 4294967296 elements/);
    expectRefusal(() => eye(1, 1e12), ValueError, /^eye: the 1×1000000000000 identity has 1000000000000 elements/);
    expectRefusal(() => kd.oneHot(labels([0, 1]), 1e12), ValueError, /^oneHot: the one-hot encoding of labels \[2\] with numClasses = 1000000000000 has 2000000000000 elements/);
    expectRefusal(() => randint(0, 2, [2 ** 31]), ValueError, /^randint: shape \[2147483648\] has 2147483648 elements/);
  });

  test("an op whose result is too large names the op the user called", () => {
    const a = zeros([1e5, 1]);
    const b = zeros([1, 1e5]);
    expectRefusal(() => kd.add(a, b), ValueError, /^add: a float32 tensor has 10000000000 elements, above the limit/);
    expectRefusal(() => kd.matmul(a, b), ValueError, /^matmul: a float32 tensor has 10000000000 elements/);
    // linear runs matmul inside; the user called linear.
    expectRefusal(() => kd.linear(a, zeros([1e5, 1])), ValueError, /^linear: a float32 tensor has 10000000000 elements/);
  });
});

describe("int32 values never wrap", () => {
  test("full and the *Like forms refuse a fill value outside int32", () => {
    expectRefusal(() => full([1], 2 ** 31, { dtype: "int32" }), DTypeError, /^full: int32 fill value must be an integer in \[-2\^31, 2\^31 - 1\], got 2147483648$/);
    expectRefusal(() => full([1], -(2 ** 31) - 1, { dtype: "int32" }), DTypeError, /got -2147483649$/);
    expectRefusal(() => kd.fullLike(labels([1]), 1e10), DTypeError, /^fullLike: int32 fill value/);
    expect(full([1], -(2 ** 31), { dtype: "int32" }).item()).toBe(-(2 ** 31));
  });

  test("arange refuses int32 ranges that pass 2^31, naming the last value", () => {
    expectRefusal(() => arange(2 ** 31 - 2, 2 ** 31 + 1, 1, { dtype: "int32" }), DTypeError, /^arange: int32 value \(the last, start \+ 2·step\) must be an integer in \[-2\^31, 2\^31 - 1\], got 2147483648$/);
    expectRefusal(() => arange(2 ** 31, 2 ** 31 + 1, 1, { dtype: "int32" }), DTypeError, /^arange: int32 start must be an integer/);
    expect(arange(2 ** 31 - 3, 2 ** 31, 1, { dtype: "int32" }).toFlatArray()).toEqual([2 ** 31 - 3, 2 ** 31 - 2, 2 ** 31 - 1]);
  });

  test("randint refuses bounds whose values do not fit the dtype, and ranges wider than 2^32", () => {
    expectRefusal(() => randint(2 ** 31 - 1, 2 ** 31 + 5, [4]), DTypeError, /^randint: values in \[2147483647, 2147483653\) do not all fit int32 exactly/);
    expectRefusal(() => randint(-(2 ** 31) - 1, 0, [4]), DTypeError, /^randint: values in \[-2147483649, 0\) do not all fit int32/);
    expectRefusal(() => randint(0, 2 ** 24 + 2, [4], { dtype: "float32" }), DTypeError, /do not all fit float32 exactly/);
    expectRefusal(() => randint(0, 2 ** 33, [4], { dtype: "float64" }), ValueError, /^randint: high - low must be at most 2\^32, got 8589934592/);
    const g = new Generator(3);
    const v = randint(2 ** 31 - 4, 2 ** 31, [200], { generator: g }).toFlatArray();
    for (const k of v) expect(k >= 2 ** 31 - 4 && k < 2 ** 31).toBe(true);
  });
});

describe("Generator.setState refuses states that would hang or mislead", () => {
  test("all-zero words, NaN, non-integers, bad flags and a non-finite spare are ValueErrors", () => {
    const g = new Generator(1);
    expectRefusal(() => g.setState([0, 0, 0, 0, 0, 0]), ValueError, /^Generator.setState: state\[0\.\.3\] are all 0/);
    expectRefusal(() => g.setState([NaN, NaN, NaN, NaN, 0, 0]), ValueError, /^Generator.setState: state\[0\] must be an integer in \[0, 2\^32 - 1\], got NaN$/);
    expectRefusal(() => g.setState([1, 2.5, 3, 4, 0, 0]), ValueError, /^Generator.setState: state\[1\]/);
    expectRefusal(() => g.setState([1, 2, 3, 2 ** 32, 0, 0]), ValueError, /^Generator.setState: state\[3\]/);
    expectRefusal(() => g.setState([1, 2, 3, 4, 2, 0]), ValueError, /^Generator.setState: state\[4\] \(has a spare normal\) must be 0 or 1, got 2$/);
    expectRefusal(() => g.setState([1, 2, 3, 4, 1, NaN]), ValueError, /^Generator.setState: state\[5\] \(the spare normal\) must be a finite number, got NaN$/);
    expectRefusal(() => g.setState(null as unknown as number[]), ValueError, /^Generator.setState: state must be the 6 numbers getState\(\) returns, got null$/);
  });

  test("a refused state leaves the generator as it was, and a saved state still round trips", () => {
    const g = new Generator(9);
    g.normal();
    const saved = g.getState();
    const next = [g.normal(), g.normal(), g.uniform()];
    expect(() => g.setState([0, 0, 0, 0, 0, 0])).toThrow(ValueError);
    g.setState(saved);
    expect([g.normal(), g.normal(), g.uniform()]).toEqual(next);
  });
});

describe("messages name the function the user called", () => {
  test("each public function, never the helper it is built on", () => {
    expectRefusal(() => zeros([-1]), ShapeError, /^zeros: /);
    expectRefusal(() => ones([-1]), ShapeError, /^ones: /);
    expectRefusal(() => kd.zerosLike(3 as unknown as Tensor), ValueError, /^zerosLike: x must be a Tensor, got 3$/);
    expectRefusal(() => kd.randLike(labels([1])), DTypeError, /^randLike: dtype must be float32 or float64, got int32$/);
    expectRefusal(() => kd.stack([labels([1]), labels([2])]), DTypeError, /^stack: tensors\[0\] must be float32 or float64, got int32$/);
    expectRefusal(() => kd.predict(zeros([2, 0])), ValueError, /^predict: cannot reduce over an axis of size 0/);
    expectRefusal(() => randint(0, 2 ** 33, [1], { dtype: "float64" }), ValueError, /^randint: /);
    expectRefusal(() => new Generator(2 ** 53), ValueError, /^Generator: seed must be a non-negative safe integer, got 9007199254740992$/);
    expectRefusal(() => new Generator(0).manualSeed(-1), ValueError, /^Generator\.manualSeed: seed/);
    expectRefusal(() => kd.manualSeed(1.5), ValueError, /^manualSeed: seed must be a non-negative safe integer, got 1\.5$/);
  });
});

describe("reductions refuse dim = [] (docs/ops.md, Reductions)", () => {
  test("sum, mean, max, min and logSumExp: a ValueError saying to omit dim; squeeze(x, []) squeezes nothing", () => {
    const x = tensor([[1, 2], [3, 4]], { dtype: "float64" });
    const fns: [string, (t: Tensor) => Tensor][] = [
      ["sum", (t) => kd.sum(t, [])], ["mean", (t) => kd.mean(t, [])], ["max", (t) => kd.max(t, [])],
      ["min", (t) => kd.min(t, [], true)], ["logSumExp", (t) => kd.logSumExp(t, [])],
    ];
    for (const [name, f] of fns) {
      expectRefusal(() => f(x), ValueError, new RegExp(`^${name}: dim is an empty list, which PyTorch reads as every axis and NumPy as none; omit dim to reduce every axis$`));
    }
    expect(x.sum().item()).toBe(10);
    expect(kd.squeeze(tensor([[1, 2]]), []).shape).toEqual([1, 2]);
  });
});

describe("the exported helpers check their shapes too", () => {
  test("broadcastShapes and Tensor.empty refuse sizes that are not non-negative integers", () => {
    expectRefusal(() => kd.broadcastShapes([2.5], [1]), ShapeError, /^broadcastShapes: a must hold non-negative integers, got \[2\.5\]$/);
    expectRefusal(() => kd.broadcastShapes([2], [NaN], "add"), ShapeError, /^add: b must hold non-negative integers, got \[NaN\]$/);
    expect(kd.broadcastShapes([4, 1, 3], [5, 3])).toEqual([4, 5, 3]);
    expectRefusal(() => Tensor.empty([2.5], "float32"), ShapeError, /^Tensor\.empty: shape must be a list of non-negative integers, got \[2\.5\]$/);
    expectRefusal(() => Tensor.empty([2], "int64" as "int32"), DTypeError, /^Tensor\.empty: dtype must be "float32", "float64" or "int32", got "int64"$/);
  });
});
