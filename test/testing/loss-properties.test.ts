/**
 * lossProperties on kdgrad's own losses (which must pass every property they declare) and on
 * deliberately broken ones (each must fail the property aimed at its bug, with a shrunk
 * counterexample): a wrong backward, a loss that is not shift-invariant, a naive softmax-then-log
 * that overflows at ±1e4, and distillation losses that get the T² factor wrong.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  Tensor, crossEntropy, defineOp, distillationLoss, gather, klDiv, log, logSoftmax, mul, oneHot, softmax, sub, tensor,
} from "../../src/index.js";
import { lossProperties, type LossCase, type LossProperties } from "../../src/testing/fast-check.js";

/** Run every property; the names of those that failed, with fast-check's report. */
function run(props: LossProperties, numRuns = 60): Record<string, string> {
  const failed: Record<string, string> = {};
  for (const [name, p] of Object.entries(props)) {
    if (p === undefined) continue;
    const r = fc.check(p as fc.IPropertyWithHooks<[LossCase]>, { numRuns, seed: 3 });
    if (r.failed) failed[name] = `${fc.defaultReportMessage(r) ?? ""}\n${String(r.errorInstance)}`;
  }
  return failed;
}

const byHandCE = (x: Tensor, y: Tensor): Tensor => gather(logSoftmax(x, -1), 1, y.unsqueeze(1)).mean().neg();

describe("kdgrad's losses pass what they declare", () => {
  test("cross-entropy by hand: gradient, extremes, shift invariance, zero row sums, crossEntropy as reference", () => {
    const props = lossProperties(byHandCE, { target: "labels", shiftInvariant: true, rowsSumToZero: true, reference: (x, y) => crossEntropy(x, y) });
    expect(Object.keys(props).sort()).toEqual(["finiteOnExtremes", "gradient", "reference", "rowsSumToZero", "shiftInvariance"]);
    expect(run(props)).toEqual({});
  });

  test("crossEntropy with probability targets, and klDiv against it (the same gradient)", () => {
    const ce = (x: Tensor, p: Tensor): Tensor => crossEntropy(x, p);
    expect(run(lossProperties(ce, { target: "probabilities", shiftInvariant: true, rowsSumToZero: true, targetGradient: true }))).toEqual({});
  });

  test("distillationLoss (α = 1): every property, and the 1/T² law with the proved K = 2", () => {
    const kd = (s: Tensor, t: Tensor, T: number): Tensor => distillationLoss(s, t, { temperature: T, alpha: 1 });
    const props = lossProperties(kd, { target: "logits", shiftInvariant: true, rowsSumToZero: true, targetGradient: true, temperatureLaw: true });
    expect(Object.keys(props).sort()).toEqual(["finiteOnExtremes", "gradient", "rowsSumToZero", "shiftInvariance", "temperatureLaw"]);
    expect(run(props, 100)).toEqual({});
  });
});

