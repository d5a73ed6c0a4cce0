import { Tensor } from "../tensor/tensor.js";
import { FormatError } from "../tensor/errors.js";
import { describeValue } from "../tensor/shape.js";

/** The digits data set's size: 1797 images of 8×8 pixels. */
export const DIGITS_SAMPLES = 1797;
export const DIGITS_FEATURES = 64;

/** One split of the digits data set. */
export interface DigitsSplit {
  /** [n, 64] float32: pixel values 0..16 divided by 16, so in [0, 1]; row i is image indices[i]. */
  x: Tensor;
  /** [n] int32: the digit 0..9. */
  y: Tensor;
  /** Which of the 1797 samples, in order (the lists of split.json). */
  indices: number[];
}

export interface Digits {
  /** 1347 samples. */
  train: DigitsSplit;
  /** 450 samples, disjoint from train. */
  test: DigitsSplit;
  /** A fixed stratified 135-sample subset of train. */
  train_10pct: DigitsSplit;
}

/** The raw files of data/digits: digits_x.u8, digits_y.u8 and the parsed split.json. */
export interface DigitsBytes {
  x: Uint8Array;
  y: Uint8Array;
  split: unknown;
}

/**
 * Build the digits splits (data/digits/README.md) from the bytes of its
 * files, with no file access. Byte 64·i + 8·r + c of `x` is pixel (r, c) of
 * sample i, in 0..16; byte i of `y` is its label, in 0..9. `split` is the
 * parsed split.json, whose train, test and train_10pct lists give sample
 * indices. Checks, each a FormatError: the sizes (1797·64 and 1797 bytes),
 * pixel and label ranges, and that the index lists are integers in range,
 * without repeats, train and test disjoint and covering all samples,
 * train_10pct inside train.
 *
 * @example const { train, test } = digitsFromBytes({ x, y, split: JSON.parse(text) });
 */
export function digitsFromBytes(bytes: DigitsBytes): Digits {
  return digitsAs(bytes, "digitsFromBytes");
}

/** digitsFromBytes's body; `fn` is the public function the user called (digitsFromBytes, or kdgrad/node's loadDigits). */
export function digitsAs(bytes: DigitsBytes, fn: string): Digits {
  if (bytes === null || typeof bytes !== "object") {
    throw new FormatError(`${fn}: bytes must be an object { x, y, split } holding the files of data/digits, got ${describeValue(bytes)}`);
  }
  const { x, y, split } = bytes;
  if (!(x instanceof Uint8Array) || x.length !== DIGITS_SAMPLES * DIGITS_FEATURES) {
    throw new FormatError(`${fn}: x must be ${DIGITS_SAMPLES * DIGITS_FEATURES} bytes (1797 × 64 pixels), got ${x instanceof Uint8Array ? x.length : typeof x}`);
  }
  if (!(y instanceof Uint8Array) || y.length !== DIGITS_SAMPLES) {
    throw new FormatError(`${fn}: y must be ${DIGITS_SAMPLES} bytes (one label per sample), got ${y instanceof Uint8Array ? y.length : typeof y}`);
  }
  for (let i = 0; i < x.length; i++) {
    if (x[i]! > 16) throw new FormatError(`${fn}: pixel ${i % 64} of sample ${Math.floor(i / 64)} is ${x[i]}, outside 0..16`);
  }
  for (let i = 0; i < y.length; i++) {
    if (y[i]! > 9) throw new FormatError(`${fn}: label of sample ${i} is ${y[i]}, outside 0..9`);
  }
  if (split === null || typeof split !== "object") throw new FormatError(`${fn}: split must be the parsed split.json object`);
  const lists = split as Record<string, unknown>;
  const read = (key: string): number[] => {
    const list = lists[key];
    if (!Array.isArray(list)) throw new FormatError(`${fn}: split.${key} must be a list of sample indices`);
    const seen = new Set<number>();
    for (const [pos, v] of list.entries()) {
      if (!Number.isInteger(v) || v < 0 || v >= DIGITS_SAMPLES) {
        throw new FormatError(`${fn}: split.${key}[${pos}] is ${describeValue(v)}, not a sample index in [0, ${DIGITS_SAMPLES})`);
      }
      if (seen.has(v)) throw new FormatError(`${fn}: split.${key} lists sample ${v} twice`);
      seen.add(v);
    }
    return list as number[];
  };
  const train = read("train");
  const test = read("test");
  const small = read("train_10pct");
  const trainSet = new Set(train);
  const shared = test.find((i) => trainSet.has(i));
  if (shared !== undefined) throw new FormatError(`${fn}: sample ${shared} is in both split.train and split.test`);
  if (train.length + test.length !== DIGITS_SAMPLES) {
    throw new FormatError(`${fn}: split.train (${train.length}) and split.test (${test.length}) must together cover all ${DIGITS_SAMPLES} samples`);
  }
  const outside = small.find((i) => !trainSet.has(i));
  if (outside !== undefined) throw new FormatError(`${fn}: split.train_10pct holds sample ${outside}, which is not in split.train`);
  const make = (indices: number[]): DigitsSplit => {
    const n = indices.length;
    const xs = Tensor.empty([n, DIGITS_FEATURES], "float32");
    const ys = Tensor.empty([n], "int32");
    for (let r = 0; r < n; r++) {
      const s = indices[r]!;
      for (let c = 0; c < DIGITS_FEATURES; c++) xs.data[r * DIGITS_FEATURES + c] = x[s * DIGITS_FEATURES + c]! / 16;
      ys.data[r] = y[s]!;
    }
    return { x: xs, y: ys, indices: [...indices] };
  };
  return { train: make(train), test: make(test), train_10pct: make(small) };
}
