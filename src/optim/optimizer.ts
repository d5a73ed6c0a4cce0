import { Tensor } from "../tensor/tensor.js";
import { allocate, type Storage } from "../tensor/dtype.js";
import { ValueError } from "../tensor/errors.js";
import { shapeStr } from "../tensor/shape.js";
import { kernel } from "../kernels/registry.js";
import { Module, emptyParametersCause, moduleName } from "../nn/module.js";

/**
 * The base of SGD, Adam and AdamW, like torch.optim.Optimizer with a single
 * parameter group. It holds the parameters, a learning rate `lr` (public,
 * so a schedule may change it between steps) and per-parameter state.
 *
 * Parameters must be distinct contiguous float leaves with requiresGrad set
 * (what Module.parameters() returns): step() writes their `data` in place,
 * under noGrad and without recording anything, and skips a parameter whose
 * `grad` is null.
 */
export abstract class Optimizer {
  readonly params: readonly Tensor[];
  /** The learning rate γ. */
  lr: number;
  readonly #name: string;

  protected constructor(name: string, params: Iterable<Tensor>, lr: number) {
    this.#name = name;
    if (params instanceof Module) throw new ValueError(`${name}: params must be an iterable of tensors, got a module (${moduleName(params)}); pass model.parameters()`);
    const list = params == null || typeof (params as Iterable<Tensor>)[Symbol.iterator] !== "function" ? null : [...params];
    if (list === null) throw new ValueError(`${name}: params must be an iterable of tensors (e.g. model.parameters())`);
    if (list.length === 0) throw new ValueError(emptyMessage(name, params));
    const seen = new Set<Tensor>();
    list.forEach((p, i) => {
      if (!(p instanceof Tensor)) throw new ValueError(`${name}: params[${i}] is not a Tensor`);
      if (seen.has(p)) throw new ValueError(`${name}: params[${i}] appears more than once`);
      seen.add(p);
      if (!p.isLeaf || !p.requiresGrad) {
        throw new ValueError(`${name}: params[${i}] (shape ${shapeStr(p.shape)}) must be a leaf tensor with requiresGrad set`);
      }
      if (p.offset !== 0 || p.data.length !== p.size || !p.isContiguous()) {
        throw new ValueError(`${name}: params[${i}] (shape ${shapeStr(p.shape)}) must own contiguous storage, not be a view`);
      }
    });
    this.params = Object.freeze(list);
    this.lr = this.checkOption("lr", lr, lr >= 0, "a finite number >= 0");
  }

  /** Validate a numeric option: a finite number satisfying `ok`, else a ValueError naming optimizer, option and value. */
  protected checkOption(option: string, value: number, ok: boolean, expected: string): number {
    if (typeof value !== "number" || !Number.isFinite(value) || !ok) {
      throw new ValueError(`${this.#name}: ${option} must be ${expected}, got ${value}`);
    }
    return value;
  }

  /** One update of every parameter that has a gradient. */
  abstract step(): void;

  /** Set every parameter's gradient to null (PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const p of this.params) p.grad = null;
  }
}

/**
 * The refusal of an empty parameter list, naming the likely cause. An empty list from
 * Module.parameters() almost always means layers were assigned to fields without being
 * registered (kdgrad does not scan fields: src/nn/module.ts), so the message names those
 * fields and the fix.
 */
function emptyMessage(name: string, params: unknown): string {
  const cause = emptyParametersCause(params);
  if (cause === null) return `${name}: params is an empty list; an optimizer needs at least one parameter (e.g. model.parameters())`;
  const { module, fields } = cause;
  const fix = "kdgrad lists only what a constructor registers (nothing scans fields), so write "
    + "this.fc = this.registerModule(\"fc\", new Linear(…)) for a layer and this.registerParameter(name, t) for a tensor";
  if (fields.length === 0) return `${name}: params is an empty list: ${module}.parameters() found no parameters (the model registers none; ${fix})`;
  const shown = fields.slice(0, 8).join(", ") + (fields.length > 8 ? `, … (${fields.length} in all)` : "");
  return `${name}: params is an empty list: ${module}.parameters() found no parameters, but its field(s) ${shown} hold layers or tensors that were never registered; ${fix}`;
}

/**
 * The elements of a gradient in row-major order and the parameter's dtype: its own
 * storage when it is already laid out so, else a copy (the copy kernel, converting).
 */
export function gradData(p: Tensor): Storage | null {
  const g = p.grad;
  if (g === null) return null;
  if (g.offset === 0 && g.data.length === g.size && g.isContiguous() && g.dtype === p.dtype) return g.data;
  const out = allocate(p.dtype, p.size);
  kernel("copy", p.dtype, p.size)({ data: g.data, offset: g.offset, strides: g.strides }, g.shape, out);
  return out;
}
