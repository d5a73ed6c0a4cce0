import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AdamW, CosineAnnealingLR, Generator, LinearLR, SequentialLR,
  accuracy, batches, clipGradNorm, crossEntropy, mlp, noGrad, trainTestSplit,
} from "kdgrad";
import { loadCheckpoint, loadDigits, saveCheckpoint } from "kdgrad/node";

const g = new Generator(0);
const { train, test } = loadDigits();
// Hold out a fifth of the training rows for validation.
const [xTrain, xVal, yTrain, yVal] = trainTestSplit([train.x, train.y], { testSize: 0.2, generator: g });

const model = mlp([64, 128, 10], { dropout: 0.1, generator: g });
console.log(String(model));

const epochs = 8;
const loader = batches(xTrain, yTrain, { batchSize: 64, generator: g });
const opt = new AdamW(model.parameters(), { lr: 1e-2, weightDecay: 1e-2 });
// One epoch of linear warm-up from lr/10, then a cosine down to 0 over the remaining steps.
const warmup = new LinearLR(opt, { startFactor: 0.1, totalIters: loader.length });
const cosine = new CosineAnnealingLR(opt, { tMax: (epochs - 1) * loader.length });
const scheduler = new SequentialLR(opt, { schedulers: [warmup, cosine], milestones: [loader.length] });

for (let epoch = 1; epoch <= epochs; epoch++) {
  model.train();
  for (const { x, y } of loader) {
    opt.zeroGrad();
    crossEntropy(model.forward(x), y).backward();
    clipGradNorm(model.parameters(), 1.0);
    opt.step();
    scheduler.step(); // per batch: the schedules above count steps, not epochs
  }
  const val = noGrad(() => accuracy(model.eval().forward(xVal), yVal));
  console.log(`epoch ${epoch}: lr ${scheduler.getLastLr()[0]!.toExponential(2)}, validation accuracy ${val.toFixed(3)}`);
}

// Save everything a resumed run needs; load the weights alone into a fresh model.
const dir = mkdtempSync(join(tmpdir(), "kdgrad-training-"));
const path = join(dir, "digits.safetensors");
saveCheckpoint(path, { model, optimizer: opt, scheduler, generator: g }, { metadata: { epoch: String(epochs) } });
const fresh = mlp([64, 128, 10], { dropout: 0.1 });
const { metadata } = loadCheckpoint(path, { model: fresh });
rmSync(dir, { recursive: true, force: true });
const testAccuracy = noGrad(() => accuracy(fresh.eval().forward(test.x), test.y));
console.log(`test accuracy after epoch ${metadata.epoch}: ${testAccuracy.toFixed(3)}`);
