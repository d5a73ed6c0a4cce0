/**
 * Optimizer stateDict / loadStateDict: a run of 2n steps and a run of n steps, saved, loaded
 * into fresh objects and continued for n more, end with identical bits (SGD with its momentum
 * variants, Adam with L2 and amsgrad, AdamW; float32 and float64). Then the refusals, and that
 * a failed load changes nothing.
 */
import { describe, expect, test } from "vitest";
import {
  Adam, AdamW, DTypeError, Generator, Optimizer, type OptimizerStateDict, SGD, ShapeError, type Tensor, ValueError,
  crossEntropy, mlp, randint, randn, tensor, zeros,
} from "../../src/index.js";
import type { Sequential } from "../../src/index.js";

type Make = (params: Tensor[]) => Optimizer;
const CONFIGS: [string, Make][] = [
  ["SGD", (p) => new SGD(p, { lr: 0.1 })],
  ["SGD momentum, dampening, weight decay", (p) => new SGD(p, { lr: 0.05, momentum: 0.9, dampening: 0.3, weightDecay: 1e-3 })],
  ["SGD nesterov", (p) => new SGD(p, { lr: 0.05, momentum: 0.8, nesterov: true })],
  ["Adam", (p) => new Adam(p, { lr: 1e-2 })],
  ["Adam amsgrad, L2", (p) => new Adam(p, { lr: 1e-2, amsgrad: true, weightDecay: 1e-2, betas: [0.8, 0.95] })],
  ["AdamW", (p) => new AdamW(p, { lr: 1e-2, weightDecay: 0.1 })],
];

/** The bytes of every parameter, to compare runs bit for bit. */
const bits = (m: Sequential): number[][] => m.parameters().map((p) => Array.from(new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength)));

/** Step k's batch: fixed by k, so two runs see the same data at the same step. */
function batch(k: number, dtype: "float32" | "float64"): [Tensor, Tensor] {
  const g = new Generator(1000 + k);
  return [randn([16, 8], { dtype, generator: g }), randint(0, 4, [16], { generator: g })];
}

function train(model: Sequential, opt: Optimizer, from: number, to: number, dtype: "float32" | "float64"): void {
  for (let k = from; k < to; k++) {
    const [x, y] = batch(k, dtype);
    opt.zeroGrad();
    crossEntropy(model.forward(x), y).backward();
    opt.step();
  }
}

/** A deep copy of an optimizer state dict (the live one shares storage with the buffers). */
function snapshot(d: OptimizerStateDict): OptimizerStateDict {
  const state = new Map([...d.state].map(([i, s]) => [i, Object.fromEntries(Object.entries(s).map(([k, v]) => [k, typeof v === "number" ? v : v.clone()]))]));
  return { type: d.type, state, paramGroups: [{ ...d.paramGroups[0] }] };
}

describe.each(CONFIGS)("%s: resume is bit for bit", (_name, make) => {
  for (const dtype of ["float32", "float64"] as const) {
    test(`${dtype}: 2n steps = n steps, save, load into fresh objects, n steps`, () => {
      const n = 6;
      const model = () => mlp([8, 16, 4], { generator: new Generator(7), dtype });

      const straight = model();
      train(straight, make(straight.parameters()), 0, 2 * n, dtype);

      const first = model();
      const opt1 = make(first.parameters());
      train(first, opt1, 0, n, dtype);
      const savedModel = new Map([...first.stateDict()].map(([k, t]) => [k, t.clone()]));
      const savedOpt = snapshot(opt1.stateDict());

      // Fresh objects: other initial weights, and hyperparameters the load must replace.
      const resumed = mlp([8, 16, 4], { generator: new Generator(99), dtype });
      const opt2 = make(resumed.parameters());
      opt2.lr = 123;
      resumed.loadStateDict(savedModel);
      opt2.loadStateDict(savedOpt);
      expect(opt2.lr).toBe(opt1.lr);
      train(resumed, opt2, n, 2 * n, dtype);
      expect(bits(resumed)).toEqual(bits(straight));

      // Without the optimizer's state the continuation differs (momentum or moments restart).
      if (!(opt1 instanceof SGD && opt1.momentum === 0)) {
        const bare = mlp([8, 16, 4], { generator: new Generator(99), dtype });
        bare.loadStateDict(savedModel);
        train(bare, make(bare.parameters()), n, 2 * n, dtype);
        expect(bits(bare)).not.toEqual(bits(straight));
      }
    });
  }
});

