import { Generator, type Tensor } from "../index.js";
import { UsageError, helpText, parseOptions, type OptionSpec } from "./args.js";
import type { CliIO } from "./io.js";
import { Progress } from "./progress.js";
import { mean, meanStd, seconds, std, table } from "./format.js";
import { barChart } from "./svg.js";
import { defaultRecipe, logitsOf, trainStudent, trainTeacher, type Hooks, type Recipe } from "./recipe.js";
import { studentGenerator } from "./distill.js";
import { METHODS, methodDefaults, settingsText, type Method } from "./methods.js";

/** The most seeds `kdgrad compare` runs: 1000 seeds take about 2 h 15 min here (8 s a seed). */
export const MAX_COMPARE_SEEDS = 1000;

const spec: Record<string, OptionSpec> = {
  seeds: { kind: "int", help: `how many seeds: 0, 1, …, N − 1 (mean ± std over them), at most ${MAX_COMPARE_SEEDS}`, default: "5" },
  epochs: { kind: "ints", help: "teacher,student epochs (one number sets both); small values make a quick run", default: "60,500" },
  json: { kind: "flag", help: "print one JSON object on stdout and nothing else there" },
  out: { kind: "string", help: "write the table as an SVG chart to this .svg file" },
  help: { kind: "flag", help: "show this help" },
};

/** One row of the comparison: the hard-label student or a method, with its errors per seed. */
export interface CompareRow {
  method: "hard" | Method;
  settings: string;
  errors: number[];
}

/** What `kdgrad compare --json` prints. */
export interface CompareReport {
  seeds: number[];
  seconds: number;
  epochs: [number, number];
  testSize: number;
  teacher: { errors: number[] };
  rows: CompareRow[];
}

/** The recipe a method's student trains with: KD as `kdgrad distill` runs it (no method field), the others with their defaults. */
function recipeFor(base: Recipe, method: Method): Recipe {
  return method === "kd" ? base : { ...base, method: methodDefaults(method, base.studentEpochs) };
}

/**
 * `kdgrad compare`: the default student trained with every method on the digits transfer
 * set. For each seed one teacher is trained (as `kdgrad distill` trains it) and its logits
 * on the transfer set are shared by every method; each student, the hard-label one
 * included, starts from the same weights and sees the same batches (studentGenerator(seed):
 * the losses draw no random numbers), so the loss is the only difference between the rows.
 */
export async function compareCommand(argv: readonly string[], io: CliIO): Promise<number> {
  const o = parseOptions(argv, spec, "compare");
  if (o.help) {
    io.stdout.write(helpText("compare", "train the default student with every distillation method and compare test errors", spec));
    return 0;
  }
  const count = (o.seeds as number | undefined) ?? 5;
  if (count < 1 || count > MAX_COMPARE_SEEDS) throw new UsageError(`kdgrad compare: --seeds must be a number of seeds in [1, ${MAX_COMPARE_SEEDS}], got ${count}`);
  const base: Recipe = { ...defaultRecipe };
  const epochs = o.epochs as number[] | undefined;
  if (epochs !== undefined) {
    if (epochs.length > 2 || epochs.some((e) => e < 1)) throw new UsageError(`kdgrad compare: --epochs takes one or two positive integers (teacher,student), got ${epochs.join(",")}`);
    base.teacherEpochs = epochs[0]!;
    base.studentEpochs = epochs[1] ?? epochs[0]!;
  }
  const outPath = o.out as string | undefined;
  if (outPath !== undefined && !outPath.toLowerCase().endsWith(".svg")) {
    throw new UsageError(`kdgrad compare: --out must name an .svg file, got '${outPath}'`);
  }
  const json = o.json === true;
  const data = io.loadDigits();
  // Checked now, not after the training.
  const output = outPath === undefined ? null : io.openOutputFile(outPath, "--out");
  const transfer = data.train_10pct;
  const seeds = Array.from({ length: count }, (_, i) => i);

  let stop = false;
  const remove = io.onInterrupt(() => void (stop = true));
  const started = performance.now();
  const bar = new Progress(io.stderr, "compare", seeds.length * (2 + METHODS.length), io.stderr.isTTY === true && !json);
  let done = 0;
  const hooks: Hooks = { shouldStop: () => stop, ...(io.pause ? { pause: io.pause } : {}) };
  const rows: CompareRow[] = [
    { method: "hard", settings: "cross-entropy on the labels", errors: [] },
    ...METHODS.map((method): CompareRow => ({ method, settings: settingsText(methodDefaults(method, base.studentEpochs)), errors: [] })),
  ];
  const teacherErrors: number[] = [];
  const finished: number[] = [];
  try {
    for (const seed of seeds) {
      const teacher = await trainTeacher(base, data.train, data.test, new Generator(seed), hooks);
      if (teacher.result.curve.stopped) break;
      bar.update(++done);
      const logits: Tensor = logitsOf(teacher.model, transfer.x);
      const seedErrors: number[] = [];
      for (const row of rows) {
        const recipe = row.method === "hard" ? base : recipeFor(base, row.method);
        const student = await trainStudent(recipe, transfer, row.method === "hard" ? null : logits, data.test, studentGenerator(seed), row.method, hooks);
        if (student.result.curve.stopped) break;
        seedErrors.push(student.result.errors);
        bar.update(++done);
      }
      if (stop || seedErrors.length < rows.length) break;
      teacherErrors.push(teacher.result.errors);
      rows.forEach((row, i) => row.errors.push(seedErrors[i]!));
      finished.push(seed);
    }
  } finally {
    bar.done();
    remove();
  }
  const wall = (performance.now() - started) / 1000;
  const report: CompareReport = {
    seeds: finished, seconds: Number(wall.toFixed(3)), epochs: [base.teacherEpochs, base.studentEpochs], testSize: data.test.y.size,
    teacher: { errors: teacherErrors }, rows,
  };
  if (output !== null && finished.length > 0) output.write(compareChart(report));
  if (json) io.stdout.write(JSON.stringify(report) + "\n");
  else io.stdout.write(finished.length === 0 ? "No seed finished.\n" : compareText(report, base, wall));
  if (stop) {
    io.stderr.write(`kdgrad: interrupted; ${finished.length === 0 ? "no seed finished" : `reported the ${finished.length} finished seed(s)`}\n`);
    return 130;
  }
  return 0;
}

