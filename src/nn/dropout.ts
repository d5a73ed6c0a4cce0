import { Tensor, checkFloatTensor } from "../tensor/tensor.js";
import { checkOptions } from "../tensor/options.js";
import { describeValue } from "../tensor/shape.js";
import { ValueError } from "../tensor/errors.js";
import { defaultGenerator, Generator } from "../tensor/random.js";
import { rand } from "../tensor/creation.js";
import { asPublicCall } from "../tensor/public-call.js";
import { mul } from "../ops/mul.js";
import { Module, namedModule, pythonFloat } from "./module.js";

/**
 * Inverted dropout, as torch.nn.Dropout. In training mode each element is
 * zeroed with probability p and the survivors are scaled by 1/(1 − p), so
 * E[output] = (1 − p)·x/(1 − p) = x and evaluation needs no rescaling; in
 * eval mode (and for p = 0) it is the identity.
 *
 * The output is x ⊙ m with a fresh mask mᵢ ∈ {0, 1/(1 − p)} per call (in
 * x's dtype): the gradient is g ⊙ m through `mul`, the mask being a constant.
 * Element i is kept when a uniform draw uᵢ ∈ [0, 1) from the generator (53
 * random bits, row-major order) satisfies uᵢ ≥ p, which has probability
 * 1 − p. Built from ops: rand for the draws, the mask formed from them in one loop (a
 * constant: no gradient reaches it), and mul, whose backward gives g ⊙ m.
 *
 * @example new Dropout(0.2).forward(x)
 */
export class Dropout extends Module {
  readonly p: number;
  readonly #generator: Generator;

  constructor(p = 0.5, options?: { generator?: Generator }) {
    super();
    if (typeof p !== "number" || !(p >= 0 && p < 1)) {
      throw new ValueError(`Dropout: p must be in [0, 1), got ${describeValue(p)}`);
    }
    const generator = checkOptions(options, "Dropout", ["generator"]).generator ?? defaultGenerator;
    if (!(generator instanceof Generator)) throw new ValueError(`Dropout: generator must be a Generator, got ${describeValue(generator)}`);
    this.p = p;
    this.#generator = generator;
  }

  /** "p=0.5, inplace=False", as PyTorch prints a Dropout (kdgrad's never works in place). */
  override extraRepr(): string {
    return `p=${pythonFloat(this.p)}, inplace=False`;
  }

  /** The input is checked in every mode (eval returns it as it is, but only a float tensor). */
  forward(x: Tensor): Tensor {
    checkFloatTensor(x, "Dropout.forward", "input");
    if (!this.training || this.p === 0) return x;
    return asPublicCall("Dropout.forward", () => {
      const u = rand(x.shape, { dtype: "float64", generator: this.#generator }).data;
      // The mask in one pass over the draws: what where(u ≥ p, 1/(1 − p), 0) gives in x's dtype
      // (storing the scale rounds it to that dtype once), without a comparison's and a
      // selection's tensors.
      const scale = 1 / (1 - this.p);
      const mask = Tensor.empty(x.shape, x.dtype);
      const m = mask.data;
      for (let i = 0; i < m.length; i++) m[i] = u[i]! >= this.p ? scale : 0;
      return mul(x, mask);
    });
  }
}
namedModule(Dropout, "Dropout");
