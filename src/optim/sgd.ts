import type { Tensor } from "../tensor/tensor.js";
import { wasmFor } from "../kernels/backend.js";
import { wasmKernels } from "../kernels/wasm/backend.js";
import { allocate, type Storage } from "../tensor/dtype.js";
import { ValueError } from "../tensor/errors.js";
import { noGrad } from "../autograd/no-grad.js";
import { Optimizer, gradData } from "./optimizer.js";

export interface SGDOptions {
  /** Learning rate γ (required). */
  lr: number;
  /** Momentum factor μ (default 0). */
  momentum?: number;
  /** Dampening τ of the momentum (default 0). */
  dampening?: number;
  /** Nesterov momentum (default false; needs momentum > 0 and dampening 0). */
  nesterov?: boolean;
  /** L2 penalty λ added to the gradient (default 0). */
  weightDecay?: number;
}

/**
 * Stochastic gradient descent with PyTorch's update (torch.optim.SGD). At
 * step t, for each parameter θ with gradient ∇:
 *
 *   g ← ∇ + λθ                                 (if λ ≠ 0)
 *   b ← g at the first step, else μb + (1 − τ)g  (if μ ≠ 0)
 *   g ← g + μb if nesterov, else b              (if μ ≠ 0)
 *   θ ← θ − γg
 *
 * Note the velocity b is not scaled by γ (PyTorch's convention, unlike
 * Sutskever et al.), and the first step takes b = g without dampening.
 * Each parameter keeps its own momentum buffer, created at the first step
 * in which it has a gradient.
 *
 * @example const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
 */
export class SGD extends Optimizer {
  readonly momentum: number;
  readonly dampening: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
  readonly #buffers = new Map<Tensor, Storage>();

  constructor(params: Iterable<Tensor>, options: SGDOptions) {
    if (options === undefined || options.lr === undefined) throw new ValueError("SGD: lr is required");
    super("SGD", params, options.lr);
    const { momentum = 0, dampening = 0, weightDecay = 0 } = options;
    this.momentum = this.checkOption("momentum", momentum, momentum >= 0, "a finite number >= 0");
    this.dampening = this.checkOption("dampening", dampening, true, "a finite number");
    this.weightDecay = this.checkOption("weightDecay", weightDecay, weightDecay >= 0, "a finite number >= 0");
    this.nesterov = options.nesterov ?? false;
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new ValueError(`SGD: nesterov requires momentum > 0 and dampening 0, got momentum ${this.momentum} and dampening ${this.dampening}`);
    }
  }

  step(): void {
    noGrad(() => this.#update());
  }

  #update(): void {
    const { lr, momentum: mu, dampening: tau, nesterov, weightDecay: wd } = this;
    for (const p of this.params) {
      const grad = gradData(p);
      if (grad === null) continue;
      const theta = p.data;
      let buf = this.#buffers.get(p);
      const first = buf === undefined;
      if (mu !== 0 && buf === undefined) {
        buf = allocate(p.dtype, p.size);
        this.#buffers.set(p, buf);
      }
      if (wd === 0 && buf === undefined) {
        // Plain SGD: θ ← θ − γ∇ (float32 on the WebAssembly backend: the same float64
        // arithmetic and rounding, two lanes at a time).
        if (theta instanceof Float32Array && grad instanceof Float32Array && wasmFor(theta.length)) {
          wasmKernels()!.sgdStep(theta, grad, lr);
        } else for (let i = 0; i < theta.length; i++) theta[i] = theta[i]! - lr * grad[i]!;
        continue;
      }
      for (let i = 0; i < theta.length; i++) {
        let g = grad[i]!;
        if (wd !== 0) g += wd * theta[i]!;
        if (buf !== undefined) {
          const b = first ? g : mu * buf[i]! + (1 - tau) * g;
          buf[i] = b;
          g = nesterov ? g + mu * buf[i]! : buf[i]!;
        }
        theta[i] = theta[i]! - lr * g;
      }
    }
  }
}
