import { checkFloatTensor, type Tensor } from "../tensor/tensor.js";
import { checkOptions } from "../tensor/options.js";
import { describeValue } from "../tensor/shape.js";
import { ValueError } from "../tensor/errors.js";
import { gelu, type GeluApproximate } from "../ops/gelu.js";
import { Module, namedModule } from "./module.js";

/**
 * gelu(x) = x·Φ(x) element-wise, as torch.nn.GELU: the exact erf form by
 * default, or `{ approximate: "tanh" }` for ½x(1 + tanh(√(2/π)(x + 0.044715x³))).
 * No parameters. See src/ops/gelu.ts for the derivative.
 */
export class GELU extends Module {
  readonly approximate: GeluApproximate;

  constructor(options?: { approximate?: GeluApproximate }) {
    super();
    const approximate = checkOptions(options, "GELU", ["approximate"]).approximate ?? "none";
    if (approximate !== "none" && approximate !== "tanh") {
      throw new ValueError(`GELU: approximate must be "none" or "tanh", got ${describeValue(approximate)}`);
    }
    this.approximate = approximate;
  }

  /** "approximate='none'", as PyTorch prints a GELU. */
  override extraRepr(): string {
    return `approximate='${this.approximate}'`;
  }

  /** The input is checked here, so that a refusal names the layer the user called (not gelu). */
  forward(x: Tensor): Tensor {
    checkFloatTensor(x, "GELU.forward", "input");
    return gelu(x, this.approximate);
  }
}
namedModule(GELU, "GELU");
