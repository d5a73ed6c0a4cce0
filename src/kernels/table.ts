import type { DType, Storage } from "../tensor/dtype.js";
import type { SparseDistillationCall } from "./sparse-distillation.js";

export type { SparseDistillationCall } from "./sparse-distillation.js";

/**
 * The kernel table: every loop kdgrad runs over tensor data, as one typed
 * entry per kernel family. Kernels are loops only, with no semantics of
 * their own: they take typed arrays, offsets, strides and sizes, never
 * tensors, and write into arrays the caller allocated. Ops (src/ops,
 * src/losses, src/nn, src/optim) hold the semantics and the derivations and
 * call `kernel(name, dtype, work)` (registry.ts), which picks the backend.
 *
 * The TypeScript backend (js/) fills every entry: `jsKernels` is typed as
 * `KernelTable`, so a missing entry is a compile error. Another backend
 * (wasm/) fills the entries it accelerates (`Partial<KernelTable>`) and the
 * registry falls back to TypeScript for the rest. A backend must compute
 * what the TypeScript kernel computes, to the tolerance stated with the
 * entry (the op, loss, nn, optim and kernel tests run once per registered
 * backend: the vitest projects in vitest.config.ts).
 *
 * Conventions. A `View` is a strided read of `data` (a tensor's storage,
 * offset and strides, already broadcast to the output's shape). Outputs are
 * contiguous unless said otherwise. `Lanes` is a contiguous array seen as
 * outer × length × inner, lane (o, i) starting at o·length·inner + i with
 * step inner: the axis a softmax or a reduction runs along.
 */

/** A strided read of a storage: element at multi-index k is data[offset + Σ kᵢ·stridesᵢ]. */
export interface View {
  readonly data: Storage;
  readonly offset: number;
  readonly strides: readonly number[];
}

/** A contiguous array seen as outer × length × inner (see above). */
export interface Lanes {
  readonly outer: number;
  readonly length: number;
  readonly inner: number;
}

/** A matrix read through row and column strides. */
export interface Matrix {
  readonly data: Storage;
  readonly offset: number;
  readonly rowStride: number;
  readonly colStride: number;
}

/** The element-wise maps of one input. */
export type UnaryOp = "neg" | "exp" | "log" | "log1p" | "sqrt" | "abs" | "sign" | "tanh" | "sigmoid";

/**
 * The element-wise maps of two broadcast inputs. The comparisons give 1 or 0
 * (NaN compares false, except "ne"); "maximum"/"minimum" propagate NaN from
 * either side; "pow" follows C's special values (docs/ops.md).
 */
export type BinaryOp =
  | "add" | "sub" | "mul" | "div" | "pow" | "maximum" | "minimum"
  | "gt" | "ge" | "lt" | "le" | "eq" | "ne";

/** Reductions along a lane. "logSumExp" keeps its shift: see ReduceKernels.logSumExp. */
export type ReduceOp = "sum" | "mean" | "max" | "min";

export interface ElementwiseKernels {
  /** y[i] = op(x[i]) over contiguous arrays of equal length. Exact (the same IEEE operations on every backend). */
  unary(op: UnaryOp, x: Storage, y: Storage): void;
  /**
   * y[i] = shift + scale·x[i] over contiguous arrays of equal length (x and y may
   * be the same array), computed in float64 and rounded once to y's type: a
   * uniform draw u mapped to [lo, hi) as lo + (hi − lo)·u (nn/init.ts). Exact.
   */
  affine(x: Storage, scale: number, shift: number, y: Storage): void;
  /** y = op(a, b) over `shape` (row-major into y). Exact. */
  binary(op: BinaryOp, a: View, b: View, shape: readonly number[], y: Storage): void;
  /** y = c ≠ 0 ? a : b over `shape`: torch.where. Exact. */
  select(c: View, a: View, b: View, shape: readonly number[], y: Storage): void;
  /** y = max(x, 0) (relu(−0) = +0, relu(NaN) = NaN). Exact. */
  relu(x: Storage, y: Storage): void;
  /** dx = g where y > 0, else exactly 0 (even for an infinite or NaN g). Exact. */
  reluBackward(y: Storage, g: Storage, dx: Storage): void;
  /**
   * gelu: y = x·Φ(x) ("none") or x·σ(2u) ("tanh"), and cdf = Φ(x) or σ(2u)
   * (what the backward needs; float64). A few ulps.
   */
  gelu(approximate: "none" | "tanh", x: Storage, y: Storage, cdf: Float64Array): void;
  /** dx = g·gelu′(x), from x and the saved cdf. A few ulps. */
  geluBackward(approximate: "none" | "tanh", x: Storage, cdf: Float64Array, g: Storage, dx: Storage): void;
}

