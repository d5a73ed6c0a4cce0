/**
 * F16, BF16 and I64 in safetensors (and '<f2' in .npy), against bytes written in this file from
 * the formats' specifications (IEEE 754 binary16; bfloat16 = the top half of a float32; int64
 * little-endian two's complement), with values computed by hand: the bytes PyTorch writes for
 * torch.float16 / torch.bfloat16 / torch.int64 tensors, and reads back from kdgrad's.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { DTypeError, FormatError, ValueError, decodeNpy, decodeSafetensors, encodeSafetensors, tensor } from "../../src/index.js";
import { bf16Bits, f16Bits, f16ToF32Bits } from "../../src/io/half.js";
import { utf8Encode } from "../../src/io/utf8.js";

const u64 = (n: number): number[] => [n & 255, (n >> 8) & 255, (n >> 16) & 255, n >>> 24, 0, 0, 0, 0];
/** 16-bit words as little-endian bytes. */
const le16 = (words: number[]): number[] => words.flatMap((w) => [w & 255, w >> 8]);
/** A safetensors file from a header text (padded with spaces to 8 bytes) and data bytes. */
function file(headerText: string, data: number[]): Uint8Array {
  const h = utf8Encode(headerText);
  const n = Math.ceil(h.length / 8) * 8;
  return Uint8Array.from([...u64(n), ...h, ...new Array<number>(n - h.length).fill(0x20), ...data]);
}
/** The bits of a float32 value (as stored). */
const bitsOf = (x: Float32Array, i: number): number => new Uint32Array(x.buffer, x.byteOffset, x.length)[i]!;

// (F16 bits, value) by hand: sign·2^(e − 15)·(1 + f/1024), or f·2⁻²⁴ for e = 0.
const F16_CASES: [number, number][] = [
  [0x0000, 0], [0x8000, -0], [0x3c00, 1], [0xc000, -2], [0x3555, 0.333251953125], [0x4248, 3.140625],
  [0x7bff, 65504], [0xfbff, -65504], [0x0400, 2 ** -14], [0x03ff, 1023 * 2 ** -24], [0x0001, 2 ** -24], [0x8001, -(2 ** -24)],
  [0x7c00, Infinity], [0xfc00, -Infinity], [0x3bff, 1 - 2 ** -11], [0x5640, 100],
];
// (BF16 bits, value): sign·2^(e − 127)·(1 + f/128), or f·2⁻¹³³ for e = 0.
const BF16_CASES: [number, number][] = [
  [0x0000, 0], [0x8000, -0], [0x3f80, 1], [0xc000, -2], [0x3eab, 0.333984375], [0x4049, 3.140625],
  [0x7f7f, 3.3895313892515355e38], [0x0080, 2 ** -126], [0x007f, 127 * 2 ** -133], [0x0001, 2 ** -133],
  [0x7f80, Infinity], [0xff80, -Infinity], [0x42c8, 100], [0xc2f7, -123.5],
];

