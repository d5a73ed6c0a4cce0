/**
 * decodeIdx and kdgrad/node's loadIdx against files written here from the format's
 * description (big-endian sizes and elements after a 4-byte magic number), with values
 * checked by hand where the bytes are short enough to read.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, test } from "vitest";
import { FileError, FormatError, ValueError, decodeIdx } from "../../src/index.js";
import { loadIdx } from "../../src/node/index.js";

type Kind = "u8" | "i8" | "i16" | "i32" | "f32" | "f64";
const TYPE: Record<Kind, [number, number]> = { u8: [0x08, 1], i8: [0x09, 1], i16: [0x0b, 2], i32: [0x0c, 4], f32: [0x0d, 4], f64: [0x0e, 8] };

/** An IDX file: [0, 0, type, n], n big-endian u32 sizes, the values big-endian. */
function idx(kind: Kind, shape: number[], values: number[]): Uint8Array {
  const [type, size] = TYPE[kind];
  const out = new Uint8Array(4 + 4 * shape.length + size * values.length);
  const v = new DataView(out.buffer);
  out.set([0, 0, type, shape.length]);
  shape.forEach((d, i) => v.setUint32(4 + 4 * i, d, false));
  const at = 4 + 4 * shape.length;
  values.forEach((x, i) => {
    const o = at + size * i;
    if (kind === "u8") v.setUint8(o, x);
    else if (kind === "i8") v.setInt8(o, x);
    else if (kind === "i16") v.setInt16(o, x, false);
    else if (kind === "i32") v.setInt32(o, x, false);
    else if (kind === "f32") v.setFloat32(o, x, false);
    else v.setFloat64(o, x, false);
  });
  return out;
}

