import type { Storage } from "../../tensor/dtype.js";
import type { Matrix, MatmulKernels } from "../table.js";
import { gemm } from "./gemm.js";

/** Products in TypeScript: gemm (gemm.ts) with float64 accumulation, the bias added after. */
export const matmul: MatmulKernels = {
  matmul(A: Matrix, B: Matrix, C: Storage, cOffset: number, n: number, k: number, m: number, bias?: Storage): void {
    gemm(A.data, A.offset, A.rowStride, A.colStride, B.data, B.offset, B.rowStride, B.colStride, C, cOffset, n, k, m);
    if (bias !== undefined) {
      for (let r = 0, o = cOffset; r < n; r++, o += m) for (let j = 0; j < m; j++) C[o + j] = C[o + j]! + bias[j]!;
    }
  },
  columnSums(g: Storage, rows: number, cols: number, sums: Float64Array): void {
    sums.fill(0);
    for (let r = 0, o = 0; r < rows; r++, o += cols) for (let j = 0; j < cols; j++) sums[j] = sums[j]! + g[o + j]!;
  },
};
