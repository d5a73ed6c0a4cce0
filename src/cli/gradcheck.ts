import * as kd from "../index.js";
import {
  Generator, Tensor, distillationLoss, gradcheck, gradgradcheck, hessian, logitMatchingLoss, noGrad, randn, softmax, tensor,
  type GradcheckReport,
} from "../index.js";
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
    case "dkd":
      return { args: [t([4, 6]), t([4, 6], 1), labels(4, 6), { alpha: 1, beta: 8, temperature: 4 }], leaves: [0, 1] };
    case "dist":
      return { args: [t([4, 6]), t([4, 6], 1), { beta: 1, gamma: 1, temperature: 1 }], leaves: [0, 1] };
    case "nkd":
    case "wsld": {
      // Their weights are stop-gradients, which finite differences cannot see around: the
      // teacher's target leads by 40, so the weight is 1 to the last bit and does not move
      // (test/losses/kd-methods.test.ts checks the weighted gradient with frozen weights).
      const y = labels(4, 6);
      const teacher = t([4, 6], 1);
      const ys = y.toFlatArray();
      const data = teacher.data;
      for (let r = 0; r < 4; r++) {
        let top = -Infinity;
        for (let j = 0; j < 6; j++) if (j !== ys[r]) top = Math.max(top, data[r * 6 + j]!);
        data[r * 6 + ys[r]!] = top + 40;
      }
      const options = domain.kind === "nkd" ? { temperature: 1, gamma: 1.5 } : { temperature: 2, alpha: 2.5 };
      return { args: [t([4, 6]), teacher, y, options], leaves: [0, 1] };
    }
    case "sparse": {
      // Each row's top 3 of 8 classes (distinct), with log-probabilities of mass 0.8: the tail has 0.2.
      const idx = Int32Array.from({ length: 12 }, (_, i) => (Math.floor(i / 3) + 3 * (i % 3)) % 8);
      const lp = tensor(Float64Array.from({ length: 12 }, (_, i) => Math.log([0.4, 0.25, 0.15][i % 3]!)), { shape: [4, 3] });
      return { args: [t([4, 8]), tensor(idx, { shape: [4, 3] }), lp, { labels: labels(4, 8), temperature: 2, alpha: 0.7 }], leaves: [0, 2] };
    }
    case "linear-distillation":
      // hidden [4, 3]·weight [6, 3]ᵀ against a teacher [4, 2]·[6, 2]ᵀ that requires grad too, in chunks of 3 rows.
      return {
        args: [t([4, 3]), t([6, 3], 1), t([4, 2], 2), t([6, 2], 3), { labels: labels(4, 6), temperature: 2, alpha: 0.7, chunkRows: 3 }],
        leaves: [0, 1, 2, 3],
      };
    default:
      throw new Error(`gradcheck: no example for ${name} (kind ${domain.kind})`);
  }
}

export interface CheckSummary {
  maxAbsError: number;
  /** The checker's own pass measure: max |numeric − backward| / (atol + rtol·|numeric|); ≤ 1 passes. */
  maxErrorRatio: number;
  ok: boolean;
}

export interface GradcheckRow extends CheckSummary {
  op: string;
  /** gradgradcheck on the same example: the backward's own backward against central differences of the backward. */
  secondOrder: CheckSummary;
}

const summary = (report: GradcheckReport): CheckSummary => ({
  maxAbsError: Math.max(...report.inputs.map((r) => r.maxAbsError)),
  maxErrorRatio: Math.max(...report.inputs.map((r) => r.maxErrorRatio)),
  ok: report.ok,
});

/** The tolerances of `kdgrad gradcheck` (gradcheck's defaults, spelled out because the output quotes them). */
const ATOL = 1e-6;
const RTOL = 1e-5;

/** gradcheck and gradgradcheck every exported op and loss on a fixed example. */
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
    const first = summary(gradcheck(call, inputs, { atol: ATOL, rtol: RTOL }));
    const second = summary(gradgradcheck(call, inputs, { atol: ATOL, rtol: RTOL }));
    rows.push({ op: name, ...first, secondOrder: second });
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
  const { s, t } = tableLogits();
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

