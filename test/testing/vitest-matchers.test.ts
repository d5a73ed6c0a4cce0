/**
 * kdgrad/testing/vitest: importing it registers toBeCloseTensor and toHaveCorrectGradients on
 * vitest's expect, with the assertions' messages; `.not` works too.
 */
import { describe, expect, test } from "vitest";
import "../../src/testing/vitest.js";
import { ValueError, DTypeError, defineOp, exp, logSoftmax, mul, tensor, type Tensor } from "../../src/index.js";

const fails = (f: () => void): string => {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected a failure");
};

describe("toBeCloseTensor", () => {
  test("passes when close, fails with the worst element's index and both values", () => {
    expect(tensor([[1, 2]], { dtype: "float64" })).toBeCloseTensor([[1, 2 + 1e-9]]);
    const message = fails(() => expect(tensor([[1, 2], [3, 4]], { dtype: "float64" })).toBeCloseTensor([[1, 2], [3, 4.5]], { rtol: 1e-3 }));
    expect(message).toMatch(/^toBeCloseTensor: 1 of 4 elements are not close \(rtol 0\.001, atol 1e-8\); shape \[2,2\]\n  worst at \[1, 1\]: actual 4, expected 4\.5,/);
  });

  test(".not passes when some element differs and fails, naming the least close element, when all are close", () => {
    expect(tensor([1, 2])).not.toBeCloseTensor([1, 3]);
    expect(fails(() => expect(tensor([1, 2])).not.toBeCloseTensor([1, 2]))).toMatch(/^expected the tensors not to be close, but all 2 elements are; the least close at \[0\]/);
  });
});

describe("toHaveCorrectGradients", () => {
  const x = (): Tensor => tensor([[0.5, -1, 2]], { dtype: "float64", requiresGrad: true });
  const expOff = defineOp({
    name: "expOff",
    forward(ctx, t: Tensor) {
      const y = exp(t);
      ctx.save({ y });
      return y;
    },
    backward(ctx, g: Tensor) {
      return [mul(mul(g, ctx.saved.y), 1.01)];
    },
  });

  test("passes a correct backward (first and second order), fails a wrong one with gradcheck's message", () => {
    expect((t: Tensor) => logSoftmax(t, -1)).toHaveCorrectGradients([x()]);
    expect((t: Tensor) => logSoftmax(t, -1)).toHaveCorrectGradients([x()], { order: 2, relative: true });
    expect(fails(() => expect(expOff).toHaveCorrectGradients([x()], { seed: 3 })))
      .toMatch(/^toHaveCorrectGradients: expOff failed \(full, seed 3, rtol 0\.00001, atol 0\.000001\):\n  input 0 \[1,3\]: worst at /);
    expect(expOff).not.toHaveCorrectGradients([x()]);
  });

  test("order 2 reports a wrong second derivative as such", () => {
    const squareBad = defineOp({
      name: "squareBad",
      forward(ctx, t: Tensor) {
        ctx.save({ t });
        return mul(t, t);
      },
      // Right first derivative, 2t·g, written with a copy of t that hides it from the graph.
      backward(ctx, g: Tensor) {
        return [mul(g, tensor(ctx.saved.t.copyData(), { shape: ctx.saved.t.shape }).mul(2))];
      },
    });
    expect(squareBad).toHaveCorrectGradients([x()]);
    expect(fails(() => expect(squareBad).toHaveCorrectGradients([x()], { order: 2 }))).toMatch(/^toHaveCorrectGradients: second order: squareBad failed \(full, seed 0,/);
  });

  // Refusals are thrown under the matcher's name, with or without .not: a refused call is not a
  // verdict (before, `.not` passed silently on a value that is not a function, and options went
  // unchecked to assertGradcheck, which named itself).
  test("refuses what it cannot check, naming toHaveCorrectGradients, with or without .not", () => {
    expect(() => expect(3).not.toHaveCorrectGradients([x()])).toThrow(/^toHaveCorrectGradients: fn must be a function, got 3$/);
    expect(() => expect(expOff).not.toHaveCorrectGradients([x()], { relativ: true } as never)).toThrow(/^toHaveCorrectGradients: unknown key "relativ" in options/);
    expect(() => expect(expOff).toHaveCorrectGradients([x()], { order: 3 as never })).toThrow(/^toHaveCorrectGradients: order must be 1 or 2, got 3$/);
    expect(() => expect(expOff).toHaveCorrectGradients([x()], { atol: -1 })).toThrow(ValueError);
    expect(() => expect(expOff).toHaveCorrectGradients([x()], { atol: -1 })).toThrow(/^toHaveCorrectGradients: atol must be a finite number >= 0, got -1$/);
    expect(() => expect(expOff).not.toHaveCorrectGradients(x() as never)).toThrow(/^toHaveCorrectGradients: inputs must be a list/);
    expect(() => expect(expOff).toHaveCorrectGradients([tensor([1, 2])])).toThrow(/^toHaveCorrectGradients: no input requires grad/);
  });
});

describe("toBeCloseTensor refusals", () => {
  test("bad tolerances, options and values are refused naming toBeCloseTensor, with or without .not", () => {
    expect(() => expect(tensor([1])).toBeCloseTensor([1], { rtol: -1 })).toThrow(/^toBeCloseTensor: rtol must be a finite number >= 0, got -1$/);
    expect(() => expect(tensor([1])).not.toBeCloseTensor([2], { rtol: -1 })).toThrow(/^toBeCloseTensor: rtol must be a finite number >= 0, got -1$/);
    expect(() => expect(tensor([1])).toBeCloseTensor([1], { rtl: 1 } as never)).toThrow(/^toBeCloseTensor: unknown key "rtl" in options/);
    expect(() => expect("1").toBeCloseTensor([1])).toThrow(DTypeError);
    expect(() => expect("1").not.toBeCloseTensor([1])).toThrow(/^toBeCloseTensor: actual must be a Tensor, a number or nested arrays of numbers, got "1"$/);
  });
});
