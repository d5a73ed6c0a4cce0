import { describe, expect, test } from "vitest";
import { FormatError, Generator, IndexError, Tensor, ValueError, batches, digitsFromBytes, selectRows, zeros } from "../../src/index.js";

describe("the data helpers check their JavaScript types", () => {
  test("digitsFromBytes(null) is a FormatError saying what was expected", () => {
    for (const bad of [null, undefined, 3]) {
      expect(() => digitsFromBytes(bad as never)).toThrow(FormatError);
      expect(() => digitsFromBytes(bad as never)).toThrow(/^digitsFromBytes: bytes must be an object \{ x, y, split \} holding the files of data\/digits/);
    }
  });

  test("batches: tensors, options and their values", () => {
    const x = zeros([4, 2]);
    const y = zeros([4]);
    expect(() => batches([[1]] as unknown as Tensor, y, { batchSize: 1 })).toThrow(/^batches: x and y must be Tensors, got \[\[1\]\] and a Tensor$/);
    expect(() => batches(x, y, null as never)).toThrow(/^batches: options must be an object with keys among batchSize, shuffle, generator, dropLast, got null$/);
    expect(() => batches(x, y, { batchSize: NaN })).toThrow(/^batches: batchSize must be a positive integer, got NaN$/);
    expect(() => batches(x, y, { batchSize: 2, shuffle: "no" as unknown as boolean })).toThrow(/^batches: shuffle must be true or false, got "no"$/);
    expect(() => batches(x, y, { batchSize: 2, generator: {} as Generator })).toThrow(ValueError);
    expect(() => batches(x, y, { batchSize: 2, generator: {} as Generator })).toThrow(/^batches: generator must be a Generator, got an object$/);
  });

  test("selectRows: indices must be a list of integer rows", () => {
    const t = zeros([3, 2]);
    expect(() => selectRows(t, null as never)).toThrow(/^selectRows: indices must be a list of row indices, got null$/);
    expect(() => selectRows(t, 1 as never)).toThrow(ValueError);
    expect(() => selectRows(t, ["1"] as never)).toThrow(IndexError);
    expect(() => selectRows(t, ["1"] as never)).toThrow(/^selectRows: index "1" at position 0 is out of range for 3 rows$/);
    expect(() => selectRows(3 as never, [0])).toThrow(/^selectRows: t must be a Tensor, got 3$/);
    expect(selectRows(t, Int32Array.from([2, 0])).shape).toEqual([2, 2]);
  });
});
