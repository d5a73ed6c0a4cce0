import { Tensor } from "../tensor/tensor.js";
import type { DType, Storage } from "../tensor/dtype.js";
import { DTypeError, FormatError, ValueError } from "../tensor/errors.js";
import { checkOptions } from "../tensor/options.js";
import { describeValue, shapeStr, sizeOf } from "../tensor/shape.js";
import { int32ToInt64Bytes, int64ToInt32, storageFromBytes, tensorBytes } from "./bytes.js";
import { HALF_MAX, decodeHalf, encodeHalf } from "./half.js";
import { utf8Decode, utf8Encode } from "./utf8.js";

/**
 * The safetensors format (Hugging Face), byte for byte:
 *
 *   [0, 8)        N, the header length, an unsigned 64-bit little-endian integer
 *   [8, 8 + N)    the header: UTF-8 JSON, an object mapping each tensor name to
 *                 {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]},
 *                 plus an optional "__metadata__": {string: string}. The writer
 *                 pads it with spaces (0x20) to a multiple of 8 bytes, so the
 *                 data section starts 8-byte aligned.
 *   [8 + N, end)  the data section: each tensor's elements in row-major (C)
 *                 order, little-endian, at [begin, end) relative to the
 *                 section's start. The ranges tile the section exactly: no
 *                 gap, no overlap, nothing after the last.
 *
 * kdgrad reads and writes F32, F64 and I32 (its three dtypes), and the formats language-model
 * tooling stores teacher logits and labels in: F16 and BF16, read as float32 exactly (every F16
 * and BF16 value is a float32; src/io/half.ts), and I64, read as int32 when every value fits
 * (a FormatError naming the first that does not). The encoder writes those three on request
 * (`dtypes`): F16/BF16 from float tensors rounded to nearest even, a value that would round
 * beyond the format's largest finite one refused; I64 from int32 exactly. So a file PyTorch
 * writes with torch.float16/bfloat16/int64 tensors reads here, and what kdgrad writes reads in
 * PyTorch as those dtypes. The encoder lays the tensors out in the order given and writes
 * "__metadata__" first, in compact JSON, as the reference implementation does; readers find
 * tensors by offset, so a file written here loads with `safetensors.torch.load_file`.
 */

/** The dtype codes kdgrad reads and writes. */
export type SafetensorsDType = "F32" | "F64" | "I32" | "F16" | "BF16" | "I64";

const TO_CODE: Record<DType, SafetensorsDType> = { float32: "F32", float64: "F64", int32: "I32" };
/** What each readable code becomes, and its bytes per element in the file. */
const FROM_CODE: Record<SafetensorsDType, { dtype: DType; size: number }> = {
  F32: { dtype: "float32", size: 4 }, F64: { dtype: "float64", size: 8 }, I32: { dtype: "int32", size: 4 },
  F16: { dtype: "float32", size: 2 }, BF16: { dtype: "float32", size: 2 }, I64: { dtype: "int32", size: 8 },
};
/** The dtypes of the format that kdgrad has no tensor type for (read: a clear error, not "unknown"). */
const OTHER_CODES = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2", "I16", "U16", "U32", "U64", "C64"];
/** The reference implementation refuses larger headers; so do we. */
const MAX_HEADER_BYTES = 100_000_000;

/** A collection of named tensors: a Map (ordered) or a plain object. */
export type NamedTensors = ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>;

/** What `decodeSafetensors` returns: the named tensors and the file's metadata strings. */
export interface DecodedSafetensors {
  /** The tensors, in the order of their data in the file (for kdgrad's files, the order they were given). */
  tensors: Map<string, Tensor>;
  /** The "__metadata__" strings ({} when the file has none). */
  metadata: Record<string, string>;
  /** Each tensor's dtype in the file ("BF16" for a tensor read as float32 from bfloat16, …): pass it back as `dtypes` to write the same formats. */
  dtypes: Map<string, SafetensorsDType>;
}

/** Options of `encodeSafetensors` (and `saveSafetensors` in kdgrad/node): the storage dtype of each named tensor. */
export interface EncodeSafetensorsOptions {
  /**
   * The dtype to store a tensor in, by name, where it is not the tensor's own (F32, F64, I32):
   * "F16" or "BF16" for a float tensor (rounded to nearest even; a finite value beyond the
   * format's range is a ValueError), "F32" or "F64" for a float tensor (float64 → F32 rounds),
   * "I64" or "I32" for an int32 tensor. Every name must be a tensor's.
   */
  dtypes?: Readonly<Record<string, SafetensorsDType>> | ReadonlyMap<string, SafetensorsDType>;
}