describe("what stateDict holds", () => {
  test("PyTorch's layout, camelCased: type, state by parameter index, one param group", () => {
    const a = tensor([1, 2], { dtype: "float64", requiresGrad: true });
    const b = tensor([3], { dtype: "float64", requiresGrad: true });
    const opt = new Adam([a, b], { lr: 0.1, amsgrad: true });
    a.grad = tensor([0.5, -0.5], { dtype: "float64" });
    opt.step(); // only a has a gradient
    const d = opt.stateDict();
    expect(d.type).toBe("Adam");
    expect([...d.state.keys()]).toEqual([0]);
    expect(Object.keys(d.state.get(0)!)).toEqual(["step", "expAvg", "expAvgSq", "maxExpAvgSq"]);
    expect(d.state.get(0)!.step).toBe(1);
    expect((d.state.get(0)!.expAvg as Tensor).toFlatArray()).toEqual([(1 - 0.9) * 0.5, (1 - 0.9) * -0.5]); // (1 − β₁)g
    expect(d.paramGroups[0]).toEqual({ lr: 0.1, initialLr: null, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: true, params: [0, 1] });
    const s = new SGD([a], { lr: 0.1, momentum: 0.9 }).stateDict();
    expect(s).toEqual({ type: "SGD", state: new Map(), paramGroups: [{ lr: 0.1, initialLr: null, momentum: 0.9, dampening: 0, nesterov: false, weightDecay: 0, params: [0] }] });
  });

  test("a float64 state loads into float32 parameters (converted, as PyTorch casts)", () => {
    const p64 = tensor([1, 2], { dtype: "float64", requiresGrad: true });
    const o64 = new SGD([p64], { lr: 0.1, momentum: 0.9 });
    p64.grad = tensor([0.1, 0.2], { dtype: "float64" });
    o64.step();
    const p32 = tensor([1, 2], { requiresGrad: true });
    const o32 = new SGD([p32], { lr: 0.1, momentum: 0.9 });
    o32.loadStateDict(o64.stateDict());
    const buf = o32.stateDict().state.get(0)!.momentumBuffer as Tensor;
    expect(buf.dtype).toBe("float32");
    expect(buf.toFlatArray()).toEqual([Math.fround(0.1), Math.fround(0.2)]);
  });

  test("SGD with momentum set to 0 later neither reads nor updates its buffer (PyTorch)", () => {
    // μ = 0.9, τ = 0.5, γ = 0.1: step 1 makes the buffer b = g = 1, θ = 1 − 0.1 = 0.9.
    // With μ then 0, step 2 is plain SGD: θ = 0.9 − 0.1·1 = 0.8 (reading b would give b = 0.5g, θ = 0.85).
    const p = tensor([1], { dtype: "float64", requiresGrad: true });
    const opt = new SGD([p], { lr: 0.1, momentum: 0.9, dampening: 0.5 });
    p.grad = tensor([1], { dtype: "float64" });
    opt.step();
    opt.momentum = 0;
    opt.step();
    expect(p.toFlatArray()).toEqual([0.9 - 0.1]);
    expect((opt.stateDict().state.get(0)!.momentumBuffer as Tensor).toFlatArray()).toEqual([1]);
  });
});

