import { Tensor } from "../tensor/tensor.js";
import { IndexError, ShapeError, ValueError } from "../tensor/errors.js";
import { describeValue, shapeStr } from "../tensor/shape.js";
import { isGradEnabled } from "../autograd/no-grad.js";
import { gather } from "../ops/gather.js";

/**
 * The rows t[indices[0]], t[indices[1]], … stacked into a new contiguous
 * tensor of shape [indices.length, ...t.shape.slice(1)] (torch.index_select
 * along dim 0). Indices may repeat and come in any order; each must be an
 * integer in [0, t.shape[0]) (IndexError otherwise).
 *
 * For data (no gradient wanted) it is a plain copy. When t requires grad it
 * goes through `gather` instead, so the gradient scatters back to the
 * selected rows.
 *
 * @example selectRows(x, [4, 0, 4]) // rows 4, 0 and 4 of x
 */
export function selectRows(t: Tensor, indices: ArrayLike<number>): Tensor {
  if (!(t instanceof Tensor)) throw new ValueError(`selectRows: t must be a Tensor, got ${describeValue(t)}`);
  if (!Array.isArray(indices) && !ArrayBuffer.isView(indices)) {
    throw new ValueError(`selectRows: indices must be a list of row indices, got ${describeValue(indices)}`);
  }
  if (t.ndim === 0) throw new ShapeError(`selectRows: input must have at least one dimension, got shape ${shapeStr(t.shape)}`);
  const n = t.shape[0]!;
  const k = indices.length;
  for (let i = 0; i < k; i++) {
    const r = indices[i]!;
    if (typeof r !== "number" || !Number.isInteger(r) || r < 0 || r >= n) {
      throw new IndexError(`selectRows: index ${describeValue(r)} at position ${i} is out of range for ${n} rows`);
    }
  }
  const rest = t.shape.slice(1);
  const rowSize = rest.reduce((a, b) => a * b, 1);
  if (t.requiresGrad && isGradEnabled()) {
    const index = Tensor.empty([k, ...rest], "int32", "selectRows");
    for (let i = 0; i < k; i++) index.data.fill(indices[i]!, i * rowSize, (i + 1) * rowSize);
    return gather(t, 0, index);
  }
  const src = t.contiguous().data;
  const out = Tensor.empty([k, ...rest], t.dtype, "selectRows");
  for (let i = 0; i < k; i++) {
    const r = indices[i]!;
    out.data.set(src.subarray(r * rowSize, (r + 1) * rowSize), i * rowSize);
  }
  return out;
}
