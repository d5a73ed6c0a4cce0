// "kdgrad/testing/vitest": importing this module registers two vitest matchers (vitest is an
// optional peer dependency of kdgrad, needed by this entry point only):
//
//   expect(actual).toBeCloseTensor(expected, { rtol, atol, equalNan })   as assertClose
//   expect(fn).toHaveCorrectGradients(inputs, { order: 1 | 2, ...gradcheck's options })
//
// Import it once, in a setup file (`setupFiles` in vitest.config) or at the top of a test file.
import { expect } from "vitest";
import { ValueError, type GradcheckOptions, type Tensor } from "../index.js";
import { checkGradcheckOptions, describeFailure, gradcheckAs, gradgradcheckAs } from "../autograd/gradcheck.js";
import { checkOptions } from "../tensor/options.js";
import { describeValue } from "../tensor/shape.js";
import { AssertionError, assertCloseAs, closeReportAs, describeElement, type AssertCloseOptions, type Comparable } from "./close.js";

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

// Refusals (a value that is not a tensor, an unknown option, a tolerance that passes anything)
// are thrown, naming the matcher; only a real mismatch is a failed expectation.
expect.extend({
  toBeCloseTensor(received: unknown, expected: Comparable, options?: AssertCloseOptions) {
    const fn = "toBeCloseTensor";
    if (this.isNot) {
      const report = closeReportAs(received, expected, options, fn);
      return {
        pass: report.ok,
        message: () => `expected the tensors not to be close, but all ${report.size} elements are${report.worst ? `; the least close ${describeElement(report.worst)}` : ""}`,
      };
    }
    try {
      assertCloseAs(received, expected, options, fn);
      return { pass: true, message: () => "expected the tensors not to be close" };
    } catch (e) {
      if (!(e instanceof AssertionError)) throw e;
      return { pass: false, message: () => e.message };
    }
  },

  toHaveCorrectGradients(received: unknown, inputs: readonly unknown[], options?: GradientMatcherOptions) {
    const fn = "toHaveCorrectGradients";
    const { order = 1, ...rest } = checkOptions(options, fn, ["order", "eps", "atol", "rtol", "seed", "fullJacobianMax", "projections", "relative"]);
    if (order !== 1 && order !== 2) throw new ValueError(`${fn}: order must be 1 or 2, got ${describeValue(order)}`);
    checkGradcheckOptions(rest, fn);
    const f = received as (...xs: Tensor[]) => Tensor;
    // The checkers refuse what they cannot check (fn not a function, no input requiring grad) under
    // the matcher's name; a failed check is reported with the worst Jacobian entry, both values, the
    // tolerances and the seed.
    const report = gradcheckAs(f, inputs, rest, fn);
    const second = report.ok && order === 2 ? gradgradcheckAs(f, inputs, rest, fn) : null;
    const failed = !report.ok ? report : second !== null && !second.ok ? second : null;
    if (failed === null) {
      return { pass: true, message: () => `expected ${f.name || "the function"}'s gradients to disagree with finite differences, but they agree` };
    }
    return { pass: false, message: () => `${fn}: ${failed === second ? "second order: " : ""}${describeFailure(f, failed)}` };
  },
});
