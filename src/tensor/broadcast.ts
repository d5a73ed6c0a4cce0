import { ShapeError } from "./errors.js";
import { checkName, checkShape, shapeStr, type Shape } from "./shape.js";

/**
 * NumPy/PyTorch broadcasting: align shapes on the right; each pair of sizes
 * must be equal or one of them 1, and the result takes the larger. Exported,
 * so both shapes are checked (lists of non-negative integers, ShapeError).
 */
export function broadcastShapes(a: Shape, b: Shape, fn = "broadcastShapes"): number[] {
  // fn is the caller's own name, which heads its messages.
  checkName(fn, "broadcastShapes", "fn");
  checkShape(a, fn, "a");
  checkShape(b, fn, "b");
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = i < n - a.length ? 1 : a[i - (n - a.length)]!;
    const db = i < n - b.length ? 1 : b[i - (n - b.length)]!;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(`${fn}: cannot broadcast ${shapeStr(a)} with ${shapeStr(b)}`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Broadcast any number of shapes. */
export function broadcastAll(shapes: readonly Shape[], fn: string): number[] {
  let out: number[] = [];
  for (const s of shapes) out = broadcastShapes(out, s, fn);
  return out;
}

/**
 * Strides that read a tensor of `shape`/`strides` as if it had `target`
 * shape: broadcast axes get stride 0, missing leading axes too.
 */
export function broadcastStrides(shape: Shape, strides: readonly number[], target: Shape, fn: string): number[] {
  const n = target.length;
  const k = shape.length;
  if (k > n) throw new ShapeError(`${fn}: cannot broadcast ${shapeStr(shape)} to ${shapeStr(target)}`);
  const out = new Array<number>(n).fill(0);
  for (let i = 0; i < k; i++) {
    const d = shape[i]!;
    const t = target[n - k + i]!;
    if (d === t) out[n - k + i] = strides[i]!;
    else if (d === 1) out[n - k + i] = 0;
    else throw new ShapeError(`${fn}: cannot broadcast ${shapeStr(shape)} to ${shapeStr(target)}`);
  }
  return out;
}
