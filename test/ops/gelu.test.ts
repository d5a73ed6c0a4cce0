/**
 * erf, erfc and gelu against values computed with mpmath at 50 digits:
 *   mp.dps = 50; erf(x), erfc(x); gelu(x) = x·ncdf(x), gelu'(x) = ncdf(x) + x·npdf(x);
 *   tanh form f(x) = x/2·(1 + tanh(√(2/π)(x + 0.044715x³))) and f' by mp.diff
 * (mpmath 1.3.0). The gradient of both forms is also gradchecked here (the
 * exact form is gradchecked again over random shapes by all-ops.test.ts).
 */
import { describe, expect, test } from "vitest";
import { GELU, ValueError, assertGradcheck, gelu, tensor, type Tensor } from "../../src/index.js";
import { erf, erfc, normalCdf } from "../../src/kernels/js/erf.js";
import { expectClose } from "../helpers/close.js";

const ERF: [number, number][] = [
  [-6, -0.99999999999999997848], [-3, -0.99997790950300141456], [-2.4999, -0.99959283009966654862],
  [-1.5, -0.96610514647531072707], [-0.7, -0.67780119383741844228], [-1e-8, -1.1283791670955125599e-8],
  [0, 0], [1e-300, 1.1283791670955126022e-300], [1e-8, 1.1283791670955125599e-8], [0.1, 0.1124629160182848984],
  [0.5, 0.52049987781304653768], [1, 0.84270079294971486934], [1.4999, 0.96609325166229527062],
  [1.5, 0.96610514647531072707], [2, 0.99532226501895273416], [2.5, 0.99959304798255504106],
  [3, 0.99997790950300141456], [4, 0.99999998458274209972], [5.5, 0.99999999999999264215], [6.5, 1],
];
const ERFC: [number, number][] = [
  [-5, 1.9999999999984625402], [-2, 1.9953222650189527342], [-1, 1.8427007929497148693], [0, 1],
  [0.5, 0.47950012218695346232], [1.2, 0.089686021770364631634], [1.5, 0.033894853524689272933],
  [2, 0.0046777349810472658379], [3, 0.000022090496998585441373], [5, 1.5374597944280348502e-12],
  [10, 2.088487583762544757e-45], [15, 7.2129941724512066666e-100], [26, 5.6631924088561428465e-296],
];
/** [x, Φ(x)] (mpmath ncdf). */
const PHI: [number, number][] = [
  [-37, 5.7255712225245768227e-300], [-20, 2.7536241186062336951e-89], [-8, 6.2209605742717841235e-16],
  [-2.2, 0.013903447513498604313], [-2.1, 0.017864420562816552877], [-2.0999, 0.017868819384267360561],
  [-1, 0.15865525393145705141], [0, 0.5], [1, 0.84134474606854294859], [3, 0.99865010196836990547],
];
/** [x, gelu(x), gelu'(x)], exact form. */
const GELU_EXACT: [number, number, number][] = [
  [-10, -7.619853024160526066e-23, -7.6184000964648140857e-22], [-5, -1.4332578593959695584e-6, -7.1469460017922946279e-6],
  [-3, -0.00404969409489028358, -0.011945647204183927], [-1, -0.15865525393145705141, -0.083315470587686298383],
  [-0.25, -0.10032341857926906894, 0.30462664511636397402], [0, 0, 0.5], [0.3, 0.18537342665668578306, 0.7323277668271098549],
  [1, 0.84134474606854294859, 1.0833154705876862984], [2.5, 2.4844758366855596621, 1.0376110859081452082],
  [6, 5.9999999940804741298, 1.0000000354687094539],
];
const GELU_TANH: [number, number, number][] = [
  [-5, -2.2917961966295060456e-7, -1.5463619875325945956e-6], [-1, -0.15880800939172329522, -0.08296408384578255514],
  [0, 0, 0.5], [0.5, 0.34571400982514392204, 0.86736990353464231156], [3, 2.9963626079182269812, 1.0115841666309697262],
];

