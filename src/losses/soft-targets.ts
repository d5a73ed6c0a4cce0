import { defineComposite } from "../ops/define-op.js";
import type { Tensor } from "../tensor/tensor.js";
import { softmax } from "../ops/softmax.js";
import { checkTemperature } from "./options.js";

/**
 * softTargets(logits, temperature): softmax(logits / T) along the last
 * axis, the teacher's "soft targets" at temperature T (finite, > 0). A
 * training tool: predictions use plain softmax/argmax (see `predict`).
 * Differentiable through div and softmax.
 */
export const softTargets = defineComposite(
  "softTargets",
  (logits: Tensor, temperature: number): Tensor => softmax(logits.div(checkTemperature(temperature, "softTargets")), -1),
);
