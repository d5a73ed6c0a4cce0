import { allocate, dtypeOf, type DType, type FloatDType, type Storage } from "./dtype.js";
import { AutogradError, DTypeError, ShapeError, ValueError } from "./errors.js";
import { checkCount, contiguousStrides, describeValue, sizeOf, shapeStr, type Shape } from "./shape.js";
import { publicName } from "./public-call.js";
import { copyStrided, isRowMajor } from "./strided.js";
import { formatTensor } from "./format.js";
import type { Node } from "../autograd/node.js";

export type { DType, Storage } from "./dtype.js";

/**
 * The tensor type of the ground floor: storage, geometry and the autograd
 * bookkeeping, with no op imported. The method-style API (`x.add(y)`,
 * `x.sum()`, `x.backward()`, `x.contiguous()`…) is installed on this class
 * by src/methods.ts, in one place, and declared there for the type checker.
 *
 * An n-dimensional array over a typed-array `data` buffer, read through
 * `shape`, `strides` and `offset` (so views share storage), with the
 * bookkeeping reverse-mode autodiff needs: `requiresGrad`, `grad` and the
 * `node` of the op that produced it.
 */
export class Tensor {
  /** The storage buffer. Shared between a tensor and its views. */
  readonly data: Storage;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  readonly dtype: DType;
  /** Whether gradients flow into this tensor. */
  requiresGrad = false;
  /** Accumulated ∂L/∂this after `backward()`, for leaves and after `retainGrad()`. */
  grad: Tensor | null = null;
  /** The op that produced this tensor (null for leaves and outside autograd). */
  node: Node | null = null;
  /** Set by `retainGrad()`: keep `.grad` on a non-leaf. */
  retainsGrad = false;

  /**
   * A view of `data` (a Float32Array, Float64Array or Int32Array). The geometry is checked, so
   * that no tensor can read outside its storage: shape entries are non-negative integers,
   * strides integers (one per axis), offset an integer, and when the tensor holds any element,
   * its first and last positions, offset + Σ min/max((nᵢ − 1)·sᵢ, 0), lie in [0, data.length).
   * Check: a contiguous [2, 3] at offset 0 spans 0 … 1·3 + 2·1 = 5 < 6.
   */
  constructor(data: Storage, shape: Shape, strides?: readonly number[], offset = 0) {
    if (!(data instanceof Float32Array || data instanceof Float64Array || data instanceof Int32Array)) {
      throw new DTypeError(`Tensor: data must be a Float32Array, Float64Array or Int32Array, got ${describeValue(data)}`);
    }
    checkShapeList(shape, "Tensor");
    // The limit holds for views too (docs/ops.md): a stride-0 view of 1e10 elements stores one
    // value, but its flat indices (argmax's, gather's) would not fit an int32.
    checkCount(sizeOf(shape), "Tensor", () => `shape ${shapeStr(shape)}`);
    // Absent strides are row-major; given ones must be a list (3n or null is no list to spread).
    const st = strides === undefined ? contiguousStrides(shape) : Array.isArray(strides) ? [...strides] : [NaN];
    if (st.length !== shape.length || st.some((s) => typeof s !== "number" || !Number.isInteger(s))) {
      throw new ShapeError(`Tensor: strides must be a list of ${shape.length} integers for shape ${shapeStr(shape)}, got ${describeValue(strides)}`);
    }
    // Non-negative even when the view holds no element (nothing is read, but an offset of −1 is no position).
    if (typeof offset !== "number" || !Number.isInteger(offset) || offset < 0) {
      throw new ValueError(`Tensor: offset must be a non-negative integer, got ${describeValue(offset)}`);
    }
    if (sizeOf(shape) > 0) {
      let lo = offset;
      let hi = offset;
      for (let i = 0; i < shape.length; i++) {
        const reach = (shape[i]! - 1) * st[i]!;
        if (reach < 0) lo += reach;
        else hi += reach;
      }
      if (lo < 0 || hi >= data.length) {
        throw new ShapeError(`Tensor: shape ${shapeStr(shape)} with strides ${shapeStr(st)} at offset ${offset} reads positions ${lo} to ${hi}, outside the storage of ${data.length} elements`);
      }
    }
    this.data = data;
    this.shape = Object.freeze([...shape]);
    this.strides = Object.freeze(st);
    this.offset = offset;
    this.dtype = dtypeOf(data);
  }

  /**
   * A fresh contiguous tensor of zeros (its contents are to be written by the caller). A size
   * above MAX_ELEMENTS, or memory the engine refuses, is a ValueError naming `fn`, by default
   * the public function running (see public-call.ts).
   */
  static empty(shape: Shape, dtype: DType, fn?: string): Tensor {
    const name = fn ?? publicName("Tensor.empty");
    // The shape is checked before its size is computed (the constructor checks it again, after
    // allocating): sizeOf of a non-list, or of 3n, would throw a raw TypeError.
    checkShapeList(shape, name);
    return new Tensor(allocate(dtype, sizeOf(shape), name), shape);
  }

  get ndim(): number {
    return this.shape.length;
  }

  get size(): number {
    return sizeOf(this.shape);
  }