export interface ReduceKernels {
  /**
   * y[lane] = op over each lane of x (`Lanes`; y has outer·inner elements, lane (o, i) at
   * o·inner + i). "sum" and "mean" accumulate in float64 in lane order (k ascending), so every
   * backend gives the same float64 sum; "mean" is that sum / length (0/0 = NaN for an empty
   * lane). "max"/"min" are exact; a NaN wins (propagates), as in PyTorch; an empty lane is the
   * caller's to refuse. x may be int32 (the largest label of oneHot).
   */
  reduce(op: ReduceOp, x: Storage, lanes: Lanes, y: Storage): void;
  /** The index of the first max (min) of each lane; a NaN counts as the max (min). Exact. */
  argReduce(op: "argmax" | "argmin", x: Storage, lanes: Lanes, y: Int32Array): void;
  /**
   * log Σ exp over each lane, as its shift m (the lane max, 0 when ±∞) and
   * log s = log Σ exp(x − m), both float64, so the result m + log s and its
   * gradient exp(x − m − log s) are formed without rounding m + log s first.
   */
  logSumExp(x: Storage, lanes: Lanes, shift: Float64Array, logSum: Float64Array): void;
}

/** Where a strided read starts and how it steps (a `View` without its storage). */
export interface Geometry {
  readonly offset: number;
  readonly strides: readonly number[];
}

export interface CopyKernels {
  /**
   * dst = the strided view `src` of `shape`, in row-major order. dst has src's dtype, or a
   * float dtype for a conversion (cast: int32 and float32 → float64 exact, float64 → float32
   * rounded to nearest, as a typed-array store; to int32 see copyInt32). Exact.
   */
  copy(src: View, shape: readonly number[], dst: Storage): void;
  /**
   * dst = the strided view `src` of `shape` as int32, row-major, where every value must be an
   * integer in [−2³¹, 2³¹): returns the row-major index of the first that is not (dst is then
   * partly written), else −1. Nothing is truncated or wrapped. Exact.
   */
  copyInt32(src: View, shape: readonly number[], dst: Int32Array): number;
  /**
   * The strided view `dst` of `shape` = (or += with accumulate) the contiguous `src`, of the
   * same dtype. Exact (accumulate: one addition per element).
   */
  scatter(src: Storage, dst: View, shape: readonly number[], accumulate: boolean): void;
  /**
   * The storage positions an index along `axis` picks (torch.gather's addressing): for element
   * j of the contiguous `index` of `shape` (row-major multi-index k), positions[j] =
   * x.offset + Σ_{d ≠ axis} k_d·x.strides[d] + index[j]·x.strides[axis] (a 0-d `shape` has one
   * element and no axis: positions[0] = x.offset + 0). Returns the first j whose index lies
   * outside [0, size), the axis' length (positions then incomplete), else −1. Exact.
   */
  gatherPositions(index: Int32Array, shape: readonly number[], axis: number, size: number, x: Geometry, positions: Int32Array): number;
  /** y[j] = x[positions[j]] (storage positions worked out by the op). Exact. */
  take(x: Storage, positions: Int32Array, y: Storage): void;
  /** dx[positions[j]] += g[j]. Exact up to the order of the additions (j ascending). */
  putAdd(g: Storage, positions: Int32Array, dx: Storage): void;
}

export interface MatmulKernels {
  /**
   * C[n×m] (contiguous from cOffset) = A[n×k]·B[k×m], plus `bias` [m] on every
   * row when given. float64 accumulation on the TypeScript backend; float32
   * lanes on WebAssembly (docs/ops.md, per-backend bounds).
   */
  matmul(A: Matrix, B: Matrix, C: Storage, cOffset: number, n: number, k: number, m: number, bias?: Storage): void;
  /** sums[j] = Σᵣ g[r·cols + j], float64, rows in order. */
  columnSums(g: Storage, rows: number, cols: number, sums: Float64Array): void;
}

