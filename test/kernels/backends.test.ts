/**
 * What this project's backend computes in float32, against float64 on the
 * same inputs. The file runs once per registered backend (vitest.config.ts),
 * and in a backend other than "js" every float32 call of any size goes to
 * that backend's kernels (test/setup.ts), so the small shapes drawn here
 * exercise them too. Each backend is held to the same reference and
 * tolerance, so two backends that pass agree with each other to twice it;
 * where a kernel is exact (relu, plain SGD) the reference is its definition,
 * and every backend must match it bit for bit.
 */
import fc from "fast-check";
import { test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import {
  Generator, SGD, Tensor, distillationLoss, getBackend, gradients, linear, logSoftmax, randn, softmax, tensor,
} from "../../src/index.js";
import { kernel } from "../../src/kernels/registry.js";
import { jsKernels } from "../../src/kernels/js/index.js";
import { wasmBackend } from "../../src/kernels/wasm/index.js";
import { decode, loadGolden } from "../helpers/golden.js";
import { projectBackend } from "../helpers/backend.js";
import { logitRows } from "../arbitraries.js";

const backend = projectBackend();

/** Loss and both gradients of the fused loss on float32 copies. */
function run(s: Tensor, t: Tensor, options: Parameters<typeof distillationLoss>[2]): number[][] {
  const x = s.to("float32").detach().requiresGrad_();
  const y = t.to("float32").detach().requiresGrad_();
  const l = distillationLoss(x, y, options);
  expect(l.dtype).toBe("float32");
  l.backward();
  return [[l.item()], x.grad!.toFlatArray(), y.grad!.toFlatArray()];
}

/** The float64 kernel on the same (float32-rounded) inputs: the reference for every backend. */
function reference(s: Tensor, t: Tensor, options: Parameters<typeof distillationLoss>[2]): number[][] {
  const x = s.to("float32").to("float64").detach().requiresGrad_();
  const y = t.to("float32").to("float64").detach().requiresGrad_();
  const l = distillationLoss(x, y, options);
  l.backward();
  return [[l.item()], x.grad!.toFlatArray(), y.grad!.toFlatArray()];
}

/**
 * Every entry of `got` within `tol(want, i)` of `want` (non-finite: equal, NaN to NaN).
 * One assertion per array, naming the worst entry (an expect per entry costs more
 * than the kernels under test).
 */
function expectWithin(got: ArrayLike<number>, want: ArrayLike<number>, tol: (w: number, i: number) => number, label: string): void {
  expect(got.length, label).toBe(want.length);
  const bad: string[] = [];
  for (let i = 0; i < want.length; i++) {
    const v = got[i]!;
    const w = want[i]!;
    const ok = Number.isFinite(w) ? Math.abs(v - w) <= tol(w, i) : Object.is(v, w) || (Number.isNaN(v) && Number.isNaN(w));
    if (!ok && bad.length < 5) bad.push(`[${i}] ${v} vs ${w} (tolerance ${tol(w, i)})`);
  }
  expect(bad, `${label} on ${backend}`).toEqual([]);
}

/** float32 results within a few float32 ulps (relative 1e-6) of the reference, or a tiny absolute error. */
function expectNear(got: number[][], want: number[][], label: string): void {
  got.forEach((part, p) => expectWithin(part, want[p]!, (w) => 1e-6 * Math.abs(w) + 1e-9, `${label} part ${p}`));
}

test("the file runs under its project's backend, which takes every float32 call however small", () => {
  expect(getBackend()).toBe(backend);
  if (backend === "wasm") {
    expect(kernel("matmul", "float32", 1)).toBe(wasmBackend.kernels.matmul);
    expect(kernel("softmax", "float32", 1)).toBe(wasmBackend.kernels.softmax);
  } else {
    expect(kernel("matmul", "float32", 1e9)).toBe(jsKernels.matmul);
  }
  // float64 stays on TypeScript whatever the backend (gradchecks keep full precision).
  expect(kernel("matmul", "float64", 1e9)).toBe(jsKernels.matmul);
});

describe("the golden distillation inputs (float32)", () => {
  for (const c of loadGolden("distillation.json")) {
    test(c.name, () => {
      const s = tensor(Float64Array.from(decode(c.inputs.student!).data), { shape: c.inputs.student!.shape });
      const t = tensor(Float64Array.from(decode(c.inputs.teacher!).data), { shape: c.inputs.teacher!.shape });
      const labels = c.inputs.labels ? tensor(Int32Array.from(decode(c.inputs.labels).data), { shape: c.inputs.labels.shape }) : undefined;
      const options = { labels, temperature: c.options.temperature as number, alpha: c.options.alpha as number };
      expectNear(run(s, t, options), reference(s, t, options), c.name);
    });
  }
});

describe("distillation against float64", () => {
  test.prop([logitRows({ maxAbs: 1e4, maxClasses: 9 }), fc.nat(), fc.constantFrom(0.5, 1, 4, 1000), fc.constantFrom(0, 0.5, 1), fc.boolean()])(
    "on random logits up to ±1e4, odd and even class counts, with and without labels",
    (s, seed, T, alpha, labelled) => {
      const rng = new (class { x = seed; next() { this.x = (this.x * 1103515245 + 12345) >>> 0; return this.x / 2 ** 32; } })();
      const t = tensor(Float64Array.from({ length: s.size }, () => (2 * rng.next() - 1) * 1e4), { shape: s.shape });
      const labels = tensor(Int32Array.from({ length: s.shape[0]! }, () => Math.floor(rng.next() * s.shape[1]!)), { shape: [s.shape[0]!] });
      const options = labelled ? { labels, temperature: T, alpha } : { temperature: T };
      expectNear(run(s, t, options), reference(s, t, options), "random logits");
    },
  );

  test("T²·KL at T = 1000 in float32 is within 1e-6 of float64", () => {
    const s = tensor([[0.3, -1.2, 2.5, 0.7], [1.1, 0.2, -0.4, -2.2]]);
    const t = tensor([[-0.5, 0.9, 1.7, -1.3], [0.4, 2.1, -1.0, 0.0]]);
    const want = distillationLoss(s.to("float64"), t.to("float64"), { temperature: 1000 }).item();
    const got = distillationLoss(s, t, { temperature: 1000 }).item();
    expect(Math.abs(got - want) / want).toBeLessThan(1e-6);
  });
});

describe("matmul (float32)", () => {
  test.prop([
    fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), fc.nat(),
    fc.constantFrom("nn", "nt", "tn", "tt"), fc.constantFrom("2d", "batched", "broadcast"),
  ])(
    "agrees with the float64 product to float32 accuracy, for any shape (padding), transposed operands and batches",
    (n, k, m, seed, form, batching) => {
      const rng = new (class { x = seed; next() { this.x = (this.x * 1103515245 + 12345) >>> 0; return this.x / 2 ** 32 - 0.5; } })();
      const lead = batching === "2d" ? [] : [2];
      const make = (r: number, c: number, b: number[]): Tensor =>
        tensor(Float32Array.from({ length: b.reduce((x, y) => x * y, 1) * r * c }, () => rng.next()), { shape: [...b, r, c] });
      const a = form[0] === "t" ? make(k, n, lead).transpose(-2, -1) : make(n, k, lead);
      // "broadcast": b has no batch axis and is read for every batch of a.
      const bLead = batching === "batched" ? lead : [];
      const b = form[1] === "t" ? make(m, k, bLead).transpose(-2, -1) : make(k, m, bLead);
      const want = a.to("float64").matmul(b.to("float64")).toFlatArray();
      const got = a.matmul(b);
      expect(got.dtype).toBe("float32");
      expectWithin(got.toFlatArray(), want, () => 1e-6 * (k + 1), `matmul ${form} ${batching} [${n},${k},${m}]`);
    },
  );
});

