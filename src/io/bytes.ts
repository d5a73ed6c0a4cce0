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
