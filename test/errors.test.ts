import { describe, expect, test } from "vitest";
import * as kd from "../src/index.js";
import { DTypeError, IndexError, KdgradError, ShapeError, ValueError, tensor, zeros } from "../src/index.js";

const x = (): kd.Tensor => zeros([2, 3]);
const labels = (v: number[]): kd.Tensor => tensor(v, { dtype: "int32" });

/** [what is called, error class, a piece of the message naming function, argument and values] */
const cases: [string, () => unknown, new (...a: any[]) => Error, RegExp][] = [
  ["broadcast", () => zeros([4, 10]).add(zeros([4, 9])), ShapeError, /^add: cannot broadcast \[4,10\] with \[4,9\]$/],
  ["where broadcast", () => kd.where(labels([1, 0]), zeros([3]), 0), ShapeError, /^where: cannot broadcast/],
  ["reshape size", () => x().reshape(4, 2), ShapeError, /^reshape: shape \[4,2\] is invalid for input of shape \[2,3\] \(6 elements\)$/],
  ["reshape two -1", () => x().reshape(-1, -1), ShapeError, /^reshape: invalid shape \[-1,-1\]/],
  ["axis out of range", () => kd.softmax(x(), 2), IndexError, /^softmax: dim is out of range \(expected an integer in \[-2, 1\], got 2\)$/],
  ["transpose axis", () => x().transpose(0, 5), IndexError, /^transpose: dim1 is out of range/],
  ["permute arity", () => x().permute(0), ShapeError, /^permute: dims \[0\] must list each of the 2 axes/],
  ["permute repeat", () => x().permute(0, 0), ShapeError, /^permute: dims \[0,0\] repeats an axis$/],
  ["expand fewer dims", () => x().expand(3), ShapeError, /^expand: cannot expand \[2,3\] to fewer dimensions \[3\]$/],
  ["expand size", () => x().expand(4, 3), ShapeError, /^expand: cannot broadcast \[2,3\] to \[4,3\]$/],
  ["slice step", () => x().slice(0, 0, 2, 0), ValueError, /^slice: step must be a positive integer, got 0$/],
  ["concat shapes", () => kd.concat([zeros([2, 3]), zeros([2, 4])], 0), ShapeError, /^concat: tensors\[1\] has shape \[2,4\], which does not match \[2,3\] outside dim 0$/],
  ["concat empty", () => kd.concat([]), ValueError, /^concat: tensors must be a non-empty list$/],
  ["stack shapes", () => kd.stack([zeros([2]), zeros([3])]), ShapeError, /^stack: tensors\[1\] has shape \[3\] but tensors\[0\] has shape \[2\]$/],
  ["gather index range", () => kd.gather(x(), 1, labels([3, 0]).reshape(2, 1)), IndexError, /^gather: index 3 is out of bounds for dim 1 with size 3$/],
  ["gather index dtype", () => kd.gather(x(), 1, zeros([2, 1])), DTypeError, /^gather: index must be int32, got float32$/],
  ["gather index shape", () => kd.gather(x(), 1, labels([0, 0, 0])), ShapeError, /^gather: index of shape \[3\] does not fit input of shape \[2,3\]/],
  ["oneHot range", () => kd.oneHot(labels([0, 3]), 3), IndexError, /^oneHot: label 3 is out of range \[0, 3\) at flat index 1$/],
  ["oneHot dtype", () => kd.oneHot(zeros([2]), 3), DTypeError, /^oneHot: labels must be int32, got float32$/],
  ["matmul inner", () => kd.matmul(zeros([2, 3]), zeros([2, 3])), ShapeError, /^matmul: shapes \[2,3\] and \[2,3\] cannot be multiplied \(3 != 2\)$/],
  ["matmul scalar", () => kd.matmul(zeros([]), zeros([2])), ShapeError, /^matmul: both arguments need at least one dimension/],
  ["matmul batch", () => kd.matmul(zeros([2, 1, 3]), zeros([3, 3, 1])), ShapeError, /^matmul: cannot broadcast \[2\] with \[3\]$/],
  ["clamp bounds", () => kd.clamp(x(), 1, 0), ValueError, /^clamp: need lo <= hi, got lo=1, hi=0$/],
  ["clamp none", () => kd.clamp(x(), null, null), ValueError, /^clamp: at least one of lo and hi must be given$/],
  ["logSumExp dim", () => (kd.logSumExp as any)(x()), ValueError, /^logSumExp: dim is required/],
  ["max empty", () => kd.max(zeros([0, 3]), 0), ValueError, /^max: cannot reduce over an axis of size 0/],
  ["repeated dims", () => kd.sum(x(), [0, -2]), ValueError, /^sum: dim lists an axis twice \(\[0,-2\]\)$/],
  ["int arithmetic", () => kd.exp(labels([1])), DTypeError, /^exp: input must be float32 or float64, got int32$/],
  ["int mixing", () => kd.mul(labels([1]), zeros([1])), DTypeError, /^mul: int32 tensors hold labels and indices/],
  ["scalars only", () => (kd.add as any)(1, 2), DTypeError, /^add: at least one argument must be a Tensor/],
  ["tensor ragged", () => tensor([[1], [1, 2]] as any), ShapeError, /^tensor: nested arrays are ragged/],
  ["tensor int32", () => tensor([0.5], { dtype: "int32" }), DTypeError, /^tensor: int32 values must be integers.*got 0\.5$/],
  ["cast to int32", () => zeros([1]).add(0.5).to("int32"), DTypeError, /^Tensor\.to: only integral values fit in int32, got 0\.5 at flat index 0$/],
  ["cast", () => kd.cast(zeros([1]).add(0.5), "int32"), DTypeError, /^cast: only integral values fit in int32, got 0\.5 at flat index 0$/],
  ["randint range", () => kd.randint(5, 1, [2]), ValueError, /^randint: need integers low < high, got low=5, high=1$/],
  ["shape values", () => zeros([2, -1]), ShapeError, /^zeros: shape must hold non-negative integers, got \[2,-1\]$/],
  ["at arity", () => x().at(0), ValueError, /^at: expected 2 indices for shape \[2,3\], got 1$/],
  ["item", () => x().item(), ValueError, /^item: only a one-element tensor has an item, got shape \[2,3\]$/],
  ["seed", () => new kd.Generator(1.5), ValueError, /^Generator: seed must be a non-negative safe integer, got 1.5$/],
];

describe("every documented error", () => {
  for (const [what, call, cls, message] of cases) {
    test(what, () => {
      let thrown: unknown;
      try {
        call();
      } catch (e) {
        thrown = e;
      }
      expect(thrown, `${what} did not throw`).toBeInstanceOf(cls);
      expect(thrown).toBeInstanceOf(KdgradError);
      expect((thrown as Error).name).toBe(cls.name);
      expect((thrown as Error).message).toMatch(message);
    });
  }
});
