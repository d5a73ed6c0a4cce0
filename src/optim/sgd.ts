import type { Tensor } from "../tensor/tensor.js";
import { allocate, type Storage } from "../tensor/dtype.js";
import { ValueError } from "../tensor/errors.js";
import { checkOptions } from "../tensor/options.js";
import { checkBool, checkNumber } from "../tensor/shape.js";
import { noGrad } from "../autograd/no-grad.js";
import { kernel } from "../kernels/registry.js";
import {
  Optimizer, gradData, hyperparameters, paramState, prepareHyperparameters, replaceState,
  type HyperValue, type ParamStateStorage, type StateSchema,
} from "./optimizer.js";

/** Options of `SGD`, with PyTorch's names and defaults. */
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
 * in which it has a gradient (and momentum ≠ 0; with μ = 0 no buffer is kept
 * or read, as in PyTorch). `momentum` may be changed between steps (OneCycleLR
 * cycles it); stateDict() holds the hyperparameters and each buffer
 * ("momentumBuffer", PyTorch's momentum_buffer).
 *
 * @example const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
 */
export class SGD extends Optimizer {
  /** Momentum factor μ; a schedule (OneCycleLR) may change it between steps. */
  declare momentum: number;
  declare readonly dampening: number;
  declare readonly nesterov: boolean;
  declare readonly weightDecay: number;
  readonly #buffers = new Map<Tensor, Storage>();

  constructor(params: Iterable<Tensor>, options: SGDOptions) {
    const checked = checkOptions(options as SGDOptions | undefined, "SGD", ["lr", "momentum", "dampening", "nesterov", "weightDecay"]);
    if (checked.lr === undefined) throw new ValueError("SGD: lr is required (new SGD(params, { lr: 0.1 }))");
    super("SGD", params, checked.lr);
    const { momentum = 0, dampening = 0, nesterov = false, weightDecay = 0 } = checked;
    Object.assign(this, checkHyperparameters({ momentum, dampening, nesterov, weightDecay }, "SGD"));
  }

  step(): void {
    noGrad(() => this.#update());
  }

  #update(): void {
    const { lr, momentum, dampening, nesterov, weightDecay } = this;
    const hyper = { lr, momentum, dampening, weightDecay, nesterov };
    for (const p of this.params) {
      const grad = gradData(p);
      if (grad === null) continue;
      let buf: Storage | null = null;
      let first = false;
      if (momentum !== 0) {
        buf = this.#buffers.get(p) ?? null;
        if (buf === null) {
          buf = allocate(p.dtype, p.size);
          this.#buffers.set(p, buf);
          first = true;
        }
      }
      // The update above, in place, element by element (the sgdStep kernel: float64
      // arithmetic, one rounding per stored value, on every backend).
      kernel("sgdStep", p.dtype, p.size)(p.data, grad, buf, first, hyper);
    }
  }

  /** @internal */
  protected override [hyperparameters](): Record<string, HyperValue> {
    return { momentum: this.momentum, dampening: this.dampening, nesterov: this.nesterov, weightDecay: this.weightDecay };
  }

  /** @internal */
  protected override [prepareHyperparameters](group: Readonly<Record<string, unknown>>, fn: string): { apply(): void; schema: StateSchema } {
    const h = checkHyperparameters(group, fn);
    return { apply: () => Object.assign(this, h), schema: { tensors: { momentumBuffer: true }, counts: [] } };
  }

  /** @internal */
  protected override [paramState](p: Tensor): ParamStateStorage | undefined {
    const buf = this.#buffers.get(p);
    return buf === undefined ? undefined : { momentumBuffer: buf };
  }

  /** @internal */
  protected override [replaceState](state: Map<Tensor, ParamStateStorage>): void {
    this.#buffers.clear();
    for (const [p, s] of state) this.#buffers.set(p, s.momentumBuffer as Storage);
  }
}

/** SGD's hyperparameters, from the constructor's options (defaults filled in) or a saved group; `fn` names the public function. */
function checkHyperparameters(o: Readonly<Record<string, unknown>>, fn: string): { momentum: number; dampening: number; nesterov: boolean; weightDecay: number } {
  const momentum = checkNumber(o.momentum, fn, "momentum", (v) => v >= 0, "a finite number >= 0");
  const dampening = checkNumber(o.dampening, fn, "dampening", () => true, "a finite number");
  const weightDecay = checkNumber(o.weightDecay, fn, "weightDecay", (v) => v >= 0, "a finite number >= 0");
  const nesterov = checkBool(o.nesterov, fn, "nesterov");
  if (nesterov && (momentum <= 0 || dampening !== 0)) {
    throw new ValueError(`${fn}: nesterov requires momentum > 0 and dampening 0, got momentum ${momentum} and dampening ${dampening}`);
  }
  return { momentum, dampening, nesterov, weightDecay };
}
