import { defineOp } from "../ops/define-op.js";
import { Tensor } from "../tensor/tensor.js";
import { ones } from "../tensor/creation.js";
import { DTypeError, IndexError, ShapeError, ValueError } from "../tensor/errors.js";
import { describeValue, shapeStr } from "../tensor/shape.js";
import { checkOptions } from "../tensor/options.js";
import { promoteTypes, type FloatDType } from "../tensor/dtype.js";
import { kernel } from "../kernels/registry.js";
import type { ClassTarget } from "../kernels/table.js";
import { logSumExpRow } from "../kernels/sparse-distillation.js";
import { compare, contiguousData } from "../ops/elementwise.js";
import { add } from "../ops/add.js";
import { div } from "../ops/div.js";
import { exp } from "../ops/exp.js";
import { gather, gatherBackward } from "../ops/gather.js";
import { log } from "../ops/log.js";
import { logSoftmax } from "../ops/log-softmax.js";
import { logSumExp } from "../ops/log-sum-exp.js";
import { mul } from "../ops/mul.js";
import { reshape } from "../ops/reshape.js";
import { softmax } from "../ops/softmax.js";
import { sub } from "../ops/sub.js";
import { sum } from "../ops/sum.js";
import { where } from "../ops/where.js";
import { checkAlpha, checkInteger, checkLabels, checkReduction, checkTemperature, type Reduction } from "./checks.js";
import { fusedWithGraph } from "./fused-with-graph.js";

/** Options of `sparseDistillationLoss`: hard labels and their weight, the temperature, the tail outcome or renormalisation, T² scaling, ignored rows, the reduction, and the divergence and standardization as in `distillationLoss`. */
export interface SparseDistillationOptions {
  /** Hard labels (int32) of the leading shape. Without them the loss is the soft term alone. */
  labels?: Tensor;
  /** T in [1e-6, 1e6], a number (a Tensor is refused). The student's softmax is at T; the logprobs are taken as they are. Default 4. */
  temperature?: number;
  /** Weight of the soft term, in [0, 1]. Default 0.5; must be absent or 1 without labels. */
  alpha?: number;
  /** true (default): k + 1 outcomes, the listed classes and "the rest"; false: both sides renormalised over the k listed classes. */
  tail?: boolean;
  /** Multiply the soft term by T² (Hinton's scaling). Default true. */
  scaleT2?: boolean;
  /** A label equal to this drops its row from both terms and from the row count. Default −100. */
  ignoreIndex?: number;
  /** "mean" over the counted rows (default), "sum", or "none" (one loss per row, 0 at ignored rows). */
  reduction?: Reduction;
  /** Only "forward" (the KL of the teacher from the student), the one divergence a top-k teacher allows. */
  divergence?: "forward";
  /** Only false: standardizing needs every logit of the teacher, which a top-k teacher does not have. */
  standardize?: false;
}

/** A checked call. */
interface Call {
  leadShape: number[];
  rows: number;
  C: number;
  k: number;
  T: number;
  alpha: number;
  tail: boolean;
  scaleT2: boolean;
  reduction: Reduction;
  labels: Int32Array | null;
  ignoreIndex: number;
  counted: number;
  /** 1 at a counted row, 0 at an ignored one (null: every row counts), [lead…, 1]. */
  countedMask: Tensor | null;
  /** onehot(y) at counted rows, 0 at ignored ones, [lead…, C] (with labels and α < 1). */
  onehot: Tensor | null;
}

const FN = "sparseDistillationLoss";

