// "kdgrad/testing/vitest": importing this module registers two vitest matchers (vitest is an
// optional peer dependency of kdgrad, needed by this entry point only):
//
//   expect(actual).toBeCloseTensor(expected, { rtol, atol, equalNan })   as assertClose
//   expect(fn).toHaveCorrectGradients(inputs, { order: 1 | 2, ...gradcheck's options })
//
// Import it once, in a setup file (`setupFiles` in vitest.config) or at the top of a test file.
import { expect } from "vitest";
import { Tensor, assertGradcheck, assertGradgradcheck, GradcheckError, ValueError, type GradcheckOptions } from "../index.js";
import { AssertionError, assertClose, closeReport, describeElement, type AssertCloseOptions, type Comparable } from "./close.js";

/** `toHaveCorrectGradients`'s options: gradcheck's, and which order to check. */
export interface GradientMatcherOptions extends GradcheckOptions {
  /** 1: gradcheck (the default); 2: gradcheck and gradgradcheck (second derivatives too). */
  order?: 1 | 2;
}

/** The matchers this module adds to vitest's `expect`. */
export interface TensorMatchers<R = unknown> {
  /** `actual` is close to `expected` element by element, as `assertClose` (equal shapes; NumPy's isclose). */
  toBeCloseTensor(expected: Comparable, options?: AssertCloseOptions): R;
  /** The function's backward agrees with central differences at `inputs` (those that require grad). */
  toHaveCorrectGradients(inputs: readonly unknown[], options?: GradientMatcherOptions): R;
}

declare module "vitest" {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface Matchers<T = any> extends TensorMatchers<T> {}
}

expect.extend({
  toBeCloseTensor(received: unknown, expected: Comparable, options: AssertCloseOptions = {}) {
    if (this.isNot) {
      const report = closeReport(received as Comparable, expected, options, "toBeCloseTensor");
      return {
        pass: report.ok,
        message: () => `expected the tensors not to be close, but all ${report.size} elements are${report.worst ? `; the least close ${describeElement(report.worst)}` : ""}`,
      };
    }
    try {
      assertClose(received as Comparable, expected, options);
      return { pass: true, message: () => "expected the tensors not to be close" };
    } catch (e) {
      if (!(e instanceof AssertionError)) throw e;
      return { pass: false, message: () => e.message.replace(/^assertClose: /, "toBeCloseTensor: ") };
    }
  },

  toHaveCorrectGradients(received: unknown, inputs: readonly unknown[], options: GradientMatcherOptions = {}) {
    if (typeof received !== "function") {
      return { pass: false, message: () => `toHaveCorrectGradients: expect() must be given the function to check, got ${typeof received}` };
    }
    const fn = received as (...xs: Tensor[]) => Tensor;
    const { order = 1, ...rest } = options;
    if (order !== 1 && order !== 2) throw new ValueError(`toHaveCorrectGradients: order must be 1 or 2, got ${String(order)}`);
    try {
      // The assert forms throw a GradcheckError whose message names the worst Jacobian entry,
      // both values, the tolerances and the seed.
      assertGradcheck(fn, inputs, rest);
      if (order === 2) assertGradgradcheck(fn, inputs, rest);
      return { pass: true, message: () => `expected ${fn.name || "the function"}'s gradients to disagree with finite differences, but they agree` };
    } catch (e) {
      if (!(e instanceof GradcheckError)) throw e;
      return { pass: false, message: () => `toHaveCorrectGradients: ${e.message}` };
    }
  },
});
