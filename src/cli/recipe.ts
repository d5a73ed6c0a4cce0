/**
 * The training recipes behind `kdgrad distill` and `kdgrad sweep`: train a
 * classifier, compute a teacher's logits once, distil a student, evaluate
 * by argmax at T = 1. Pure library code (no file access); the commands add
 * progress, files and output.
 */
import {
  Adam, Generator, KdgradError, Tensor, batches, countParameters, crossEntropy, distillationLoss, mlp, noGrad, predict,
  selectRows, tensor, zeros, type DType, type Module,
} from "../index.js";
import { methodLoss, type MethodSettings } from "./methods.js";

export interface Split {
  x: Tensor;
  y: Tensor;
}

export interface Hooks {
  /** Called after every epoch. */
  onEpoch?(stage: string, epoch: number, epochs: number, info: { loss: number; examples: number }): void;
  /** Polled between batches: true stops training (Ctrl-C). */
  shouldStop?(): boolean;
  /**
   * Awaited after every epoch: a chance for the host to run its event loop
   * (a Ctrl-C handler can only run there), e.g. one setImmediate tick.
   */
  pause?(): Promise<void>;
}

export interface FitResult {
  /** Mean training loss per epoch. */
  losses: number[];
  /** Test accuracy after each epoch, when a test set is given. */
  accuracy: number[];
  seconds: number;
  /** Whether training was stopped early. */
  stopped: boolean;
}

export interface FitOptions {
  stage: string;
  epochs: number;
  batchSize: number;
  lr: number;
  generator: Generator;
  /** The loss of one batch, from its logits, the positions of its rows in the training set and the epoch (from 1). */
  loss(logits: Tensor, y: Tensor, rows: number[], epoch: number): Tensor;
  test?: Split;
  hooks?: Hooks;
}

/** Train `model` with Adam on (x, y), shuffling each epoch with the seeded generator. */
export async function fit(model: Module, data: Split, options: FitOptions): Promise<FitResult> {
  const { stage, epochs, batchSize, lr, generator, hooks } = options;
  const optimizer = new Adam(model.parameters(), { lr });
  const losses: number[] = [];
  const accuracy: number[] = [];
  const started = performance.now();
  let stopped = false;
  for (let epoch = 1; epoch <= epochs && !stopped; epoch++) {
    model.train();
    let total = 0;
    let count = 0;
    for (const batch of batches(data.x, data.y, { batchSize, shuffle: true, generator })) {
      if (hooks?.shouldStop?.()) {
        stopped = true;
        break;
      }
      const loss = options.loss(model.forward(batch.x), batch.y, batch.indices, epoch);
      optimizer.zeroGrad();
      loss.backward();
      optimizer.step();
      total += loss.item() * batch.indices.length;
      count += batch.indices.length;
    }
    if (stopped) break;
    losses.push(total / count);
    if (options.test) accuracy.push(1 - errors(model, options.test) / options.test.y.size);
    hooks?.onEpoch?.(stage, epoch, epochs, { loss: total / count, examples: count });
    await hooks?.pause?.();
    if (hooks?.shouldStop?.()) stopped = true;
  }
  return { losses, accuracy, seconds: (performance.now() - started) / 1000, stopped };
}

/** Logits of `x` in eval mode, without recording a graph. */
export function logitsOf(model: Module, x: Tensor): Tensor {
  return noGrad(() => {
    model.eval();
    return model.forward(x);
  });
}

/** Misclassified examples: argmax at T = 1 against the labels. */
export function errors(model: Module, data: Split): number {
  const guess = predict(logitsOf(model, data.x)).toFlatArray();
  const truth = data.y.toFlatArray();
  return guess.reduce((n, g, i) => n + (g === truth[i] ? 0 : 1), 0);
}

/** Correctly classified examples of one class. */
export function correctOfClass(logits: Tensor, data: Split, k: number): number {
  const guess = predict(logits).toFlatArray();
  const truth = data.y.toFlatArray();
  return truth.reduce((n, t, i) => n + (t === k && guess[i] === k ? 1 : 0), 0);
}

export interface Recipe {
  teacherSizes: number[];
  studentSizes: number[];
  teacherDropout: number;
  teacherEpochs: number;
  studentEpochs: number;
  teacherLr: number;
  studentLr: number;
  batchSize: number;
  temperature: number;
  alpha: number;
  /**
   * The distilled student's method when it is not plain KD at `temperature` and `alpha`
   * (src/cli/methods.ts); absent, the student trains as `kdgrad distill` always has.
   */
  method?: MethodSettings;
}

/** The default recipe, the same as the PyTorch reference run. */
export const defaultRecipe: Recipe = {
  teacherSizes: [64, 256, 256, 10],
  studentSizes: [64, 16, 10],
  teacherDropout: 0.2,
  teacherEpochs: 60,
  studentEpochs: 500,
  teacherLr: 1e-3,
  studentLr: 3e-3,
  batchSize: 32,
  temperature: 8,
  alpha: 0.9,
};

