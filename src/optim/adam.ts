import type { Tensor } from "../tensor/tensor.js";
import { allocate, type Storage } from "../tensor/dtype.js";
import { ValueError } from "../tensor/errors.js";
import { checkOptions } from "../tensor/options.js";
import { describeValue } from "../tensor/shape.js";
import { noGrad } from "../autograd/no-grad.js";
import { kernel } from "../kernels/registry.js";
import { Optimizer, gradData, type HyperValue, type ParamStateStorage, type StateSchema } from "./optimizer.js";

export interface AdamOptions {
  /** Learning rate γ (default 1e-3). */
  lr?: number;
  /** Decay rates (β₁, β₂) of the first and second moment averages (default [0.9, 0.999]). */
  betas?: readonly [number, number];
  /** Added to the denominator (default 1e-8). */
  eps?: number;
  /** Adam: L2 penalty λ added to the gradient (default 0). AdamW: decoupled decay (default 1e-2). */
  weightDecay?: number;
  /** The AMSGrad variant: normalise by the running maximum of v (default false). */
  amsgrad?: boolean;
}

interface AdamState {
  step: number;
  m: Storage;
  v: Storage;
  vMax: Storage | null;
}

/**
 * Adam with PyTorch's update (torch.optim.Adam). At step t (counted per
 * parameter), for θ with gradient ∇:
 *
 *   g ← ∇ + λθ                         (if λ ≠ 0; AdamW instead decays θ, below)
 *   m ← β₁m + (1 − β₁)g
 *   v ← β₂v + (1 − β₂)g²
 *   v̄ ← max(v̄, v) with amsgrad, else v̄ = v
 *   θ ← θ − (γ/(1 − β₁ᵗ)) · m / (√v̄/√(1 − β₂ᵗ) + ε)
 *
 * which is θ − γ·m̂/(√v̂ + ε) with the bias-corrected m̂ = m/(1 − β₁ᵗ) and
 * v̂ = v̄/(1 − β₂ᵗ), arranged as PyTorch computes it. (m and v start at 0,
 * so without the correction the first steps would be shrunk towards 0.)
 * With amsgrad PyTorch keeps the maximum of the uncorrected v, as here.
 * The state (m, v, v̄) has the parameter's dtype, as in PyTorch.
 * `beta1` may be changed between steps (OneCycleLR cycles it, as PyTorch's
 * betas[0]); stateDict() holds the hyperparameters and, per parameter, "step",
 * "expAvg" (m), "expAvgSq" (v) and with amsgrad "maxExpAvgSq" (v̄), PyTorch's
 * step, exp_avg, exp_avg_sq and max_exp_avg_sq.
 *
 * @example const opt = new Adam(model.parameters(), { lr: 1e-3 });
 */
export class Adam extends Optimizer {
  /** β₁; a schedule (OneCycleLR) may change it between steps. */
  beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly amsgrad: boolean;
  /** True for AdamW: decay θ ← θ − γλθ before the step instead of adding λθ to the gradient. */
  readonly decoupled: boolean;
  /** Overridden (true) by AdamW. */
  protected static readonly decoupledWeightDecay: boolean = false;
  readonly #state = new Map<Tensor, AdamState>();

  constructor(params: Iterable<Tensor>, options?: AdamOptions) {
    const decoupled = (new.target as typeof Adam).decoupledWeightDecay;
    const checked = checkOptions(options, decoupled ? "AdamW" : "Adam", ["lr", "betas", "eps", "weightDecay", "amsgrad"]);
    super(decoupled ? "AdamW" : "Adam", params, checked.lr ?? 1e-3);
    options = checked;
    this.decoupled = decoupled;
    const betas = options.betas ?? [0.9, 0.999];
    if (!Array.isArray(betas) || betas.length !== 2) {
      throw new ValueError(`${decoupled ? "AdamW" : "Adam"}: betas must be a pair [beta1, beta2], got ${describeValue(betas)}`);
    }
    this.beta1 = this.checkOption("betas[0]", betas[0], betas[0] >= 0 && betas[0] < 1, "in [0, 1)");
    this.beta2 = this.checkOption("betas[1]", betas[1], betas[1] >= 0 && betas[1] < 1, "in [0, 1)");
    const { eps = 1e-8, weightDecay = decoupled ? 1e-2 : 0 } = options;
    this.eps = this.checkOption("eps", eps, eps >= 0, "a finite number >= 0");
    this.weightDecay = this.checkOption("weightDecay", weightDecay, weightDecay >= 0, "a finite number >= 0");
    this.amsgrad = options.amsgrad ?? false;
  }

