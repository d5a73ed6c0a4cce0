import type { Storage } from "../../tensor/dtype.js";
import type { CopyKernels, Geometry, View } from "../table.js";
import { copyStrided, isRowMajor } from "../../tensor/strided.js";
import { writeStrided } from "./strided.js";

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** Copies between strided views and contiguous arrays, and gathers by position. */
export const copy: CopyKernels = {
  copy(src: View, shape: readonly number[], dst: Storage): void {
    if (isRowMajor(shape, src.strides)) {
      // A row-major run from some offset (a slice along the first axis, a batch): one block copy.
      let size = 1;
      for (const d of shape) size *= d;
      dst.set(src.data.subarray(src.offset, src.offset + size));
      return;
    }
    copyStrided(src.data, src.offset, shape, src.strides, dst);
  },

  copyInt32(src: View, shape: readonly number[], dst: Int32Array): number {
    // Through float64, which holds every value of every dtype exactly, then checked one by one:
    // an int32 store would wrap 2³¹ to −2³¹ and truncate 1.5 to 1 without a word.
    const all = new Float64Array(dst.length);
    copyStrided(src.data, src.offset, shape, src.strides, all);
    for (let i = 0; i < all.length; i++) {
      const v = all[i]!;
      if (!Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX) return i;
      dst[i] = v;
    }
    return -1;
  },

  scatter(src: Storage, dst: View, shape: readonly number[], accumulate: boolean): void {
    writeStrided(dst.data, dst.offset, shape, dst.strides, src, accumulate);
  },

  gatherPositions(index: Int32Array, shape: readonly number[], axis: number, size: number, x: Geometry, positions: Int32Array): number {
    const nd = shape.length;
    const n = positions.length;
    const along = x.strides[axis] ?? 0;
    // base = x.offset + Σ_{d ≠ axis} k_d·strides[d], kept by an odometer over the index's multi-index k.
    const k = new Array<number>(nd).fill(0);
    let base = x.offset;
    for (let j = 0; j < n; j++) {
      const i = index[j]!;
      if (i < 0 || i >= size) return j;
      positions[j] = base + i * along;
      for (let d = nd - 1; d >= 0; d--) {
        const step = d === axis ? 0 : x.strides[d]!;
        if (++k[d]! < shape[d]!) {
          base += step;
          break;
        }
        base -= step * (shape[d]! - 1);
        k[d] = 0;
      }
    }
    return -1;
  },

  take(x: Storage, positions: Int32Array, y: Storage): void {
    for (let j = 0; j < positions.length; j++) y[j] = x[positions[j]!]!;
  },

  putAdd(g: Storage, positions: Int32Array, dx: Storage): void {
    for (let j = 0; j < positions.length; j++) dx[positions[j]!] += g[j]!;
  },
};
