import { Generator, type Tensor } from "../index.js";
import { UsageError, helpText, parseOptions, parseSizes, type OptionSpec } from "./args.js";
import type { CliIO } from "./io.js";
import { Progress } from "./progress.js";
import { mean, meanStd, seconds, table } from "./format.js";
import { COLOURS, lineChart, type Series } from "./svg.js";
import { defaultRecipe, logitsOf, trainStudent, trainTeacher, type Hooks, type Recipe } from "./recipe.js";
import { checkLossOptions, studentGenerator } from "./distill.js";
import { MAX_SEED, checkParameters } from "./checks.js";
import { mnistSweepCommand, takeDataset } from "./mnist.js";

/** The files `kdgrad sweep --out` writes; a directory holding nothing else may be replaced. */
export function isSweepOutput(name: string): boolean {
  return name === "sweep.json" || name === "sweep.svg";
}

const spec: Record<string, OptionSpec> = {
  temperatures: { kind: "numbers", help: "temperatures to try, each in [1e-6, 1e6]", default: "1,2,4,8,16" },
  alphas: { kind: "numbers", help: "soft-term weights to try", default: "0.5,0.9,1" },
  students: { kind: "strings", help: "student architectures", default: "64-8-10,64-16-10,64-32-10" },
  seeds: { kind: "ints", help: "seeds (mean ± std over them)", default: "0" },
  teacher: { kind: "string", help: "teacher layer sizes", default: "64-256-256-10" },
  epochs: { kind: "ints", help: "teacher,student epochs", default: "60,500" },
  transfer: { kind: "string", help: "10pct or full", default: "10pct" },
  dataset: { kind: "string", help: "digits (this set) or mnist (see kdgrad sweep --dataset mnist --help)", default: "digits" },
  json: { kind: "flag", help: "print one JSON object on stdout and nothing else there" },
  out: { kind: "string", help: "directory for sweep.json and sweep.svg" },
  help: { kind: "flag", help: "show this help" },
};

interface Cell {
  student: string;
  alpha: number;
  temperature: number;
  errors: number[];
}

/**
 * `kdgrad sweep`: which temperature for which student? One teacher per
 * seed; for every student size a hard-label baseline and a distilled
 * student for every (alpha, T). Prints mean ± std errors and writes a chart
 * of test accuracy against T (one line per student and alpha, the
 * hard-label students dashed).
 */
