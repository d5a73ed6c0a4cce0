import { Tensor } from "../tensor/tensor.js";
import { FormatError, ValueError } from "../tensor/errors.js";
import { describeValue } from "../tensor/shape.js";
import { storageFromBytes } from "./bytes.js";

/**
 * The IDX format, in which LeCun and Cortes distribute MNIST (train-images-idx3-ubyte …),
 * byte for byte:
 *
 *   [0, 2)   two zero bytes
 *   2        the element type: 0x08 unsigned byte, 0x09 signed byte, 0x0B 16-bit integer,
 *            0x0C 32-bit integer, 0x0D float32, 0x0E float64
 *   3        the number of dimensions n (MNIST: 3 for images [N, 28, 28], 1 for labels [N])
 *   [4, 4 + 4n)  each dimension's size, a 32-bit big-endian unsigned integer
 *   then     the elements in C order, big-endian ("the data is stored like in a C array,
 *            i.e. the index in the last dimension changes the fastest").
 *
 * Every element type is read exactly: the integer types as int32, float32 as float32,
 * float64 as float64. Nothing is rescaled (MNIST's pixels stay 0…255; divide by 255 for
 * [0, 1]). The file's byte order is big-endian, the reverse of safetensors' and of every
 * host we know, so the multi-byte types are swapped on the way in (bytes.ts).
 */

/** What each type byte holds: a kdgrad dtype, bytes per element and a name for messages. */
const TYPES: ReadonlyMap<number, { dtype: "int32" | "float32" | "float64"; size: number; name: string }> = new Map([
  [0x08, { dtype: "int32", size: 1, name: "unsigned byte (0x08)" }],
  [0x09, { dtype: "int32", size: 1, name: "signed byte (0x09)" }],
  [0x0b, { dtype: "int32", size: 2, name: "16-bit integer (0x0B)" }],
  [0x0c, { dtype: "int32", size: 4, name: "32-bit integer (0x0C)" }],
  [0x0d, { dtype: "float32", size: 4, name: "float32 (0x0D)" }],
  [0x0e, { dtype: "float64", size: 8, name: "float64 (0x0E)" }],
] as const);

/** Largest element count decoded: a Tensor's storage is one typed array (2³¹ − 1 elements at most in every engine we run on). */
const MAX_ELEMENTS = 2 ** 31 - 1;

/**
 * Decode the bytes of an IDX file (MNIST's format) into a tensor of the shape its header
 * states: unsigned and signed bytes, 16- and 32-bit integers as int32, float32 and float64
 * as themselves.
 *
 * FormatError, naming decodeIdx and the values involved, for: a file shorter than its
 * header, a first two bytes that are not zero, an unknown type byte, zero dimensions, a body
 * shorter or longer than the shape needs, and a shape above 2³¹ − 1 elements. ValueError if
 * `bytes` is not a Uint8Array. kdgrad/node's `loadIdx` reads a file (gzipped or not).
 *
 * @example
 * const images = decodeIdx(bytes);            // int32 [60000, 28, 28], values 0…255
 * const x = images.reshape([-1, 784]).toDType("float32").div(255);
 */
export function decodeIdx(bytes: Uint8Array): Tensor {
  return decodeIdxAs(bytes, "decodeIdx");
}

/** decodeIdx's body; `fn` is the public function the user called (decodeIdx, or kdgrad/node's loadIdx). */
export function decodeIdxAs(bytes: Uint8Array, fn: string): Tensor {
  if (!(bytes instanceof Uint8Array)) throw new ValueError(`${fn}: bytes must be a Uint8Array, got ${describeValue(bytes)}`);
  if (bytes.length < 4) throw new FormatError(`${fn}: not an IDX file: ${bytes.length} bytes, shorter than the 4-byte magic number`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new FormatError(`${fn}: not an IDX file: its first two bytes must be 0, got 0x${hex(bytes[0]!)} 0x${hex(bytes[1]!)}`);
  }
  const type = TYPES.get(bytes[2]!);
  if (type === undefined) {
    throw new FormatError(`${fn}: unknown IDX element type 0x${hex(bytes[2]!)} (known: 0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E)`);
  }
  const n = bytes[3]!;
  if (n === 0) throw new FormatError(`${fn}: an IDX file with 0 dimensions (the magic number's last byte)`);
  const start = 4 + 4 * n;
  if (bytes.length < start) throw new FormatError(`${fn}: the file ends inside the header: ${n} dimensions need ${start} bytes, the file has ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  let count = 1;
  for (let d = 0; d < n; d++) {
    const size = view.getUint32(4 + 4 * d, false);
    shape.push(size);
    count *= size;
  }
  if (count > MAX_ELEMENTS) throw new FormatError(`${fn}: shape [${shape.join(", ")}] has ${count} elements, more than one tensor holds (2^31 - 1)`);
  const need = count * type.size;
  const have = bytes.length - start;
  if (have < need) throw new FormatError(`${fn}: the data is truncated: shape [${shape.join(", ")}] of ${type.name} needs ${need} bytes but ${have} follow the header`);
  if (have > need) throw new FormatError(`${fn}: ${have - need} unexpected bytes follow the data (shape [${shape.join(", ")}] of ${type.name} needs ${need})`);
  const body = bytes.subarray(start, start + need);
  if (type.size === 1) {
    // One byte per element: no byte order. Signed bytes are read through an Int8Array view.
    const src = bytes[2] === 0x09 ? new Int8Array(body.buffer, body.byteOffset, count) : body;
    return new Tensor(Int32Array.from(src), shape);
  }
  if (type.size === 2) {
    const out = new Int32Array(count);
    for (let i = 0; i < count; i++) out[i] = view.getInt16(start + 2 * i, false);
    return new Tensor(out, shape);
  }
  return new Tensor(storageFromBytes(body, type.dtype, count, false), shape);
}

function hex(b: number): string {
  return b.toString(16).padStart(2, "0").toUpperCase();
}
