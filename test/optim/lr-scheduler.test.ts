/**
 * The learning-rate schedules against PyTorch's documented closed forms (written out here
 * from the docs' formulas) and the examples in PyTorch's documentation, their state dicts
 * (JSON round trip, resume), the shared initialLr, and the refusals.
 */
import { describe, expect, test } from "vitest";
import {
  Adam, AdamW, ConstantLR, CosineAnnealingLR, ExponentialLR, LRScheduler, LinearLR, OneCycleLR, type Optimizer,
  SGD, type SchedulerStateDict, SequentialLR, StepLR, ValueError, tensor,
} from "../../src/index.js";

const U = 2 ** -53;
const sgd = (lr: number, options: { momentum?: number; nesterov?: boolean } = {}) => new SGD([tensor([1], { requiresGrad: true })], { lr, ...options });

/** The lr after construction (epoch 0) and after each of `steps` step() calls. */
function run(s: LRScheduler, steps: number): number[] {
  const out = [s.getLastLr()[0]!];
  expect(s.optimizer.lr).toBe(out[0]);
  for (let t = 1; t <= steps; t++) {
    s.step();
    const lr = s.getLastLr()[0]!;
    expect(s.optimizer.lr).toBe(lr);
    expect(s.lastEpoch).toBe(t);
    out.push(lr);
  }
  return out;
}

/** Relative closeness to a formula evaluated in another order: within `ulps` units of 2⁻⁵³. */
function expectNear(got: number[], want: number[], ulps: number): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, t) => {
    const w = want[t]!;
    expect(Math.abs(g - w), `epoch ${t}: ${g} vs ${w}`).toBeLessThanOrEqual(ulps * U * Math.abs(w));
  });
}

const epochs = (n: number) => [...Array(n + 1).keys()];

describe("StepLR: lr₀·γ^⌊t/stepSize⌋", () => {
  test("the closed form, and PyTorch's example (0.05 until 30, 0.005 until 60, 0.0005 until 90)", () => {
    const lrs = run(new StepLR(sgd(0.05), { stepSize: 30, gamma: 0.1 }), 100);
    expect(lrs).toEqual(epochs(100).map((t) => 0.05 * 0.1 ** Math.floor(t / 30)));
    for (const [from, to, lr] of [[0, 29, 0.05], [30, 59, 0.005], [60, 89, 0.0005], [90, 100, 0.00005]] as const) {
      for (let t = from; t <= to; t++) expect(lrs[t]!).toBeCloseTo(lr, 17);
    }
  });
});

describe("ExponentialLR and ConstantLR", () => {
  test("lr₀·γᵗ; lr₀·factor until totalIters, then lr₀ (PyTorch's example: 0.025 until 39, 0.05 from 40)", () => {
    expect(run(new ExponentialLR(sgd(1), { gamma: 0.9 }), 4)).toEqual([1, 0.9, 0.9 ** 2, 0.9 ** 3, 0.9 ** 4]);
    const c = run(new ConstantLR(sgd(0.05), { factor: 0.5, totalIters: 40 }), 45);
    expect(c.slice(0, 40).every((v) => v === 0.025)).toBe(true);
    expect(c.slice(40).every((v) => v === 0.05)).toBe(true);
    expect(run(new ConstantLR(sgd(3)), 6)).toEqual([1, 1, 1, 1, 1, 3, 3].map((f) => (f === 1 ? 3 * (1 / 3) : 3)));
  });
});

