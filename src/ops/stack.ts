import { defineComposite } from "./define-op.js";
import type { Tensor } from "../tensor/tensor.js";
import { ShapeError } from "../tensor/errors.js";
import { normalizeAxis, sameShape, shapeStr } from "../tensor/shape.js";
import { checkTensorList, concatAs } from "./concat.js";
import { unsqueeze } from "./unsqueeze.js";

/**
 * stack(tensors, dim = 0): join equal-shaped tensors along a new axis.
 * Built as concat of unsqueezed inputs, so its gradient is theirs: input k
 * receives the k-th slice of g along `dim`, and every order of derivative
 * follows from concat's, unsqueeze's and slice's rules (all linear: the
 * second derivatives are 0).
 */
export const stack = defineComposite(
  "stack",
  (tensors: readonly Tensor[], dim = 0): Tensor => {
    checkTensorList(tensors, "stack");
    const first = tensors[0]!;
    tensors.forEach((t, k) => {
      if (!sameShape(t.shape, first.shape)) {
        throw new ShapeError(`stack: tensors[${k}] has shape ${shapeStr(t.shape)} but tensors[0] has shape ${shapeStr(first.shape)}`);
      }
    });
    const d = normalizeAxis(dim, first.ndim + 1, "dim", "stack");
    return concatAs("stack", tensors.map((t) => unsqueeze(t, d)), d);
  },
);
