/**
 * The method-style API, installed on Tensor in one place: `x.add(y)` is
 * `add(x, y)`, `x.sum(1)` is `sum(x, 1)`, and so on, as in PyTorch. Tensor
 * (src/tensor, the ground floor) imports no op; this module imports the
 * ops and attaches them, so value imports run one way (tensor → autograd →
 * ops → here). src/index.ts imports this module first, so every tensor a
 * user sees has its methods (package.json lists it under "sideEffects").
 * The declarations below tell the type checker what is installed.
 */
import { Tensor } from "./tensor/tensor.js";
import type { DType } from "./tensor/dtype.js";
import { ShapeError } from "./tensor/errors.js";
import { shapeStr } from "./tensor/shape.js";
import { runBackward, type BackwardOptions } from "./autograd/backward.js";
import { add } from "./ops/add.js";
import { sub } from "./ops/sub.js";
import { mul } from "./ops/mul.js";
import { div } from "./ops/div.js";
import { neg } from "./ops/neg.js";
import { pow } from "./ops/pow.js";
import { exp } from "./ops/exp.js";
import { log } from "./ops/log.js";
import { log1p } from "./ops/log1p.js";
import { sqrt } from "./ops/sqrt.js";
import { abs } from "./ops/abs.js";
import { tanh } from "./ops/tanh.js";
import { sigmoid } from "./ops/sigmoid.js";
import { relu } from "./ops/relu.js";
import { maximum } from "./ops/maximum.js";
import { minimum } from "./ops/minimum.js";
import { clamp } from "./ops/clamp.js";
import { sum } from "./ops/sum.js";
import { mean } from "./ops/mean.js";
import { max } from "./ops/max.js";
import { min } from "./ops/min.js";
import { logSumExp } from "./ops/log-sum-exp.js";
import { reshape } from "./ops/reshape.js";
import { transpose } from "./ops/transpose.js";
import { permute } from "./ops/permute.js";
import { broadcastTo, expand } from "./ops/expand.js";
import { squeeze } from "./ops/squeeze.js";
import { unsqueeze } from "./ops/unsqueeze.js";
import { slice } from "./ops/slice.js";
import { gather } from "./ops/gather.js";
import { matmul } from "./ops/matmul.js";
import { softmax } from "./ops/softmax.js";
import { logSoftmax } from "./ops/log-softmax.js";
import { clone } from "./ops/clone.js";
import { castTo } from "./ops/cast.js";
import { argmax, argmin } from "./ops/argmax.js";
import { eq } from "./ops/eq.js";
import { ne } from "./ops/ne.js";
import { lt } from "./ops/lt.js";
import { le } from "./ops/le.js";
import { gt } from "./ops/gt.js";
import { ge } from "./ops/ge.js";

declare module "./tensor/tensor.js" {
  interface Tensor {
    /**
     * Reverse-mode autodiff from this tensor: accumulate ∂this/∂leaf (times
     * `gradient`, required unless this is a scalar) into every leaf's `.grad`.
     * The graph is freed afterwards unless `retainGraph` is set. With
     * `createGraph` the backward pass is itself recorded, so the gradients can
     * be differentiated again (retainGraph then defaults to true). A float
     * gradient of the other float dtype is converted to this tensor's dtype (as
     * in PyTorch); an int32 one is a DTypeError.
     */
    backward(gradient?: Tensor, options?: BackwardOptions): void;
    /**
     * This tensor when its `data` already holds exactly its elements in
     * row-major order from index 0; otherwise a differentiable copy (`clone`).
     * Kernels rely on it: `x.contiguous().data[i]` is element i.
     */
    contiguous(): Tensor;
    /** Convert to another dtype (differentiable between float types). */
    to(dtype: DType): Tensor;
    add(y: Tensor | number): Tensor;
    sub(y: Tensor | number): Tensor;
    mul(y: Tensor | number): Tensor;
    div(y: Tensor | number): Tensor;
    neg(): Tensor;
    pow(exponent: Tensor | number): Tensor;
    exp(): Tensor;
    log(): Tensor;
    log1p(): Tensor;
    sqrt(): Tensor;
    abs(): Tensor;
    tanh(): Tensor;
    sigmoid(): Tensor;
    relu(): Tensor;
    maximum(y: Tensor | number): Tensor;
    minimum(y: Tensor | number): Tensor;
    clamp(lo: number | null, hi?: number | null): Tensor;
    sum(dim?: number | readonly number[], keepDim?: boolean): Tensor;
    mean(dim?: number | readonly number[], keepDim?: boolean): Tensor;
    max(dim?: number | readonly number[], keepDim?: boolean): Tensor;
    min(dim?: number | readonly number[], keepDim?: boolean): Tensor;
    argmax(dim?: number, keepDim?: boolean): Tensor;
    argmin(dim?: number, keepDim?: boolean): Tensor;
    logSumExp(dim: number | readonly number[], keepDim?: boolean): Tensor;
    reshape(...shape: number[] | [readonly number[]]): Tensor;
    transpose(dim0?: number, dim1?: number): Tensor;
    /** Transpose of the last two axes (PyTorch's `mT`). */
    readonly T: Tensor;
    permute(...dims: number[] | [readonly number[]]): Tensor;
    expand(...shape: number[] | [readonly number[]]): Tensor;
    broadcastTo(shape: readonly number[]): Tensor;
    squeeze(dim?: number | readonly number[]): Tensor;
    unsqueeze(dim: number): Tensor;
    slice(dim: number, start?: number, end?: number, step?: number): Tensor;
    gather(dim: number, index: Tensor): Tensor;
    matmul(y: Tensor): Tensor;
    softmax(dim?: number): Tensor;
    logSoftmax(dim?: number): Tensor;
    clone(): Tensor;
    /** `eq(this, y)`: int32 1 where this = y, else 0 (not differentiable). */
    eq(y: Tensor | number): Tensor;
    /** `ne(this, y)`: int32 1 where this ≠ y (NaN too), else 0 (not differentiable). */
    ne(y: Tensor | number): Tensor;
    /** `lt(this, y)`: int32 1 where this < y, else 0 (not differentiable). */
    lt(y: Tensor | number): Tensor;
    /** `le(this, y)`: int32 1 where this ≤ y, else 0 (not differentiable). */
    le(y: Tensor | number): Tensor;
    /** `gt(this, y)`: int32 1 where this > y, else 0 (not differentiable). */
    gt(y: Tensor | number): Tensor;
    /** `ge(this, y)`: int32 1 where this ≥ y, else 0 (not differentiable). */
    ge(y: Tensor | number): Tensor;
  }
}

