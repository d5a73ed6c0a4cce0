import { expect } from "vitest";
import type { Tensor } from "../../src/index.js";

/** Element-wise |a − b| ≤ atol + rtol·|b|, with equal shapes; non-finite values must match exactly. */
export function expectClose(a: Tensor | number[], b: Tensor | number[], { rtol = 1e-12, atol = 1e-12 } = {}, label = ""): void {
  const av = Array.isArray(a) ? a : a.toFlatArray();
  const bv = Array.isArray(b) ? b : b.toFlatArray();
  if (!Array.isArray(a) && !Array.isArray(b)) expect(a.shape, `${label} shape`).toEqual(b.shape);
  expect(av.length, `${label} length`).toBe(bv.length);
  for (let i = 0; i < av.length; i++) {
    const x = av[i]!;
    const y = bv[i]!;
    if (!Number.isFinite(y) || !Number.isFinite(x)) {
      expect(Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y)), `${label}[${i}]: ${x} vs ${y}`).toBe(true);
    } else {
      expect(Math.abs(x - y) <= atol + rtol * Math.abs(y), `${label}[${i}]: ${x} vs ${y} (rtol ${rtol}, atol ${atol})`).toBe(true);
    }
  }
}
