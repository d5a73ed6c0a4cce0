import { Tensor } from "../tensor/tensor.js";
import type { FloatDType } from "../tensor/dtype.js";
import type { Generator } from "../tensor/random.js";

/**
 * A new tensor of `shape` with values uniform in [lo, hi): lo + (hi − lo)·u,
 * u drawn in row-major order from `generator` (24-bit u for float32, which
 * float32 holds exactly; 53-bit u for float64), as torch.nn.init.uniform_.
 * `fn` is the public function (a layer's constructor) named if memory is refused.
 */
export function uniformTensor(shape: readonly number[], lo: number, hi: number, dtype: FloatDType, generator: Generator, fn: string): Tensor {
  const t = Tensor.empty(shape, dtype, fn);
  const d = t.data;
  const width = hi - lo;
  if (dtype === "float32") for (let i = 0; i < d.length; i++) d[i] = lo + width * generator.uniform24();
  else for (let i = 0; i < d.length; i++) d[i] = lo + width * generator.uniform();
  return t;
}
