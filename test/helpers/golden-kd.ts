import { expect } from "vitest";
import * as kd from "../../src/index.js";
import { Tensor, tensor } from "../../src/index.js";
import { decode, expectGolden, inputScale, loadGolden, type GoldenCase } from "./golden.js";

/**
 * The KD-zoo golden vectors (test/fixtures/golden/kd/README.md): PyTorch float64 values and
 * gradients for distillationLoss's divergences, DKD, DIST, NKD, WSLD, and the sparse and
 * linear distillation losses. A case is either a computation (output, grads, and an upstream
 * when the output is not a scalar) or a refusal ("error": the name of the error class).
 */
export interface KdCase {
  name: string;
  fn: string;
  inputs: GoldenCase["inputs"];
  options: Record<string, unknown>;
  output?: GoldenCase["output"];
  upstream?: GoldenCase["upstream"];
  grads?: GoldenCase["grads"];
  error?: string;
}

/** The cases of one file of test/fixtures/golden/kd/. */
export function loadKdGolden(file: string): KdCase[] {
  return loadGolden(`kd/${file}`) as unknown as KdCase[];
}

/** The integer inputs (README: "labels" and "indices") become int32; every other input is float64. */
const INTEGER_INPUTS = new Set(["labels", "indices"]);

/**
 * A case's inputs as tensors: int32 for labels and indices, float64 otherwise, and a float
 * input requires grad exactly when the case lists its gradient (a frozen teacher does not;
 * a tensor temperature listed in grads does).
 */
export function kdInputs(c: KdCase): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [name, v] of Object.entries(c.inputs)) {
    const { shape, data } = decode(v);
    const int = INTEGER_INPUTS.has(name);
    const x = tensor(Float64Array.from(data), { shape, dtype: int ? "int32" : "float64" });
    if (!int && c.grads !== undefined && name in c.grads) x.requiresGrad_(true);
    out[name] = x;
  }
  return out;
}

/**
 * Run one case: `run` gets the inputs (kdInputs) and the case's options, and returns the
 * loss. A refusal case must throw its error class (a kdgrad error of that name). Otherwise the
 * output and every listed gradient are compared at the README's tolerance,
 * |got − want| ≤ 1e-9·|want| + 1e-12·max(1, max |finite input|), after backpropagating the
 * case's upstream (or 1 for a scalar). A gradient the API leaves unset counts as zeros.
 */
export function checkKdCase(c: KdCase, run: (inputs: Record<string, Tensor>, options: Record<string, unknown>) => Tensor): void {
  const inputs = kdInputs(c);
  if (c.error !== undefined) {
    const cls = (kd as unknown as Record<string, unknown>)[c.error];
    expect(typeof cls, `${c.name}: ${c.error} is a kdgrad error class`).toBe("function");
    expect(() => run(inputs, c.options), c.name).toThrow(cls as new (...a: unknown[]) => Error);
    return;
  }
  const y = run(inputs, c.options);
  const scale = inputScale(c as unknown as GoldenCase);
  expectGolden(y, c.output!, scale, `${c.name} output`);
  if (c.upstream) y.backward(tensor(Float64Array.from(decode(c.upstream).data), { shape: c.upstream.shape }));
  else y.backward();
  for (const [name, want] of Object.entries(c.grads ?? {})) {
    const x = inputs[name]!;
    const g = x.grad ?? new Tensor(new Float64Array(x.size), x.shape);
    expectGolden(g, want, scale, `${c.name} grad ${name}`);
  }
}
