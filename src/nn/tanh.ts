import type { Tensor } from "../tensor/tensor.js";
import { tanh } from "../ops/tanh.js";
import { Module, namedModule } from "./module.js";

/** tanh(x) element-wise, as torch.nn.Tanh. No parameters. */
export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return tanh(x);
  }
}
namedModule(Tanh, "Tanh");
