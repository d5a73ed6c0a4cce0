import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { test } from "@fast-check/vitest";
import { afterAll, describe, expect } from "vitest";
import { SGD, Tensor, distillationLoss, getBackend, linear, setBackend, tensor, wasmAvailable, type Backend } from "../../src/index.js";
import { decode, loadGolden } from "../helpers/golden.js";
import { logitRows } from "../arbitraries.js";

const initial = getBackend();
afterAll(() => setBackend(initial));

/** Loss and both gradients of the fused loss on float32 copies, under one backend. */
function run(backend: Backend, s: Tensor, t: Tensor, options: Parameters<typeof distillationLoss>[2]): number[][] {
  setBackend(backend);
  const x = s.to("float32").detach().requiresGrad_();
  const y = t.to("float32").detach().requiresGrad_();
  const l = distillationLoss(x, y, options);
  expect(l.dtype).toBe("float32");
  l.backward();
  return [[l.item()], x.grad!.toFlatArray(), y.grad!.toFlatArray()];
}

/** The float64 kernel on the same (float32-rounded) inputs: the reference for both backends. */
function reference(s: Tensor, t: Tensor, options: Parameters<typeof distillationLoss>[2]): number[][] {
  const x = s.to("float32").to("float64").detach().requiresGrad_();
  const y = t.to("float32").to("float64").detach().requiresGrad_();
  const l = distillationLoss(x, y, options);
  l.backward();
  return [[l.item()], x.grad!.toFlatArray(), y.grad!.toFlatArray()];
}

/** float32 results within a few float32 ulps (relative 1e-6) of the reference, or a tiny absolute error; non-finite exactly. */
function expectNear(got: number[][], want: number[][], label: string): void {
  got.forEach((part, p) => part.forEach((v, i) => {
    const w = want[p]![i]!;
    if (!Number.isFinite(w)) {
      expect(Object.is(v, w) || (Number.isNaN(v) && Number.isNaN(w)), `${label} part ${p}[${i}]: ${v} vs ${w}`).toBe(true);
    } else {
      expect(Math.abs(v - w) <= 1e-6 * Math.abs(w) + 1e-9, `${label} part ${p}[${i}]: ${v} vs ${w}`).toBe(true);
    }
  }));
}

const backends: Backend[] = wasmAvailable() ? ["js", "wasm"] : ["js"];

describe("both backends on the golden distillation inputs (float32)", () => {
  test("WebAssembly SIMD is available in Node (so both backends are exercised here)", () => {
    expect(wasmAvailable()).toBe(true);
  });

  for (const c of loadGolden("distillation.json")) {
    for (const backend of backends) {
      test(`${c.name} [${backend}]`, () => {
        const s = tensor(Float64Array.from(decode(c.inputs.student!).data), { shape: c.inputs.student!.shape });
        const t = tensor(Float64Array.from(decode(c.inputs.teacher!).data), { shape: c.inputs.teacher!.shape });
        const labels = c.inputs.labels ? tensor(Int32Array.from(decode(c.inputs.labels).data), { shape: c.inputs.labels.shape }) : undefined;
        const options = { labels, temperature: c.options.temperature as number, alpha: c.options.alpha as number };
        expectNear(run(backend, s, t, options), reference(s, t, options), `${c.name} ${backend}`);
      });
    }
  }
});

describe("the backends agree", () => {
  test.prop([logitRows({ maxAbs: 1e4, maxClasses: 9 }), fc.nat(), fc.constantFrom(0.5, 1, 4, 1000), fc.constantFrom(0, 0.5, 1), fc.boolean()])(
    "on random logits up to ±1e4, odd and even class counts, with and without labels",
    (s, seed, T, alpha, labelled) => {
      const rng = new (class { x = seed; next() { this.x = (this.x * 1103515245 + 12345) >>> 0; return this.x / 2 ** 32; } })();
      const t = tensor(Float64Array.from({ length: s.size }, () => (2 * rng.next() - 1) * 1e4), { shape: s.shape });
      const labels = tensor(Int32Array.from({ length: s.shape[0]! }, () => Math.floor(rng.next() * s.shape[1]!)), { shape: [s.shape[0]!] });
      const options = labelled ? { labels, temperature: T, alpha } : { temperature: T };
      const want = reference(s, t, options);
      for (const backend of backends) expectNear(run(backend, s, t, options), want, backend);
    },
  );

  test("T²·KL at T = 1000 in float32 is within 1e-6 of float64 on both backends", () => {
    const s = tensor([[0.3, -1.2, 2.5, 0.7], [1.1, 0.2, -0.4, -2.2]]);
    const t = tensor([[-0.5, 0.9, 1.7, -1.3], [0.4, 2.1, -1.0, 0.0]]);
    const want = distillationLoss(s.to("float64"), t.to("float64"), { temperature: 1000 }).item();
    for (const backend of backends) {
      setBackend(backend);
      const got = distillationLoss(s, t, { temperature: 1000 }).item();
      expect(Math.abs(got - want) / want).toBeLessThan(1e-6);
    }
  });
});

