import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { FormatError, Tensor, decodeNpy, encodeNpy, tensor, type DType } from "../../src/index.js";
import { shapeArb } from "../arbitraries.js";

const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../fixtures/npy/${name}`, import.meta.url)));
const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));
/** The 2×3 matrix of make_npy.py. */
const M23 = [1.5, -2, 0, Infinity, -Infinity, 3.25];
const I5 = [0, -1, 2147483647, -2147483648, 7];

describe("encodeNpy", () => {
  test("writes exactly the bytes of np.save (same header, spare spaces, padding and data)", () => {
    expect(encodeNpy(tensor(M23, { shape: [2, 3] }))).toEqual(fixture("f4_2x3.npy"));
    expect(encodeNpy(tensor(M23, { shape: [2, 3], dtype: "float64" }))).toEqual(fixture("f8_2x3.npy"));
    expect(encodeNpy(tensor(I5, { dtype: "int32" }))).toEqual(fixture("i4_5.npy"));
    expect(encodeNpy(tensor(2.5, { dtype: "float64" }))).toEqual(fixture("f8_scalar.npy"));
    expect(encodeNpy(tensor([], { shape: [0, 3] }))).toEqual(fixture("f4_0x3.npy"));
    expect(encodeNpy(new Tensor(Float32Array.from({ length: 1000 }, (_, i) => i), [10, 100]))).toEqual(fixture("f4_1000.npy"));
  });

  test("the layout by hand: magic, version 1.0, u16 header length, the dict, padding to 64, then little-endian data", () => {
    const bytes = encodeNpy(tensor([[1, 2]], { dtype: "int32" }));
    const dict = "{'descr': '<i4', 'fortran_order': False, 'shape': (1, 2), }" + " ".repeat(20); // 21 − len("1") spare spaces
    const headerLength = 128 - 10; // 10 + 60 + 20 + 1 (newline) = 91, padded up to the next multiple of 64
    const expected = [
      0x93, ...ascii("NUMPY"), 1, 0, headerLength & 255, headerLength >> 8,
      ...ascii(dict), ...ascii(" ".repeat(headerLength - dict.length - 1)), 0x0a,
      1, 0, 0, 0, 2, 0, 0, 0,
    ];
    expect([...bytes]).toEqual(expected);
    expect((bytes.length - 8) % 64).toBe(0);
  });

  test("a non-contiguous view is written in row-major (C) order", () => {
    const t = tensor([[1, 2, 3], [4, 5, 6]]).T;
    expect(decodeNpy(encodeNpy(t)).toArray()).toEqual([[1, 4], [2, 5], [3, 6]]);
  });

  test("a header over 65535 bytes (here 22,000 axes of size 1, \"1, \" each) switches to version 2.0 (a 4-byte length)", () => {
    const t = Tensor.empty(new Array<number>(22000).fill(1), "float32");
    const bytes = encodeNpy(t);
    expect([bytes[6], bytes[7]]).toEqual([2, 0]);
    expect((new DataView(bytes.buffer).getUint32(8, true) + 12) % 64).toBe(0);
    expect(decodeNpy(bytes).shape).toHaveLength(22000);
  });
});

describe("decodeNpy", () => {
  test("reads NumPy's files: values, shapes and dtypes, in both byte orders and all three versions", () => {
    for (const name of ["f4_2x3.npy", "be_f4_2x3.npy", "v2_f4_2x3.npy", "v3_f4_2x3.npy"]) {
      const t = decodeNpy(fixture(name));
      expect([name, t.dtype, t.shape]).toEqual([name, "float32", [2, 3]]);
      expect(t.toFlatArray()).toEqual(M23);
    }
    for (const name of ["f8_2x3.npy", "be_f8_2x3.npy"]) expect(decodeNpy(fixture(name)).toFlatArray()).toEqual(M23);
    for (const name of ["i4_5.npy", "be_i4_5.npy"]) {
      const t = decodeNpy(fixture(name));
      expect([t.dtype, t.toFlatArray()]).toEqual(["int32", I5]);
    }
    const s = decodeNpy(fixture("f8_scalar.npy"));
    expect([s.shape, s.item()]).toEqual([[], 2.5]);
    expect(decodeNpy(fixture("f4_0x3.npy")).shape).toEqual([0, 3]);
  });

  test("round trips every dtype and shape bit for bit (including NaN payloads and −0)", () => {
    const dtypeArb = fc.constantFrom<DType>("float32", "float64", "int32");
    fc.assert(
      fc.property(shapeArb(0, 4, 4), dtypeArb, fc.uint8Array({ minLength: 2048, maxLength: 2048 }), (shape, dtype, noise) => {
        const t = Tensor.empty(shape, dtype);
        const raw = new Uint8Array(t.data.buffer);
        raw.set(noise.subarray(0, raw.length)); // arbitrary bit patterns: NaNs with payloads, subnormals, −0
        const back = decodeNpy(encodeNpy(t));
        expect(back.dtype).toBe(dtype);
        expect(back.shape).toEqual(shape);
        expect(new Uint8Array(back.data.buffer)).toEqual(raw);
      }),
      { numRuns: 60 },
    );
  });

  const header = (dict: string, version = 1): Uint8Array => {
    const body = dict + "\n";
    return Uint8Array.from([0x93, ...ascii("NUMPY"), version, 0, body.length & 255, body.length >> 8, ...ascii(body)]);
  };
  const withData = (h: Uint8Array, n: number): Uint8Array => {
    const out = new Uint8Array(h.length + n);
    out.set(h);
    return out;
  };

  test("malformed and unsupported files are FormatErrors that say what is wrong", () => {
    const good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
    expect(decodeNpy(withData(header(good), 8)).toFlatArray()).toEqual([0, 0]);
    const cases: [Uint8Array, RegExp][] = [
      [Uint8Array.from(ascii("PK\x03\x04not npy")), /^decodeNpy: not a \.npy file/],
      [Uint8Array.from([0x93, ...ascii("NUMPY")]), /^decodeNpy: not a \.npy file/],
      [withData(header(good, 4), 8), /^decodeNpy: unsupported format version 4\.0/],
      [fixture("f4_2x3.npy").slice(0, 60), /^decodeNpy: header length 118 goes beyond the end of the file \(60 bytes\)$/],
      [fixture("f4_2x3.npy").slice(0, 150), /^decodeNpy: the data is truncated: shape \(2, 3\) of '<f4' needs 24 bytes but 22 follow the header$/],
      [withData(header(good), 9), /^decodeNpy: 1 unexpected bytes follow the data/],
      [fixture("fortran_f4_2x3.npy"), /^decodeNpy: fortran_order True is not supported \(descr '<f4'\)/],
      [withData(header("{'descr': '<i2', 'fortran_order': False, 'shape': (2,), }"), 4), /^decodeNpy: unsupported dtype descr '<i2' \(kdgrad reads '<f4', '<f8', '<i4', '<i8' \(read as int32\), '<u8' \(read as int32\), '<f2' \(read as float32\)/],
      [withData(header("{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }"), 2), /unsupported dtype descr '\|u1'/],
      [withData(header("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }"), 8), /^decodeNpy: cannot parse the header dict/],
      [withData(header("{'descr': '<f4', 'shape': (2,), }"), 8), /^decodeNpy: the header must have exactly the keys descr, fortran_order and shape, got descr, shape$/],
      [withData(header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1, }"), 8), /cannot parse the header dict/],
      [withData(header("{'descr': '<f4', 'fortran_order': False, 'shape': (2), }"), 8), /a 1-tuple needs a trailing comma/],
      [withData(header("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }"), 8), /expected an integer/],
      [withData(header("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }"), 8), /cannot parse the header dict/],
      [withData(header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } extra"), 8), /unexpected text after the dict/],
    ];
    for (const [bytes, message] of cases) {
      expect(() => decodeNpy(bytes)).toThrow(FormatError);
      expect(() => decodeNpy(bytes)).toThrow(message);
    }
  });

  test("8-byte integers ('<i8', NumPy's default, '<u8', and their '>' forms) are read as int32 when every value fits", () => {
    expect([decodeNpy(fixture("i8_3.npy")).dtype, decodeNpy(fixture("i8_3.npy")).toFlatArray()]).toEqual(["int32", [1, 2, 3]]);
    for (const name of ["i8_5.npy", "be_i8_5.npy"]) {
      const t = decodeNpy(fixture(name));
      expect([name, t.dtype, t.shape, t.toFlatArray()]).toEqual([name, "int32", [5], I5]);
    }
    for (const name of ["u8_4.npy", "be_u8_4.npy"]) expect(decodeNpy(fixture(name)).toFlatArray()).toEqual([0, 1, 2147483647, 7]);
  });

  test("an 8-byte integer outside int32 is a FormatError naming the first such value exactly, and its flat index", () => {
    const cases: [string, RegExp][] = [
      ["i8_big.npy", /^decodeNpy: '<i8' value 2147483648 at flat index 1 does not fit int32/],
      ["i8_small.npy", /^decodeNpy: '<i8' value -2147483649 at flat index 1 does not fit int32/],
      ["i8_min.npy", /^decodeNpy: '<i8' value -9223372036854775808 at flat index 0 does not fit int32/],
      ["u8_big.npy", /^decodeNpy: '<u8' value 2147483648 at flat index 1 does not fit int32/],
      ["be_u8_max.npy", /^decodeNpy: '>u8' value 18446744073709551615 at flat index 0 does not fit int32/],
    ];
    for (const [name, message] of cases) {
      expect(() => decodeNpy(fixture(name)), name).toThrow(FormatError);
      expect(() => decodeNpy(fixture(name)), name).toThrow(message);
    }
  });

  test("a descr named like an Object.prototype member is an unsupported descr, not a TypeError", () => {
    for (const name of ["toString", "constructor", "__proto__", "hasOwnProperty", "valueOf"]) {
      const bytes = withData(header(`{'descr': '<${name}', 'fortran_order': False, 'shape': (1,), }`), 4);
      expect(() => decodeNpy(bytes), name).toThrow(FormatError);
      expect(() => decodeNpy(bytes), name).toThrow(new RegExp(`^decodeNpy: unsupported dtype descr '<${name}'`));
    }
  });

  test("Python 2 long integers in the shape are accepted", () => {
    expect(decodeNpy(withData(header("{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 1L), }"), 8)).shape).toEqual([2, 1]);
  });
});
