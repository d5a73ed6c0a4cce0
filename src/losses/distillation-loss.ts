import { defineComposite, defineOp } from "../ops/define-op.js";
import { Tensor } from "../tensor/tensor.js";
import { promoteTypes, type FloatDType, type Storage } from "../tensor/dtype.js";
import { kernel } from "../kernels/registry.js";
import type { DistillationRowsCall, Lanes } from "../kernels/table.js";
import { gradients } from "../autograd/backward.js";
import { compare, contiguousData } from "../ops/elementwise.js";
import { add } from "../ops/add.js";
import { clone } from "../ops/clone.js";
import { div } from "../ops/div.js";
import { logSoftmax } from "../ops/log-softmax.js";
import { mul } from "../ops/mul.js";
import { oneHot } from "../ops/one-hot.js";
import { reshape } from "../ops/reshape.js";
import { softmax } from "../ops/softmax.js";
import { sub } from "../ops/sub.js";
import { sum } from "../ops/sum.js";
import { where } from "../ops/where.js";
import { reduceLoss } from "./class-layout.js";
import { STANDARDIZE_EPS, distillationCall, type DistillationCall, type DistillationOptions } from "./distillation-options.js";
import { distillationForm } from "./distillation-loss-composite.js";
import { fusedWithGraph } from "./fused-with-graph.js";

export type { DistillationOptions, Divergence } from "./distillation-options.js";

