/**
 * kdgrad/testing/vitest: importing it registers toBeCloseTensor and toHaveCorrectGradients on
 * vitest's expect, with the assertions' messages; `.not` works too.
 */
import { describe, expect, test } from "vitest";
import "../../src/testing/vitest.js";
import { defineOp, exp, logSoftmax, mul, tensor, type Tensor } from "../../src/index.js";

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
      .toMatch(/^toHaveCorrectGradients: assertGradcheck: expOff failed \(full, seed 3, rtol 0\.00001, atol 0\.000001\):\n  input 0 \[1,3\]: worst at /);
    expect(expOff).not.toHaveCorrectGradients([x()]);
  });
});