/** The method's name in the table and the chart. */
function rowName(row: CompareRow): string {
  return row.method === "hard" ? "hard labels" : row.method === "kd" ? "KD" : row.method.toUpperCase();
}

/**
 * The text table: each row's test errors (mean ± std over the seeds), its paired difference
 * from the hard-label student of the same seed (negative: fewer errors), and on how many
 * seeds it made fewer errors than that student.
 */
export function compareText(report: CompareReport, recipe: Recipe, wall: number): string {
  const n = report.testSize;
  const hard = report.rows[0]!.errors;
  const body = report.rows.map((row) => {
    if (row.method === "hard") return [rowName(row), row.settings, `${meanStd(row.errors)} / ${n}`, "-", "-"];
    const diff = row.errors.map((e, i) => e - hard[i]!);
    return [rowName(row), row.settings, `${meanStd(row.errors)} / ${n}`, signed(diff), `${diff.filter((d) => d < 0).length} / ${diff.length}`];
  });
  const s = report.seeds;
  const lines = [
    `kdgrad compare — digits (8×8): student ${recipe.studentSizes.join("-")} on train_10pct (135 images), teacher ${recipe.teacherSizes.join("-")} (${meanStd(report.teacher.errors)} errors); ` +
      `epochs ${report.epochs.join(",")}; seed(s) ${s.length > 2 ? `${s[0]}–${s[s.length - 1]}` : s.join(", ")}`,
    `test errors out of ${n}, mean ± std over ${s.length} seed(s); "vs hard labels" is the paired difference on the same seed, "fewer errors" counts the seeds where the method beat the hard-label student`,
    "",
    table(["method", "settings (published defaults)", "test errors", "vs hard labels", "fewer errors"], body),
    "",
    `Total time ${seconds(wall)}.`,
  ];
  return lines.join("\n") + "\n";
}

/** "mean ± std" with an explicit sign on the mean (−3.2 ± 1.1, +0.4 ± 2.0). */
function signed(xs: number[]): string {
  const m = mean(xs);
  const sign = m > 0 ? "+" : m < 0 ? "-" : "";
  const body = xs.length === 1 ? String(Math.abs(m)) : `${Math.abs(m).toFixed(1)} ± ${std(xs).toFixed(1)}`;
  return `${sign}${body}`;
}

/** The table as a bar chart: mean test errors with ± std whiskers, the hard-label mean as a dashed line. */
export function compareChart(report: CompareReport): string {
  const hard = report.rows[0]!;
  return barChart({
    title: `Test errors of the distilled student by method (of ${report.testSize}; ${report.seeds.length} seed(s))`,
    xLabel: `test errors (mean ± std over seeds ${report.seeds.join(", ")}); dashed: hard labels`,
    bars: report.rows.map((row) => ({ name: `${rowName(row)}${row.method === "hard" ? "" : ` (${row.settings})`}`, value: mean(row.errors), spread: std(row.errors) })),
    reference: { value: mean(hard.errors), name: "hard labels" },
  });
}

export { spec as compareSpec };
