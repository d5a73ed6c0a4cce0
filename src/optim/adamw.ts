import type { Tensor } from "../tensor/tensor.js";
import { Adam, type AdamOptions } from "./adam.js";

/**
 * AdamW (torch.optim.AdamW): Adam with decoupled weight decay (Loshchilov &
 * Hutter). Each step first shrinks the parameter, θ ← θ − γλθ = (1 − γλ)θ,
 * then takes the Adam step with the raw gradient, so the decay is not
 * rescaled by the adaptive denominator (with Adam's L2 penalty λθ it would
 * be, and large-gradient weights would be regularised less).
 * Defaults as PyTorch: lr 1e-3, betas [0.9, 0.999], eps 1e-8, weightDecay 1e-2.
 *
 * @example const opt = new AdamW(model.parameters(), { lr: 1e-3, weightDecay: 0.05 });
 */
export class AdamW extends Adam {
  protected static override readonly decoupledWeightDecay: boolean = true;

  constructor(params: Iterable<Tensor>, options: AdamOptions = {}) {
    super(params, options);
  }
}
