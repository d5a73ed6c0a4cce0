import { Generator, ValueError, selectRows, type DType, type Tensor } from "../index.js";
import { UsageError, helpText, parseOptions, parseSizes, type OptionSpec } from "./args.js";
import type { CliIO, OutputWriter } from "./io.js";
import { Progress } from "./progress.js";
import { mean, meanStd, seconds, table } from "./format.js";
import { lineChart } from "./svg.js";
import {
  biasShiftFor, correctOfClass, defaultRecipe, errors, logitsOf, lossOptionsError, trainStudent, trainTeacher, withoutClass,
  type Hooks, type Module, type ModelResult, type Recipe, type Split,
} from "./recipe.js";
import { MAX_SEED, checkFiniteLogits, checkParameters } from "./checks.js";
import { checkMethodSettings, methodSettings, settingsText, type MethodOption } from "./methods.js";
import { DIVERGENCES } from "../losses/distillation-options.js";
import { mnistDistillCommand, takeDataset } from "./mnist.js";

const spec: Record<string, OptionSpec> = {
  method: { kind: "string", help: "kd, dkd, dist, nkd or wsld, each with its paper's defaults and training recipe (docs/distillation-methods.md)", default: "kd" },
  temperature: { kind: "number", help: "temperature T, in [1e-6, 1e6]; every method", default: "kd 8, dkd 4, dist 1, nkd 1, wsld 2" },
  alpha: { kind: "number", help: "kd: soft-term weight in [0, 1]; dkd: TCKD weight; wsld: soft-term weight (≥ 0)", default: "kd 0.9 (1 with --omit-class), dkd 1, wsld 2.5" },
  beta: { kind: "number", help: "dkd: NCKD weight; dist: inter-class relation weight (≥ 0)", default: "dkd 8, dist 1" },
  gamma: { kind: "number", help: "dist: intra-class relation weight; nkd: non-target weight (≥ 0)", default: "dist 1, nkd 1.5" },
  divergence: { kind: "string", help: `kd: the soft term's divergence, one of ${DIVERGENCES.join(", ")}`, default: "forward" },
  standardize: { kind: "flag", help: "kd, dkd: standardize each row of logits before dividing by T (Sun et al., 2024)" },
  seeds: { kind: "ints", help: "comma-separated seeds; several give mean ± std", default: "0" },
  teacher: { kind: "string", help: "teacher layer sizes", default: "64-256-256-10" },
  student: { kind: "string", help: "student layer sizes", default: "64-16-10" },
  epochs: { kind: "ints", help: "teacher,student epochs (one number sets both)", default: "60,500" },
  transfer: { kind: "string", help: "the student's transfer set: 10pct (135 images) or full (1347)", default: "10pct (full with --omit-class)" },
  "teacher-logits": { kind: "string", help: "distil from teacher logits in a .npy file [transfer size, 10] instead of training a teacher" },
  "omit-class": { kind: "int", help: "leave class K out of the student's transfer set (Hinton et al.'s dark-knowledge experiment)" },
  dataset: { kind: "string", help: "digits (this set) or mnist (see kdgrad distill --dataset mnist --help)", default: "digits" },
  json: { kind: "flag", help: "print one JSON object on stdout and nothing else there" },
  out: { kind: "string", help: "directory for report.json, the models (safetensors) and curves.svg" },
  help: { kind: "flag", help: "show this help" },
};

/** How each method combines with the hard-label cross-entropy (CE); printed under the options by --help. */
const METHOD_HELP = `
Methods (each trains as its reference recipe does; docs/distillation-methods.md, "In the command line"):
  kd     α·T²·D(teacher ‖ student) + (1 − α)·CE                reads --temperature --alpha --divergence --standardize
  dkd    CE + min(epoch/W, 1)·DKD, W = epochs/12 (warm-up)     reads --temperature --alpha --beta --standardize
  dist   CE + DIST (a one-row batch: CE alone)                 reads --temperature --beta --gamma
  nkd    CE + NKD                                              reads --temperature --gamma
  wsld   WSLD, which contains the CE                           reads --temperature --alpha
An option a method does not read is refused.
`;