export interface HessianRow {
  T: number;
  /** max |H − blockdiag(diag(p_s) − p_s p_sᵀ)/B| over all entries, H = kdgrad's hessian in s. */
  error: number;
  /** The rounding bound that error is claimed to be within (docs/distillation.md, "Rounding"). */
  errorBound: number;
  /** max |H − blockdiag(K)/B|, K = (I − 11ᵀ/C)/C, the Hessian of logitMatchingLoss. */
  distance: number;
  /** The derived O(1/T) bound on that distance (docs/distillation.md, "The centring limit"), plus errorBound. */
  distanceBound: number;
}

/** The fixed logits of both tables: B = 4, C = 10, s and t ~ N(0, 2²), float64. */
export function tableLogits(): { s: Tensor; t: Tensor } {
  const g = new Generator(1234);
  const s = randn([4, 10], { dtype: "float64", generator: g }).mul(2);
  const t = randn([4, 10], { dtype: "float64", generator: g }).mul(2);
  return { s, t };
}

/**
 * The second-order view on the same logits: kdgrad's Hessian of
 * distillationLoss(s, t, { temperature: T }) in s, for each T, against its
 * closed form blockdiag(diag(p_s) − p_s p_sᵀ)/B (the T² cancels), and its
 * distance to the T → ∞ limit blockdiag(K)/B, the Hessian of logit matching.
 *
 * Bounds, per row r and entry (i, j) (docs/distillation.md, "The second-order
 * view"): rounding ρ·(δᵢⱼΩᵢ + ΩᵢΩⱼ)/B with the masses Ωᵢ = p_s,i + p_t,i (`m` in the code),
 * ρ = 2ν + (C + 16)ε and ν = ε·(2·max|x|/T + C + 4) (x = s, t); distance
 * ε_r(1 − 1/C)/(C·B) on the diagonal and (e^{2R_r/T} − 1)/(C²·B) off it, with
 * R_r the row's largest |sᵢ − s̄| and ε_r = e^{R_r/T} − 1; 0 between rows.
 * `loss` replaces the fused loss (the tests pass a composite of ops).
 */
export function hessianTable(
  temperatures = [1, 10, 100, 1e3, 1e4, 1e5, 1e6],
  loss: (s: Tensor, t: Tensor, T: number) => Tensor = (s, t, T) => distillationLoss(s, t, { temperature: T }),
): HessianRow[] {
  const { s, t } = tableLogits();
  const [B, C] = s.shape as [number, number];
  const n = B * C;
  const sv = s.toFlatArray();
  const maxAbs = (v: readonly number[]): number => v.reduce((a, x) => Math.max(a, Math.abs(x)), 0);
  const eps = Number.EPSILON;
  return temperatures.map((T) => {
    const H = hessian((x: Tensor) => loss(x, t, T))(s).toFlatArray();
    const ps = noGrad(() => softmax(s.div(T), -1)).toFlatArray();
    const pt = noGrad(() => softmax(t.div(T), -1)).toFlatArray();
    const nu = eps * (2 * Math.max(maxAbs(sv), maxAbs(t.toFlatArray())) / T + C + 4);
    const rho = 2 * nu + (C + 16) * eps;
    let error = 0;
    let errorBound = 0;
    let distance = 0;
    let distanceBound = 0;
    for (let r = 0; r < B; r++) {
      const row = sv.slice(r * C, (r + 1) * C);
      const mean = row.reduce((a, x) => a + x, 0) / C;
      const R = maxAbs(row.map((x) => x - mean));
      const e1 = Math.expm1(R / T);
      const e2 = Math.expm1((2 * R) / T);
      for (let a = r * C; a < (r + 1) * C; a++) {
        for (let b = 0; b < n; b++) {
          const h = H[a * n + b]!;
          const same = b >= r * C && b < (r + 1) * C;
          const diag = a === b;
          const closed = same ? ((diag ? ps[a]! : 0) - ps[a]! * ps[b]!) / B : 0;
          const K = same ? ((diag ? 1 : 0) - 1 / C) / (C * B) : 0;
          const m = (k: number): number => ps[k]! + pt[k]!;
          const round = same ? (rho * ((diag ? m(a) : 0) + m(a) * m(b))) / B : 0;
          const limit = same ? (diag ? (e1 * (1 - 1 / C)) / C : e2 / (C * C)) / B : 0;
          error = Math.max(error, Math.abs(h - closed));
          errorBound = Math.max(errorBound, round);
          distance = Math.max(distance, Math.abs(h - K));
          distanceBound = Math.max(distanceBound, limit + round);
        }
      }
    }
    return { T, error, errorBound, distance, distanceBound };
  });
}

