/**
 * The PyTorch float64 vectors for linearDistillationLoss (test/fixtures/golden/kd/README.md:
 * format, tolerance; linear_distillation_loss.json: 8 cases). Inputs listed in `grads` require
 * grad; `labels` is int32. Each case runs with its own chunkRows (or the default) and again in
 * chunks of 1, 4 and 5 rows (of 6): chunkRows must not change any number beyond the tolerance.
 */
import { describe, expect, test } from "vitest";
import { linearDistillationLoss, type LinearDistillationOptions } from "../../src/index.js";
import { checkKdCase, loadKdGolden } from "../helpers/golden-kd.js";

const cases = loadKdGolden("linear_distillation_loss.json");

describe("linearDistillationLoss: PyTorch golden vectors", () => {
  test("the file holds the 8 public cases, every one with gradients of all four matrices", () => {
    expect(cases.length).toBe(8);
    expect(cases.every((c) => c.fn === "linearDistillationLoss" && Object.keys(c.grads ?? {}).length === 4)).toBe(true);
  });

  for (const c of cases) {
    for (const chunkRows of [undefined, 1, 4, 5]) {
      test(`${c.name}${chunkRows === undefined ? "" : ` in chunks of ${chunkRows}`}`, () => {
        checkKdCase(c, (x, o) => {
          const options = { ...o } as LinearDistillationOptions;
          if (chunkRows !== undefined) options.chunkRows = chunkRows;
          if (x.labels !== undefined) options.labels = x.labels;
          return linearDistillationLoss(x.hidden!, x.weight!, x.teacherHidden!, x.teacherWeight!, options);
        });
      });
    }
  }
});
