import { defineComposite, defineOp } from "../ops/define-op.js";
import { Tensor } from "../tensor/tensor.js";
import { DTypeError, ShapeError, ValueError } from "../tensor/errors.js";
import { describeValue, shapeStr } from "../tensor/shape.js";
import { promoteTypes, type FloatDType, type Storage } from "../tensor/dtype.js";
import { kernel } from "../kernels/registry.js";
import { gradients } from "../autograd/backward.js";
import { contiguousData } from "../ops/elementwise.js";
import { clone } from "../ops/clone.js";
import { matmul } from "../ops/matmul.js";
import { mul } from "../ops/mul.js";
import { sum } from "../ops/sum.js";
import { transpose } from "../ops/transpose.js";
import { reduceLoss } from "./class-layout.js";
import { distillationCallOfShape, type DistillationCall, type DistillationOptions } from "./distillation-options.js";
import { distillationLoss, generalKernel, originalKernel } from "./distillation-loss.js";

const FN = "linearDistillationLoss";

/** Options of `linearDistillationLoss`: every option of `distillationLoss`, and the number of rows whose logits are formed at a time. */
export interface LinearDistillationOptions extends DistillationOptions {
  /**
   * Rows of logits formed at a time, a positive integer (no number changes with it beyond
   * rounding). Default: as many rows as fit their [rows, V] student and teacher logits and
   * gradients in 64 MiB (CHUNK_BUDGET_BYTES), at least 1 and at most N.
   */
  chunkRows?: number;
}

/**
 * The memory budget of the default chunkRows: the [chunkRows, V] arrays of one chunk (student
 * and teacher logits, and their gradients when wanted) take at most this many bytes.
 * 64 MiB is 36 rows of a 152,064-class vocabulary in float32 with a frozen teacher
 * (V·(4 + 4 + 4) bytes a row), against 1.9 GB for the same arrays of all 1024 rows.
 */
export const CHUNK_BUDGET_BYTES = 64 * 2 ** 20;

/**
 * The vocabulary is multiplied in blocks of this many rows of the weight, so that no product
 * call ever receives the whole [V, H] weight (a backend that copies its operands, as the
 * WebAssembly one does, then copies a block of VOCAB_BLOCK·H values, not V·H).
 */
const VOCAB_BLOCK = 8192;

