import type { Tensor } from "../tensor/tensor.js";
import type { FloatDType } from "../tensor/dtype.js";
import type { Generator } from "../tensor/random.js";
import { rand } from "../tensor/creation.js";
import { asPublicCall } from "../tensor/public-call.js";
import { kernel } from "../kernels/registry.js";

/**
 * A new tensor of `shape` with values uniform in [lo, hi): lo + (hi − lo)·u,
 * u drawn in row-major order from `generator` (24-bit u for float32, which
 * float32 holds exactly; 53-bit u for float64), as torch.nn.init.uniform_.
 * The map to [lo, hi) is the `affine` kernel, in place: float64 arithmetic
 * rounded once, and no second tensor of the parameter's size. `fn` is the
 * public function (a layer's constructor) named if memory is refused.
 */
export function uniformTensor(shape: readonly number[], lo: number, hi: number, dtype: FloatDType, generator: Generator, fn: string): Tensor {
  const t = asPublicCall(fn, () => rand(shape, { dtype, generator }));
  kernel("affine", dtype, t.size)(t.data, hi - lo, lo, t.data);
  return t;
}