describe("erf and erfc", () => {
  test("erf is within 1e-15 of mpmath, and within a few ulps relative to its size", () => {
    for (const [x, want] of ERF) {
      const got = erf(x);
      expect(Math.abs(got - want), `erf(${x}) = ${got}, want ${want}`).toBeLessThanOrEqual(Math.max(1e-15 * Math.abs(want), 1e-300));
    }
  });

  // Relative error: 1.5e-14 where erfc is 1 − erf (|x| < 1.5), 2e-15 in the tails (see src/kernels/erf.ts).
  const tolerance = (x: number): number => (Math.abs(x) < 1.5 ? 1.5e-14 : 2e-15);

  test("erfc keeps its relative accuracy far into the tail", () => {
    for (const [x, want] of ERFC) {
      const got = erfc(x);
      expect(Math.abs(got - want) / want, `erfc(${x}) = ${got}, want ${want}`).toBeLessThanOrEqual(tolerance(x));
    }
  });

  test("the normal CDF keeps a few ulps of relative accuracy down to the underflow", () => {
    for (const [x, want] of PHI) {
      const got = normalCdf(x);
      expect(Math.abs(got - want) / want, `normalCdf(${x}) = ${got}, want ${want}`).toBeLessThanOrEqual(tolerance(x * Math.SQRT1_2));
    }
    expect(normalCdf(-40)).toBe(0);
    expect(normalCdf(Infinity)).toBe(1);
    expect(Number.isNaN(normalCdf(NaN))).toBe(true);
  });

  test("symmetry, limits and NaN", () => {
    for (const x of [0.3, 1.7, 2.6, 4]) {
      expect(erf(-x)).toBe(-erf(x));
      expect(Math.abs(erfc(x) + erfc(-x) - 2)).toBeLessThanOrEqual(4e-16);
    }
    expect(erf(Infinity)).toBe(1);
    expect(erf(-Infinity)).toBe(-1);
    expect(erfc(Infinity)).toBe(0);
    expect(erfc(-Infinity)).toBe(2);
    expect(erfc(30)).toBe(0);
    expect(Number.isNaN(erf(NaN)) && Number.isNaN(erfc(NaN))).toBe(true);
    expect(Object.is(erf(-0), -0)).toBe(true);
  });

  test("erf is continuous across the switch between series and fraction (2.5) and erfc across 1.5", () => {
    for (const [f, at] of [[erf, 2.5], [erfc, 1.5], [erfc, -1.5]] as const) {
      const below = f(at - 1e-12);
      const above = f(at + 1e-12);
      expect(Math.abs(above - below)).toBeLessThan(1e-11);
    }
  });
});

const f64 = (v: number[]): Tensor => tensor(v, { dtype: "float64", requiresGrad: true });

describe("gelu", () => {
  for (const [form, table] of [["none", GELU_EXACT], ["tanh", GELU_TANH]] as const) {
    test(`values and slopes match mpmath (${form})`, () => {
      const x = f64(table.map((r) => r[0]));
      const y = gelu(x, form);
      y.sum().backward();
      expectClose(y, table.map((r) => r[1]), { rtol: 2e-15, atol: 0 });
      expectClose(x.grad!, table.map((r) => r[2]), { rtol: 2e-14, atol: 0 });
    });

    test(`gradcheck with a random cotangent (${form})`, () => {
      const x = f64([-4.2, -2.1, -0.9, -0.05, 0.2, 0.7, 1.9, 3.3, 5.1]).reshape(3, 3);
      assertGradcheck((t) => gelu(t, form), [x.detach().requiresGrad_()]);
    });
  }

  test("large negative inputs give tiny negative values, not 0 (erfc, not 1 + erf)", () => {
    const y = gelu(tensor([-10, -20], { dtype: "float64" })).toFlatArray();
    expect(y[0]).toBeLessThan(0);
    expect(y[0]).toBeCloseTo(-7.619853024160526e-23, 35);
    expect(y[1]).toBeLessThan(0);
  });

  test("float32 in, float32 out; int32 and unknown forms are rejected", () => {
    expect(gelu(tensor([1, 2])).dtype).toBe("float32");
    expect(() => gelu(tensor([1], { dtype: "int32" }))).toThrow(/^gelu: input must be float32 or float64, got int32$/);
    expect(() => gelu(tensor([1]), "erf" as "none")).toThrow(ValueError);
    expect(() => gelu(tensor([1]), "erf" as "none")).toThrow(/^gelu: approximate must be "none" or "tanh", got "erf"$/);
  });

  test("the GELU module applies the chosen form", () => {
    const x = tensor([-1, 0.5, 3], { dtype: "float64" });
    expectClose(new GELU().forward(x), gelu(x), { rtol: 0, atol: 0 });
    expectClose(new GELU({ approximate: "tanh" }).forward(x), gelu(x, "tanh"), { rtol: 0, atol: 0 });
    expect(() => new GELU({ approximate: "fast" as "tanh" })).toThrow(/^GELU: approximate must be "none" or "tanh", got "fast"$/);
    expect(new GELU().parameters()).toEqual([]);
  });
});

