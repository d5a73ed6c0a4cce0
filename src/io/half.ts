/**
 * The 16-bit floating-point formats of safetensors and .npy files, to and from float32 storage.
 *
 *   F16  (IEEE 754 binary16, NumPy's '<f2'):  1 sign bit, 5 exponent bits (bias 15), 10 fraction
 *        bits. Normal values (1 + f/2¹⁰)·2^(e − 15), e = 1 … 30; subnormal f·2⁻²⁴ (e = 0); e = 31 is
 *        ±∞ (f = 0) or NaN. Largest finite 65504, smallest normal 2⁻¹⁴, smallest subnormal 2⁻²⁴.
 *   BF16 (bfloat16): the top 16 bits of a float32: 1 sign bit, 8 exponent bits (bias 127), 7
 *        fraction bits. Largest finite (2 − 2⁻⁷)·2¹²⁷ ≈ 3.3895e38, smallest subnormal 2⁻¹³³.
 *
 * Decoding is exact: every F16 and BF16 value is a float32 value (F16's 11-bit significands and
 * exponents −24 … 15 fit float32's 24 bits and −149 … 127; BF16 is a float32 with 16 zero bits).
 * The bits are assembled directly (a subnormal F16 is renormalised), so ±0, ±∞, subnormals and
 * NaN payloads all come through unchanged, bit for bit.
 *
 * Encoding rounds to nearest, ties to even, from the value itself (float32 or float64, with one
 * rounding: a float64 is not rounded to float32 first, which could round twice). NaN becomes the
 * canonical quiet NaN, 0x7E00 (F16) or 0x7FC0 (BF16), as PyTorch's conversions write it. ±∞ stay
 * ±∞. A finite value whose rounding leaves the format's finite range (|x| ≥ 65520 for F16, ≥
 * (2 − 2⁻⁸)·2¹²⁷ for BF16: the midpoint above the largest finite value, which rounds to even,
 * that is up) is reported rather than turned into ±∞: PyTorch writes ±∞ there, silently; kdgrad
 * makes the caller decide (clamp first, or store F32). Values below the smallest subnormal's half
 * round to ±0, as in PyTorch: that is rounding, not overflow.
 */

export type HalfKind = "F16" | "BF16";

/** The largest finite value of each format (messages quote it). */
export const HALF_MAX: Readonly<Record<HalfKind, number>> = { F16: 65504, BF16: 3.3895313892515355e38 };

/** n ≥ 0 rounded to an integer, ties to even, for n < 2⁵²: 2⁵² has an ulp of 1. */
const TWO52 = 4503599627370496;
const roundEven = (v: number): number => v + TWO52 - TWO52;

/** ⌊log₂ a⌋ for a positive finite a, exactly (powers of two are exact; log2 may be off by one near them). */
function exponentOf(a: number): number {
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  return e;
}

/** The F16 bits of x rounded to nearest even, or −1 when x is finite but rounds beyond ±65504. */
export function f16Bits(x: number): number {
  if (x !== x) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a === Infinity) return sign | 0x7c00;
  if (a >= 65520) return -1;
  // Subnormal range: multiples of 2⁻²⁴ (a·2²⁴ is exact; r = 1024 is the smallest normal, 0x0400).
  if (a < 2 ** -14) return sign | roundEven(a * 16777216);
  const e = exponentOf(a);
  // a/2^(e − 10) in [1024, 2048), rounded; 2048 carries into the exponent.
  const r = roundEven(a * 2 ** (10 - e));
  return sign | (((e + 15) << 10) + (r - 1024));
}

/** The BF16 bits of x rounded to nearest even, or −1 when x is finite but rounds beyond ±3.3895e38. */
export function bf16Bits(x: number): number {
  if (x !== x) return 0x7fc0;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a === Infinity) return sign | 0x7f80;
  if (a >= (2 - 2 ** -8) * 2 ** 127) return -1;
  // Subnormal range: multiples of 2⁻¹³³ (scaled in two steps: 2¹³³ times a double below 2⁻¹⁰²² is exact).
  if (a < 2 ** -126) return sign | roundEven(a * 2 ** 100 * 2 ** 33);
  const e = exponentOf(a);
  const r = roundEven(a * 2 ** (7 - e));
  return sign | (((e + 127) << 7) + (r - 128));
}

/** The float32 bits of F16 bits h (exact, NaN payloads kept: the fraction moves up 13 bits). */
export function f16ToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const e = (h >> 10) & 0x1f;
  let f = h & 0x3ff;
  if (e === 31) return (sign | 0x7f800000 | (f << 13)) >>> 0;
  if (e !== 0) return (sign | ((e + 112) << 23) | (f << 13)) >>> 0;
  if (f === 0) return sign >>> 0;
  // Subnormal f·2⁻²⁴: shift f up until its leading bit reaches bit 10, one exponent step each.
  let exp = -14;
  while ((f & 0x400) === 0) {
    f <<= 1;
    exp--;
  }
  return (sign | ((exp + 127) << 23) | ((f & 0x3ff) << 13)) >>> 0;
}

/**
 * count 16-bit values of `kind` from little-endian `bytes` into float32 storage `out` (exact).
 * The bits are written through an integer view of out's buffer, so no value passes through a
 * JavaScript number (a NaN's payload survives).
 */
export function decodeHalf(bytes: Uint8Array, kind: HalfKind, count: number, out: Float32Array): void {
  const bits = new Uint32Array(out.buffer, out.byteOffset, count);
  if (kind === "BF16") {
    for (let i = 0; i < count; i++) bits[i] = ((bytes[2 * i]! | (bytes[2 * i + 1]! << 8)) << 16) >>> 0;
  } else {
    for (let i = 0; i < count; i++) bits[i] = f16ToF32Bits(bytes[2 * i]! | (bytes[2 * i + 1]! << 8));
  }
}

/**
 * The values (float32 or float64 storage, `count` of them in row-major order) as little-endian
 * `kind` bytes into `out` (2·count bytes). Returns −1, or the index of the first finite value that
 * rounds beyond the format's range (out is then partly written).
 */
export function encodeHalf(values: ArrayLike<number>, kind: HalfKind, out: Uint8Array): number {
  const convert = kind === "F16" ? f16Bits : bf16Bits;
  for (let i = 0; i < values.length; i++) {
    const h = convert(values[i]!);
    if (h < 0) return i;
    out[2 * i] = h & 0xff;
    out[2 * i + 1] = h >> 8;
  }
  return -1;
}
