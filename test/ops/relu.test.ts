/**
 * relu at the ends of the float range and at signed zeros (issue #10, items 8 and 30).
 * The TypeScript kernel forms (v + |v|)/2 without a branch; v + |v| overflows for
 * v > 8.99e307, so relu(1.7e308) was ∞. float32 values are added in float64 there and the
 * WebAssembly kernel uses f32x4.max, so neither overflows; both are checked here too.
 */
import { afterAll, describe, expect, test } from "vitest";
import { getBackend, relu, setBackend, tensor, type Backend } from "../../src/index.js";
import { projectBackends } from "../helpers/backend.js";

const initial = getBackend();
afterAll(() => setBackend(initial));
// The project's backend (this file runs once per backend: vitest.config.ts).
const backends: Backend[] = projectBackends();

test("float64: relu keeps the largest finite values (it gave ∞ above 8.99e307), and its gradient passes there", () => {
  const big = [1.7e308, Number.MAX_VALUE, 9e307, 8.98e307, 5e-324];
  const x = tensor([...big, ...big.map((v) => -v), Infinity, -Infinity, NaN], { dtype: "float64", requiresGrad: true });
  const y = relu(x);
  const ys = y.toFlatArray();
  expect(ys.slice(0, big.length)).toEqual(big);
  expect(ys.slice(big.length, 2 * big.length + 2)).toEqual([0, 0, 0, 0, 0, Infinity, 0]);
  expect(Number.isNaN(ys[ys.length - 1]!)).toBe(true);
  y.backward(tensor(ys.map(() => 2), { dtype: "float64" }));
  expect(x.grad!.toFlatArray()).toEqual([2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 2, 0, 0]);
});

describe.each(backends)("float32 on the %s backend (8192 values, so the wasm kernel runs)", (backend) => {
  test("relu keeps float32's largest values, maps −∞ to 0 and NaN to NaN; the gradient passes only where y > 0", () => {
    setBackend(backend);
    const n = 8192;
    const special = [3.4e38, Math.fround(3.4028234663852886e38), -3.4e38, Infinity, -Infinity, NaN, 1e-45, -1e-45];
    const data = new Float32Array(n);
    data.set(special);
    const x = tensor(data, { requiresGrad: true });
    const y = relu(x);
    const ys = y.toFlatArray().slice(0, special.length);
    expect(ys.slice(0, 2)).toEqual([Math.fround(3.4e38), Math.fround(3.4028234663852886e38)]);
    expect(ys.slice(2, 5)).toEqual([0, Infinity, 0]);
    expect(Number.isNaN(ys[5]!)).toBe(true);
    expect(ys.slice(6)).toEqual([Math.fround(1e-45), 0]);
    const g = new Float32Array(n).fill(Infinity);
    y.backward(tensor(g));
    expect(x.grad!.toFlatArray().slice(0, special.length)).toEqual([Infinity, Infinity, 0, Infinity, 0, 0, Infinity, 0]);
  });

  test("relu(−0) is +0 on this backend (PyTorch returns −0; documented in docs/ops.md)", () => {
    setBackend(backend);
    const y = relu(tensor(new Float32Array(8192).fill(-0))).toFlatArray();
    expect(y.every((v) => Object.is(v, 0))).toBe(true);
    expect(Object.is(relu(tensor([-0], { dtype: "float64" })).item(), 0)).toBe(true);
  });
});
