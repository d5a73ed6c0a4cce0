import fc from "fast-check";
import { test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import {
  Generator, Tensor, concat, logSoftmax, logSumExp, matmul, max, min, randn, softmax, stack, tensor, gather,
  maximum, oneHot, argmax, sum, pow, sub, assertGradcheck, broadcastShapes,
} from "../../src/index.js";
import { broadcastPairArb, logitRows, shapeArb } from "../arbitraries.js";
import { expectClose } from "../helpers/close.js";

const seeded = (shape: number[], seed: number, scale = 1): Tensor =>
  randn(shape, { dtype: "float64", generator: new Generator(seed) }).mul(scale);

describe("softmax family", () => {
  test.prop([logitRows({ maxAbs: 1e4 })])("softmax rows sum to 1 and are finite for logits over ±1e4", (x) => {
    const p = softmax(x, -1);
    for (const v of p.toFlatArray()) expect(Number.isFinite(v) && v >= 0).toBe(true);
    for (const s of p.sum(-1).toFlatArray()) expect(Math.abs(s - 1)).toBeLessThan(1e-14);
  });

  test.prop([logitRows({ maxAbs: 1e4 }), fc.double({ min: -50, max: 50, noNaN: true })])(
    "logSoftmax ignores a constant added to every logit",
    (x, c) => expectClose(logSoftmax(x.add(c), -1), logSoftmax(x, -1), { rtol: 1e-12, atol: 1e-9 }),
  );

  test.prop([logitRows({ maxAbs: 1e4 }), fc.nat()])("logSoftmax gradient rows sum to 0 (any upstream)", (x, seed) => {
    const leaf = x.detach().requiresGrad_();
    const y = logSoftmax(leaf, -1);
    y.backward(seeded([...x.shape], seed));
    for (const s of leaf.grad!.sum(-1).toFlatArray()) expect(Math.abs(s)).toBeLessThan(1e-12 * 10);
  });

  test.prop([logitRows({ maxAbs: 1e4 })])("logSoftmax = x − logSumExp(x) and softmax = exp(logSoftmax)", (x) => {
    const lse = logSumExp(x, -1, true);
    expectClose(logSoftmax(x, -1), x.sub(lse), { rtol: 1e-15, atol: 1e-12 * 1e4 });
    // x − shift carries an absolute rounding error of about |x|·ε ≤ 1e4·ε, which
    // exp turns into a relative error of the same size.
    expectClose(softmax(x, -1), logSoftmax(x, -1).exp(), { rtol: 1e4 * 4 * Number.EPSILON, atol: 1e-300 });
  });

  test.prop([logitRows({ maxAbs: 30, minClasses: 3 }), fc.nat()])("masked classes (−∞) get probability 0 and finite gradients elsewhere", (x, seed) => {
    const rng = new Generator(seed);
    const data = x.copyData();
    const c = x.shape[1]!;
    for (let r = 0; r < x.shape[0]!; r++) data[r * c + rng.below(c - 1) + 1] = -Infinity;
    const leaf = tensor(data, { shape: x.shape }).requiresGrad_();
    const y = logSoftmax(leaf, -1);
    const g = seeded([...x.shape], seed);
    y.backward(g);
    const yv = y.toFlatArray();
    const gx = leaf.grad!.toFlatArray();
    const gv = g.toFlatArray();
    for (let i = 0; i < data.length; i++) {
      if (data[i] === -Infinity) {
        expect(yv[i]).toBe(-Infinity);
        expect(gx[i]).toBe(gv[i]); // dx = g − p·Σg with p = 0, as in PyTorch
      } else expect(Number.isFinite(yv[i]!) && Number.isFinite(gx[i]!)).toBe(true);
    }
    for (const v of softmax(leaf.detach(), -1).toFlatArray()) expect(Number.isFinite(v)).toBe(true);
  });
});

describe("matmul", () => {
  const naive = (a: number[][], b: number[][]): number[][] =>
    a.map((row) => b[0]!.map((_, j) => row.reduce((s, v, k) => s + v * b[k]![j]!, 0)));

  test.prop([fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 7 }), fc.nat()])(
    "2-D matmul equals the triple-loop definition",
    (n, k, m, seed) => {
      const a = seeded([n, k], seed);
      const b = seeded([k, m], seed + 1);
      expectClose(matmul(a, b).toFlatArray(), naive(a.toArray() as number[][], b.toArray() as number[][]).flat(), { rtol: 1e-13, atol: 1e-13 });
    },
  );

  test.prop([fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.nat()])("batched matmul broadcasts and equals per-batch products; 1-D rules", (n, k, seed) => {
    const a = seeded([3, 1, n, k], seed);
    const b = seeded([2, k, n], seed + 1);
    const c = matmul(a, b);
    expect(c.shape).toEqual([3, 2, n, n]);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 2; j++) {
      const ai = a.slice(0, i, i + 1).reshape(n, k);
      const bj = b.slice(0, j, j + 1).reshape(k, n);
      expectClose(c.slice(0, i, i + 1).slice(1, j, j + 1).reshape(n, n), matmul(ai, bj), { rtol: 1e-14, atol: 1e-14 });
    }
    const v = seeded([k], seed + 2);
    const w = seeded([k], seed + 3);
    expect(matmul(v, w).shape).toEqual([]);
    expectClose([matmul(v, w).item()], [v.mul(w).sum().item()], { rtol: 1e-14, atol: 1e-14 });
    expect(matmul(seeded([n, k], seed), v).shape).toEqual([n]);
    expect(matmul(v, seeded([k, n], seed)).shape).toEqual([n]);
  });
});

