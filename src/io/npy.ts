import { Tensor } from "../tensor/tensor.js";
import type { DType } from "../tensor/dtype.js";
import { FormatError, ValueError } from "../tensor/errors.js";
import { describeValue, sizeOf } from "../tensor/shape.js";
import { int64ToInt32, storageFromBytes, swapBytes, tensorBytes } from "./bytes.js";
import { decodeHalf } from "./half.js";
import { utf8Decode, utf8Encode } from "./utf8.js";

/**
 * NumPy's .npy format (numpy.lib.format), byte for byte:
 *
 *   [0, 6)   the magic string \x93NUMPY
 *   6, 7     major and minor version: 1.0, 2.0 or 3.0
 *   then     the header length H: u16 little-endian (1.0) or u32 (2.0, 3.0)
 *   then     H bytes of header: the repr of a Python dict,
 *              {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
 *            padded with spaces and ended by '\n' so that the whole preamble
 *            (magic, version, length and header) is a multiple of 64 bytes;
 *            latin-1 text in 1.0 and 2.0, UTF-8 in 3.0
 *   then     the elements, in C order unless fortran_order, in descr's byte
 *            order ('<' little-endian, '>' big-endian).
 *
 * kdgrad writes '<f4', '<f8' and '<i4' in version 1.0 (2.0 only for a header
 * above 65535 bytes), with exactly np.save's header: the keys sorted, 21 − len(repr(shape[0]))
 * spare spaces after the dict (NumPy leaves them so a file can grow along
 * axis 0 in place), then the padding. So encodeNpy(t) equals the bytes of
 * np.save for the same array. It reads those dtypes in either byte order, and
 * also 8-byte integers ('i8', NumPy's default integer, and 'u8') as int32 when
 * every value fits an int32, and float16 ('f2') as float32, exactly (see decodeNpy).
 */

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const ALIGN = 64;
const GROWTH_AXIS_MAX_DIGITS = 21;
const DESCR: Record<DType, string> = { float32: "f4", float64: "f8", int32: "i4" };
/**
 * What each readable descr (without its byte-order character) becomes: a kdgrad dtype and the
 * bytes per element in the file. A Map, not an object: the descr comes from the file, and a
 * descr such as '<constructor' must find nothing rather than an Object.prototype member.
 */
const FROM_DESCR: ReadonlyMap<string, { dtype: DType; size: number }> = new Map([
  ["f4", { dtype: "float32", size: 4 }],
  ["f8", { dtype: "float64", size: 8 }],
  ["i4", { dtype: "int32", size: 4 }],
  ["i8", { dtype: "int32", size: 8 }],
  ["u8", { dtype: "int32", size: 8 }],
  ["f2", { dtype: "float32", size: 2 }],
] as const);
const READABLE = "'<f4', '<f8', '<i4', '<i8' (read as int32), '<u8' (read as int32), '<f2' (read as float32) and their '>' forms";

/**
 * The .npy bytes of a tensor (C order, little-endian, version 1.0).
 *
 * @example encodeNpy(tensor([[1, 2], [3, 4]])) // what np.save writes for np.float32 [[1, 2], [3, 4]]
 */
export function encodeNpy(t: Tensor): Uint8Array {
  return encodeNpyAs(t, "encodeNpy");
}