export interface ModelResult {
  errors: number;
  accuracy: number;
  parameters: number;
  seconds: number;
  curve: FitResult;
}

/** Train the teacher on `train` with cross-entropy; seeded by `generator`. */
export async function trainTeacher(recipe: Recipe, train: Split, test: Split, generator: Generator, hooks?: Hooks): Promise<{ model: Module; result: ModelResult }> {
  const model = mlp(recipe.teacherSizes, { dropout: recipe.teacherDropout, generator });
  const curve = await fit(model, train, {
    stage: "teacher", epochs: recipe.teacherEpochs, batchSize: recipe.batchSize, lr: recipe.teacherLr, generator,
    loss: (logits, y) => crossEntropy(logits, y), test, hooks,
  });
  return { model, result: summarise(model, test, curve) };
}

/**
 * Train a student on the transfer set: on hard labels when `teacherLogits`
 * is null, else distilled from those logits (one row per transfer example)
 * with the recipe's method, by default KD at its temperature and alpha.
 */
export async function trainStudent(
  recipe: Recipe, transfer: Split, teacherLogits: Tensor | null, test: Split, generator: Generator, stage: string, hooks?: Hooks,
): Promise<{ model: Module; result: ModelResult }> {
  const model = mlp(recipe.studentSizes, { generator });
  const method = recipe.method;
  const loss = teacherLogits === null
    ? (logits: Tensor, y: Tensor) => crossEntropy(logits, y)
    : method === undefined
      ? (logits: Tensor, y: Tensor, rows: number[]) => distillationLoss(logits, selectRows(teacherLogits, rows), softOptions(recipe, y))
      : (logits: Tensor, y: Tensor, rows: number[], epoch: number) => methodLoss(method, logits, selectRows(teacherLogits, rows), y, epoch);
  const curve = await fit(model, transfer, {
    stage, epochs: recipe.studentEpochs, batchSize: recipe.batchSize, lr: recipe.studentLr, generator, loss, test, hooks,
  });
  return { model, result: summarise(model, test, curve) };
}

/** The distilled student's loss options: no labels (and no hard term) when alpha = 1. */
function softOptions(recipe: Pick<Recipe, "temperature" | "alpha">, labels: Tensor) {
  return recipe.alpha === 1 ? { temperature: recipe.temperature } : { labels, temperature: recipe.temperature, alpha: recipe.alpha };
}

/**
 * Run the distilled student's loss once, on a 1×10 example in the dtypes training will use
 * (the student's float32 logits, the teacher's `teacherDtype`), with the recipe's temperature
 * and then its alpha: whatever the library refuses (the temperature range its
 * checkTemperature accepts, alpha outside [0, 1], …) is then refused before any training,
 * whichever range the library settles on. Returns the option refused and the library's
 * error, or null.
 */
export function lossOptionsError(recipe: Pick<Recipe, "temperature" | "alpha">, teacherDtype: DType = "float32"): { option: "temperature" | "alpha"; error: KdgradError } | null {
  const s = zeros([1, 10], { dtype: "float32" });
  const t = zeros([1, 10], { dtype: teacherDtype });
  const labels = tensor([0], { dtype: "int32" });
  const attempts = [
    ["temperature", { temperature: recipe.temperature }],
    ["alpha", softOptions(recipe, labels)],
  ] as const;
  for (const [option, options] of attempts) {
    try {
      noGrad(() => distillationLoss(s, t, options));
    } catch (e) {
      if (e instanceof KdgradError) return { option, error: e };
      throw e;
    }
  }
  return null;
}

function summarise(model: Module, test: Split, curve: FitResult): ModelResult {
  const e = errors(model, test);
  return { errors: e, accuracy: 1 - e / test.y.size, parameters: countParameters(model), seconds: curve.seconds, curve };
}

/** The rows of `data` whose label is not `k`. */
export function withoutClass(data: Split, k: number): Split & { rows: number[] } {
  const y = data.y.toFlatArray();
  const rows = y.flatMap((v, i) => (v === k ? [] : [i]));
  return { x: selectRows(data.x, rows), y: selectRows(data.y, rows), rows };
}

/**
 * The bias shift δ for class k that makes the model predict k for exactly
 * `target` of the given logits' rows (or as close as ties allow): row i
 * turns to k once δ exceeds its margin mᵢ = max_{j≠k} zᵢⱼ − zᵢₖ, so with the
 * margins sorted, δ is placed midway between the target-th and the next.
 */
export function biasShiftFor(logits: Tensor, k: number, target: number): number {
  const [n, c] = logits.shape as [number, number];
  const z = logits.toFlatArray();
  const margins: number[] = [];
  for (let i = 0; i < n; i++) {
    let best = -Infinity;
    for (let j = 0; j < c; j++) if (j !== k) best = Math.max(best, z[i * c + j]!);
    margins.push(best - z[i * c + k]!);
  }
  margins.sort((a, b) => a - b);
  if (target <= 0) return Math.min(0, margins[0]! - 1);
  if (target >= n) return margins[n - 1]! + 1;
  return (margins[target - 1]! + margins[target]!) / 2;
}

export type { Module };