describe("LinearLR: lr₀·(s + (e − s)·min(t, T)/T)", () => {
  test("PyTorch 2.1's example: start 0.5 over 4 epochs from 0.05: 0.025, 0.03125, 0.0375, 0.04375, 0.05", () => {
    const lrs = run(new LinearLR(sgd(0.05), { startFactor: 0.5, totalIters: 4 }), 6);
    expect(lrs.map((v) => Number(v.toPrecision(12)))).toEqual([0.025, 0.03125, 0.0375, 0.04375, 0.05, 0.05, 0.05]);
  });

  test("the current docs' example (start 0.05 over 40 epochs) lists the lr after 1, 2, 3, 4 steps", () => {
    const lrs = run(new LinearLR(sgd(0.05), { startFactor: 0.05, totalIters: 40 }), 45);
    expect(lrs[0]).toBeCloseTo(0.0025, 17); // the closed form at epoch 0: 0.05·0.05
    // The docs print 0.003687, 0.004875, 0.006062, 0.00725 "if epoch == 0, 1, 2, 3".
    expect(lrs.slice(1, 5).map((v) => Math.trunc(v * 1e6) / 1e6)).toEqual([0.003687, 0.004875, 0.006062, 0.00725]);
    expect(lrs.slice(40).every((v) => v === 0.05)).toBe(true);
  });

  test("the closed form over a decay (start 1, end 0.1) and its defaults (1/3 → 1 over 5)", () => {
    const lrs = run(new LinearLR(sgd(0.2), { startFactor: 1, endFactor: 0.1, totalIters: 7 }), 10);
    expectNear(lrs, epochs(10).map((t) => 0.2 * (1 + (-0.9 * Math.min(t, 7)) / 7)), 4);
    for (const t of [7, 8, 9, 10]) expect(lrs[t]).toBe(0.2 * 0.1); // from totalIters on, lr₀·endFactor exactly
    expectNear(run(new LinearLR(sgd(0.3)), 6), epochs(6).map((t) => 0.3 * (1 / 3 + ((2 / 3) * Math.min(t, 5)) / 5)), 4);
  });

  test("endFactor 0 ends at an lr of exactly 0, never below (the state dict then loads)", () => {
    // PyTorch's s + ((e − s)·T)/T is 0.1 + (−0.3000…04)/3 = −1.4e-17 here: a negative lr, which
    // loadStateDict (and so a checkpoint) refuses.
    const s = new LinearLR(sgd(0.1), { startFactor: 0.1, endFactor: 0, totalIters: 3 });
    const lrs = run(s, 5);
    expect(lrs.slice(3)).toEqual([0, 0, 0]);
    expect(lrs.every((lr) => lr >= 0)).toBe(true);
    const fresh = sgd(0.1);
    fresh.loadStateDict(s.optimizer.stateDict());
    expect(fresh.lr).toBe(0);
  });
});

describe("CosineAnnealingLR: η_min + ½(lr₀ − η_min)(1 + cos(πt/T_max))", () => {
  test("the documented closed form and its end points", () => {
    for (const [T, etaMin] of [[100, 0], [100, 1e-4], [7, 0.01], [1000, 1e-6]] as const) {
      const lrs = run(new CosineAnnealingLR(sgd(0.1), { tMax: T, etaMin }), T + 10);
      // The docs' formula as printed (½ first): ·½ and /2 are exact, so the same value to 2 ulps.
      expectNear(lrs, epochs(T + 10).map((t) => etaMin + 0.5 * (0.1 - etaMin) * (1 + Math.cos((t * Math.PI) / T))), 2);
      expect(lrs[T]).toBe(etaMin); // cos(π) = −1 exactly in float64
      if (etaMin === 0) expect(lrs[0]).toBe(0.1);
      if (T % 2 === 0) expect(Math.abs(lrs[T / 2]! - (0.1 + etaMin) / 2)).toBeLessThanOrEqual(4 * U * 0.1);
      // Past T_max the cosine goes on: the lr rises again, symmetric about T_max.
      for (let k = 1; k <= Math.min(10, T); k++) expect(Math.abs(lrs[T + k]! - lrs[T - k]!)).toBeLessThanOrEqual(4 * U * 0.1);
    }
  });
});