function entriesOf(tensors: NamedTensors, fn: string): [string, Tensor][] {
  if (tensors instanceof Map) return [...tensors];
  if (tensors === null || typeof tensors !== "object" || Array.isArray(tensors)) {
    throw new ValueError(`${fn}: tensors must be a Map or an object of tensors by name, got ${describeValue(tensors)}`);
  }
  return Object.entries(tensors as Record<string, Tensor>);
}

/**
 * Serialize named tensors (and optional string metadata) to safetensors
 * bytes. Non-contiguous views are written in row-major order. `options.dtypes`
 * stores chosen tensors as F16, BF16 or I64 (see EncodeSafetensorsOptions).
 *
 * @example const bytes = encodeSafetensors(model.stateDict(), { epoch: "3" });
 * @example encodeSafetensors({ indices, logprobs }, {}, { dtypes: { logprobs: "BF16" } })  // int32 indices as I32, logprobs as bfloat16
 */
export function encodeSafetensors(tensors: NamedTensors, metadata?: Readonly<Record<string, string>>, options?: EncodeSafetensorsOptions): Uint8Array {
  return encodeSafetensorsAs(tensors, metadata, "encodeSafetensors", options);
}

/** encodeSafetensors's body; `fn` is the public function the user called (encodeSafetensors, or kdgrad/node's saveSafetensors and saveModule). */
export function encodeSafetensorsAs(
  tensors: NamedTensors, metadata: Readonly<Record<string, string>> | undefined, fn: string, options?: EncodeSafetensorsOptions,
): Uint8Array {
  const entries = entriesOf(tensors, fn);
  const targets = checkDtypes(checkOptions(options, fn, ["dtypes"]).dtypes, entries, fn);
  const fields: string[] = [];
  if (metadata !== undefined) {
    if (metadata === null || typeof metadata !== "object" || Array.isArray(metadata)) {
      throw new ValueError(`${fn}: metadata must be an object of strings, got ${describeValue(metadata)}`);
    }
    const items = Object.entries(metadata).map(([k, v]) => {
      if (typeof v !== "string") throw new ValueError(`${fn}: metadata values must be strings, but "${k}" is ${typeof v}`);
      return `${JSON.stringify(k)}:${JSON.stringify(v)}`;
    });
    fields.push(`"__metadata__":{${items.join(",")}}`);
  }
  const bodies: Uint8Array[] = [];
  let offset = 0;
  const names = new Set<string>();
  for (const [name, t] of entries) {
    if (!(t instanceof Tensor)) throw new ValueError(`${fn}: "${name}" is not a Tensor`);
    if (name === "__metadata__") throw new ValueError(`${fn}: "__metadata__" is reserved and cannot name a tensor`);
    if (names.has(name)) throw new ValueError(`${fn}: "${name}" appears twice`);
    names.add(name);
    const code = targets.get(name) ?? TO_CODE[t.dtype];
    const body = bodyAs(t, code, name, fn);
    // Keys are written by hand: JSON.stringify of an object would move
    // integer-like names ("0", "1") to the front and break the given order.
    fields.push(`${JSON.stringify(name)}:{"dtype":"${code}","shape":[${t.shape.join(",")}],"data_offsets":[${offset},${offset + body.length}]}`);
    offset += body.length;
    bodies.push(body);
  }
  const json = utf8Encode(`{${fields.join(",")}}`);
  const n = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + n + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, n % 4294967296, true);
  view.setUint32(4, Math.floor(n / 4294967296), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + n);
  let p = 8 + n;
  for (const body of bodies) {
    out.set(body, p);
    p += body.length;
  }
  return out;
}

