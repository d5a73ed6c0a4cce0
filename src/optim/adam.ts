import type { Tensor } from "../tensor/tensor.js";
import { allocate, type Storage } from "../tensor/dtype.js";
import { ValueError } from "../tensor/errors.js";
import { checkOptions } from "../tensor/options.js";
import { checkBool, checkNumber, describeValue } from "../tensor/shape.js";
import { noGrad } from "../autograd/no-grad.js";
import { kernel } from "../kernels/registry.js";
import {
  Optimizer, gradData, hyperparameters, paramState, prepareHyperparameters, replaceState,
  type HyperValue, type ParamStateStorage, type StateSchema,
} from "./optimizer.js";

/** Options of `Adam` and `AdamW`, with PyTorch's names and defaults. */
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
  declare beta1: number;
  declare readonly beta2: number;
  declare readonly eps: number;
  declare readonly weightDecay: number;
  declare readonly amsgrad: boolean;
  /** True for AdamW: decay θ ← θ − γλθ before the step instead of adding λθ to the gradient. */
  readonly decoupled: boolean;
  /** Overridden (true) by AdamW. */
  protected static readonly decoupledWeightDecay: boolean = false;
  readonly #state = new Map<Tensor, AdamState>();

  constructor(params: Iterable<Tensor>, options?: AdamOptions) {
    const decoupled = (new.target as typeof Adam).decoupledWeightDecay;
    const fn = decoupled ? "AdamW" : "Adam";
    const checked = checkOptions(options, fn, ["lr", "betas", "eps", "weightDecay", "amsgrad"]);
    super(fn, params, checked.lr ?? 1e-3);
    this.decoupled = decoupled;
    const { betas = [0.9, 0.999], eps = 1e-8, weightDecay = decoupled ? 1e-2 : 0, amsgrad = false } = checked;
    Object.assign(this, checkHyperparameters({ betas, eps, weightDecay, amsgrad }, fn));
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

  /** @internal */
  protected override [hyperparameters](): Record<string, HyperValue> {
    return { betas: [this.beta1, this.beta2], eps: this.eps, weightDecay: this.weightDecay, amsgrad: this.amsgrad };
  }

  /** @internal */
  protected override [prepareHyperparameters](group: Readonly<Record<string, unknown>>, fn: string): { apply(): void; schema: StateSchema } {
    const h = checkHyperparameters(group, fn);
    const tensors: Record<string, boolean> = { expAvg: true, expAvgSq: true };
    if (h.amsgrad) tensors.maxExpAvgSq = true;
    return { apply: () => Object.assign(this, h), schema: { tensors, counts: ["step"] } };
  }

  /** @internal */
  protected override [paramState](p: Tensor): ParamStateStorage | undefined {
    const s = this.#state.get(p);
    if (s === undefined) return undefined;
    const out: ParamStateStorage = { step: s.step, expAvg: s.m, expAvgSq: s.v };
    if (s.vMax !== null) out.maxExpAvgSq = s.vMax;
    return out;
  }

  /** @internal */
  protected override [replaceState](state: Map<Tensor, ParamStateStorage>): void {
    this.#state.clear();
    for (const [p, s] of state) {
      this.#state.set(p, { step: s.step as number, m: s.expAvg as Storage, v: s.expAvgSq as Storage, vMax: (s.maxExpAvgSq as Storage | undefined) ?? null });
    }
  }
}

/** Adam's hyperparameters, from the constructor's options (defaults filled in) or a saved group; `fn` names the public function. */
function checkHyperparameters(o: Readonly<Record<string, unknown>>, fn: string): { beta1: number; beta2: number; eps: number; weightDecay: number; amsgrad: boolean } {
  const betas = o.betas;
  if (!Array.isArray(betas) || betas.length !== 2) throw new ValueError(`${fn}: betas must be a pair [beta1, beta2], got ${describeValue(betas)}`);
  const [beta1, beta2] = betas.map((b: unknown, i) => checkNumber(b, fn, `betas[${i}]`, (v) => v >= 0 && v < 1, "in [0, 1)"));
  const eps = checkNumber(o.eps, fn, "eps", (v) => v >= 0, "a finite number >= 0");
  const weightDecay = checkNumber(o.weightDecay, fn, "weightDecay", (v) => v >= 0, "a finite number >= 0");
  return { beta1: beta1!, beta2: beta2!, eps, weightDecay, amsgrad: checkBool(o.amsgrad, fn, "amsgrad") };
}