export interface ModelRun extends ModelResult {
  model: Module | null;
}

export interface SeedRun {
  seed: number;
  teacher: ModelRun | null;
  hard: ModelRun;
  distilled: ModelRun;
  omitted?: { of: number; hard: number; before: number; after: number; shift: number; afterErrors: number };
}

export interface DistillConfig {
  recipe: Recipe;
  seeds: number[];
  transfer: "10pct" | "full";
  teacherLogits?: string;
  omitClass?: number;
  json: boolean;
  out?: string;
}

/** Read and check the options of `kdgrad distill` (UsageError on anything malformed). */
export function distillConfig(argv: readonly string[]): DistillConfig | "help" {
  const o = parseOptions(argv, spec, "distill");
  if (o.help) return "help";
  const omitClass = o["omit-class"] as number | undefined;
  if (omitClass !== undefined && (omitClass < 0 || omitClass > 9)) {
    throw new UsageError(`kdgrad distill: --omit-class must be a digit class in [0, 9], got ${omitClass}`);
  }
  const recipe: Recipe = { ...defaultRecipe };
  const methodName = (o.method as string | undefined) ?? "kd";
  if (methodName === "kd") {
    if (o.temperature !== undefined) recipe.temperature = o.temperature as number;
    recipe.alpha = (o.alpha as number | undefined) ?? (omitClass !== undefined ? 1 : defaultRecipe.alpha);
    if (!(recipe.alpha >= 0 && recipe.alpha <= 1)) throw new UsageError(`kdgrad distill: --alpha must be in [0, 1], got ${recipe.alpha}`);
  }
  if (o.teacher !== undefined) recipe.teacherSizes = parseSizes(o.teacher as string, "--teacher", "distill");
  if (o.student !== undefined) recipe.studentSizes = parseSizes(o.student as string, "--student", "distill");
  for (const [name, sizes] of [["--teacher", recipe.teacherSizes], ["--student", recipe.studentSizes]] as const) {
    if (sizes[0] !== 64 || sizes[sizes.length - 1] !== 10) {
      throw new UsageError(`kdgrad distill: ${name} must start with 64 inputs and end with 10 classes, got ${sizes.join("-")}`);
    }
    checkParameters(sizes, name, "distill");
  }
  const epochs = o.epochs as number[] | undefined;
  if (epochs !== undefined) {
    if (epochs.length > 2 || epochs.some((e) => e < 1)) throw new UsageError(`kdgrad distill: --epochs takes one or two positive integers (teacher,student), got ${epochs.join(",")}`);
    recipe.teacherEpochs = epochs[0]!;
    recipe.studentEpochs = epochs[1] ?? epochs[0]!;
  }
  const given = { temperature: o.temperature, alpha: o.alpha, beta: o.beta, gamma: o.gamma, divergence: o.divergence, standardize: o.standardize } as Partial<Record<MethodOption, number | string | boolean>>;
  const settings = methodSettings(methodName, given, recipe.studentEpochs, "distill");
  // Plain KD (no --divergence, no --standardize) keeps the recipe without a method: the call
  // `kdgrad distill` has always made, and the report.json it has always written.
  if (settings.method !== "kd") recipe.method = settings;
  else if (settings.divergence !== undefined || settings.standardize) recipe.method = { ...settings, temperature: recipe.temperature, alpha: recipe.alpha };
  const seeds = (o.seeds as number[] | undefined) ?? [0];
  // A seed's students draw from seed + 2³² (studentGenerator), which must stay an exact integer.
  const badSeed = seeds.find((s) => s < 0 || s > MAX_SEED);
  if (badSeed !== undefined) throw new UsageError(`kdgrad distill: --seeds must be integers in [0, ${MAX_SEED}], got ${badSeed}`);
  if (new Set(seeds).size !== seeds.length) throw new UsageError(`kdgrad distill: --seeds repeats a seed (${seeds.join(",")})`);
  // The dark-knowledge experiment follows Hinton et al.: the whole training set, less one class, is the transfer set.
  const transfer = (o.transfer as string | undefined) ?? (omitClass !== undefined ? "full" : "10pct");
  if (transfer !== "10pct" && transfer !== "full") throw new UsageError(`kdgrad distill: --transfer must be 10pct or full, got '${transfer}'`);
  checkLossOptions(recipe, "float32", "distill");
  if (recipe.method !== undefined) checkMethodSettings(recipe.method, "float32", "distill");
  return {
    recipe, seeds, transfer, json: o.json === true,
    ...(o["teacher-logits"] !== undefined ? { teacherLogits: o["teacher-logits"] as string } : {}),
    ...(omitClass !== undefined ? { omitClass } : {}),
    ...(o.out !== undefined ? { out: o.out as string } : {}),
  };
}

