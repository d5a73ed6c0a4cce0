/**
 * Typed errors. Every message names the function, the argument and the
 * offending shapes or values, e.g. `add: cannot broadcast [4,10] with [4,9]`.
 */
export class KdgradError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Shapes that do not fit together (broadcasting, matmul, reshape, …). */
export class ShapeError extends KdgradError {}

/** A dtype an op cannot take, or a mix of dtypes with no promotion. */
export class DTypeError extends KdgradError {}

/** An argument whose value is outside what the function accepts (T ≤ 0, alpha ∉ [0,1], …). */
export class ValueError extends KdgradError {}

/** An index or class label out of range. */
export class IndexError extends KdgradError {}

/** Misuse of the autograd graph (backward twice, backward of a non-scalar, …). */
export class AutogradError extends KdgradError {}

/** Bytes that are not a valid file of the expected format (safetensors, .npy, a data set). */
export class FormatError extends KdgradError {}

/** A file that cannot be read or written (missing, unreadable, no such directory). */
export class FileError extends KdgradError {}