/**
 * distillationLoss(student, teacher, { labels, temperature = 4, alpha = 0.5, divergence = "forward",
 *   beta = 0.5, skew = 0.1, scaleT2 = true, standardize = false, ignoreIndex = −100, reduction = "mean" })
 * — knowledge distillation, fused. student and teacher are logits of any rank [..., C], class
 * axis last, of one shape; a row is one position of the leading axes. Per row r,
 *
 *   L_r = α·T^k·D(p_t ‖ p_s) + (1 − α)·CE(s, y),   p_s = softmax(ŝ/T), p_t = softmax(t̂/T),
 *
 * k = 2 (scaleT2, Hinton's factor) or 0, CE the cross-entropy at T = 1 of the raw student
 * logits, ŝ, t̂ the logits or, with `standardize`, their standardizeLogits (each row to mean 0
 * and unbiased std 1, eps 1e-7; Sun et al., CVPR 2024). D is the `divergence`:
 *   "forward" KL(p_t ‖ p_s) (Hinton), "reverse" KL(p_s ‖ p_t),
 *   "jsd" β·KL(p_t ‖ m) + (1 − β)·KL(p_s ‖ m), m = β·p_t + (1 − β)·p_s, β in (0, 1) (β = 0 or 1
 *     is a ValueError naming "forward" or "reverse", the limits of D/β and D/(1 − β)),
 *   "skewForward" KL(p_t ‖ λp_t + (1 − λ)p_s), "skewReverse" KL(p_s ‖ λp_s + (1 − λ)p_t),
 *     λ = skew in [0, 1) (DistiLLM; the KL itself, not its cross-entropy),
 *   "tvd" ½Σ|p_t − p_s|.
 * labels (int32, the leading shape) add the hard term; a row whose label is ignoreIndex is
 * dropped from both terms and from the count. reduction "mean" (default) averages over the
 * counted rows ('batchmean' for [B, C]), "sum" adds them, "none" returns one loss per row (0 at
 * ignored rows). When every row is ignored, "mean" is 0 with zero gradients (PyTorch's
 * cross-entropy gives 0/0 = NaN, which poisons a training loop over padded batches).
 * temperature is a number or a float scalar Tensor, both in [1e-6, 1e6] (a ValueError
 * outside, for the tensor too); when that tensor requires grad, ∂L/∂T is returned to it
 * (curriculum temperature, CTKD). Without labels, alpha must be absent or 1.
 *
 * The original call — [B, C] logits, the forward KL, T² scaling, 'mean', no standardization,
 * a temperature that needs no gradient — runs the original fused kernel below, and its
 * derivation follows; ignored rows are left out of that kernel's rows. Everything else runs
 * the `distillationRows` kernel (kernels/divergences.ts), whose derivation is docs/distillation-
 * methods.md and is summarized after this one.
 *
 * The original kernel: Hinton's loss,
 *
 *   L = α·T²·KL(p_t ‖ p_s) + (1 − α)·CE(s, y),
 *
 * with KL averaged over the B rows ('batchmean') and CE the mean cross-entropy at T = 1.
 *
 * Backward. Write zₛ = s/T and z_t = t/T, and for one row
 * KL = Σᵢ p_t,i (log p_t,i − log p_s,i).
 *
 * Student. log p_s,i = zₛ,i − log Σⱼ e^{zₛ,j}, so ∂ log p_s,i/∂zₛ,k = δᵢₖ − p_s,k and
 *   ∂KL/∂zₛ,k = −Σᵢ p_t,i (δᵢₖ − p_s,k) = p_s,k − p_t,k   (Σᵢ p_t,i = 1).
 * Then ∂/∂s = (1/T)·∂/∂zₛ, and the T² factor leaves T·(p_s − p_t). The CE
 * part is the usual softmax(s) − onehot(y). Dividing by the batch:
 *   ∂L/∂s = [α·T·(p_s − p_t) + (1 − α)·(softmax(s) − onehot(y))] / B.
 *
 * Teacher. With dᵢ = log p_t,i − log p_s,i, ∂p_t,i/∂z_t,k = p_t,i(δᵢₖ − p_t,k) and
 * ∂ log p_t,i/∂z_t,k = δᵢₖ − p_t,k:
 *   ∂KL/∂z_t,k = Σᵢ [p_t,i(δᵢₖ − p_t,k)·dᵢ + p_t,i(δᵢₖ − p_t,k)]
 *             = p_t,k·d_k − p_t,k·KL + (p_t,k − p_t,k) = p_t,k (d_k − KL),
 * so ∂L/∂t = α·T·p_t ⊙ ((log p_t − log p_s) − KL_row) / B.
 *
 * Checks. Both gradients sum to 0 over each row (a constant added to a row
 * of s or t changes nothing): Σ(p_s − p_t) = 0, Σ(softmax − onehot) = 0 and
 * Σ p_t (d − KL) = KL − KL = 0. As T → ∞, T·(p_s − p_t) → ((s − s̄) − (t − t̄))/C
 * (logit matching, docs/distillation.md); the unscaled gradient is 1/T² of
 * that, which is why the soft term is multiplied by T².
 *
 * The teacher gets a gradient only when it requires one (online or mutual
 * distillation); a teacher computed under noGrad costs nothing extra.
 *
 * Second order (docs/distillation.md, "The second-order view"). For one row
 * let A(p) = diag(p) − ppᵀ, the softmax Jacobian (the Hessian of logSumExp),
 * σ = softmax(s) and w = p_t ⊙ (d − KL), so that ∂L/∂t = α·T·w/B. With
 * ∂p_s/∂s = A(p_s)/T, ∂p_t/∂t = A(p_t)/T and ∂σ/∂s = A(σ):
 *   ∂²L/∂s²   = [α·A(p_s) + (1 − α)·A(σ)]/B         (T from the gradient, 1/T from the chain:
 *                                                   the T² of the loss cancels),
 *   ∂²L/∂s∂t = −α·A(p_t)/B                           (from −αT·p_t/B),
 *   ∂²L/∂t²   = α·[A(p_t) + diag(w) − p_t wᵀ − w p_tᵀ]/B.
 * The teacher block: with z = t/T, ∂dᵢ/∂z_k = δᵢₖ − p_t,k (log p_s does not move
 * with t) and ∂KL/∂z_k = w_k, so
 *   ∂wᵢ/∂z_k = p_t,i(δᵢₖ − p_t,k)(dᵢ − KL) + p_t,i(δᵢₖ − p_t,k − w_k)
 *           = [diag(w) − w p_tᵀ + A(p_t) − p_t wᵀ]ᵢₖ,
 * times αT/B and 1/T. The mixed block read from the teacher's side is the
 * same: ∂wᵢ/∂z_s,k = p_t,i(−δᵢₖ + p_s,k − (p_s,k − p_t,k)) = −A(p_t)ᵢₖ (symmetry).
 * Checks: every block maps the all-ones vector to 0 (A(p)·1 = p − p = 0, and
 * Σw = KL − KL = 0 gives (diag(w) − p wᵀ − w p_tᵀ)·1 = w − 0 − w = 0): a shift of a
 * row of s or t moves neither gradient. At p_t = p_s, w = 0 and the soft blocks
 * are (α/B)·[[A, −A], [−A, A]]: positive semidefinite, zero along s − t = const.
 *
 * The backward. Ordinarily it hands over the gradients the fused kernel formed in
 * the forward pass (times the upstream): nothing is recomputed. When backward
 * creates a graph, it returns the same values carrying the graph of the gradient
 * formulas above written with ops (softmax, logSoftmax, where; fusedWithGraph),
 * whose derivatives are these blocks. A teacher class with p_t = 0 (masked at −∞,
 * or underflowed) is selected out of d − KL before any product (where, not a
 * multiplication by p_t = 0), so log p_t = −∞ never meets a 0 in the second order:
 * masked classes stay finite there too. Terms of weight 0 are left out (α = 0:
 * no teacher, α = 1: no cross-entropy), as in the kernel.
 *
 * Non-finite policy (docs/non-finite.md). A teacher class with p_t = 0
 * (masked with −∞, or underflowed at a large logit gap) adds nothing
 * (0·log 0 = 0): loss and both gradients stay finite, where PyTorch's
 * composite gives NaN. Teacher mass on a class the student masks makes the
 * KL really infinite: the loss is +∞. NaN in, NaN out.
 *
 * Numerics: the `distillation` kernel (src/kernels/distillation.ts; the kernel
 * layer chooses among the algorithms below). Sums are accumulated in
 * float64. For a regular row the KL is formed in the log-ratio form,
 * Γ/(1 + M) + h(M) with x = (t − s)/T centred at its q-mean, which keeps it to
 * a relative ε·(a few dozen) at every accepted T, in particular at large T
 * where KL is O(1/T²) and Σ p_t·(log p_t − log p_s) would lose ε·T² of it; other
 * rows (masks the student does not share, NaN, huge spreads) use that direct
 * sum. With float32 inputs, α > 0 and a teacher that needs no gradient (the
 * usual frozen teacher), src/kernels/distillation-f32.ts (and its WebAssembly
 * twin) uses float32-accurate exponentials in the same log-ratio form, which
 * keeps 1e-6 relative accuracy however small the KL is (docs/distillation.md,
 * "Float32 kernels": proven for the TypeScript kernel, tested on adversarial
 * rows for the WebAssembly one).
 *
 * The general path (every other call). Write q = p_s, p = p_t, y = log(p/q) per class. Every
 * divergence is D = c_p·KL(p ‖ m) + c_q·KL(q ‖ m) with m = μ_p·p + μ_q·q (forward: m = q;
 * reverse: m = p; jsd: c = μ = (β, 1 − β); skewForward: c = (1, 0), μ = (λ, 1 − λ); skewReverse:
 * c = (0, 1), μ = (1 − λ, λ)), TVD aside. Differentiating KL(w ‖ m) in the free coordinates p
 * and q, then through the softmax (∂p/∂(t/T) = diag p − ppᵀ), with ℓ_p = log(p/m),
 * ℓ_q = log(q/m), K_p = E_p ℓ_p, K_q = E_q ℓ_q, ρ = (c_p·p + c_q·q)/m:
 *   ∂D/∂(t/T) = p ⊙ [c_p(ℓ_p − K_p) − μ_p(ρ − E_p ρ)],   ∂D/∂(s/T) = q ⊙ [c_q(ℓ_q − K_q) − μ_q(ρ − E_q ρ)];
 *   tvd: ∂D/∂(t/T) = ½·p ⊙ (σ − E_p σ), ∂D/∂(s/T) = −½·q ⊙ (σ − E_q σ), σ = sign(p − q) (0 where equal).
 * Check: forward gives q − p and p ⊙ (y − KL), the original kernel's rules; each row sums to 0.
 * Then ∂L_r/∂s = α·T^{k−1}·∂D/∂(s/T) + (1 − α)(softmax(s) − onehot(y)), likewise for t.
 * The temperature: D is a function of s/T and t/T only, so (Euler) T·∂D/∂T =
 * −⟨s, ∂D/∂s⟩ − ⟨t, ∂D/∂t⟩ (any per-row shift of s or t changes nothing, so the kernel uses
 * s − max s), and ∂L_r/∂T = α·T^{k−1}·(k·D − ⟨s/T, ∂D/∂(s/T)⟩ − ⟨t/T, ∂D/∂(t/T)⟩). CE does not
 * involve T. Check: at k = 2 and large T this tends to 0 for the smooth divergences (T²·D tends
 * to f''(1) times the T-free logit-matching value); for TVD it is T·D that tends to a T-free
 * value, so ∂(T²·D)/∂T tends to that value, the slope of T²·D's linear growth (derived in
 * docs/distillation-methods.md; the tests check ∂L/∂T against differences and the composite). With standardize, s and t above are ŝ and
 * t̂, and the gradients go back through standardizeLogits's rule (src/ops/standardize-logits.ts);
 * CE keeps the raw s. The reduction divides the rows by the counted rows ('mean') or not; with
 * 'none' the backward multiplies each row's gradient by its own upstream.
 *
 * Second order of the general path. When backward creates a graph it returns the kernel's
 * gradients (the same values) carrying the graph of distillationForm's gradients
 * (distillation-loss-composite.ts: the loss written with ops, differentiated by autograd on
 * fresh aliases of s, t and T so that each is a partial derivative, not a total one), so their
 * derivatives are the Hessian blocks of the formula. Check (tested): where p = q (s − t constant
 * on each row, no standardization) the soft term's Hessian in (s, t) is
 * α·T^{k−2}·f''(1)·[[J, −J], [−J, J]]/norm, J = diag q − qqᵀ, f''(1) = 1 (forward, reverse),
 * β(1 − β) (jsd), (1 − λ)² (the skews): each D is f''(1)/2·Var_q(t/T − s/T) to second order.
 * TVD has a kink there and no such expansion.
 *
 * @example
 * const teacherLogits = noGrad(() => teacher.forward(x));
 * distillationLoss(student.forward(x), teacherLogits, { labels, temperature: 4, alpha: 0.7 }).backward();
 * distillationLoss(s3d, t3d, { labels: tokens, divergence: "jsd", beta: 0.5, reduction: "sum" });
 */
