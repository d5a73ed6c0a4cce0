/**
 * linearDistillationLoss against the unfused path (matmul, then distillationLoss): the loss and
 * the gradients of all four matrices and of a temperature tensor, in float64 to 1e-10 for random
 * shapes, options, chunk sizes and ignored rows; in float32 (the backend's matmul and
 * distillation kernels) to float32 accuracy; across several vocabulary blocks; the typed errors;
 * the non-finite policy.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  DTypeError, Generator, ShapeError, Tensor, ValueError, distillationLoss, linearDistillationLoss, matmul, randn, tensor,
  type LinearDistillationOptions,
} from "../../src/index.js";

interface Problem {
  h: Tensor;
  w: Tensor;
  th: Tensor;
  tw: Tensor;
  labels: Tensor;
}

function problem(seed: number, N: number, H: number, Ht: number, V: number, dtype: "float32" | "float64", ignore: boolean): Problem {
  const g = new Generator(seed);
  const r = (shape: number[], s: number): Tensor => randn(shape, { generator: g, dtype: "float64" }).mul(s).to(dtype);
  const labels = tensor(Int32Array.from({ length: N }, () => (ignore && g.below(3) === 0 ? -100 : g.below(V))), { shape: [N] });
  return { h: r([N, H], 1), w: r([V, H], 1), th: r([N, Ht], 1.5), tw: r([V, Ht], 1), labels };
}

interface Result {
  loss: Tensor;
  grads: (Tensor | null)[];
}

/**
 * The loss and the gradients of hidden, weight, (teacherHidden, teacherWeight when `teacherGrad`)
 * and the temperature (when it is a tensor), for an upstream drawn at random for "none".
 */
function evaluate(fused: boolean, p: Problem, options: LinearDistillationOptions, teacherGrad: boolean, seed: number): Result {
  const leaves = [p.h, p.w, p.th, p.tw].map((x, i) => (i < 2 || teacherGrad ? x.detach().requiresGrad_() : x.detach()));
  const T = options.temperature instanceof Tensor ? options.temperature.detach().requiresGrad_() : options.temperature;
  const o = { ...options, temperature: T };
  const [h, w, th, tw] = leaves as [Tensor, Tensor, Tensor, Tensor];
  let loss: Tensor;
  if (fused) loss = linearDistillationLoss(h, w, th, tw, o);
  else {
    const { chunkRows: _, ...rest } = o;
    loss = distillationLoss(matmul(h, w.transpose(0, 1)), matmul(th, tw.transpose(0, 1)), rest);
  }
  const wrt = leaves.filter((x) => x.requiresGrad);
  if (T instanceof Tensor) wrt.push(T);
  const u = loss.ndim === 0 ? undefined : randn(loss.shape, { generator: new Generator(seed), dtype: loss.dtype });
  loss.backward(u);
  return { loss: loss.detach(), grads: [...wrt.map((x) => x.grad)] };
}

function expectNear(a: Tensor, b: Tensor, tol: number, label: string): void {
  expect(a.shape, `${label} shape`).toEqual(b.shape);
  const x = a.toFlatArray();
  const y = b.toFlatArray();
  const scale = Math.max(1, ...y.map(Math.abs));
  for (let i = 0; i < x.length; i++) {
    const err = Math.abs(x[i]! - y[i]!);
    if (!(err <= tol * scale)) throw new Error(`${label}[${i}]: fused ${x[i]} vs unfused ${y[i]} (|diff| ${err.toExponential(2)} > ${tol} × ${scale.toExponential(2)})`);
  }
}

function expectSame(fused: Result, unfused: Result, tol: number, label: string): void {
  expectNear(fused.loss, unfused.loss, tol, `${label} loss`);
  expect(fused.grads.length).toBe(unfused.grads.length);
  fused.grads.forEach((g, i) => expectNear(g!, unfused.grads[i]!, tol, `${label} grad ${i}`));
}

const divergences = ["forward", "reverse", "jsd", "skewForward", "skewReverse", "tvd"] as const;

const caseArb = fc.record({
  N: fc.integer({ min: 1, max: 9 }), H: fc.integer({ min: 1, max: 6 }), Ht: fc.integer({ min: 1, max: 6 }), V: fc.integer({ min: 2, max: 40 }),
  chunk: fc.option(fc.integer({ min: 1, max: 10 }), { nil: undefined }), labelled: fc.boolean(), ignore: fc.boolean(),
  alpha: fc.constantFrom(0, 0.5, 1), divergence: fc.constantFrom(...divergences), scaleT2: fc.boolean(), standardize: fc.boolean(),
  reduction: fc.constantFrom("mean", "sum", "none") as fc.Arbitrary<"mean" | "sum" | "none">, T: fc.constantFrom(0.5, 1, 2, 4, 20),
  tensorT: fc.boolean(), teacherGrad: fc.boolean(), seed: fc.nat(),
});