describe("broken losses fail the property aimed at their bug, shrunk", () => {
  test("a backward that forgets the 1/B of the mean fails `gradient`; the counterexample is two rows of two zeros", () => {
    const badCE = defineOp({
      name: "badCE",
      forward(ctx, x: Tensor, y: Tensor) {
        ctx.save({ p: softmax(x, -1), y });
        return byHandCE(x, y);
      },
      backward(ctx, g: Tensor) {
        const { p, y } = ctx.saved as { p: Tensor; y: Tensor };
        return [mul(sub(p, oneHot(y, p.shape[1]!).to("float64")), g), null];
      },
    });
    const failed = run(lossProperties(badCE, { target: "labels" }));
    expect(Object.keys(failed)).toEqual(["gradient"]);
    expect(failed.gradient).toContain('Counterexample: [{"logits":tensor([[0,0],[0,0]], { dtype: "float64" }),"target":tensor([0,0], { dtype: "int32" }),"temperature":1}]');
    expect(failed.gradient).toMatch(/assertGradcheck: badCE failed \(full, seed 0, rtol 0\.00001, atol [\d.e-]+, relative to the gradient's size\)/);
  });

  test("a loss of independent sigmoids fails shift invariance and the row sums, and gives NaN at a −∞ class", () => {
    const bce = (x: Tensor, y: Tensor): Tensor => {
      const t = oneHot(y, x.shape[1]!).to("float64");
      const p = x.sigmoid();
      return mul(t, log(p)).add(mul(t.neg().add(1), log(p.neg().add(1)))).mean().neg();
    };
    const failed = run(lossProperties(bce, { target: "labels", shiftInvariant: true, rowsSumToZero: true, extremeAbs: 10 }));
    expect(Object.keys(failed).sort()).toEqual(["finiteOnExtremes", "rowsSumToZero", "shiftInvariance"]);
    expect(failed.rowsSumToZero).toMatch(/row 0 of ∂loss\/∂logits sums to/);
  });

  test("a loss that is NaN on moderate logits fails shift invariance with an AssertionError naming the loss, not a refusal of the kit's own tolerance", () => {
    // A KL whose target is read as probabilities when it holds logits: log of a negative target is NaN.
    // (Found by the fuzz suite, seed 11: the allowance was formed from the NaN loss, and assertClose refused atol NaN.)
    const kl = (x: Tensor, p: Tensor): Tensor => klDiv(logSoftmax(x, -1), p, { reduction: "batchmean" });
    const r = fc.check(lossProperties(kl, { target: "logits", minClasses: 1, maxClasses: 1, shiftInvariant: true }).shiftInvariance!, { numRuns: 20, seed: 0 });
    expect(r.failed).toBe(true);
    expect((r.errorInstance as Error).name).toBe("AssertionError");
    expect(String(r.errorInstance)).toMatch(/assertFinite: the loss \(on moderate logits, before the shift\)/);
  });

  test("softmax then log overflows to −∞ at logits ±1e4: `finiteOnExtremes` fails, shrunk to a row holding 1e4 or −1e4", () => {
    const naive = (x: Tensor, y: Tensor): Tensor => gather(log(softmax(x, -1)), 1, y.unsqueeze(1)).mean().neg();
    const failed = run(lossProperties(naive, { target: "labels" }));
    expect(Object.keys(failed)).toEqual(["finiteOnExtremes"]);
    expect(failed.finiteOnExtremes).toMatch(/assertFinite: (the loss|∂loss\/∂logits)/);
    expect(failed.finiteOnExtremes).toMatch(/Counterexample: \[\{"logits":tensor\(\[\[[^\]]*-?10000[^\]]*\]\]/);
  });

  test("the 1/T² law catches a missing T² and a T where T² belongs, and K = 2 is not vacuous (K = 0.02 fails)", () => {
    const kl = (s: Tensor, t: Tensor, T: number): Tensor => klDiv(logSoftmax(s.div(T), -1), softmax(t.div(T), -1));
    const withT = (s: Tensor, t: Tensor, T: number): Tensor => mul(kl(s, t, T), T);
    const right = (s: Tensor, t: Tensor, T: number): Tensor => mul(kl(s, t, T), T * T);
    const law = (loss: typeof kl, temperatureLaw: object) => {
      const props = lossProperties(loss, { target: "logits", temperatureLaw });
      return fc.check(props.temperatureLaw!, { numRuns: 200, seed: 5 });
    };
    expect(law(right, {}).failed).toBe(false);
    expect(law(kl, { scaledByT2: false }).failed).toBe(false); // the same law, told the T² is missing
    const missing = law(kl, {});
    expect(missing.failed).toBe(true);
    expect(String(missing.errorInstance)).toMatch(/the 1\/T² law fails at T = /);
    expect(law(withT, {}).failed).toBe(true);
    expect(law(right, { constant: 0.02 }).failed).toBe(true);
  });
});

test("options are checked: ValueError naming lossProperties", () => {
  expect(() => lossProperties(byHandCE, { target: "classes" as never })).toThrow(/^lossProperties: target must be "labels", "probabilities" or "logits", got "classes"/);
  expect(() => lossProperties(byHandCE, { target: "labels", targetGradient: true })).toThrow(/^lossProperties: targetGradient needs a differentiable target/);
  expect(() => lossProperties(byHandCE, { target: "labels", temperatureLaw: true })).toThrow(/^lossProperties: the temperature law compares student and teacher logits/);
  expect(() => lossProperties("ce" as never, { target: "labels" })).toThrow(/^lossProperties: loss must be a function/);
});

// Found by the fuzz suite (row testing/fast-check:lossProperties), or next to what it found.
describe("lossProperties refuses mistakes when the properties are made, and its properties fail with their own words", () => {
  test("options, nested ones too, go through the options checker and are named by their path", () => {
    expect(() => lossProperties(byHandCE, { target: "labels", maxrows: 2 } as never)).toThrow(/^lossProperties: unknown key "maxrows" in options/);
    expect(() => lossProperties(byHandCE, { target: "labels", gradcheck: { relativ: true } } as never)).toThrow(/^lossProperties: unknown key "relativ" in options\.gradcheck/);
    expect(() => lossProperties(byHandCE, { target: "labels", gradcheck: { atol: -1 } })).toThrow(/^lossProperties: options\.gradcheck\.atol must be a finite number >= 0, got -1$/);
    expect(() => lossProperties(byHandCE, { target: "labels", referenceTolerance: { rtol: NaN } })).toThrow(/^lossProperties: options\.referenceTolerance\.rtol must be/);
    expect(() => lossProperties(byHandCE, { target: "labels", temperatures: { min: 0 } })).toThrow(/^lossProperties: options\.temperatures\.min and options\.temperatures\.max must satisfy/);
    expect(() => lossProperties(byHandCE, { target: "labels", maxClasses: 2 ** 31 })).toThrow(/^lossProperties: maxClasses must be an integer in \[1, 2\^31 - 1\]/);
    expect(() => lossProperties(byHandCE, { target: "labels", shiftInvariant: "yes" } as never)).toThrow(/^lossProperties: shiftInvariant must be true or false/);
    const kd = (s: Tensor, t: Tensor, T: number): Tensor => distillationLoss(s, t, { temperature: T, alpha: 1 });
    expect(() => lossProperties(kd, { target: "logits", temperatureLaw: "yes" } as never)).toThrow(/^lossProperties: options\.temperatureLaw must be an object/);
    expect(() => lossProperties(kd, { target: "logits", temperatureLaw: { soft: 3 } } as never)).toThrow(/^lossProperties: options\.temperatureLaw\.soft must be a function, got 3$/);
    expect(() => lossProperties(kd, { target: "logits", temperatureLaw: { min: 0 } })).toThrow(/^lossProperties: options\.temperatureLaw\.min and/);
    expect(() => lossProperties(byHandCE, { target: "labels", reference: "ce" } as never)).toThrow(/^lossProperties: options\.reference must be a function/);
  });

  const error = (p: fc.IPropertyWithHooks<[LossCase]>): unknown => fc.check(p, { numRuns: 1, seed: 1 }).errorInstance;

  test("a loss that returns a number, one that ignores the logits, one that is NaN: the gradient property says so", () => {
    expect(String(error(lossProperties((() => 3) as never, { target: "labels" }).gradient))).toMatch(/^ValueError: lossProperties: the loss must return a Tensor, got 3$/);
    const constant = (): Tensor => crossEntropy(tensor([[0, 0]], { dtype: "float64" }), tensor([0], { dtype: "int32" }));
    expect(String(error(lossProperties(constant, { target: "labels" }).gradient))).toMatch(/^AssertionError: lossProperties: the loss's value does not depend on the logits/);
    const nan = (x: Tensor): Tensor => x.sum().mul(NaN);
    expect(String(error(lossProperties(nan, { target: "labels" }).gradient))).toMatch(/^AssertionError: assertFinite: the loss \(on moderate logits, so that its gradient can be checked\) \[\] has 1 non-finite/);
  });

  test("the gradient property's temperatures stay in the declared range when it misses [0.5, 20]", () => {
    for (const range of [{ min: 1e3, max: 1e6 }, { min: 1e-6, max: 1e-3 }]) {
      const seen: number[] = [];
      const kd = (s: Tensor, t: Tensor, T: number): Tensor => {
        seen.push(T);
        return distillationLoss(s, t, { temperature: T, alpha: 1 });
      };
      fc.check(lossProperties(kd, { target: "logits", temperatures: range }).gradient, { numRuns: 3, seed: 1 });
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.every((T) => T >= range.min && T <= range.max), `${JSON.stringify(range)}: ${seen}`).toBe(true);
    }
  });
});

test("shiftInvariance of a T²-scaled KL holds at T = 1e6, where its own rounding is T² times its log-probabilities' (CI: a symmetric KL moved by 4.96e-12 under a shift of 1e-306, 54× the allowance without the T² term)", () => {
  const symmetric = (s: Tensor, t: Tensor, T: number): Tensor => {
    const ls = logSoftmax(s.div(T), -1);
    const lt = logSoftmax(t.div(T), -1);
    return klDiv(ls, lt, { logTarget: true }).add(klDiv(lt, ls, { logTarget: true })).mul(0.5 * T * T);
  };
  const props = lossProperties(symmetric, { target: "logits", shiftInvariant: true, temperatures: { min: 1e6, max: 1e6 } });
  // The case CI's fast-check found (examples/testing/custom-losses.test.ts), given as an example.
  const zeros = [0, 0, 0, 0, 0, 0, 0];
  const found: LossCase = {
    logits: tensor([zeros, zeros, zeros, [0, 0, 0, 0, -5, -8.326672684688674e-10, 2.470333e-318]], { dtype: "float64" }),
    target: tensor([zeros, zeros, zeros, zeros], { dtype: "float64" }),
    temperature: 1e6,
  };
  const r = fc.check(props.shiftInvariance as fc.IPropertyWithHooks<[LossCase, number[]]>, { examples: [[found, [0, 0, 0, -9.988128566980636e-307]]], numRuns: 200, seed: 11 });
  expect(r.failed ? String(r.errorInstance) : "").toBe("");
});