/**
 * sparseDistillationLoss(student, indices, logprobs, { labels, temperature = 4, alpha = 0.5,
 *   tail = true, scaleT2 = true, ignoreIndex = −100, reduction = "mean" })
 * — knowledge distillation from a teacher stored as its top-k classes and their
 * log-probabilities, as language-model tooling keeps it. student [..., C] float logits (class
 * axis last, any rank ≥ 1); indices int32 [..., k] and logprobs float [..., k] with the same
 * leading shape: per row, k distinct classes in [0, C) and the teacher's log-probabilities
 * there, already at the teacher's temperature (they are not divided by T). With
 * q = softmax(s/T) over all C classes, P_j the listed probabilities, Q_j = q at the j-th listed class,
 *
 *   L_r = α·T²·D + (1 − α)·CE(s, y)       (T⁰ instead of T² with scaleT2: false),
 *
 * CE the cross-entropy of the raw logits at T = 1, and D:
 *   tail: true (default), the KL over k + 1 outcomes, the listed classes and "the rest":
 *     P_rest = 1 − Σ P_j (a value that rounds below 0 counts as 0), Q_rest = Σ_{c unlisted} q_c,
 *     D = Σ_j P_j·log(P_j/Q_j) + P_rest·log(P_rest/Q_rest)     (0·log 0 = 0).
 *     With k = C no class is unlisted and there is no tail outcome: D = Σ_j P_j·log(P_j/Q_j).
 *   tail: false, both sides renormalised over the k listed classes:
 *     D = KL(P̂ ‖ Q̂), P̂ = P/Σ P, Q̂ = Q/Σ Q — the dense loss on the gathered logits.
 * labels, alpha, ignoreIndex and reduction as distillationLoss: a row whose label is ignoreIndex
 * is dropped from both terms and from the count (and its indices and logprobs are not read);
 * "mean" averages over the counted rows (0, with zero gradients, when none counts), "sum" adds,
 * "none" gives one loss per row, 0 at ignored rows. Refused: an index outside [0, C)
 * (IndexError), an index repeated in a row, a row of logprobs whose probabilities sum above
 * 1 + 1e-6 (ValueError; renormalise or use tail: false for teachers stored in low precision),
 * k = 0 or k > C, and `divergence`, `standardize` or a tensor `temperature` (ValueError: a top-k
 * teacher gives the forward KL only, has no full row to standardize, and T is a number here).
 * The result has the promoted dtype; gradients reach student and logprobs.
 *
 * Why the tail. The k + 1 outcomes are a coarsening of the C classes: the unlisted classes are
 * merged. So D is the KL between the coarsened teacher and student (by the chain rule of the
 * KL, the full KL minus the within-rest part, P_rest·KL(p_t|rest ‖ q|rest) ≥ 0: D ≤ KL(p_t ‖ q),
 * with equality when the teacher's rest is shaped like the student's). Without the tail, mass
 * the student puts outside the teacher's top-k is never penalised.
 *
 * Backward, tail: true. Write z = s/T and the outcome log-probabilities log Q_j = z_{i_j} − lse(z),
 * log Q_rest = lse(z_rest) − lse(z) (z_rest the unlisted classes). With ∂lse(z)/∂z_c = q_c and
 * ∂lse(z_rest)/∂z_c = r_c = q_c/Q_rest at an unlisted c (0 at a listed one):
 *   ∂D/∂z_c = −Σ_j P_j(δ_{c,i_j} − q_c) − P_rest(r_c − q_c) = q_c·P_tot − p̃_c,
 * P_tot = Σ_j P_j + P_rest and p̃ the teacher spread over the classes: P_j at i_j, P_rest·r_c at an
 * unlisted c. While P_rest > 0, P_tot = 1 exactly; clamped (P_rest = 0), P_tot = Σ P_j ∈ [1, 1 + 1e-6];
 * with k = C, P_tot = Σ P_j. Then ∂L/∂s = α·T·(q·P_tot − p̃) + (1 − α)(softmax(s) − onehot(y)).
 * logprobs: ∂P_rest/∂log P_j = −P_j, so with x_j = log(P_j/Q_j), x_rest = log(P_rest/Q_rest),
 *   ∂D/∂log P_j = P_j(x_j + 1) − P_j(x_rest + 1) = P_j·(x_j − x_rest),
 * and ∂L/∂log P = α·T²·P ⊙ (x − x_rest). Where the tail has no mass (P_rest = 0: rounded, clamped, or
 * k = C) the tail term is 0 and ∂D/∂log P_j = P_j·(x_j + 1): the derivative of P_rest·log P_rest is
 * infinite as P_rest → 0⁺, so this is the one-sided derivative from the clamped side, the only
 * finite one. Where P_j = 0 (log P_j = −∞) the gradient is 0 (0·log 0 = 0).
 * Checks: Σ_c ∂D/∂z_c = P_tot − Σ_j P_j − P_rest·Σ r = 0 (a shift of a student row changes
 * nothing); and for k = C the listed classes are every class, r does not appear, and the
 * student gradient is the dense loss's T·(q − p_t) when P = p_t.
 *
 * Backward, tail: false. D is the dense KL of P̂ = softmax(log P) from Q̂ = softmax(z_I) (z_I the
 * listed logits), so (docs/distillation.md, both gradients) ∂D/∂z_I = Q̂ − P̂ (0 at unlisted
 * classes) and ∂D/∂log P = P̂ ⊙ (x̂ − D), x̂ = log(P̂/Q̂). Checks: both sum to 0 over a row (a shift of
 * log P or of s changes neither softmax).
 *
 * Second order (docs/lm-distillation.md, "Second order"). With A(p) = diag p − ppᵀ and, in the
 * tail form, A_rest(r) the same on the unlisted classes (0 elsewhere):
 *   ∂²D/∂z² = P_tot·A(q) − P_rest·A_rest(r),
 *   ∂²D/∂z_c∂log P_j = −P_j·(δ_{c,i_j} − r_c)   (tail with mass; clamped or k = C: P_j·(q_c − δ_{c,i_j})),
 *   ∂²D/∂log P_i∂log P_j = δ_ij·P_j·(x_j − x_rest + 1) + P_iP_j/P_rest   (tail with mass; else δ_ij·P_j·(x_j + 2)),
 * and the renormalised form has the dense blocks with (z_I, log P) for (s/T, t/T). Checks: the
 * student block maps the all-ones vector to 0 (A(q)·1 = 0, A_rest(r)·1 = r − r = 0), and the
 * (log P, log P) block is symmetric. The backward hands over the gradients the kernel formed in the forward
 * pass; when a graph is created it returns the same values carrying the graph of the gradient
 * formulas above written with ops (fusedWithGraph), whose derivatives are these blocks.
 *
 * Numerics: the `sparseDistillation` kernel (kernels/sparse-distillation.ts): float64
 * arithmetic whatever the storage, Q_rest from the log-sum-exp of the unlisted classes (never
 * 1 − Σ q, which cancels when the listed classes hold nearly all the mass and is 0 at logits of
 * ±1e4 where the true Q_rest is e⁻²⁰⁰⁰⁰), P_rest = −expm1(lse(log P)), and D as a sum of terms
 * Q·G(x) ≥ 0 with G(x) = 1 + (x − 1)eˣ, which keeps D accurate relative to itself down to
 * D ≈ ε·(log magnitudes)·√D; float32 results are that value rounded once (docs/lm-distillation.md,
 * "Accuracy", derives the bound and the tests hold the kernel to it).
 *
 * Non-finite policy (docs/non-finite.md): a student row with NaN or +∞, or all −∞, gives NaN; a
 * listed class with log P = −∞ adds nothing and gets dL = 0; teacher mass on an outcome the student
 * masks (Q = 0) gives +∞; NaN in the logprobs gives NaN. α = 0 reads no logprobs values in the
 * kernel (they are still checked), α = 1 computes no cross-entropy.
 *
 * @example
 * // a batch of sequences: student [B, L, V], the teacher's top-64 per token, labels [B, L]
 * const loss = sparseDistillationLoss(studentLogits, shard.indices, shard.logprobs, { labels, temperature: 1 });
 * loss.backward();
 */
