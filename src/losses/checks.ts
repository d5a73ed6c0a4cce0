import { Tensor } from "../tensor/tensor.js";
import { DTypeError, IndexError, ShapeError, ValueError } from "../tensor/errors.js";
import { shapeStr } from "../tensor/shape.js";
import { expand } from "../ops/expand.js";
import { contiguousData } from "../ops/elementwise.js";
import { kernel } from "../kernels/registry.js";

/**
 * Argument checks shared by the losses (not a loss). Every error names the
 * function, the argument and the offending value or shape. The layout of a
 * classification input and the reduction of per-position losses are in
 * class-layout.ts.
 */

/** How a loss reduces over examples: "mean", "sum", or "none" (one value per example). */
export type Reduction = "mean" | "sum" | "none";
/** klDiv's reductions: those of the other losses, and "batchmean" (the sum divided by the batch size, the KL per example). */
export type KlReduction = Reduction | "batchmean";

export function checkReduction<R extends string>(value: unknown, allowed: readonly R[], fn: string): R {
  if (!allowed.includes(value as R)) {
    throw new ValueError(`${fn}: reduction must be one of ${allowed.map((r) => `'${r}'`).join(", ")}, got ${JSON.stringify(value)}`);
  }
  return value as R;
}

/**
 * The temperatures kdgrad accepts: 1e-6 ≤ T ≤ 1e6. Across this range every
 * fused kernel gives T²·KL to its stated accuracy (docs/distillation.md, "The
 * temperature range"). At T = 1e6 the loss is within a relative 2R·1e-6 of the
 * logit-matching limit (R the largest centred logit), and the log-ratio form
 * keeps it to a few ulps; at T = 1e-6 only the argmax of each softmax is left.
 * Beyond either end nothing new happens (the limits are logitMatchingLoss and
 * the argmax), while float32's T², 1/T and (x/T)² run out of range. PyTorch
 * checks nothing: T = 0 gives NaN, T < 0 silently reverses the distributions.
 */
export const TEMPERATURE_MIN = 1e-6;
export const TEMPERATURE_MAX = 1e6;

/** T must be a number in [TEMPERATURE_MIN, TEMPERATURE_MAX]; anything else (0, negative, NaN, ±∞, 1e-40, 1e30, a string) is a ValueError naming fn. */
export function checkTemperature(temperature: unknown, fn: string): number {
  if (typeof temperature !== "number" || !(temperature >= TEMPERATURE_MIN && temperature <= TEMPERATURE_MAX)) {
    const got = typeof temperature === "string" ? JSON.stringify(temperature) : String(temperature);
    throw new ValueError(`${fn}: temperature must be in [1e-6, 1e6], got ${got}`);
  }
  return temperature;
}

export function checkAlpha(alpha: unknown, fn: string): number {
  if (typeof alpha !== "number" || !(alpha >= 0 && alpha <= 1)) {
    throw new ValueError(`${fn}: alpha must be in [0, 1], got ${String(alpha)}`);
  }
  return alpha;
}

/** A float input of rank 2, [B, C]. */
export function checkLogits(x: unknown, fn: string, arg: string): Tensor {
  if (!(x instanceof Tensor)) throw new DTypeError(`${fn}: ${arg} must be a Tensor, got ${typeof x}`);
  if (x.dtype === "int32") throw new DTypeError(`${fn}: ${arg} must be float32 or float64, got int32`);
  if (x.ndim !== 2) throw new ShapeError(`${fn}: ${arg} must have shape [B, C], got ${shapeStr(x.shape)}`);
  return x;
}

export function checkSameShape(a: Tensor, b: Tensor, fn: string, aName: string, bName: string): void {
  if (a.ndim !== b.ndim || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new ShapeError(`${fn}: ${bName} has shape ${shapeStr(b.shape)} but ${aName} has shape ${shapeStr(a.shape)}`);
  }
}

/**
 * `target` as a tensor of the input's shape: itself, or a broadcast view when
 * its shape broadcasts to the input's (PyTorch's rule for klDiv and
 * mseLoss). Anything else is a ShapeError naming both shapes.
 */
export function broadcastTarget(input: Tensor, target: Tensor, fn: string): Tensor {
  if (input.ndim === target.ndim && input.shape.every((d, i) => d === target.shape[i])) return target;
  const k = target.ndim;
  const n = input.ndim;
  const fits = k <= n && target.shape.every((d, i) => d === 1 || d === input.shape[n - k + i]);
  if (!fits) {
    throw new ShapeError(`${fn}: target has shape ${shapeStr(target.shape)}, which does not broadcast to the input's shape ${shapeStr(input.shape)}`);
  }
  return expand(target, input.shape);
}

/**
 * Class labels: an int32 tensor of `shape`, each in [0, C) or equal to
 * `ignoreIndex` (when given). Returns the contiguous data.
 */
export function checkLabels(
  labels: unknown, shape: readonly number[], classes: number, fn: string, arg: string, ignoreIndex?: number,
): Int32Array {
  if (!(labels instanceof Tensor)) throw new DTypeError(`${fn}: ${arg} must be an int32 Tensor of class indices, got ${typeof labels}`);
  if (labels.dtype !== "int32") {
    throw new DTypeError(`${fn}: ${arg} must be int32 class indices of shape ${shapeStr(shape)}, got ${labels.dtype} of shape ${shapeStr(labels.shape)}`);
  }
  if (labels.ndim !== shape.length || labels.shape.some((d, i) => d !== shape[i])) {
    throw new ShapeError(`${fn}: ${arg} has shape ${shapeStr(labels.shape)} but the input needs ${shapeStr(shape)}`);
  }
  const y = contiguousData(labels) as Int32Array;
  const i = kernel("badLabel", "int32", y.length)(y, classes, ignoreIndex ?? null);
  if (i >= 0) {
    throw new IndexError(`${fn}: ${arg}[${i}] = ${y[i]} is out of range [0, ${classes})${ignoreIndex === undefined ? "" : ` and is not ignoreIndex (${ignoreIndex})`}`);
  }
  return y;
}

/** Class weights as a Float64Array of C entries (a Tensor or an array), or null. */
export function checkWeight(weight: unknown, classes: number, fn: string): Float64Array | null {
  if (weight === undefined || weight === null) return null;
  let w: Float64Array;
  if (weight instanceof Tensor) {
    if (weight.dtype === "int32") throw new DTypeError(`${fn}: weight must be float, got int32`);
    if (weight.ndim !== 1) throw new ShapeError(`${fn}: weight must be 1-D with ${classes} entries, got shape ${shapeStr(weight.shape)}`);
    w = Float64Array.from(weight.copyData());
  } else if (Array.isArray(weight) && weight.every((v) => typeof v === "number")) {
    w = Float64Array.from(weight as number[]);
  } else {
    throw new DTypeError(`${fn}: weight must be a Tensor or an array of numbers`);
  }
  if (w.length !== classes) {
    throw new ShapeError(`${fn}: weight must have one entry per class (${classes}), got ${w.length}`);
  }
  return w;
}

export function checkInteger(value: unknown, fn: string, arg: string): number {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new ValueError(`${fn}: ${arg} must be an integer, got ${String(value)}`);
  }
  return value;
}
