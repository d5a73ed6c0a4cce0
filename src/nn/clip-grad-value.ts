import { ValueError } from "../tensor/errors.js";
import { describeValue } from "../tensor/shape.js";
import { asPublicCall } from "../tensor/public-call.js";
import { noGrad } from "../autograd/no-grad.js";
import { clamp } from "../ops/clamp.js";
import { paramList, type GradParams } from "./grad-params.js";

/**
 * Clamp every gradient element of `params` to [−clipValue, clipValue], as
 * torch.nn.utils.clip_grad_value_. Parameters whose grad is null are skipped. clipValue must
 * be a number ≥ 0 (Infinity leaves the gradients as they are). A NaN gradient element stays
 * NaN (clamp's rule, as PyTorch's; docs/non-finite.md), ±∞ becomes ±clipValue.
 *
 * Unlike clipGradNorm this changes the gradient's direction: each coordinate is cut on its
 * own. The gradients are replaced by new tensors (`p.grad = clamp(g, −c, c)`); nothing is
 * recorded for autograd.
 *
 * @example loss.backward(); clipGradValue(model.parameters(), 0.5); opt.step();
 */
export function clipGradValue(params: GradParams, clipValue: number): void {
  const fn = "clipGradValue";
  const list = paramList(params, fn);
  if (typeof clipValue !== "number" || !(clipValue >= 0)) {
    throw new ValueError(`${fn}: clipValue must be a number >= 0, got ${describeValue(clipValue)}`);
  }
  asPublicCall(fn, () => noGrad(() => {
    for (const t of list) if (t.grad !== null) t.grad = clamp(t.grad, -clipValue, clipValue);
  }));
}
