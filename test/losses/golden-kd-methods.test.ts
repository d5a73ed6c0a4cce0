/**
 * The PyTorch float64 vectors of the distillation methods (test/fixtures/golden/kd/, README
 * there: argument order, options, error cases): every case of dkd_loss.json, dist_loss.json,
 * nkd_loss.json and wsld_loss.json, values and gradients at the README's tolerance
 * (1e-9 relative + 1e-12·max(1, max|input|)); error cases must throw a ValueError.
 */
import { describe, expect, test } from "vitest";
import { ValueError, distLoss, dkdLoss, nkdLoss, wsldLoss, type Tensor } from "../../src/index.js";
import { checkGoldenCase, goldenInput, loadGolden, type GoldenCase } from "../helpers/golden.js";

const call: Record<string, (c: GoldenCase, i: Record<string, Tensor>) => Tensor> = {
  dkdLoss: (c, i) => dkdLoss(i.student!, i.teacher!, i.labels!, c.options),
  distLoss: (c, i) => distLoss(i.student!, i.teacher!, c.options),
  nkdLoss: (c, i) => nkdLoss(i.student!, i.teacher!, i.labels!, c.options),
  wsldLoss: (c, i) => wsldLoss(i.student!, i.teacher!, i.labels!, c.options),
};

for (const file of ["dkd_loss.json", "dist_loss.json", "nkd_loss.json", "wsld_loss.json"]) {
  const cases = loadGolden(`kd/${file}`);
  describe(`golden ${file} (PyTorch, float64)`, () => {
    test("the file holds the cases the README lists", () => {
      const counts: Record<string, number> = { "dkd_loss.json": 16, "dist_loss.json": 11, "nkd_loss.json": 10, "wsld_loss.json": 11 };
      expect(cases.length).toBe(counts[file]);
    });
    for (const c of cases) {
      const run = call[c.fn]!;
      test(c.name, () => {
        if ((c as { error?: string }).error !== undefined) {
          expect((c as { error?: string }).error).toBe("ValueError");
          const inputs: Record<string, Tensor> = {};
          for (const name of Object.keys(c.inputs)) inputs[name] = goldenInput(c, name);
          expect(() => run(c, inputs)).toThrow(ValueError);
          return;
        }
        checkGoldenCase(c, (inputs) => run(c, inputs));
      });
    }
  });
}