interface OptionChoice {
  chunk?: number; labelled: boolean; alpha: number; divergence: (typeof divergences)[number]; scaleT2: boolean; standardize: boolean;
  reduction: "mean" | "sum" | "none"; T: number; tensorT: boolean;
}

function optionsOf(c: OptionChoice, labels: Tensor): LinearDistillationOptions {
  const param = c.divergence === "jsd" ? { beta: 0.3 } : c.divergence.startsWith("skew") ? { skew: 0.2 } : {};
  return {
    ...(c.labelled || c.alpha < 1 ? { labels, alpha: c.alpha } : {}), divergence: c.divergence, ...param, scaleT2: c.scaleT2,
    standardize: c.standardize, reduction: c.reduction, temperature: c.tensorT ? tensor(c.T, { dtype: "float64" }) : c.T,
    ...(c.chunk === undefined ? {} : { chunkRows: c.chunk }),
  };
}

describe("linearDistillationLoss equals matmul then distillationLoss", () => {
  test("float64: loss and every gradient to 1e-10, random shapes, options, chunk sizes and ignored rows", () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const p = problem(c.seed, c.N, c.H, c.Ht, c.V, "float64", c.ignore);
        const options = optionsOf(c, p.labels);
        const label = JSON.stringify({ ...c, labels: p.labels.toFlatArray() });
        try {
          expectSame(evaluate(true, p, options, c.teacherGrad, c.seed), evaluate(false, p, options, c.teacherGrad, c.seed), 1e-10, "");
        } catch (e) {
          throw new Error(`${label}: ${(e as Error).message}`);
        }
      }),
      { numRuns: 150 },
    );
  });

  test("float64, several vocabulary blocks (V = 8192·2 + 37) and a ragged last chunk", () => {
    const p = problem(3, 5, 3, 2, 2 * 8192 + 37, "float64", true);
    for (const [options, teacherGrad] of [
      [{ labels: p.labels, alpha: 0.5, temperature: 2, chunkRows: 2 }, true],
      [{ labels: p.labels, divergence: "jsd", reduction: "none", chunkRows: 3 }, false],
    ] as [LinearDistillationOptions, boolean][]) {
      expectSame(evaluate(true, p, options, teacherGrad, 1), evaluate(false, p, options, teacherGrad, 1), 1e-10, JSON.stringify(options.divergence));
    }
  });

  test("float64, the original kernel's call (forward, mean) with ignored rows in a later chunk than a counted one", () => {
    const p = problem(9, 6, 3, 2, 7, "float64", false);
    const labels = tensor(Int32Array.from([1, 2, 3, 0, -100, 4]), { shape: [6] });
    for (const chunkRows of [1, 2, 4]) {
      const options = { labels, temperature: 2, alpha: 0.5, chunkRows };
      expectSame(evaluate(true, p, options, true, 2), evaluate(false, p, options, true, 2), 1e-10, `chunkRows ${chunkRows}`);
    }
  });

  test("float32 (this backend's product and distillation kernels): within float32 rounding of the unfused path", () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const p = problem(c.seed, c.N, c.H, c.Ht, c.V, "float32", c.ignore);
        const options = optionsOf({ ...c, tensorT: false }, p.labels);
        expectSame(evaluate(true, p, options, c.teacherGrad, c.seed), evaluate(false, p, options, c.teacherGrad, c.seed), 2e-5, JSON.stringify(c));
      }),
      { numRuns: 40 },
    );
  });

  test("float32 across vocabulary blocks, the frozen-teacher call of the bench (original kernel, labels, mean)", () => {
    const p = problem(9, 6, 16, 8, 8192 + 300, "float32", true);
    const options = { labels: p.labels, temperature: 2, alpha: 0.5, chunkRows: 4 };
    expectSame(evaluate(true, p, options, false, 2), evaluate(false, p, options, false, 2), 2e-5, "bench call");
  });

  test("every row ignored: mean is 0 with zero gradients, as distillationLoss", () => {
    const p = problem(4, 3, 2, 2, 5, "float64", false);
    const labels = tensor(Int32Array.from([-100, -100, -100]), { shape: [3] });
    const r = evaluate(true, p, { labels, chunkRows: 2 }, true, 0);
    expect(r.loss.item()).toBe(0);
    for (const g of r.grads) expect(g!.toFlatArray().every((v) => v === 0)).toBe(true);
  });
});