/** The `dtypes` option as a Map of names to codes, each checked against its tensor. */
function checkDtypes(dtypes: unknown, entries: [string, Tensor][], fn: string): Map<string, SafetensorsDType> {
  const out = new Map<string, SafetensorsDType>();
  if (dtypes === undefined) return out;
  let pairs: [string, unknown][];
  if (dtypes instanceof Map) pairs = [...(dtypes as Map<string, unknown>)];
  else if (dtypes !== null && typeof dtypes === "object" && !Array.isArray(dtypes)) pairs = Object.entries(dtypes);
  else throw new ValueError(`${fn}: options.dtypes must be an object (or Map) of dtype codes by tensor name, got ${describeValue(dtypes)}`);
  const byName = new Map(entries);
  for (const [name, code] of pairs) {
    const t = byName.get(name);
    if (t === undefined) throw new ValueError(`${fn}: options.dtypes names "${name}", which is not one of the tensors`);
    if (typeof code !== "string" || !Object.hasOwn(FROM_CODE, code)) {
      throw new ValueError(`${fn}: options.dtypes["${name}"] must be one of F32, F64, F16, BF16, I32, I64, got ${describeValue(code)}`);
    }
    const float = t instanceof Tensor && t.dtype !== "int32";
    const fits = code === "I32" || code === "I64" ? !float : float;
    if (t instanceof Tensor && !fits) {
      throw new DTypeError(`${fn}: tensor "${name}" is ${t.dtype} and cannot be stored as ${code} (float tensors as F32, F64, F16 or BF16; int32 as I32 or I64)`);
    }
    out.set(name, code as SafetensorsDType);
  }
  return out;
}

/** The little-endian bytes of t's elements (row-major) stored as `code`. */
function bodyAs(t: Tensor, code: SafetensorsDType, name: string, fn: string): Uint8Array {
  // (checkDtypes matched the code to the tensor: I32 is an int32 tensor's own code.)
  if (code === TO_CODE[t.dtype] || code === "I32") return tensorBytes(t, true);
  const values = t.isContiguous() ? t.data.subarray(t.offset, t.offset + t.size) : t.copyData();
  if (code === "I64") {
    const out = new Uint8Array(8 * t.size);
    int32ToInt64Bytes(values, out);
    return out;
  }
  if (code === "F32" || code === "F64") {
    // float64 → float32 rounds to nearest (a typed-array store); a finite value beyond float32's range is refused.
    const data = code === "F32" ? Float32Array.from(values) : Float64Array.from(values);
    for (let i = 0; i < data.length; i++) {
      if (Number.isFinite(values[i]!) && !Number.isFinite(data[i]!)) {
        throw new ValueError(`${fn}: tensor "${name}" holds ${values[i]} at flat index ${i}, beyond the largest finite F32 value; clamp it first or store F64`);
      }
    }
    return tensorBytes(new Tensor(data, [data.length]), true);
  }
  const out = new Uint8Array(2 * t.size);
  const bad = encodeHalf(values, code, out);
  if (bad >= 0) {
    throw new ValueError(
      `${fn}: tensor "${name}" holds ${values[bad]} at flat index ${bad}, which rounds beyond ${code}'s largest finite value ${HALF_MAX[code]}; clamp it first (or store F32)`,
    );
  }
  return out;
}