/** `f(...)` or `f([...])`: the shape-like arguments of reshape, permute and expand. */
const list = (args: number[] | [readonly number[]]): readonly number[] =>
  (Array.isArray(args[0]) ? args[0] : args) as readonly number[];

const methods: ThisType<Tensor> & Record<string, (this: Tensor, ...args: any[]) => unknown> = {
  backward(gradient?: Tensor, options: BackwardOptions = {}) { runBackward(this, gradient, options); },
  contiguous() {
    return this.offset === 0 && this.data.length === this.size && this.isContiguous() ? this : clone(this);
  },
  to(dtype: DType) { return dtype === this.dtype ? this : castTo(this, dtype); },
  add(y: Tensor | number) { return add(this, y); },
  sub(y: Tensor | number) { return sub(this, y); },
  mul(y: Tensor | number) { return mul(this, y); },
  div(y: Tensor | number) { return div(this, y); },
  neg() { return neg(this); },
  pow(e: Tensor | number) { return pow(this, e); },
  exp() { return exp(this); },
  log() { return log(this); },
  log1p() { return log1p(this); },
  sqrt() { return sqrt(this); },
  abs() { return abs(this); },
  tanh() { return tanh(this); },
  sigmoid() { return sigmoid(this); },
  relu() { return relu(this); },
  maximum(y: Tensor | number) { return maximum(this, y); },
  minimum(y: Tensor | number) { return minimum(this, y); },
  clamp(lo: number | null, hi?: number | null) { return clamp(this, lo, hi); },
  sum(dim?: number | readonly number[], keepDim = false) { return sum(this, dim, keepDim); },
  mean(dim?: number | readonly number[], keepDim = false) { return mean(this, dim, keepDim); },
  max(dim?: number | readonly number[], keepDim = false) { return max(this, dim, keepDim); },
  min(dim?: number | readonly number[], keepDim = false) { return min(this, dim, keepDim); },
  argmax(dim?: number, keepDim = false) { return argmax(this, dim, keepDim); },
  argmin(dim?: number, keepDim = false) { return argmin(this, dim, keepDim); },
  logSumExp(dim: number | readonly number[], keepDim = false) { return logSumExp(this, dim, keepDim); },
  reshape(...shape: number[] | [readonly number[]]) { return reshape(this, list(shape)); },
  transpose(dim0 = -2, dim1 = -1) { return transpose(this, dim0, dim1); },
  permute(...dims: number[] | [readonly number[]]) { return permute(this, list(dims)); },
  expand(...shape: number[] | [readonly number[]]) { return expand(this, list(shape)); },
  broadcastTo(shape: readonly number[]) { return broadcastTo(this, shape); },
  squeeze(dim?: number | readonly number[]) { return squeeze(this, dim); },
  unsqueeze(dim: number) { return unsqueeze(this, dim); },
  slice(dim: number, start?: number, end?: number, step = 1) { return slice(this, dim, start, end, step); },
  gather(dim: number, index: Tensor) { return gather(this, dim, index); },
  matmul(y: Tensor) { return matmul(this, y); },
  softmax(dim = -1) { return softmax(this, dim); },
  logSoftmax(dim = -1) { return logSoftmax(this, dim); },
  clone() { return clone(this); },
  eq(y: Tensor | number) { return eq(this, y); },
  ne(y: Tensor | number) { return ne(this, y); },
  lt(y: Tensor | number) { return lt(this, y); },
  le(y: Tensor | number) { return le(this, y); },
  gt(y: Tensor | number) { return gt(this, y); },
  ge(y: Tensor | number) { return ge(this, y); },
};

for (const [name, f] of Object.entries(methods)) {
  Object.defineProperty(Tensor.prototype, name, { value: f, writable: true, configurable: true, enumerable: false });
}
Object.defineProperty(Tensor.prototype, "T", {
  get(this: Tensor) {
    // The last two axes, so at least two (PyTorch's mT): a message naming T, not transpose's dim0.
    if (this.ndim < 2) throw new ShapeError(`Tensor.T: needs at least 2 dimensions, got shape ${shapeStr(this.shape)}`);
    return transpose(this, -2, -1);
  },
  configurable: true,
  enumerable: false,
});
