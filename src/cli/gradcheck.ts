import * as kd from "../index.js";
import { Generator, Tensor, distillationLoss, gradcheck, logitMatchingLoss, randn, tensor } from "../index.js";
import { EXAMPLES, type ExampleDomain } from "./examples.js";
import { helpText, parseOptions, type OptionSpec } from "./args.js";
import { opSpec } from "../ops/define-op.js";
import type { CliIO } from "./io.js";
import { table } from "./format.js";

const spec: Record<string, OptionSpec> = {
  json: { kind: "flag", help: "print one JSON object on stdout" },
  help: { kind: "flag", help: "show this help" },
};

type Example = { args: unknown[]; leaves: number[] };

/**
 * One fixed example call per domain kind: the arguments, and which of them
 * are float64 leaves to check. (The test suite draws many more with
 * fast-check; this is the reader's look at the numbers.)
 */
function example(name: string, domain: ExampleDomain, rng: Generator): Example {
  const value = (shape: number[], i: number, grid = false): Tensor => {
    const [lo, hi] = domain.inputs[i]?.range ?? [-2, 2];
    const away = domain.inputs[i]?.awayFrom ?? [];
    const n = shape.reduce((a, b) => a * b, 1);
    const data = Float64Array.from({ length: n }, () => {
      let v = lo + (hi - lo) * rng.uniform();
      for (const k of away) if (Math.abs(v - k) < 1e-2) v = k + 2e-2;
      return grid ? Math.round(v * 4) / 4 + (i === 0 ? 0.125 : 0) : v;
    });
    return tensor(data, { shape });
  };
  const labels = (n: number, c: number): Tensor => tensor(Int32Array.from({ length: n }, () => rng.below(c)), { shape: [n] });
  const t = (shape: number[], i = 0): Tensor => value(shape, i);
  switch (domain.kind) {
    case undefined:
      return domain.inputs.length === 1 ? { args: [t([3, 4])], leaves: [0] } : { args: [t([3, 4]), t([4], 1)], leaves: [0, 1] };
    case "distinct-pair":
      return { args: [value([3, 4], 0, true), value([4], 1, true)], leaves: [0, 1] };
    case "where":
      return { args: [tensor(Int32Array.from({ length: 12 }, () => rng.below(2)), { shape: [3, 4] }), t([3, 4]), t([4], 1)], leaves: [1, 2] };
    case "clamp":
      return { args: [t([3, 4]), -0.5, 0.5], leaves: [0] };
    case "cast":
      return { args: [t([3, 4]), "float64"], leaves: [0] };
    case "reduce":
      return { args: [t([3, 4]), 1, false], leaves: [0] };
    case "reduce-required":
      return { args: [t([3, 4]), [0, 1], true], leaves: [0] };
    case "axis":
      return { args: [t([3, 5]), -1], leaves: [0] };
    case "reshape":
      return { args: [t([3, 4]), [2, 6]], leaves: [0] };
    case "transpose":
      return { args: [t([3, 4]), 0, 1], leaves: [0] };
    case "permute":
      return { args: [t([2, 3, 4]), [2, 0, 1]], leaves: [0] };
    case "expand":
      return { args: [t([3, 1]), [2, 3, 4]], leaves: [0] };
    case "squeeze":
      return { args: [t([3, 1, 4])], leaves: [0] };
    case "unsqueeze":
      return { args: [t([3, 4]), 1], leaves: [0] };
    case "slice":
      return { args: [t([3, 6]), 1, 1, 5, 2], leaves: [0] };
    case "gather":
      return { args: [t([3, 4]), 1, tensor(Int32Array.from({ length: 6 }, () => rng.below(4)), { shape: [3, 2] })], leaves: [0] };
    case "concat":
    case "stack":
      return { args: [[t([2, 3]), t([2, 3])], 0], leaves: [] };
    case "matmul":
      return { args: [t([3, 4]), t([4, 5], 1)], leaves: [0, 1] };
    case "linear":
      return { args: [t([3, 4]), t([5, 4], 1), t([5], 2)], leaves: [0, 1, 2] };
    case "crossEntropy":
      return { args: [t([4, 5]), labels(4, 5), { labelSmoothing: 0.1, weight: [1, 2, 0.5, 1, 1.5] }], leaves: [0] };
    case "nllLoss":
      return { args: [t([4, 5]), labels(4, 5)], leaves: [0] };
    case "klDiv":
      return { args: [t([4, 5], 0), t([4, 5], 1)], leaves: [0, 1] };
    case "pair-loss":
    case "logits-pair":
      return { args: [t([4, 6]), t([4, 6], 1)], leaves: [0, 1] };
    case "distillation":
      return { args: [t([4, 6]), t([4, 6], 1), { labels: labels(4, 6), temperature: 4, alpha: 0.7 }], leaves: [0, 1] };
    case "temperature":
      return { args: [t([3, 5]), 4], leaves: [0] };
    default:
      throw new Error(`gradcheck: no example for ${name} (kind ${domain.kind})`);
  }
}

export interface GradcheckRow {
  op: string;
  maxAbsError: number;
  /** gradcheck's own pass measure: max |numeric − backward| / (atol + rtol·|numeric|); ≤ 1 passes. */
  maxErrorRatio: number;
  ok: boolean;
}

/** The tolerances of `kdgrad gradcheck` (gradcheck's defaults, spelled out because the output quotes them). */
const ATOL = 1e-6;
const RTOL = 1e-5;

