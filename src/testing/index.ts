// "kdgrad/testing": assertions for any test runner (vitest, jest, node:test, mocha, Deno's,
// Bun's…). Nothing here imports fast-check or a runner; the arbitraries and the loss
// properties, which need fast-check, are "kdgrad/testing/fast-check", and the vitest
// matchers are "kdgrad/testing/vitest" (docs/testing.md).
export {
  allClose, assertClose, assertFinite, closeReport, AssertionError,
  type Comparable, type CloseOptions, type AssertCloseOptions, type CloseReport, type CloseElement,
} from "./close.js";
export {
  assertGradcheck, assertGradgradcheck, gradcheck, gradgradcheck, GradcheckError,
  type GradcheckOptions, type GradcheckReport, type GradcheckInputReport, type GradcheckEntry,
} from "../index.js";
