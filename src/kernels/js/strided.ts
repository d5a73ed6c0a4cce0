/**
 * Plain loops over typed arrays that walk strided (possibly broadcast) views.
 * No tensors here: sizes, strides and offsets only, so the loops can be
 * benchmarked alone and later swapped for WebAssembly.
 */
import { isRowMajor } from "../../tensor/strided.js";

type Num = { [i: number]: number; readonly length: number };

/** out[i] = f(x[i]) over contiguous arrays of equal length. */
export function mapUnary(x: Num, out: Num, f: (v: number) => number): void {
  const n = out.length;
  for (let i = 0; i < n; i++) out[i] = f(x[i]!);
}

/**
 * out = f(a, b) where a and b are read through broadcast strides of the
 * output `shape`, and `out` is contiguous. Fast paths for the two common
 * layouts: both row-major (same shape) and b a single value.
 */
export function mapBinary(
  a: Num, aOff: number, aStr: readonly number[],
  b: Num, bOff: number, bStr: readonly number[],
  shape: readonly number[], out: Num, f: (x: number, y: number) => number,
): void {
  const n = shape.length;
  const size = out.length;
  if (size === 0) return;
  if (isRowMajor(shape, aStr) && isRowMajor(shape, bStr)) {
    for (let i = 0; i < size; i++) out[i] = f(a[aOff + i]!, b[bOff + i]!);
    return;
  }
  if (isRowMajor(shape, aStr) && bStr.every((s) => s === 0)) {
    const bv = b[bOff]!;
    for (let i = 0; i < size; i++) out[i] = f(a[aOff + i]!, bv);
    return;
  }
  if (n === 0) {
    out[0] = f(a[aOff]!, b[bOff]!);
    return;
  }
  const last = shape[n - 1]!;
  const la = aStr[n - 1]!;
  const lb = bStr[n - 1]!;
  const outer = size / last;
  const idx = new Array<number>(n).fill(0);
  let pa = aOff;
  let pb = bOff;
  let d = 0;
  for (let o = 0; o < outer; o++) {
    for (let i = 0, ia = pa, ib = pb; i < last; i++, ia += la, ib += lb) out[d++] = f(a[ia]!, b[ib]!);
    for (let k = n - 2; k >= 0; k--) {
      idx[k]!++;
      pa += aStr[k]!;
      pb += bStr[k]!;
      if (idx[k]! < shape[k]!) break;
      pa -= aStr[k]! * shape[k]!;
      pb -= bStr[k]! * shape[k]!;
      idx[k] = 0;
    }
  }
}

/**
 * Write the contiguous `src` into the strided view (dst, offset, shape,
 * strides), in row-major order of the view; `accumulate` adds instead.
 */
export function writeStrided(
  dst: Num, offset: number, shape: readonly number[], strides: readonly number[], src: Num, accumulate = false,
): void {
  const n = shape.length;
  if (n === 0) {
    dst[offset] = accumulate ? dst[offset]! + src[0]! : src[0]!;
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
  let s = 0;
  for (let o = 0; o < outer; o++) {
    if (accumulate) for (let i = 0, p = base; i < last; i++, p += ls) dst[p] = dst[p]! + src[s++]!;
    else for (let i = 0, p = base; i < last; i++, p += ls) dst[p] = src[s++]!;
    for (let k = n - 2; k >= 0; k--) {
      idx[k]!++;
      base += strides[k]!;
      if (idx[k]! < shape[k]!) break;
      base -= strides[k]! * shape[k]!;
      idx[k] = 0;
    }
  }
}

/** The four arithmetic operations `arithmetic` has loops for. */
export type Arith = "add" | "sub" | "mul" | "div";

/**
 * out = a ∘ b for ∘ one of + − × ÷, with a loop per operation (no function
 * call per element, unlike mapBinary), for the layouts training uses most:
 * both operands row-major over the output, or b a row-major block repeated
 * along the leading axes (a bias [m] added to [n, m]), or b a single value.
 * Returns false for any other layout (the caller then uses mapBinary).
 */
export function arithmetic(
  op: Arith, a: Num, aOff: number, aStr: readonly number[], b: Num, bOff: number, bStr: readonly number[],
  shape: readonly number[], out: Num,
): boolean {
  if (!isRowMajor(shape, aStr)) return false;
  const size = out.length;
  let period: number;
  if (isRowMajor(shape, bStr)) period = size;
  else if (bStr.every((s) => s === 0)) period = 1;
  else {
    // b row-major over a trailing block of axes and 0 on the leading ones.
    let k = shape.length;
    while (k > 0 && bStr[k - 1] !== 0) k--;
    if (bStr.slice(0, k).some((s) => s !== 0) || !isRowMajor(shape.slice(k), bStr.slice(k))) return false;
    period = 1;
    for (let i = k; i < shape.length; i++) period *= shape[i]!;
  }
  if (period === 0 || size === 0) return true;
  for (let base = 0; base < size; base += period) {
    const pa = aOff + base;
    switch (op) {
      case "add":
        for (let i = 0; i < period; i++) out[base + i] = a[pa + i]! + b[bOff + i]!;
        break;
      case "sub":
        for (let i = 0; i < period; i++) out[base + i] = a[pa + i]! - b[bOff + i]!;
        break;
      case "mul":
        for (let i = 0; i < period; i++) out[base + i] = a[pa + i]! * b[bOff + i]!;
        break;
      case "div":
        for (let i = 0; i < period; i++) out[base + i] = a[pa + i]! / b[bOff + i]!;
        break;
    }
  }
  return true;
}

/**
 * Walk `shape` in row-major order with three strided views (their
 * positions advance together, an odometer over the outer axes), calling
 * `visit(i, pa, pb, pc)` with the flat output index and the three positions.
 */
export function walk3(
  a: { offset: number; strides: readonly number[] }, b: { offset: number; strides: readonly number[] },
  c: { offset: number; strides: readonly number[] }, shape: readonly number[],
  visit: (i: number, pa: number, pb: number, pc: number) => void,
): void {
  const n = shape.length;
  let size = 1;
  for (const d of shape) size *= d;
  if (size === 0) return;
  if (n === 0) {
    visit(0, a.offset, b.offset, c.offset);
    return;
  }
  const last = shape[n - 1]!;
  const [la, lb, lc] = [a.strides[n - 1]!, b.strides[n - 1]!, c.strides[n - 1]!];
  const idx = new Array<number>(n).fill(0);
  let pa = a.offset;
  let pb = b.offset;
  let pc = c.offset;
  let i = 0;
  for (let o = 0; o < size / last; o++) {
    for (let j = 0, qa = pa, qb = pb, qc = pc; j < last; j++, qa += la, qb += lb, qc += lc) visit(i++, qa, qb, qc);
    for (let k = n - 2; k >= 0; k--) {
      idx[k]!++;
      pa += a.strides[k]!;
      pb += b.strides[k]!;
      pc += c.strides[k]!;
      if (idx[k]! < shape[k]!) break;
      pa -= a.strides[k]! * shape[k]!;
      pb -= b.strides[k]! * shape[k]!;
      pc -= c.strides[k]! * shape[k]!;
      idx[k] = 0;
    }
  }
}
