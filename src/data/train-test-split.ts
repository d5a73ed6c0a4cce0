import { Tensor, checkTensor } from "../tensor/tensor.js";
import { checkOptions } from "../tensor/options.js";
import { ShapeError, ValueError } from "../tensor/errors.js";
import { checkBool, describeValue, shapeStr } from "../tensor/shape.js";
import { arange, randperm } from "../tensor/creation.js";
import { Generator } from "../tensor/random.js";
import { selectRows } from "./select-rows.js";

/** Options of `trainTestSplit`: the test (or train) size as a count or a fraction, whether to shuffle, and the generator. */
export interface TrainTestSplitOptions {
  /**
   * The test set's size: a fraction in (0, 1) of the rows (rounded up), or a whole number
   * of rows ≥ 1. Default: the rows trainSize leaves, or 0.25 when trainSize is absent too.
   */
  testSize?: number;
  /** The train set's size: a fraction in (0, 1) (rounded down) or a count ≥ 1. Default: the rest. */
  trainSize?: number;
  /** Shuffle the rows before splitting (default true); false keeps their order, train first. */
  shuffle?: boolean;
  /** The source of the shuffle (default: the global generator, see manualSeed). */
  generator?: Generator;
}

/**
 * Split tensors that share their first axis (the rows: examples) into a train and a test
 * part, as scikit-learn's `train_test_split`, and return them in its order:
 * `[aTrain, aTest, bTrain, bTest, …]` (one pair per tensor, so `[x, y]` gives
 * `[xTrain, xTest, yTrain, yTest]`). Every tensor is split by the same rows.
 *
 * Sizes follow scikit-learn's rules: a fraction f of n rows is ⌈f·n⌉ rows for the test set and
 * ⌊f·n⌋ for the train set; a whole number is a count; an absent size is the complement of the
 * other, and with both absent the test set is a quarter (⌈0.25·n⌉). (A number in (0, 1) is a
 * fraction and a whole number ≥ 1 a count: JavaScript has no separate 1.0.) Both parts must be
 * non-empty and fit in n rows together; otherwise a ValueError names n and both sizes.
 *
 * With shuffle (the default) the rows are permuted by `randperm(n, { generator })` and the
 * test set is the first nTest rows of the permutation, the train set the next nTrain; without
 * it the train set is rows 0…nTrain − 1 and the test set the nTest rows after them. The parts
 * are new contiguous tensors (selectRows: a gather, so a tensor that requires grad passes its
 * gradient back to the rows). For PyTorch's `random_split` into more parts, use
 * `randperm` and `selectRows` directly.
 *
 * @example const [xTrain, xTest, yTrain, yTest] = trainTestSplit([x, y], { testSize: 0.2, generator: new Generator(0) });
 */
export function trainTestSplit(tensors: Tensor | readonly Tensor[], options?: TrainTestSplitOptions): Tensor[] {
  const fn = "trainTestSplit";
  const list = tensors instanceof Tensor ? [tensors] : tensors;
  if (!Array.isArray(list) || list.length === 0) {
    throw new ValueError(`${fn}: tensors must be a Tensor or a non-empty list of tensors, got ${describeValue(tensors)}`);
  }
  list.forEach((t, i) => {
    checkTensor(t, fn, `tensors[${i}]`);
    if (t.ndim === 0) throw new ShapeError(`${fn}: tensors[${i}] is 0-d (shape []); it needs a first axis of rows to split`);
  });
  const n = list[0]!.shape[0]!;
  list.forEach((t, i) => {
    if (t.shape[0] !== n) {
      throw new ShapeError(`${fn}: tensors[${i}] has shape ${shapeStr(t.shape)} but tensors[0] has shape ${shapeStr(list[0]!.shape)}; their first axes (the rows) must match`);
    }
  });
  const { shuffle = true, generator, testSize: test, trainSize: train } = checkOptions(options, fn, ["testSize", "trainSize", "shuffle", "generator"]);
  checkBool(shuffle, fn, "shuffle");
  if (generator !== undefined && !(generator instanceof Generator)) throw new ValueError(`${fn}: generator must be a Generator, got ${describeValue(generator)}`);
  const testSize = checkSize(test, "testSize", n, fn);
  const trainSize = checkSize(train, "trainSize", n, fn);
  const nTest = testSize === undefined ? (trainSize === undefined ? Math.ceil(0.25 * n) : n - count(trainSize, n, "floor")) : count(testSize, n, "ceil");
  const nTrain = trainSize === undefined ? n - nTest : count(trainSize, n, "floor");
  if (nTrain + nTest > n || nTrain <= 0 || nTest <= 0) {
    const sizes = `testSize ${describeValue(test)} and trainSize ${describeValue(train)}`;
    throw new ValueError(`${fn}: with ${n} rows, ${sizes} give ${nTrain} train and ${nTest} test rows; both parts must be non-empty and together at most ${n}`);
  }
  let trainRows: Int32Array, testRows: Int32Array;
  if (shuffle) {
    const order = randperm(n, { generator }).data as Int32Array;
    testRows = order.subarray(0, nTest);
    trainRows = order.subarray(nTest, nTest + nTrain);
  } else {
    trainRows = arange(0, nTrain, 1, { dtype: "int32" }).data as Int32Array;
    testRows = arange(nTrain, nTrain + nTest, 1, { dtype: "int32" }).data as Int32Array;
  }
  return list.flatMap((t) => [selectRows(t, trainRows), selectRows(t, testRows)]);
}

/** A size option: absent, a fraction in (0, 1), or a whole number of rows in [1, n). */
function checkSize(v: number | undefined, arg: string, n: number, fn: string): number | undefined {
  if (v === undefined) return undefined;
  const fraction = typeof v === "number" && v > 0 && v < 1;
  const rows = typeof v === "number" && Number.isInteger(v) && v >= 1 && v < n;
  if (!fraction && !rows) {
    throw new ValueError(`${fn}: ${arg} must be a fraction in (0, 1) or a whole number of rows in [1, ${n - 1}] (the data has ${n} rows), got ${describeValue(v)}`);
  }
  return v;
}

/** Rows of a size: a count as given, a fraction of n rounded as scikit-learn does. */
function count(v: number, n: number, round: "ceil" | "floor"): number {
  return v >= 1 ? v : Math[round](v * n);
}
