import { defineOp } from "./define-op.js";
import { Tensor, checkTensor } from "../tensor/tensor.js";
import { compare } from "./elementwise.js";
import { where } from "./where.js";
import { ValueError } from "../tensor/errors.js";

/**
 * clamp(x, lo, hi) = min(max(x, lo), hi); either bound may be null (absent).
 * lo > hi is an error (PyTorch would silently return hi everywhere).
 *
 * Backward. The slope is 1 where lo ≤ x ≤ hi and 0 where a bound is active,
 * so dx = g·[lo ≤ x ≤ hi] (inclusive, as PyTorch).
 */
export const clamp = defineOp({
  name: "clamp",
  forward(ctx, x: Tensor, lo: number | null, hi?: number | null): Tensor {
    checkTensor(x, "clamp", "input");
    const a = lo ?? -Infinity;
    const b = hi ?? Infinity;
    if (lo == null && hi == null) throw new ValueError("clamp: at least one of lo and hi must be given");
    if (Number.isNaN(a) || Number.isNaN(b) || a > b) {
      throw new ValueError(`clamp: need lo <= hi, got lo=${lo}, hi=${hi}`);
    }
    ctx.save({ x, a, b });
    // lo where x < lo, hi where x > hi, x elsewhere (NaN stays NaN, −0 stays −0).
    return where(compare("clamp", "lt", x, a), a, where(compare("clamp", "gt", x, b), b, x));
  },
  backward(ctx, g) {
    const { x, a, b } = ctx.saved as { x: Tensor; a: number; b: number };
    // g where lo ≤ x ≤ hi, a selected 0 elsewhere (NaN x: 0, as PyTorch's mask).
    return [where(compare("clamp", "ge", x, a), where(compare("clamp", "le", x, b), g, 0), 0)];
  },
});
