/**
 * distillationLoss against the KD-zoo golden vectors (PyTorch float64,
 * test/fixtures/golden/kd/distillation_loss.json): every divergence, labels and ignored
 * rows, 3-D inputs with each reduction, standardization, a tensor temperature (∂L/∂T),
 * scaleT2: false, and the refusals. Values and gradients at the README's tolerance.
 */
import { describe, expect, test } from "vitest";
import { distillationLoss, distillationLossComposite, type DistillationOptions, type Tensor } from "../../src/index.js";
import { checkKdCase, loadKdGolden } from "../helpers/golden-kd.js";

const cases = loadKdGolden("distillation_loss.json");

const call = (f: typeof distillationLoss) => (inputs: Record<string, Tensor>, options: Record<string, unknown>): Tensor =>
  f(inputs.student!, inputs.teacher!, {
    ...(options as DistillationOptions),
    ...(inputs.labels ? { labels: inputs.labels } : {}),
    ...(inputs.temperature ? { temperature: inputs.temperature } : {}),
  });

describe("golden distillationLoss (KD zoo, PyTorch float64)", () => {
  test("the public set is all here", () => {
    expect(cases.length).toBe(69);
    expect(cases.filter((c) => c.error !== undefined).length).toBe(2);
  });
  for (const c of cases) test(c.name, () => checkKdCase(c, call(distillationLoss)));
});

describe("golden distillationLoss through distillationLossComposite", () => {
  for (const c of cases) test(c.name, () => checkKdCase(c, call(distillationLossComposite)));
});