export interface SoftmaxKernels {
  /** y = softmax along the lanes. */
  softmax(x: Storage, lanes: Lanes, y: Storage): void;
  /** y = logSoftmax along the lanes, (x − m) − log1p(R) (docs/softmax.md). */
  logSoftmax(x: Storage, lanes: Lanes, y: Storage): void;
  /** dx = p ⊙ (g − ⟨g, p⟩) per lane, p the saved softmax. */
  softmaxBackward(p: Storage, g: Storage, lanes: Lanes, dx: Storage): void;
  /** dx = g − exp(y)·Σg per lane, y the saved logSoftmax. */
  logSoftmaxBackward(y: Storage, g: Storage, lanes: Lanes, dx: Storage): void;
}

export interface OptimKernels {
  /**
   * One SGD step in place: g ← ∇ + wd·θ; with momentum μ, b ← μb + (1 − τ)g
   * (b ← g on the first step), g ← nesterov ? g + μb : b; θ ← θ − lr·g.
   * float64 arithmetic, one rounding per stored value.
   */
  sgdStep(theta: Storage, grad: Storage, buf: Storage | null, first: boolean, o: SgdHyper): void;
  /**
   * One Adam/AdamW step in place (src/optim/adam.ts states the update): with
   * g (+ wd·θ unless decoupled), m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g²,
   * v̄ = max(vmax, v) with AMSGrad, θ ← θ − stepSize·m / (√v̄ / bc2Sqrt + eps).
   */
  adamStep(theta: Storage, grad: Storage, m: Storage, v: Storage, vmax: Storage | null, o: AdamHyper): void;
}

export interface SgdHyper {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
}

export interface AdamHyper {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** AdamW: decoupled weight decay θ ← θ·(1 − lr·wd) instead of g ← g + wd·θ. */
  decoupled: boolean;
  /** 1 − lr·wd (AdamW's decay factor). */
  decay: number;
  /** lr / (1 − β₁ᵗ) at this step. */
  stepSize: number;
  /** √(1 − β₂ᵗ) at this step. */
  bc2Sqrt: number;
}

/**
 * The targets of a classification loss (crossEntropy, nllLoss) over `Lanes`, the
 * class axis being the lane: position i (lane i, of outer·inner) has class scores
 * lp[i, c]. Each position's loss is lᵢ = −Σ_c a_ic·lp_ic with the coefficients
 *   labels:         a_ic = (1 − ε)·w[yᵢ]·[c = yᵢ] + (ε/C)·w_c   (all 0 where yᵢ = ignoreIndex)
 *   probabilities:  a_ic = w_c·q_ic,  q = (1 − ε)·t + ε/C  (q = t when ε = 0)
 * w the class weights (1 when null) and ε the label smoothing.
 */
export type ClassTarget =
  | {
      readonly kind: "labels";
      /** One label per position, in [0, C) or equal to ignoreIndex (checked by the caller). */
      readonly labels: Int32Array;
      readonly ignoreIndex: number;
      readonly weight: Float64Array | null;
      readonly smoothing: number;
    }
  | {
      readonly kind: "probabilities";
      /** The target t, laid out as lp (contiguous, the input's shape). */
      readonly probabilities: Storage;
      readonly weight: Float64Array | null;
      readonly smoothing: number;
    };

/**
 * The scale sᵢ a loss's backward multiplies element (or position) i by: the upstream
 * gradient divided by the reduction's denominator, sᵢ = g[i]/divisor when `each` (a
 * 'none' reduction: one upstream per element or position), else g[0]/divisor (a
 * scalar loss; the divisor is 1 for 'sum'). Divided, not multiplied by 1/divisor,
 * so that 'sum' and 'none' use g exactly.
 */
export interface LossScale {
  readonly g: Storage;
  readonly each: boolean;
  readonly divisor: number;
}

/**
 * The loops of the losses (src/losses). Loss values and gradients are formed and
 * accumulated in float64 and rounded once to the output's type; each entry states
 * its formula, and the loss file derives it.
 */
