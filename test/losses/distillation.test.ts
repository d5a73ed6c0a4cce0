import fc from "fast-check";
import { test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import {
  DTypeError, Generator, IndexError, ShapeError, Tensor, ValueError, assertGradcheck, crossEntropy,
  distillationLoss, distillationLossComposite, klDiv, logSoftmax, logitMatchingLoss, noGrad, predict,
  softTargets, softmax, tensor,
} from "../../src/index.js";
import { logitRows } from "../arbitraries.js";
import { expectClose } from "../helpers/close.js";
import { exactRow } from "./exact.js";

const leaf = (x: Tensor): Tensor => x.detach().requiresGrad_();
const labelsFor = (x: Tensor, seed: number): Tensor => {
  const rng = new Generator(seed);
  return tensor(Int32Array.from({ length: x.shape[0]! }, () => rng.below(x.shape[1]!)), { shape: [x.shape[0]!] });
};
/** A teacher of the student's shape, from a seed. */
const teacherLike = (x: Tensor, seed: number, maxAbs = 10): Tensor => {
  const rng = new Generator(seed);
  return tensor(Float64Array.from({ length: x.size }, () => (2 * rng.uniform() - 1) * maxAbs), { shape: x.shape });
};
const temperatureArb = fc.double({ min: 0.25, max: 50, noNaN: true });
// 0, or a weight large enough that α·(terms) does not underflow into subnormal numbers.
const alphaArb = fc.oneof(fc.constant(0), fc.constant(1), fc.double({ min: 1e-6, max: 1, noNaN: true }));

/** KL alone (no T² scaling, no labels) and its student gradient. */
function softTerm(s: Tensor, t: Tensor, T: number): { kl: number; grad: Tensor } {
  const x = leaf(s);
  const scaled = distillationLoss(x, t, { temperature: T });
  scaled.backward();
  return { kl: scaled.item() / (T * T), grad: x.grad!.div(T * T) };
}

function rowCentre(x: Tensor): Tensor {
  return x.sub(x.mean(-1, true));
}

describe("properties of the distillation loss", () => {
  test.prop([logitRows({ maxAbs: 20 }), fc.nat(), temperatureArb])("KL ≥ 0", (s, seed, T) => {
    expect(softTerm(s, teacherLike(s, seed, 20), T).kl).toBeGreaterThanOrEqual(0);
  });

  test.prop([logitRows({ maxAbs: 20 }), fc.nat(), temperatureArb])("KL = 0 when s − t is constant along each row", (s, seed, T) => {
    const shift = teacherLike(s, seed, 50).slice(1, 0, 1); // one constant per row
    expect(Math.abs(softTerm(s, s.add(shift), T).kl)).toBeLessThan(1e-13);
  });

  test.prop([logitRows({ maxAbs: 20 }), fc.nat(), temperatureArb, alphaArb])(
    "adding a per-row constant to s or to t changes neither the loss nor the gradients",
    (s, seed, T, alpha) => {
      const t = teacherLike(s, seed);
      const labels = labelsFor(s, seed);
      const c = teacherLike(s, seed + 1, 100).slice(1, 0, 1);
      const run = (a: Tensor, b: Tensor): number[] => {
        const [x, y] = [leaf(a), leaf(b)];
        const l = distillationLoss(x, y, { labels, temperature: T, alpha });
        l.backward();
        return [l.item(), ...x.grad!.toFlatArray(), ...y.grad!.toFlatArray()];
      };
      const base = run(s, t);
      expectClose(run(s.add(c), t), base, { rtol: 1e-9, atol: 1e-11 });
      expectClose(run(s, t.add(c)), base, { rtol: 1e-9, atol: 1e-11 });
    },
  );

  test.prop([logitRows({ maxAbs: 20 }), fc.nat(), temperatureArb, alphaArb])("gradient rows sum to 0 (student and teacher)", (s, seed, T, alpha) => {
    const t = teacherLike(s, seed);
    const [x, y] = [leaf(s), leaf(t)];
    distillationLoss(x, y, { labels: labelsFor(s, seed), temperature: T, alpha }).backward();
    // Each row sums to 0 exactly in real arithmetic; in float64 the sum keeps a
    // rounding error of a few ε per term, relative to the size of what the terms are made of.
    //   Student: α·T·(p_s,i + p_t,i) + (1 − α)·(softmax(s)ᵢ + [i = y]), summing to 2(α·T + 1 − α).
    //   Teacher: both forms of the kernel (src/kernels/distillation.ts) form
    //   dT_i = α·T·p̂ᵢ·(yᵢ − Ê)/B, y = ((t − s) − (t_J − s_J))/T (J = argmax t), p̂ the computed
    //   p_t and Ê = Σ p̂·y (log-ratio form: p̂ = q·eˣ·P, Ê = P·Σ q·eˣ·y, P = 1/(S_s(1 + M)); direct:
    //   p̂ = e^{z_t}/S_t). Σ p̂ᵢ(yᵢ − Ê) vanishes when Σ p̂ = 1; the sum of the rounded terms is off
    //   by the rounding of Σ p̂·y ((C + 1)ε·E_p|y|), of Σ p̂ − 1 (≤ (3C + 10)ε: 1 + M and Σ q·eˣ are
    //   sums of C terms, of total size ≤ 3 + 2M, against 1 + M; S_t is one sum), of the products
    //   (5ε per term) and of this test's own sum ((C − 1)ε·Σ|dT|, Σ|dT| ≤ 2α·T·E_p|y|/B): in all
    //   at most (7C + 22)·ε·α·T·E_p|y|/B. (Formed from x in place of y, the log-ratio form
    //   cancelled log Z = KL(q ‖ p_t), far above E_p|y| where the student has mass the teacher
    //   lacks: seed −1991629236, test/losses/distillation-centre.test.ts.)
    const [B, C] = s.shape as [number, number];
    const z = (v: Tensor): number[][] => (v.sub(v.max(-1, true)).div(T).toArray() as number[][]);
    const zt = z(t);
    const eps = Number.EPSILON;
    x.grad!.sum(-1).toFlatArray().forEach((r) => expect(Math.abs(r)).toBeLessThanOrEqual((16 * C * eps * 2 * (alpha * T + 1 - alpha)) / B));
    const [sv, tv] = [s.toArray() as number[][], t.toArray() as number[][]];
    y.grad!.sum(-1).toFlatArray().forEach((r, row) => {
      const pt = zt[row]!.map(Math.exp);
      const Zt = pt.reduce((a, v) => a + v, 0);
      const u = tv[row]!.map((v, i) => v - sv[row]![i]!);
      const J = zt[row]!.indexOf(0);
      const Epy = pt.reduce((a, p, i) => a + (p / Zt) * Math.abs((u[i]! - u[J]!) / T), 0);
      expect(Math.abs(r), `teacher row ${row}: p_t ${pt.map((p) => p / Zt)}, E_p|y| ${Epy}`).toBeLessThanOrEqual(((7 * C + 22) * eps * alpha * T * Epy) / B + 1e-300);
    });
  });

  // Both paths against the exact reference (exact.ts). The fused kernel is held to 1e-12 of each
  // value. The composite forms T²·Σ_c p_c·y_c, y = log p_t − log p_s, from rounded log-softmaxes:
  // p_c has a relative error of a few ε·(1 + |log p_t,c|), y_c an absolute one of a few
  // ε·(1 + |log p_t,c| + |log p_s,c|), and the sum of C terms adds (C − 1)ε·Σ p_c|y_c|; the T²
  // multiplies it all. So its loss is held to ε·(8 + α·T²·[(C + 4)·E_p|y| + 8·Σ_c p_c·((1 + |log p_t,c|)·|y_c|
  // + 1 + |log p_t,c| + |log p_s,c|)] + 8(1 − α)·(1 + |CE|)) per row (at T = 1000 and C = 2, ≈ 1e-9
  // relative: "equal to the fused kernel to 1e-10" was never true of the composite there).
  // Its student gradient α·T·(p_s − p_t)/B + (1 − α)·(p_s1 − onehot)/B is a difference of rounded
  // probabilities: 8ε·(α·T + 1)/B per entry. Its teacher gradient α·T·p_i·(y_i − E_p[y])/B, with
  // y = log p_t − log p_s, has p_i to a relative δp_i = a few ε·(1 + |log p_t,i|), y_i to an
  // absolute δy_i = a few ε·(1 + |log p_t,i| + |log p_s,i|), and E_p[y] to Σ_c p_c·(δp_c·|y_c| + δy_c):
  // 8ε·α·T·p_i·[(1 + |log p_t,i|)·(|y_i| + E_p|y|) + (1 + |log p_t,i| + |log p_s,i|)
  // + Σ_c p_c·((1 + |log p_t,c|)·|y_c| + 1 + |log p_t,c| + |log p_s,c|)]/B more per entry.
  test.prop([logitRows({ maxAbs: 20 }), fc.nat(), fc.double({ min: 0.25, max: 1000, noNaN: true }), alphaArb, fc.boolean()], { numRuns: 200 })(
    "the fused kernel and the composite autograd path agree with the exact loss and gradients (float64)",
    (s, seed, T, alpha, labelled) => {
      const t = teacherLike(s, seed, 20);
      const labels = labelled ? labelsFor(s, seed) : null;
      const options = labels !== null ? { labels, temperature: T, alpha } : { temperature: T };
      const a = labels !== null ? alpha : 1;
      const [B, C] = s.shape as [number, number];
      const S = s.toArray() as number[][];
      const Tt = t.toArray() as number[][];
      const ys = labels !== null ? Array.from(labels.toFlatArray()) : [];
      const ex = S.map((row, r) => exactRow(row, Tt[r]!, row.map(() => 1), T, a, labels !== null ? ys[r]! : -1));
      const want = [ex.reduce((z, e) => z + e.loss, 0) / B, ...ex.flatMap((e) => e.dS.map((g) => g / B)), ...ex.flatMap((e) => e.dT.map((g) => g / B))];
      const run = (f: (x: Tensor, y: Tensor, o: typeof options) => Tensor): number[] => {
        const [x, y] = [leaf(s), leaf(t)];
        const l = f(x, y, options);
        l.backward();
        return [l.item(), ...x.grad!.toFlatArray(), ...y.grad!.toFlatArray()];
      };
      const eps = 2 ** -52;
      const logSoftmaxRow = (row: number[], temp = T): number[] => {
        const z = row.map((v) => v / temp);
        const m = Math.max(...z);
        const lse = m + Math.log(z.reduce((acc, v) => acc + Math.exp(v - m), 0));
        return z.map((v) => v - lse);
      };
      let lossBound = 0;
      const gradBound = (8 * eps * (a * T + 1)) / B;
      const teacherBound: number[] = [];
      for (let r = 0; r < B; r++) {
        const ls = logSoftmaxRow(S[r]!);
        const lt = logSoftmaxRow(Tt[r]!);
        let meanAbsY = 0;
        let meanErr = 0;
        const dy = (c: number): number => 1 + Math.abs(lt[c]!) + Math.abs(ls[c]!);
        const y = (c: number): number => Math.abs(lt[c]! - ls[c]!);
        for (let c = 0; c < C; c++) {
          const p = Math.exp(lt[c]!);
          meanAbsY += p * y(c);
          meanErr += p * ((1 + Math.abs(lt[c]!)) * y(c) + dy(c));
        }
        for (let c = 0; c < C; c++) {
          const extra = a * T * Math.exp(lt[c]!) * ((1 + Math.abs(lt[c]!)) * (y(c) + meanAbsY) + dy(c) + meanErr);
          teacherBound.push(gradBound + (8 * eps * extra) / B);
        }
        const ce = labels !== null ? Math.abs(logSoftmaxRow(S[r]!, 1)[ys[r]!]!) : 0;
        lossBound += eps * (8 + a * T * T * ((C + 4) * meanAbsY + 8 * meanErr) + 8 * (1 - a) * (1 + ce));
      }
      lossBound /= B;
      const bounds = [lossBound, ...Array.from({ length: B * C }, () => gradBound), ...teacherBound];
      const fused = run(distillationLoss);
      const composite = run(distillationLossComposite);
      for (let i = 0; i < want.length; i++) {
        const w = want[i]!;
        expect(Math.abs(fused[i]! - w), `fused [${i}]: ${fused[i]} vs exact ${w}`).toBeLessThanOrEqual(1e-12 * Math.abs(w) + (i === 0 ? 0 : gradBound));
        expect(Math.abs(composite[i]! - w), `composite [${i}]: ${composite[i]} vs exact ${w}`).toBeLessThanOrEqual(bounds[i]!);
      }
    },
  );

  test.prop([logitRows({ maxAbs: 20 }), fc.nat(), temperatureArb])("alpha = 0 is crossEntropy (value and gradient)", (s, seed, T) => {
    const labels = labelsFor(s, seed);
    const [x, z] = [leaf(s), leaf(s)];
    const a = distillationLoss(x, teacherLike(s, seed), { labels, temperature: T, alpha: 0 });
    const b = crossEntropy(z, labels);
    a.backward();
    b.backward();
    expectClose([a.item()], [b.item()], { rtol: 1e-14, atol: 1e-14 });
    // softmax(s) − onehot(y) is a difference of O(1) numbers: each path carries an
    // absolute rounding error of a few ε (≈ 2e-16), whatever the size of the result.
    expectClose(x.grad!, z.grad!, { rtol: 1e-13, atol: 1e-14 });
  });

  test.prop([logitRows({ maxAbs: 20 }), fc.nat()])("T = 1, alpha = 1 is klDiv of the plain softmaxes", (s, seed) => {
    const t = teacherLike(s, seed, 20);
    const a = distillationLoss(s, t, { temperature: 1, alpha: 1, labels: labelsFor(s, seed) });
    const b = klDiv(logSoftmax(s, -1), softmax(t, -1));
    expectClose([a.item()], [b.item()], { rtol: 1e-12, atol: 1e-14 });
  });

  test.prop([logitRows({ maxAbs: 1e4 }), fc.double({ min: 1e-3, max: 1e6, noNaN: true })])("predict is unchanged by any temperature", (x, T) => {
    // In exact arithmetic x/T keeps the order of the logits. In floating point a row whose top two
    // logits differ by less than what x/T and exp can resolve — a relative gap below 2⁻⁵¹, or
    // (x₁ − x₂)/T below 2⁻⁵⁰, where softmax rounds both to the same probability — becomes a tie,
    // which goes to the lower index. (The shipped `logits` arbitrary shrinks to such rows:
    // [[-5e-323, 0]] at T = 0.001.) The claim is made for the rows that stay resolved.
    const [b, c] = x.shape as [number, number];
    const v = x.toFlatArray();
    for (let r = 0; r < b; r++) {
      const row = v.slice(r * c, r * c + c).sort((p, q) => q - p);
      const gap = row[0]! - row[1]!;
      fc.pre(gap > 2 ** -51 * Math.max(Math.abs(row[0]!), Math.abs(row[1]!)) && gap / T > 2 ** -50);
    }
    expect(predict(x.div(T)).toFlatArray()).toEqual(predict(x).toFlatArray());
    expect(predict(softTargets(x, T)).toFlatArray()).toEqual(predict(x).toFlatArray());
  });

  test("rows whose top two logits are closer than rounding resolves tie under temperature, and ties go to the lower index", () => {
    const x = tensor([[-5e-323, 0]], { dtype: "float64" });
    expect(predict(x).toFlatArray()).toEqual([1]);
    expect(softTargets(x, 0.001).toFlatArray()).toEqual([0.5, 0.5]);
    expect(predict(softTargets(x, 0.001)).toFlatArray()).toEqual([0]);
  });
});

describe("the 1/T² result", () => {
  test.prop([logitRows({ maxAbs: 3, minClasses: 3 }), fc.nat(), fc.constantFrom(10, 20, 50, 100)])(
    "the unscaled soft-loss gradient shrinks ≈100× when T grows 10× (T ≥ 10)",
    (s, seed, T) => {
      const t = teacherLike(s, seed + 1, 3);
      // T²·∂KL/∂s = T·(q − p)/B with q = softmax(s/T), p = softmax(t/T). For z = x/T with centred
      // z̃ (max |z̃| = ρ), |e^z̃ᵢ − 1 − z̃ᵢ| ≤ ρ²e^ρ/2 and Σz̃ = 0 give Σe^z̃/C = 1 + δ, |δ| ≤ ρ²e^ρ/2, so
      //   |softmax(z)ᵢ − (1 + z̃ᵢ)/C| ≤ f(ρ)/C,  f(ρ) = ρ²e^ρ(2 + ρ)/(2(1 − ρ²e^ρ/2)).
      // Hence T²·∂KL/∂s = L + r(T), L = ((s − s̄) − (t − t̄))/(C·B), |rᵢ| ≤ T·(f(ρ_s) + f(ρ_t))/(C·B)
      // (ρ = R/T, R the row's largest |x − x̄|), and ‖r‖₂ ≤ e(T) = √(BC)·max over rows of that. The
      // unscaled gradients' ratio 100·‖L + r(T)‖/‖L + r(10T)‖ then lies in
      // [100(‖L‖ − e(T))/(‖L‖ + e(10T)), 100(‖L‖ + e(T))/(‖L‖ − e(10T))]. Stated for rows where the
      // first term dominates (e(T) ≤ ‖L‖/4: within 100·[0.7, 1.35]); a nearly constant s − t has a tiny L.
      const norm = (g: Tensor): number => Math.sqrt(g.mul(g).sum().item());
      const [B, C] = s.shape as [number, number];
      const L = norm(rowCentre(s).sub(rowCentre(t)).div(C * B));
      const rows = (x: Tensor): number[] => (rowCentre(x).abs().toArray() as number[][]).map((r) => Math.max(...r));
      const f = (rho: number): number => (rho * rho * Math.exp(rho) * (2 + rho)) / (2 * (1 - (rho * rho * Math.exp(rho)) / 2));
      const [Rs, Rt] = [rows(s), rows(t)];
      const e = (temp: number): number => Math.sqrt(B * C) * Math.max(...Rs.map((r, i) => (temp * (f(r / temp) + f(Rt[i]! / temp))) / (C * B)));
      fc.pre(e(T) <= L / 4);
      const ratio = norm(softTerm(s, t, T).grad) / norm(softTerm(s, t, 10 * T).grad);
      expect(ratio).toBeGreaterThanOrEqual(((100 * (L - e(T))) / (L + e(10 * T))) * (1 - 1e-9));
      expect(ratio).toBeLessThanOrEqual(((100 * (L + e(T))) / (L - e(10 * T))) * (1 + 1e-9));
    },
  );

  test.prop([logitRows({ maxAbs: 10 }), fc.nat(), fc.double({ min: 1, max: 1e4, noNaN: true })])(
    "T²·∂KL/∂s → ((s − s̄) − (t − t̄))/(C·B), with max error ≤ K/T, K = 2(R_s² + R_t²)/B",
    (s, seed, T) => {
      const t = teacherLike(s, seed + 1, 10);
      const [B, C] = s.shape as [number, number];
      const limit = rowCentre(s).sub(rowCentre(t)).div(C * B);
      const got = softTerm(s, t, T).grad.mul(T * T);
      const err = Math.max(...got.sub(limit).abs().toFlatArray());
      // R = the largest |x − row mean| (docs/distillation.md derives the bound).
      const R = (x: Tensor): number => Math.max(...rowCentre(x).abs().toFlatArray());
      const K = (2 * (R(s) ** 2 + R(t) ** 2)) / B;
      expect(err).toBeLessThanOrEqual(K / T + 1e-12);
      // And T²∇ is exactly logitMatchingLoss's gradient in the limit.
      const x = leaf(s);
      logitMatchingLoss(x, t).backward();
      expectClose(x.grad!, limit, { rtol: 1e-13, atol: 1e-15 });
    },
  );

  test.prop([logitRows({ maxAbs: 5 }), fc.nat(), fc.double({ min: 1, max: 1e4, noNaN: true })])(
    "T²·KL → Σ((δ − δ̄)²)/(2C·B), δ = s − t, within the relative bound e^{2R/T} − 1",
    (s, seed, T) => {
      const t = teacherLike(s, seed + 1, 5);
      const limit = logitMatchingLoss(s, t).item();
      const [B, C] = s.shape as [number, number];
      const direct = rowCentre(s.sub(t)).pow(2).sum().item() / (2 * C * B);
      expectClose([limit], [direct], { rtol: 1e-13, atol: 1e-15 });
      // docs/distillation.md: T²·KL = ∫₀¹ (1 − τ) Var_{q_τ}(δ) dτ with q_τ within a factor
      // e^{±2R/T} of uniform, R = max |x − row mean| over s and t.
      const R = Math.max(...rowCentre(s).abs().toFlatArray(), ...rowCentre(t).abs().toFlatArray());
      const bound = Math.expm1((2 * R) / T) * limit;
      const err = Math.abs(distillationLoss(s, t, { temperature: T }).item() - limit);
      expect(err).toBeLessThanOrEqual(bound + 1e-12 * limit);
    },
  );
});

describe("non-finite inputs", () => {
  test.prop([logitRows({ maxAbs: 1e4, minClasses: 3 }), fc.nat(), fc.constantFrom(1, 4, 20, 100), alphaArb])(
    "logits spread over ±1e4: finite loss and gradients, which gradcheck confirms",
    (s, seed, T, alpha) => {
      const t = teacherLike(s, seed, 1e4);
      const labels = labelsFor(s, seed);
      const [x, y] = [leaf(s), leaf(t)];
      const l = distillationLoss(x, y, { labels, temperature: T, alpha });
      l.backward();
      for (const v of [l.item(), ...x.grad!.toFlatArray(), ...y.grad!.toFlatArray()]) expect(Number.isFinite(v)).toBe(true);
    },
  );

  test("gradcheck passes for logits over ±1e4 and for masked classes", () => {
    const rng = new Generator(11);
    const wide = (scale: number): Tensor => tensor(Float64Array.from({ length: 12 }, () => (2 * rng.uniform() - 1) * scale), { shape: [3, 4], requiresGrad: true });
    const labels = tensor([0, 2, 1], { dtype: "int32" }); // never a masked class
    // At ±1e4 and T = 4000 the probabilities are all away from 0 and 1: a meaningful check.
    assertGradcheck((a, b) => distillationLoss(a, b, { labels, temperature: 4000, alpha: 0.6 }), [wide(1e4), wide(1e4)]);
    // At T = 4 the same logits saturate; the gradient is still finite and checked.
    assertGradcheck((a, b) => distillationLoss(a, b, { labels, temperature: 4, alpha: 0.6 }), [wide(1e4), wide(1e4)]);
    // Masked teacher (and student) classes: the mask is applied inside, on the same entries.
    const mask = tensor([[0, -Infinity, 0, 0], [0, 0, 0, -Infinity], [-Infinity, 0, 0, 0]], { dtype: "float64" });
    assertGradcheck((a, b) => distillationLoss(a.add(mask), b.add(mask), { labels, temperature: 2, alpha: 0.5 }), [wide(3), wide(3)]);
    assertGradcheck((a, b) => distillationLoss(a, b.add(mask), { labels, temperature: 2, alpha: 0.5 }), [wide(3), wide(3)]);
  });

  test("a teacher class at −∞ adds nothing: loss and gradients equal those without that class", () => {
    const s = tensor([[1, 2, 3, 0.5]], { dtype: "float64" });
    const t = tensor([[2, -Infinity, 0, 1]], { dtype: "float64" });
    const [x, y] = [leaf(s), leaf(t)];
    const l = distillationLoss(x, y, { temperature: 2 });
    l.backward();
    expect(Number.isFinite(l.item())).toBe(true);
    expect(y.grad!.at(0, 1)).toBe(0);
    // The same KL computed directly over the teacher's support.
    const ps = softmax(s.div(2), -1).toFlatArray();
    const pt = softmax(t.div(2), -1).toFlatArray();
    const kl = pt.reduce((acc, p, i) => (p > 0 ? acc + p * (Math.log(p) - Math.log(ps[i]!)) : acc), 0);
    expectClose([l.item()], [4 * kl], { rtol: 1e-13, atol: 0 });
  });

  test("teacher mass on a class the student masks makes the loss +∞", () => {
    const l = distillationLoss(tensor([[0, -Infinity]], { dtype: "float64" }), tensor([[0, 0]], { dtype: "float64" }), { temperature: 2 });
    expect(l.item()).toBe(Infinity);
  });

  test("where the KL is +∞, a teacher class with a subnormal p gets dT = −∞, even when α·T·p/B rounds to 0", () => {
    // dT_i = α·T·p_t,i·(dᵢ − KL)/B with KL = +∞ (the student masks class 0, which the teacher
    // keeps): −∞ wherever p_t,i > 0. Class 2's p_t is e^{−744.4} ≈ 1e-323, and α·T/B = 0.2, so
    // (α·T/B)·p_t rounds to 0, and once the TypeScript kernel formed that product first: 0·(−∞)
    // = NaN (fuzz: seed 2024, backend:distillationLoss, a [500, 16] call).
    for (const dtype of ["float64", "float32"] as const) {
      const x = tensor([[-Infinity, 0, 0.5]], { dtype, requiresGrad: true });
      const y = tensor([[0, 0.25, -2977.6]], { dtype, requiresGrad: true });
      const l = distillationLoss(x, y, { temperature: 4, alpha: 0.05, labels: tensor([1], { dtype: "int32" }) });
      l.backward();
      expect(l.item(), dtype).toBe(Infinity);
      const g = y.grad!.toFlatArray();
      expect(Number.isNaN(g[0]), `${dtype}: dT ${g}`).toBe(true);
      expect([g[1], g[2]], `${dtype}: dT ${g}`).toEqual([-Infinity, -Infinity]);
    }
  });

  test("an underflowed teacher probability (gap > 745·T) gives a finite teacher gradient, even with alpha = 0", () => {
    const s = leaf(tensor([[0, 1, 2]], { dtype: "float64" }));
    const t = leaf(tensor([[0, -2000, 1]], { dtype: "float64" }));
    distillationLoss(s, t, { temperature: 1, alpha: 0, labels: tensor([2], { dtype: "int32" }) }).backward();
    expect(t.grad!.toFlatArray()).toEqual([0, 0, 0]);
    const t2 = leaf(t);
    distillationLoss(s.detach(), t2, { temperature: 1, alpha: 0.5, labels: tensor([2], { dtype: "int32" }) }).backward();
    for (const v of t2.grad!.toFlatArray()) expect(Number.isFinite(v)).toBe(true);
    expect(t2.grad!.at(0, 1)).toBe(0);
  });

  test("a row with no distribution has no gradient: NaN in every entry of dS and dT, teacher classes with p_t = 0 included", () => {
    // Its KL is NaN, so is ∂KL/∂t at every class (PyTorch's softmax backward agrees: its
    // ⟨g, p_t⟩ is NaN). The 0·log 0 = 0 convention gives 0 at p_t = 0 only where the loss is
    // finite. The teacher's classes at −2880 and −2960 have gaps of 720·T and 740·T (T = 4):
    // p_t = e^{−720} and e^{−740} are subnormal in float64, which the WebAssembly kernel once
    // flushed to 0 (it gave 0 there, TypeScript NaN); the class at −3300 (825·T) has p_t = 0 in
    // both, and once got 0 in both. float32 with a teacher gradient runs the float64-lane
    // kernels of the project's backend; float64 the TypeScript kernel.
    const teacher = [0, -2880, 1, -2960, -3300, 2];
    for (const dtype of ["float32", "float64"] as const) {
      for (const bad of [[Infinity, 0, 1, 2, 3, 4], [NaN, 0, 1, 2, 3, 4], [-Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity]]) {
        for (const options of [{ temperature: 4 }, { temperature: 4, alpha: 0.5, labels: tensor([1], { dtype: "int32" }) }]) {
          const x = tensor([bad], { dtype, requiresGrad: true });
          const y = tensor([teacher], { dtype, requiresGrad: true });
          const l = distillationLoss(x, y, options);
          l.backward();
          const what = `${dtype} student ${bad}, alpha ${options.alpha ?? 1}`;
          expect(Number.isNaN(l.item()), what).toBe(true);
          expect(x.grad!.toFlatArray().every(Number.isNaN), `${what}: dS ${x.grad!.toFlatArray()}`).toBe(true);
          expect(y.grad!.toFlatArray().every(Number.isNaN), `${what}: dT ${y.grad!.toFlatArray()}`).toBe(true);
        }
      }
    }
  });

  test("a teacher probability between e^{−745} and e^{−708} is mass: on a class the student masks it makes the loss +∞, on both backends", () => {
    // Math.exp is subnormal down to e^{−745.13}; the WebAssembly kernels' exponential once
    // gave 0 below e^{−708}, so there this loss was finite (0.0072 at T = 4) and dT 0 where
    // TypeScript has −∞. Beyond 745·T both have p_t = 0: the class is masked in effect.
    for (const dtype of ["float32", "float64"] as const) {
      for (const wantT of [false, true]) {
        for (const [gap, finite] of [[720, false], [740, false], [760, true]] as const) {
          const x = tensor([[0, -Infinity, 1]], { dtype, requiresGrad: true });
          const y = tensor([[0, -4 * gap, 0.5]], { dtype, requiresGrad: wantT });
          const l = distillationLoss(x, y, { temperature: 4 });
          l.backward();
          const what = `${dtype}${wantT ? " with dT" : ""}, teacher gap ${gap}·T`;
          expect(l.item() === Infinity, `${what}: loss ${l.item()}`).toBe(!finite);
          if (finite) expect(Number.isFinite(l.item()), `${what}: loss ${l.item()}`).toBe(true);
          if (wantT) {
            const g = y.grad!.toFlatArray();
            if (finite) expect(g.every(Number.isFinite), `${what}: dT ${g}`).toBe(true);
            else expect([g[0], g[2]], `${what}: dT ${g}`).toEqual([-Infinity, -Infinity]);
          }
        }
      }
    }
  });

  test("NaN in, NaN out; a teacher or student row that is all −∞ or holds +∞ has no distribution: NaN", () => {
    const ok = tensor([[0, 1, 2]], { dtype: "float64" });
    for (const bad of [[NaN, 1, 2], [Infinity, 1, 2], [-Infinity, -Infinity, -Infinity]]) {
      const b = tensor([bad], { dtype: "float64" });
      for (const [s, t] of [[b, ok], [ok, b]] as const) {
        for (const options of [{ temperature: 2 }, { temperature: 2, alpha: 0.5, labels: tensor([1], { dtype: "int32" }) }]) {
          const [x, y] = [leaf(s), leaf(t)];
          const l = distillationLoss(x, y, options);
          expect(Number.isNaN(l.item()), `${bad} ${s === b ? "student" : "teacher"}`).toBe(true);
          l.backward();
          expect(x.grad!.toFlatArray().some(Number.isNaN) || y.grad!.toFlatArray().some(Number.isNaN)).toBe(true);
        }
      }
    }
  });
});

describe("float32", () => {
  test.prop([logitRows({ maxAbs: 4 }), fc.nat(), fc.constantFrom(1, 10, 100, 1000)])(
    "T²·KL in float32 stays within 1e-6 relative of float64 on the same inputs, up to T = 1000",
    (s, seed, T) => {
      const t = teacherLike(s, seed, 4);
      const s32 = s.to("float32");
      const t32 = t.to("float32");
      const want = distillationLoss(s32.to("float64"), t32.to("float64"), { temperature: T }).item();
      const got = distillationLoss(s32, t32, { temperature: T });
      expect(got.dtype).toBe("float32");
      fc.pre(want > 1e-30);
      expect(Math.abs(got.item() - want) / want).toBeLessThan(1e-6);
    },
  );

  test("the gradient is float32 for a float32 student; a noGrad teacher gets none", () => {
    const s = leaf(tensor([[1, 2, 3]]));
    const t = noGrad(() => tensor([[3, 2, 1]]).mul(2));
    distillationLoss(s, t, { temperature: 2 }).backward();
    expect(s.grad!.dtype).toBe("float32");
    expect(t.grad).toBeNull();
  });
});

describe("argument checks", () => {
  const s = tensor([[1, 2, 3], [0, 0, 1]]);
  const t = tensor([[0, 2, 3], [1, 0, 1]]);
  const labels = tensor([0, 2], { dtype: "int32" });
  const cases: [string, () => unknown, new (...a: any[]) => Error, RegExp][] = [
    ["T = 0", () => distillationLoss(s, t, { temperature: 0 }), ValueError, /^distillationLoss: temperature must be in \[1e-6, 1e6\], got 0$/],
    ["T < 0", () => distillationLoss(s, t, { temperature: -2 }), ValueError, /temperature must be in \[1e-6, 1e6\], got -2/],
    ["T = ∞", () => distillationLoss(s, t, { temperature: Infinity }), ValueError, /temperature must be in \[1e-6, 1e6\], got Infinity/],
    ["T NaN", () => distillationLoss(s, t, { temperature: NaN }), ValueError, /got NaN/],
    ["T below 1e-6", () => distillationLoss(s, t, { temperature: 9.9e-7 }), ValueError, /^distillationLoss: temperature must be in \[1e-6, 1e6\], got 9.9e-7$/],
    ["T subnormal", () => distillationLoss(s, t, { temperature: 5e-324 }), ValueError, /^distillationLoss: temperature must be in \[1e-6, 1e6\], got 5e-324$/],
    ["T above 1e6", () => distillationLoss(s, t, { temperature: 1.000001e6 }), ValueError, /^distillationLoss: temperature must be in \[1e-6, 1e6\], got 1000001$/],
    ["T = 1e30", () => distillationLoss(s, t, { temperature: 1e30 }), ValueError, /got 1e\+30$/],
    ["T a string", () => distillationLoss(s, t, { temperature: "4" as unknown as number }), ValueError, /^distillationLoss: temperature must be in \[1e-6, 1e6\], got "4"$/],
    ["alpha > 1", () => distillationLoss(s, t, { labels, alpha: 1.5 }), ValueError, /^distillationLoss: alpha must be in \[0, 1\], got 1.5$/],
    ["alpha < 0", () => distillationLoss(s, t, { labels, alpha: -0.1 }), ValueError, /alpha must be in \[0, 1\], got -0.1/],
    ["alpha without labels", () => distillationLoss(s, t, { alpha: 0.5 }), ValueError, /alpha must be absent or 1 without labels/],
    ["label out of range", () => distillationLoss(s, t, { labels: tensor([0, 3], { dtype: "int32" }) }), IndexError, /^distillationLoss: labels\[1\] = 3 is out of range \[0, 3\) and is not ignoreIndex \(-100\)$/],
    ["negative label", () => distillationLoss(s, t, { labels: tensor([-1, 0], { dtype: "int32" }) }), IndexError, /labels\[0\] = -1 is out of range/],
    ["float labels", () => distillationLoss(s, t, { labels: tensor([0, 1]) }), DTypeError, /^distillationLoss: labels must be int32 class indices of shape \[2\], got float32 of shape \[2\]$/],
    ["labels shape", () => distillationLoss(s, t, { labels: tensor([0], { dtype: "int32" }) }), ShapeError, /^distillationLoss: labels has shape \[1\] but the input needs \[2\]$/],
    ["shape mismatch", () => distillationLoss(s, tensor([[1, 2], [3, 4]])), ShapeError, /^distillationLoss: teacher has shape \[2,2\] but student has shape \[2,3\]$/],
    ["rank", () => distillationLoss(tensor(1), tensor(1)), ShapeError, /^distillationLoss: student must have a class axis, shape \[\.\.\., C\], got \[\]$/],
    ["int logits", () => distillationLoss(labels.reshape(1, 2), labels.reshape(1, 2)), DTypeError, /student must be float32 or float64, got int32/],
    ["softTargets T", () => softTargets(s, 0), ValueError, /^softTargets: temperature must be in \[1e-6, 1e6\], got 0$/],
    ["softTargets T = 1e-40", () => softTargets(s, 1e-40), ValueError, /^softTargets: temperature must be in \[1e-6, 1e6\], got 1e-40$/],
    ["softTargets int logits", () => softTargets(labels, 2), DTypeError, /^softTargets: logits must be float32 or float64, got int32$/],
    ["softTargets null", () => softTargets(null as unknown as Tensor, 2), DTypeError, /^softTargets: logits must be a Tensor, got null$/],
    ["softTargets a number", () => softTargets(3 as unknown as Tensor, 2), DTypeError, /^softTargets: logits must be a Tensor, got number$/],
    ["composite T", () => distillationLossComposite(s, t, { temperature: -1 }), ValueError, /^distillationLossComposite: temperature must be in \[1e-6, 1e6\], got -1$/],
    ["composite float labels", () => distillationLossComposite(s, t, { labels: tensor([0, 1]) }), DTypeError, /^distillationLossComposite: labels must be int32 class indices of shape \[2\], got float32 of shape \[2\]$/],
    ["composite label out of range", () => distillationLossComposite(s, t, { labels: tensor([0, 3], { dtype: "int32" }) }), IndexError, /^distillationLossComposite: labels\[1\] = 3 is out of range \[0, 3\) and is not ignoreIndex \(-100\)$/],
    ["composite labels shape", () => distillationLossComposite(s, t, { labels: tensor([0], { dtype: "int32" }) }), ShapeError, /^distillationLossComposite: labels has shape \[1\] but the input needs \[2\]$/],
    // null is a value, not "absent": the shared options checker refuses it (src/tensor/options.ts).
    ["composite labels null", () => distillationLossComposite(s, t, { labels: null as unknown as Tensor }), ValueError, /^distillationLossComposite: options.labels is null; leave it out for the default$/],
    ["composite labels a number", () => distillationLossComposite(s, t, { labels: 3 as unknown as Tensor }), DTypeError, /^distillationLossComposite: labels must be an int32 Tensor/],
    ["logit matching shapes", () => logitMatchingLoss(s, tensor([[1, 2]])), ShapeError, /^logitMatchingLoss: teacher has shape \[1,2\] but student has shape \[2,3\]$/],
    ["predict int", () => predict(labels), DTypeError, /^predict: logits must be float32 or float64, got int32$/],
  ];
  for (const [what, call, cls, message] of cases) {
    test(what, () => {
      expect(call).toThrow(cls);
      expect(call).toThrow(message);
    });
  }
});