/**
 * Refuse, before any training, a temperature or alpha the distillation loss refuses (the
 * library decides the accepted ranges; lossOptionsError asks it), naming the option.
 */
export function checkLossOptions(recipe: Pick<Recipe, "temperature" | "alpha">, teacherDtype: DType, command: string, plural = ""): void {
  const refused = lossOptionsError(recipe, teacherDtype);
  if (refused !== null) {
    throw new UsageError(`kdgrad ${command}: --${refused.option}${plural} ${recipe[refused.option]} is refused by the loss: ${refused.error.message.split("\n")[0]}`);
  }
}

/** Train (or load) the teacher, train both students, evaluate; one seed. */
export async function runSeed(config: DistillConfig, data: ReturnType<CliIO["loadDigits"]>, seed: number, fileLogits: Tensor | null, hooks: Hooks): Promise<SeedRun | null> {
  const { recipe } = config;
  const generator = new Generator(seed);
  const transfer: Split = config.transfer === "full" ? data.train : data.train_10pct;
  let teacher: ModelRun | null = null;
  let teacherLogits: Tensor;
  if (fileLogits) teacherLogits = fileLogits;
  else {
    const t = await trainTeacher(recipe, data.train, data.test, generator, hooks);
    if (t.result.curve.stopped) return null;
    teacher = { ...t.result, model: t.model };
    teacherLogits = logitsOf(t.model, transfer.x);
  }
  const k = config.omitClass;
  const seen = k === undefined ? { ...transfer, rows: transfer.y.toFlatArray().map((_, i) => i) } : withoutClass(transfer, k);
  const seenLogits = k === undefined ? teacherLogits : selectRows(teacherLogits, seen.rows);
  // Both students start from the same weights and see the same batch order:
  // the loss is the only difference between them.
  const hard = await trainStudent(recipe, seen, null, data.test, studentGenerator(seed), "hard", hooks);
  if (hard.result.curve.stopped) return null;
  const distilled = await trainStudent(recipe, seen, seenLogits, data.test, studentGenerator(seed), "distilled", hooks);
  if (distilled.result.curve.stopped) return null;
  const run: SeedRun = { seed, teacher, hard: { ...hard.result, model: hard.model }, distilled: { ...distilled.result, model: distilled.model } };
  if (k !== undefined) {
    const testLogits = (m: Module): Tensor => logitsOf(m, data.test.x);
    const before = correctOfClass(testLogits(distilled.model), data.test, k);
    const target = transfer.y.toFlatArray().filter((v) => v === k).length;
    const shift = biasShiftFor(logitsOf(distilled.model, transfer.x), k, target);
    raiseBias(distilled.model, k, shift);
    run.omitted = {
      of: data.test.y.toFlatArray().filter((v) => v === k).length,
      hard: correctOfClass(testLogits(hard.model), data.test, k),
      before,
      after: correctOfClass(testLogits(distilled.model), data.test, k),
      shift,
      afterErrors: errors(distilled.model, data.test),
    };
  }
  return run;
}

/** The generator of a seed's students (a stream apart from the teacher's). */
export function studentGenerator(seed: number): Generator {
  return new Generator(seed + 2 ** 32);
}

