import fc from "fast-check";
import { test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import {
  DTypeError, Generator, IndexError, ShapeError, Tensor, ValueError, crossEntropy, klDiv, logSoftmax, mseLoss,
  nllLoss, randn, softmax, tensor,
} from "../../src/index.js";
import { expectClose } from "../helpers/close.js";

const f64 = (v: number[] | number[][], requiresGrad = false): Tensor => tensor(v, { dtype: "float64", requiresGrad });
const int = (v: number[]): Tensor => tensor(v, { dtype: "int32" });

describe("crossEntropy", () => {
  test.prop([fc.integer({ min: 1, max: 3 }), fc.integer({ min: 2, max: 5 }), fc.integer({ min: 1, max: 3 }), fc.nat(), fc.constantFrom("mean", "sum", "none" as const)])(
    "a [N, C, d] input equals the [N·d, C] input with classes moved last",
    (n, c, d, seed, reduction) => {
      const rng = new Generator(seed);
      const x = randn([n, c, d], { dtype: "float64", generator: rng });
      const y = tensor(Int32Array.from({ length: n * d }, () => rng.below(c)), { shape: [n, d] });
      const options = { reduction, labelSmoothing: 0.2, weight: Array.from({ length: c }, (_, i) => 1 + i) };
      const kd = crossEntropy(x, y, options);
      const flat = crossEntropy(x.permute(0, 2, 1).reshape(n * d, c), y.reshape(n * d), options);
      expectClose(kd.toFlatArray(), flat.toFlatArray(), { rtol: 1e-13, atol: 1e-14 });
    },
  );

  test("a [C] input takes a 0-d target", () => {
    const x = f64([1, 2, 3]);
    expectClose([crossEntropy(x, tensor(2, { dtype: "int32" })).item()], [-logSoftmax(x).at(2)], { rtol: 1e-15, atol: 0 });
  });

  test("weight as a tensor or an array is the same", () => {
    const x = f64([[1, 2, 3], [0, -1, 2]]);
    const y = int([2, 0]);
    expect(crossEntropy(x, y, { weight: [0.5, 2, 1] }).item()).toBe(crossEntropy(x, y, { weight: f64([0.5, 2, 1]) }).item());
  });

  test("probability targets equal index targets when one-hot (unweighted mean)", () => {
    const x = f64([[1, 2, 3], [0, -1, 2]]);
    const onehot = f64([[0, 0, 1], [1, 0, 0]]);
    expectClose([crossEntropy(x, onehot).item()], [crossEntropy(x, int([2, 0])).item()], { rtol: 1e-15, atol: 0 });
  });

  test("probability targets get a gradient; a zero target on a −∞ logit adds nothing to the loss", () => {
    const x = f64([[0, -Infinity, 1]], true);
    const t = f64([[0.5, 0, 0.5]], true);
    const l = crossEntropy(x, t);
    l.backward();
    expect(Number.isFinite(l.item())).toBe(true);
    expect(t.grad!.at(0, 1)).toBe(Infinity); // ∂l/∂t = −lp = +∞ there: the true derivative
    expect(x.grad!.at(0, 1)).toBe(0);
  });

  test("all targets ignored: 'mean' is NaN with zero gradients, 'sum' is 0 (as PyTorch)", () => {
    const x = f64([[1, 2], [3, 4]], true);
    const l = crossEntropy(x, int([-100, -100]));
    expect(Number.isNaN(l.item())).toBe(true);
    l.backward();
    expect(x.grad!.toFlatArray()).toEqual([0, 0, 0, 0]);
    expect(crossEntropy(x, int([-100, -100]), { reduction: "sum" }).item()).toBe(0);
  });

  const x = f64([[1, 2, 3, 4], [0, 0, 0, 0], [1, 1, 1, 1]]);
  const errors: [string, () => unknown, new (...a: any[]) => Error, RegExp][] = [
    ["label out of range", () => crossEntropy(x, int([0, 1, 4])), IndexError, /^crossEntropy: target\[2\] = 4 is out of range \[0, 4\) and is not ignoreIndex \(-100\)$/],
    ["negative label", () => crossEntropy(x, int([0, 1, -1])), IndexError, /target\[2\] = -1 is out of range/],
    ["label beside ignoreIndex", () => crossEntropy(x, int([0, 7, 2]), { ignoreIndex: 2 }), IndexError, /target\[1\] = 7 is out of range \[0, 4\) and is not ignoreIndex \(2\)/],
    ["batch mismatch", () => crossEntropy(x, int([0, 1])), ShapeError, /^crossEntropy: target has shape \[2\] but the input needs \[3\]$/],
    ["float target of the wrong shape", () => crossEntropy(x, f64([0, 1, 2])), ShapeError, /^crossEntropy: a float target holds class probabilities and must have the input's shape \[3,4\], got \[3\]/],
    ["weight length", () => crossEntropy(x, int([0, 1, 2]), { weight: [1, 2, 3] }), ShapeError, /^crossEntropy: weight must have one entry per class \(4\), got 3$/],
    ["labelSmoothing > 1", () => crossEntropy(x, int([0, 1, 2]), { labelSmoothing: 1.5 }), ValueError, /^crossEntropy: labelSmoothing must be in \[0, 1\], got 1.5$/],
    ["labelSmoothing < 0", () => crossEntropy(x, int([0, 1, 2]), { labelSmoothing: -0.3 }), ValueError, /labelSmoothing must be in \[0, 1\], got -0.3/],
    ["reduction", () => crossEntropy(x, int([0, 1, 2]), { reduction: "batchmean" as any }), ValueError, /^crossEntropy: reduction must be one of 'mean', 'sum', 'none', got "batchmean"$/],
    ["soft target with ignoreIndex", () => crossEntropy(x, softmax(x), { ignoreIndex: 1 }), ValueError, /^crossEntropy: ignoreIndex is not supported with class-probability targets, got 1$/],
    ["scalar input", () => crossEntropy(f64([1]).reshape([]), int([0]).reshape([])), ShapeError, /^crossEntropy: input must have a class axis/],
    ["nll label", () => nllLoss(x, int([0, 9, 1])), IndexError, /^nllLoss: target\[1\] = 9 is out of range \[0, 4\)/],
    ["nll float target", () => nllLoss(x, f64([0, 1, 2])), DTypeError, /^nllLoss: target must be int32 class indices of shape \[3\], got float64 of shape \[3\]$/],
    ["klDiv shapes", () => klDiv(x, f64([[1, 2, 3]])), ShapeError, /^klDiv: target has shape \[1,3\], which does not broadcast to the input's shape \[3,4\]$/],
    ["klDiv reduction", () => klDiv(x, x, { reduction: "foo" as any }), ValueError, /^klDiv: reduction must be one of 'batchmean', 'sum', 'mean', 'none', got "foo"$/],
    ["klDiv int", () => klDiv(x, int([1, 2, 3, 4]).reshape(1, 4)), DTypeError, /^klDiv: target must be float32 or float64, got int32$/],
    ["mse shapes", () => mseLoss(x, f64([[1, 2, 3]])), ShapeError, /^mseLoss: target has shape \[1,3\], which does not broadcast to the input's shape \[3,4\]$/],
    ["mse target larger than input", () => mseLoss(f64([1, 2, 3, 4]), x), ShapeError, /^mseLoss: target has shape \[3,4\], which does not broadcast to the input's shape \[4\]$/],
    ["mse reduction", () => mseLoss(x, x, { reduction: "batchmean" as any }), ValueError, /^mseLoss: reduction must be one of/],
  ];
  for (const [what, call, cls, message] of errors) {
    test(`error: ${what}`, () => {
      expect(call).toThrow(cls);
      expect(call).toThrow(message);
    });
  }
});

describe("nllLoss", () => {
  test("uses its input as given and divides 'mean' by the summed weights", () => {
    const x = f64([[5, -1], [2, 7]], true);
    const l = nllLoss(x, int([0, 1]), { weight: [2, 3] });
    expect(l.item()).toBeCloseTo(-(2 * 5 + 3 * 7) / 5, 14);
    l.backward();
    expectClose(x.grad!.toFlatArray(), [-2 / 5, 0, 0, -3 / 5], { rtol: 1e-15, atol: 0 });
  });
});

describe("klDiv", () => {
  const x = logSoftmax(f64([[1, 2, 3, 4], [0, 1, 0, 1]]), -1);
  const t = softmax(f64([[4, 3, 2, 1], [1, 1, 0, 0]]), -1);

  test("the default is 'batchmean' (the true KL per example); 'mean' keeps PyTorch's meaning (÷ every element)", () => {
    const sum = klDiv(x, t, { reduction: "sum" }).item();
    expect(klDiv(x, t).item()).toBeCloseTo(sum / 2, 15);
    expect(klDiv(x, t, { reduction: "mean" }).item()).toBeCloseTo(sum / 8, 15);
    expect(klDiv(x, t, { reduction: "none" }).shape).toEqual([2, 4]);
    expect(klDiv(x.reshape(8), t.reshape(8)).item()).toBeCloseTo(sum / 8, 15); // 1-D: batch = C
  });

  test("logTarget gives the same loss and gradient for the input", () => {
    const [a, b] = [x.detach().requiresGrad_(), x.detach().requiresGrad_()];
    const l1 = klDiv(a, t);
    const l2 = klDiv(b, t.log(), { logTarget: true });
    expectClose([l1.item()], [l2.item()], { rtol: 1e-14, atol: 1e-16 });
    l1.backward();
    l2.backward();
    expectClose(a.grad!, b.grad!, { rtol: 1e-14, atol: 1e-16 });
  });

  test("policy: a zero target adds 0 to the loss and to both gradients, even where the input is −∞", () => {
    const input = f64([[-Infinity, -1, -0.5]], true);
    const target = f64([[0, 0.4, 0.6]], true);
    const l = klDiv(input, target, { reduction: "sum" });
    expect(l.item()).toBeCloseTo(0.4 * (Math.log(0.4) + 1) + 0.6 * (Math.log(0.6) + 0.5), 14);
    l.backward();
    expect(input.grad!.at(0, 0)).toBe(0);
    expect(target.grad!.at(0, 0)).toBe(0);
    expect(target.grad!.at(0, 1)).toBeCloseTo(Math.log(0.4) + 1 + 1, 14);
    const lt = f64([[-Infinity, Math.log(0.4), Math.log(0.6)]], true);
    const l2 = klDiv(f64([[0, -1, -0.5]]), lt, { reduction: "sum", logTarget: true });
    expect(l2.item()).toBeCloseTo(l.item(), 14);
    l2.backward();
    expect(lt.grad!.at(0, 0)).toBe(0);
  });

  test("target mass on an input at −∞ is +∞", () => {
    expect(klDiv(f64([[-Infinity, 0]]), f64([[0.5, 0.5]]), { reduction: "sum" }).item()).toBe(Infinity);
  });

  test("through Y = softmax(z), the target gradient is Y·((log Y − x) − Σl), finite at masked classes", () => {
    const z = f64([[0.5, -Infinity, 1.5, 0]], true);
    const xs = logSoftmax(f64([[1, 0, -1, 2]]), -1);
    const tz = softmax(z, -1);
    const l = klDiv(xs, tz, { reduction: "sum" });
    l.backward();
    const tv = tz.toFlatArray();
    const xv = xs.toFlatArray();
    const want = tv.map((p, i) => (p > 0 ? p * (Math.log(p) - xv[i]! - l.item()) : 0));
    expectClose(z.grad!.toFlatArray(), want, { rtol: 1e-13, atol: 1e-15 });
  });
});

describe("target broadcasting (klDiv, mseLoss), as in PyTorch", () => {
  test("a [1, C] target serves every row; its gradient is the sum over the rows", () => {
    const x = f64([[-1, -2, -0.5], [-0.3, -1.5, -2]], true);
    const t1 = f64([[0.2, 0.3, 0.5]], true);
    const tFull = f64([[0.2, 0.3, 0.5], [0.2, 0.3, 0.5]], true);
    for (const [loss, name] of [[klDiv, "klDiv"], [mseLoss, "mseLoss"]] as const) {
      const [a, b] = [x.detach().requiresGrad_(), x.detach().requiresGrad_()];
      const [u, v] = [t1.detach().requiresGrad_(), tFull.detach().requiresGrad_()];
      const l1 = (loss as typeof mseLoss)(a, u, { reduction: "sum" });
      const l2 = (loss as typeof mseLoss)(b, v, { reduction: "sum" });
      expect(l1.item(), name).toBeCloseTo(l2.item(), 14);
      l1.backward();
      l2.backward();
      expectClose(a.grad!, b.grad!, { rtol: 1e-14, atol: 1e-15 });
      expect(u.grad!.shape).toEqual([1, 3]);
      expectClose(u.grad!, v.grad!.sum(0, true), { rtol: 1e-14, atol: 1e-15 });
    }
  });
});

describe("mseLoss", () => {
  test("mean over every element; gradients with respect to both arguments", () => {
    const a = f64([[1, 2], [3, 4]], true);
    const b = f64([[0, 2], [5, 4]], true);
    const l = mseLoss(a, b);
    expect(l.item()).toBe((1 + 0 + 4 + 0) / 4);
    l.backward();
    expect(a.grad!.toFlatArray()).toEqual([0.5, 0, -1, 0]);
    expect(b.grad!.toFlatArray()).toEqual([-0.5, -0, 1, -0]);
  });
});