describe("loadStateDict refuses, and then changes nothing", () => {
  const setup = () => {
    const a = zeros([2, 3], { requiresGrad: true });
    const b = zeros([3], { requiresGrad: true });
    const opt = new Adam([a, b], { lr: 0.01 });
    a.grad = randn([2, 3]);
    b.grad = randn([3]);
    opt.step();
    return { a, b, opt, saved: snapshot(opt.stateDict()) };
  };
  const edit = (d: OptimizerStateDict, f: (state: Map<number, Record<string, unknown>>, group: Record<string, unknown>) => void): OptimizerStateDict => {
    const e = snapshot(d) as unknown as { state: Map<number, Record<string, unknown>>; paramGroups: [Record<string, unknown>]; type: string };
    f(e.state, e.paramGroups[0]);
    return e as unknown as OptimizerStateDict;
  };

  test("each refusal names the function, the part and the values", () => {
    const { opt, saved } = setup();
    const cases: [OptimizerStateDict, new (...a: never[]) => Error, RegExp][] = [
      [{ ...saved, type: "AdamW" }, ValueError, /^loadStateDict: the optimizer state dict is for "AdamW", but this optimizer is Adam$/],
      [edit(saved, (_, g) => { g.params = [0]; }), ValueError, /^loadStateDict: the Adam state dict lists parameters \[0\], but this optimizer has 2 \(expected \[0, …, 1\]\)$/],
      [edit(saved, (_, g) => { g.betas = [1, 0.9]; }), ValueError, /^loadStateDict: betas\[0\] must be in \[0, 1\), got 1$/],
      [edit(saved, (_, g) => { g.lr = -1; }), ValueError, /^loadStateDict: lr must be a finite number >= 0, got -1$/],
      [edit(saved, (s) => { s.set(2, {}); }), ValueError, /^loadStateDict: the Adam state dict has state for parameter 2, but this optimizer's parameters are 0…1$/],
      [edit(saved, (s) => { s.get(0)!.expAvg = zeros([3, 2]); }), ShapeError, /^loadStateDict: the state of parameter 0 \(shape \[2,3\]\): "expAvg" has shape \[3,2\], not the parameter's \[2,3\]$/],
      [edit(saved, (s) => { s.get(1)!.expAvgSq = zeros([3], { dtype: "int32" }); }), DTypeError, /^loadStateDict: the state of parameter 1 \(shape \[3\]\): "expAvgSq" is int32/],
      [edit(saved, (s) => { delete s.get(1)!.expAvg; }), ValueError, /^loadStateDict: the state of parameter 1 \(shape \[3\]\) is missing "expAvg"$/],
      [edit(saved, (s) => { s.get(1)!.maxExpAvgSq = zeros([3]); }), ValueError, /^loadStateDict: the state of parameter 1 \(shape \[3\]\) has unknown key\(s\) "maxExpAvgSq" \(a Adam keeps expAvg, expAvgSq, step\)$/],
      [edit(saved, (s) => { s.get(0)!.step = 1.5; }), ValueError, /^loadStateDict: the state of parameter 0 \(shape \[2,3\]\): "step" must be an integer >= 1, got 1.5$/],
      [edit(saved, (_, g) => { g.amsgrad = true; }), ValueError, /is missing "maxExpAvgSq"$/],
    ];
    for (const [dict, cls, message] of cases) {
      expect(() => opt.loadStateDict(dict)).toThrow(cls);
      expect(() => opt.loadStateDict(dict)).toThrow(message);
    }
    expect(() => opt.loadStateDict(null as unknown as OptimizerStateDict)).toThrow(/^loadStateDict: the optimizer state dict must be an object/);
    const sgd = new SGD([zeros([1], { requiresGrad: true })], { lr: 1 });
    expect(() => sgd.loadStateDict(edit(sgd.stateDict(), (_, g) => { g.nesterov = true; }))).toThrow(/^loadStateDict: nesterov requires momentum > 0 and dampening 0/);
  });

  test("the constructors check nesterov and amsgrad as loadStateDict does (one check for both: a truthy value was taken)", () => {
    const p = () => [zeros([1], { requiresGrad: true })];
    expect(() => new SGD(p(), { lr: 1, momentum: 0.9, nesterov: "yes" as unknown as boolean })).toThrow(/^SGD: nesterov must be true or false, got "yes"$/);
    expect(() => new Adam(p(), { amsgrad: 1 as unknown as boolean })).toThrow(/^Adam: amsgrad must be true or false, got 1$/);
    expect(() => new AdamW(p(), { betas: [0.9, 1] })).toThrow(/^AdamW: betas\[1\] must be in \[0, 1\), got 1$/);
  });

  test("a failed load leaves the hyperparameters and the state as they were", () => {
    const { opt, saved } = setup();
    const before = snapshot(opt.stateDict());
    const bad = edit(saved, (s, g) => {
      g.lr = 0.5;
      g.eps = 1e-3;
      s.get(1)!.expAvg = zeros([4]); // the last entry is wrong
    });
    expect(() => opt.loadStateDict(bad)).toThrow(ShapeError);
    expect(opt.lr).toBe(0.01);
    expect(opt.eps).toBe(1e-8);
    expect(snapshot(opt.stateDict())).toEqual(before);
  });
});
