/**
 * docs/testing.md is true as written: it holds examples/testing/custom-losses.test.ts verbatim
 * (which vitest.config.ts runs as a test file of its own, and test/package.test.ts runs in a
 * project outside the repository), and the outputs it quotes — assertClose's message and the
 * wrong backward's shrunk failure — are what the code prints.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { expect, test } from "vitest";
import { defineOp, gather, logSoftmax, mul, oneHot, softmax, sub, tensor, type Tensor } from "../../src/index.js";
import { assertClose } from "../../src/testing/index.js";
import { lossProperties } from "../../src/testing/fast-check.js";

const read = (p: string): string => readFileSync(fileURLToPath(new URL(p, import.meta.url)), "utf8");
const doc = read("../../docs/testing.md");

/** The ```text blocks of the doc, their indentation (inside a list item) removed. */
const textBlocks = [...doc.matchAll(/^( *)```text\n([\s\S]*?)^\1```/gm)].map((m) =>
  m[2]!.trimEnd().split("\n").map((l) => l.slice(m[1]!.length)).join("\n"));

const messageOf = (f: () => void): string => {
  try {
    f();
  } catch (e) {
    const cause = (e as Error).cause;
    return (e as Error).message + (cause === undefined ? "" : `\nCaused by: ${String(cause)}`);
  }
  throw new Error("expected a failure");
};

test("docs/testing.md holds examples/testing/custom-losses.test.ts verbatim", () => {
  expect(doc).toContain(read("../../examples/testing/custom-losses.test.ts").trimEnd());
});

test("the assertClose message the doc quotes is the one assertClose throws", () => {
  const quoted = textBlocks.find((b) => b.startsWith("assertClose:"))!;
  const message = messageOf(() => assertClose(
    tensor([[0, 1.001, 2], [3, 4, 5.5]], { dtype: "float64" }), tensor([[0, 1, 2], [3, 4, 5]], { dtype: "float64" }),
    { rtol: 1e-6, atol: 0, name: "logits.grad" }));
  expect(message).toBe(quoted);
});

test("the wrong backward's failure the doc quotes is what fast-check and gradcheck print", () => {
  // The example's fused focal loss, as it is there (the example module is a test file, so its
  // definitions are repeated here rather than imported).
  const focalLoss = (x: Tensor, labels: Tensor, gamma = 2): Tensor => {
    const logPy = gather(logSoftmax(x, -1), 1, labels.unsqueeze(1));
    return logPy.exp().neg().add(1).pow(gamma).mul(logPy).mean().neg();
  };
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
  expect(read("../../examples/testing/custom-losses.test.ts")).toContain(
    "return [mul(factor, sub(p, oneHot(labels, classes).to(p.dtype))).mul(g).div(batch), null];");
  const props = lossProperties(focalFusedWrong, { target: "labels", shiftInvariant: true, rowsSumToZero: true });
  const message = messageOf(() => fc.assert(props.gradient, { seed: 42 }));
  const quoted = textBlocks.find((b) => b.startsWith("Property failed"))!;
  for (const line of quoted.split("\n")) expect(message).toContain(line);
  // The doc's check: at q = 1/2 and γ = 2 the right ∂ℓ/∂z₀ is (2·¼·log ½ − ¼)·½ and the fused one −⅛.
  expect(message).toContain(`finite differences ${Number(((2 * 0.25 * Math.log(0.5) - 0.25) * 0.5).toPrecision(6))}`);
});