/**
 * linearDistillationLoss(hidden, weight, teacherHidden, teacherWeight, options)
 * — distillationLoss of the student logits s = hidden·weightᵀ and the teacher logits
 * t = teacherHidden·teacherWeightᵀ, without ever forming an [N, V] array. hidden [N, H] and
 * weight [V, H] share a float dtype, as do teacherHidden [N, H'] and teacherWeight [V, H']
 * (H' may differ from H; the two vocabularies must be the same V). options are distillationLoss's
 * (labels [N], temperature, alpha, divergence, beta, skew, scaleT2, standardize, ignoreIndex,
 * reduction — every divergence, standardize, a tensor temperature) plus `chunkRows`. The result
 * is distillationLoss(hidden·weightᵀ, teacherHidden·teacherWeightᵀ, options) — a scalar, or [N]
 * with reduction "none" — and gradients reach all four matrices (and a temperature tensor)
 * when they require them: a frozen teacher (computed under noGrad, or not requiring grad)
 * costs only its forward product.
 *
 * Why chunking by rows is exact. distillationLoss's loss is a sum over rows of a function of
 * that row alone, L = Σ_r c·ℓ(s_r, t_r) (c = 1/counted for "mean", 1 for "sum"; ignored rows
 * give 0), and row r of the logits depends only on row r of the hidden states:
 * s_r = W·h_r, t_r = W'·h'_r. So L = Σ_chunks Σ_{r ∈ chunk} c·ℓ(W·h_r, W'·h'_r): every chunk
 * of rows can be formed, used and dropped on its own. The per-row function is evaluated by
 * the same fused row kernels as distillationLoss (`distillation` for its original call,
 * `distillationRows` for every other), each row over its whole vocabulary, so the only change
 * from the unfused path is the order in which rows are summed.
 *
 * Backward. With G_r = ∂L/∂s_r (what the row kernel writes, [V], already times c) and
 * s_r = W·h_r:
 *   ∂L/∂h_r = Wᵀ·G_r,           i.e.  dH[chunk] = G_chunk·W          ([c, V]·[V, H]),
 *   ∂L/∂W   = Σ_r G_r·h_rᵀ,     i.e.  dW = Σ_chunks G_chunkᵀ·h_chunk  ([V, c]·[c, H]),
 * likewise dH', dW' from T_r = ∂L/∂t_r. dH's rows belong to one chunk each and are written
 * once; dW is the sum over chunks of their contributions, accumulated in place (+=), one
 * vocabulary block of VOCAB_BLOCK rows of W at a time. ∂L/∂T is a sum over rows (the row
 * kernel's dTemp) and needs no product. Check: with one chunk of all N rows these are
 * matmul's rules dA = G·Bᵀ, dB = Aᵀ·G applied to s = h·Wᵀ (dW = (h ᵀ·G)ᵀ = Gᵀ·h), and summing
 * G_chunkᵀ·h_chunk over a partition of the rows is Gᵀ·h split along its inner index.
 *
 * What exists at once: one chunk's [chunkRows, V] logits (student, teacher) and their
 * gradients, a [chunkRows, VOCAB_BLOCK] block of them, a [VOCAB_BLOCK, H] block of dW's
 * contribution; besides, the outputs dH, dW, dH', dW' (the gradients) and [N] per-row values.
 *
 * Reductions. For "mean" and "sum" the gradients of all four matrices are formed in the
 * forward pass (one pass of products) and the backward scales them by the upstream scalar, as
 * distillationLoss does. For "none" the upstream is a vector u [N] and dW = Σ_r u_r·G_r·h_rᵀ
 * cannot be scaled afterwards: the forward pass computes only the losses, and the backward
 * runs the chunks again with each row's gradient multiplied by u_r (twice the forward
 * products; the price of a per-row upstream without an [N, V] array).
 *
 * Second order. When backward creates a graph, it returns the gradients of the unfused
 * composite distillationLoss(matmul(hidden, weightᵀ), matmul(teacherHidden, teacherWeightᵀ),
 * options), taken with a graph on clones of the inputs (partial derivatives, as
 * distillationLoss's generalForms): the same function, so the same derivatives to every order,
 * through matmul's bilinear rule and distillationLoss's own second-order forms. That path
 * forms [N, V] arrays (only higher-order autodiff takes it). Check: its first-order values equal
 * the chunked ones (the gradgradcheck in test/all-ops.test.ts and the equality property in
 * test/losses/linear-distillation.test.ts).
 *
 * Non-finite values: those of distillationLoss on the logits the products give (docs/non-finite.md):
 * a NaN in any matrix reaches the rows it touches; −∞ logits (a class masked by the product of
 * infinities) follow distillationLoss's policy; ±∞ times 0 in a product is NaN.
 *
 * Errors name linearDistillationLoss: a non-tensor or int32 matrix (DTypeError), a matrix that
 * is not 2-D or whose sizes do not match ([N, H]·[V, H]ᵀ, the same N and V for the teacher), a
 * dtype differing within a pair (DTypeError, as matmul), a bad chunkRows (ValueError), and
 * every error distillationLoss gives for its options (labels [N] in [0, V), …).
 *
 * @example
 * const h = student.body(x);                      // [N, H]
 * const th = noGrad(() => teacher.body(x));        // [N, H']
 * linearDistillationLoss(h, student.head.weight, th, teacher.head.weight, { labels, temperature: 2 }).backward();
 */
export const linearDistillationLoss = defineComposite(
  FN,
  (hidden: Tensor, weight: Tensor, teacherHidden: Tensor, teacherWeight: Tensor, options: LinearDistillationOptions = {}): Tensor => {
    const call = linearCall(hidden, weight, teacherHidden, teacherWeight, options);
    return linearDistillationLossOp(hidden, weight, teacherHidden, teacherWeight, call.o.temperature, call);
  },
);

/** A checked call: the distillation call over N rows of V classes, and the shapes of the products. */
interface LinearCall {
  o: DistillationCall;
  N: number;
  H: number;
  Ht: number;
  V: number;
  chunkRows: number;
  /** The options as given (without chunkRows), for the composite second-order form. */
  options: DistillationOptions;
}

function checkMatrix(x: unknown, arg: string, dims: string): Tensor {
  if (!(x instanceof Tensor)) throw new DTypeError(`${FN}: ${arg} must be a Tensor, got ${describeValue(x)}`);
  if (x.dtype === "int32") throw new DTypeError(`${FN}: ${arg} must be float32 or float64, got int32`);
  if (x.ndim !== 2) throw new ShapeError(`${FN}: ${arg} must be 2-D ${dims}, got shape ${shapeStr(x.shape)}`);
  return x;
}

