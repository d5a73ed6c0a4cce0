import type { Tensor } from "../tensor/tensor.js";
import { allocate, type DType, type Storage } from "../tensor/dtype.js";

/**
 * Moving tensor elements to and from little-endian bytes, the byte order of
 * safetensors and of '<' .npy files.
 *
 * We copy bytes rather than read numbers through a DataView: a byte copy is
 * exact for every bit pattern (a float32 NaN's payload survives; going
 * through a JavaScript number may quieten a signalling NaN), and it is fast.
 * The byte order is handled explicitly: when the file's order differs from
 * the host's, each element's bytes are reversed. Every host we know of is
 * little-endian, where the common path is a plain copy, but a big-endian
 * host reverses too, so the files mean the same on any platform; the
 * reversal itself is tested through big-endian .npy files.
 */

/** True when typed arrays store their elements little-endian on this host. */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Bytes per element. */
export function itemSize(dtype: DType): number {
  return dtype === "float64" ? 8 : 4;
}

/** Reverse the bytes of each `size`-byte element of `bytes`, in place. */
export function swapBytes(bytes: Uint8Array, size: number): void {
  for (let i = 0; i + size <= bytes.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  }
}

/** The elements of `t` in row-major order, as fresh bytes in the given byte order. */
export function tensorBytes(t: Tensor, littleEndian = true): Uint8Array {
  let elements: Storage;
  if (t.isContiguous()) elements = t.data.subarray(t.offset, t.offset + t.size);
  else elements = t.copyData();
  const out = new Uint8Array(elements.buffer, elements.byteOffset, elements.byteLength).slice();
  if (littleEndian !== HOST_LITTLE_ENDIAN) swapBytes(out, itemSize(t.dtype));
  return out;
}

/** `count` elements of `dtype` decoded from `bytes` (exactly count·itemSize long) in the given byte order. */
export function storageFromBytes(bytes: Uint8Array, dtype: DType, count: number, littleEndian = true): Storage {
  const data = allocate(dtype, count);
  const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  view.set(bytes.subarray(0, view.length));
  if (littleEndian !== HOST_LITTLE_ENDIAN) swapBytes(view, itemSize(dtype));
  return data;
}

/**
 * `count` 8-byte integers (signed, or unsigned) from `bytes` in the given byte order, as int32:
 * the values, or the first that does not fit [−2³¹, 2³¹ − 1] (its flat index and exact value, a
 * BigInt since |value| may exceed 2⁵³). Nothing wraps.
 *
 * Each element is two 32-bit words, lo and hi. As a signed 64-bit integer it is hi·2³² + lo (hi
 * signed, lo unsigned), which lies in [−2³¹, 2³¹) exactly when hi is the sign extension of lo's top
 * bit: hi = 0 with lo < 2³¹, or hi = −1 with lo ≥ 2³¹. Unsigned, hi is unsigned too, so only hi = 0
 * with lo < 2³¹ fits. The value is then lo read as int32.
 * Check: −1 is the words lo = 2³² − 1, hi = −1, and fits as (2³² − 1) | 0 = −1.
 */
export function int64ToInt32(
  bytes: Uint8Array, count: number, littleEndian: boolean, signed: boolean,
): { values: Int32Array; bad: null } | { values: null; bad: { index: number; value: bigint } } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, count * 8);
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const lo = view.getUint32(8 * i + (littleEndian ? 0 : 4), littleEndian);
    const at = 8 * i + (littleEndian ? 4 : 0);
    const hi = signed ? view.getInt32(at, littleEndian) : view.getUint32(at, littleEndian);
    const fits = lo < 2147483648 ? hi === 0 : signed && hi === -1;
    if (!fits) return { values: null, bad: { index: i, value: (BigInt(hi) << BigInt(32)) + BigInt(lo) } };
    out[i] = lo | 0;
  }
  return { values: out, bad: null };
}

/** int32 values as little-endian signed 8-byte integers (each sign-extended: exact). */
export function int32ToInt64Bytes(values: ArrayLike<number>, out: Uint8Array): void {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    view.setInt32(8 * i, v, true);
    view.setInt32(8 * i + 4, v < 0 ? -1 : 0, true);
  }
}
