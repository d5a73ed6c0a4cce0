import { defineComposite, defineOp } from "./define-op.js";
import { Tensor } from "../tensor/tensor.js";
import { ShapeError, ValueError } from "../tensor/errors.js";
import { describeValue, normalizeAxis, shapeStr } from "../tensor/shape.js";
import { requireFloat } from "../tensor/dtype.js";
import { kernel } from "../kernels/registry.js";
import { contiguousData } from "./elementwise.js";
import { castData } from "./cast.js";
import { slice } from "./slice.js";

/**
 * concat(tensors, dim = 0): join tensors along an existing axis; all other
 * sizes must agree. float32 with float64 gives float64. A 0-d tensor has no
 * axis to join along: a ShapeError, as in PyTorch (stack joins them instead).
 * The op takes the public function's name first (concat, or stack, which is
 * built on it) so that every message names the function the user called.
 *
 * Forward: each input written into its block of the result by the scatter
 * kernel (an input of the other float type converted first, by the copy kernel).
 *
 * Backward. Each input occupies a block [offsetₖ, offsetₖ + nₖ) of the axis,
 * so its gradient is that block of g: dxₖ = slice(g, dim, offsetₖ, offsetₖ + nₖ).
 * Check: Σₖ ⟨xₖ, dxₖ⟩ = ⟨concat(x), g⟩, the blocks tiling the axis.
 *
 * Second order. Each dxₖ is a slice of g, linear in g and free of x, so every
 * second derivative is 0; the backward's own vector-Jacobian product is
 * slice's (zeros with hₖ in block k), and summed over k it is concat(h).
 */
const concatOp = defineOp({
  name: "concat",
  forward(ctx, fn: string, dim: number, ...xs: Tensor[]): Tensor {
    const first = xs[0]!;
    if (first.ndim === 0) {
      throw new ShapeError(`${fn}: tensors[0] is 0-d (shape []), which has no axis to concatenate along; use stack, or unsqueeze first`);
    }
    const ax = normalizeAxis(dim, first.ndim, "dim", fn);
    let dtype = requireFloat(first.dtype, fn, "tensors[0]");
    let total = 0;
    xs.forEach((x, k) => {
      if (requireFloat(x.dtype, fn, `tensors[${k}]`) === "float64") dtype = "float64";
      if (x.ndim !== first.ndim || x.shape.some((d, i) => i !== ax && d !== first.shape[i])) {
        throw new ShapeError(`${fn}: tensors[${k}] has shape ${shapeStr(x.shape)}, which does not match ${shapeStr(first.shape)} outside dim ${ax}`);
      }
      total += x.shape[ax]!;
    });
    const shape = [...first.shape];
    shape[ax] = total;
    const o = Tensor.empty(shape, dtype, fn);
    const starts: number[] = [];
    let at = 0;
    for (const x of xs) {
      starts.push(at);
      const src = x.dtype === dtype ? contiguousData(x) : castData(x, dtype);
      kernel("scatter", dtype, x.size)(src, { data: o.data, offset: at * o.strides[ax]!, strides: o.strides }, x.shape, false);
      at += x.shape[ax]!;
    }
    ctx.save({ ax, starts, sizes: xs.map((x) => x.shape[ax]!) });
    return o;
  },
  backward(ctx, g) {
    const { ax, starts, sizes } = ctx.saved as { ax: number; starts: number[]; sizes: number[] };
    return [null, null, ...starts.map((s, k) => (ctx.needsInputGrad[k + 2] ? slice(g, ax, s, s + sizes[k]!) : null))];
  },
});

/** The tensors argument of concat and stack: a non-empty list of tensors. */
export function checkTensorList(tensors: unknown, fn: string): readonly Tensor[] {
  if (!Array.isArray(tensors)) throw new ValueError(`${fn}: tensors must be a list of tensors, got ${describeValue(tensors)}`);
  if (tensors.length === 0) throw new ValueError(`${fn}: tensors must be a non-empty list`);
  tensors.forEach((t, k) => {
    if (!(t instanceof Tensor)) throw new ValueError(`${fn}: tensors[${k}] must be a Tensor, got ${describeValue(t)}`);
  });
  return tensors as readonly Tensor[];
}

/** concat's body for a public function `fn` (concat or stack). @internal */
export function concatAs(fn: string, tensors: readonly Tensor[], dim: number): Tensor {
  return concatOp(fn, dim, ...tensors);
}

/**
 * concat(tensors, dim = 0): join tensors along an existing axis, as torch.cat; every other
 * axis must match. The gradient of each input is its slice of the output's gradient.
 *
 * @example concat([zeros([2, 3]), ones([1, 3])], 0).shape // [3, 3]
 */
export const concat = defineComposite(
  "concat",
  (tensors: readonly Tensor[], dim = 0): Tensor => concatOp("concat", dim, ...checkTensorList(tensors, "concat")),
);