function linearCall(hidden: unknown, weight: unknown, teacherHidden: unknown, teacherWeight: unknown, options: LinearDistillationOptions): LinearCall {
  const h = checkMatrix(hidden, "hidden", "[N, H]");
  const w = checkMatrix(weight, "weight", "[V, H]");
  const th = checkMatrix(teacherHidden, "teacherHidden", "[N, H']");
  const tw = checkMatrix(teacherWeight, "teacherWeight", "[V, H']");
  const [N, H] = h.shape as [number, number];
  const [V, H2] = w.shape as [number, number];
  const [Nt, Ht] = th.shape as [number, number];
  const [Vt, Ht2] = tw.shape as [number, number];
  if (h.dtype !== w.dtype) throw new DTypeError(`${FN}: hidden and weight must have one dtype, got ${h.dtype} and ${w.dtype}`);
  if (th.dtype !== tw.dtype) throw new DTypeError(`${FN}: teacherHidden and teacherWeight must have one dtype, got ${th.dtype} and ${tw.dtype}`);
  if (H2 !== H) throw new ShapeError(`${FN}: weight has shape ${shapeStr(w.shape)} but hidden has shape ${shapeStr(h.shape)} (weight must be [V, ${H}])`);
  if (Ht2 !== Ht) throw new ShapeError(`${FN}: teacherWeight has shape ${shapeStr(tw.shape)} but teacherHidden has shape ${shapeStr(th.shape)} (teacherWeight must be [V, ${Ht}])`);
  if (Nt !== N) throw new ShapeError(`${FN}: teacherHidden has shape ${shapeStr(th.shape)} but hidden has shape ${shapeStr(h.shape)} (one row per position: ${N} rows)`);
  if (Vt !== V) throw new ShapeError(`${FN}: teacherWeight has shape ${shapeStr(tw.shape)} but weight has shape ${shapeStr(w.shape)} (the vocabularies differ: ${Vt} != ${V})`);
  if (V === 0) throw new ShapeError(`${FN}: weight must have at least one class, got shape ${shapeStr(w.shape)}`);
  const o = distillationCallOfShape([N], V, options, FN, ["chunkRows"]);
  const { chunkRows: given, ...rest } = options ?? {};
  let chunkRows: number;
  if (given === undefined) {
    const bytes = (d: string): number => (d === "float32" ? 4 : 8);
    const wantS = h.requiresGrad || w.requiresGrad;
    const wantT = th.requiresGrad || tw.requiresGrad;
    const perRow = V * (bytes(h.dtype) * (wantS ? 2 : 1) + bytes(th.dtype) * (wantT ? 2 : 1));
    chunkRows = Math.max(1, Math.min(N, Math.floor(CHUNK_BUDGET_BYTES / perRow)));
  } else {
    if (typeof given !== "number" || !Number.isInteger(given) || given < 1) {
      throw new ValueError(`${FN}: chunkRows must be a positive integer, got ${describeValue(given)}`);
    }
    chunkRows = Math.min(given, Math.max(N, 1));
  }
  return { o, N, H, Ht, V, chunkRows, options: rest };
}

interface Saved {
  /** The gradients per unit upstream (scalar reductions), null for an input that wants none. */
  grads: (Tensor | null)[];
  /** ∂L/∂T per unit upstream: a number (scalar reductions) or [N] ("none"); null when not wanted. */
  dTemp: number | Tensor | null;
  inputs: Tensor[];
  temperature: Tensor | null;
  call: LinearCall;
}

