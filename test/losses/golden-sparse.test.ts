/**
 * The PyTorch float64 vectors for sparseDistillationLoss (test/fixtures/golden/kd/README.md:
 * format, tolerance; sparse_distillation_loss.json: 16 cases). `labels` and `indices` are int32,
 * every other input float64; the inputs listed in `grads` require grad; an error case must throw
 * a ValueError.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { Tensor, ValueError, sparseDistillationLoss, tensor, type SparseDistillationOptions } from "../../src/index.js";
import { decode, expectGolden } from "../helpers/golden.js";

interface KdCase {
  name: string;
  fn: string;
  inputs: Record<string, { shape: number[]; data: (number | string)[] }>;
  options: Record<string, unknown>;
  output?: { shape: number[]; data: (number | string)[] };
  upstream?: { shape: number[]; data: (number | string)[] };
  grads?: Record<string, { shape: number[]; data: (number | string)[] }>;
  error?: string;
}

const file = fileURLToPath(new URL("../fixtures/golden/kd/sparse_distillation_loss.json", import.meta.url));
const cases = (JSON.parse(readFileSync(file, "utf8")) as { cases: KdCase[] }).cases;

function inputsOf(c: KdCase): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [name, v] of Object.entries(c.inputs)) {
    const { shape, data } = decode(v);
    const int = name === "labels" || name === "indices";
    const t = tensor(Float64Array.from(data), { shape, dtype: int ? "int32" : "float64" });
    if (!int && c.grads !== undefined && name in c.grads) t.requiresGrad_(true);
    out[name] = t;
  }
  return out;
}

function run(c: KdCase, x: Record<string, Tensor>): Tensor {
  const options = { ...c.options } as SparseDistillationOptions;
  if (x.labels !== undefined) options.labels = x.labels;
  return sparseDistillationLoss(x.student!, x.indices!, x.logprobs!, options);
}

describe("sparseDistillationLoss: PyTorch golden vectors", () => {
  test("the file holds the 16 public cases, one of them an error", () => {
    expect(cases.length).toBe(16);
    expect(cases.every((c) => c.fn === "sparseDistillationLoss")).toBe(true);
    expect(cases.filter((c) => c.error !== undefined).length).toBe(1);
  });

  for (const c of cases) {
    test(c.name, () => {
      const x = inputsOf(c);
      if (c.error !== undefined) {
        expect(c.error).toBe("ValueError");
        expect(() => run(c, x)).toThrow(ValueError);
        return;
      }
      let scale = 1;
      for (const v of Object.values(c.inputs)) for (const z of decode(v).data) if (Number.isFinite(z)) scale = Math.max(scale, Math.abs(z));
      const y = run(c, x);
      expectGolden(y, c.output!, scale, `${c.name} output`);
      if (c.upstream) y.backward(tensor(Float64Array.from(decode(c.upstream).data), { shape: c.upstream.shape }));
      else y.backward();
      for (const [name, want] of Object.entries(c.grads ?? {})) {
        const t = x[name]!;
        const g = t.grad ?? new Tensor(new Float64Array(t.size), t.shape);
        expectGolden(g, want, scale, `${c.name} grad ${name}`);
      }
    });
  }
});