describe("matmul (float32): the WebAssembly kernel's sums", () => {
  // wasm/kernels.ts, matmul: each entry is one float32 accumulator adding a·b for p ascending,
  // stored and reloaded between blocks of 256 values of p. So it must equal this loop bit for
  // bit, across those blocks (k = 256, 257, 600, 1000), in both orders of the blocks (m > n
  // goes by column panels, m ≤ n by rows), and with operands as they are and as transposed
  // views. The js kernel sums in float64 and is held to the float64 product above instead.
  test.runIf(backend === "wasm").each([
    [4, 256, 8], [5, 257, 9], [12, 600, 40], [40, 600, 12], [8, 1000, 24], [3, 513, 3],
  ])("n × k × m = %i × %i × %i: the sequential float32 sum, bit for bit", (n, k, m) => {
    const g = new Generator(n * 7919 + k);
    const a = randn([n, k], { generator: g, dtype: "float32" });
    const b = randn([k, m], { generator: g, dtype: "float32" });
    const A = a.data as Float32Array, B = b.data as Float32Array;
    const want = new Float32Array(n * m);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < m; j++) {
        let acc = 0;
        for (let p = 0; p < k; p++) acc = Math.fround(acc + Math.fround(A[i * k + p]! * B[p * m + j]!));
        want[i * m + j] = acc;
      }
    }
    expect(Array.from(a.matmul(b).data)).toEqual(Array.from(want));
    // Transposed views are transposed in WebAssembly (16 × 16 tiles of 4×4 blocks, and the
    // edges), an exact copy: the same bits.
    const aT = a.transpose(0, 1).contiguous().transpose(0, 1);
    const bT = b.transpose(0, 1).contiguous().transpose(0, 1);
    expect(Array.from(aT.matmul(bT).data)).toEqual(Array.from(want));
  });
});