export async function sweepCommand(argv: readonly string[], io: CliIO): Promise<number> {
  const { dataset, rest } = takeDataset(argv, "sweep");
  if (dataset === "mnist") return mnistSweepCommand(rest, io);
  const o = parseOptions(rest, spec, "sweep");
  if (o.help) {
    io.stdout.write(helpText("sweep", "distil across temperatures, alphas and student sizes", spec));
    return 0;
  }
  const temperatures = (o.temperatures as number[] | undefined) ?? [1, 2, 4, 8, 16];
  const alphas = (o.alphas as number[] | undefined) ?? [0.5, 0.9, 1];
  const students = (o.students as string[] | undefined) ?? ["64-8-10", "64-16-10", "64-32-10"];
  const seeds = (o.seeds as number[] | undefined) ?? [0];
  for (const a of alphas) if (!(a >= 0 && a <= 1)) throw new UsageError(`kdgrad sweep: --alphas must all be in [0, 1], got ${a}`);
  for (const temperature of temperatures) checkLossOptions({ temperature, alpha: 1 }, "float32", "sweep", "s");
  for (const alpha of alphas) checkLossOptions({ temperature: temperatures[0]!, alpha }, "float32", "sweep", "s");
  const badSeed = seeds.find((s) => s < 0 || s > MAX_SEED);
  if (badSeed !== undefined) throw new UsageError(`kdgrad sweep: --seeds must be integers in [0, ${MAX_SEED}], got ${badSeed}`);
  if (new Set(seeds).size !== seeds.length) throw new UsageError(`kdgrad sweep: --seeds repeats a seed (${seeds.join(",")})`);
  const studentSizes = students.map((s) => parseSizes(s, "--students", "sweep"));
  const base: Recipe = { ...defaultRecipe };
  if (o.teacher !== undefined) base.teacherSizes = parseSizes(o.teacher as string, "--teacher", "sweep");
  for (const [option, sizes] of [["--teacher", base.teacherSizes] as const, ...studentSizes.map((z) => ["--students", z] as const)]) {
    if (sizes[0] !== 64 || sizes[sizes.length - 1] !== 10) throw new UsageError(`kdgrad sweep: architectures must start with 64 and end with 10, got ${sizes.join("-")}`);
    checkParameters(sizes, option, "sweep");
  }
  if (new Set(students).size !== students.length) throw new UsageError(`kdgrad sweep: --students repeats a student (${students.join(",")})`);
  const epochs = o.epochs as number[] | undefined;
  if (epochs !== undefined) {
    if (epochs.length > 2 || epochs.some((e) => e < 1)) throw new UsageError(`kdgrad sweep: --epochs takes one or two positive integers`);
    base.teacherEpochs = epochs[0]!;
    base.studentEpochs = epochs[1] ?? epochs[0]!;
  }
  const transferName = (o.transfer as string | undefined) ?? "10pct";
  if (transferName !== "10pct" && transferName !== "full") throw new UsageError(`kdgrad sweep: --transfer must be 10pct or full, got '${transferName}'`);
  const json = o.json === true;

  const data = io.loadDigits();
  // Checked (and reserved) now, not after the training: see OutputDirectory.
  const output = o.out === undefined ? null : io.openOutput(o.out as string, "--out", isSweepOutput);
  const transfer = transferName === "full" ? data.train : data.train_10pct;
  let stop = false;
  const remove = io.onInterrupt(() => void (stop = true));
  const started = performance.now();
  const totalRuns = seeds.length * (1 + studentSizes.length * (1 + alphas.length * temperatures.length));
  const bar = new Progress(io.stderr, "sweep", totalRuns, io.stderr.isTTY === true && !json);
  let done = 0;
  const hooks: Hooks = { shouldStop: () => stop, ...(io.pause ? { pause: io.pause } : {}) };
  const teacherErrors: number[] = [];
  const hard = new Map<string, number[]>(students.map((s) => [s, []]));
  const cells: Cell[] = [];
  for (const s of students) for (const alpha of alphas) for (const temperature of temperatures) cells.push({ student: s, alpha, temperature, errors: [] });
  const finishedSeeds: number[] = [];
  try {
    for (const seed of seeds) {
      const teacher = await trainTeacher(base, data.train, data.test, new Generator(seed), hooks);
      if (teacher.result.curve.stopped) break;
      bar.update(++done);
      const logits: Tensor = logitsOf(teacher.model, transfer.x);
      const seedHard = new Map<string, number>();
      const seedCells: number[] = [];
      for (let si = 0; si < students.length && !stop; si++) {
        const recipe = { ...base, studentSizes: studentSizes[si]! };
        const h = await trainStudent(recipe, transfer, null, data.test, studentGenerator(seed), "hard", hooks);
        if (h.result.curve.stopped) break;
        seedHard.set(students[si]!, h.result.errors);
        bar.update(++done);
        for (const alpha of alphas) {
          for (const temperature of temperatures) {
            const d = await trainStudent({ ...recipe, alpha, temperature }, transfer, logits, data.test, studentGenerator(seed), "distilled", hooks);
            if (d.result.curve.stopped) break;
            seedCells.push(d.result.errors);
            bar.update(++done);
          }
        }
      }
      if (stop) break;
      teacherErrors.push(teacher.result.errors);
      for (const [s, e] of seedHard) hard.get(s)!.push(e);
      seedCells.forEach((e, i) => cells[i]!.errors.push(e));
      finishedSeeds.push(seed);
    }
  } catch (e) {
    output?.abort();
    throw e;
  } finally {
    bar.done();
    remove();
  }
  const wall = (performance.now() - started) / 1000;
  const report = {
    seeds: finishedSeeds, seconds: Number(wall.toFixed(3)), temperatures, alphas, students,
    teacher: { errors: teacherErrors },
    hard: Object.fromEntries(hard),
    distilled: cells,
  };
  if (output !== null) {
    try {
      output.writeFile("sweep.json", JSON.stringify(report, null, 2) + "\n");
      if (finishedSeeds.length > 0) output.writeFile("sweep.svg", sweepChart(report));
      output.commit();
    } catch (e) {
      output.abort();
      throw e;
    }
  }
  if (json) io.stdout.write(JSON.stringify(report) + "\n");
  else if (finishedSeeds.length === 0) io.stdout.write("No seed finished.\n");
  else {
    const rows: string[][] = [];
    for (const s of students) {
      rows.push([`${s}, hard labels`, ...temperatures.map(() => meanStd(hard.get(s)!))]);
      for (const alpha of alphas) {
        rows.push([`${s}, α = ${alpha}`, ...temperatures.map((T) => meanStd(cells.find((c) => c.student === s && c.alpha === alpha && c.temperature === T)!.errors))]);
      }
    }
    const lines = [
      `kdgrad sweep — test errors out of 450 (mean ± std over seeds ${finishedSeeds.join(", ")}); teacher: ${meanStd(teacherErrors)} errors`,
      "",
      table(["student", ...temperatures.map((T) => `T = ${T}`)], rows),
      "",
    ];
    for (const s of students) {
      const best = cells.filter((c) => c.student === s).reduce((a, b) => (mean(b.errors) < mean(a.errors) ? b : a));
      lines.push(`Best for ${s}: T = ${best.temperature}, α = ${best.alpha} (${meanStd(best.errors)} errors; hard labels ${meanStd(hard.get(s)!)}).`);
    }
    lines.push("", `Total time ${seconds(wall)}.`);
    io.stdout.write(lines.join("\n") + "\n");
  }
  if (stop) {
    io.stderr.write("kdgrad: interrupted; reported the finished seeds\n");
    return 130;
  }
  return 0;
}