describe("SequentialLR", () => {
  test("PyTorch's example: ConstantLR then ExponentialLR, restarted at γ⁰ on the milestone", () => {
    // The example of PyTorch 2.0–2.7 (lr₀ = 1, milestone 2) printed 0.1, 0.1, 0.9, 0.81, 0.729,
    // but PyTorch's SequentialLR.step restarts the second schedule with _update_lr(0), its
    // closed form at epoch 0 (γ⁰ = 1), as kdgrad does; the example that replaced it (below)
    // agrees: 0.05 on the milestone, then 0.045.
    const o1 = sgd(1);
    const s1 = new SequentialLR(o1, { schedulers: [new ConstantLR(o1, { factor: 0.1, totalIters: 2 }), new ExponentialLR(o1, { gamma: 0.9 })], milestones: [2] });
    expectNear(run(s1, 4), [0.1, 0.1, 1, 0.9, 0.81], 2);
    const o2 = sgd(0.05);
    const s2 = new SequentialLR(o2, { schedulers: [new ConstantLR(o2, { factor: 0.1, totalIters: 20 }), new ExponentialLR(o2, { gamma: 0.9 })], milestones: [20] });
    const lrs = run(s2, 22);
    expect(lrs.slice(0, 20).every((v) => Math.abs(v - 0.005) <= 2 * U * 0.005)).toBe(true);
    expectNear(lrs.slice(20), [0.05, 0.045, 0.0405], 2);
  });

  test("a LinearLR warm-up, then cosine annealing restarted at its own epoch 0 on the milestone", () => {
    const opt = sgd(0.1);
    const warm = new LinearLR(opt, { startFactor: 0.1, totalIters: 5 });
    const cos = new CosineAnnealingLR(opt, { tMax: 20, etaMin: 1e-3 });
    expect(cos.baseLrs).toEqual([0.1]); // the optimizer's initialLr, not the warmed-up lr
    const lrs = run(new SequentialLR(opt, { schedulers: [warm, cos], milestones: [5] }), 30);
    const want = epochs(30).map((t) => (t < 5 ? 0.1 * (0.1 + (0.9 * t) / 5) : 1e-3 + ((0.1 - 1e-3) * (1 + Math.cos((Math.PI * (t - 5)) / 20))) / 2));
    expectNear(lrs, want, 2);
    expect(cos.lastEpoch).toBe(25);
  });
});