describe("decodeIdx", () => {
  test("MNIST's label file header, by hand: magic 2049 (0x00000801), count 3, labels 7 2 1", () => {
    const bytes = new Uint8Array([0x00, 0x00, 0x08, 0x01, 0x00, 0x00, 0x00, 0x03, 7, 2, 1]);
    const y = decodeIdx(bytes);
    expect(y.dtype).toBe("int32");
    expect(y.shape).toEqual([3]);
    expect(Array.from(y.toFlatArray())).toEqual([7, 2, 1]);
  });

  test("MNIST's image file layout, by hand: magic 2051, [2, 2, 3], row-major pixels 0…255", () => {
    const pixels = [0, 255, 128, 1, 2, 3, 254, 253, 252, 9, 8, 7];
    const bytes = new Uint8Array([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3, ...pixels]);
    const x = decodeIdx(bytes);
    expect(x.shape).toEqual([2, 2, 3]);
    expect(x.toArray()).toEqual([[[0, 255, 128], [1, 2, 3]], [[254, 253, 252], [9, 8, 7]]]);
  });

  test("every element type, its extremes included, read exactly in its dtype", () => {
    const cases: [Kind, number[], string][] = [
      ["u8", [0, 1, 127, 128, 255], "int32"],
      ["i8", [-128, -1, 0, 1, 127], "int32"],
      ["i16", [-32768, -1, 0, 256, 32767], "int32"],
      ["i32", [-(2 ** 31), -1, 0, 65536, 2 ** 31 - 1], "int32"],
      ["f32", [-0, 1.5, Math.fround(0.1), 3.4028234663852886e38, 1.401298464324817e-45, -Infinity, Infinity], "float32"],
      ["f64", [-0, 0.1, 5e-324, Number.MAX_VALUE, -Infinity, 1 / 3], "float64"],
    ];
    for (const [kind, values, dtype] of cases) {
      const t = decodeIdx(idx(kind, [values.length], values));
      expect(t.dtype, kind).toBe(dtype);
      const got = Array.from(t.toFlatArray());
      expect(got.length, kind).toBe(values.length);
      got.forEach((g, i) => expect(Object.is(g, values[i]), `${kind}[${i}]: ${g} vs ${values[i]}`).toBe(true));
    }
  });

  test("a float NaN stays NaN; a 0-size dimension is an empty tensor of that shape", () => {
    expect(Number.isNaN(decodeIdx(idx("f64", [1], [NaN])).item())).toBe(true);
    const empty = decodeIdx(idx("u8", [0, 28, 28], []));
    expect(empty.shape).toEqual([0, 28, 28]);
    expect(empty.size).toBe(0);
  });

  test("a view into a larger buffer (an offset Uint8Array) reads only its own bytes", () => {
    const file = idx("i16", [2], [-2, 300]);
    const big = new Uint8Array(file.length + 5);
    big.set(file, 3);
    expect(Array.from(decodeIdx(big.subarray(3, 3 + file.length)).toFlatArray())).toEqual([-2, 300]);
  });

  const good = idx("u8", [2, 3], [1, 2, 3, 4, 5, 6]);
  const cases: [string, Uint8Array | unknown, RegExp, typeof FormatError | typeof ValueError][] = [
    ["not bytes", [0, 0, 8, 1], /^decodeIdx: bytes must be a Uint8Array, got /, ValueError],
    ["too short", new Uint8Array([0, 0, 8]), /^decodeIdx: not an IDX file: 3 bytes, shorter than the 4-byte magic number$/, FormatError],
    ["a .npy file", new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]), /^decodeIdx: not an IDX file: its first two bytes must be 0, got 0x93 0x4E$/, FormatError],
    ["unknown type", Uint8Array.from([0, 0, 0x0a, 1, 0, 0, 0, 1, 5]), /^decodeIdx: unknown IDX element type 0x0A \(known: 0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E\)$/, FormatError],
    ["zero dimensions", Uint8Array.from([0, 0, 8, 0]), /^decodeIdx: an IDX file with 0 dimensions/, FormatError],
    ["header cut", good.slice(0, 9), /^decodeIdx: the file ends inside the header: 2 dimensions need 12 bytes, the file has 9$/, FormatError],
    ["data cut", good.slice(0, 15), /^decodeIdx: the data is truncated: shape \[2, 3\] of unsigned byte \(0x08\) needs 6 bytes but 3 follow the header$/, FormatError],
    ["trailing bytes", Uint8Array.from([...good, 9, 9]), /^decodeIdx: 2 unexpected bytes follow the data \(shape \[2, 3\] of unsigned byte \(0x08\) needs 6\)$/, FormatError],
    ["too many elements", Uint8Array.from([0, 0, 8, 2, 0, 1, 0, 0, 0, 1, 0, 0]), /^decodeIdx: shape \[65536, 65536\] has 4294967296 elements, more than one tensor holds/, FormatError],
  ];
  for (const [name, bytes, message, cls] of cases) {
    test(`refused: ${name}`, () => {
      expect(() => decodeIdx(bytes as Uint8Array)).toThrow(cls);
      expect(() => decodeIdx(bytes as Uint8Array)).toThrow(message);
    });
  }
});

describe("kdgrad/node loadIdx", () => {
  const dir = mkdtempSync(join(tmpdir(), "kdgrad-idx-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = idx("f32", [2, 2], [1, -2, 0.5, 8]);

  test("reads a plain file and the same file gzipped, to the same tensor", () => {
    writeFileSync(join(dir, "a-idx2-float"), file);
    writeFileSync(join(dir, "a-idx2-float.gz"), gzipSync(file));
    for (const name of ["a-idx2-float", "a-idx2-float.gz"]) {
      const t = loadIdx(join(dir, name));
      expect(t.dtype).toBe("float32");
      expect(t.toArray()).toEqual([[1, -2], [0.5, 8]]);
    }
  });

  test("a missing file is a FileError; a malformed one or a corrupt gzip stream a FormatError naming loadIdx and the path", () => {
    expect(() => loadIdx(join(dir, "missing"))).toThrow(FileError);
    writeFileSync(join(dir, "cut"), file.slice(0, 13));
    expect(() => loadIdx(join(dir, "cut"))).toThrow(FormatError);
    expect(() => loadIdx(join(dir, "cut"))).toThrow(new RegExp(`^loadIdx: ${JSON.stringify(join(dir, "cut")).replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: the data is truncated`));
    const gz = gzipSync(file);
    writeFileSync(join(dir, "bad.gz"), gz.slice(0, gz.length - 6));
    expect(() => loadIdx(join(dir, "bad.gz"))).toThrow(/^loadIdx: ".*bad\.gz": the gzip stream is corrupt/);
  });
});