describe("selection", () => {
  test("setBackend checks its argument; js is always available", () => {
    expect(() => setBackend("gpu" as Backend)).toThrow(/setBackend: backend must be "wasm" or "js", got "gpu"/);
    setBackend("js");
    expect(getBackend()).toBe("js");
  });

  test("the committed WebAssembly module matches a fresh compile of wasm/kernels.ts", () => {
    const script = fileURLToPath(new URL("../../scripts/build-wasm.mjs", import.meta.url));
    expect(execFileSync(process.execPath, [script, "--check"], { encoding: "utf8" })).toContain("matches a fresh compile");
  });
});

describe("matmul on both backends (float32)", () => {
  test.prop([fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), fc.nat(), fc.constantFrom("nn", "nt", "tn", "tt")])(
    "agrees with the float64 product to float32 accuracy, for any shape (padding) and transposed operands",
    (n, k, m, seed, form) => {
      const rng = new (class { x = seed; next() { this.x = (this.x * 1103515245 + 12345) >>> 0; return this.x / 2 ** 32 - 0.5; } })();
      const make = (r: number, c: number): Tensor => tensor(Float32Array.from({ length: r * c }, () => rng.next()), { shape: [r, c] });
      const a = form[0] === "t" ? make(k, n).T : make(n, k);
      const b = form[1] === "t" ? make(m, k).T : make(k, m);
      const want = a.to("float64").matmul(b.to("float64")).toFlatArray();
      for (const backend of backends) {
        setBackend(backend);
        const got = a.matmul(b);
        expect(got.dtype).toBe("float32");
        got.toFlatArray().forEach((v, i) => expect(Math.abs(v - want[i]!), `${backend} [${i}]`).toBeLessThanOrEqual(1e-6 * (k + 1)));
      }
    },
  );
});

describe("softmax and logSoftmax on both backends (float32 rows)", () => {
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
        const want = y64.toFlatArray();
        const wantGrad = ref.grad!.toFlatArray();
        for (const backend of backends) {
          setBackend(backend);
          const leaf = x.detach().requiresGrad_();
          const y = leaf[op](-1);
          y.backward(g);
          const got = y.toFlatArray();
          const gotGrad = leaf.grad!.toFlatArray();
          got.forEach((v, i) => {
            const w = want[i]!;
            if (!Number.isFinite(w)) return expect(v, `${op} ${backend} [${i}]`).toBe(w);
            // logSoftmax: x − shift rounds at the size of |x| + |shift|; softmax: a few ulps of p.
            const tol = op === "logSoftmax" ? 4 * EPS32 * (Math.abs(data[i]!) + Math.abs(data[i]! - w)) : 8 * EPS32 * w + 1e-40;
            expect(Math.abs(v - w) <= tol, `${op} ${backend} [${i}]: ${v} vs ${w}`).toBe(true);
          });
          gotGrad.forEach((v, i) => {
            const w = wantGrad[i]!;
            expect(Math.abs(v - w) <= 1e-5 * (1 + Math.abs(w)), `${op} grad ${backend} [${i}]: ${v} vs ${w}`).toBe(true);
          });
        }
      }
    },
  );

  test("an all −∞ row is NaN on both backends, as in PyTorch", () => {
    const x = tensor(Float32Array.from({ length: 32 * 40 }, (_, i) => (i < 40 ? -Infinity : Math.sin(i))), { shape: [32, 40] });
    for (const backend of backends) {
      setBackend(backend);
      expect(Number.isNaN(x.logSoftmax(-1).at(0, 3))).toBe(true);
      expect(Number.isNaN(x.softmax(-1).at(0, 3))).toBe(true);
      expect(Number.isFinite(x.softmax(-1).at(1, 3))).toBe(true);
    }
  });
});

