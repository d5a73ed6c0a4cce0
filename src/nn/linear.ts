import type { Tensor } from "../tensor/tensor.js";
import type { FloatDType } from "../tensor/dtype.js";
import { ShapeError, ValueError } from "../tensor/errors.js";
import { defaultGenerator, type Generator } from "../tensor/random.js";
import { shapeStr } from "../tensor/shape.js";
import { linear } from "../ops/linear.js";
import { Module } from "./module.js";
import { uniformTensor } from "./init.js";

export interface LinearOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
  /** float32 (default) or float64. */
  dtype?: FloatDType;
  /** Source of the initial values (default: the global generator, see manualSeed). */
  generator?: Generator;
}

/**
 * y = x·Wᵀ + b, as torch.nn.Linear: x [..., inFeatures] → y [..., outFeatures].
 * The weight is stored [outFeatures, inFeatures] like PyTorch's, so state
 * dicts carry over. Forward is the fused op `linear` (src/ops/linear.ts):
 * x flattened to rows, times weight.T (a view, read through its strides),
 * plus the bias, with each gradient written in its parameter's layout.
 *
 * Initialisation is PyTorch's default: W and b uniform in ±1/√inFeatures.
 * (PyTorch writes it as kaiming_uniform_ with a = √5: the gain √(2/(1 + a²))
 * = √(1/3) times √(3/fan_in) is 1/√fan_in.) W is drawn first, row by row,
 * then b. With inFeatures = 0 both bounds are 0.
 *
 * Parameters: "weight" and, with bias, "bias".
 *
 * @example const layer = new Linear(64, 10); layer.forward(x) // [n, 64] → [n, 10]
 */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    for (const [arg, v] of [["inFeatures", inFeatures], ["outFeatures", outFeatures]] as const) {
      if (!Number.isInteger(v) || v < 0) throw new ValueError(`Linear: ${arg} must be a non-negative integer, got ${v}`);
    }
    const dtype = options.dtype ?? "float32";
    if (dtype !== "float32" && dtype !== "float64") {
      throw new ValueError(`Linear: dtype must be "float32" or "float64", got ${JSON.stringify(dtype)}`);
    }
    const g = options.generator ?? defaultGenerator;
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const bound = inFeatures > 0 ? 1 / Math.sqrt(inFeatures) : 0;
    this.weight = this.registerParameter("weight", uniformTensor([outFeatures, inFeatures], -bound, bound, dtype, g));
    this.bias = (options.bias ?? true) ? this.registerParameter("bias", uniformTensor([outFeatures], -bound, bound, dtype, g)) : null;
  }

  forward(x: Tensor): Tensor {
    if (x.ndim === 0 || x.shape[x.ndim - 1] !== this.inFeatures) {
      throw new ShapeError(`Linear.forward: input of shape ${shapeStr(x.shape)} does not end in inFeatures = ${this.inFeatures}`);
    }
    return linear(x, this.weight, this.bias);
  }
}
