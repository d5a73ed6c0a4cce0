type Num = { [i: number]: number; readonly length: number };

/**
 * C[n×m] += A[n×k] · B[k×m], all row-major and contiguous from the given
 * offsets. Loop order i-p-j: for each row i of C and each p, the row p of B
 * is read contiguously and added, scaled by A[i,p], into row i of C. Every
 * inner access is unit-stride (the naive i-j-p order walks B by columns).
 */
export function gemm(
  A: Num, aOff: number, B: Num, bOff: number, C: Num, cOff: number,
  n: number, k: number, m: number,
): void {
  for (let i = 0; i < n; i++) {
    const cRow = cOff + i * m;
    const aRow = aOff + i * k;
    for (let p = 0; p < k; p++) {
      const a = A[aRow + p]!;
      const bRow = bOff + p * m;
      for (let j = 0; j < m; j++) C[cRow + j] = C[cRow + j]! + a * B[bRow + j]!;
    }
  }
}