interface Entry {
  name: string;
  /** The dtype in the file. */
  code: SafetensorsDType;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Parse safetensors bytes into tensors (fresh storage, not views of
 * `bytes`) and metadata. Everything is validated, and a malformed file
 * raises a FormatError saying what is wrong: too short for the length
 * field, a header length beyond the file or above 100 MB, a header that is
 * not UTF-8 or not a JSON object, an unknown or unsupported dtype, a bad
 * shape, offsets that do not match dtype × shape, that overlap, leave a
 * gap or run past the data, and a data section that is truncated or has
 * bytes after the last tensor.
 */
export function decodeSafetensors(bytes: Uint8Array): DecodedSafetensors {
  const fn = "decodeSafetensors";
  if (!(bytes instanceof Uint8Array)) throw new ValueError(`${fn}: bytes must be a Uint8Array`);
  if (bytes.length < 8) {
    throw new FormatError(`${fn}: the file is too short (${bytes.length} bytes); it must start with an 8-byte header length`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getUint32(4, true) * 4294967296 + view.getUint32(0, true);
  if (n > MAX_HEADER_BYTES) throw new FormatError(`${fn}: header length ${n} is above the limit of ${MAX_HEADER_BYTES} bytes`);
  if (8 + n > bytes.length) {
    throw new FormatError(`${fn}: header length ${n} goes beyond the end of the file (${bytes.length} bytes, so at most ${bytes.length - 8})`);
  }
  const text = utf8Decode(bytes.subarray(8, 8 + n));
  if (text === null) throw new FormatError(`${fn}: the header is not valid UTF-8`);
  if (!text.startsWith("{")) throw new FormatError(`${fn}: the header must be a JSON object starting with "{", got ${JSON.stringify(text.slice(0, 20))}`);
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw new FormatError(`${fn}: the header is not valid JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    throw new FormatError(`${fn}: the header must be a JSON object`);
  }

  let metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (info === null || typeof info !== "object" || Array.isArray(info)) throw new FormatError(`${fn}: "__metadata__" must be an object of strings`);
      for (const [k, v] of Object.entries(info)) {
        if (typeof v !== "string") throw new FormatError(`${fn}: "__metadata__" values must be strings, but "${k}" is ${JSON.stringify(v)}`);
      }
      metadata = Object.fromEntries(Object.entries(info as Record<string, string>));
      continue;
    }
    entries.push(parseEntry(name, info, fn));
  }

  // The ranges, in order of position, must tile [0, data length) exactly.
  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;
  const byPosition = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  for (const e of byPosition) {
    if (e.begin < expected) {
      throw new FormatError(`${fn}: tensor "${e.name}" at data_offsets [${e.begin},${e.end}] overlaps the previous tensor, which ends at ${expected}`);
    }
    if (e.begin > expected) {
      throw new FormatError(`${fn}: tensor "${e.name}" starts at ${e.begin}, leaving a gap after byte ${expected} of the data section`);
    }
    expected = e.end;
  }
  if (expected > dataLength) {
    const last = byPosition[byPosition.length - 1]!;
    throw new FormatError(`${fn}: the data section is truncated: tensor "${last.name}" ends at ${expected} but only ${dataLength} bytes of data follow the header`);
  }
  if (expected < dataLength) {
    throw new FormatError(`${fn}: ${dataLength - expected} unexpected bytes follow the last tensor (the header describes ${expected} bytes of data, the file holds ${dataLength})`);
  }

  const tensors = new Map<string, Tensor>();
  const dtypes = new Map<string, SafetensorsDType>();
  for (const e of byPosition) {
    const count = sizeOf(e.shape);
    const body = bytes.subarray(dataStart + e.begin, dataStart + e.end);
    tensors.set(e.name, new Tensor(decodeBody(body, e, count, fn), e.shape));
    dtypes.set(e.name, e.code);
  }
  return { tensors, metadata, dtypes };
}

/** One tensor's elements from its little-endian bytes: F16/BF16 → float32 (exact), I64 → int32 (when every value fits). */
function decodeBody(body: Uint8Array, e: Entry, count: number, fn: string): Storage {
  if (e.code === "F16" || e.code === "BF16") {
    const out = new Float32Array(count);
    decodeHalf(body, e.code, count, out);
    return out;
  }
  if (e.code === "I64") {
    const r = int64ToInt32(body, count, true, true);
    if (r.bad !== null) {
      throw new FormatError(`${fn}: tensor "${e.name}" (I64) holds ${r.bad.value} at flat index ${r.bad.index}, which does not fit int32; kdgrad reads I64 as int32 only when every value lies in [-2^31, 2^31 - 1]`);
    }
    return r.values;
  }
  return storageFromBytes(body, FROM_CODE[e.code].dtype, count, true);
}

function parseEntry(name: string, info: unknown, fn: string): Entry {
  const where = `${fn}: tensor "${name}"`;
  if (info === null || typeof info !== "object" || Array.isArray(info)) throw new FormatError(`${where} must be described by an object with dtype, shape and data_offsets`);
  const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
  if (typeof dtype !== "string") throw new FormatError(`${where} has no dtype string`);
  // The dtype comes from the file: an own-property test, so that "toString" or "__proto__"
  // is an unknown dtype rather than an Object.prototype member.
  if (!Object.hasOwn(FROM_CODE, dtype)) {
    if (OTHER_CODES.includes(dtype)) throw new FormatError(`${where} has dtype ${dtype}, which kdgrad does not support (it reads F32, F64, I32, F16 and BF16 as float32, and I64 as int32)`);
    throw new FormatError(`${where} has unknown dtype ${JSON.stringify(dtype)}`);
  }
  const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
  if (!Array.isArray(shape) || !shape.every(isCount)) throw new FormatError(`${where} has an invalid shape ${JSON.stringify(shape)} (expected a list of non-negative integers)`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
    throw new FormatError(`${where} has invalid data_offsets ${JSON.stringify(offsets)} (expected [begin, end] with 0 <= begin <= end)`);
  }
  const code = dtype as SafetensorsDType;
  const count = shape.reduce((a: number, b: number) => a * b, 1);
  const need = count * FROM_CODE[code].size;
  const [begin, end] = offsets as [number, number];
  if (!Number.isSafeInteger(need) || end - begin !== need) {
    throw new FormatError(`${where}: data_offsets [${begin},${end}] span ${end - begin} bytes, but dtype ${dtype} with shape ${shapeStr(shape)} needs ${need}`);
  }
  return { name, code, shape, begin, end };
}