/** gradcheck every exported op and loss on a fixed example. */
export function checkAll(): GradcheckRow[] {
  const rng = new Generator(2026);
  const rows: GradcheckRow[] = [];
  for (const [name, f] of Object.entries(kd)) {
    const s = opSpec(f);
    if (!s) continue;
    const domain = EXAMPLES[s.name];
    if (domain === undefined) throw new Error(`gradcheck: no example for ${s.name} in src/cli/examples.ts`);
    const { args, leaves } = example(name, domain, rng);
    let call: (...xs: Tensor[]) => Tensor;
    let inputs: Tensor[];
    if (domain.kind === "concat" || domain.kind === "stack") {
      inputs = (args[0] as Tensor[]).map((x) => x.requiresGrad_());
      call = (...xs) => (f as (a: Tensor[], d: number) => Tensor)(xs, args[1] as number);
    } else {
      inputs = leaves.map((i) => (args[i] as Tensor).requiresGrad_());
      call = (...xs) => (f as (...a: unknown[]) => Tensor)(...args.map((a, i) => (leaves.includes(i) ? xs[leaves.indexOf(i)] : a)));
    }
    const report = gradcheck(call, inputs, { atol: ATOL, rtol: RTOL });
    rows.push({
      op: name,
      maxAbsError: Math.max(...report.inputs.map((r) => r.maxAbsError)),
      maxErrorRatio: Math.max(...report.inputs.map((r) => r.maxErrorRatio)),
      ok: report.ok,
    });
  }
  return rows;
}

export interface TemperatureRow {
  T: number;
  gradNorm: number;
  ratio: number | null;
  limitDistance: number;
  scaledKl: number;
}

/**
 * The 1/T² result on fixed logits (B = 4, C = 10, s and t ~ N(0, 2²)):
 * ‖∂KL/∂s‖ for the unscaled KL, its ratio to the previous T, and the largest
 * distance of T²·∂KL/∂s from the logit-matching limit ((s − s̄) − (t − t̄))/(C·B).
 */
export function temperatureTable(temperatures = [1, 2, 4, 10, 100, 1000]): { rows: TemperatureRow[]; limit: number } {
  const g = new Generator(1234);
  const s = randn([4, 10], { dtype: "float64", generator: g }).mul(2);
  const t = randn([4, 10], { dtype: "float64", generator: g }).mul(2);
  const x = s.detach().requiresGrad_();
  logitMatchingLoss(x, t).backward();
  const limitGrad = x.grad!;
  const rows: TemperatureRow[] = [];
  let previous: number | null = null;
  for (const T of temperatures) {
    const leaf = s.detach().requiresGrad_();
    const scaled = distillationLoss(leaf, t, { temperature: T });
    scaled.backward();
    const gradKl = leaf.grad!.div(T * T);
    const norm = Math.sqrt(gradKl.mul(gradKl).sum().item());
    const distance = Math.max(...leaf.grad!.sub(limitGrad).abs().toFlatArray());
    rows.push({ T, gradNorm: norm, ratio: previous === null ? null : previous / norm, limitDistance: distance, scaledKl: scaled.item() });
    previous = norm;
  }
  return { rows, limit: logitMatchingLoss(s, t).item() };
}

/** `kdgrad gradcheck`. Exit code 1 if any check fails. */
export function gradcheckCommand(argv: readonly string[], io: CliIO): number {
  const o = parseOptions(argv, spec, "gradcheck");
  if (o.help) {
    io.stdout.write(helpText("gradcheck", "gradcheck every op and loss in float64, then show the 1/T² result", spec));
    return 0;
  }
  const rows = checkAll();
  const { rows: temps, limit } = temperatureTable();
  const ok = rows.every((r) => r.ok);
  if (o.json) {
    io.stdout.write(JSON.stringify({ ok, ops: rows, temperature: { rows: temps, limit } }) + "\n");
    return ok ? 0 : 1;
  }
  const e = (v: number): string => v.toExponential(2);
  const lines = [
    "gradcheck: backward against float64 central differences (random upstream gradient).",
    `An entry passes when |numeric − backward| ≤ atol + rtol·|numeric| (atol = ${ATOL.toExponential()}, rtol = ${RTOL.toExponential()});`,
    "\"error / tolerance\" is the largest ratio of the two sides, so an op passes when it is ≤ 1.",
    "",
    table(["op", "max abs error", "error / tolerance", "pass"], rows.map((r) => [r.op, e(r.maxAbsError), e(r.maxErrorRatio), r.ok ? "yes" : "NO"])),
    "",
    `${rows.filter((r) => r.ok).length} of ${rows.length} ops pass.`,
    "",
    "The 1/T² result (B = 4, C = 10, s, t ~ N(0, 2²)): the gradient of the unscaled KL shrinks",
    "100× per 10× in T, so the soft term is multiplied by T²; T²·∂KL/∂s tends to the logit-matching",
    `gradient with an O(1/T) error, and T²·KL to ${limit.toFixed(5)}.`,
    "",
    table(["T", "‖∂KL/∂s‖", "ratio to previous T", "max |T²∂KL/∂s − limit|", "T × that", "T²·KL"], temps.map((r) => [
      String(r.T), e(r.gradNorm), r.ratio === null ? "-" : r.ratio.toFixed(2), e(r.limitDistance), (r.T * r.limitDistance).toFixed(3), r.scaledKl.toFixed(5),
    ])),
  ];
  io.stdout.write(lines.join("\n") + "\n");
  return ok ? 0 : 1;
}
