/**
 * The numbers docs/distillation.md quotes in its worked examples, recomputed by kdgrad in
 * float64: the text is read, not copied here, so a wrong number in the doc fails.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";
import { distillationLoss, tensor } from "../../src/index.js";

const doc = readFileSync(fileURLToPath(new URL("../../docs/distillation.md", import.meta.url)), "utf8").replace(/\s+/g, " ");

/** T²·KL(softmax(t/T) ‖ softmax(s/T)) for one row, and its student gradient. */
function soft(s: number[], t: number[], temperature: number): { loss: number; grad: number[] } {
  const student = tensor([s], { dtype: "float64", requiresGrad: true });
  const loss = distillationLoss(student, tensor([t], { dtype: "float64" }), { temperature, alpha: 1 });
  loss.backward();
  return { loss: loss.item(), grad: student.grad!.toFlatArray() };
}

test("the T → 0 example: T²·KL and the gradient sizes for agreeing argmaxes are what the doc says", () => {
  const m = /\(j = k = 1\), T²·KL is (\S+), (\S+) and (\S+), and the student gradient T·\(q − p\) has entries of at most (\S+), (\S+) and (\S+) \(its smallest, (\S+) at T = 0\.01/
    .exec(doc);
  expect(m, "docs/distillation.md: the worked T → 0 example").not.toBe(null);
  const quoted = m!.slice(1).map((x) => Number(x.replace(/[,.]$/, "")));
  const s = [1, 3, 2, 0], t = [0, 4, 1, 2];
  [0.3, 0.1, 0.01].forEach((T, i) => {
    const { loss, grad } = soft(s, t, T);
    expect(loss / quoted[i]!, `T²·KL at T = ${T}`).toBeCloseTo(1, 1);
    const largest = Math.max(...grad.map(Math.abs));
    expect(largest / quoted[3 + i]!, `largest gradient entry at T = ${T}`).toBeCloseTo(1, 1);
    if (T === 0.01) expect(Math.min(...grad.map(Math.abs)) / quoted[6]!, "smallest gradient entry").toBeCloseTo(1, 1);
  });
});

test("the T → 0 example: T·KL for differing argmaxes tends to s_k − s_j = 1", () => {
  const m = /T·KL is (\S+), (\S+) and (\S+) at T = 0\.3, 0\.1 and 0\.01/.exec(doc);
  expect(m).not.toBe(null);
  [0.3, 0.1, 0.01].forEach((T, i) => {
    const { loss } = soft([1, 3, 2, 0], [0, 1, 4, 2], T);
    expect(Math.abs(loss / T - Number(m![i + 1]))).toBeLessThan(1e-4);
  });
});
