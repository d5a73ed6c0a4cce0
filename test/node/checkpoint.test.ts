/**
 * Checkpoints: a training run with dropout, AdamW, a one-cycle schedule and gradient clipping,
 * interrupted after n steps (saveCheckpoint to a file), rebuilt from fresh objects
 * (loadCheckpoint) and continued for n steps, ends with the same bits as 2n steps straight.
 * Then the layout, partial loads, and the refusals.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import {
  AdamW, FormatError, Generator, OneCycleLR, SGD, ShapeError, StepLR, ValueError,
  clipGradNorm, crossEntropy, decodeCheckpoint, decodeSafetensors, encodeCheckpoint, mlp, noGrad, randint, randn,
} from "../../src/index.js";
import type { Optimizer, Sequential, Tensor } from "../../src/index.js";
import { loadCheckpoint, saveCheckpoint, saveModule } from "../../src/node/index.js";

const root = mkdtempSync(join(tmpdir(), "kdgrad-ckpt-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function batch(k: number): [Tensor, Tensor] {
  const g = new Generator(500 + k);
  return [randn([32, 8], { generator: g }), randint(0, 4, [32], { generator: g })];
}

/** A model whose dropout draws from `g`, its optimizer and schedule. */
function setup(seed: number) {
  const g = new Generator(seed);
  const model = mlp([8, 32, 32, 4], { dropout: 0.2, generator: g });
  const opt = new AdamW(model.parameters(), { lr: 1e-3, weightDecay: 0.05 });
  const scheduler = new OneCycleLR(opt, { maxLr: 0.02, totalSteps: 40, threePhase: true });
  return { g, model, opt, scheduler };
}

function train(s: ReturnType<typeof setup>, from: number, to: number): void {
  for (let k = from; k < to; k++) {
    const [x, y] = batch(k);
    s.opt.zeroGrad();
    crossEntropy(s.model.forward(x), y).backward();
    clipGradNorm(s.model.parameters(), 0.5);
    s.opt.step();
    s.scheduler.step();
  }
}

const bits = (m: Sequential): number[][] => m.parameters().map((p) => Array.from(new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength)));

describe("resume from a file", () => {
  test("2n steps straight = n steps, saveCheckpoint, loadCheckpoint into fresh objects, n steps (bit for bit)", () => {
    const n = 15;
    const straight = setup(1);
    train(straight, 0, 2 * n);

    const first = setup(1);
    train(first, 0, n);
    const path = join(root, "run.safetensors");
    saveCheckpoint(path, { model: first.model, optimizer: first.opt, scheduler: first.scheduler, generator: first.g }, { metadata: { epoch: "1" } });

    const resumed = setup(2); // other weights, another dropout stream, schedule at step 0
    const { metadata } = loadCheckpoint(path, { model: resumed.model, optimizer: resumed.opt, scheduler: resumed.scheduler, generator: resumed.g });
    expect(metadata).toEqual({ epoch: "1" });
    expect(resumed.scheduler.lastEpoch).toBe(n);
    expect(resumed.opt.lr).toBe(first.opt.lr);
    expect(resumed.opt.beta1).toBe(first.opt.beta1);
    train(resumed, n, 2 * n);
    expect(bits(resumed.model)).toEqual(bits(straight.model));
    expect(resumed.opt.lr).toBe(straight.opt.lr);

    // Without the generator's state the dropout masks differ, and so do the weights.
    const noRng = setup(2);
    loadCheckpoint(path, { model: noRng.model, optimizer: noRng.opt, scheduler: noRng.scheduler });
    train(noRng, n, 2 * n);
    expect(bits(noRng.model)).not.toEqual(bits(straight.model));
  });

  test("the model alone, for inference; and a checkpoint as plain safetensors", () => {
    const s = setup(3);
    train(s, 0, 3);
    const bytes = encodeCheckpoint({ model: s.model, optimizer: s.opt });
    const other = mlp([8, 32, 32, 4], { dropout: 0.2, generator: new Generator(9) });
    decodeCheckpoint(bytes, { model: other });
    const [x] = batch(99);
    const predict = (m: Sequential) => noGrad(() => m.eval().forward(x)).toFlatArray();
    expect(predict(other)).toEqual(predict(s.model));

    const { tensors, metadata } = decodeSafetensors(bytes);
    expect([...tensors.keys()].slice(0, 3)).toEqual(["model.0.weight", "model.0.bias", "model.3.weight"]);
    expect([...tensors.keys()]).toContain("optimizer.0.expAvg");
    expect([...tensors.keys()]).toContain("optimizer.5.expAvgSq");
    const json = JSON.parse(metadata["kdgrad.checkpoint"]!);
    expect(json.version).toBe(1);
    expect(json.optimizer.type).toBe("AdamW");
    expect(json.optimizer.counts["0"]).toEqual({ step: 3 });
    expect(json.scheduler).toBe(null);
  });
});