export interface LossKernels {
  /**
   * The fused distillation loss over `rows` × `classes` student logits s and teacher
   * logits t (contiguous), temperature T, weight α of the soft term and optional hard
   * labels (one per row, in [0, classes)): returns
   *   (1/rows) Σ_rows [α·T²·KL(softmax(t/T) ‖ softmax(s/T)) + (1 − α)·CE(s, y)]
   * and writes, when not null, its gradients dS = [α·T·(p_s − p_t) + (1 − α)(softmax(s) − onehot(y))]/rows
   * and dT = α·T·p_t ⊙ ((log p_t − log p_s) − KL_row)/rows (src/losses/distillation-loss.ts).
   * The kernel layer picks the algorithm from the storage types, the arguments and the
   * backend (docs/distillation.md, "What the fused kernel does" and "Float32 kernels"):
   * float64 (or mixed) storage runs the float64 log-ratio kernel (kernels/distillation.ts);
   * float32 storage with α > 0 and no dT (a frozen teacher) the float32 log-ratio kernels
   * (kernels/distillation-f32.ts, WebAssembly's distillF32); other float32 calls the float64
   * kernel with float32 results. float64: the loss to a relative ε·(a few dozen); float32:
   * 1e-6 relative (proven for TypeScript, tested for WebAssembly).
   */
  distillation(
    s: Storage, t: Storage, labels: Int32Array | null, rows: number, classes: number,
    temperature: number, alpha: number, dS: Storage | null, dT: Storage | null,
  ): number;
  /**
   * The sparse (top-k) distillation loss of `rows` rows of `classes` student logits s and, per
   * row, k teacher classes `indices` (distinct, in range: topKCheck first) with log-probabilities
   * `logprobs` (all contiguous): loss[r] = α·T^κ·D_r + (1 − α)·CE_r (0 at an ignored row), D_r the
   * KL over the top-k classes and the tail outcome, or over the renormalised top-k
   * (kernels/sparse-distillation.ts states it and its gradients; src/losses/sparse-distillation-loss.ts
   * derives them), and, when not null, the gradients dS and dL of Σ_r call.scale·loss[r].
   * float64 arithmetic whatever the storage (float32 logits: a table exponential good to 4ε);
   * D relative to itself up to ε·(log magnitudes)·√D (docs/lm-distillation.md, "Accuracy").
   */
  sparseDistillation(
    s: Storage, indices: Int32Array, logprobs: Storage, rows: number, classes: number, k: number,
    call: SparseDistillationCall, loss: Float64Array, dS: Storage | null, dL: Storage | null,
  ): void;
  /**
   * The first problem of the top-k rows that count (a row whose label is ignoreIndex is not
   * read): −1 if none, else 3·i + kind at flat position i = r·k + j, kind 0 an index outside
   * [0, classes), 1 an index repeated in its row (i the later one), 2 a row whose
   * Σ exp(logprobs) exceeds 1 + 1e-6 (i = r·k). Exact up to the rounding of the log-sum-exp.
   */
  topKCheck(indices: Int32Array, logprobs: Storage, rows: number, k: number, classes: number, labels: Int32Array | null, ignoreIndex: number): number;
  /**
   * loss[i] = lᵢ = −Σ_c a_ic·lp_ic for every position (`ClassTarget`); a term with
   * q_ic = 0 is skipped (0·log 0 = 0), an ignored position is 0. Returns the
   * denominator of 'mean': Σᵢ w[yᵢ] over the positions not ignored (labels, i
   * ascending) or the number of positions (probabilities). float64, exact up to the
   * order of the sums (c ascending).
   */
  classLoss(lp: Storage, lanes: Lanes, target: ClassTarget, loss: Float64Array): number;
  /**
   * The gradients of Σᵢ sᵢ·lᵢ (`LossScale` per position), with G_ic = −sᵢ·a_ic:
   *   dx_ic = G_ic − p_ic·Σ_c G_ic,  p = exp(lp)   (the softmax part only when `softmax`:
   *                                                   crossEntropy; nllLoss has dx = G)
   *   dt_ic = −(1 − ε)·sᵢ·w_c·lp_ic                  (probability targets; when dt is not null)
   * Ignored positions get 0. float64, one rounding per stored value.
   */
  classLossBackward(lp: Storage, lanes: Lanes, target: ClassTarget, scale: LossScale, softmax: boolean, dx: Storage | null, dt: Storage | null): void;
  /**
   * The coefficients a (the input's layout, see ClassTarget), and counted[i] = 1 for a
   * position that is not ignored (else 0): the constants of the losses' differentiable
   * backward forms. Exact up to one rounding of (1 − ε)·w and (ε/C)·w.
   */
  classCoefficients(lanes: Lanes, target: ClassTarget, a: Storage, counted: Int32Array): void;
  /**
   * The first i with labels[i] outside [0, classes) and not equal to ignoreIndex
   * (null: none is allowed), else −1. Exact.
   */
  badLabel(labels: Int32Array, classes: number, ignoreIndex: number | null): number;
  /**
   * klDiv's pointwise terms over contiguous x and t of equal length: l = t·(log t − x)
   * (0 where t = 0), or with logTarget l = eᵗ·(t − x) (0 where t = −∞), written to l
   * when not null; returns their float64 sum (i ascending). A few ulps per term.
   */
  klDiv(x: Storage, t: Storage, logTarget: boolean, l: Storage | null): number;
  /**
   * klDiv's gradients, times sᵢ (`LossScale`): dx = −t·s, dt = (log t + 1 − x)·s, or with
   * logTarget dx = −eᵗ·s, dt = eᵗ·(t − x + 1)·s; exactly 0 where t = 0 (t = −∞). A few ulps.
   */
  klDivBackward(x: Storage, t: Storage, logTarget: boolean, scale: LossScale, dx: Storage | null, dt: Storage | null): void;
  /**
   * l = (x − t)² over contiguous arrays of equal length (x − t formed in float64), written
   * to l when not null; returns the float64 sum of the unrounded squares (i ascending).
   * One rounding per term.
   */
  squaredError(x: Storage, t: Storage, l: Storage | null): number;
  /** dx = 2(x − t)·s (`LossScale`), dt = −dx, in float64, one rounding per value. */
  squaredErrorBackward(x: Storage, t: Storage, scale: LossScale, dx: Storage | null, dt: Storage | null): void;
  /**
   * logitMatchingLoss over `rows` × `classes` (contiguous): centred = k·((s − t) − mean(s − t))
   * per row, k = rowScale[r] (1, or 2⁻⁶⁰⁰ for a row whose logits exceed 2¹⁰⁰⁰, so that
   * s − t stays finite; NaN for a row holding a non-finite logit); returns
   * Σ_rows Σᵢ centred²/k² (NaN if any row is). float64.
   */
  logitMatching(s: Storage, t: Storage, rows: number, classes: number, centred: Float64Array, rowScale: Float64Array): number;
  /** ds = centred·factor/k per row (k = rowScale[r]), dt = −ds. One rounding per value. */
  logitMatchingBackward(centred: Float64Array, rowScale: Float64Array, classes: number, factor: number, ds: Storage | null, dt: Storage | null): void;
  /**
   * Decoupled KD over `rows` × `classes` logits s, t (contiguous) with one target label per
   * row (in [0, classes), classes ≥ 2): returns (1/rows) Σ_rows T²·(α·TCKD + β·NCKD), TCKD the
   * KL of the binary (target, rest) split, NCKD the KL of the softmaxes of s/T and t/T over
   * the non-target classes (the target removed exactly), and writes, when not null,
   *   dS_y = T·α(b − a)/rows,  dS_j = T·[−α(b − a)q̂_j + β(q̂_j − p̂_j)]/rows   (j ≠ y)
   *   dT_y = T·α·a·ā·(ℓ_t − ℓ_s)/rows,  dT_j = T·[−α·a·ā·(ℓ_t − ℓ_s)·p̂_j + β·p̂_j(d̂_j − NCKD)]/rows
   * (b = p_s,y, a = p_t,y, ℓ their log-odds, q̂, p̂ the non-target softmaxes, d̂ = log p̂ − log q̂;
   * src/losses/dkd-loss.ts). 1 − p_y is never a subtraction: it comes from the log-odds, a
   * log-sum-exp over the other classes. Both KLs in the log-ratio form where the row allows
   * (docs/distillation-methods.md, "Decoupled KD"): float64, the loss to a relative ε·(a few
   * dozen + 5·classes) at every accepted T; each gradient entry to a few ulps of its terms.
   */
  dkd(
    s: Storage, t: Storage, labels: Int32Array, rows: number, classes: number,
    temperature: number, alpha: number, beta: number, dS: Storage | null, dT: Storage | null,
  ): number;
  /**
   * DIST over [rows, classes] logits (contiguous, rows ≥ 2): with Y = softmax(·/T) per row and
   * ρ the Pearson correlation with each centred norm guarded by max(‖·‖, eps), returns
   *   T²·[β·mean over rows (1 − ρ(Y_s,i, Y_t,i)) + γ·mean over classes (1 − ρ(Y_s[:,j], Y_t[:,j]))]
   * and writes its gradients (through the softmax) when not null (src/losses/dist-loss.ts).
   * 1 − ρ is formed as ‖â − b̂‖²/2 from the difference of the two softmaxes in the log-ratio
   * form, never as 1 − ρ. float64; the bound is in docs/distillation-methods.md ("DIST").
   */
  dist(
    s: Storage, t: Storage, rows: number, classes: number, temperature: number, beta: number, gamma: number, eps: number,
    dS: Storage | null, dT: Storage | null,
  ): number;
  /**
   * Normalized KD (classes ≥ 2): returns (1/rows) Σ_rows [−w·log softmax(s)_y + γ·T²·H], w =
   * softmax(t)_y a constant (stop-gradient), H = −Σ_{j≠y} p̂_j log q̂_j over the non-target
   * softmaxes at T; writes dS = [w(softmax(s) − e_y) + γT(q̂ − p̂)]/rows and
   * dT_j = −γT·p̂_j(log q̂_j − E_p̂ log q̂)/rows (dT_y = 0) when not null (src/losses/nkd-loss.ts).
   * Every part of the loss is a non-negative log-space quantity: float64, a relative
   * ε·(classes + a few) at every T.
   */
  nkd(
    s: Storage, t: Storage, labels: Int32Array, rows: number, classes: number, temperature: number, gamma: number,
    dS: Storage | null, dT: Storage | null,
  ): number;
  /**
   * Weighted soft labels: returns (1/rows) Σ_rows [ce_s + α·T²·w·soft], ce = −log softmax(·)_y at
   * T = 1, w = 1 − exp(−max(0, ce_s/(ce_t + 1e-7))) a constant (stop-gradient), soft =
   * −Σ p log q at T; writes dS = [softmax(s) − e_y + αTw(q − p)]/rows and
   * dT = −αTw·p ⊙ (log q − E_p log q)/rows when not null (src/losses/wsld-loss.ts). float64,
   * non-negative parts only: a relative ε·(classes + a few) at every T.
   */
  wsld(
    s: Storage, t: Storage, labels: Int32Array, rows: number, classes: number, temperature: number, alpha: number,
    dS: Storage | null, dT: Storage | null,
  ): number;
}