export const distillationLoss = defineComposite(
  "distillationLoss",
  (student: Tensor, teacher: Tensor, options: DistillationOptions = {}): Tensor => {
    const call = distillationCall(student, teacher, options, "distillationLoss");
    // The temperature is an argument of the op, so that the tape sees it when it requires grad.
    return distillationLossOp(student, teacher, call.temperature, call);
  },
);

interface Saved {
  dS: Tensor | null;
  dT: Tensor | null;
  /** ∂L/∂T per unit upstream: a number (scalar reductions) or one per row ('none'). */
  dTemp: number | Tensor | null;
  student: Tensor;
  teacher: Tensor;
  temperature: Tensor | null;
  o: DistillationCall;
  /** The original call on [B, C] with no ignored row: its own second-order forms apply. */
  classic: boolean;
}

const distillationLossOp = defineOp({
  name: "distillationLoss",
  forward(ctx, student: Tensor, teacher: Tensor, temperature: Tensor | null, o: DistillationCall): Tensor {
    const dtype = promoteTypes(student.dtype, teacher.dtype, "distillationLoss");
    const needTemp = ctx.needsInputGrad[2] === true;
    // The gradients are formed in the same passes as the loss, for the inputs that want one.
    const dS = ctx.needsInputGrad[0] === true ? Tensor.empty(student.shape, student.dtype) : null;
    const dT = ctx.needsInputGrad[1] === true ? Tensor.empty(teacher.shape, teacher.dtype) : null;
    const s = contiguousData(student);
    const t = contiguousData(teacher);
    const original = o.divergence === "forward" && o.scaleT2 && !o.standardize && o.reduction === "mean" && !needTemp;
    let y: Tensor;
    let dTemp: number | Tensor | null = null;
    if (original) {
      y = Tensor.empty([], dtype);
      y.data[0] = o.counted === 0 ? 0 : originalKernel(s, t, o, dtype, dS, dT);
    } else {
      const loss = new Float64Array(o.rows);
      const dTempRows = needTemp ? new Float64Array(o.rows) : null;
      generalKernel(s, t, o, dtype, loss, dS, dT, dTempRows);
      y = o.reduction === "mean" && o.counted === 0 ? Tensor.empty([], dtype) : reduceLoss(loss, o.reduction, o.counted, o.leadShape, dtype);
      if (dTempRows !== null) {
        if (o.reduction === "none") dTemp = new Tensor(dTempRows, o.leadShape);
        else {
          const total = new Float64Array(1);
          kernel("reduce", "float64", o.rows)("sum", dTempRows, { outer: 1, length: o.rows, inner: 1 }, total);
          dTemp = total[0]!;
        }
      }
    }
    const classic = original && student.ndim === 2 && o.kept === null;
    ctx.save({ dS, dT, dTemp, student, teacher, temperature, o, classic } satisfies Saved);
    return y;
  },
  backward(ctx, g) {
    const sv = ctx.saved as Saved;
    const { o } = sv;
    if (!ctx.createGraph) {
      // The saved gradients are nobody else's once the graph is freed: handed over, a
      // leaf's .grad takes them without a copy (a scaled one is fresh anyway).
      if (o.reduction === "none") {
        const gr = reshape(g, [...o.leadShape, 1]);
        const give = (d: Tensor | null): Tensor | null => (d === null ? null : ctx.handOver(mul(d, gr)));
        return [give(sv.dS), give(sv.dT), sv.dTemp === null ? null : sum(mul(g, sv.dTemp as Tensor)), null];
      }
      const scale = g.item();
      return [scaled(ctx, sv.dS, scale), scaled(ctx, sv.dT, scale), sv.dTemp === null ? null : scalarOf((sv.dTemp as number) * scale), null];
    }
    // The first-order values (no graph: g's value only), each carrying the graph of its form.
    const gd = g.detach();
    const value = (d: Tensor): Tensor => (o.reduction === "none" ? mul(d, reshape(gd, [...o.leadShape, 1])) : mul(d, gd.item()));
    const tempValue = (): Tensor => (o.reduction === "none" ? sum(mul(gd, sv.dTemp as Tensor)) : scalarOf((sv.dTemp as number) * gd.item()));
    if (sv.classic) {
      const [formS, formT] = distillationGradientForms(
        { dS: sv.dS, dT: sv.dT, student: sv.student, teacher: sv.teacher, labels: o.labelsTensor, T: o.T, alpha: o.alpha }, g,
      );
      return [
        sv.dS === null ? null : formS === null ? value(sv.dS) : fusedWithGraph("distillationLoss", value(sv.dS), formS),
        sv.dT === null ? null : formT === null ? value(sv.dT) : fusedWithGraph("distillationLoss", value(sv.dT), formT),
        null, null,
      ];
    }
    const [formS, formT, formTemp] = generalForms(sv, g);
    const carry = (v: Tensor, form: Tensor | null): Tensor => (form === null ? v : fusedWithGraph("distillationLoss", v, form));
    return [
      sv.dS === null ? null : carry(value(sv.dS), formS),
      sv.dT === null ? null : carry(value(sv.dT), formT),
      sv.dTemp === null ? null : carry(tempValue(), formTemp),
      null,
    ];
  },
});

