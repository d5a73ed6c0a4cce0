import type { Tensor } from "../tensor/tensor.js";
import { ValueError } from "../tensor/errors.js";
import { Module, namedModule } from "./module.js";

/**
 * Modules applied in order, as torch.nn.Sequential. The children are named
 * "0", "1", …, so parameters are "0.weight", "2.bias", … (the same keys as
 * PyTorch's Sequential of the same layers).
 *
 * @example new Sequential(new Linear(4, 8), new ReLU(), new Linear(8, 2))
 */
export class Sequential extends Module {
  readonly layers: readonly Module[];

  constructor(...modules: Module[]) {
    super();
    modules.forEach((m, i) => {
      if (!(m instanceof Module)) throw new ValueError(`Sequential: argument ${i} is not a Module`);
      this.registerModule(String(i), m);
    });
    this.layers = Object.freeze([...modules]);
  }

  get length(): number {
    return this.layers.length;
  }

  forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this.layers) y = m.forward(y);
    return y;
  }
}
namedModule(Sequential, "Sequential");