export const sparseDistillationLoss = defineOp({
  name: FN,
  forward(ctx, student: Tensor, indices: Tensor, logprobs: Tensor, options?: SparseDistillationOptions): Tensor {
    const o = checkCall(student, indices, logprobs, options);
    const { rows, C, k } = o;
    const dtype = promoteTypes(student.dtype, logprobs.dtype, FN);
    const idx = contiguousData(indices) as Int32Array;
    const lp = contiguousData(logprobs);
    const bad = kernel("topKCheck", "int32", rows * k)(idx, lp, rows, k, C, o.labels, o.ignoreIndex);
    if (bad >= 0) throw topKError(bad, idx, lp, o);
    const dS = ctx.needsInputGrad[0] === true ? Tensor.empty(student.shape, student.dtype) : null;
    const dL = ctx.needsInputGrad[2] === true ? Tensor.empty(logprobs.shape, logprobs.dtype) : null;
    const loss = new Float64Array(rows);
    const scale = o.reduction === "mean" ? 1 / Math.max(o.counted, 1) : 1;
    kernel("sparseDistillation", student.dtype, rows * C)(
      contiguousData(student), idx, lp, rows, C, k,
      { temperature: o.T, alpha: o.alpha, scaleT2: o.scaleT2, tail: o.tail, labels: o.labels, ignoreIndex: o.ignoreIndex, scale },
      loss, dS ? dS.data : null, dL ? dL.data : null,
    );
    ctx.save({ dS, dL, student, indices, logprobs, o, scale });
    return reduceRows(loss, o, dtype);
  },
  backward(ctx, g) {
    const sv = ctx.saved as Saved;
    const { o } = sv;
    const none = o.reduction === "none";
    if (!ctx.createGraph) {
      if (none) {
        const gr = reshape(g, [...o.leadShape, 1]);
        const give = (d: Tensor | null): Tensor | null => (d === null ? null : ctx.handOver(mul(d, gr)));
        return [give(sv.dS), null, give(sv.dL), null];
      }
      // The saved gradients are nobody else's once the graph is freed: handed over, a leaf's
      // .grad takes them without a copy (a scaled one is fresh anyway).
      const scale = g.item();
      const give = (d: Tensor | null): Tensor | null => {
        if (d === null) return null;
        if (scale !== 1) return ctx.handOver(mul(d, scale));
        return ctx.lastUse ? ctx.handOver(d) : d;
      };
      return [give(sv.dS), null, give(sv.dL), null];
    }
    // The kernel's values (times g's value: no graph through them), each carrying the graph of
    // its formula written with ops.
    const gd = g.detach();
    const value = (d: Tensor): Tensor => (none ? mul(d, reshape(gd, [...o.leadShape, 1])) : mul(d, gd.item()));
    const up = none ? reshape(g, [...o.leadShape, 1]) : g;
    const [formS, formL] = gradientForms(sv, up);
    const carry = (d: Tensor | null, form: Tensor | null): Tensor | null =>
      d === null ? null : form === null ? value(d) : fusedWithGraph(FN, value(d), form);
    return [carry(sv.dS, formS), null, carry(sv.dL, formL), null];
  },
});

