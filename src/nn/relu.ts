import type { Tensor } from "../tensor/tensor.js";
import { relu } from "../ops/relu.js";
import { Module, namedModule } from "./module.js";

/** relu(x) = max(x, 0) element-wise, as torch.nn.ReLU. No parameters. */
export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}
namedModule(ReLU, "ReLU");