/**
 * A saved gradient times a scalar upstream, for a backward without a graph: the saved tensor
 * itself when the upstream is 1 (handed over on the graph's last use), else a fresh product.
 * (A module function, not a closure made in every backward: see the wasm distill's note.)
 */
function scaled(ctx: { lastUse: boolean; handOver(t: Tensor): Tensor }, d: Tensor | null, scale: number): Tensor | null {
  if (d === null) return null;
  if (scale !== 1) return ctx.handOver(mul(d, scale));
  return ctx.lastUse ? ctx.handOver(d) : d;
}

/** A float64 scalar tensor holding v (a gradient value; autograd casts it to its input's dtype). */
function scalarOf(v: number): Tensor {
  const out = Tensor.empty([], "float64");
  out.data[0] = v;
  return out;
}

/**
 * The original fused kernel on the counted rows: all rows, or, when some are ignored, the
 * counted ones copied together (kernel copy, one call per run of consecutive rows), their
 * gradients copied back in place and 0 on the ignored rows. Returns the loss (mean over the
 * counted rows). Also linearDistillationLoss's, on each chunk of rows.
 */
export function originalKernel(s: Storage, t: Storage, o: DistillationCall, dtype: FloatDType, dS: Tensor | null, dT: Tensor | null): number {
  const { rows: N, classes: C, kept } = o;
  if (kept === null) return kernel("distillation", dtype, N * C)(s, t, o.labels, N, C, o.T, o.alpha, dS ? dS.data : null, dT ? dT.data : null);
  const n = o.counted;
  const sc = Tensor.empty([n, C], sDtypeOf(s)).data;
  const tc = Tensor.empty([n, C], sDtypeOf(t)).data;
  const yc = new Int32Array(n);
  const dSc = dS ? Tensor.empty([n, C], dS.dtype).data : null;
  const dTc = dT ? Tensor.empty([n, C], dT.dtype).data : null;
  const runs = keptRuns(kept);
  for (const [from, to, len] of runs) {
    copyRows(s, from, sc, to, len, C);
    copyRows(t, from, tc, to, len, C);
    copyRows(o.labels!, from, yc, to, len, 1);
  }
  const loss = kernel("distillation", dtype, n * C)(sc, tc, yc, n, C, o.T, o.alpha, dSc, dTc);
  for (const [from, to, len] of runs) {
    if (dS) copyRows(dSc!, to, dS.data, from, len, C);
    if (dT) copyRows(dTc!, to, dT.data, from, len, C);
  }
  return loss;
}