/** encodeNpy's body; `fn` is the public function the user called (encodeNpy, or kdgrad/node's saveNpy). */
export function encodeNpyAs(t: Tensor, fn: string): Uint8Array {
  if (!(t instanceof Tensor)) throw new ValueError(`${fn}: the tensor to write must be a Tensor, got ${describeValue(t)}`);
  const shape = t.ndim === 0 ? "()" : t.ndim === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(", ")})`;
  let dict = `{'descr': '<${DESCR[t.dtype]}', 'fortran_order': False, 'shape': ${shape}, }`;
  if (t.ndim > 0) dict += " ".repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - String(t.shape[0]).length));
  // hlen counts the final newline; pad so magic(6) + version(2) + length field + header ≡ 0 (mod 64).
  const hlen = dict.length + 1;
  let lengthBytes = 2;
  let pad = ALIGN - ((8 + lengthBytes + hlen) % ALIGN);
  if (hlen + pad > 65535) {
    lengthBytes = 4;
    pad = ALIGN - ((8 + lengthBytes + hlen) % ALIGN);
  }
  const header = utf8Encode(dict + " ".repeat(pad) + "\n"); // ASCII: the same bytes in latin-1
  const body = tensorBytes(t, true);
  const start = 8 + lengthBytes + header.length;
  const out = new Uint8Array(start + body.length);
  out.set(MAGIC, 0);
  out[6] = lengthBytes === 2 ? 1 : 2;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (lengthBytes === 2) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  out.set(header, 8 + lengthBytes);
  out.set(body, start);
  return out;
}

/**
 * Parse .npy bytes (versions 1.0, 2.0, 3.0) into a tensor with fresh storage.
 * Reads '<f4', '<f8', '<i4' and the big-endian '>f4', '>f8', '>i4' (byte-swapped).
 * 8-byte integers, '<i8' (NumPy's default integer, so what np.save writes for
 * labels) and '<u8', and their '>' forms, become int32, kdgrad's integer type,
 * when every value lies in [−2³¹, 2³¹ − 1]; the first value that does not is a
 * FormatError naming it and its flat index (nothing wraps). float16, '<f2' and '>f2',
 * becomes float32, exactly (every float16 is a float32; src/io/half.ts).
 * FormatError for: a missing magic string, an unknown version, a header that
 * is cut short or is not the expected dict, fortran_order True, any other
 * dtype (naming its descr), and a body shorter or longer than the shape needs.
 */
export function decodeNpy(bytes: Uint8Array): Tensor {
  const fn = "decodeNpy";
  if (!(bytes instanceof Uint8Array)) throw new ValueError(`${fn}: bytes must be a Uint8Array`);
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new FormatError(`${fn}: not a .npy file (it must start with the magic string \\x93NUMPY and a version)`);
  }
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if (!(major >= 1 && major <= 3) || minor !== 0) throw new FormatError(`${fn}: unsupported format version ${major}.${minor} (expected 1.0, 2.0 or 3.0)`);
  const lengthBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthBytes) throw new FormatError(`${fn}: the file ends inside the header length field`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hlen = lengthBytes === 2 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = 8 + lengthBytes + hlen;
  if (start > bytes.length) throw new FormatError(`${fn}: header length ${hlen} goes beyond the end of the file (${bytes.length} bytes)`);
  const raw = bytes.subarray(8 + lengthBytes, start);
  const text = major === 3 ? utf8Decode(raw) : latin1(raw);
  if (text === null) throw new FormatError(`${fn}: the version 3.0 header is not valid UTF-8`);

  const dict = parseHeader(text, fn);
  const descr = dict.get("descr");
  const fortran = dict.get("fortran_order");
  const shape = dict.get("shape");
  if (typeof descr !== "string") throw new FormatError(`${fn}: unsupported dtype descr ${describe(descr)} (kdgrad reads ${READABLE})`);
  const order = descr[0];
  const kind = FROM_DESCR.get(descr.slice(1));
  if ((order !== "<" && order !== ">") || kind === undefined) {
    throw new FormatError(`${fn}: unsupported dtype descr '${descr}' (kdgrad reads ${READABLE})`);
  }
  if (typeof fortran !== "boolean") throw new FormatError(`${fn}: fortran_order must be True or False, got ${describe(fortran)}`);
  if (fortran) throw new FormatError(`${fn}: fortran_order True is not supported (descr '${descr}'); save a C-ordered array, e.g. np.ascontiguousarray(a)`);
  if (!Array.isArray(shape)) throw new FormatError(`${fn}: shape must be a tuple of integers, got ${describe(shape)}`);

  const count = sizeOf(shape);
  const need = count * kind.size;
  const have = bytes.length - start;
  if (have < need) throw new FormatError(`${fn}: the data is truncated: shape (${shape.join(", ")}) of '${descr}' needs ${need} bytes but ${have} follow the header`);
  if (have > need) throw new FormatError(`${fn}: ${have - need} unexpected bytes follow the data (shape (${shape.join(", ")}) of '${descr}' needs ${need})`);
  const body = bytes.subarray(start);
  if (kind.size === 8 && kind.dtype === "int32") return new Tensor(int64AsInt32(body, count, descr, fn), shape);
  if (kind.size === 2) {
    // float16 as float32, exactly (half.ts); a big-endian file's pairs of bytes are swapped first.
    const le = order === "<" ? body : swapped(body, 2);
    const out = new Float32Array(count);
    decodeHalf(le, "F16", count, out);
    return new Tensor(out, shape);
  }
  return new Tensor(storageFromBytes(body, kind.dtype, count, order === "<"), shape);
}

/** The count 8-byte integers of `bytes` (descr '<i8', '>i8', '<u8' or '>u8') as int32 (bytes.ts, int64ToInt32), or a FormatError naming the first that does not fit. */
function int64AsInt32(bytes: Uint8Array, count: number, descr: string, fn: string): Int32Array {
  const r = int64ToInt32(bytes, count, descr[0] === "<", descr[1] === "i");
  if (r.bad !== null) {
    throw new FormatError(`${fn}: '${descr}' value ${r.bad.value} at flat index ${r.bad.index} does not fit int32; kdgrad reads 8-byte integers as int32 only when every value lies in [-2^31, 2^31 - 1]`);
  }
  return r.values;
}

/** A copy of `bytes` with each `size`-byte element's bytes reversed. */
function swapped(bytes: Uint8Array, size: number): Uint8Array {
  const out = bytes.slice();
  swapBytes(out, size);
  return out;
}

function latin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

function describe(v: unknown): string {
  return v === undefined ? "nothing" : JSON.stringify(v);
}

type Value = string | boolean | number[];

/**
 * Parse the header: a Python dict literal with string keys whose values are
 * strings, True/False or tuples of integers (all that np.save writes; a
 * Python 2 file may write 3L), followed only by whitespace. The keys must be
 * exactly descr, fortran_order and shape, as NumPy requires.
 */
function parseHeader(text: string, fn: string): Map<string, Value> {
  let i = 0;
  const fail = (what: string): never => {
    throw new FormatError(`${fn}: cannot parse the header dict (${what} at character ${i}): ${JSON.stringify(text.trimEnd())}`);
  };
  const ws = (): void => {
    while (i < text.length && " \t\r\n".includes(text[i]!)) i++;
  };
  const expect = (c: string): void => {
    ws();
    if (text[i] !== c) fail(`expected '${c}'`);
    i++;
  };
  const str = (): string => {
    ws();
    const q = text[i];
    if (q !== "'" && q !== '"') return fail("expected a string");
    const end = text.indexOf(q, i + 1);
    if (end < 0) fail("unterminated string");
    const s = text.slice(i + 1, end);
    if (s.includes("\\")) fail("escapes are not supported");
    i = end + 1;
    return s;
  };
  const int = (): number => {
    ws();
    const m = /^\d+L?/.exec(text.slice(i));
    if (m === null) return fail("expected an integer");
    i += m[0].length;
    const v = Number(m[0].replace("L", ""));
    if (!Number.isSafeInteger(v)) fail("integer too large");
    return v;
  };
  const value = (): Value => {
    ws();
    if (text[i] === "'" || text[i] === '"') return str();
    if (text.startsWith("True", i)) return (i += 4), true;
    if (text.startsWith("False", i)) return (i += 5), false;
    if (text[i] === "(") {
      i++;
      const items: number[] = [];
      for (;;) {
        ws();
        if (text[i] === ")") break;
        items.push(int());
        ws();
        if (text[i] === ",") i++;
        else if (text[i] !== ")") fail("expected ',' or ')'");
      }
      i++;
      if (items.length === 1 && !/,\s*\)$/.test(text.slice(0, i))) fail("a 1-tuple needs a trailing comma");
      return items;
    }
    return fail("expected a string, True, False or a tuple");
  };
  const out = new Map<string, Value>();
  expect("{");
  for (;;) {
    ws();
    if (text[i] === "}") break;
    const key = str();
    expect(":");
    if (out.has(key)) fail(`key '${key}' repeated`);
    out.set(key, value());
    ws();
    if (text[i] === ",") i++;
    else if (text[i] !== "}") fail("expected ',' or '}'");
  }
  i++;
  ws();
  if (i !== text.length) fail("unexpected text after the dict");
  const keys = [...out.keys()].sort();
  if (keys.join() !== "descr,fortran_order,shape") {
    throw new FormatError(`${fn}: the header must have exactly the keys descr, fortran_order and shape, got ${keys.join(", ") || "none"}`);
  }
  return out;
}
