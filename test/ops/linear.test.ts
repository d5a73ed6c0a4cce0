import { describe, expect, test } from "vitest";
import { Generator, ShapeError, linear, randn, setBackend, getBackend } from "../../src/index.js";
import { projectBackends } from "../helpers/backend.js";

describe("linear", () => {
  const g = new Generator(11);
  const W = randn([3, 4], { generator: g, dtype: "float64" });
  const b = randn([3], { generator: g, dtype: "float64" });

  test("is x·Wᵀ + b for 1-D, 2-D and 3-D inputs, with and without bias", () => {
    for (const shape of [[4], [5, 4], [2, 5, 4]]) {
      const x = randn(shape, { generator: g, dtype: "float64" });
      const want = x.matmul(W.T).add(b).toFlatArray();
      const got = linear(x, W, b);
      expect(got.shape).toEqual([...shape.slice(0, -1), 3]);
      got.toFlatArray().forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 12));
      const noBias = linear(x, W).toFlatArray();
      x.matmul(W.T).toFlatArray().forEach((v, i) => expect(noBias[i]).toBeCloseTo(v, 12));
    }
  });

  test("gradients agree with the unfused matmul + add in float32, on this project's backend", () => {
    const initial = getBackend();
    try {
      for (const backend of projectBackends()) {
        setBackend(backend);
        const x = randn([40, 32], { generator: g, dtype: "float32" });
        const w = randn([24, 32], { generator: g, dtype: "float32" });
        const bias = randn([24], { generator: g, dtype: "float32" });
        const up = randn([40, 24], { generator: g, dtype: "float32" });
        const leaves = [x, w, bias].map((t) => t.detach().requiresGrad_());
        linear(leaves[0]!, leaves[1]!, leaves[2]!).backward(up);
        const ref = [x, w, bias].map((t) => t.to("float64").detach().requiresGrad_());
        ref[0]!.matmul(ref[1]!.T).add(ref[2]!).backward(up.to("float64"));
        leaves.forEach((t, i) => {
          const want = ref[i]!.grad!.toFlatArray();
          const scale = Math.max(...want.map(Math.abs));
          t.grad!.toFlatArray().forEach((v, j) => expect(Math.abs(v - want[j]!)).toBeLessThanOrEqual(1e-5 * scale));
        });
      }
    } finally {
      setBackend(initial);
    }
  });

  test("checks shapes, naming them", () => {
    const x = randn([5, 4], { generator: g, dtype: "float64" });
    const f64 = { generator: g, dtype: "float64" } as const;
    expect(() => linear(x, randn([4], f64))).toThrow(ShapeError);
    expect(() => linear(x, randn([4], f64))).toThrow(/weight must be \[out, in\], got \[4\]/);
    expect(() => linear(randn([5, 3], f64), W)).toThrow(/input of shape \[5,3\] does not end in the weight's in = 4/);
    expect(() => linear(x, W, randn([4], f64))).toThrow(/bias must be \[3\] for weight \[3,4\], got \[4\]/);
  });
});
