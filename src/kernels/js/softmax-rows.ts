type Num = { [i: number]: number; readonly length: number };

/**
 * Softmax-family loops over the lanes of a contiguous array seen as
 * outer × length × inner (lane (o, i) starts at o·length·inner + i and steps
 * by inner). Sums are accumulated in float64 (JavaScript numbers) whatever
 * the storage type.
 */

/**
 * y = (x − m) − log1p(R) per lane, m = x_k the lane max and R = Σ_{j ≠ k} exp(xⱼ − m),
 * so that log s = log Σ exp(x − m) = log1p(R).
 *
 * Why this form. Written as x − (m + log s), the sum m + log s rounds to a multiple of
 * ulp(m): at m = 1e16 (ulp 2) log 2 is lost entirely and [1e16, 1e16] gives [0, 0].
 * (x − m) is exact or nearly so and ≤ 0, log1p(R) ≥ 0, and the difference of a
 * non-positive and a non-negative number never cancels. Leaving the max's term 1 out of
 * the sum keeps R's small values: log(1 + R) would round R < 2⁻⁵³ away and give the top
 * entry 0 instead of −R.
 *
 * Bound (u = 2⁻⁵³, first order). Rounding x − m perturbs each input by at most u·|x − m|;
 * R carries (n − 2)u·R from the sum, 2u·R from the exponentials (< 1 ulp each) and
 * u·Σⱼ tⱼeⱼ, tⱼ = m − xⱼ, from the rounded arguments; log1p divides an error δR by
 * 1 + R, and R/(1 + R) ≤ log1p(R) = L, so |L̂ − L| ≤ (n + 1 + t*)·u·L, t* the largest
 * gap of a term that does not underflow (≤ 746). Since |yᵢ| = |xᵢ − m| + L bounds both
 * parts, |ŷᵢ − yᵢ| ≤ (n + t* + 5)·u·|yᵢ|: relative accuracy for every entry, the top
 * one (yₖ = −L) included. float32 storage adds one rounding of the result.
 * Check: [c, c] gives −log1p(1) = −ln 2 exactly rounded for any finite c.
 *
 * Non-finite lanes. A NaN makes m NaN and everything NaN. m = +∞ (a +∞ entry) has no
 * defined result: the lane is NaN, as in PyTorch (the +∞ entry is left out of R, so
 * this is set explicitly). An all −∞ lane gives (−∞) − (−∞) = NaN; a −∞ entry in a lane
 * with a finite max adds exp(−∞) = 0 and stays −∞.
 */
export function logSoftmaxForward(x: Num, y: Num, outer: number, length: number, inner: number): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const start = o * length * inner + i;
      const end = start + length * inner;
      let m = -Infinity;
      let k = start;
      for (let p = start; p < end; p += inner) {
        if (x[p]! > m || x[p] !== x[p]) {
          m = x[p]!;
          k = p;
        }
      }
      let r = 0;
      for (let p = start; p < k; p += inner) r += Math.exp(x[p]! - m);
      for (let p = k + inner; p < end; p += inner) r += Math.exp(x[p]! - m);
      const logS = m === Infinity ? NaN : Math.log1p(r);
      for (let p = start; p < end; p += inner) y[p] = (x[p]! - m) - logS;
    }
  }
}

/** dx = g − exp(y) Σ g per lane (y the saved log-softmax). */
export function logSoftmaxBackward(y: Num, g: Num, dx: Num, outer: number, length: number, inner: number): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const start = o * length * inner + i;
      const end = start + length * inner;
      let gSum = 0;
      for (let p = start; p < end; p += inner) gSum += g[p]!;
      for (let p = start; p < end; p += inner) dx[p] = g[p]! - Math.exp(y[p]!) * gSum;
    }
  }
}

/** y = exp(x − m) / Σ exp(x − m) per lane. */
export function softmaxForward(x: Num, y: Num, outer: number, length: number, inner: number): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const start = o * length * inner + i;
      const end = start + length * inner;
      let m = -Infinity;
      for (let p = start; p < end; p += inner) if (x[p]! > m || x[p] !== x[p]) m = x[p]!;
      let s = 0;
      for (let p = start; p < end; p += inner) {
        const e = Math.exp(x[p]! - m);
        y[p] = e;
        s += e;
      }
      const r = 1 / s;
      for (let p = start; p < end; p += inner) y[p] = y[p]! * r;
    }
  }
}

/** dx = y ⊙ (g − Σ g ⊙ y) per lane (y the saved softmax). */
export function softmaxBackward(y: Num, g: Num, dx: Num, outer: number, length: number, inner: number): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const start = o * length * inner + i;
      const end = start + length * inner;
      let dot = 0;
      for (let p = start; p < end; p += inner) dot += g[p]! * y[p]!;
      for (let p = start; p < end; p += inner) dx[p] = y[p]! * (g[p]! - dot);
    }
  }
}
