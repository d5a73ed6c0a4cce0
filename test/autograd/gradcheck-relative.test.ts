/**
 * gradcheck's relative tolerances and its failure message (issue 14): with `relative: true`
 * an error is measured against the size of the whole gradient, so scaling fn leaves the
 * verdict unchanged and tiny gradients are checked; the message names the worst entry as
 * multi-indices, with both values, the tolerances and the seed.
 */
import { describe, expect, test } from "vitest";
import { GradcheckError, ValueError, assertGradcheck, assertGradgradcheck, defineOp, exp, gradcheck, gradgradcheck, logSoftmax, mul, tensor, type Tensor } from "../../src/index.js";

/** exp with a backward 1% too large: a real bug, of relative size 1e-2. */
const expOff = defineOp({
  name: "expOff",
  forward(ctx, x: Tensor) {
    const y = exp(x);
    ctx.save({ y });
    return y;
  },
  backward(ctx, g: Tensor) {
    return [mul(mul(g, ctx.saved.y), 1.01)];
  },
});

const x0 = (): Tensor => tensor([[-1, 0.5, 2], [0.25, -0.75, 1]], { dtype: "float64", requiresGrad: true });

describe("relative: true", () => {
  test("catches a 1% error in a gradient of size 1e-9, which the absolute atol of 1e-6 waves through", () => {
    const tiny = (x: Tensor): Tensor => mul(expOff(x), 1e-9);
    expect(gradcheck(tiny, [x0()]).ok).toBe(true); // the weakness relative mode removes
    const r = gradcheck(tiny, [x0()], { relative: true });
    expect(r.ok).toBe(false);
    expect(r.atol).toBe(0);
    expect(r.inputs[0]!.maxErrorRatio).toBeGreaterThan(100);
  });

  test("the verdict and the error ratio do not change when fn is scaled by 1e-12 … 1e12", () => {
    for (const f of [expOff, (x: Tensor) => logSoftmax(x, -1)]) {
      const ratios = [1e-12, 1, 1e12].map((c) => {
        const r = gradcheck((x: Tensor) => mul(f(x), c), [x0()], { relative: true });
        return [r.ok, r.inputs[0]!.maxErrorRatio] as const;
      });
      for (const [ok, ratio] of ratios) {
        expect(ok).toBe(ratios[1]![0]);
        expect(Math.abs(ratio - ratios[1]![1]) / Math.max(ratios[1]![1], 1e-3)).toBeLessThan(0.05);
      }
    }
  });

  test("a correct backward passes at rtol 1e-5 however small its gradient", () => {
    const r = assertGradcheck((x: Tensor) => mul(logSoftmax(x, -1), 1e-15), [x0()], { relative: true });
    expect(r.inputs[0]!.maxErrorRatio).toBeLessThan(0.1);
    assertGradgradcheck((x: Tensor) => mul(logSoftmax(x, -1), 1e-15), [x0()], { relative: true });
  });

  test("relative must be a boolean (ValueError naming the checker)", () => {
    expect(() => gradcheck(expOff, [x0()], { relative: 1 as never })).toThrow(ValueError);
    expect(() => gradcheck(expOff, [x0()], { relative: 1 as never })).toThrow(/^gradcheck: relative must be true or false, got 1/);
  });

  test("relative is a key the options checker knows, for all four checkers; null and a misspelling are refused", () => {
    const good = (x: Tensor): Tensor => mul(x, x).sum();
    expect(gradcheck(good, [x0()], { relative: true }).relative).toBe(true);
    expect(gradgradcheck(good, [x0()], { relative: true }).relative).toBe(true);
    expect(assertGradcheck(good, [x0()], { relative: false }).relative).toBe(false);
    expect(assertGradgradcheck(good, [x0()], { relative: true }).ok).toBe(true);
    expect(() => gradcheck(good, [x0()], { relative: null as never })).toThrow(/^gradcheck: options\.relative is null; leave it out for the default$/);
    expect(() => assertGradgradcheck(good, [x0()], { relativ: true } as never)).toThrow(/^assertGradgradcheck: unknown key "relativ" in options \(allowed: .*relative/);
  });
});

describe("the report and the message", () => {
  test("the worst entry by error ratio, with both values and what was allowed", () => {
    const r = gradcheck(expOff, [x0()]);
    const w = r.inputs[0]!.worst;
    expect(w.kind === "jacobian" || w.kind === "vjp").toBe(true);
    expect(Math.abs(w.analytic / w.numeric - 1.01)).toBeLessThan(1e-6);
    expect(Math.abs(w.numeric - w.analytic) / w.allowed).toBeCloseTo(r.inputs[0]!.maxErrorRatio, 10);
    expect(r.outputShape).toEqual([2, 3]);
  });

  test("assertGradcheck names the seed, the tolerances and the worst entry as multi-indices with both values", () => {
    let message = "";
    try {
      assertGradcheck(expOff, [x0()], { seed: 7 });
    } catch (e) {
      expect(e).toBeInstanceOf(GradcheckError);
      message = (e as Error).message;
    }
    expect(message).toMatch(/^assertGradcheck: expOff failed \(full, seed 7, rtol 0\.00001, atol 0\.000001\):/);
    // The largest |error| is at the largest exp: x = 2 at [0, 2]; its entries are J[out (0, 2), in (0, 2)] and (Jᵀu)[0, 2].
    expect(message).toMatch(/input 0 \[2,3\]: worst at (J\[out \[\d, \d\], in \[\d, \d\]\]|\(Jᵀu\)\[\d, \d\]): backward -?[\d.e+-]+, finite differences -?[\d.e+-]+, error [\d.e+-]+ > allowed [\d.e+-]+ \([\d.e+]+× the tolerance\)/);
    const w = (() => {
      try {
        assertGradcheck(expOff, [x0()], { seed: 7 });
      } catch (e) {
        return (e as GradcheckError).report.inputs[0]!.worst;
      }
      return null;
    })()!;
    const six = (v: number): string => String(Number(v.toPrecision(6)));
    expect(message).toContain(`backward ${six(w.analytic)}, finite differences ${six(w.numeric)}`);
  });

  test("gradgradcheck's message places the worst entry in the backward pass's output", () => {
    const square = defineOp({
      name: "squareBad",
      forward(ctx, x: Tensor) {
        ctx.save({ x });
        return mul(x, x);
      },
      // The first derivative is right (2x·g), but written with a value that hides x from the graph.
      backward(ctx, g: Tensor) {
        return [mul(g, tensor(ctx.saved.x.copyData(), { shape: ctx.saved.x.shape }).mul(2))];
      },
    });
    expect(() => assertGradgradcheck(square, [x0()])).toThrow(/^assertGradgradcheck: squareBad failed \(full, seed 0,[^)]*\):\n  input 0 \[2,3\]: worst at /);
  });
});