const linearDistillationLossOp = defineOp({
  name: FN,
  forward(ctx, hidden: Tensor, weight: Tensor, teacherHidden: Tensor, teacherWeight: Tensor, temperature: Tensor | null, call: LinearCall): Tensor {
    const { o, N } = call;
    const dtype = promoteTypes(hidden.dtype, teacherHidden.dtype, FN);
    const want = [0, 1, 2, 3].map((i) => ctx.needsInputGrad[i] === true);
    const needTemp = ctx.needsInputGrad[4] === true;
    const inputs = [hidden, weight, teacherHidden, teacherWeight];
    const scalar = o.reduction !== "none";
    const run = chunked(inputs, call, scalar ? want : [false, false, false, false], needTemp, null);
    let y: Tensor;
    let dTemp: number | Tensor | null = null;
    if (run.mean !== null) {
      y = Tensor.empty([], dtype);
      y.data[0] = run.mean;
    } else {
      y = o.reduction === "mean" && o.counted === 0 ? Tensor.empty([], dtype) : reduceLoss(run.loss, o.reduction, o.counted, [N], dtype);
    }
    if (run.dTemp !== null) {
      if (o.reduction === "none") dTemp = new Tensor(run.dTemp, [N]);
      else {
        const total = new Float64Array(1);
        kernel("reduce", "float64", N)("sum", run.dTemp, { outer: 1, length: N, inner: 1 }, total);
        dTemp = total[0]!;
      }
    }
    ctx.save({ grads: run.grads, dTemp, inputs, temperature, call } satisfies Saved);
    return y;
  },
  backward(ctx, g) {
    const sv = ctx.saved as Saved;
    const { call } = sv;
    const want = [0, 1, 2, 3].map((i) => ctx.needsInputGrad[i] === true);
    if (ctx.createGraph) return compositeForms(sv, g, want, ctx.needsInputGrad[4] === true);
    if (call.o.reduction === "none") {
      // Each row's gradient times its own upstream u_r, formed again chunk by chunk.
      const u = Float64Array.from(g.contiguous().copyData());
      const run = chunked(sv.inputs, call, want, false, u);
      return [
        ...run.grads.map((d) => (d === null ? null : ctx.handOver(d))),
        sv.dTemp === null ? null : sum(mul(g, sv.dTemp as Tensor)),
        null,
      ];
    }
    const scale = g.item();
    const give = (d: Tensor | null): Tensor | null => {
      if (d === null) return null;
      if (scale !== 1) return ctx.handOver(mul(d, scale));
      return ctx.lastUse ? ctx.handOver(d) : d;
    };
    return [...sv.grads.map(give), sv.dTemp === null ? null : scalarOf((sv.dTemp as number) * scale), null];
  },
});

/** A float64 scalar tensor holding v. */
function scalarOf(v: number): Tensor {
  const out = Tensor.empty([], "float64");
  out.data[0] = v;
  return out;
}

/**
 * The second-order path: the gradients of the unfused composite (products, then
 * distillationLoss) times g, with a graph, on clones of the inputs that want one (so that each
 * is this op's partial derivative in that input), and of the temperature tensor.
 */
function compositeForms(sv: Saved, g: Tensor, want: boolean[], wantTemp: boolean): (Tensor | null)[] {
  const xs = sv.inputs.map((x, i) => (want[i] ? clone(x) : x));
  const T = wantTemp ? clone(sv.temperature!) : sv.temperature ?? sv.call.o.T;
  const [h, w, th, tw] = xs as [Tensor, Tensor, Tensor, Tensor];
  const L = distillationLoss(matmul(h, transpose(w, 0, 1)), matmul(th, transpose(tw, 0, 1)), { ...sv.call.options, temperature: T });
  const wrt: Tensor[] = xs.filter((_, i) => want[i]);
  if (wantTemp) wrt.push(T as Tensor);
  if (!L.requiresGrad || wrt.length === 0) return [null, null, null, null, null, null];
  const forms = gradients([L], wrt, [g], { createGraph: true, allowUnused: true });
  let k = 0;
  const out: (Tensor | null)[] = want.map((wanted) => (wanted ? forms[k++] ?? null : null));
  out.push(wantTemp ? forms[k++] ?? null : null, null);
  return out;
}

interface Run {
  /** The loss when the original kernel ran ("mean"), else null and `loss` holds the rows. */
  mean: number | null;
  /** The per-row losses (general kernel). */
  loss: Float64Array;
  /** dH, dW, dH', dW' (null where not wanted). */
  grads: (Tensor | null)[];
  /** ∂loss[r]/∂T per row, when wanted. */
  dTemp: Float64Array | null;
}

/**
 * One pass over the rows, chunk by chunk: the chunk's logits by products with the weights,
 * the row kernel on them, and, when wanted, the gradients' products (the derivation above).
 * `rowScale` (reduction "none", in backward): each row's gradient is multiplied by it.
 */
