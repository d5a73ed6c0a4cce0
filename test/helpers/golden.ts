import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { Tensor, tensor } from "../../src/index.js";

/** One reference case, as described in test/fixtures/golden/README.md. */
export interface GoldenCase {
  name: string;
  fn: string;
  inputs: Record<string, { shape: number[]; data: (number | string)[] }>;
  options: Record<string, unknown>;
  output: { shape: number[]; data: (number | string)[] };
  upstream?: { shape: number[]; data: (number | string)[] };
  grads: Record<string, { shape: number[]; data: (number | string)[] }>;
}

const num = (v: number | string): number =>
  typeof v === "number" ? v : v === "Infinity" ? Infinity : v === "-Infinity" ? -Infinity : NaN;

export function loadGolden(file: string): GoldenCase[] {
  const path = fileURLToPath(new URL(`../fixtures/golden/${file}`, import.meta.url));
  return (JSON.parse(readFileSync(path, "utf8")) as { cases: GoldenCase[] }).cases;
}

/** Integer-valued inputs named target/labels become int32 class indices (unless the case says probabilities). */
export function goldenInput(c: GoldenCase, name: string): Tensor {
  const { shape, data } = c.inputs[name]!;
  const values = data.map(num);
  const isIndex = (name === "target" || name === "labels") && c.options.targetKind !== "probabilities" && c.fn !== "klDiv" && c.fn !== "mseLoss";
  return tensor(Float64Array.from(values), { shape, dtype: isIndex ? "int32" : "float64" });
}

export function decode(t: { shape: number[]; data: (number | string)[] }): { shape: number[]; data: number[] } {
  return { shape: t.shape, data: t.data.map(num) };
}

/**
 * The golden README's tolerance: |got − want| ≤ 1e-9·|want| + 1e-12·max(1, max|finite input|);
 * non-finite values must match exactly (NaN for NaN, ±∞ with its sign).
 */
export function expectGolden(got: Tensor, want: { shape: number[]; data: (number | string)[] }, scale: number, label: string): void {
  const w = decode(want);
  expect(got.shape, `${label}: shape`).toEqual(w.shape);
  const g = got.toFlatArray();
  for (let i = 0; i < w.data.length; i++) {
    const a = g[i]!;
    const b = w.data[i]!;
    if (!Number.isFinite(b)) {
      expect(Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b)), `${label}[${i}]: got ${a}, want ${b}`).toBe(true);
      continue;
    }
    const tol = 1e-9 * Math.abs(b) + 1e-12 * scale;
    expect(Math.abs(a - b) <= tol, `${label}[${i}]: got ${a}, want ${b} (tolerance ${tol})`).toBe(true);
  }
}

/** max(1, max |finite input|) over a case's float inputs. */
export function inputScale(c: GoldenCase): number {
  let m = 1;
  for (const v of Object.values(c.inputs)) for (const x of v.data.map(num)) if (Number.isFinite(x)) m = Math.max(m, Math.abs(x));
  return m;
}

/**
 * Run a case: call `run` with float64 leaves that require grad (index
 * tensors stay int32), backpropagate the case's upstream (or 1 for a scalar)
 * and compare output and every listed gradient.
 */
export function checkGoldenCase(
  c: GoldenCase,
  run: (inputs: Record<string, Tensor>) => Tensor,
  expected: { output: GoldenCase["output"]; grads: GoldenCase["grads"] } = c,
): void {
  const inputs: Record<string, Tensor> = {};
  for (const name of Object.keys(c.inputs)) {
    const t = goldenInput(c, name);
    if (t.dtype !== "int32" && name in expected.grads) t.requiresGrad_(true);
    inputs[name] = t;
  }
  const y = run(inputs);
  const scale = inputScale(c);
  expectGolden(y, expected.output, scale, `${c.name} output`);
  if (c.upstream) y.backward(tensor(Float64Array.from(decode(c.upstream).data), { shape: c.upstream.shape }));
  else y.backward();
  for (const [name, want] of Object.entries(expected.grads)) {
    const t = inputs[name]!;
    if (t.dtype === "int32") continue;
    const g = t.grad ?? new Tensor(new Float64Array(t.size), t.shape);
    expectGolden(g, want, scale, `${c.name} grad ${name}`);
  }
}