interface Saved {
  dS: Tensor | null;
  dL: Tensor | null;
  student: Tensor;
  indices: Tensor;
  logprobs: Tensor;
  o: Call;
  /** The kernel's row factor: 1/counted for 'mean', else 1. */
  scale: number;
}

/** The loss tensor from the per-row losses: each ('none', rounded once), or their float64 sum (÷ counted for 'mean'; 0 when none counts). */
function reduceRows(loss: Float64Array, o: Call, dtype: FloatDType): Tensor {
  const n = loss.length;
  if (o.reduction === "none") {
    const out = Tensor.empty(o.leadShape, dtype);
    kernel("copy", dtype, n)({ data: loss, offset: 0, strides: [1] }, [n], out.data);
    return out;
  }
  const total = new Float64Array(1);
  kernel("reduce", "float64", n)("sum", loss, { outer: 1, length: n, inner: 1 }, total);
  const out = Tensor.empty([], dtype);
  out.data[0] = o.reduction === "sum" ? total[0]! : o.counted === 0 ? 0 : total[0]! / o.counted;
  return out;
}

/** The typed error for topKCheck's finding (kernels/table.ts): which row, which entry, which values. */
function topKError(code: number, idx: Int32Array, lp: ArrayLike<number>, o: Call): Error {
  const kind = code % 3;
  const i = (code - kind) / 3;
  const r = Math.floor(i / o.k);
  const j = i - r * o.k;
  const at = o.leadShape.length === 0 ? "" : ` (row ${r})`;
  if (kind === 0) {
    return new IndexError(`${FN}: indices[${r}, ${j}] = ${idx[i]} is out of range [0, ${o.C})${at}`);
  }
  if (kind === 1) {
    let first = r * o.k;
    while (idx[first] !== idx[i]) first++;
    return new ValueError(`${FN}: indices repeat class ${idx[i]} at [${r}, ${first - r * o.k}] and [${r}, ${j}]: a row's top-k classes must be distinct`);
  }
  const total = Math.exp(logSumExpRow(lp, r * o.k, o.k));
  return new ValueError(
    `${FN}: the probabilities exp(logprobs) of row ${r} sum to ${total}, above 1 + 1e-6; renormalise them (logprobs − logSumExp(logprobs)) or use tail: false`,
  );
}

function checkBoolean(value: unknown, arg: string): boolean {
  if (typeof value !== "boolean") throw new ValueError(`${FN}: ${arg} must be true or false, got ${describeValue(value)}`);
  return value;
}

