import { describe, test } from "vitest";
import { logSoftmax, logSumExp, softmax } from "../../src/index.js";
import { checkGoldenCase, loadGolden } from "../helpers/golden.js";

describe("golden vectors from PyTorch (float64)", () => {
  for (const c of loadGolden("log_softmax.json")) {
    test(c.name, () => checkGoldenCase(c, ({ input }) => logSoftmax(input!, c.options.dim as number)));
  }
  for (const c of loadGolden("softmax.json")) {
    test(c.name, () => checkGoldenCase(c, ({ input }) => softmax(input!, c.options.dim as number)));
  }
  for (const c of loadGolden("logsumexp.json")) {
    test(c.name, () =>
      checkGoldenCase(c, ({ input }) => logSumExp(input!, c.options.dim as number, c.options.keepDim as boolean)));
  }
});