describe("broadcasting", () => {
  test.prop([broadcastPairArb(0, 4), fc.nat()])("a broadcast op equals the op on explicitly expanded inputs", ([sa, sb], seed) => {
    const a = seeded(sa, seed);
    const b = seeded(sb, seed + 1);
    const y = a.mul(b).add(a);
    const ea = a.expand(y.shape).contiguous();
    const eb = b.expand(y.shape).contiguous();
    expect(y.toFlatArray()).toEqual(ea.mul(eb).add(ea).toFlatArray());
  });

  test("a shape mismatch names the op and both shapes", () => {
    expect(() => seeded([4, 10], 0).add(seeded([4, 9], 0))).toThrow("add: cannot broadcast [4,10] with [4,9]");
  });
});

describe("reductions", () => {
  test.prop([shapeArb(1, 4), fc.nat()])("sum over a list of axes equals nested single-axis sums", (shape, seed) => {
    const x = seeded(shape, seed);
    const axes = shape.map((_, i) => i).filter((i) => (seed >> i) & 1);
    if (axes.length === 0) axes.push(0); // dim = [] is refused (docs/ops.md, Reductions)
    let nested = x;
    for (const a of [...axes].sort((p, q) => q - p)) nested = nested.sum(a);
    expectClose(x.sum(axes), nested, { rtol: 1e-13, atol: 1e-13 });
    expectClose(x.mean(axes, true).mul(axes.reduce((p, a) => p * shape[a]!, 1)), x.sum(axes, true), { rtol: 1e-13, atol: 1e-13 });
  });

  test("max/min split the gradient evenly between tied elements", () => {
    const x = tensor([[1, 3, 3], [2, 2, 2]], { dtype: "float64", requiresGrad: true });
    max(x, 1).backward(tensor([6, 6], { dtype: "float64" }));
    expect(x.grad!.toArray()).toEqual([[0, 3, 3], [2, 2, 2]]);
    const y = tensor([5, 1, 1], { dtype: "float64", requiresGrad: true });
    min(y).backward();
    expect(y.grad!.toFlatArray()).toEqual([0, 0.5, 0.5]);
    const a = tensor([1, 2], { dtype: "float64", requiresGrad: true });
    maximum(a, 2).sum().backward();
    expect(a.grad!.toFlatArray()).toEqual([0, 0.5]);
  });

  test("max/min propagate NaN; argmax takes the first maximum", () => {
    expect(Number.isNaN(max(tensor([1, NaN, 3])).item())).toBe(true);
    expect(argmax(tensor([[1, 5, 5], [7, 0, 7]]), 1).toFlatArray()).toEqual([1, 0]);
    expect(argmax(tensor([[1, 5], [9, 0]])).item()).toBe(2);
  });

  test.prop([logitRows({ maxAbs: 1e4 })])("logSumExp is finite for ±1e4 and handles −∞ rows like PyTorch", (x) => {
    for (const v of logSumExp(x, -1).toFlatArray()) expect(Number.isFinite(v)).toBe(true);
    expect(logSumExp(tensor([[-Infinity, -Infinity]]), 1).item()).toBe(-Infinity);
    expect(logSumExp(tensor([[Infinity, 0]]), 1).item()).toBe(Infinity);
  });
});

