import { describe, expect, test } from "vitest";
import { DTypeError, IndexError, ShapeError, ValueError, accuracy, tensor, zeros } from "../../src/index.js";

const labels = (v: number[], shape?: number[]) => tensor(v, { dtype: "int32", shape });

describe("accuracy", () => {
  test("the fraction of rows whose argmax is the label", () => {
    const logits = tensor([[2, 1, 0], [0, 3, 1], [1, 0, 4], [5, 5, 0]], { dtype: "float32" });
    // Predictions 0, 1, 2 and 0 (the tie 5 = 5 goes to the lowest index).
    expect(accuracy(logits, labels([0, 1, 2, 0]))).toBe(1);
    expect(accuracy(logits, labels([0, 1, 2, 1]))).toBe(0.75); // the tie is not class 1
    expect(accuracy(logits, labels([1, 0, 0, 2]))).toBe(0);
    expect(accuracy(logits.slice(0, 0, 3), labels([0, 0, 2]))).toBe(2 / 3); // k/N rounded once
  });

  test("leading axes: logits [..., C] with labels [...]", () => {
    const logits = tensor([[[1, 0], [0, 1]], [[0, 1], [1, 0]]], { dtype: "float64" }); // [2, 2, 2]
    expect(accuracy(logits, labels([0, 1, 0, 0], [2, 2]))).toBe(0.75);
  });

  test("a NaN logit is the largest, so its class is predicted (docs/non-finite.md)", () => {
    expect(accuracy(tensor([[0, NaN, 1]]), labels([1]))).toBe(1);
    expect(accuracy(tensor([[0, NaN, 1]]), labels([2]))).toBe(0);
  });

  test("refusals name accuracy, the argument and the values", () => {
    const x = zeros([2, 3]);
    expect(() => accuracy(x, tensor([0, 1]))).toThrow(DTypeError);
    expect(() => accuracy(x, tensor([0, 1]))).toThrow(/^accuracy: labels must be int32 class indices of shape \[2\], got float32 of shape \[2\]$/);
    expect(() => accuracy(x, labels([0, 1, 2]))).toThrow(ShapeError);
    expect(() => accuracy(x, labels([0, 3]))).toThrow(IndexError);
    expect(() => accuracy(x, labels([0, 3]))).toThrow(/^accuracy: labels\[1\] = 3 is out of range \[0, 3\)$/);
    expect(() => accuracy(zeros([0, 3]), labels([]))).toThrow(ValueError);
    expect(() => accuracy(zeros([0, 3]), labels([]))).toThrow(/^accuracy: there are no examples/);
    expect(() => accuracy(labels([0, 1]), labels([0]))).toThrow(/^accuracy: logits must be float32 or float64, got int32$/);
    expect(() => accuracy(tensor(1), labels([]))).toThrow(/^accuracy: logits need a class axis/);
  });
});
