import { Tensor, checkTensor } from "../tensor/tensor.js";
import { ShapeError, ValueError } from "../tensor/errors.js";
import { checkInt, describeValue, shapeStr } from "../tensor/shape.js";
import { checkOptions } from "../tensor/options.js";
import { defaultGenerator, Generator } from "../tensor/random.js";

/** Options of `randomTranslate`: the largest shift, the image size of flattened rows, the generator. */
export interface RandomTranslateOptions {
  /** The largest shift in pixels along each axis, an integer ≥ 0 (default 2, Hinton et al.'s MNIST jitter). */
  maxShift?: number;
  /** Image height, when x holds flattened images [N, height·width]; omit for x of shape [N, H, W]. */
  height?: number;
  /** Image width, with `height`. */
  width?: number;
  /** Source of the shifts (default: the global generator, see manualSeed). */
  generator?: Generator;
}

/**
 * Jitter a batch of images: each image is translated by its own (dy, dx), drawn uniformly
 * from the integers in [−maxShift, maxShift]² (dy, then dx, image after image, from the
 * generator), and the pixels shifted in from outside the frame are 0:
 *
 *   out[n, r, c] = x[n, r − dy_n, c − dx_n]   when 0 ≤ r − dy_n < H and 0 ≤ c − dx_n < W,
 *                  0                           otherwise.
 *
 * This is the augmentation of Hinton, Vinyals and Dean's MNIST teacher ("jittered by up to
 * two pixels in any direction"); drawn afresh each time an image is drawn into a batch, no two
 * epochs see the same picture. (dy, dx) = (0, 0) returns the image unchanged; a shift moves
 * every pixel by an integer, so no value is interpolated and every output value is an input
 * value or 0. Check: (dy, dx) = (1, 0) moves row r to row r + 1 and blanks row 0.
 *
 * x is [N, H, W], or [N, height·width] with `height` and `width` given (MNIST as loaded by
 * loadIdx and flattened); any dtype. The result is a new contiguous tensor of x's shape and
 * dtype, with no graph: augmentation is data preparation, and a shift is not differentiable in
 * (dy, dx) (the gradient with respect to x would be the reverse shift; it is not recorded).
 * Non-finite pixels are moved like any other value.
 *
 * @example const xb = randomTranslate(batch.x, { height: 28, width: 28, maxShift: 2, generator });
 */
export function randomTranslate(x: Tensor, options?: RandomTranslateOptions): Tensor {
  const fn = "randomTranslate";
  checkTensor(x, fn, "x");
  const o = checkOptions(options, fn, ["maxShift", "height", "width", "generator"]);
  // At most 2³¹ − 1, so that the 2·maxShift + 1 choices fit Generator.below (≤ 2³²).
  const maxShift = checkInt(o.maxShift ?? 2, fn, "maxShift", 0, 2 ** 31 - 1);
  const generator = o.generator ?? defaultGenerator;
  if (!(generator instanceof Generator)) throw new ValueError(`${fn}: generator must be a Generator, got ${describeValue(generator)}`);
  if ((o.height === undefined) !== (o.width === undefined)) {
    throw new ValueError(`${fn}: give height and width together (for flattened images) or neither (for x of shape [N, H, W]), got height ${describeValue(o.height)} and width ${describeValue(o.width)}`);
  }
  let h: number;
  let w: number;
  if (o.height === undefined) {
    if (x.ndim !== 3) throw new ShapeError(`${fn}: x must be [N, H, W], or [N, height·width] with the height and width options, got shape ${shapeStr(x.shape)}`);
    h = x.shape[1]!;
    w = x.shape[2]!;
  } else {
    h = checkInt(o.height, fn, "height", 1);
    w = checkInt(o.width, fn, "width", 1);
    if (x.ndim !== 2 || x.shape[1] !== h * w) {
      throw new ShapeError(`${fn}: with height ${h} and width ${w}, x must be [N, ${h * w}], got shape ${shapeStr(x.shape)}`);
    }
  }
  const n = x.shape[0]!;
  const src = x.contiguous().data;
  const out = Tensor.empty(x.shape, x.dtype, fn); // zeros: the blank border
  const dst = out.data;
  const span = 2 * maxShift + 1;
  for (let i = 0; i < n; i++) {
    const dy = maxShift === 0 ? 0 : generator.below(span) - maxShift;
    const dx = maxShift === 0 ? 0 : generator.below(span) - maxShift;
    const base = i * h * w;
    // Output rows r with 0 ≤ r − dy < h, columns c with 0 ≤ c − dx < w; the rest stays 0.
    const r0 = Math.max(0, dy), r1 = Math.min(h, h + dy);
    const c0 = Math.max(0, dx), c1 = Math.min(w, w + dx);
    if (c1 <= c0) continue;
    for (let r = r0; r < r1; r++) {
      const from = base + (r - dy) * w + (c0 - dx);
      dst.set(src.subarray(from, from + (c1 - c0)), base + r * w + c0);
    }
  }
  return out;
}