describe("F16 and BF16: decoding is exact", () => {
  test("hand-computed values, ±0, subnormals, the largest finite and ±∞ from a hand-written file", () => {
    const header = `{"h":{"dtype":"F16","shape":[${F16_CASES.length}],"data_offsets":[0,${2 * F16_CASES.length}]},`
      + `"b":{"dtype":"BF16","shape":[${BF16_CASES.length}],"data_offsets":[${2 * F16_CASES.length},${2 * (F16_CASES.length + BF16_CASES.length)}]}}`;
    const decoded = decodeSafetensors(file(header, [...le16(F16_CASES.map((c) => c[0])), ...le16(BF16_CASES.map((c) => c[0]))]));
    const h = decoded.tensors.get("h")!;
    const b = decoded.tensors.get("b")!;
    expect(h.dtype).toBe("float32");
    expect(b.dtype).toBe("float32");
    expect(decoded.dtypes.get("h")).toBe("F16");
    expect(decoded.dtypes.get("b")).toBe("BF16");
    h.toFlatArray().forEach((v, i) => expect(Object.is(v, F16_CASES[i]![1]), `F16 0x${F16_CASES[i]![0].toString(16)}: ${v}`).toBe(true));
    b.toFlatArray().forEach((v, i) => expect(Object.is(v, BF16_CASES[i]![1]), `BF16 0x${BF16_CASES[i]![0].toString(16)}: ${v}`).toBe(true));
  });

  test("NaN keeps its bits: quiet and signalling payloads, either sign", () => {
    const header = '{"h":{"dtype":"F16","shape":[3],"data_offsets":[0,6]},"b":{"dtype":"BF16","shape":[3],"data_offsets":[6,12]}}';
    const decoded = decodeSafetensors(file(header, [...le16([0x7e00, 0x7c01, 0xfe3f]), ...le16([0x7fc0, 0x7f81, 0xffc1])]));
    const h = decoded.tensors.get("h")!.data as Float32Array;
    const b = decoded.tensors.get("b")!.data as Float32Array;
    // F16 fraction f moves up 13 bits: 0x200 → 0x400000 (quiet), 0x001 → 0x2000.
    expect([bitsOf(h, 0), bitsOf(h, 1), bitsOf(h, 2)]).toEqual([0x7fc00000, 0x7f802000, 0xffc7e000]);
    expect([bitsOf(b, 0), bitsOf(b, 1), bitsOf(b, 2)]).toEqual([0x7fc00000, 0x7f810000, 0xffc10000]);
  });

  test("every one of the 65,536 F16 bit patterns is its exact value (against the formula)", () => {
    for (let h = 0; h < 65536; h++) {
      const e = (h >> 10) & 31;
      const f = h & 1023;
      const sign = h & 0x8000 ? -1 : 1;
      const value = e === 31 ? (f === 0 ? sign * Infinity : NaN) : e === 0 ? sign * f * 2 ** -24 : sign * (1 + f / 1024) * 2 ** (e - 15);
      const got = new Float32Array(new Uint32Array([f16ToF32Bits(h)]).buffer)[0]!;
      if (!(Object.is(got, value) || (Number.isNaN(value) && Number.isNaN(got)))) throw new Error(`F16 0x${h.toString(16)}: ${got} ≠ ${value}`);
      // And back: every finite F16 value is encoded to its own bits.
      if (e !== 31 && f16Bits(got) !== h) throw new Error(`F16 0x${h.toString(16)} does not round trip: ${f16Bits(got)}`);
    }
  });
});

