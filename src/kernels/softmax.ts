type Num = { [i: number]: number; readonly length: number };

/**
 * Softmax-family loops over the lanes of a contiguous array seen as
 * outer × length × inner (lane (o, i) starts at o·length·inner + i and steps
 * by inner). Sums are accumulated in float64 (JavaScript numbers) whatever
 * the storage type.
 */

/** y = x − m − log Σ exp(x − m) per lane, m the lane max. */
export function logSoftmaxForward(x: Num, y: Num, outer: number, length: number, inner: number): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const start = o * length * inner + i;
      const end = start + length * inner;
      let m = -Infinity;
      for (let p = start; p < end; p += inner) if (x[p]! > m || x[p] !== x[p]) m = x[p]!;
      let s = 0;
      for (let p = start; p < end; p += inner) s += Math.exp(x[p]! - m);
      const shift = m + Math.log(s);
      for (let p = start; p < end; p += inner) y[p] = x[p]! - shift;
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
