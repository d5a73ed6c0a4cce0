/**
 * Strided geometry at the storage level, used by Tensor itself (so it lives
 * on the ground floor, below the kernels): whether strides are row-major,
 * and the copy of a strided view into row-major order.
 */
type Num = { [i: number]: number; readonly length: number };

/** True when `strides` are the row-major strides of `shape`. */
export function isRowMajor(shape: readonly number[], strides: readonly number[]): boolean {
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== s) return false;
    s *= shape[i]!;
  }
  return true;
}

/**
 * Copy the strided view (src, offset, shape, strides) into `dst` in row-major
 * order. The last axis is the inner loop; the others advance an odometer.
 */
export function copyStrided(
  src: Num, offset: number, shape: readonly number[], strides: readonly number[], dst: Num,
): void {
  const n = shape.length;
  if (n === 0) {
    dst[0] = src[offset]!;
    return;
  }
  let size = 1;
  for (const d of shape) size *= d;
  if (size === 0) return;
  const last = shape[n - 1]!;
  const ls = strides[n - 1]!;
  const outer = size / last;
  const idx = new Array<number>(n).fill(0);
  let base = offset;
  let d = 0;
  for (let o = 0; o < outer; o++) {
    for (let i = 0, p = base; i < last; i++, p += ls) dst[d++] = src[p]!;
    for (let k = n - 2; k >= 0; k--) {
      idx[k]!++;
      base += strides[k]!;
      if (idx[k]! < shape[k]!) break;
      base -= strides[k]! * shape[k]!;
      idx[k] = 0;
    }
  }
}