const sDtypeOf = (x: Storage): FloatDType => (x instanceof Float32Array ? "float32" : "float64");

/** The counted rows as runs [first row, its place among the counted, length] (row bookkeeping). */
function keptRuns(kept: Int32Array): [number, number, number][] {
  const runs: [number, number, number][] = [];
  for (let k = 0; k < kept.length; k++) {
    const last = runs[runs.length - 1];
    if (last !== undefined && last[0] + last[2] === kept[k]) last[2]++;
    else runs.push([kept[k]!, k, 1]);
  }
  return runs;
}

/** dst rows [to, to + len) = src rows [from, from + len), rows of `width` values (kernel copy). */
function copyRows(src: Storage, from: number, dst: Storage, to: number, len: number, width: number): void {
  const dtype = src instanceof Int32Array ? "int32" : src instanceof Float32Array ? "float32" : "float64";
  kernel("copy", dtype, len * width)({ data: src, offset: from * width, strides: [1] }, [len * width], dst.subarray(to * width, (to + len) * width));
}

/**
 * The general path: the distillationRows kernel, on the logits or, with standardize, on their
 * standardization (float64, kernel standardize), whose gradients then go back through the
 * standardization's rule (kernel standardizeBackward) and take the hard term's gradient, formed
 * on the raw student logits, on top (one rounding to the student's dtype). Also
 * linearDistillationLoss's, on each chunk of rows (o.rows the chunk's, o.counted the call's).
 */