describe("indexing", () => {
  test("gather picks label logits and scatters its gradient back", () => {
    const x = tensor([[1, 2, 3], [4, 5, 6]], { dtype: "float64", requiresGrad: true });
    const idx = tensor([[2, 2], [0, 1]], { dtype: "int32" });
    const y = gather(x, 1, idx);
    expect(y.toArray()).toEqual([[3, 3], [4, 5]]);
    sum(y).backward();
    expect(x.grad!.toArray()).toEqual([[0, 0, 2], [1, 1, 0]]);
  });

  test("concat and stack join along an axis", () => {
    const a = tensor([[1, 2]]);
    const b = tensor([[3, 4], [5, 6]]);
    expect(concat([a, b], 0).toArray()).toEqual([[1, 2], [3, 4], [5, 6]]);
    expect(stack([a, a], 1).shape).toEqual([1, 2, 2]);
    expect(oneHot(tensor([0, 2], { dtype: "int32" }), 3).toArray()).toEqual([[1, 0, 0], [0, 0, 1]]);
  });
});

describe("empty reductions", () => {
  test("over one axis or several, sum of nothing is 0, mean is NaN, logSumExp is −∞", () => {
    for (const dims of [1, [1, 2]] as const) {
      const x = tensor(new Float64Array(0), { shape: [3, 0, 2] });
      const d = typeof dims === "number" ? dims : [...dims];
      expect(x.sum(d).toFlatArray().every((v) => v === 0)).toBe(true);
      expect(x.mean(d).toFlatArray().every((v) => Number.isNaN(v))).toBe(true);
      expect(logSumExp(x, d).toFlatArray().every((v) => v === -Infinity)).toBe(true);
    }
  });
});

describe("matmul on strided operands", () => {
  test.prop([fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), fc.nat(), fc.constantFrom("nn", "nt", "tn", "tt")])(
    "transposed views give the same product as contiguous copies (no-copy kernels)",
    (n, k, m, seed, form) => {
      const a = form[0] === "t" ? seeded([k, n], seed).T : seeded([n, k], seed);
      const b = form[1] === "t" ? seeded([m, k], seed + 1).T : seeded([k, m], seed + 1);
      expectClose(matmul(a, b), matmul(a.contiguous(), b.contiguous()), { rtol: 1e-14, atol: 1e-14 });
      expectClose(matmul(a.to("float32"), b.to("float32")), matmul(a, b), { rtol: 1e-5, atol: 1e-5 });
    },
  );
});

describe("scalar arguments", () => {
  test("pow with a number exponent, and numbers on either side of binary ops, are differentiable", () => {
    const x = tensor([[0.5, 1.5, 2]], { dtype: "float64", requiresGrad: true });
    assertGradcheck((t) => pow(t, 2.5), [x]);
    assertGradcheck((t) => pow(2, t), [x]);
    assertGradcheck((t) => sub(1, t).mul(3).div(t), [x]);
  });
});

describe("the arithmetic fast paths agree with the general broadcasting loop", () => {
  test.prop([broadcastPairArb(0, 4), fc.nat(), fc.constantFrom("add", "sub", "mul", "div" as const)])(
    "a ∘ b equals the same op on explicitly expanded copies, for every layout",
    ([sa, sb], seed, op) => {
      const a = seeded(sa, seed);
      const b = seeded(sb, seed + 1).add(op === "div" ? 3 : 0);
      const f = { add: (x: Tensor, y: Tensor) => x.add(y), sub: (x: Tensor, y: Tensor) => x.sub(y), mul: (x: Tensor, y: Tensor) => x.mul(y), div: (x: Tensor, y: Tensor) => x.div(y) }[op];
      const shape = broadcastShapes(sa, sb, "test");
      const ea = a.expand(shape).contiguous();
      const eb = b.expand(shape).contiguous();
      const want = ea.toFlatArray().map((v, i) => ({ add: v + eb.toFlatArray()[i]!, sub: v - eb.toFlatArray()[i]!, mul: v * eb.toFlatArray()[i]!, div: v / eb.toFlatArray()[i]! })[op]);
      expect(f(a, b).toFlatArray()).toEqual(want);
      if (a.ndim >= 2) expect(f(a.T.contiguous().T, b).toFlatArray()).toEqual(want); // a non-row-major view
    },
  );
});