/** Check a call and resolve its options; every error names sparseDistillationLoss. */
function checkCall(student: unknown, indices: unknown, logprobs: unknown, opts: SparseDistillationOptions | undefined): Call {
  const options = checkOptions(opts, FN, ["labels", "temperature", "alpha", "tail", "scaleT2", "ignoreIndex", "reduction", "divergence", "standardize"]);
  if (!(student instanceof Tensor)) throw new DTypeError(`${FN}: student must be a Tensor, got ${describeValue(student)}`);
  if (student.dtype === "int32") throw new DTypeError(`${FN}: student must be float32 or float64 logits, got int32`);
  if (!(indices instanceof Tensor)) throw new DTypeError(`${FN}: indices must be an int32 Tensor, got ${describeValue(indices)}`);
  if (indices.dtype !== "int32") throw new DTypeError(`${FN}: indices must be int32 class indices, got ${indices.dtype}`);
  if (!(logprobs instanceof Tensor)) throw new DTypeError(`${FN}: logprobs must be a Tensor, got ${describeValue(logprobs)}`);
  if (logprobs.dtype === "int32") throw new DTypeError(`${FN}: logprobs must be float32 or float64, got int32`);
  if (student.ndim === 0) throw new ShapeError(`${FN}: student must have a class axis, shape [..., C], got []`);
  const C = student.shape[student.ndim - 1]!;
  const leadShape = student.shape.slice(0, -1);
  const leadOk = (t: Tensor): boolean => t.ndim === student.ndim && leadShape.every((d, i) => d === t.shape[i]);
  if (!leadOk(indices)) {
    throw new ShapeError(`${FN}: indices must have shape [${[...leadShape, "k"].join(",")}] for student ${shapeStr(student.shape)}, got ${shapeStr(indices.shape)}`);
  }
  if (logprobs.ndim !== indices.ndim || logprobs.shape.some((d, i) => d !== indices.shape[i])) {
    throw new ShapeError(`${FN}: logprobs has shape ${shapeStr(logprobs.shape)} but indices has shape ${shapeStr(indices.shape)}`);
  }
  const k = indices.shape[indices.ndim - 1]!;
  if (k === 0) throw new ShapeError(`${FN}: indices must list at least one class per row (k ≥ 1), got shape ${shapeStr(indices.shape)}`);
  if (k > C) throw new ShapeError(`${FN}: indices list k = ${k} classes per row, more than the student's C = ${C}`);
  if ((options.temperature as unknown) instanceof Tensor) {
    throw new ValueError(`${FN}: temperature must be a number; a Tensor temperature (a learnable T) is not supported by the sparse loss`);
  }
  if (options.divergence !== undefined && options.divergence !== "forward") {
    throw new ValueError(`${FN}: divergence ${describeValue(options.divergence)} is not supported: a top-k teacher gives only the forward KL (use distillationLoss with dense teacher logits for other divergences)`);
  }
  if (options.standardize !== undefined && options.standardize !== false) {
    throw new ValueError(`${FN}: standardize ${describeValue(options.standardize)} is not supported: standardizing needs every teacher logit, which a top-k teacher does not have`);
  }
  const T = checkTemperature(options.temperature ?? 4, FN);
  const tail = checkBoolean(options.tail ?? true, "tail");
  const scaleT2 = checkBoolean(options.scaleT2 ?? true, "scaleT2");
  const ignoreIndex = checkInteger(options.ignoreIndex ?? -100, FN, "ignoreIndex");
  const reduction = checkReduction(options.reduction ?? "mean", ["mean", "sum", "none"] as const, FN);
  const rows = leadShape.reduce((a, b) => a * b, 1);
  let alpha: number;
  let labels: Int32Array | null = null;
  let counted = rows;
  let countedMask: Tensor | null = null;
  let onehot: Tensor | null = null;
  if (options.labels === undefined) {
    alpha = checkAlpha(options.alpha ?? 1, FN);
    if (alpha !== 1) throw new ValueError(`${FN}: alpha must be absent or 1 without labels (there is no hard-label term), got ${alpha}`);
  } else {
    alpha = checkAlpha(options.alpha ?? 0.5, FN);
    labels = checkLabels(options.labels, leadShape, C, FN, "labels", ignoreIndex);
    // The one-hot of the counted rows and the counted mask: the constants of the backward forms
    // (kernel classCoefficients, as crossEntropy's). The counted rows are the mask's sum.
    const target: ClassTarget = { kind: "labels", labels, ignoreIndex, weight: null, smoothing: 0 };
    const a = Tensor.empty([...leadShape, C], student.dtype);
    const mask = new Int32Array(rows);
    kernel("classCoefficients", student.dtype, rows * C)({ outer: rows, length: C, inner: 1 }, target, a.data, mask);
    const total = new Float64Array(1);
    kernel("reduce", "int32", rows)("sum", mask, { outer: 1, length: rows, inner: 1 }, total);
    counted = total[0]!;
    countedMask = new Tensor(mask, [...leadShape, 1]);
    if (alpha < 1) onehot = a;
  }
  return { leadShape, rows, C, k, T, alpha, tail, scaleT2, reduction, labels, ignoreIndex, counted, countedMask, onehot };
}