export function generalKernel(
  s: Storage, t: Storage, o: DistillationCall, dtype: FloatDType, loss: Float64Array,
  dS: Tensor | null, dT: Tensor | null, dTemp: Float64Array | null,
): void {
  const { rows: N, classes: C } = o;
  const n = N * C;
  const call: DistillationRowsCall = {
    divergence: o.divergence, mix: o.mix, temperature: o.T, alpha: o.alpha, power: o.scaleT2 ? 2 : 0,
    labels: o.labels, ignoreIndex: o.ignoreIndex, norm: o.reduction === "mean" ? Math.max(o.counted, 1) : 1,
  };
  if (!o.standardize || o.alpha === 0) {
    kernel("distillationRows", dtype, n)(s, t, s, N, C, call, loss, dS ? dS.data : null, dT ? dT.data : null, null, dTemp);
    return;
  }
  const lanes: Lanes = { outer: N, length: C, inner: 1 };
  const sh = new Float64Array(n);
  const th = new Float64Array(n);
  const sigmaS = new Float64Array(N);
  const sigmaT = new Float64Array(N);
  kernel("standardize", "float64", n)(s, lanes, STANDARDIZE_EPS, sh, sigmaS);
  kernel("standardize", "float64", n)(t, lanes, STANDARDIZE_EPS, th, sigmaT);
  const hard = o.labels !== null && o.alpha < 1;
  const dSh = dS ? new Float64Array(n) : null;
  const dTh = dT ? new Float64Array(n) : null;
  const dH = dS && hard ? new Float64Array(n) : null;
  // Keyed by the loss's dtype, not the rows': a float32 loss's standardized rows (float64 arrays,
  // as every backend's distillationRows takes them) run on its backend's kernel, WebAssembly's
  // included; a float64 loss stays on TypeScript.
  kernel("distillationRows", dtype, n)(sh, th, s, N, C, call, loss, dSh, dTh, dH, dTemp);
  if (dS) {
    if (dH === null) kernel("standardizeBackward", "float64", n)(sh, sigmaS, STANDARDIZE_EPS, dSh!, lanes, dS.data);
    else {
      const soft = new Float64Array(n);
      kernel("standardizeBackward", "float64", n)(sh, sigmaS, STANDARDIZE_EPS, dSh!, lanes, soft);
      const flat = { offset: 0, strides: [1] };
      kernel("binary", "float64", n)("add", { data: soft, ...flat }, { data: dH, ...flat }, [n], dS.data);
    }
  }
  if (dT) kernel("standardizeBackward", "float64", n)(th, sigmaT, STANDARDIZE_EPS, dTh!, lanes, dT.data);
}

