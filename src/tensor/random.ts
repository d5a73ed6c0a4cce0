import { ValueError } from "./errors.js";
import { checkName, describeValue } from "./shape.js";

/**
 * A small seedable generator whose draws are bit-identical on every
 * JavaScript engine (V8, JavaScriptCore, SpiderMonkey, QuickJS).
 *
 * Algorithm (docs/random.md):
 * - State: xoshiro128** (Blackman & Vigna), four 32-bit words, period 2¹²⁸ − 1.
 *   Every step is 32-bit integer arithmetic (`Math.imul`, shifts, xor), exact everywhere.
 * - Seeding: splitmix32 started at the seed's low 32 bits gives the first two
 *   words; its state is then mixed with the high bits and gives the last two.
 *   Every safe integer seed gives its own stream, and nearby seeds give
 *   unrelated streams.
 * - uniform (float64): 53 random bits / 2⁵³, in [0, 1).
 *   uniform (float32): 24 random bits / 2²⁴, in [0, 1) even after rounding to float32.
 * - normal: Marsaglia's polar method. It needs only +, −, ×, ÷, √ and a
 *   logarithm. IEEE 754 rounds the first five correctly (ECMAScript leaves
 *   Math.sqrt "implementation-approximated", but every engine we know uses the
 *   hardware square root, and the runtime tests compare bits); `Math.log` is
 *   approximated differently by different engines, so we use `detLog` below,
 *   built from the exact operations only.
 * - integers in [0, n): rejection sampling on 32-bit words (no modulo bias).
 */
export class Generator {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spare = 0;
  private hasSpare = false;

  constructor(seed = 0) {
    this.reseed(seed, "Generator");
  }

  /** Reset the stream to the one defined by `seed` (a non-negative safe integer). */
  manualSeed(seed: number): this {
    return this.reseed(seed, "Generator.manualSeed");
  }

