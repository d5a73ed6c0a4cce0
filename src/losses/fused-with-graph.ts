import type { Tensor } from "../tensor/tensor.js";
import { abs } from "../ops/abs.js";
import { add } from "../ops/add.js";
import { sub } from "../ops/sub.js";
import { where } from "../ops/where.js";
import { compare } from "../ops/elementwise.js";

/**
 * A loss's gradient when backward creates a graph (higher-order autodiff): the
 * gradient `value` that the fused first-order kernel computed (no graph), carrying
 * the graph of `form`, the same gradient written with differentiable ops:
 *
 *   value + (form − form̄),   form̄ = form detached.
 *
 * form − form̄ is exactly 0 wherever form is finite (the same number twice), so the
 * result has the kernel's value to the last bit: a gradient does not change when a
 * graph of it is created, and keeps the kernel's accuracy where the ops form has
 * less (the distillation gradient at large T, where p_s − p_t cancels in the ops
 * form). Its derivative is that of form: ∂(value + form − form̄) = ∂form, since value
 * and form̄ are constants. This is logSumExp's trick (src/ops/log-sum-exp.ts).
 *
 * Where form is not finite, form − form̄ = ∞ − ∞ = NaN would spoil the value, so 0
 * is selected there: the entry keeps the kernel's value and gets no derivative (the
 * selection sends 0, not NaN, back into form).
 * Check: when the kernel and the ops agree exactly (value = form̄), the result is form.
 */
export function fusedWithGraph(fn: string, value: Tensor, form: Tensor): Tensor {
  const finite = compare(fn, "lt", abs(form.detach()), Infinity);
  return add(value, where(finite, sub(form, form.detach()), 0));
}
