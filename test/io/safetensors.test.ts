import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { FormatError, Tensor, ValueError, decodeSafetensors, encodeSafetensors, tensor, type DType } from "../../src/index.js";
import { shapeArb } from "../arbitraries.js";
import { utf8Decode, utf8Encode } from "../../src/io/utf8.js";

const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));
const u64 = (n: number): number[] => [n & 255, (n >> 8) & 255, (n >> 16) & 255, n >>> 24, 0, 0, 0, 0];
const f32 = (values: number[]): number[] => [...new Uint8Array(Float32Array.from(values).buffer)];
/** A file from a header text (padded to 8 bytes with spaces) and raw data bytes. */
function file(headerText: string, data: number[] = [], pad = true): Uint8Array {
  const h = utf8Encode(headerText);
  const n = pad ? Math.ceil(h.length / 8) * 8 : h.length;
  return Uint8Array.from([...u64(n), ...h, ...new Array<number>(n - h.length).fill(0x20), ...data]);
}

describe("encodeSafetensors: the exact layout", () => {
  test("one F32 tensor: the reference implementation's own test vector, byte for byte", () => {
    // {"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}} is 65 bytes, padded with 7 spaces to 72;
    // then the six float32 values 0..5, little-endian (1 = 00 00 80 3f).
    const bytes = encodeSafetensors(new Map([["attn0", tensor([0, 1, 2, 3, 4, 5], { shape: [1, 1, 2, 3] })]]));
    expect([...bytes]).toEqual([
      72, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 48, 34, 58, 123, 34, 100, 116,
      121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58,
      91, 49, 44, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102,
      115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 32, 32, 32, 32, 32,
      32, 32, 0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0,
      160, 64,
    ]);
  });

  test("no tensors, with and without metadata; metadata comes first", () => {
    expect([...encodeSafetensors(new Map())]).toEqual([8, 0, 0, 0, 0, 0, 0, 0, ...ascii("{}      ")]);
    // {"__metadata__":{"framework":"pt"}} is 35 bytes, padded to 40.
    expect([...encodeSafetensors({}, { framework: "pt" })]).toEqual([40, 0, 0, 0, 0, 0, 0, 0, ...ascii('{"__metadata__":{"framework":"pt"}}     ')]);
  });

  test("several tensors are laid out contiguously in the order given, offsets relative to the data section", () => {
    const bytes = encodeSafetensors({ b: tensor([7], { dtype: "int32" }), a: tensor([[0.5, -1]], { dtype: "float64" }), c: tensor([1, 2]) }, { k: "v" });
    const header = '{"__metadata__":{"k":"v"},"b":{"dtype":"I32","shape":[1],"data_offsets":[0,4]},'
      + '"a":{"dtype":"F64","shape":[1,2],"data_offsets":[4,20]},"c":{"dtype":"F32","shape":[2],"data_offsets":[20,28]}}';
    const data = [7, 0, 0, 0, ...new Uint8Array(Float64Array.from([0.5, -1]).buffer), ...f32([1, 2])];
    expect([...bytes]).toEqual([...file(header, data)]);
  });

  test("names that look like integers keep their given order (no JSON.stringify reordering)", () => {
    const t = tensor([1]);
    const decoded = decodeSafetensors(encodeSafetensors(new Map([["10", t], ["2", t], ["x", t], ["0", t]])));
    expect([...decoded.tensors.keys()]).toEqual(["10", "2", "x", "0"]);
  });

  test("views are written in row-major order", () => {
    const t = tensor([[1, 2, 3], [4, 5, 6]]).T;
    expect(decodeSafetensors(encodeSafetensors({ t })).tensors.get("t")!.toArray()).toEqual([[1, 4], [2, 5], [3, 6]]);
    const sliced = tensor([[1, 2, 3], [4, 5, 6]]).slice(0, 1, 2);
    expect(decodeSafetensors(encodeSafetensors({ sliced })).tensors.get("sliced")!.toArray()).toEqual([[4, 5, 6]]);
  });

  test("bad arguments are ValueErrors", () => {
    expect(() => encodeSafetensors({ a: [1, 2] as unknown as Tensor })).toThrow(/^encodeSafetensors: "a" is not a Tensor$/);
    expect(() => encodeSafetensors({ __metadata__: tensor([1]) })).toThrow(/^encodeSafetensors: "__metadata__" is reserved/);
    expect(() => encodeSafetensors({}, { epoch: 3 as unknown as string })).toThrow(ValueError);
    expect(() => encodeSafetensors({}, { epoch: 3 as unknown as string })).toThrow(/^encodeSafetensors: metadata values must be strings, but "epoch" is number$/);
  });
});