/**
 * The soft term D of distillationLoss, per row, before the factor α·T^k
 * (src/losses/distillation-loss.ts derives each; docs/distillation-methods.md):
 *   "forward" KL(p_t ‖ p_s), "reverse" KL(p_s ‖ p_t),
 *   "jsd" β·KL(p_t ‖ m) + (1 − β)·KL(p_s ‖ m), m = β·p_t + (1 − β)·p_s,
 *   "skewForward" KL(p_t ‖ λp_t + (1 − λ)p_s), "skewReverse" KL(p_s ‖ λp_s + (1 − λ)p_t),
 *   "tvd" ½Σ|p_t − p_s|.
 */
export type Divergence = "forward" | "reverse" | "jsd" | "skewForward" | "skewReverse" | "tvd";

/** The arguments of one distillationRows call besides the arrays (DivergenceKernels). */
export interface DistillationRowsCall {
  readonly divergence: Divergence;
  /** β for "jsd", λ for "skewForward"/"skewReverse"; unused by the others. */
  readonly mix: number;
  /** T, in [1e-6, 1e6]. */
  readonly temperature: number;
  /** α, the weight of the soft term, in [0, 1]. */
  readonly alpha: number;
  /** k in α·T^k·D: 2 (scaleT2) or 0. */
  readonly power: 0 | 2;
  /** One label per row (each in [0, classes) or ignoreIndex), or null: no hard term, every row counts. */
  readonly labels: Int32Array | null;
  readonly ignoreIndex: number;
  /** What the gradients are divided by: the number of counted rows for 'mean', 1 otherwise. */
  readonly norm: number;
}