/** Add `shift` to the output bias of class k (the last bias of the model). */
function raiseBias(model: Module, k: number, shift: number): void {
  const biases = model.namedParameters().filter(([name]) => name.endsWith("bias"));
  const bias = biases[biases.length - 1]?.[1];
  if (!bias) throw new ValueError("distill: the student has no output bias to correct");
  bias.data[k] = bias.data[k]! + shift;
}

/** `kdgrad distill`. Returns the exit code. */
export async function distillCommand(argv: readonly string[], io: CliIO): Promise<number> {
  const { dataset, rest } = takeDataset(argv, "distill");
  if (dataset === "mnist") return mnistDistillCommand(rest, io);
  const config = distillConfig(rest);
  if (config === "help") {
    io.stdout.write(helpText("distill", "train a teacher, distil it into a small student on the digits set, and compare", spec) + METHOD_HELP);
    return 0;
  }
  const data = io.loadDigits();
  const transfer = config.transfer === "full" ? data.train : data.train_10pct;
  let fileLogits: Tensor | null = null;
  if (config.teacherLogits !== undefined) {
    fileLogits = io.readNpy(config.teacherLogits);
    const want = [transfer.y.size, 10];
    if (fileLogits.ndim !== 2 || fileLogits.shape[0] !== want[0] || fileLogits.shape[1] !== want[1]) {
      throw new UsageError(`kdgrad distill: ${config.teacherLogits} holds an array of shape [${fileLogits.shape.join(",")}] but the ${config.transfer} transfer set needs [${want.join(",")}]`);
    }
    if (fileLogits.dtype === "int32") throw new UsageError(`kdgrad distill: ${config.teacherLogits} holds int32 values; teacher logits must be float32 or float64`);
    checkFiniteLogits(fileLogits, config.teacherLogits, "distill");
    checkLossOptions(config.recipe, fileLogits.dtype, "distill");
    if (config.recipe.method !== undefined) checkMethodSettings(config.recipe.method, fileLogits.dtype, "distill");
  }
  // Checked (and reserved) now, not after the training: see OutputDirectory.
  const output = config.out === undefined ? null : io.openOutput(config.out, "--out", isDistillOutput);
  let stop = false;
  const removeHandler = io.onInterrupt(() => {
    stop = true;
  });
  const started = performance.now();
  const runs: SeedRun[] = [];
  const { recipe } = config;
  try {
    for (const seed of config.seeds) {
      let bar: Progress | null = null;
      const hooks: Hooks = {
        shouldStop: () => stop,
        onEpoch: (stage, epoch, epochs, info) => {
          if (!bar) bar = new Progress(io.stderr, `seed ${seed} ${stage}`, epochs, io.stderr.isTTY === true && !config.json);
          bar.update(epoch, info);
          if (epoch === epochs) {
            bar.done();
            bar = null;
          }
        },
      };
      const run = await runSeed(config, data, seed, fileLogits, { ...hooks, ...(io.pause ? { pause: io.pause } : {}) });
      (bar as Progress | null)?.done();
      if (run === null) break;
      runs.push(run);
    }
  } catch (e) {
    output?.abort();
    throw e;
  } finally {
    removeHandler();
  }
  const wall = (performance.now() - started) / 1000;
  const report = reportObject(config, runs, wall);
  if (output !== null) {
    try {
      writeOutputs(output, config, runs, report);
      output.commit();
    } catch (e) {
      output.abort();
      throw e;
    }
  }
  if (config.json) io.stdout.write(JSON.stringify(report) + "\n");
  else io.stdout.write(humanReport(config, runs, wall, stop));
  if (stop) {
    io.stderr.write(`kdgrad: interrupted; ${runs.length === 0 ? "no seed finished" : `reported the ${runs.length} finished seed(s)`}\n`);
    return 130;
  }
  return 0;
}

interface Report {
  seeds: number[];
  seconds: number;
  teacher: { errors: (number | null)[]; accuracy: (number | null)[] };
  hard: { errors: number[]; accuracy: number[] };
  distilled: { errors: number[]; accuracy: number[] };
  omitted?: { class: number; of: number; hard: number[]; before: number[]; after: number[] };
}