  /** True for a leaf: a tensor no recorded op produced. */
  get isLeaf(): boolean {
    return this.node === null;
  }

  /** Row-major strides, whatever the offset. */
  isContiguous(): boolean {
    return isRowMajor(this.shape, this.strides);
  }

  /** A new storage holding this tensor's elements in row-major order (no graph). */
  copyData(): Storage {
    const out = allocate(this.dtype, this.size, publicName("copyData"));
    copyStrided(this.data, this.offset, this.shape, this.strides, out);
    return out;
  }

  /** A view over the same storage with new geometry (no graph; used by view ops). */
  asStrided(shape: Shape, strides: readonly number[], offset: number): Tensor {
    return new Tensor(this.data, shape, strides, offset);
  }

  /** The element at a multi-index (negative indices count from the end). */
  at(...index: number[]): number {
    if (index.length !== this.ndim) {
      throw new ValueError(`at: expected ${this.ndim} indices for shape ${shapeStr(this.shape)}, got ${index.length}`);
    }
    let p = this.offset;
    for (let i = 0; i < index.length; i++) {
      const d = this.shape[i]!;
      let k = index[i]!;
      if (!Number.isInteger(k) || k < -d || k >= d) {
        throw new ValueError(`at: index ${k} is out of range for axis ${i} of size ${d}`);
      }
      if (k < 0) k += d;
      p += k * this.strides[i]!;
    }
    return this.data[p]!;
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) {
      throw new ValueError(`item: only a one-element tensor has an item, got shape ${shapeStr(this.shape)}`);
    }
    return this.data[this.offset]!;
  }

  /** Nested arrays, like PyTorch's `tolist()`; a scalar gives a number. */
  toArray(): NestedArray {
    const flat = this.copyData();
    if (this.ndim === 0) return flat[0]!;
    let pos = 0;
    const build = (axis: number): NestedArray[] => {
      const out: NestedArray[] = [];
      for (let i = 0; i < this.shape[axis]!; i++) {
        out.push(axis === this.ndim - 1 ? flat[pos++]! : build(axis + 1));
      }
      return out;
    };
    return build(0);
  }

  /** The elements in row-major order as a plain array. */
  toFlatArray(): number[] {
    return Array.from(this.copyData());
  }

  toString(): string {
    return formatTensor(this);
  }

  // ---------------------------------------------------------------- autograd

  /** Mark a leaf as requiring gradients (in place), and return it. */
  requiresGrad_(requiresGrad = true): this {
    if (!this.isLeaf) {
      throw new AutogradError("requiresGrad_: only a leaf tensor's flag can be changed; use detach() first");
    }
    if (requiresGrad && this.dtype === "int32") {
      throw new DTypeError("requiresGrad_: only float tensors can require gradients, got int32");
    }
    this.requiresGrad = requiresGrad;
    return this;
  }

  /** Keep `.grad` for this non-leaf tensor after `backward()`. */
  retainGrad(): this {
    this.retainsGrad = true;
    return this;
  }

  /** The same values, cut from the graph (shares storage). */
  detach(): Tensor {
    return new Tensor(this.data, this.shape, this.strides, this.offset);
  }

  /** Forget the accumulated gradient. */
  zeroGrad(): void {
    this.grad = null;
  }
}

/** Nested arrays of numbers, as `toArray()` returns them (a number for a scalar). */
export type NestedArray = number | NestedArray[];

/** A shape as the constructor and Tensor.empty take it: a list of non-negative integers (ShapeError naming fn). */
function checkShapeList(shape: unknown, fn: string): void {
  if (!Array.isArray(shape) || shape.some((d) => typeof d !== "number" || !Number.isInteger(d) || d < 0)) {
    throw new ShapeError(`${fn}: shape must be a list of non-negative integers, got ${describeValue(shape)}`);
  }
}

/**
 * A tensor argument of a public function: a Tensor, returned as such, or a DTypeError naming
 * the function, the argument and what was given (`neg: input must be a Tensor, got NaN`), never
 * the TypeError that reading `.shape` of a number would raise somewhere inside.
 */
export function checkTensor(x: unknown, fn: string, arg: string): Tensor {
  if (!(x instanceof Tensor)) throw new DTypeError(`${fn}: ${arg} must be a Tensor, got ${describeValue(x)}`);
  return x;
}

/** What a user's function (an op's forward, a checked or transformed fn) returned: a Tensor (ValueError naming fn otherwise). */
export function checkReturned(y: unknown, fn: string, what: string): Tensor {
  if (!(y instanceof Tensor)) throw new ValueError(`${fn}: ${what} must return a Tensor, got ${describeValue(y)}`);
  return y;
}

/** checkTensor, and of a float dtype (int32 holds labels and indices: a DTypeError). */
export function checkFloatTensor(x: unknown, fn: string, arg: string): Tensor & { readonly dtype: FloatDType } {
  checkTensor(x, fn, arg);
  if ((x as Tensor).dtype === "int32") throw new DTypeError(`${fn}: ${arg} must be float32 or float64, got int32`);
  return x as Tensor & { readonly dtype: FloatDType };
}
