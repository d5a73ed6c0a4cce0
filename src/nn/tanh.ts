import { checkFloatTensor, type Tensor } from "../tensor/tensor.js";
import { tanh } from "../ops/tanh.js";
import { Module, namedModule } from "./module.js";

/** tanh(x) element-wise, as torch.nn.Tanh. No parameters. */
export class Tanh extends Module {
  /** The input is checked here, so that a refusal names the layer the user called (not tanh). */
  forward(x: Tensor): Tensor {
    checkFloatTensor(x, "Tanh.forward", "input");
    return tanh(x);
  }
}
namedModule(Tanh, "Tanh");