function reportObject(config: DistillConfig, runs: SeedRun[], wall: number): Report {
  const pick = (f: (r: SeedRun) => ModelRun) => ({ errors: runs.map((r) => f(r).errors), accuracy: runs.map((r) => f(r).accuracy) });
  const report: Report = {
    seeds: runs.map((r) => r.seed),
    seconds: Number(wall.toFixed(3)),
    teacher: { errors: runs.map((r) => r.teacher?.errors ?? null), accuracy: runs.map((r) => r.teacher?.accuracy ?? null) },
    hard: pick((r) => r.hard),
    distilled: pick((r) => r.distilled),
  };
  if (config.omitClass !== undefined) {
    report.omitted = {
      class: config.omitClass,
      of: runs[0]?.omitted?.of ?? 0,
      hard: runs.map((r) => r.omitted!.hard),
      before: runs.map((r) => r.omitted!.before),
      after: runs.map((r) => r.omitted!.after),
    };
  }
  return report;
}

function humanReport(config: DistillConfig, runs: SeedRun[], wall: number, interrupted: boolean): string {
  if (runs.length === 0) return "No seed finished.\n";
  const { recipe } = config;
  const n = 450;
  const row = (name: string, f: (r: SeedRun) => ModelRun | null): string[] => {
    const rs = runs.map(f).filter((r): r is ModelRun => r !== null);
    if (rs.length === 0) return [name, "-", "(from file)", "-", "-"];
    return [
      name,
      String(rs[0]!.parameters),
      `${meanStd(rs.map((r) => 100 * r.accuracy), 2)} %`,
      `${meanStd(rs.map((r) => r.errors))} / ${n}`,
      seconds(mean(rs.map((r) => r.seconds))),
    ];
  };
  const soft = studentLabel(recipe);
  const omit = config.omitClass !== undefined ? `, no ${config.omitClass}s` : "";
  const lines: string[] = [];
  lines.push(`kdgrad distill — digits (8×8), ${runs.length} seed(s): ${runs.map((r) => r.seed).join(", ")}${interrupted ? " (interrupted)" : ""}`);
  lines.push(`transfer set: ${config.transfer === "full" ? "train (1347 images)" : "train_10pct (135 images)"}${omit}; test set: 450 images; argmax at T = 1`);
  lines.push("");
  lines.push(table(["model", "parameters", "test accuracy", "errors", "training time"], [
    row(config.teacherLogits !== undefined ? `teacher: logits from ${config.teacherLogits}` : `teacher ${recipe.teacherSizes.join("-")}`, (r) => r.teacher),
    row(`student ${recipe.studentSizes.join("-")}, hard labels${omit}`, (r) => r.hard),
    row(`student ${recipe.studentSizes.join("-")}, ${soft}${omit}`, (r) => r.distilled),
  ]));
  const gain = runs.map((r) => r.hard.errors - r.distilled.errors);
  lines.push("");
  lines.push(`Gain from distillation: ${meanStd(gain)} fewer errors out of ${n} (${(100 * mean(gain) / n).toFixed(2)} points of accuracy).`);
  if (config.omitClass !== undefined) {
    const k = config.omitClass;
    const of = runs[0]!.omitted!.of;
    lines.push("");
    lines.push(`Class ${k} was never shown to the students. Test ${k}s classified correctly (of ${of}):`);
    lines.push(table(["student", `correct ${k}s`, "test accuracy"], [
      ["hard labels", meanStd(runs.map((r) => r.omitted!.hard)), `${meanStd(runs.map((r) => 100 * r.hard.accuracy), 2)} %`],
      ["distilled", meanStd(runs.map((r) => r.omitted!.before)), `${meanStd(runs.map((r) => 100 * r.distilled.accuracy), 2)} %`],
      [`distilled, bias of ${k} raised by ${meanStd(runs.map((r) => r.omitted!.shift), 2)}`, meanStd(runs.map((r) => r.omitted!.after)), `${meanStd(runs.map((r) => 100 * (1 - r.omitted!.afterErrors / n)), 2)} %`],
    ]));
    lines.push(`(The bias is raised until the student predicts as many ${k}s on the unlabelled transfer inputs as the transfer set holds.)`);
  }
  lines.push("");
  lines.push(`Total time ${seconds(wall)}.`);
  return lines.join("\n") + "\n";
}

