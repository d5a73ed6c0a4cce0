import { defineComposite } from "../ops/define-op.js";
import { Tensor } from "../tensor/tensor.js";
import { DTypeError } from "../tensor/errors.js";
import { softmax } from "../ops/softmax.js";
import { max } from "../ops/max.js";
import { checkTemperature } from "./checks.js";

/**
 * softTargets(logits, temperature): softmax(logits / T) along the last
 * axis, the teacher's "soft targets" at temperature T (1e-6 ≤ T ≤ 1e6, see
 * checkTemperature). A training tool: predictions use plain softmax/argmax
 * (see `predict`). Differentiable through sub, div and softmax.
 *
 * Computed as softmax((logits − m)/T) with m the row maximum, detached. The
 * shift changes neither the value nor the gradient (softmax ignores a constant
 * added to its row, and the Jacobian of x ↦ x − m with m held fixed is the
 * identity), but it keeps (x − m)/T ≤ 0: at T = 1e-6 plain x/T overflows
 * float32 for |x| above 3.4e32, giving ∞ and a NaN row, where the shifted form
 * gives the one-hot argmax that is the right answer. A lane holding NaN or +∞,
 * or entirely −∞, is NaN, as for softmax (docs/non-finite.md).
 *
 * @example
 * softTargets(tensor([[1, 2, 3]]), 2);   // softmax([0.5, 1, 1.5])
 */
export const softTargets = defineComposite(
  "softTargets",
  (logits: Tensor, temperature: number): Tensor => {
    if (!(logits instanceof Tensor)) throw new DTypeError(`softTargets: logits must be a Tensor, got ${logits === null ? "null" : typeof logits}`);
    if (logits.dtype === "int32") throw new DTypeError("softTargets: logits must be float32 or float64, got int32");
    const T = checkTemperature(temperature, "softTargets");
    if (logits.size === 0) return softmax(logits.div(T), -1);
    const m = logits.ndim === 0 ? logits.detach() : max(logits.detach(), -1, true);
    return softmax(logits.sub(m).div(T), -1);
  },
);