export interface DivergenceKernels {
  /**
   * distillationLoss's general rows (kernels/divergences.ts): for row r of `rows` × `classes`
   * (contiguous, class axis last), with p_s = softmax(s/T), p_t = softmax(t/T) and D the
   * divergence of `call`,
   *   loss[r] = α·T^k·D_r + (1 − α)·CE(h_r, y_r)     (0 where y_r = ignoreIndex),
   * CE the cross-entropy of the logits h at T = 1 (h is s itself unless the soft term reads
   * standardized logits). Written when not null, all divided by call.norm and 0 on ignored rows:
   * dS = ∂loss/∂s (plus the hard term's ∂/∂h when h is s), dT = ∂loss/∂t, dH = the hard term's
   * ∂/∂h when h is another array, dTemp[r] = ∂loss[r]/∂T. A term of weight 0 is not evaluated
   * (α = 0: t is not read; α = 1 or no labels: h is not read). float64 throughout; every
   * divergence is a sum of non-negative terms formed from the log-ratio log(p_t/p_s), so the
   * loss keeps a relative error of a few dozen ε + classes·ε at every accepted T (the derivation
   * and its tests: docs/distillation-methods.md, "Precision"); one rounding per stored value.
   * The call's dtype is the loss's: with standardize, a float32 loss hands its standardized
   * rows over as float64 arrays (h the raw float32 logits), so a backend's kernel takes any
   * storage. WebAssembly's (wasm/divergences.ts) is a float64 port of the same arithmetic.
   */
  distillationRows(
    s: Storage, t: Storage, h: Storage, rows: number, classes: number, call: DistillationRowsCall,
    loss: Float64Array, dS: Storage | null, dT: Storage | null, dH: Storage | null, dTemp: Float64Array | null,
  ): void;
  /** kept[k] = the k-th r (ascending) with labels[r] ≠ ignoreIndex; returns how many. Exact. With kept null, only counts them. */
  keptRows(labels: Int32Array, ignoreIndex: number, kept: Int32Array | null): number;
  /**
   * Logit standardization along the lanes (src/ops/standardize-logits.ts): over the entries
   * that are not −∞ (n of them), μ their mean and σ = √(Σ(x − μ)²/(n − 1)) (0 when n < 2),
   * y = (x − μ)/(σ + eps), −∞ kept as −∞; sigma[lane] = σ. A lane holding NaN or +∞ is NaN
   * throughout (sigma NaN). float64 (μ shifted by the lane's first entry, σ by the corrected
   * two-pass sum, rescaled when Σ(x − μ)² overflows); one rounding per stored value.
   */
  standardize(x: Storage, lanes: Lanes, eps: number, y: Storage, sigma: Float64Array): void;
  /**
   * Its vector-Jacobian product from the saved y and σ, d = σ + eps, over the entries that are
   * not −∞ (0 at those): dx = [(g − ḡ) − y·⟨g, y⟩·d/((n − 1)σ)]/d, the second term 0 when σ = 0,
   * then centred (its lane mean subtracted: 0 in exact arithmetic, and the projection cannot move
   * dx away from the true value). float64, one rounding per stored value.
   */
  standardizeBackward(y: Storage, sigma: Float64Array, eps: number, g: Storage, lanes: Lanes, dx: Storage): void;
}

/** Every kernel family. The TypeScript backend implements all of it. */
export interface KernelTable
  extends ElementwiseKernels, ReduceKernels, CopyKernels, MatmulKernels, SoftmaxKernels, LossKernels, DivergenceKernels, OptimKernels {}

export type KernelName = keyof KernelTable;

/** A backend: the kernels it has, and which calls it takes. */
export interface BackendDefinition {
  /** The kernels this backend accelerates; the rest fall back to TypeScript. */
  readonly kernels: Partial<KernelTable>;
  /** Whether the backend can run in this runtime (a WebAssembly module compiles, …). Called once. */
  available(): boolean;
  /** What the runtime must have for `available()` (named when setBackend refuses the backend). */
  readonly requirement: string;
  /**
   * Whether this backend takes a call of `dtype` and `work` (below some size,
   * the copy into its memory costs more than it saves). `minWork` is the
   * registry's threshold for this backend (tests lower it to 0).
   */
  takes(name: KernelName, dtype: DType, work: number, minWork: number): boolean;
  /** The threshold of work below which `takes` should refuse, by default. */
  readonly minWork: number;
}