function chunked(inputs: Tensor[], call: LinearCall, want: boolean[], needTemp: boolean, rowScale: Float64Array | null): Run {
  const { o, N, H, Ht, V, chunkRows } = call;
  const [hidden, weight, teacherHidden, teacherWeight] = inputs as [Tensor, Tensor, Tensor, Tensor];
  const sd = hidden.dtype as FloatDType;
  const td = teacherHidden.dtype as FloatDType;
  const dtype = promoteTypes(sd, td, FN);
  const h = contiguousData(hidden);
  const w = contiguousData(weight);
  const th = contiguousData(teacherHidden);
  const tw = contiguousData(teacherWeight);
  const grads = inputs.map((x, i) => (want[i] ? Tensor.empty(x.shape, x.dtype) : null));
  const wantS = want[0] || want[1];
  const wantT = want[2] || want[3];
  const original = o.divergence === "forward" && o.scaleT2 && !o.standardize && o.reduction === "mean" && !needTemp && rowScale === null;
  const c0 = Math.min(chunkRows, N);
  const sC = Tensor.empty([c0, V], sd);
  const tC = Tensor.empty([c0, V], td);
  const dSC = wantS ? Tensor.empty([c0, V], sd) : null;
  const dTC = wantT ? Tensor.empty([c0, V], td) : null;
  const loss = new Float64Array(original ? 0 : N);
  const dTemp = needTemp ? new Float64Array(N) : null;
  const blk = Math.min(VOCAB_BLOCK, V);
  const scratch = new Products(blk, c0, Math.max(H, Ht), sd, td);
  let total = 0;
  // Whether dW (dW') has received a contribution yet: the first one is written, later ones added.
  const fresh = { w: true, tw: true };
  for (let r0 = 0; r0 < N; r0 += c0) {
    const c = Math.min(c0, N - r0);
    const view = (x: Tensor | null): Tensor | null => (x === null ? null : c === c0 ? x : new Tensor(x.data.subarray(0, c * V), [c, V]));
    const s = view(sC)!;
    const t = view(tC)!;
    const dS = view(dSC);
    const dT = view(dTC);
    scratch.logits(h, r0, c, H, w, V, sd, s.data);
    scratch.logits(th, r0, c, Ht, tw, V, td, t.data);
    const labels = o.labels === null ? null : o.labels.subarray(r0, r0 + c);
    let counts = true;
    if (original) {
      // The original kernel averages over the chunk's counted rows: its mean times cc/counted is
      // the chunk's share of the call's mean, and its gradients are rescaled the same way.
      let cc = c;
      let kept: Int32Array | null = null;
      if (labels !== null) {
        const rowsKept = new Int32Array(c);
        cc = kernel("keptRows", "int32", c)(labels, o.ignoreIndex, rowsKept);
        if (cc < c) kept = rowsKept.subarray(0, cc);
      }
      counts = cc > 0;
      if (counts) {
        // With ignored rows the kernel writes the counted rows only: the others must read 0,
        // not the previous chunk's values left in the reused arrays.
        if (kept !== null) for (const d of [dS, dT]) d?.data.fill(0);
        const chunkCall: DistillationCall = { ...o, leadShape: [c], rows: c, labels, kept, counted: cc };
        const mean = originalKernel(s.data, t.data, chunkCall, dtype, dS, dT);
        total += mean * cc;
        const share = cc / o.counted;
        if (share !== 1) for (const d of [dS, dT]) if (d !== null) kernel("affine", d.dtype, c * V)(d.data, share, 0, d.data);
      }
    } else {
      const chunkCall: DistillationCall = { ...o, leadShape: [c], rows: c, labels, kept: null };
      generalKernel(s.data, t.data, chunkCall, dtype, loss.subarray(r0, r0 + c), dS, dT, dTemp === null ? null : dTemp.subarray(r0, r0 + c));
      if (rowScale !== null) {
        const u = { data: rowScale, offset: r0, strides: [1, 0] };
        for (const d of [dS, dT]) {
          if (d !== null) kernel("binary", d.dtype, c * V)("mul", { data: d.data, offset: 0, strides: [V, 1] }, u, [c, V], d.data);
        }
      }
    }
    if (!counts) {
      // No row of this chunk counts: its gradients are 0, so dH's rows are 0 and dW gets nothing.
      for (const [i, H_] of [[0, H], [2, Ht]] as const) grads[i]?.data.fill(0, r0 * H_, (r0 + c) * H_);
      continue;
    }
    if (dS !== null) {
      scratch.backward(dS.data, h, w, r0, c, H, V, sd, grads[0]?.data ?? null, grads[1]?.data ?? null, fresh.w);
      if (grads[1] !== null) fresh.w = false;
    }
    if (dT !== null) {
      scratch.backward(dT.data, th, tw, r0, c, Ht, V, td, grads[2]?.data ?? null, grads[3]?.data ?? null, fresh.tw);
      if (grads[3] !== null) fresh.tw = false;
    }
  }
  // A weight that no counted row reached has gradient 0.
  if (fresh.w && grads[1] !== null) grads[1].data.fill(0);
  if (fresh.tw && grads[3] !== null) grads[3].data.fill(0);
  return { mean: original ? (o.counted === 0 ? 0 : total / o.counted) : null, loss, grads, dTemp };
}

