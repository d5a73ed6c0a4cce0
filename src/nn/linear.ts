import { Tensor, checkTensor } from "../tensor/tensor.js";
import type { FloatDType } from "../tensor/dtype.js";
import { DTypeError, ShapeError, ValueError } from "../tensor/errors.js";
import { defaultGenerator, Generator } from "../tensor/random.js";
import { checkCount, checkInt, describeValue, shapeStr } from "../tensor/shape.js";
import { checkOptions } from "../tensor/options.js";
import { publicName } from "../tensor/public-call.js";
import { linear } from "../ops/linear.js";
import { Module, namedModule } from "./module.js";
import { uniformTensor } from "./init.js";

/** Options of `Linear`: whether it has a bias, the dtype, and the generator of the initial weights. */
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
 * then b. With inFeatures = 0 both bounds are 0 (and forward returns the bias,
 * broadcast, as PyTorch does). The weight may hold at most MAX_ELEMENTS
 * (2³¹ − 1) elements: new Linear(1e5, 1e5) is a ValueError naming the size.
 * forward takes an input of the layer's dtype (a float64 input to a float32
 * layer is a DTypeError saying to convert it, as in PyTorch).
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

  constructor(inFeatures: number, outFeatures: number, options?: LinearOptions) {
    super();
    // Messages name the public function running: Linear, or mlp building its layers.
    const fn = publicName("Linear");
    checkInt(inFeatures, fn, "inFeatures", 0);
    checkInt(outFeatures, fn, "outFeatures", 0);
    checkCount(inFeatures * outFeatures, fn, `the weight [${outFeatures}, ${inFeatures}]`);
    checkCount(outFeatures, fn, `the bias [${outFeatures}]`);
    options = checkOptions(options, fn, ["bias", "dtype", "generator"]);
    const dtype = options.dtype ?? "float32";
    if (dtype !== "float32" && dtype !== "float64") throw new ValueError(`${fn}: dtype must be "float32" or "float64", got ${describeValue(dtype)}`);
    const g = options.generator ?? defaultGenerator;
    if (!(g instanceof Generator)) throw new ValueError(`${fn}: generator must be a Generator, got ${describeValue(g)}`);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const bound = inFeatures > 0 ? 1 / Math.sqrt(inFeatures) : 0;
    this.weight = this.registerParameter("weight", uniformTensor([outFeatures, inFeatures], -bound, bound, dtype, g, fn));
    this.bias = (options.bias ?? true) ? this.registerParameter("bias", uniformTensor([outFeatures], -bound, bound, dtype, g, fn)) : null;
  }

  /** "in_features=64, out_features=16, bias=True", as PyTorch prints a Linear. */
  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias === null ? "False" : "True"}`;
  }

  forward(x: Tensor): Tensor {
    checkTensor(x, "Linear.forward", "input");
    if (x.dtype !== this.weight.dtype) {
      throw new DTypeError(`Linear.forward: input is ${x.dtype} but the layer's parameters are ${this.weight.dtype}; convert the input with x.to("${this.weight.dtype}")${x.dtype === "int32" ? "" : `, or build the layer with { dtype: "${x.dtype}" }`}`);
    }
    if (x.ndim === 0 || x.shape[x.ndim - 1] !== this.inFeatures) {
      throw new ShapeError(`Linear.forward: input of shape ${shapeStr(x.shape)} does not end in inFeatures = ${this.inFeatures}`);
    }
    return linear(x, this.weight, this.bias);
  }
}
namedModule(Linear, "Linear");
