import { defineOp } from "./define-op.js";
import type { Tensor } from "../tensor/tensor.js";
import { binary, unary } from "./elementwise.js";
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
    const a = lo ?? -Infinity;
    const b = hi ?? Infinity;
    if (lo == null && hi == null) throw new ValueError("clamp: at least one of lo and hi must be given");
    if (Number.isNaN(a) || Number.isNaN(b) || a > b) {
      throw new ValueError(`clamp: need lo <= hi, got lo=${lo}, hi=${hi}`);
    }
    ctx.save({ x, a, b });
    return unary("clamp", x, (v) => (v < a ? a : v > b ? b : v));
  },
  backward(ctx, g) {
    const { x, a, b } = ctx.saved as { x: Tensor; a: number; b: number };
    return [binary("clamp", g, x, (u, v) => (v >= a && v <= b ? u : 0))];
  },
  domain: { inputs: [{ awayFrom: [-0.5, 0.5] }], kind: "clamp" },
});
