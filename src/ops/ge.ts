import type { Tensor } from "../tensor/tensor.js";
import { asPublicCall } from "../tensor/public-call.js";
import { compare } from "./elementwise.js";

/**
 * ge(a, b): 1 where a ≥ b and 0 elsewhere, element-wise with broadcasting, as an int32
 * tensor (torch.ge; kdgrad has no bool dtype, and int32 0/1 serves as a mask for `where` and,
 * cast to a float, as a count). Either side may be a bare number, and any dtypes may meet: the
 * values are compared exactly as the numbers they are (int32 labels with int32 predictions,
 * float32 with float64). A bare number beside a float tensor is first rounded to that tensor's
 * dtype, as PyTorch treats a Python scalar. The result is 0 when either side is NaN.
 *
 * Not differentiable: a step function has derivative 0 wherever it has one, so the result
 * carries no graph, whatever its inputs require (as in PyTorch, whose comparisons return
 * bool tensors without grad).
 *
 * @example ge(tensor([1, 2, 3]), 2) // tensor([0, 1, 1], int32)
 */
export function ge(a: Tensor | number, b: Tensor | number): Tensor {
  return asPublicCall("ge", () => compare("ge", "ge", a, b, true));
}