describe("linearDistillationLoss: errors name the function, the argument and the values", () => {
  const p = problem(1, 3, 2, 4, 5, "float64", false);
  const call = (...args: unknown[]) => () => (linearDistillationLoss as (...a: unknown[]) => Tensor)(...args);
  test.each([
    ["hidden", call([1, 2], p.w, p.th, p.tw), DTypeError, /linearDistillationLoss: hidden must be a Tensor/],
    ["int32 weight", call(p.h, p.labels, p.th, p.tw), DTypeError, /linearDistillationLoss: weight must be float32 or float64, got int32/],
    ["1-D hidden", call(p.h.reshape([6]), p.w, p.th, p.tw), ShapeError, /hidden must be 2-D \[N, H\], got shape \[6\]/],
    ["H mismatch", call(p.h, p.tw, p.th, p.tw), ShapeError, /weight has shape \[5,4\] but hidden has shape \[3,2\]/],
    ["teacher H mismatch", call(p.h, p.w, p.th, p.w), ShapeError, /teacherWeight has shape \[5,2\] but teacherHidden has shape \[3,4\]/],
    ["N mismatch", call(p.h, p.w, p.th.slice(0, 0, 2), p.tw), ShapeError, /teacherHidden has shape \[2,4\] but hidden has shape \[3,2\]/],
    ["V mismatch", call(p.h, p.w, p.th, p.tw.slice(0, 0, 4)), ShapeError, /the vocabularies differ: 4 != 5/],
    ["dtype pair", call(p.h, p.w.to("float32"), p.th, p.tw), DTypeError, /hidden and weight must have one dtype, got float64 and float32/],
    ["chunkRows 0", call(p.h, p.w, p.th, p.tw, { chunkRows: 0 }), ValueError, /linearDistillationLoss: chunkRows must be a positive integer, got 0/],
    ["chunkRows 1.5", call(p.h, p.w, p.th, p.tw, { chunkRows: 1.5 }), ValueError, /chunkRows must be a positive integer, got 1.5/],
    ["unknown key", call(p.h, p.w, p.th, p.tw, { chunk: 2 }), ValueError, /linearDistillationLoss: unknown key "chunk"/],
    ["label out of range", call(p.h, p.w, p.th, p.tw, { labels: tensor(Int32Array.from([0, 5, 1]), { shape: [3] }) }), Error, /linearDistillationLoss: labels/],
    ["jsd beta 1", call(p.h, p.w, p.th, p.tw, { divergence: "jsd", beta: 1 }), ValueError, /linearDistillationLoss: beta = 1/],
    ["alpha without labels", call(p.h, p.w, p.th, p.tw, { alpha: 0.5 }), ValueError, /linearDistillationLoss: alpha must be absent or 1 without labels/],
  ] as const)("%s", (_, f, cls, message) => {
    expect(f).toThrow(cls);
    expect(f).toThrow(message);
  });
});

describe("linearDistillationLoss: non-finite values (docs/non-finite.md)", () => {
  test("NaN in a row of hidden makes that row's loss NaN and leaves the others finite (reduction none)", () => {
    const p = problem(5, 3, 2, 2, 6, "float64", false);
    const h = p.h.clone();
    h.data[2] = NaN; // row 1
    const y = linearDistillationLoss(h, p.w, p.th, p.tw, { reduction: "none", chunkRows: 1 }).toFlatArray();
    expect(Number.isNaN(y[1]!)).toBe(true);
    expect(Number.isFinite(y[0]!) && Number.isFinite(y[2]!)).toBe(true);
  });

  test("a class the teacher's product masks at −∞ adds nothing: loss and gradients finite, as distillationLoss", () => {
    const p = problem(6, 3, 2, 2, 6, "float64", false);
    const tw = p.tw.clone();
    tw.data[0] = -Infinity; // class 0: teacher logit −∞·h' — −∞ where h'₀ > 0, +∞ where < 0
    const th = p.th.abs().add(0.1);
    tw.data[1] = 0;
    const r = evaluate(true, { ...p, th, tw }, { chunkRows: 2 }, false, 0);
    const u = evaluate(false, { ...p, th, tw }, {}, false, 0);
    expect(Number.isFinite(r.loss.item())).toBe(true);
    expectSame(r, u, 1e-10, "masked class");
  });
});