/** Whether a Hessian row's two claims hold: the closed form to rounding, and the distance within its bound. */
export const hessianRowHolds = (r: HessianRow): boolean => r.error <= r.errorBound && r.distance <= r.distanceBound;

/** `kdgrad gradcheck`. Exit code 1 if any check fails. */
export function gradcheckCommand(argv: readonly string[], io: CliIO): number {
  const o = parseOptions(argv, spec, "gradcheck");
  if (o.help) {
    io.stdout.write(helpText("gradcheck", "gradcheck and gradgradcheck every op and loss in float64, then show the 1/T² result and its second-order view", spec));
    return 0;
  }
  const rows = checkAll();
  const { rows: temps, limit } = temperatureTable();
  const hessians = hessianTable();
  const passes = (r: GradcheckRow): boolean => r.ok && r.secondOrder.ok;
  const ok = rows.every(passes) && hessians.every(hessianRowHolds);
  if (o.json) {
    io.stdout.write(JSON.stringify({ ok, ops: rows, temperature: { rows: temps, limit }, hessian: { rows: hessians } }) + "\n");
    return ok ? 0 : 1;
  }
  const e = (v: number): string => v.toExponential(2);
  const lines = [
    "gradcheck: backward against float64 central differences (random upstream gradient); second order:",
    "gradgradcheck, the same check of the backward's own backward (every rule differentiated again).",
    `An entry passes when |numeric − backward| ≤ atol + rtol·|numeric| (atol = ${ATOL.toExponential()}, rtol = ${RTOL.toExponential()});`,
    "\"error / tolerance\" is the largest ratio of the two sides, so an op passes when it is ≤ 1.",
    "",
    table(
      ["op", "max abs error", "error / tolerance", "pass", "second order: error / tolerance", "pass (2nd)"],
      rows.map((r) => [r.op, e(r.maxAbsError), e(r.maxErrorRatio), r.ok ? "yes" : "NO", e(r.secondOrder.maxErrorRatio), r.secondOrder.ok ? "yes" : "NO"]),
    ),
    "",
    `${rows.filter((r) => r.ok).length} of ${rows.length} ops pass, ${rows.filter((r) => r.secondOrder.ok).length} of ${rows.length} to second order.`,
    "",
    "The 1/T² result (B = 4, C = 10, s, t ~ N(0, 2²)): the gradient of the unscaled KL shrinks",
    "100× per 10× in T, so the soft term is multiplied by T²; T²·∂KL/∂s tends to the logit-matching",
    `gradient with an O(1/T) error, and T²·KL to ${limit.toFixed(5)}.`,
    "",
    table(["T", "‖∂KL/∂s‖", "ratio to previous T", "max |T²∂KL/∂s − limit|", "T × that", "T²·KL"], temps.map((r) => [
      String(r.T), e(r.gradNorm), r.ratio === null ? "-" : r.ratio.toFixed(2), e(r.limitDistance), (r.T * r.limitDistance).toFixed(3), r.scaledKl.toFixed(5),
    ])),
    "",
    "The second-order view (same logits): the Hessian H of T²·KL in s is diag(p_s) − p_s p_sᵀ in each row's",
    "block, over B (the T² cancels), at every T; as T grows it tends to the Hessian of logit matching,",
    "(I − 11ᵀ/C)/(C·B) per block, with a derived O(1/T) bound: ε(1 − 1/C)/(C·B) on the diagonal and",
    "(e^{2R/T} − 1)/(C²·B) off it, ε = e^{R/T} − 1, R the row's largest |sᵢ − s̄| (docs/distillation.md).",
    "",
    table(["T", "max |H − closed form|", "rounding bound", "max |H − limit|", "derived bound", "T × distance", "distance / bound", "holds"], hessians.map((r) => [
      String(r.T), e(r.error), e(r.errorBound), e(r.distance), e(r.distanceBound), (r.T * r.distance).toFixed(4), (r.distance / r.distanceBound).toFixed(3),
      hessianRowHolds(r) ? "yes" : "NO",
    ])),
  ];
  io.stdout.write(lines.join("\n") + "\n");
  return ok ? 0 : 1;
}