describe("F16 and BF16: encoding rounds to nearest, ties to even", () => {
  test("F16: ties, subnormal ties, the top of the range, signed zero, ∞ and NaN", () => {
    const cases: [number, number][] = [
      [1 + 2 ** -11, 0x3c00], // halfway between 1 (even) and 1 + 2⁻¹⁰: down
      [1 + 3 * 2 ** -11, 0x3c02], // halfway between 1 + 2⁻¹⁰ (odd) and 1 + 2⁻⁹: up
      [1 + 2 ** -11 + 2 ** -30, 0x3c01], // just above the tie: up
      [2 ** -25, 0x0000], // half the smallest subnormal: to 0 (even)
      [3 * 2 ** -25, 0x0002], // 1.5·2⁻²⁴: to 2·2⁻²⁴ (even)
      [0.75 * 2 ** -24, 0x0001],
      [1023.5 * 2 ** -24, 0x0400], // the largest subnormal and a half ulp: to the smallest normal
      [65504, 0x7bff], [65519.99, 0x7bff], [-65504, 0xfbff],
      [-0, 0x8000], [0, 0x0000], [Infinity, 0x7c00], [-Infinity, 0xfc00], [NaN, 0x7e00],
      [0.1, 0x2e66], [-1.5e-6, 0x8019],
    ];
    for (const [x, bits] of cases) expect(f16Bits(x), `${x}`).toBe(bits);
    expect(f16Bits(65520)).toBe(-1);
    expect(f16Bits(-1e5)).toBe(-1);
  });

  test("one rounding from float64, not two (float32 first would round this value to the tie)", () => {
    // 1 + 2⁻¹¹ + 2⁻⁴⁰: as a float32 it is exactly the tie 1 + 2⁻¹¹, which goes to even (0x3C00);
    // rounded once, it is above the tie: 0x3C01.
    const x = 1 + 2 ** -11 + 2 ** -40;
    expect(f16Bits(Math.fround(x))).toBe(0x3c00);
    expect(f16Bits(x)).toBe(0x3c01);
    const y = 1 + 2 ** -8 + 2 ** -40;
    expect(bf16Bits(Math.fround(y))).toBe(0x3f80);
    expect(bf16Bits(y)).toBe(0x3f81);
  });

  test("BF16: ties, subnormals, the top of the range, ∞ and NaN (PyTorch's 0x7FC0)", () => {
    const cases: [number, number][] = [
      [1 + 2 ** -8, 0x3f80], [1 + 3 * 2 ** -8, 0x3f82], [3.3895313892515355e38, 0x7f7f], [-3.3895313892515355e38, 0xff7f],
      [2 ** -133, 0x0001], [2 ** -134, 0x0000], [3 * 2 ** -134, 0x0002], [-0, 0x8000], [Infinity, 0x7f80], [NaN, 0x7fc0],
      [1 / 3, 0x3eab], [-123.5, 0xc2f7],
    ];
    for (const [x, bits] of cases) expect(bf16Bits(x), `${x}`).toBe(bits);
    expect(bf16Bits(3.4028234663852886e38)).toBe(-1); // float32's largest is beyond bfloat16's range
    expect(bf16Bits((2 - 2 ** -8) * 2 ** 127)).toBe(-1);
  });

  test("against float32 bit arithmetic (PyTorch's BF16 rounding: add 0x7FFF + the kept lowest bit, drop 16 bits) on random floats", () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true, noDefaultInfinity: true }), (x) => {
        const bits = new Uint32Array(Float32Array.of(x).buffer)[0]!;
        const want = ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
        const got = bf16Bits(x);
        // Where PyTorch's rounds to ∞ (0x7F80/0xFF80) kdgrad reports the overflow instead.
        if ((want & 0x7fff) === 0x7f80) return got === -1;
        return got === want;
      }),
      { numRuns: 3000 },
    );
  });
});