/**
 * The general path's gradients written with ops, times the upstream g: autograd's gradients of
 * distillationForm (the loss with ops), taken with a graph, on clones of the inputs that want a
 * gradient — so that each is this op's partial derivative in that input, not a total derivative
 * through another (a teacher computed from the student, say) — and of the temperature tensor.
 * null for an input that wants none or that the loss does not use (α = 0: the teacher).
 */
function generalForms(sv: Saved, g: Tensor): [Tensor | null, Tensor | null, Tensor | null] {
  const s = sv.dS === null ? sv.student : clone(sv.student);
  const t = sv.dT === null ? sv.teacher : clone(sv.teacher);
  const T = sv.dTemp === null ? sv.o.T : clone(sv.temperature!);
  const L = distillationForm(s, t, T, sv.o);
  const wrt: Tensor[] = [];
  if (sv.dS !== null) wrt.push(s);
  if (sv.dT !== null) wrt.push(t);
  if (sv.dTemp !== null) wrt.push(T as Tensor);
  if (!L.requiresGrad) return [null, null, null];
  const forms = gradients([L], wrt, [g], { createGraph: true, allowUnused: true });
  let k = 0;
  const formS = sv.dS !== null ? forms[k++]! : null;
  const formT = sv.dT !== null ? forms[k++]! : null;
  const formTemp = sv.dTemp !== null ? forms[k++]! : null;
  return [formS, formT, formTemp];
}

/**
 * The gradients of distillationLoss written with ops, times the upstream g (a
 * scalar): the student's α·T·(softmax(s/T) − softmax(t/T))/B + (1 − α)(softmax(s) − onehot(y))/B
 * and the teacher's α·T·p_t ⊙ ((log p_t − log p_s) − KL)/B, with d = log p_t − log p_s
 * selected to 0 where p_t = 0 before it is used (0·log 0 = 0 without a NaN in its
 * derivative). null for an input that wants no gradient, or whose every term has weight 0.
 */
function distillationGradientForms(
  saved: { dS: Tensor | null; dT: Tensor | null; student: Tensor; teacher: Tensor; labels: Tensor | null; T: number; alpha: number },
  g: Tensor,
): [Tensor | null, Tensor | null] {
  const { dS, dT, student: s, teacher: t, labels, T, alpha } = saved;
  const [B, C] = s.shape as [number, number];
  const soft = alpha > 0;
  const hard = labels !== null && alpha < 1;
  let formS: Tensor | null = null;
  let formT: Tensor | null = null;
  if (soft) {
    const zs = div(s, T);
    const zt = div(t, T);
    const pt = softmax(zt, -1);
    const c = (alpha * T) / B;
    if (dS !== null) formS = mul(sub(softmax(zs, -1), pt), c);
    if (dT !== null) {
      const support = compare("distillationLoss", "gt", pt, 0);
      const d = where(support, sub(logSoftmax(zt, -1), logSoftmax(zs, -1)), 0);
      const kl = sum(mul(pt, d), -1, true);
      formT = mul(mul(pt, sub(d, kl)), mul(g, c));
    }
  }
  if (hard && dS !== null) {
    const ce = mul(sub(softmax(s, -1), oneHot(labels, C, { dtype: s.dtype as FloatDType })), (1 - alpha) / B);
    formS = formS === null ? ce : add(formS, ce);
  }
  return [formS === null ? null : mul(formS, g), formT];
}
