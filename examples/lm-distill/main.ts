// Distil a small next-character model from a larger one (README.md beside this file).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  Adam, Generator, crossEntropy, linearDistillationLoss, logSoftmax, matmul, noGrad, randn, sparseDistillationLoss, tanh, tensor,
  type Tensor,
} from "kdgrad";
import { openTopKShards, saveSafetensors } from "kdgrad/node";

export interface Settings {
  /** Adam steps for each model (full batch). */
  steps: number;
  /** The teacher's and the students' hidden units. */
  teacherHidden: number;
  studentHidden: number;
  /** Teacher classes stored per position. */
  k: number;
  seed: number;
  /** Characters of the text used (0: all). */
  chars: number;
}

export const FULL: Settings = { steps: 300, teacherHidden: 64, studentHidden: 12, k: 8, seed: 0, chars: 0 };

const CONTEXT = 3;

/** A model: one-hot context [N, 3V] → tanh(x·W1 + b1) = h [N, H] → logits h·headᵀ [N, V]. */
interface Model {
  w1: Tensor;
  b1: Tensor;
  head: Tensor;
}

function model(V: number, H: number, g: Generator): Model {
  const init = (shape: number[], fan: number): Tensor => randn(shape, { generator: g, dtype: "float64" }).mul(1 / Math.sqrt(fan)).requiresGrad_();
  return { w1: init([CONTEXT * V, H], CONTEXT), b1: init([H], 1).mul(0).detach().requiresGrad_(), head: init([V, H], H) };
}

const hidden = (m: Model, x: Tensor): Tensor => tanh(matmul(x, m.w1).add(m.b1));
const logits = (m: Model, x: Tensor): Tensor => matmul(hidden(m, x), m.head.transpose(0, 1));
const params = (m: Model): Tensor[] => [m.w1, m.b1, m.head];

function train(m: Model, steps: number, loss: (step: number) => Tensor | Promise<Tensor>): Promise<void> {
  const opt = new Adam(params(m), { lr: 0.03 });
  return (async () => {
    for (let step = 0; step < steps; step++) {
      opt.zeroGrad();
      (await loss(step)).backward();
      opt.step();
    }
  })();
}

const perplexity = (m: Model, x: Tensor, y: Tensor): number => noGrad(() => Math.exp(crossEntropy(logits(m, x), y).item()));

/** Trains the teacher and three students; returns their perplexities on the held-out text. */
export async function main(s: Settings = FULL): Promise<Record<string, number>> {
  const full = readFileSync(fileURLToPath(new URL("text.txt", import.meta.url)), "utf8").replace(/\s+/g, " ").trim();
  const text = s.chars > 0 ? full.slice(0, s.chars) : full;
  const vocab = [...new Set(text)].sort();
  const V = vocab.length;
  const id = new Map(vocab.map((c, i) => [c, i]));
  // Position i predicts character i + 3 from characters i … i + 2 (one-hot, side by side).
  const n = text.length - CONTEXT;
  const xs = new Float64Array(n * CONTEXT * V);
  const ys = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < CONTEXT; j++) xs[i * CONTEXT * V + j * V + id.get(text[i + j]!)!] = 1;
    ys[i] = id.get(text[i + CONTEXT]!)!;
  }
  const cut = Math.floor(n * 0.85);
  const x = tensor(xs, { shape: [n, CONTEXT * V] });
  const y = tensor(ys, { shape: [n] });
  const [xTrain, xTest] = [x.slice(0, 0, cut), x.slice(0, cut, n)];
  const [yTrain, yTest] = [y.slice(0, 0, cut), y.slice(0, cut, n)];

  const g = new Generator(s.seed);
  const teacher = model(V, s.teacherHidden, g);
  await train(teacher, s.steps, () => crossEntropy(logits(teacher, xTrain), yTrain));

  // The teacher's top-k log-probabilities (T = 1) per training position, in two shards.
  const dir = mkdtempSync(join(tmpdir(), "kdgrad-lm-distill-"));
  try {
    const lp = noGrad(() => logSoftmax(logits(teacher, xTrain), -1)).toFlatArray();
    const half = Math.ceil(cut / 2);
    for (const [shard, from, to] of [[0, 0, half], [1, half, cut]] as const) {
      const rows = to - from;
      const indices = new Int32Array(rows * s.k);
      const values = new Float32Array(rows * s.k);
      for (let r = 0; r < rows; r++) {
        const row = lp.slice((from + r) * V, (from + r + 1) * V);
        const top = row.map((v, c) => [v, c] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, s.k);
        top.forEach(([v, c], j) => {
          indices[r * s.k + j] = c;
          values[r * s.k + j] = v;
        });
      }
      saveSafetensors(join(dir, `teacher-${shard}.safetensors`), {
        indices: tensor(indices, { shape: [rows, s.k] }), logprobs: tensor(values, { shape: [rows, s.k], dtype: "float32" }),
      }, { from: String(from) });
    }

    // Student 1: hard labels.
    const hard = model(V, s.studentHidden, new Generator(s.seed + 1));
    await train(hard, s.steps, () => crossEntropy(logits(hard, xTrain), yTrain));

    // Student 2: the stored top-k teacher, one shard per step in turn (a shard holds its rows' offset).
    const sparse = model(V, s.studentHidden, new Generator(s.seed + 1));
    const shards = openTopKShards(dir);
    await train(sparse, s.steps, (step) => {
      const shard = shards.load(step % shards.length);
      const from = Number(shard.metadata.from);
      const rows = shard.indices.shape[0]!;
      const xb = xTrain.slice(0, from, from + rows);
      const yb = yTrain.slice(0, from, from + rows);
      return sparseDistillationLoss(logits(sparse, xb), shard.indices, shard.logprobs.to("float64"), { labels: yb, temperature: 1, alpha: 0.5 });
    });

    // Student 3: the whole teacher through its head, without the [N, V] logits of all positions.
    const linear = model(V, s.studentHidden, new Generator(s.seed + 1));
    const teacherHidden = noGrad(() => hidden(teacher, xTrain));
    const teacherHead = teacher.head.detach();
    await train(linear, s.steps, () =>
      linearDistillationLoss(hidden(linear, xTrain), linear.head, teacherHidden, teacherHead, { labels: yTrain, temperature: 2, alpha: 0.5, chunkRows: 64 }));

    const result = {
      teacher: perplexity(teacher, xTest, yTest), hard: perplexity(hard, xTest, yTest),
      sparse: perplexity(sparse, xTest, yTest), linear: perplexity(linear, xTest, yTest),
    };
    console.log(`${V} characters, ${cut} training positions, ${n - cut} held out; ${s.steps} steps each`);
    console.log(`perplexity: teacher (${s.teacherHidden} units) ${result.teacher.toFixed(3)}`);
    console.log(`perplexity: student (${s.studentHidden} units), hard labels ${result.hard.toFixed(3)}`);
    console.log(`perplexity: student, sparseDistillationLoss (top-${s.k} shards) ${result.sparse.toFixed(3)}`);
    console.log(`perplexity: student, linearDistillationLoss ${result.linear.toFixed(3)}`);
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await main();
