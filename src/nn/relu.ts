import { checkFloatTensor, type Tensor } from "../tensor/tensor.js";
import { relu } from "../ops/relu.js";
import { Module, namedModule } from "./module.js";

/** relu(x) = max(x, 0) element-wise, as torch.nn.ReLU. No parameters. */
export class ReLU extends Module {
  /** The input is checked here, so that a refusal names the layer the user called (not relu). */
  forward(x: Tensor): Tensor {
    checkFloatTensor(x, "ReLU.forward", "input");
    return relu(x);
  }
}
namedModule(ReLU, "ReLU");
