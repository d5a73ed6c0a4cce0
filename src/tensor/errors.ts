/**
 * Typed errors. Every message names the function, the argument and the
 * offending shapes or values, e.g. `add: cannot broadcast [4,10] with [4,9]`.
 */
export class KdgradError extends Error {
  constructor(message: string) {
    super(message);
    // The library's classes carry their names on their prototypes (namedError, below): a
    // minifier renames classes, so `new.target.name` alone would print `x: add: …` in a
    // minified bundle. A subclass without such a name (a user's own) gets its class name.
    if (!Object.prototype.hasOwnProperty.call(new.target.prototype, "name")) this.name = new.target.name;
  }
}

/**
 * Spell out an error class's name on its prototype, so that `e.name`, `String(e)` and the
 * stack read "ShapeError: …" in every bundle, minified or not.
 */
export function namedError(cls: abstract new (...args: never[]) => Error, name: string): void {
  Object.defineProperty(cls.prototype, "name", { value: name, writable: true, enumerable: false, configurable: true });
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

namedError(KdgradError, "KdgradError");
namedError(ShapeError, "ShapeError");
namedError(DTypeError, "DTypeError");
namedError(ValueError, "ValueError");
namedError(IndexError, "IndexError");
namedError(AutogradError, "AutogradError");
namedError(FormatError, "FormatError");
namedError(FileError, "FileError");