/**
 * The products of one chunk, one vocabulary block of `blk` classes at a time, with the scratch
 * they need (allocated once per pass): a [c, blk] block of logits or gradients and a
 * [blk, H] block of dW's contribution, or a [c, H] part of dH.
 */
class Products {
  private readonly block: Record<FloatDType, Storage>;
  private readonly rowsH: Record<FloatDType, Storage>;
  private readonly blockW: Record<FloatDType, Storage>;

  constructor(private readonly blk: number, c: number, H: number, sd: FloatDType, td: FloatDType) {
    const make = (n: number): Record<FloatDType, Storage> => {
      const out = {} as Record<FloatDType, Storage>;
      for (const d of new Set([sd, td])) out[d] = Tensor.empty([n], d).data;
      return out;
    };
    this.block = make(c * blk);
    this.rowsH = make(c * H);
    this.blockW = make(blk * H);
  }

  /**
   * out [c, V] = x[r0 : r0 + c]·Wᵀ. Per block, W[v0 : v1]·x_chunkᵀ ([vb, H]·[H, c]: the block of
   * W as it is stored, the few rows of x transposed) into a [vb, c] scratch, scattered into
   * out's columns v0 … v1 (each entry is the same dot product ⟨W_v, x_r⟩ as x·Wᵀ computes).
   */
  logits(x: Storage, r0: number, c: number, H: number, W: Storage, V: number, dtype: FloatDType, out: Storage): void {
    const tmp = this.block[dtype];
    for (let v0 = 0; v0 < V; v0 += this.blk) {
      const vb = Math.min(this.blk, V - v0);
      kernel("matmul", dtype, vb * H * c)(
        { data: W, offset: v0 * H, rowStride: H, colStride: 1 }, { data: x, offset: r0 * H, rowStride: 1, colStride: H }, tmp, 0, vb, H, c,
      );
      kernel("scatter", dtype, vb * c)(tmp.subarray(0, vb * c), { data: out, offset: v0, strides: [1, V] }, [vb, c], false);
    }
  }

  /**
   * From G = ∂L/∂(x·Wᵀ) of the chunk ([c, V]): dX[r0 : r0 + c] = G·W (a sum over the blocks)
   * and dW (+)= Gᵀ·x_chunk, each block of G copied contiguous first (the product kernels read
   * it as it is, or transposed).
   */
  backward(
    G: Storage, x: Storage, W: Storage, r0: number, c: number, H: number, V: number, dtype: FloatDType,
    dX: Storage | null, dW: Storage | null, freshW: boolean,
  ): void {
    const g = this.block[dtype];
    const part = this.rowsH[dtype];
    const wPart = this.blockW[dtype];
    const flat = { offset: 0, strides: [1] };
    for (let v0 = 0; v0 < V; v0 += this.blk) {
      const vb = Math.min(this.blk, V - v0);
      kernel("copy", dtype, c * vb)({ data: G, offset: v0, strides: [V, 1] }, [c, vb], g);
      if (dX !== null) {
        const first = v0 === 0;
        kernel("matmul", dtype, c * vb * H)(
          { data: g, offset: 0, rowStride: vb, colStride: 1 }, { data: W, offset: v0 * H, rowStride: H, colStride: 1 },
          first ? dX : part, first ? r0 * H : 0, c, vb, H,
        );
        if (!first) {
          const rows = dX.subarray(r0 * H, (r0 + c) * H);
          kernel("binary", dtype, c * H)("add", { data: rows, ...flat }, { data: part, ...flat }, [c * H], rows);
        }
      }
      if (dW !== null) {
        kernel("matmul", dtype, vb * c * H)(
          { data: g, offset: 0, rowStride: 1, colStride: vb }, { data: x, offset: r0 * H, rowStride: H, colStride: 1 },
          freshW ? dW : wPart, freshW ? v0 * H : 0, vb, c, H,
        );
        if (!freshW) {
          const rows = dW.subarray(v0 * H, (v0 + vb) * H);
          kernel("binary", dtype, vb * H)("add", { data: rows, ...flat }, { data: wPart, ...flat }, [vb * H], rows);
        }
      }
    }
  }
}
