import type { Storage } from "../../tensor/dtype.js";
import type { CopyKernels, View } from "../table.js";
import { copyStrided } from "../../tensor/strided.js";
import { writeStrided } from "./strided.js";

/** Copies between strided views and contiguous arrays, and gathers by position. */
export const copy: CopyKernels = {
  copy(src: View, shape: readonly number[], dst: Storage): void {
    copyStrided(src.data, src.offset, shape, src.strides, dst);
  },
  scatter(src: Storage, dst: View, shape: readonly number[], accumulate: boolean): void {
    writeStrided(dst.data, dst.offset, shape, dst.strides, src, accumulate);
  },
  take(x: Storage, positions: Int32Array, y: Storage): void {
    for (let j = 0; j < positions.length; j++) y[j] = x[positions[j]!]!;
  },
  putAdd(g: Storage, positions: Int32Array, dx: Storage): void {
    for (let j = 0; j < positions.length; j++) dx[positions[j]!] += g[j]!;
  },
};
