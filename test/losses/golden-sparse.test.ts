/**
 * The PyTorch float64 vectors for sparseDistillationLoss (test/fixtures/golden/kd/README.md:
 * format, tolerance; sparse_distillation_loss.json: 16 cases). `labels` and `indices` are int32,
 * every other input float64; the inputs listed in `grads` require grad; an error case must throw
 * a ValueError.
 */
import { describe, expect, test } from "vitest";
import { sparseDistillationLoss, type SparseDistillationOptions } from "../../src/index.js";
import { checkKdCase, loadKdGolden } from "../helpers/golden-kd.js";

const cases = loadKdGolden("sparse_distillation_loss.json");

describe("sparseDistillationLoss: PyTorch golden vectors", () => {
  test("the file holds the 16 public cases, one of them an error (a ValueError)", () => {
    expect(cases.length).toBe(16);
    expect(cases.every((c) => c.fn === "sparseDistillationLoss")).toBe(true);
    expect(cases.filter((c) => c.error !== undefined).map((c) => c.error)).toEqual(["ValueError"]);
  });

  for (const c of cases) {
    test(c.name, () => {
      checkKdCase(c, (x, o) => {
        const options = { ...o } as SparseDistillationOptions;
        if (x.labels !== undefined) options.labels = x.labels;
        return sparseDistillationLoss(x.student!, x.indices!, x.logprobs!, options);
      });
    });
  }
});
