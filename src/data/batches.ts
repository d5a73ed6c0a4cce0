import { Tensor } from "../tensor/tensor.js";
import { checkOptions } from "../tensor/options.js";
import { ShapeError, ValueError } from "../tensor/errors.js";
import { checkInt, describeValue, shapeStr } from "../tensor/shape.js";
import { defaultGenerator, Generator } from "../tensor/random.js";
import { selectRows } from "./select-rows.js";

export interface BatchOptions {
  /** Rows per batch (a positive integer). */
  batchSize: number;
  /** Visit the rows in a fresh random order each epoch (default true); else in order. */
  shuffle?: boolean;
  /** The source of the shuffles (default: the global generator, see manualSeed). */
  generator?: Generator;
  /** Leave out the last batch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
}

export interface Batch {
  /** The rows x[indices] (a copy). */
  x: Tensor;
  /** The rows y[indices]. */
  y: Tensor;
  /** Which rows of x and y this batch holds. */
  indices: number[];
}

/** An epoch's worth of mini-batches: each iteration is a new epoch with a new shuffle. */
export interface Batches extends Iterable<Batch> {
  /** The number of batches in an epoch. */
  readonly length: number;
}

/**
 * Mini-batches of matching rows of x and y, like torch.utils.data.DataLoader
 * over a TensorDataset. Every time the result is iterated (once per epoch)
 * the row order is drawn afresh by a Fisher–Yates shuffle using
 * `generator.below`, so the epochs differ from one another, yet a fixed seed
 * gives the same sequence of epochs. Each row appears in exactly one batch
 * per epoch; the last batch holds the remaining n mod batchSize rows
 * unless dropLast.
 *
 * @example
 * const loader = batches(xTrain, yTrain, { batchSize: 64, generator: new Generator(0) });
 * for (let epoch = 0; epoch < 10; epoch++) for (const { x, y } of loader) { ... }
 */
export function batches(x: Tensor, y: Tensor, options: BatchOptions): Batches {
  const fn = "batches";
  if (!(x instanceof Tensor) || !(y instanceof Tensor)) {
    throw new ValueError(`${fn}: x and y must be Tensors, got ${describeValue(x)} and ${describeValue(y)}`);
  }
  if (x.ndim === 0 || y.ndim === 0) throw new ShapeError(`${fn}: x and y need a leading (example) axis, got shapes ${shapeStr(x.shape)} and ${shapeStr(y.shape)}`);
  if (x.shape[0] !== y.shape[0]) {
    throw new ShapeError(`${fn}: x has ${x.shape[0]} rows (shape ${shapeStr(x.shape)}) but y has ${y.shape[0]} (shape ${shapeStr(y.shape)})`);
  }
  if (options === undefined) throw new ValueError(`${fn}: options must be an object with a batchSize, got undefined`);
  const { batchSize, shuffle = true, generator = defaultGenerator, dropLast = false } = checkOptions(options, fn, ["batchSize", "shuffle", "generator", "dropLast"]);
  checkInt(batchSize, fn, "batchSize", 1);
  if (typeof shuffle !== "boolean") throw new ValueError(`${fn}: shuffle must be true or false, got ${describeValue(shuffle)}`);
  if (typeof dropLast !== "boolean") throw new ValueError(`${fn}: dropLast must be true or false, got ${describeValue(dropLast)}`);
  if (!(generator instanceof Generator)) throw new ValueError(`${fn}: generator must be a Generator, got ${describeValue(generator)}`);
  const n = x.shape[0]!;
  const length = dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
  return {
    length,
    *[Symbol.iterator](): IterableIterator<Batch> {
      const order = Array.from({ length: n }, (_, i) => i);
      if (shuffle) {
        // Fisher–Yates: position i takes a uniform pick among positions 0..i.
        for (let i = n - 1; i > 0; i--) {
          const j = generator.below(i + 1);
          const t = order[i]!;
          order[i] = order[j]!;
          order[j] = t;
        }
      }
      for (let b = 0; b < length; b++) {
        const indices = order.slice(b * batchSize, Math.min(n, (b + 1) * batchSize));
        yield { x: selectRows(x, indices), y: selectRows(y, indices), indices };
      }
    },
  };
}
