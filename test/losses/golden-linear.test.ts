/**
 * The PyTorch float64 vectors for linearDistillationLoss (test/fixtures/golden/kd/README.md:
 * format, tolerance; linear_distillation_loss.json: 8 cases). Inputs listed in `grads` require
 * grad; `labels` is int32. Each case runs with its own chunkRows (or the default) and again in
 * chunks of 1, 4 and 5 rows (of 6): chunkRows must not change any number beyond the tolerance.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { Tensor, linearDistillationLoss, tensor, type LinearDistillationOptions } from "../../src/index.js";
import { decode, expectGolden } from "../helpers/golden.js";

interface KdCase {
  name: string;
  fn: string;
  inputs: Record<string, { shape: number[]; data: (number | string)[] }>;
  options: Record<string, unknown>;
  output?: { shape: number[]; data: (number | string)[] };
  upstream?: { shape: number[]; data: (number | string)[] };
  grads?: Record<string, { shape: number[]; data: (number | string)[] }>;
}

const file = fileURLToPath(new URL("../fixtures/golden/kd/linear_distillation_loss.json", import.meta.url));
const cases = (JSON.parse(readFileSync(file, "utf8")) as { cases: KdCase[] }).cases;

function inputsOf(c: KdCase): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [name, v] of Object.entries(c.inputs)) {
    const { shape, data } = decode(v);
    const int = name === "labels";
    const t = tensor(Float64Array.from(data), { shape, dtype: int ? "int32" : "float64" });
    if (!int && c.grads !== undefined && name in c.grads) t.requiresGrad_(true);
    out[name] = t;
  }
  return out;
}

describe("linearDistillationLoss: PyTorch golden vectors", () => {
  test("the file holds the 8 public cases, every one with gradients of all four matrices", () => {
    expect(cases.length).toBe(8);
    expect(cases.every((c) => c.fn === "linearDistillationLoss" && Object.keys(c.grads ?? {}).length === 4)).toBe(true);
  });

  for (const c of cases) {
    for (const chunkRows of [undefined, 1, 4, 5]) {
      test(`${c.name}${chunkRows === undefined ? "" : ` in chunks of ${chunkRows}`}`, () => {
        const x = inputsOf(c);
        let scale = 1;
        for (const v of Object.values(c.inputs)) for (const z of decode(v).data) if (Number.isFinite(z)) scale = Math.max(scale, Math.abs(z));
        const options = { ...c.options } as LinearDistillationOptions;
        if (chunkRows !== undefined) options.chunkRows = chunkRows;
        if (x.labels !== undefined) options.labels = x.labels;
        const y = linearDistillationLoss(x.hidden!, x.weight!, x.teacherHidden!, x.teacherWeight!, options);
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
  }
});
