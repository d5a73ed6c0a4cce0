/**
 * randomTranslate: every image is its input moved by one integer shift within ±maxShift with
 * zeros shifted in, the shifts are uniform over the (2s + 1)² choices and drawn per image
 * from the generator (same seed, same result), and the refusals.
 */
import { describe, expect, test } from "vitest";
import { Generator, ShapeError, ValueError, arange, randomTranslate, tensor } from "../../src/index.js";

/** The shift (dy, dx) that maps img to out (H×W, zeros shifted in), or null. */
function shiftOf(img: number[], out: number[], h: number, w: number, s: number): [number, number] | null {
  for (let dy = -s; dy <= s; dy++) {
    for (let dx = -s; dx <= s; dx++) {
      const ok = out.every((v, k) => {
        const r = Math.floor(k / w) - dy, c = (k % w) - dx;
        return v === (r >= 0 && r < h && c >= 0 && c < w ? img[r * w + c]! : 0);
      });
      if (ok) return [dy, dx];
    }
  }
  return null;
}

describe("randomTranslate", () => {
  // Distinct non-zero pixels, so that the shift of each image is determined.
  const n = 2000, h = 5, w = 6;
  const x = arange(1, 1 + n * h * w, 1, { dtype: "float32" }).reshape([n, h * w]);

  test("each image is its input shifted by one (dy, dx) in ±2, every shift about equally often", () => {
    const out = randomTranslate(x, { height: h, width: w, maxShift: 2, generator: new Generator(0) });
    expect(out.shape).toEqual([n, h * w]);
    const xs = x.toFlatArray(), ys = out.toFlatArray();
    const counts = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const s = shiftOf(xs.slice(i * h * w, (i + 1) * h * w), ys.slice(i * h * w, (i + 1) * h * w), h, w, 2);
      expect(s).not.toBeNull();
      counts.set(String(s), (counts.get(String(s)) ?? 0) + 1);
    }
    expect(counts.size).toBe(25);
    // 2000 draws over 25 shifts: 80 each expected, sd ≈ 8.9; ±45 is five standard deviations.
    for (const c of counts.values()) expect(Math.abs(c - 80)).toBeLessThan(45);
  });

  test("check: (dy, dx) = (1, 0) moves row r to row r + 1 and blanks row 0 (found among the draws)", () => {
    const img = tensor([[[1, 2], [3, 4]]], { dtype: "float64" });
    const seen = new Set<string>();
    const g = new Generator(5);
    for (let i = 0; i < 200; i++) seen.add(randomTranslate(img, { maxShift: 1, generator: g }).toFlatArray().join(","));
    expect(seen.has("0,0,1,2")).toBe(true); // dy = 1
    expect(seen.has("1,2,3,4")).toBe(true); // no shift
    expect(seen.has("0,1,0,3")).toBe(true); // dx = 1
    expect(seen.size).toBe(9);
  });

  test("seeded: the same generator state gives the same images; maxShift 0 is the identity", () => {
    const a = randomTranslate(x, { height: h, width: w, generator: new Generator(7) });
    const b = randomTranslate(x, { height: h, width: w, generator: new Generator(7) });
    const c = randomTranslate(x, { height: h, width: w, generator: new Generator(8) });
    expect(a.toFlatArray()).toEqual(b.toFlatArray());
    expect(a.toFlatArray()).not.toEqual(c.toFlatArray());
    expect(randomTranslate(x, { height: h, width: w, maxShift: 0 }).toFlatArray()).toEqual(x.toFlatArray());
  });

  test("refusals name randomTranslate and the argument", () => {
    expect(() => randomTranslate(x, { height: 5 })).toThrow(/^randomTranslate: give height and width together/);
    expect(() => randomTranslate(x, { height: 4, width: 4 })).toThrow(ShapeError);
    expect(() => randomTranslate(x)).toThrow(/^randomTranslate: x must be \[N, H, W\]/);
    expect(() => randomTranslate(x, { height: h, width: w, maxShift: -1 })).toThrow(ValueError);
    expect(() => randomTranslate(x, { height: h, width: w, maxShift: 1.5 })).toThrow(/^randomTranslate: maxShift must be/);
    expect(() => randomTranslate(x, { height: h, width: w, generator: 3 as never })).toThrow(/^randomTranslate: generator must be a Generator/);
    expect(() => randomTranslate(x, { height: h, width: w, shift: 2 } as never)).toThrow(ValueError);
  });
});
