// Property tests of two custom losses with kdgrad/testing, fast-check and vitest
// (docs/testing.md walks through this file; kdgrad's test suite runs it as written).
import fc from "fast-check";
import { expect, test } from "vitest";
import { Tensor, crossEntropy, defineOp, gather, klDiv, logSoftmax, mul, oneHot, softmax, sub, tensor } from "kdgrad";
import { assertClose } from "kdgrad/testing";
import { lossProperties, logits, temperatures } from "kdgrad/testing/fast-check";
import "kdgrad/testing/vitest";

// ---- 1. A symmetric KL for distillation: T²·½·(KL(p ‖ q) + KL(q ‖ p)), batchmean.
export function symmetricKl(student: Tensor, teacher: Tensor, temperature: number): Tensor {
  const logPs = logSoftmax(student.div(temperature), -1);
  const logPt = logSoftmax(teacher.div(temperature), -1);
  const forward = klDiv(logPs, logPt, { logTarget: true }); // KL(p ‖ q)
  const reverse = klDiv(logPt, logPs, { logTarget: true }); // KL(q ‖ p)
  return forward.add(reverse).mul(0.5 * temperature * temperature);
}

const symmetric = lossProperties(symmetricKl, {
  target: "logits",
  shiftInvariant: true,
  rowsSumToZero: true,
  targetGradient: true,
  temperatureLaw: { constant: 4.75 }, // derived in docs/testing.md
});

for (const [name, property] of Object.entries(symmetric)) {
  test(`symmetricKl: ${name}`, () => fc.assert(property!));
}

test("symmetricKl is symmetric in student and teacher", () => {
  fc.assert(fc.property(logits({ shape: [3, 5] }), logits({ shape: [3, 5] }), temperatures({ min: 0.1, max: 100 }), (s, t, T) => {
    assertClose(symmetricKl(s, t, T), symmetricKl(t, s, T), { rtol: 1e-12, atol: 1e-15 });
  }));
});

// ---- 2. A focal loss: mean over rows of −(1 − q_y)^γ · log q_y, q = softmax(logits).
export function focalLoss(logitsIn: Tensor, labels: Tensor, gamma = 2): Tensor {
  const logPy = gather(logSoftmax(logitsIn, -1), 1, labels.unsqueeze(1)); // log q_y, [B, 1]
  const factor = logPy.exp().neg().add(1).pow(gamma); // (1 − q_y)^γ
  return factor.mul(logPy).mean().neg();
}

// An independent reference: cross-entropy per row is −log q_y, so q_y = exp(−ce).
function focalReference(x: Tensor, labels: Tensor): Tensor {
  const ce = crossEntropy(x, labels, { reduction: "none" });
  return ce.neg().exp().neg().add(1).pow(2).mul(ce).mean();
}

const focal = lossProperties((x, y) => focalLoss(x, y), {
  target: "labels",
  shiftInvariant: true,
  rowsSumToZero: true,
  reference: focalReference,
});

for (const [name, property] of Object.entries(focal)) {
  test(`focalLoss: ${name}`, () => fc.assert(property!));
}

test("focalLoss with γ = 0 is cross-entropy", () => {
  const props = lossProperties((x, y) => focalLoss(x, y, 0), { target: "labels", reference: (x, y) => crossEntropy(x, y) });
  fc.assert(props.reference!);
});

// ---- 3. A fused focal loss whose hand-written backward is wrong: it treats the factor
// (1 − q_y)^γ as a constant, so its gradient is (1 − q_y)^γ·(q − onehot(y))/B.
const focalFusedWrong = defineOp({
  name: "focalFusedWrong",
  forward(ctx, x: Tensor, labels: Tensor) {
    ctx.save({ p: softmax(x, -1), labels });
    return focalLoss(x, labels);
  },
  backward(ctx, g: Tensor) {
    const { p, labels } = ctx.saved as { p: Tensor; labels: Tensor };
    const [batch, classes] = p.shape as [number, number];
    const factor = gather(p, 1, labels.unsqueeze(1)).neg().add(1).pow(2);
    return [mul(factor, sub(p, oneHot(labels, classes).to(p.dtype))).mul(g).div(batch), null];
  },
});

test("the wrong backward is caught, and shrunk to one row of two zero logits", () => {
  const props = lossProperties(focalFusedWrong, { target: "labels", shiftInvariant: true, rowsSumToZero: true });
  fc.assert(props.shiftInvariance!); // the value is right,
  fc.assert(props.rowsSumToZero!); //   and its gradient rows still sum to 0,
  expect(() => fc.assert(props.gradient, { seed: 42 })).toThrow(
    'Counterexample: [{"logits":tensor([[0,0]], { dtype: "float64" }),"target":tensor([0], { dtype: "int32" }),"temperature":1}]',
  ); // but finite differences disagree with it.
  // At that counterexample the matcher says by how much:
  const x = tensor([[0, 0]], { dtype: "float64", requiresGrad: true });
  const y = tensor([0], { dtype: "int32" });
  expect((t: Tensor) => focalFusedWrong(t, y)).not.toHaveCorrectGradients([x]);
  expect((t: Tensor) => focalLoss(t, y)).toHaveCorrectGradients([x], { order: 2 });
});