/**
 * The gradients the kernel formed, written with ops (for createGraph), times the upstream `up`
 * (a scalar, or [lead…, 1] for 'none'): [student's, logprobs'] (null for an input that wants no
 * gradient, or whose every term has weight 0). The formulas are the backward's above; the
 * constants (which classes are listed, which rows count and have tail mass) are tensors without
 * a graph. Every selection happens before a product, so a −∞ (a masked class, a logprob of −∞,
 * log P_rest at P_rest = 0) never meets a 0 in the second order.
 */
function gradientForms(sv: Saved, up: Tensor): [Tensor | null, Tensor | null] {
  const { o, student: s, indices: idx, logprobs: l, scale } = sv;
  const { T, alpha, C, k } = o;
  const kappa = o.scaleT2 ? T * T : 1;
  const aS = (alpha * kappa) / T;
  const aL = alpha * kappa;
  const soft = alpha > 0;
  const axis = s.ndim - 1;
  let formS: Tensor | null = null;
  let formL: Tensor | null = null;
  if (soft && o.tail) {
    const z = div(s, T);
    const logq = logSoftmax(z, -1);
    const q = exp(logq);
    const P = exp(l);
    const sumP = sum(P, -1, true);
    // The rows whose tail outcome has mass: P_rest = −expm1(lse(log P)) > 0, that is lse(log P) < 0 (k < C).
    const active = k < C ? compare(FN, "lt", logSumExp(l.detach(), -1, true), 0) : null;
    const support = compare(FN, "gt", P.detach(), 0);
    const x = where(support, sub(l, gather(logq, axis, idx)), 0);
    let ptilde = gatherBackward(P, s.shape, axis, idx);
    let Ptot: Tensor = sumP;
    let dl: Tensor = add(x, 1);
    if (active !== null) {
      const listed = compare(FN, "gt", gatherBackward(ones(l.shape, { dtype: l.dtype as FloatDType }), s.shape, axis, idx), 0.5);
      const zRest = where(listed, -Infinity, z);
      const Prest = where(active, sub(1, sumP), 1);
      ptilde = add(ptilde, where(active, mul(Prest, softmax(zRest, -1)), 0));
      Ptot = where(active, 1, sumP);
      const logQrest = sub(logSumExp(zRest, -1, true), logSumExp(z, -1, true));
      const xRest = where(active, sub(log(Prest), logQrest), -1);
      dl = sub(x, xRest);
    }
    if (sv.dS !== null) formS = mul(sub(mul(q, Ptot), ptilde), aS);
    if (sv.dL !== null) formL = mul(mul(P, dl), aL);
  } else if (soft) {
    const zI = gather(div(s, T), axis, idx);
    const logq = logSoftmax(zI, -1);
    const logp = logSoftmax(l, -1);
    const P = exp(logp);
    if (sv.dS !== null) formS = mul(gatherBackward(sub(exp(logq), P), s.shape, axis, idx), aS);
    if (sv.dL !== null) {
      const support = compare(FN, "gt", P.detach(), 0);
      const d = where(support, sub(logp, logq), 0);
      formL = mul(mul(P, sub(d, sum(mul(P, d), -1, true))), aL);
    }
  }
  if (o.onehot !== null && sv.dS !== null) {
    const ce = mul(sub(softmax(s, -1), o.onehot), 1 - alpha);
    formS = formS === null ? ce : add(formS, ce);
  }
  const finish = (f: Tensor | null): Tensor | null => {
    if (f === null) return null;
    const counted = o.countedMask === null ? f : where(o.countedMask, f, 0);
    return mul(mul(counted, scale), up);
  };
  return [finish(formS), finish(formL)];
}