/** "T = 8, α = 0.9", or "T = 8" when α = 1 (no hard-label term). */
function softText(recipe: Pick<Recipe, "temperature" | "alpha">): string {
  return recipe.alpha === 1 ? `T = ${recipe.temperature}` : `T = ${recipe.temperature}, α = ${recipe.alpha}`;
}

/** "distilled (T = 8, α = 0.9)" for KD, "DKD (α = 1, β = 8, T = 4, warm-up 42 epochs)" for the others. */
export function studentLabel(recipe: Pick<Recipe, "temperature" | "alpha" | "method">): string {
  const m = recipe.method;
  if (m === undefined) return `distilled (${softText(recipe)})`;
  return `${m.method === "kd" ? "distilled" : m.method.toUpperCase()} (${settingsText(m)})`;
}

/**
 * The recipe as run: without the teacher's architecture and training when its logits came
 * from a file, and without KD's temperature and alpha when another method ran.
 */
function recipeUsed(config: DistillConfig): Partial<Recipe> {
  let used: Partial<Recipe> = config.recipe;
  if (config.teacherLogits !== undefined) {
    const { teacherSizes: _s, teacherDropout: _d, teacherEpochs: _e, teacherLr: _l, ...rest } = used;
    used = rest;
  }
  if (config.recipe.method !== undefined) {
    const { temperature: _t, alpha: _a, ...rest } = used;
    used = rest;
  }
  return used;
}

/** The files `kdgrad distill --out` writes; a directory holding nothing else may be replaced. */
export function isDistillOutput(name: string): boolean {
  return /^(?:report\.json|curves\.svg|(?:teacher|student-hard|student-distilled)-seed[0-9]+\.safetensors)$/.test(name);
}

function writeOutputs(out: OutputWriter, config: DistillConfig, runs: SeedRun[], report: Report): void {
  const full = {
    ...report,
    recipe: recipeUsed(config),
    ...(config.teacherLogits !== undefined ? { teacherLogits: config.teacherLogits } : {}),
    transfer: config.transfer,
    curves: runs.map((r) => ({
      seed: r.seed,
      teacher: r.teacher ? { loss: r.teacher.curve.losses, accuracy: r.teacher.curve.accuracy } : null,
      hard: { loss: r.hard.curve.losses, accuracy: r.hard.curve.accuracy },
      distilled: { loss: r.distilled.curve.losses, accuracy: r.distilled.curve.accuracy },
    })),
  };
  out.writeFile("report.json", JSON.stringify(full, null, 2) + "\n");
  for (const r of runs) {
    const meta = { seed: String(r.seed), recipe: JSON.stringify(recipeUsed(config)) };
    if (r.teacher?.model) out.saveModel(`teacher-seed${r.seed}.safetensors`, r.teacher.model.stateDict(), meta);
    out.saveModel(`student-hard-seed${r.seed}.safetensors`, r.hard.model!.stateDict(), meta);
    out.saveModel(`student-distilled-seed${r.seed}.safetensors`, r.distilled.model!.stateDict(), meta);
  }
  if (runs.length > 0) {
    const r = runs[0]!;
    const curve = (name: string, acc: number[]) => ({ name, points: acc.map((a, i) => [i + 1, 100 * a] as const) });
    const series = [curve("student, hard labels", r.hard.curve.accuracy), curve(`student, ${studentLabel(config.recipe)}`, r.distilled.curve.accuracy)];
    if (r.teacher) series.unshift(curve("teacher", r.teacher.curve.accuracy));
    out.writeFile("curves.svg", lineChart({ title: `Test accuracy during training (seed ${r.seed})`, xLabel: "epoch", yLabel: "test accuracy (%)", series }));
  }
}

export { spec as distillSpec };