describe("refusals", () => {
  test("a file that is not a checkpoint, a part it lacks, a mismatched model (and then nothing changes)", () => {
    const s = setup(4);
    const weights = join(root, "weights.safetensors");
    saveModule(weights, s.model);
    expect(() => loadCheckpoint(weights, { model: s.model })).toThrow(FormatError);
    expect(() => loadCheckpoint(weights, { model: s.model })).toThrow(/^loadCheckpoint: ".*weights\.safetensors": these safetensors hold no "kdgrad\.checkpoint" entry/);

    const modelOnly = encodeCheckpoint({ model: s.model });
    expect(() => decodeCheckpoint(modelOnly, { optimizer: s.opt })).toThrow(/^decodeCheckpoint: the checkpoint holds no optimizer, but one was given to load into$/);

    // A model of another shape: refused with ShapeError; the optimizer and schedule stay as they were.
    const big = setup(5);
    train(big, 0, 2);
    const bytes = encodeCheckpoint({ model: big.model, optimizer: big.opt, scheduler: big.scheduler });
    const small = mlp([8, 16, 16, 4], { dropout: 0.2 }); // the same names, other shapes
    const opt = new SGD(small.parameters(), { lr: 0.1 });
    const sched = new StepLR(opt, { stepSize: 1 });
    expect(() => decodeCheckpoint(bytes, { model: small })).toThrow(ShapeError);
    expect(() => decodeCheckpoint(bytes, { model: small })).toThrow(/^decodeCheckpoint: the model's state: "0\.weight" has shape \[32,8\] in the state dict but \[16,8\] in the module$/);
    expect(() => decodeCheckpoint(bytes, { model: big.model, optimizer: opt as Optimizer })).toThrow(/^decodeCheckpoint: the optimizer's state: the optimizer state dict is for "AdamW", but this optimizer is SGD$/);
    expect(() => decodeCheckpoint(bytes, { scheduler: sched })).toThrow(/^decodeCheckpoint: the scheduler's state: the scheduler state dict is for "OneCycleLR", but this scheduler is StepLR$/);
    // The optimizer's check passes, the model's fails: the optimizer's state is not applied either.
    const s6 = setup(6);
    const lr = s6.opt.lr;
    expect(() => decodeCheckpoint(bytes, { model: small, optimizer: s6.opt })).toThrow(ShapeError);
    expect(s6.opt.lr).toBe(lr);
    expect(s6.opt.stateDict().state.size).toBe(0);
  });

  test("arguments", () => {
    const s = setup(7);
    expect(() => encodeCheckpoint({ model: s.model }, { metadata: { "kdgrad.checkpoint": "x" } })).toThrow(/^encodeCheckpoint: metadata key "kdgrad\.checkpoint" is kdgrad's own/);
    expect(() => encodeCheckpoint({ model: s.opt } as never)).toThrow(/^encodeCheckpoint: model must be a Module, got a AdamW$/);
    expect(() => encodeCheckpoint({ weights: s.model } as never)).toThrow(/^encodeCheckpoint: unknown key "weights" in parts \(allowed: model, optimizer, scheduler, generator\)$/);
    expect(() => saveCheckpoint(join(root, "x.safetensors"), null as never)).toThrow(ValueError);
    expect(() => saveCheckpoint(join(root, "x.safetensors"), null as never)).toThrow(/^saveCheckpoint: parts must be an object/);
    expect(() => decodeCheckpoint(new Uint8Array(3), { model: s.model })).toThrow(/^decodeCheckpoint: decodeSafetensors: the file is too short/);
    // The options objects as every other (a typo was ignored); strict is checked even with no model to load.
    const bytes = encodeCheckpoint({ model: s.model, optimizer: s.opt });
    expect(() => encodeCheckpoint({ model: s.model }, { meta: { a: "b" } } as never)).toThrow(/^encodeCheckpoint: unknown key "meta" in options \(allowed: metadata\)$/);
    expect(() => decodeCheckpoint(bytes, { model: s.model }, { strick: false } as never)).toThrow(/^decodeCheckpoint: unknown key "strick" in options \(allowed: strict\)$/);
    expect(() => decodeCheckpoint(bytes, { optimizer: s.opt }, { strict: "no" } as never)).toThrow(/^decodeCheckpoint: strict must be true or false, got "no"$/);
    expect(() => saveCheckpoint(join(root, "y.safetensors"), { model: s.model }, { metadata: null } as never)).toThrow(/^saveCheckpoint: options\.metadata is null/);
    expect(() => loadCheckpoint(join(root, "y.safetensors"), { model: s.model }, { strict: null } as never)).toThrow(/^loadCheckpoint: options\.strict is null/);
  });
});