describe("gelu far out (issue #10, item 8)", () => {
  // d/dx x·Φ(x) = Φ(x) + x·φ(x) tends to 1 as x → +∞ and to 0 as x → −∞; x·φ(x) underflows to 0
  // from |x| ≈ 40. Forming φ(x) = e^{−x²/2}/√(2π) with x² split exactly (Dekker) met ∞ − ∞ once
  // x² overflowed (|x| > 1.34e154), so the gradient was NaN there; PyTorch gives 1 and 0.
  const far = [1e155, 1e200, Number.MAX_VALUE, -1e155, -1e200, -Number.MAX_VALUE];
  test.each(["none", "tanh"] as const)("the gradient is 1 for large positive x and 0 for large negative x (approximate %s)", (approximate) => {
    const x = tensor(far, { dtype: "float64", requiresGrad: true });
    const y = gelu(x, approximate);
    expect(y.toFlatArray().slice(0, 3)).toEqual(far.slice(0, 3));
    expect(y.toFlatArray().slice(3).every((v) => v === 0)).toBe(true);
    y.backward(tensor(far.map(() => 1), { dtype: "float64" }));
    expect(x.grad!.toFlatArray()).toEqual([1, 1, 1, 0, 0, 0]);
  });

  test.each(["none", "tanh"] as const)("the gradient is continuous across the old threshold (approximate %s)", (approximate) => {
    const xs = [38, 40, 1e10, 1e100, 1e154, 1.3e154, 1.4e154];
    const x = tensor([...xs, ...xs.map((v) => -v)], { dtype: "float64", requiresGrad: true });
    gelu(x, approximate).backward(tensor(xs.flatMap(() => [1, 1]), { dtype: "float64" }));
    const g = x.grad!.toFlatArray();
    g.slice(0, xs.length).forEach((v, i) => expect(Math.abs(v - 1), `x = ${xs[i]}`).toBeLessThan(1e-15));
    g.slice(xs.length).forEach((v, i) => expect(Math.abs(v), `x = ${-xs[i]!}`).toBeLessThan(1e-300));
  });

  test("φ(x) with x² formed exactly is 0 (not NaN) once x² overflows, and NaN stays NaN", async () => {
    const { normalPdf } = await import("../../src/kernels/js/erf.js");
    expect([normalPdf(1e155), normalPdf(-1e300), normalPdf(Infinity), normalPdf(Number.MAX_VALUE)]).toEqual([0, 0, 0, 0]);
    expect(Number.isNaN(normalPdf(NaN))).toBe(true);
  });

  test("at ±∞ the gradient is NaN, as PyTorch's (∞·φ(∞) = ∞·0); the forward is ∞ at +∞ and NaN at −∞", () => {
    for (const approximate of ["none", "tanh"] as const) {
      const x = tensor([Infinity, -Infinity], { dtype: "float64", requiresGrad: true });
      const y = gelu(x, approximate);
      expect(y.at(0)).toBe(Infinity);
      expect(Number.isNaN(y.at(1))).toBe(true);
      y.backward(tensor([1, 1], { dtype: "float64" }));
      expect(x.grad!.toFlatArray().every(Number.isNaN), approximate).toBe(true);
    }
  });
});