describe("softmax and logSoftmax (float32 rows)", () => {
  const EPS32 = 2 ** -24;
  test.prop([fc.integer({ min: 1, max: 70 }), fc.integer({ min: 16, max: 90 }), fc.nat(), fc.constantFrom(1, 30, 1e4), fc.boolean()])(
    "forward and backward agree with float64 on the same inputs, to float32 accuracy; masked classes stay exact",
    (rows, C, seed, scale, masked) => {
      const rng = new (class { x = seed; next() { this.x = (this.x * 1103515245 + 12345) >>> 0; return this.x / 2 ** 32; } })();
      const data = Float32Array.from({ length: rows * C }, () => (2 * rng.next() - 1) * scale);
      if (masked) for (let r = 0; r < rows; r++) data[r * C + Math.floor(rng.next() * C)] = -Infinity;
      const x = tensor(data, { shape: [rows, C] });
      const g = tensor(Float32Array.from({ length: rows * C }, () => 2 * rng.next() - 1), { shape: [rows, C] });
      for (const op of ["logSoftmax", "softmax"] as const) {
        const ref = x.to("float64").detach().requiresGrad_();
        const y64 = ref[op](-1);
        y64.backward(g.to("float64"));
        const leaf = x.detach().requiresGrad_();
        const y = leaf[op](-1);
        y.backward(g);
        // logSoftmax: x − shift rounds at the size of |x| + |shift|; softmax: a few ulps of p.
        const tol = op === "logSoftmax"
          ? (w: number, i: number) => 4 * EPS32 * (Math.abs(data[i]!) + Math.abs(data[i]! - w))
          : (w: number) => 8 * EPS32 * w + 1e-40;
        expectWithin(y.toFlatArray(), y64.toFlatArray(), tol, `${op} [${rows},${C}]`);
        expectWithin(leaf.grad!.toFlatArray(), ref.grad!.toFlatArray(), (w) => 1e-5 * (1 + Math.abs(w)), `${op} gradient [${rows},${C}]`);
      }
    },
  );

  test("an all −∞ row is NaN, as in PyTorch", () => {
    const x = tensor(Float32Array.from({ length: 32 * 40 }, (_, i) => (i < 40 ? -Infinity : Math.sin(i))), { shape: [32, 40] });
    expect(Number.isNaN(x.logSoftmax(-1).at(0, 3))).toBe(true);
    expect(Number.isNaN(x.softmax(-1).at(0, 3))).toBe(true);
    expect(Number.isFinite(x.softmax(-1).at(1, 3))).toBe(true);
  });
});