describe("OneCycleLR", () => {
  test("the check in its doc comment: maxLr 0.01, 10 steps, pctStart 0.3 (cos)", () => {
    const opt = sgd(123, { momentum: 0.9 });
    const s = new OneCycleLR(opt, { maxLr: 0.01, totalSteps: 10 });
    expect(opt.initialLr).toBe(0.01 / 25);
    const lrs = run(s, 10);
    expect(lrs[0]).toBeCloseTo(0.0004, 17); // 0.01 + (0.0004 − 0.01)/2·2: to rounding, as in PyTorch
    expect(lrs[1]).toBeCloseTo(0.0052, 17);
    expect(lrs[2]).toBe(0.01);
    expect(lrs[9]).toBeCloseTo(0.0004 / 1e4, 21);
    expect(() => s.step()).toThrow(ValueError);
    expect(() => s.step()).toThrow(/^OneCycleLR\.step: step 11 is past totalSteps = 10/);
    expect(s.lastEpoch).toBe(10); // the refused step changed nothing
    expect(opt.lr).toBe(lrs[10]);
  });

  /** The documented schedule, phase by phase (PyTorch's end steps pN − 1, 2pN − 2, N − 1). */
  function documented(o: { maxLr: number; N: number; p: number; linear: boolean; three: boolean; div: number; final: number; mMax: number; mBase: number }, t: number): [number, number] {
    const init = o.maxLr / o.div;
    const min = init / o.final;
    const phases: [number, number, number, number, number][] = o.three
      ? [[o.p * o.N - 1, init, o.maxLr, o.mMax, o.mBase], [2 * o.p * o.N - 2, o.maxLr, init, o.mBase, o.mMax], [o.N - 1, init, min, o.mMax, o.mMax]]
      : [[o.p * o.N - 1, init, o.maxLr, o.mMax, o.mBase], [o.N - 1, o.maxLr, min, o.mBase, o.mMax]];
    const anneal = (a: number, b: number, pct: number) => (o.linear ? a + (b - a) * pct : b + ((a - b) * (1 + Math.cos(Math.PI * pct))) / 2);
    let start = 0;
    for (let i = 0; i < phases.length; i++) {
      const [end, a, b, ma, mb] = phases[i]!;
      if (t <= end || i === phases.length - 1) {
        const pct = Math.min((t - start) / (end - start), 1); // step N holds the end values (PyTorch extrapolates)
        return [anneal(a, b, pct), anneal(ma, mb, pct)];
      }
      start = end;
    }
    throw new Error("no phase");
  }

  for (const [name, linear, three, N, p] of [
    ["two phases, cos", false, false, 100, 0.3], ["two phases, linear", true, false, 57, 0.25],
    ["three phases, cos", false, true, 100, 0.3], ["three phases, linear", true, true, 33, 0.4],
  ] as const) {
    test(`${name}: lr and momentum (SGD's momentum, Adam's β₁) at every step`, () => {
      const o = { maxLr: 0.1, N, p, linear, three, div: 10, final: 100, mMax: 0.95, mBase: 0.8 };
      for (const opt of [sgd(1, { momentum: 0.5 }), new Adam([tensor([1], { requiresGrad: true })])] as Optimizer[]) {
        const s = new OneCycleLR(opt, { maxLr: 0.1, totalSteps: N, pctStart: p, annealStrategy: linear ? "linear" : "cos", threePhase: three, divFactor: 10, finalDivFactor: 100, baseMomentum: 0.8 });
        const momentum = () => (opt instanceof Adam ? opt.beta1 : (opt as SGD).momentum);
        const lrs = [s.getLastLr()[0]!];
        const ms = [momentum()];
        for (let t = 1; t <= N; t++) {
          s.step();
          lrs.push(s.getLastLr()[0]!);
          ms.push(momentum());
        }
        // pct is the same quotient here and there; the anneal's order of operations may differ (linear: 4 ulps).
        expectNear(lrs, epochs(N).map((t) => documented(o, t)[0]), 4);
        expectNear(ms, epochs(N).map((t) => documented(o, t)[1]), 4);
        expect(Math.max(...lrs)).toBeLessThanOrEqual(0.1 * (1 + 4 * U)); // the peak (reached when pN − 1 is a step)
        if (Number.isInteger(p * N)) expect(lrs[p * N - 1]).toBeCloseTo(0.1, 16);
        expect(ms[0]).toBe(0.95);
      }
    });
  }

  test("cycleMomentum false leaves the momentum; epochs × stepsPerEpoch; the refusals", () => {
    const opt = sgd(1, { momentum: 0.5 });
    new OneCycleLR(opt, { maxLr: 0.1, epochs: 3, stepsPerEpoch: 4, cycleMomentum: false }).step();
    expect(opt.momentum).toBe(0.5);
    const cases: [() => unknown, RegExp][] = [
      [() => new OneCycleLR(sgd(1), { maxLr: 0.1 }), /^OneCycleLR: give totalSteps, or epochs and stepsPerEpoch/],
      [() => new OneCycleLR(sgd(1), { maxLr: 0.1, totalSteps: 10, epochs: 2, stepsPerEpoch: 5 }), /^OneCycleLR: give totalSteps or epochs and stepsPerEpoch, not both/],
      [() => new OneCycleLR(sgd(1), { maxLr: 0, totalSteps: 10 }), /^OneCycleLR: maxLr must be a finite number > 0, got 0$/],
      [() => new OneCycleLR(sgd(1), { maxLr: 0.1, totalSteps: 0 }), /^OneCycleLR: totalSteps must be a positive integer, got 0$/],
      [() => new OneCycleLR(sgd(1), { maxLr: 0.1, totalSteps: 10, pctStart: 1.5 }), /^OneCycleLR: pctStart must be in \[0, 1\], got 1.5$/],
      [() => new OneCycleLR(sgd(1), { maxLr: 0.1, totalSteps: 10, annealStrategy: "exp" as "cos" }), /^OneCycleLR: annealStrategy must be "cos" or "linear", got "exp"$/],
      [() => new OneCycleLR(new AdamW([tensor([1], { requiresGrad: true })]), { maxLr: 0.1, totalSteps: 10, maxMomentum: 1 }), /^OneCycleLR: maxMomentum must be a finite number >= 0 and < 1 \(it becomes Adam's beta1\), got 1$/],
      [() => new OneCycleLR(sgd(1, { momentum: 0.9, nesterov: true }), { maxLr: 0.1, totalSteps: 10, baseMomentum: 0 }), /^OneCycleLR: baseMomentum must be a finite number > 0 \(the SGD is nesterov\), got 0$/],
      [() => new OneCycleLR(sgd(1), { maxLr: 0.1, totalSteps: 10, pctStart: 0.1 }), /^OneCycleLR: step 0 falls in a phase of zero length \(steps 0 to 0\) with pctStart 0\.1 and totalSteps 10/],
    ];
    for (const [make, message] of cases) {
      expect(make).toThrow(ValueError);
      expect(make).toThrow(message);
    }
  });
});

describe("state dicts", () => {
  /** Make an optimizer and a schedule of each kind. */
  const kinds: [string, () => LRScheduler][] = [
    ["StepLR", () => new StepLR(sgd(0.1), { stepSize: 3, gamma: 0.5 })],
    ["CosineAnnealingLR", () => new CosineAnnealingLR(sgd(0.1), { tMax: 10, etaMin: 1e-3 })],
    ["LinearLR", () => new LinearLR(sgd(0.1), { startFactor: 0.2, totalIters: 6 })],
    ["OneCycleLR (Adam)", () => new OneCycleLR(new Adam([tensor([1], { requiresGrad: true })]), { maxLr: 0.1, totalSteps: 20, threePhase: true })],
    ["SequentialLR", () => {
      const opt = sgd(0.1, { momentum: 0.9 });
      const schedulers = [new LinearLR(opt, { startFactor: 0.1, totalIters: 3 }), new StepLR(opt, { stepSize: 2 }), new OneCycleLR(opt, { maxLr: 1, totalSteps: 8 })];
      return new SequentialLR(opt, { schedulers, milestones: [3, 7] });
    }],
  ];

  for (const [name, make] of kinds) {
    test(`${name}: saved as JSON after k steps, loaded into fresh objects, continues identically`, () => {
      const straight = make();
      const want = run(straight, 14);
      for (const k of [0, 3, 7]) {
        const first = make();
        for (let t = 0; t < k; t++) first.step();
        const json = JSON.stringify({ scheduler: first.stateDict(), optimizer: { ...first.optimizer.stateDict(), state: [] } });
        const saved = JSON.parse(json) as { scheduler: SchedulerStateDict; optimizer: ReturnType<Optimizer["stateDict"]> };
        const fresh = make();
        fresh.optimizer.lr = 42;
        fresh.loadStateDict(saved.scheduler); // before the optimizer's state, or after: the same
        fresh.optimizer.loadStateDict({ ...saved.optimizer, state: new Map() });
        expect(fresh.lastEpoch).toBe(k);
        expect(fresh.optimizer.lr).toBe(want[k]);
        const rest = [fresh.getLastLr()[0]!];
        for (let t = k + 1; t <= 14; t++) {
          fresh.step();
          rest.push(fresh.getLastLr()[0]!);
        }
        expect(rest).toEqual(want.slice(k));
      }
    });
  }

  test("what the dict holds, and the refusals of a foreign or broken one (nothing changes)", () => {
    const s = new StepLR(sgd(0.1), { stepSize: 3 });
    s.step();
    expect(s.stateDict()).toEqual({ type: "StepLR", lastEpoch: 1, baseLrs: [0.1], lastLr: [0.1], stepSize: 3, gamma: 0.1 });
    const cases: [unknown, RegExp][] = [
      [{ ...s.stateDict(), type: "LinearLR" }, /^loadStateDict: the scheduler state dict is for "LinearLR", but this scheduler is StepLR$/],
      [{ ...s.stateDict(), stepSize: 0 }, /^loadStateDict: stepSize must be a positive integer, got 0$/],
      [{ ...s.stateDict(), lastEpoch: 1.5 }, /^loadStateDict: StepLR lastEpoch must be an integer in \[-1, 9007199254740991\], got 1.5$/],
      [{ ...s.stateDict(), baseLrs: [0.1, 0.2] }, /^loadStateDict: StepLR baseLrs must be a list of one finite lr >= 0/],
      [null, /^loadStateDict: the scheduler state dict must be an object/],
    ];
    for (const [dict, message] of cases) expect(() => s.loadStateDict(dict as SchedulerStateDict)).toThrow(message);
    expect(s.stateDict()).toEqual({ type: "StepLR", lastEpoch: 1, baseLrs: [0.1], lastLr: [0.1], stepSize: 3, gamma: 0.1 });
  });
});

describe("construction", () => {
  test("the first scheduler fixes the optimizer's initialLr; later ones start from it", () => {
    const opt = sgd(0.5);
    expect(opt.initialLr).toBe(null);
    new LinearLR(opt, { startFactor: 0.1 });
    expect(opt.initialLr).toBe(0.5);
    expect(opt.lr).toBeCloseTo(0.05, 16);
    expect(new StepLR(opt, { stepSize: 1 }).baseLrs).toEqual([0.5]);
  });

  test("refusals name the scheduler, the setting and the value", () => {
    const opt = sgd(0.1);
    const other = sgd(0.1);
    const a = new StepLR(opt, { stepSize: 1 });
    const cases: [() => unknown, RegExp][] = [
      [() => new StepLR({} as Optimizer, { stepSize: 1 }), /^StepLR: optimizer must be an Optimizer \(SGD, Adam, AdamW\), got an object$/],
      [() => new StepLR(opt, { stepSize: 2.5 }), /^StepLR: stepSize must be a positive integer, got 2\.5$/],
      [() => new StepLR(opt, { stepSize: 1, gamma: -1 }), /^StepLR: gamma must be a finite number >= 0, got -1$/],
      [() => new StepLR(opt, undefined as unknown as { stepSize: number }), /^StepLR: stepSize must be a positive integer, got undefined$/],
      [() => new StepLR(opt, null as unknown as { stepSize: number }), /^StepLR: options must be an object with keys among stepSize, gamma, got null$/],
      [() => new StepLR(opt, { stepSize: 1, gama: 0.5 } as { stepSize: number }), /^StepLR: unknown key "gama" in options \(allowed: stepSize, gamma\)$/],
      [() => new StepLR(opt, { stepSize: 1, gamma: null } as unknown as { stepSize: number }), /^StepLR: options.gamma is null; leave it out for the default$/],
      [() => new ExponentialLR(opt, {} as { gamma: number }), /^ExponentialLR: gamma must be a finite number >= 0, got undefined$/],
      [() => new ConstantLR(opt, { factor: 2 }), /^ConstantLR: factor must be in \[0, 1\], got 2$/],
      [() => new LinearLR(opt, { startFactor: 0 }), /^LinearLR: startFactor must be in \(0, 1\], got 0$/],
      [() => new LinearLR(opt, { endFactor: 1.5 }), /^LinearLR: endFactor must be in \[0, 1\], got 1\.5$/],
      [() => new LinearLR(opt, { totalIters: 0 }), /^LinearLR: totalIters must be a positive integer, got 0$/],
      [() => new CosineAnnealingLR(opt, { tMax: 0 }), /^CosineAnnealingLR: tMax must be a positive integer, got 0$/],
      [() => new CosineAnnealingLR(opt, { tMax: 5, etaMin: NaN }), /^CosineAnnealingLR: etaMin must be a finite number >= 0, got NaN$/],
      [() => new SequentialLR(opt, { schedulers: [], milestones: [] }), /^SequentialLR: schedulers must be a non-empty list of schedulers/],
      [() => new SequentialLR(opt, { schedulers: [a, a], milestones: [2] }), /^SequentialLR: schedulers\[1\] appears more than once$/],
      [() => new SequentialLR(opt, { schedulers: [a, new StepLR(other, { stepSize: 1 })], milestones: [2] }), /^SequentialLR: schedulers\[1\] is built on another optimizer/],
      [() => new SequentialLR(opt, { schedulers: [a, new StepLR(opt, { stepSize: 1 })], milestones: [] }), /^SequentialLR: milestones must list 1 epoch\(s\) \(one fewer than the 2 schedulers\), got \[\]$/],
      [() => new SequentialLR(opt, { schedulers: [a, new StepLR(opt, { stepSize: 1 }), new StepLR(opt, { stepSize: 1 })], milestones: [4, 4] }), /^SequentialLR: milestones must be strictly increasing positive integers, got \[4,4\]$/],
    ];
    for (const [make, message] of cases) {
      expect(make).toThrow(ValueError);
      expect(make).toThrow(message);
    }
    const inner = new SequentialLR(opt, { schedulers: [new StepLR(opt, { stepSize: 1 })], milestones: [] });
    expect(() => new SequentialLR(opt, { schedulers: [inner], milestones: [] })).toThrow(/^SequentialLR: schedulers\[0\] is a SequentialLR; list its schedules in one SequentialLR instead$/);
  });
});

describe("what the fuzz suite found (test/fuzz: the schedule rows)", () => {
  /** The optimizer's schedule-related state, to compare before and after a refusal. */
  const state = (o: Optimizer) => JSON.stringify({ lr: o.lr, initialLr: o.initialLr, m: (o as SGD).momentum, b: (o as Adam).beta1 });

  test("a refused construction leaves the optimizer as it was (initialLr was set before the options were checked)", () => {
    const opt = sgd(0.5, { momentum: 0.9 });
    const before = state(opt);
    expect(() => new StepLR(opt, { stepSize: 0 })).toThrow(/^StepLR: stepSize must be a positive integer, got 0$/);
    expect(() => new OneCycleLR(opt, { maxLr: 0.1, totalSteps: 10, pctStart: 0.1 })).toThrow(/^OneCycleLR: step 0 falls in a phase of zero length/);
    expect(() => new CosineAnnealingLR(opt, { tMax: 3, etaMin: -1 })).toThrow(ValueError);
    expect(state(opt)).toBe(before);
    expect(opt.initialLr).toBe(null);
  });

  test("the base lr (the optimizer's lr or initialLr, or maxLr/divFactor) must be a finite number >= 0", () => {
    const cases: [(o: Optimizer) => unknown, (o: Optimizer) => void, RegExp][] = [
      [(o) => new StepLR(o, { stepSize: 1 }), (o) => { o.lr = NaN; }, /^StepLR: the optimizer's lr must be a finite number >= 0, got NaN$/],
      [(o) => new LinearLR(o), (o) => { o.initialLr = -1; }, /^LinearLR: the optimizer's initialLr must be a finite number >= 0, got -1$/],
      [(o) => new ConstantLR(o), (o) => { (o as { initialLr: unknown }).initialLr = "0.1"; }, /^ConstantLR: the optimizer's initialLr must be a finite number >= 0, got "0\.1"$/],
      [(o) => new OneCycleLR(o, { maxLr: 1e308, divFactor: 1e-300, totalSteps: 5 }), () => {}, /^OneCycleLR: the initial lr \(maxLr \/ divFactor\) must be a finite number >= 0, got Infinity$/],
    ];
    for (const [make, spoil, message] of cases) {
      const opt = sgd(0.1);
      spoil(opt);
      const before = state(opt);
      expect(() => make(opt)).toThrow(message);
      expect(state(opt)).toBe(before);
    }
  });

  test("CosineAnnealingLR with a huge etaMin stays finite (((lr₀ − η)·(1 + cos))/2 overflowed to −∞)", () => {
    const lrs = run(new CosineAnnealingLR(sgd(0.1), { tMax: 4, etaMin: 1e308 }), 4);
    expect(lrs.every((lr) => Number.isFinite(lr) && lr >= 0)).toBe(true);
    expect(lrs[2]).toBeCloseTo(5e307, -293);
    expect(lrs[4]).toBe(1e308);
  });

  test("OneCycleLR's step N holds the end values: the linear form no longer extrapolates to a negative lr and an Adam β₁ ≥ 1", () => {
    for (const three of [false, true]) {
      const opt = new Adam([tensor([1], { requiresGrad: true })]);
      const s = new OneCycleLR(opt, { maxLr: 0.1, totalSteps: 10, annealStrategy: "linear", maxMomentum: 0.99, baseMomentum: 0.5, threePhase: three });
      const lrs = run(s, 10);
      const min = 0.1 / 25 / 1e4;
      expect(Math.abs(lrs[9]! - min)).toBeLessThanOrEqual(4 * U * 0.1); // the linear form cancels: 4 ulps of lr_init
      expect(lrs[10]).toBe(lrs[9]); // PyTorch: (min − start)·pct + start with pct > 1, below min (negative for two phases)
      expect(opt.beta1).toBe(0.99); // PyTorch: past maxMomentum, 1.06 for two phases
      expect(() => new Adam([tensor([1], { requiresGrad: true })]).loadStateDict(opt.stateDict())).not.toThrow();
    }
  });

  test("an lr that overflows is refused where it happens, and nothing changes", () => {
    const opt = sgd(1);
    const s = new ExponentialLR(opt, { gamma: 1e200 });
    s.step(); // 1e200
    expect(() => s.step()).toThrow(/^ExponentialLR\.step: the lr at epoch 2 must be a finite number >= 0 \(the schedule's settings overflow there\), got Infinity$/);
    expect(s.lastEpoch).toBe(1);
    expect(opt.lr).toBe(1e200);
    const zero = new StepLR(sgd(0), { stepSize: 1, gamma: 1e300 });
    zero.step();
    expect(() => zero.step()).toThrow(/got NaN$/); // 0·∞
    const dict = { ...new ExponentialLR(sgd(1), { gamma: 2 }).stateDict(), lastEpoch: 2000 };
    const fresh = new ExponentialLR(sgd(1), { gamma: 2 });
    const before = JSON.stringify(fresh.stateDict());
    expect(() => fresh.loadStateDict(dict)).toThrow(/^loadStateDict: the lr at epoch 2000 must be a finite number >= 0/);
    expect(JSON.stringify(fresh.stateDict())).toBe(before);
  });

  test("a state dict's unknown key, null or missing setting is refused (they were ignored or read as the default)", () => {
    const s = new StepLR(sgd(0.1), { stepSize: 3, gamma: 0.5 });
    const d = s.stateDict();
    const { gamma: _, ...noGamma } = d;
    const cases: [unknown, RegExp][] = [
      [{ ...d, gama: 0.9 }, /^loadStateDict: unknown key "gama" in StepLR state dict \(allowed: stepSize, gamma\)$/],
      [{ ...d, gamma: null }, /^loadStateDict: StepLR state dict\.gamma is null; leave it out for the default$/],
      [noGamma, /^loadStateDict: the StepLR state dict has no "gamma"$/],
    ];
    for (const [dict, message] of cases) expect(() => s.loadStateDict(dict as SchedulerStateDict)).toThrow(message);
    expect(s.gamma).toBe(0.5);
  });

  test("loading a OneCycleLR position past totalSteps is refused by loadStateDict before anything changes", () => {
    const opt = sgd(1, { momentum: 0.9 });
    const s = new OneCycleLR(opt, { maxLr: 0.1, totalSteps: 10 });
    s.step();
    const before = [JSON.stringify(s.stateDict()), state(opt)];
    const other = new OneCycleLR(sgd(1), { maxLr: 0.2, totalSteps: 30 });
    for (let t = 0; t < 20; t++) other.step();
    expect(() => s.loadStateDict(other.stateDict())).not.toThrow(); // settings replaced: 20 ≤ 30
    s.loadStateDict(JSON.parse(before[0]!) as SchedulerStateDict);
    expect(() => s.loadStateDict({ ...other.stateDict(), totalSteps: 10 })).toThrow(/^loadStateDict: step 20 is past totalSteps = 10/);
    expect([JSON.stringify(s.stateDict()), state(opt)]).toEqual(before);
  });

  test("SequentialLR: a OneCycleLR inside refused past its end names SequentialLR.step; an inconsistent dict is refused", () => {
    const opt = sgd(1);
    const seq = new SequentialLR(opt, { schedulers: [new StepLR(opt, { stepSize: 1 }), new OneCycleLR(opt, { maxLr: 0.1, totalSteps: 4 })], milestones: [2] });
    for (let t = 0; t < 6; t++) seq.step();
    expect(() => seq.step()).toThrow(/^SequentialLR\.step: step 5 is past totalSteps = 4/);
    expect(seq.lastEpoch).toBe(6); // the refused step changed nothing (it was 7, beside a schedule at 4)
    const d = seq.stateDict();
    const children = (d.schedulers as SchedulerStateDict[]).map((c) => ({ ...c }));
    children[1] = { ...children[1]!, lastEpoch: 2 }; // the running schedule must be at 6 − 2 = 4
    expect(() => seq.loadStateDict({ ...d, schedulers: children })).toThrow(/^loadStateDict: the SequentialLR state dict is at epoch 6, where schedulers\[1\] is at its epoch 4, but that schedule's dict says 2$/);
  });

  test("LRScheduler cannot be extended outside kdgrad: a typed refusal, not a TypeError from a missing hook", () => {
    const Base = LRScheduler as unknown as new (...a: unknown[]) => LRScheduler;
    // @ts-expect-error: the hooks are internal (symbols kdgrad does not export)
    class Mine extends Base {
      constructor() {
        super("Mine", sgd(1), {}, [], () => ({}));
      }
    }
    expect(() => new Mine()).toThrow(/^Mine: LRScheduler cannot be extended outside kdgrad/);
  });
});