  /**
   * manualSeed's body; `fn` is the public function the user called (`new Generator(seed)`,
   * `g.manualSeed(seed)` or the global `manualSeed(seed)`), which its message names.
   * It is reachable from outside (a method of an exported class), so `fn` is checked too: a
   * non-empty string, else a ValueError naming Generator.reseed.
   * @internal
   */
  reseed(seed: number, fn: string): this {
    checkName(fn, "Generator.reseed", "fn");
    if (typeof seed !== "number" || !Number.isSafeInteger(seed) || seed < 0) {
      throw new ValueError(`${fn}: seed must be a non-negative safe integer, got ${describeValue(seed)}`);
    }
    let x = seed >>> 0;
    const next = (): number => {
      // splitmix32
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    x ^= Math.floor(seed / 4294967296);
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
    this.hasSpare = false;
    return this;
  }

  /** The full state, to save and restore a stream position. */
  getState(): number[] {
    return [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0, this.hasSpare ? 1 : 0, this.spare];
  }

  /**
   * Restore a state from getState(). Checked, since a bad state does not fail loudly later:
   * the four words must be integers in [0, 2³²) and not all zero (xoshiro's all-zero state
   * is a fixed point: every draw would be 0, and `normal`'s rejection loop, which waits for
   * a point with 0 < u² + v² < 1, would never return); the spare flag 0 or 1; the spare
   * normal a finite number. A ValueError names the entry otherwise.
   */
  setState(state: readonly number[]): this {
    const fn = "Generator.setState";
    if (!Array.isArray(state) || state.length !== 6) {
      throw new ValueError(`${fn}: state must be the 6 numbers getState() returns, got ${describeValue(state)}`);
    }
    for (let i = 0; i < 4; i++) {
      const w = state[i];
      if (typeof w !== "number" || !Number.isInteger(w) || w < 0 || w > 4294967295) {
        throw new ValueError(`${fn}: state[${i}] must be an integer in [0, 2^32 - 1], got ${describeValue(w)}`);
      }
    }
    if (state[0] === 0 && state[1] === 0 && state[2] === 0 && state[3] === 0) {
      throw new ValueError(`${fn}: state[0..3] are all 0, which xoshiro128** never leaves (every draw would be 0)`);
    }
    if (state[4] !== 0 && state[4] !== 1) throw new ValueError(`${fn}: state[4] (has a spare normal) must be 0 or 1, got ${describeValue(state[4])}`);
    if (typeof state[5] !== "number" || !Number.isFinite(state[5])) {
      throw new ValueError(`${fn}: state[5] (the spare normal) must be a finite number, got ${describeValue(state[5])}`);
    }
    [this.s0, this.s1, this.s2, this.s3] = state.slice(0, 4).map((v) => v >>> 0) as [number, number, number, number];
    this.hasSpare = state[4] === 1;
    this.spare = state[5];
    return this;
  }

  /** The next 32-bit unsigned integer (xoshiro128**). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A float64 uniform in [0, 1), from 53 random bits. */
  uniform(): number {
    const a = this.nextUint32() >>> 5; // 27 bits
    const b = this.nextUint32() >>> 6; // 26 bits
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** A uniform in [0, 1) with 24 random bits: exactly representable in float32. */
  uniform24(): number {
    return (this.nextUint32() >>> 8) / 16777216;
  }

  /** A standard normal draw (Marsaglia's polar method, with `detLog`). */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    for (;;) {
      const u = 2 * this.uniform() - 1;
      const v = 2 * this.uniform() - 1;
      const s = u * u + v * v;
      if (s >= 1 || s === 0) continue;
      const f = Math.sqrt((-2 * detLog(s)) / s);
      this.spare = v * f;
      this.hasSpare = true;
      return u * f;
    }
  }

  /** A uniform integer in [0, n), for 1 ≤ n ≤ 2³². */
  below(n: number): number {
    if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > 4294967296) {
      throw new ValueError(`Generator.below: n must be an integer in [1, 2^32], got ${describeValue(n)}`);
    }
    const limit = Math.floor(4294967296 / n) * n;
    for (;;) {
      const u = this.nextUint32();
      if (u < limit) return u % n;
    }
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

const LN2_HI = 6.93147180369123816490e-1;
const LN2_LO = 1.90821492927058770002e-10;
const SQRT2 = 1.4142135623730951;
const bits = new DataView(new ArrayBuffer(8));

/**
 * Natural logarithm of a positive finite x, using only operations IEEE 754
 * rounds exactly, so every engine returns the same bits.
 * x = 2ᵉ·m with m ∈ [√½, √2); log m = 2·atanh(f) with f = (m − 1)/(m + 1),
 * |f| < 0.172, and the odd series 2f(1 + f²/3 + f⁴/5 + …) to f²¹ leaves an
 * error below 1e-17 relative.
 */
export function detLog(x: number): number {
  let e = 0;
  if (x < 2.2250738585072014e-308) {
    x *= 18014398509481984; // 2^54: lift subnormals into the normal range
    e = -54;
  }
  bits.setFloat64(0, x);
  const hi = bits.getUint32(0);
  e += ((hi >>> 20) & 0x7ff) - 1023;
  bits.setUint32(0, (hi & 0x800fffff) | 0x3ff00000);
  let m = bits.getFloat64(0);
  if (m > SQRT2) {
    m /= 2;
    e += 1;
  }
  const f = (m - 1) / (m + 1);
  const s = f * f;
  let series = 1 / 21;
  for (let k = 19; k >= 1; k -= 2) series = 1 / k + s * series;
  return e * LN2_HI + (2 * f * series + e * LN2_LO);
}

/** The generator used when none is passed. */
export const defaultGenerator = new Generator(0);

/** Seed the default generator, like `torch.manual_seed`. */
export function manualSeed(seed: number): Generator {
  return defaultGenerator.reseed(seed, "manualSeed");
}
