type Num = { [i: number]: number; readonly length: number };

/**
 * C[n×m] = A[n×k] · B[k×m]. A and B are read through row and column strides
 * (so a transposed view needs no copy); C is written contiguous from cOff.
 * Sums are accumulated in float64 whatever the storage type.
 *
 * Two loop orders, both with unit-stride inner loops (the naive i-j-p order
 * walks B down its columns, one cache line per multiply-add):
 * - B's rows contiguous (csB = 1): i-p-j. Row i of C is built as Σₚ A[i,p]·B[p,:],
 *   adding a contiguous row of B scaled by one number. Four rows of C are
 *   built together so each loaded element of B feeds four multiply-adds.
 * - B transposed (rsB = 1) and A's rows contiguous: each C[i,j] is the dot
 *   product of row i of A with row j of Bᵀ, both contiguous.
 * Anything else is first copied into contiguous rows.
 */
export function gemm(
  A: Num, aOff: number, rsA: number, csA: number,
  B: Num, bOff: number, rsB: number, csB: number,
  C: Num, cOff: number, n: number, k: number, m: number,
  scratch: Float64Array = new Float64Array(4 * m),
): void {
  if (csB !== 1 && rsB === 1 && csA === 1) return gemmDot(A, aOff, rsA, B, bOff, csB, C, cOff, n, k, m);
  if (csB !== 1) {
    const Bc = new Float64Array(k * m);
    for (let p = 0; p < k; p++) for (let j = 0; j < m; j++) Bc[p * m + j] = B[bOff + p * rsB + j * csB]!;
    return gemm(A, aOff, rsA, csA, Bc, 0, m, 1, C, cOff, n, k, m, scratch);
  }
  const c0 = scratch.subarray(0, m);
  const c1 = scratch.subarray(m, 2 * m);
  const c2 = scratch.subarray(2 * m, 3 * m);
  const c3 = scratch.subarray(3 * m, 4 * m);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    c0.fill(0);
    c1.fill(0);
    c2.fill(0);
    c3.fill(0);
    const a0 = aOff + i * rsA;
    for (let p = 0; p < k; p++) {
      const ap = a0 + p * csA;
      const x0 = A[ap]!;
      const x1 = A[ap + rsA]!;
      const x2 = A[ap + 2 * rsA]!;
      const x3 = A[ap + 3 * rsA]!;
      const bRow = bOff + p * rsB;
      for (let j = 0; j < m; j++) {
        const b = B[bRow + j]!;
        c0[j] += x0 * b;
        c1[j] += x1 * b;
        c2[j] += x2 * b;
        c3[j] += x3 * b;
      }
    }
    const out = cOff + i * m;
    for (let j = 0; j < m; j++) {
      C[out + j] = c0[j]!;
      C[out + m + j] = c1[j]!;
      C[out + 2 * m + j] = c2[j]!;
      C[out + 3 * m + j] = c3[j]!;
    }
  }
  for (; i < n; i++) {
    c0.fill(0);
    const a0 = aOff + i * rsA;
    for (let p = 0; p < k; p++) {
      const x = A[a0 + p * csA]!;
      const bRow = bOff + p * rsB;
      for (let j = 0; j < m; j++) c0[j] += x * B[bRow + j]!;
    }
    const out = cOff + i * m;
    for (let j = 0; j < m; j++) C[out + j] = c0[j]!;
  }
}

/** C[i,j] = ⟨A[i,:], Bᵀ[j,:]⟩ with both rows contiguous (four accumulators). */
function gemmDot(
  A: Num, aOff: number, rsA: number, B: Num, bOff: number, csB: number,
  C: Num, cOff: number, n: number, k: number, m: number,
): void {
  for (let i = 0; i < n; i++) {
    const a = aOff + i * rsA;
    for (let j = 0; j < m; j++) {
      const b = bOff + j * csB;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      let p = 0;
      for (; p + 4 <= k; p += 4) {
        s0 += A[a + p]! * B[b + p]!;
        s1 += A[a + p + 1]! * B[b + p + 1]!;
        s2 += A[a + p + 2]! * B[b + p + 2]!;
        s3 += A[a + p + 3]! * B[b + p + 3]!;
      }
      for (; p < k; p++) s0 += A[a + p]! * B[b + p]!;
      C[cOff + i * m + j] = s0 + s1 + s2 + s3;
    }
  }
}