  step(): void {
    noGrad(() => this.#update());
  }

  #update(): void {
    const { lr, beta1: b1, beta2: b2, eps, weightDecay: wd, amsgrad, decoupled } = this;
    for (const p of this.params) {
      const grad = gradData(p);
      if (grad === null) continue;
      let s = this.#state.get(p);
      if (s === undefined) {
        s = { step: 0, m: allocate(p.dtype, p.size), v: allocate(p.dtype, p.size), vMax: amsgrad ? allocate(p.dtype, p.size) : null };
        this.#state.set(p, s);
      }
      const t = ++s.step;
      const stepSize = lr / (1 - b1 ** t);
      const bc2Sqrt = Math.sqrt(1 - b2 ** t);
      const decay = decoupled ? 1 - lr * wd : 1;
      // The update above, in place (the adamStep kernel: float64 arithmetic, one rounding per stored value).
      kernel("adamStep", p.dtype, p.size)(p.data, grad, s.m, s.v, s.vMax, {
        beta1: b1, beta2: b2, eps, weightDecay: wd, decoupled, decay, stepSize, bc2Sqrt,
      });
    }
  }

  protected override hyperparameters(): Record<string, HyperValue> {
    return { betas: [this.beta1, this.beta2], eps: this.eps, weightDecay: this.weightDecay, amsgrad: this.amsgrad };
  }

  protected override prepareHyperparameters(group: Readonly<Record<string, unknown>>, fn: string): { apply(): void; schema: StateSchema } {
    const betas = group.betas;
    if (!Array.isArray(betas) || betas.length !== 2) throw new ValueError(`${fn}: betas must be a pair [beta1, beta2], got ${describeValue(betas)}`);
    const beta1 = this.checkOption("betas[0]", betas[0], betas[0] >= 0 && betas[0] < 1, "in [0, 1)", fn);
    const beta2 = this.checkOption("betas[1]", betas[1], betas[1] >= 0 && betas[1] < 1, "in [0, 1)", fn);
    const eps = this.checkOption("eps", group.eps as number, (group.eps as number) >= 0, "a finite number >= 0", fn);
    const weightDecay = this.checkOption("weightDecay", group.weightDecay as number, (group.weightDecay as number) >= 0, "a finite number >= 0", fn);
    const amsgrad = group.amsgrad;
    if (typeof amsgrad !== "boolean") throw new ValueError(`${fn}: amsgrad must be true or false, got ${describeValue(amsgrad)}`);
    const tensors: Record<string, boolean> = amsgrad ? { expAvg: true, expAvgSq: true, maxExpAvgSq: true } : { expAvg: true, expAvgSq: true };
    return {
      apply: () => Object.assign(this, { beta1, beta2, eps, weightDecay, amsgrad }),
      schema: { tensors, counts: ["step"] },
    };
  }

  protected override paramState(p: Tensor): ParamStateStorage | undefined {
    const s = this.#state.get(p);
    if (s === undefined) return undefined;
    const out: ParamStateStorage = { step: s.step, expAvg: s.m, expAvgSq: s.v };
    if (s.vMax !== null) out.maxExpAvgSq = s.vMax;
    return out;
  }

  protected override replaceState(state: Map<Tensor, ParamStateStorage>): void {
    this.#state.clear();
    for (const [p, s] of state) {
      this.#state.set(p, { step: s.step as number, m: s.expAvg as Storage, v: s.expAvgSq as Storage, vMax: (s.maxExpAvgSq as Storage | undefined) ?? null });
    }
  }
}