describe("safetensors: F16, BF16 and I64 files", () => {
  test("encoding with dtypes writes the specified bytes, and PyTorch's layout decodes to the same tensors", () => {
    const indices = tensor([[3, 1], [0, -2]], { dtype: "int32" });
    const logprobs = tensor([[-0.5, -1.25], [-2, -65504]], { dtype: "float32" });
    const bytes = encodeSafetensors({ indices, logprobs, half: logprobs }, undefined, { dtypes: { indices: "I64", logprobs: "BF16", half: "F16" } });
    // By hand: int64 little-endian (−2 = FE FF FF FF FF FF FF FF); bfloat16 −0.5 = 0xBF00, −1.25 = 0xBFA0, −2 = 0xC000,
    // and −65504 rounds to −65536 = 0xC780 (its neighbours in bfloat16 are 65280 = (2 − 2⁻⁷)·2¹⁵ and 2¹⁶, and
    // 65504 is nearer 2¹⁶); float16 −0.5 = 0xB800, −1.25 = 0xBD00, −2 = 0xC000, −65504 = 0xFBFF.
    const header = '{"indices":{"dtype":"I64","shape":[2,2],"data_offsets":[0,32]},"logprobs":{"dtype":"BF16","shape":[2,2],"data_offsets":[32,40]},'
      + '"half":{"dtype":"F16","shape":[2,2],"data_offsets":[40,48]}}';
    const data = [
      3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 254, 255, 255, 255, 255, 255, 255, 255,
      ...le16([0xbf00, 0xbfa0, 0xc000, 0xc780]), ...le16([0xb800, 0xbd00, 0xc000, 0xfbff]),
    ];
    expect([...bytes]).toEqual([...file(header, data)]);
    // PyTorch's safetensors writes the same tensors with the header keys sorted and the larger dtypes first;
    // the reader finds tensors by offset.
    const torchHeader = '{"half":{"dtype":"F16","shape":[2,2],"data_offsets":[32,40]},"indices":{"dtype":"I64","shape":[2,2],"data_offsets":[0,32]},'
      + '"logprobs":{"dtype":"BF16","shape":[2,2],"data_offsets":[40,48]}}';
    const torch = decodeSafetensors(file(torchHeader, [...data.slice(0, 32), ...data.slice(40, 48), ...data.slice(32, 40)]));
    expect(torch.tensors.get("indices")!.toArray()).toEqual([[3, 1], [0, -2]]);
    expect(torch.tensors.get("indices")!.dtype).toBe("int32");
    expect(torch.tensors.get("logprobs")!.toArray()).toEqual([[-0.5, -1.25], [-2, -65536]]);
    expect(torch.tensors.get("half")!.toArray()).toEqual([[-0.5, -1.25], [-2, -65504]]);
    expect([...torch.dtypes]).toEqual([["indices", "I64"], ["half", "F16"], ["logprobs", "BF16"]]);
  });

  test("I64 values that do not fit int32 are a FormatError naming the tensor, the flat index and the exact value", () => {
    const header = '{"y":{"dtype":"I64","shape":[3],"data_offsets":[0,24]}}';
    const fits = [255, 255, 255, 127, 0, 0, 0, 0, 0, 0, 0, 128, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255];
    expect(decodeSafetensors(file(header, fits)).tensors.get("y")!.toFlatArray()).toEqual([2 ** 31 - 1, -(2 ** 31), -1]);
    const big = [...fits.slice(0, 16), 0, 0, 0, 128, 0, 0, 0, 0]; // 2³¹
    expect(() => decodeSafetensors(file(header, big))).toThrow(FormatError);
    expect(() => decodeSafetensors(file(header, big))).toThrow(/tensor "y" \(I64\) holds 2147483648 at flat index 2/);
    const huge = [...fits.slice(0, 8), 1, 0, 0, 0, 0, 0, 0, 128, ...fits.slice(16)]; // −2⁶³ + 1
    expect(() => decodeSafetensors(file(header, huge))).toThrow(/holds -9223372036854775807 at flat index 1/);
  });

  test("round trips: any float32 through F32; float32 through BF16/F16 to the nearest representable value; int32 through I64", () => {
    fc.assert(
      fc.property(fc.array(fc.float({ noNaN: true, min: -60000, max: 60000 }), { minLength: 1, maxLength: 20 }), (xs) => {
        const t = tensor(xs, { dtype: "float32" });
        const back = decodeSafetensors(encodeSafetensors({ a: t, b: t }, undefined, { dtypes: { a: "BF16", b: "F16" } })).tensors;
        const a = back.get("a")!.toFlatArray();
        const b = back.get("b")!.toFlatArray();
        // The nearest BF16 (F16) value: within half an ulp; and a value already representable comes back unchanged.
        const again = decodeSafetensors(encodeSafetensors({ a: back.get("a")!, b: back.get("b")! }, undefined, { dtypes: { a: "BF16", b: "F16" } })).tensors;
        return xs.every((x, i) => {
          const ulpB = 2 ** (Math.floor(Math.log2(Math.max(Math.abs(x), 2 ** -126))) - 7);
          const ulpH = 2 ** (Math.floor(Math.log2(Math.max(Math.abs(x), 2 ** -14))) - 10);
          return Math.abs(a[i]! - x) <= ulpB / 2 && Math.abs(b[i]! - x) <= ulpH / 2
            && Object.is(again.get("a")!.toFlatArray()[i], a[i]) && Object.is(again.get("b")!.toFlatArray()[i], b[i]);
        });
      }),
      { numRuns: 200 },
    );
    const ints = tensor([0, 1, -1, 2 ** 31 - 1, -(2 ** 31)], { dtype: "int32" });
    expect(decodeSafetensors(encodeSafetensors({ y: ints }, undefined, { dtypes: { y: "I64" } })).tensors.get("y")!.toFlatArray()).toEqual(ints.toFlatArray());
    // A float64 tensor stored as F32 rounds once to float32.
    const d = decodeSafetensors(encodeSafetensors({ z: tensor([0.1], { dtype: "float64" }) }, undefined, { dtypes: { z: "F32" } })).tensors.get("z")!;
    expect(d.dtype).toBe("float32");
    expect(d.item()).toBe(Math.fround(0.1));
  });

  test("encoding refusals: overflow (with the value, index and limit), a name that is no tensor, a dtype that does not fit the tensor", () => {
    const t = tensor([1, -70000, 2], { dtype: "float32" });
    expect(() => encodeSafetensors({ t }, undefined, { dtypes: { t: "F16" } })).toThrow(ValueError);
    expect(() => encodeSafetensors({ t }, undefined, { dtypes: { t: "F16" } })).toThrow(/tensor "t" holds -70000 at flat index 1, which rounds beyond F16's largest finite value 65504/);
    expect(() => encodeSafetensors({ t: tensor([1e300], { dtype: "float64" }) }, undefined, { dtypes: { t: "BF16" } })).toThrow(/beyond BF16's largest/);
    expect(() => encodeSafetensors({ t: tensor([1e300], { dtype: "float64" }) }, undefined, { dtypes: { t: "F32" } })).toThrow(/beyond the largest finite F32 value/);
    expect(() => encodeSafetensors({ t }, undefined, { dtypes: { u: "F16" } })).toThrow(/options.dtypes names "u", which is not one of the tensors/);
    expect(() => encodeSafetensors({ t }, undefined, { dtypes: { t: "I64" } })).toThrow(DTypeError);
    expect(() => encodeSafetensors({ y: tensor([1], { dtype: "int32" }) }, undefined, { dtypes: { y: "BF16" } })).toThrow(/int32 and cannot be stored as BF16/);
    expect(() => encodeSafetensors({ t }, undefined, { dtypes: { t: "F8_E4M3" as "F16" } })).toThrow(/must be one of F32, F64, F16, BF16, I32, I64/);
    expect(() => encodeSafetensors({ t }, undefined, { dtype: { t: "F16" } } as never)).toThrow(/unknown key "dtype"/);
    // ±∞ and NaN are representable: encoded, not refused.
    const special = decodeSafetensors(encodeSafetensors({ t: tensor([Infinity, -Infinity, NaN]) }, undefined, { dtypes: { t: "F16" } })).tensors.get("t")!;
    expect(special.toFlatArray().slice(0, 2)).toEqual([Infinity, -Infinity]);
    expect(special.toFlatArray()[2]).toBeNaN();
  });
});

describe(".npy: '<f2' and '>f2'", () => {
  test("NumPy's own float16 file (test/fixtures/npy/f2_3.npy, np.array([1, 2, 3], dtype='<f2')) reads as float32", () => {
    const bytes = new Uint8Array(readFileSync(fileURLToPath(new URL("../fixtures/npy/f2_3.npy", import.meta.url))));
    const t = decodeNpy(bytes);
    expect(t.dtype).toBe("float32");
    expect(t.toFlatArray()).toEqual([1, 2, 3]);
  });

  test("float16 arrays read as float32, exactly, in either byte order", () => {
    const npy = (descr: string, body: number[]): Uint8Array => {
      let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (4,), }`;
      dict += " ".repeat(64 - ((10 + dict.length + 1) % 64)) + "\n";
      return Uint8Array.from([0x93, ...utf8Encode("NUMPY"), 1, 0, dict.length & 255, dict.length >> 8, ...utf8Encode(dict), ...body]);
    };
    const words = [0x3c00, 0xc000, 0x0001, 0x7bff];
    expect(decodeNpy(npy("<f2", le16(words))).toFlatArray()).toEqual([1, -2, 2 ** -24, 65504]);
    expect(decodeNpy(npy(">f2", words.flatMap((w) => [w >> 8, w & 255]))).toFlatArray()).toEqual([1, -2, 2 ** -24, 65504]);
    expect(decodeNpy(npy("<f2", le16(words))).dtype).toBe("float32");
  });
});