describe("element-wise kernels on both backends (float32, above the WebAssembly threshold)", () => {
  const n = 5003;
  const rng = (seed: number): (() => number) => {
    let x = seed;
    return () => {
      x = (x * 1103515245 + 12345) >>> 0;
      return x / 2 ** 32 - 0.5;
    };
  };

  test("relu and its backward agree bit for bit, with NaN, ±0 and ±∞ inputs and non-finite upstream gradients", () => {
    const next = rng(5);
    const data = Float32Array.from({ length: n }, () => next());
    data.set([NaN, -0, 0, Infinity, -Infinity], 0);
    const up = Float32Array.from({ length: n }, () => next());
    up.set([1, Infinity, NaN, 2, NaN], 0); // NaN and ∞ upstream where y ≤ 0 must give exactly 0
    const results = backends.map((backend) => {
      setBackend(backend);
      const x = tensor(data, { shape: [n] }).requiresGrad_();
      const y = x.relu();
      y.backward(tensor(up, { shape: [n] }));
      return { y: y.toFlatArray(), g: x.grad!.toFlatArray() };
    });
    const [js, other] = [results[0]!, results[results.length - 1]!];
    expect(js.y.slice(0, 5)).toEqual([NaN, 0, 0, Infinity, 0]);
    expect(Object.is(js.y[1], 0)).toBe(true);
    expect(js.g.slice(0, 5)).toEqual([0, 0, 0, 2, 0]);
    js.y.forEach((v, i) => expect(Object.is(v, other.y[i]), `y[${i}]`).toBe(true));
    js.g.forEach((v, i) => expect(Object.is(v, other.g[i]), `g[${i}]`).toBe(true));
    // And each is the definition, element by element.
    data.forEach((v, i) => expect(Object.is(js.y[i], v > 0 ? v : Number.isNaN(v) ? NaN : 0) || (Number.isNaN(v) && Number.isNaN(js.y[i]!))).toBe(true));
  });

  test("an SGD step agrees bit for bit (float64 arithmetic, one rounding)", () => {
    const next = rng(9);
    const theta0 = Float32Array.from({ length: n }, () => next());
    const grad = Float32Array.from({ length: n }, () => next());
    const results = backends.map((backend) => {
      setBackend(backend);
      const p = tensor(theta0.slice(), { shape: [n] }).requiresGrad_();
      p.grad = tensor(grad, { shape: [n] });
      new SGD([p], { lr: 0.037 }).step();
      return p.toFlatArray();
    });
    results[0]!.forEach((v, i) => {
      expect(v).toBe(Math.fround(theta0[i]! - 0.037 * grad[i]!));
      expect(results[results.length - 1]![i]).toBe(v);
    });
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
    for (const backend of backends) {
      setBackend(backend);
      const leaves = [x, w, b].map((t) => t.detach().requiresGrad_());
      const y = linear(leaves[0]!, leaves[1]!, leaves[2]!);
      y.backward(up);
      const want = y64.toFlatArray();
      y.toFlatArray().forEach((v, i) => expect(Math.abs(v - want[i]!), `${backend} y[${i}]`).toBeLessThanOrEqual(1e-6 * 66));
      leaves.forEach((t, j) => {
        const w64 = ref[j]!.grad!.toFlatArray();
        t.grad!.toFlatArray().forEach((v, i) => expect(Math.abs(v - w64[i]!), `${backend} grad ${j}[${i}]`).toBeLessThanOrEqual(1e-6 * 71));
      });
      const sums = Array.from({ length: 33 }, (_, jj) => {
        let acc = 0;
        for (let r = 0; r < 70; r++) acc += up.data[r * 33 + jj]!;
        return Math.fround(acc);
      });
      expect(leaves[2]!.grad!.toFlatArray()).toEqual(sums);
    }
  });
});
