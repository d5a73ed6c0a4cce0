/**
 * kdgrad/testing's assertions: allClose with NumPy's semantics (asymmetric tolerance,
 * broadcasting, infinities, NaN), assertClose's message (count, worst element with its index
 * and both values, first element), assertFinite's, and refusals of bad input.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { DTypeError, ShapeError, ValueError, tensor } from "../../src/index.js";
import { AssertionError, allClose, assertClose, assertFinite, closeReport } from "../../src/testing/index.js";

describe("allClose: NumPy's allclose", () => {
  test("|a − b| ≤ atol + rtol·|b|, with b the reference (not symmetric)", () => {
    expect(allClose(1, 1.105, { rtol: 0.1, atol: 0 })).toBe(true); // 0.105 ≤ 0.1105
    expect(allClose(1.105, 1, { rtol: 0.1, atol: 0 })).toBe(false); // 0.105 > 0.1
  });

  test("defaults rtol 1e-5 and atol 1e-8, as NumPy", () => {
    expect(allClose(1 + 1e-5, 1)).toBe(true);
    expect(allClose(1 + 1.2e-5, 1)).toBe(false);
    expect(allClose(1e-8, 0)).toBe(true);
    expect(allClose(2e-8, 0)).toBe(false);
  });

  test("infinities are close only to themselves; NaN only to NaN, and only with equalNan", () => {
    expect(allClose(Infinity, Infinity)).toBe(true);
    expect(allClose(-Infinity, -Infinity)).toBe(true);
    expect(allClose(Infinity, -Infinity)).toBe(false);
    expect(allClose(1e308, Infinity)).toBe(false);
    expect(allClose(Infinity, 1e308, { rtol: 1 })).toBe(false);
    expect(allClose(NaN, NaN)).toBe(false);
    expect(allClose(NaN, NaN, { equalNan: true })).toBe(true);
    expect(allClose(NaN, 1, { equalNan: true })).toBe(false);
    expect(allClose([1, NaN], [1, NaN], { equalNan: true })).toBe(true);
  });

  test("broadcasts, as NumPy: [[1, 2], [1, 2.1]] against [1, 2] and against a scalar", () => {
    expect(allClose([[1, 2], [1, 2]], [1, 2])).toBe(true);
    expect(allClose([[1, 2], [1, 2.1]], [1, 2])).toBe(false);
    expect(allClose(tensor([[3, 3]], { dtype: "float64" }), 3)).toBe(true);
    expect(allClose(tensor([[1], [2]]), tensor([1, 1, 1]), { atol: 1 })).toBe(true);
    expect(closeReport(tensor([[1], [2]]), tensor([1, 1, 1])).shape).toEqual([2, 3]);
  });

  test("agrees with the element-wise formula on drawn arrays (a float32 side compared in float64)", () => {
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.double({ min: -10, max: 10, noNaN: true }), fc.double({ min: -1e-3, max: 1e-3, noNaN: true })), { minLength: 1, maxLength: 20 }),
      fc.double({ min: 0, max: 1e-3, noNaN: true }), fc.double({ min: 0, max: 1e-3, noNaN: true }),
      (pairs, rtol, atol) => {
        const a = pairs.map(([x, d]) => x + d);
        const b = pairs.map(([x]) => x);
        const want = pairs.every((_, i) => Math.abs(a[i]! - b[i]!) <= atol + rtol * Math.abs(b[i]!));
        expect(allClose(a, b, { rtol, atol })).toBe(want);
        const a32 = tensor(a, { dtype: "float32" });
        const want32 = a32.toFlatArray().every((x, i) => Math.abs(x - b[i]!) <= atol + rtol * Math.abs(b[i]!));
        expect(allClose(a32, b, { rtol, atol })).toBe(want32);
      }));
  });

  test("refuses shapes that do not broadcast (ShapeError) and degenerate tolerances (ValueError), naming allClose", () => {
    expect(() => allClose([1, 2], [1, 2, 3])).toThrow(ShapeError);
    expect(() => allClose([1, 2], [1, 2, 3])).toThrow(/^allClose: cannot broadcast \[2\] with \[3\]/);
    for (const bad of [{ rtol: -1 }, { atol: NaN }, { atol: Infinity }, { rtol: "1e-5" }]) {
      expect(() => allClose(1, 1, bad as never)).toThrow(ValueError);
      expect(() => allClose(1, 1, bad as never)).toThrow(/^allClose: (rtol|atol) must be a finite number >= 0/);
    }
    expect(() => allClose(1, 1, { equalNan: 1 as never })).toThrow(/^allClose: equalNan must be true or false, got 1/);
    expect(() => allClose("1" as never, 1)).toThrow(/^allClose: a must be a Tensor, a number or nested arrays/);
  });
});

describe("assertClose", () => {
  test("passes silently when close; a number expected is broadcast", () => {
    expect(() => assertClose(tensor([[1, 2]]), [[1, 2 + 1e-9]])).not.toThrow();
    expect(() => assertClose(tensor([[0, 0], [0, 0]]), 0)).not.toThrow();
  });

  test("names the count, the worst element with its index and both values, and the first mismatch", () => {
    const actual = tensor([[0, 1.001, 2], [3, 4, 5.5]], { dtype: "float64" });
    const expected = tensor([[0, 1, 2], [3, 4, 5]], { dtype: "float64" });
    let message = "";
    try {
      assertClose(actual, expected, { rtol: 1e-6, atol: 0, name: "logits.grad" });
    } catch (e) {
      expect(e).toBeInstanceOf(AssertionError);
      expect((e as Error).name).toBe("AssertionError");
      message = (e as Error).message;
    }
    expect(message).toMatch(/^assertClose: logits\.grad: 2 of 6 elements are not close \(rtol 0\.000001, atol 0\); shape \[2,3\]/);
    expect(message).toMatch(/worst at \[1, 2\]: actual 5\.5, expected 5, \|actual − expected\| 5\.00e-1 > allowed 5\.00e-6 \(1\.00e\+5× the tolerance\)/);
    expect(message).toMatch(/first at \[0, 1\]: actual 1\.001, expected 1,/);
  });

  test("a non-finite mismatch is the worst; NaN against NaN needs equalNan", () => {
    expect(() => assertClose([1, NaN, 3.5], [1, 2, 3])).toThrow(/worst at \[1\]: actual NaN, expected 2, not close/);
    expect(() => assertClose([NaN], [NaN])).toThrow(AssertionError);
    expect(() => assertClose([NaN], [NaN], { equalNan: true })).not.toThrow();
  });

  test("different shapes fail (broadcasting would hide a [4, 1] against a [4]), naming both", () => {
    expect(() => assertClose(tensor([[1], [2]]), tensor([1, 2]))).toThrow(/^assertClose: actual has shape \[2,1\] but expected has shape \[2\]$/);
  });
});

describe("assertFinite", () => {
  test("passes on finite values; names the count, the first index and its value otherwise", () => {
    expect(() => assertFinite(tensor([[1, -1e308]], { dtype: "float64" }))).not.toThrow();
    expect(() => assertFinite(tensor([[1, 2], [-Infinity, NaN]], { dtype: "float64" }), { name: "∂loss/∂x" }))
      .toThrow(/^assertFinite: ∂loss\/∂x \[2,2\] has 2 non-finite of 4 elements; the first at \[1, 0\] is -Infinity$/);
    expect(() => assertFinite(NaN)).toThrow(/^assertFinite: the tensor \[\] has 1 non-finite of 1 elements; the first at \[\] is NaN$/);
  });
});

// Found by the fuzz suite (test/fuzz, rows testing:*): before, options went unchecked, nested
// arrays were read by `tensor` (whose name the refusal carried), and assertFinite's name was
// printed whatever it was.
describe("refusals: options through the options checker, values read under the function's own name", () => {
  test("an unknown option key or a null one is refused, by every assertion", () => {
    expect(() => allClose(1, 1, { rtl: 1 } as never)).toThrow(/^allClose: unknown key "rtl" in options \(allowed: rtol, atol, equalNan\)$/);
    expect(() => closeReport(1, 1, { atol: null } as never)).toThrow(/^closeReport: options\.atol is null; leave it out for the default$/);
    expect(() => assertClose(1, 1, { nmae: "x" } as never)).toThrow(/^assertClose: unknown key "nmae" in options \(allowed: rtol, atol, equalNan, name\)$/);
    expect(() => assertFinite(1, { name: null } as never)).toThrow(/^assertFinite: options\.name is null/);
    expect(() => assertFinite(1, { keepdim: true } as never)).toThrow(ValueError);
    expect(() => allClose(1, 1, 1e-5 as never)).toThrow(/^allClose: options must be an object/);
  });

  test("ragged or non-numeric nested arrays and typed arrays are refused naming the function called", () => {
    expect(() => allClose([[1], [1, 2]], [1])).toThrow(ShapeError);
    expect(() => allClose([[1], [1, 2]], [1])).toThrow(/^allClose: a is ragged \(\[1\] and \[2\] at depth 1\)$/);
    expect(() => closeReport([1], ["1"] as never)).toThrow(DTypeError);
    expect(() => closeReport([1], ["1"] as never)).toThrow(/^closeReport: expected must hold only numbers and arrays, got "1" at depth 1$/);
    expect(() => assertClose([null] as never, [1])).toThrow(/^assertClose: actual must hold only numbers and arrays, got null/);
    expect(() => assertFinite(new Float64Array(2) as never)).toThrow(/^assertFinite: t must be a Tensor, a number or nested arrays of numbers, got a Float64Array$/);
  });

  test("assertClose refuses bad tolerances before it compares shapes; assertFinite's name must be a string", () => {
    expect(() => assertClose([1], [1, 2], { rtol: -1 })).toThrow(/^assertClose: rtol must be a finite number >= 0, got -1$/);
    expect(() => assertFinite([NaN], { name: 3 as never })).toThrow(/^assertFinite: name must be a string, got 3$/);
  });
});
