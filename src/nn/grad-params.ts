import { Tensor } from "../tensor/tensor.js";
import { ValueError } from "../tensor/errors.js";
import { describeValue } from "../tensor/shape.js";

/** The parameters clipGradNorm and clipGradValue take: one tensor or an iterable of them. */
export type GradParams = Tensor | Iterable<Tensor>;

/** The tensors of `params` as a list, each checked to be a Tensor (ValueError naming fn). */
export function paramList(params: GradParams, fn: string): Tensor[] {
  if (params instanceof Tensor) return [params];
  if (params == null || typeof (params as Iterable<Tensor>)[Symbol.iterator] !== "function") {
    throw new ValueError(`${fn}: parameters must be a Tensor or an iterable of tensors (e.g. model.parameters()), got ${describeValue(params)}`);
  }
  const list = [...params];
  list.forEach((p, i) => {
    if (!(p instanceof Tensor)) throw new ValueError(`${fn}: parameters[${i}] must be a Tensor, got ${describeValue(p)}`);
  });
  return list;
}