/**
 * The sweep's chart from its report (sweep.json): test accuracy against T, one colour per
 * student, one line style per alpha, the hard-label student dashed.
 */
export function sweepChart(report: { students: string[]; alphas: number[]; temperatures: number[]; hard: Record<string, number[]>; distilled: Cell[] }): string {
  const { students, alphas, temperatures, distilled: cells } = report;
  const hard = new Map(Object.entries(report.hard));
  // One colour per student; one line style per alpha; the hard-label student dashed.
  const styles = ["", "8 3 2 3", "2 3", "10 2", "4 2 1 2"];
  const series: Series[] = [];
  students.forEach((s, si) => {
    const colour = COLOURS[si % COLOURS.length]!;
    alphas.forEach((alpha, ai) => {
      const pts = cells.filter((c) => c.student === s && c.alpha === alpha && c.errors.length > 0)
        .map((c) => [c.temperature, 100 * (1 - mean(c.errors) / 450)] as const);
      series.push({ name: `${s}, α = ${alpha}`, points: pts, colour, ...(styles[ai % styles.length] ? { dash: styles[ai % styles.length]! } : {}) });
    });
    const h = hard.get(s)!;
    if (h.length > 0) {
      const acc = 100 * (1 - mean(h) / 450);
      series.push({ name: `${s}, hard labels`, points: [[Math.min(...temperatures), acc], [Math.max(...temperatures), acc]], colour, dash: "6 4" });
    }
  });
  return lineChart({
    title: "Distilled students: test accuracy against temperature", xLabel: "temperature T (log scale)",
    yLabel: "test accuracy (%)", series, xLog: true, xTicks: temperatures,
  });
}