describe("decodeSafetensors", () => {
  const dtypeArb = fc.constantFrom<DType>("float32", "float64", "int32");
  const entryArb = fc.record({ shape: shapeArb(0, 3, 4), dtype: dtypeArb, noise: fc.uint8Array({ minLength: 512, maxLength: 512 }) });

  test("round trips names, order, dtypes, shapes, metadata and every bit of the data", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 8 }).filter((s) => s !== "__metadata__"), { maxLength: 6 }),
        fc.array(entryArb, { minLength: 6, maxLength: 6 }),
        fc.option(fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 10 })), { nil: undefined }),
        (names, entries, metadata) => {
          const tensors = new Map<string, Tensor>();
          names.forEach((name, i) => {
            const { shape, dtype, noise } = entries[i]!;
            const t = Tensor.empty(shape, dtype);
            new Uint8Array(t.data.buffer).set(noise.subarray(0, t.data.byteLength)); // any bit pattern, NaN payloads included
            tensors.set(name, t);
          });
          const bytes = encodeSafetensors(tensors, metadata);
          expect(new DataView(bytes.buffer).getUint32(0, true) % 8).toBe(0);
          const back = decodeSafetensors(bytes);
          expect([...back.tensors.keys()]).toEqual(names);
          for (const [name, t] of tensors) {
            const u = back.tensors.get(name)!;
            expect([u.dtype, u.shape]).toEqual([t.dtype, t.shape]);
            expect(new Uint8Array(u.data.buffer, u.data.byteOffset, u.data.byteLength)).toEqual(new Uint8Array(t.data.buffer));
          }
          expect(back.metadata).toEqual(metadata ?? {});
        },
      ),
      { numRuns: 60 },
    );
  });

  test("reads files laid out in another order (as PyTorch's writer sorts by dtype, then name), with unaligned float64", () => {
    const header = '{"z":{"dtype":"F64","shape":[1],"data_offsets":[4,12]},"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    const data = [...f32([1.5]), ...new Uint8Array(Float64Array.from([-2.25]).buffer)];
    const { tensors, metadata } = decodeSafetensors(file(header, data));
    expect([...tensors.keys()]).toEqual(["a", "z"]); // by position in the data
    expect(tensors.get("a")!.item()).toBe(1.5);
    expect(tensors.get("z")!.item()).toBe(-2.25);
    expect(metadata).toEqual({ format: "pt" });
  });

  test("decoded tensors own their storage", () => {
    const bytes = encodeSafetensors({ a: tensor([1, 2]) });
    const t = decodeSafetensors(bytes).tensors.get("a")!;
    bytes.fill(0);
    expect(t.toFlatArray()).toEqual([1, 2]);
  });

  test("empty tensors and scalars", () => {
    const back = decodeSafetensors(encodeSafetensors({ e: tensor([], { shape: [0, 3] }), s: tensor(4, { dtype: "float64" }), f: tensor([], { shape: [2, 0] }) }));
    expect(back.tensors.get("e")!.shape).toEqual([0, 3]);
    expect(back.tensors.get("s")!.shape).toEqual([]);
    expect(back.tensors.get("s")!.item()).toBe(4);
  });

  test("a header whose length is not a multiple of 8 (the format allows it; not every writer pads) is read as it is", () => {
    // The spec: 8 bytes of N (u64 little-endian), N bytes of JSON, then the data. Here N = 107
    // (107 mod 8 = 3), so the data section starts at byte 115, not 8-aligned, and holds
    // "a" = float32 [1.5, −2] (1.5 = 0x3fc00000, −2 = 0xc0000000, little-endian) and "b" = int32 −7.
    const json = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I32","shape":[],"data_offsets":[8,12]}}';
    expect(json.length).toBe(107);
    const bytes = Uint8Array.from([
      107, 0, 0, 0, 0, 0, 0, 0,
      ...ascii(json),
      0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0xc0,
      0xf9, 0xff, 0xff, 0xff,
    ]);
    expect(bytes.length).toBe(8 + 107 + 12);
    const { tensors, metadata } = decodeSafetensors(bytes);
    expect([...tensors.keys()]).toEqual(["a", "b"]);
    expect([tensors.get("a")!.dtype, tensors.get("a")!.shape, tensors.get("a")!.toFlatArray()]).toEqual(["float32", [2], [1.5, -2]]);
    expect([tensors.get("b")!.dtype, tensors.get("b")!.shape, tensors.get("b")!.item()]).toEqual(["int32", [], -7]);
    expect(metadata).toEqual({});
  });

  test("a dtype named like an Object.prototype member is an unknown dtype (FormatError), not a TypeError", () => {
    for (const name of ["toString", "constructor", "__proto__", "hasOwnProperty", "valueOf"]) {
      const bytes = file(`{"w":{"dtype":"${name}","shape":[1],"data_offsets":[0,4]}}`, f32([1]));
      expect(() => decodeSafetensors(bytes), name).toThrow(FormatError);
      expect(() => decodeSafetensors(bytes), name).toThrow(`decodeSafetensors: tensor "w" has unknown dtype "${name}"`);
    }
    // Tensor names and metadata keys from the file are plain keys too.
    const named = decodeSafetensors(file('{"__metadata__":{"__proto__":"x"},"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', f32([2])));
    expect(named.tensors.get("__proto__")!.item()).toBe(2);
    expect(Object.hasOwn(named.metadata, "__proto__")).toBe(true);
  });

  test("every kind of malformed file is a FormatError that says what is wrong", () => {
    const one = (info: string, data: number[] = f32([1])): Uint8Array => file(`{"w":${info}}`, data);
    const ok = '{"dtype":"F32","shape":[1],"data_offsets":[0,4]}';
    expect(decodeSafetensors(one(ok)).tensors.get("w")!.item()).toBe(1);
    const big = Uint8Array.from(u64(0));
    new DataView(big.buffer).setUint32(0, 200_000_000, true);
    const cases: [Uint8Array, RegExp][] = [
      [Uint8Array.from([1, 2, 3]), /^decodeSafetensors: the file is too short \(3 bytes\); it must start with an 8-byte header length$/],
      [Uint8Array.from([...u64(64), ...ascii("{}")]), /^decodeSafetensors: header length 64 goes beyond the end of the file \(10 bytes, so at most 2\)$/],
      [big, /^decodeSafetensors: header length 200000000 is above the limit of 100000000 bytes$/],
      [Uint8Array.from([...u64(4), 0x7b, 0xff, 0x7d, 0x20]), /^decodeSafetensors: the header is not valid UTF-8$/],
      [file(' {"w": 1}'), /^decodeSafetensors: the header must be a JSON object starting with "\{"/],
      [file('{"w": '), /^decodeSafetensors: the header is not valid JSON/],
      [file("{}[]"), /^decodeSafetensors: the header is not valid JSON/],
      [one('{"dtype":"Q8","shape":[1],"data_offsets":[0,4]}'), /^decodeSafetensors: tensor "w" has unknown dtype "Q8"$/],
      [one('{"dtype":"I16","shape":[2],"data_offsets":[0,4]}'), /^decodeSafetensors: tensor "w" has dtype I16, which kdgrad does not support \(it reads F32, F64, I32, F16 and BF16 as float32, and I64 as int32\)$/],
      [one('{"dtype":"F16","shape":[2],"data_offsets":[0,8]}'), /^decodeSafetensors: tensor "w": data_offsets \[0,8\] span 8 bytes, but dtype F16 with shape \[2\] needs 4$/],
      [one('{"shape":[1],"data_offsets":[0,4]}'), /^decodeSafetensors: tensor "w" has no dtype string$/],
      [one('{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}'), /^decodeSafetensors: tensor "w" has an invalid shape \[-1\]/],
      [one('{"dtype":"F32","shape":[1],"data_offsets":[4,0]}'), /^decodeSafetensors: tensor "w" has invalid data_offsets \[4,0\]/],
      [one('{"dtype":"F32","shape":[1],"data_offsets":[0]}'), /has invalid data_offsets \[0\]/],
      [one('{"dtype":"F32","shape":[2],"data_offsets":[0,4]}'), /^decodeSafetensors: tensor "w": data_offsets \[0,4\] span 4 bytes, but dtype F32 with shape \[2\] needs 8$/],
      [one('{"dtype":"F32","shape":[1],"data_offsets":[0,4]}', f32([1]).slice(0, 3)), /^decodeSafetensors: the data section is truncated: tensor "w" ends at 4 but only 3 bytes of data follow the header$/],
      [one('{"dtype":"F32","shape":[1],"data_offsets":[4,8]}', f32([1, 2])), /^decodeSafetensors: tensor "w" starts at 4, leaving a gap after byte 0 of the data section$/],
      [one('{"dtype":"F32","shape":[1],"data_offsets":[0,4]}', f32([1, 2])), /^decodeSafetensors: 4 unexpected bytes follow the last tensor \(the header describes 4 bytes of data, the file holds 8\)$/],
      [file('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', f32([1, 2])), /^decodeSafetensors: tensor "b" at data_offsets \[4,8\] overlaps the previous tensor, which ends at 8$/],
      [file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', f32([1])), /overlaps the previous tensor/],
      [file('{"__metadata__":{"epoch":3}}'), /^decodeSafetensors: "__metadata__" values must be strings, but "epoch" is 3$/],
      [file('{"__metadata__":"pt"}'), /^decodeSafetensors: "__metadata__" must be an object of strings$/],
      [file('{"w":[1,2]}'), /^decodeSafetensors: tensor "w" must be described by an object/],
    ];
    for (const [bytes, message] of cases) {
      expect(() => decodeSafetensors(bytes)).toThrow(FormatError);
      expect(() => decodeSafetensors(bytes)).toThrow(message);
    }
  });
});

describe("utf8", () => {
  test("encodes like TextEncoder and decodes strictly like a fatal TextDecoder", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        const bytes = utf8Encode(s);
        expect(bytes).toEqual(new TextEncoder().encode(s));
        expect(utf8Decode(bytes)).toBe(new TextDecoder().decode(bytes));
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), (bytes) => {
        let want: string | null;
        try {
          want = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
        } catch {
          want = null;
        }
        expect(utf8Decode(bytes)).toBe(want);
      }),
      { numRuns: 500 },
    );
  });
});