describe("exact kernels match their definition bit for bit (float32, above the default WebAssembly threshold)", () => {
  const n = 5003;
  const rng = (seed: number): (() => number) => {
    let x = seed;
    return () => {
      x = (x * 1103515245 + 12345) >>> 0;
      return x / 2 ** 32 - 0.5;
    };
  };

  test("relu and its backward, with NaN, ±0 and ±∞ inputs and non-finite upstream gradients", () => {
    const next = rng(5);
    const data = Float32Array.from({ length: n }, () => next());
    data.set([NaN, -0, 0, Infinity, -Infinity], 0);
    const up = Float32Array.from({ length: n }, () => next());
    up.set([1, Infinity, NaN, 2, NaN], 0); // NaN and ∞ upstream where y ≤ 0 must give exactly 0
    const x = tensor(data, { shape: [n] }).requiresGrad_();
    const y = x.relu();
    y.backward(tensor(up, { shape: [n] }));
    const got = { y: y.toFlatArray(), g: x.grad!.toFlatArray() };
    expect(got.y.slice(0, 5)).toEqual([NaN, 0, 0, Infinity, 0]);
    expect(Object.is(got.y[1], 0)).toBe(true);
    expect(got.g.slice(0, 5)).toEqual([0, 0, 0, 2, 0]);
    // relu(v) = v > 0 ? v : (NaN stays NaN, else +0); the slope is 1 where y > 0, else exactly 0.
    const wantY = Array.from(data, (v) => (v > 0 ? v : Number.isNaN(v) ? NaN : 0));
    const wantG = Array.from(data, (v, i) => (v > 0 ? up[i]! : 0));
    const bad = wantY.flatMap((w, i) => (Object.is(got.y[i], w) && Object.is(got.g[i], wantG[i]) ? [] : [i])).slice(0, 5);
    expect(bad, `relu entries that differ from the definition on ${backend}`).toEqual([]);
  });

  test("an SGD step: θ − lr·g in float64, rounded once", () => {
    const next = rng(9);
    const theta0 = Float32Array.from({ length: n }, () => next());
    const grad = Float32Array.from({ length: n }, () => next());
    const p = tensor(theta0.slice(), { shape: [n] }).requiresGrad_();
    p.grad = tensor(grad, { shape: [n] });
    new SGD([p], { lr: 0.037 }).step();
    const got = p.toFlatArray();
    const bad = got.flatMap((v, i) => (v === Math.fround(theta0[i]! - 0.037 * grad[i]!) ? [] : [i])).slice(0, 5);
    expect(bad, `SGD entries that differ from the definition on ${backend}`).toEqual([]);
  });

  test.each(["contiguous", "transposed view"])("linear (x·Wᵀ + b, x %s) and its gradients match float64 to float32 accuracy; the bias gradient is the float64 column sums", (layout) => {
    const next = rng(13);
    const make = (r: number, c: number): Tensor => tensor(Float32Array.from({ length: r * c }, () => next()), { shape: [r, c] });
    const x = layout === "contiguous" ? make(70, 65) : make(65, 70).T;
    const w = make(33, 65);
    const b = tensor(Float32Array.from({ length: 33 }, () => next()), { shape: [33] });
    const up = make(70, 33);
    const ref = [x, w, b].map((t) => t.to("float64").detach().requiresGrad_());
    const y64 = linear(ref[0]!, ref[1]!, ref[2]!);
    y64.backward(up.to("float64"));
    const leaves = [x, w, b].map((t) => t.detach().requiresGrad_());
    const y = linear(leaves[0]!, leaves[1]!, leaves[2]!);
    y.backward(up);
    expectWithin(y.toFlatArray(), y64.toFlatArray(), () => 1e-6 * 66, "linear y");
    leaves.forEach((t, j) => expectWithin(t.grad!.toFlatArray(), ref[j]!.grad!.toFlatArray(), () => 1e-6 * 71, `linear gradient ${j}`));
    const sums = Array.from({ length: 33 }, (_, jj) => {
      let acc = 0;
      for (let r = 0; r < 70; r++) acc += up.data[r * 33 + jj]!;
      return Math.fround(acc);
    });
    expect(leaves[2]!.grad!.toFlatArray()).toEqual(sums);
  });
});

describe("second order: float32 Hessian-vector products agree with float64 (the fused backward kernels run inside a recorded backward)", () => {
  /** Hv for f at x, by differentiating ⟨∇f, v⟩ once more. */
  const hvp = (f: (x: Tensor) => Tensor, x0: Tensor, v: Tensor): number[] => {
    const x = x0.detach().requiresGrad_();
    const [gx] = gradients([f(x)], [x], [], { createGraph: true });
    const [h] = gradients([gx!.mul(v).sum()], [x]);
    return h!.toFlatArray();
  };
  const g = new Generator(21);
  const x = randn([8, 40], { generator: g, dtype: "float64" }).mul(3);
  const v = randn([8, 40], { generator: g, dtype: "float64" });
  const up = randn([8, 40], { generator: g, dtype: "float64" });
  const w = randn([24, 40], { generator: g, dtype: "float64" }).mul(0.2);
  const b = randn([24], { generator: g, dtype: "float64" });
  const upL = randn([8, 24], { generator: g, dtype: "float64" });
  const cases: [string, (dtype: "float32" | "float64") => (t: Tensor) => Tensor][] = [
    ["logSoftmax", (d) => (t) => logSoftmax(t, -1).mul(up.to(d)).sum()],
    ["softmax", (d) => (t) => softmax(t, -1).mul(up.to(d)).sum()],
    // softmax after linear: linear alone is affine in x (no Hessian); through softmax its second-order rule runs.
    ["linear → softmax", (d) => (t) => softmax(linear(t, w.to(d), b.to(d)), -1).mul(upL.to(d)).sum()],
  ];
  test.each(cases)("%s", (_, make) => {
    const want = hvp(make("float64"), x, v);
    const got = hvp(make("float32"), x.to("float32"), v.to("float32"));
    const scale = Math.max(...want.map(Math.abs));
    const worst = Math.max(...got.map((y, i) => Math.abs(y - want[i]!)));
    expect(worst).toBeLessThanOrEqual(1e-5 * scale);
  });
});
