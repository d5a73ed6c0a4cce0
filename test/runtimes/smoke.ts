/**
 * The runtime smoke program: one pass over kdgrad's public API whose numbers
 * must come out the same on every JavaScript engine (test/runtimes/run.ts
 * runs it in Node, Deno, Bun, headless Chromium and QuickJS and compares).
 *
 * It imports only "kdgrad" and uses no host API (no console, process, Deno
 * or window): each host calls smoke() and prints the report its own way.
 *
 * Every number is tagged with how runtimes must agree on it:
 * - "exact": seeded draws, initial weights, integer results, booleans —
 *   IEEE-754 operations that every engine rounds the same way (the generator
 *   uses only +, −, ×, ÷, √ and its own detLog), so the bits must match.
 * - "float64": computed through Math.exp, Math.log, Math.tanh…, which
 *   engines may round differently in the last bit: equal to 1e-12 relative.
 * - "float32": float32 tensors, whose kernels depend on the backend: equal
 *   to 1e-5 relative between runtimes running the same backend (a last-bit
 *   difference in a float64 Math.exp can flip a float32 rounding, and 20
 *   Adam steps carry it along).
 */
import {
  Adam, AutogradError, DTypeError, FileError, FormatError, Generator, GradcheckError, IndexError, KdgradError, ShapeError,
  ValueError, add, distillationLoss, getBackend, getNumThreads, gradcheck, logSoftmax, matmul, mlp, noGrad, predict, rand, randint,
  randn, setBackend, setNumThreads, softmax, tensor, threadInfo, wasmAvailable, zeros, type Backend, type Tensor, type ThreadInfo,
} from "kdgrad";

export type Kind = "exact" | "float64" | "float32";

export interface Check {
  kind: Kind;
  values: number[];
}

export interface SmokeRun {
  backend: Backend;
  checks: Record<string, Check>;
}

export interface SmokeReport {
  /** The backend kdgrad chose by itself, before any setBackend. */
  automatic: Backend;
  wasmAvailable: boolean;
  /** One run per backend available here: "js" always, then "wasm" where WebAssembly SIMD runs. */
  runs: SmokeRun[];
  /**
   * How kdgrad's errors print: each class made and printed, then an error thrown by `add`.
   * Every bundle is minified, and the names must survive it (`ShapeError: …`, not `e: …`).
   */
  errors: string[];
  /** The threads (run.ts says how many each runtime must use), and whether they changed any bit. */
  threads: ThreadReport;
}

export interface ThreadReport {
  /** threadInfo() before the threaded calls and after them (workers started, jobs run). */
  before: ThreadInfo;
  after: ThreadInfo;
  /** Whether matmul, softmax, logSoftmax and distillationLoss (with its gradient) gave the same bits on one thread and on getNumThreads(). */
  identical: boolean;
}

/**
 * Calls large enough to be split (src/kernels/wasm/module.ts's thresholds), on one thread
 * and on the default count: the bits must be the same, and where threads run the workers
 * must have taken blocks (threadInfo().jobs grows).
 */
function threadCheck(): ThreadReport {
  const before = threadInfo();
  const count = getNumThreads();
  const g = new Generator(31);
  const a = randn([384, 256], { generator: g }); // 1.9e7 multiply-adds: well above two threads' 2¹⁶ each
  const b = randn([256, 192], { generator: g });
  const x = randn([256, 512], { generator: g }).mul(30);
  const s = randn([512, 130], { generator: g }).mul(3);
  const t = randn([512, 130], { generator: g }).mul(3);
  const labels = randint(0, 130, [512], { generator: g });
  const run = (): number[] => {
    const st = s.detach().requiresGrad_();
    const loss = distillationLoss(st, t, { labels, temperature: 4, alpha: 0.9 });
    loss.backward();
    return [...flat(matmul(a, b)), ...flat(softmax(x, -1)), ...flat(logSoftmax(x, -1)), loss.item(), ...flat(st.grad!)];
  };
  setNumThreads(1);
  const one = run();
  setNumThreads(count);
  const many = run();
  return { before, after: threadInfo(), identical: one.length === many.length && one.every((v, i) => Object.is(v, many[i])) };
}

/** The printed form of every error class, and of a ShapeError thrown by an op. */
function errorNames(): string[] {
  const classes = [KdgradError, ShapeError, DTypeError, ValueError, IndexError, AutogradError, FormatError, FileError, GradcheckError];
  const made = classes.map((C) => String(new (C as new (m: string) => Error)("m")));
  let thrown = "nothing thrown";
  try {
    add(zeros([2]), zeros([3]));
  } catch (e) {
    thrown = `${String(e)} (a ShapeError: ${e instanceof ShapeError})`;
  }
  return [...made, thrown];
}

/** Run the smoke program under every available backend. */
export function smoke(): SmokeReport {
  const automatic = getBackend();
  const available = wasmAvailable();
  const runs: SmokeRun[] = [];
  for (const backend of (available ? ["js", "wasm"] : ["js"]) as Backend[]) {
    setBackend(backend);
    runs.push({ backend, checks: smokeRun() });
  }
  setBackend(automatic);
  return { automatic, wasmAvailable: available, runs, errors: errorNames(), threads: threadCheck() };
}

const flat = (t: Tensor): number[] => t.toFlatArray();

/** Fixed logits for distillationLoss: 3 rows of 5 classes (odd, so the wasm kernel pads a class). */
const STUDENT = [
  [1.5, -0.25, 0.75, 3.0, -2.0],
  [0.0, 0.5, -1.25, 2.25, 1.0],
  [-3.5, 4.0, 0.125, -0.5, 2.5],
];
const TEACHER = [
  [2.0, -1.0, 0.5, 4.5, -3.0],
  [-0.75, 1.5, -2.0, 3.0, 0.25],
  [-4.0, 6.0, -1.0, 0.0, 1.75],
];
const LABELS = [3, 3, 1];

function smokeRun(): Record<string, Check> {
  const checks: Record<string, Check> = {};
  const put = (name: string, kind: Kind, values: number[]): void => void (checks[name] = { kind, values });

  // Tensors from a fixed seed: the draws themselves, bit for bit.
  const g = new Generator(2024);
  put("randn float64 [4,5]", "exact", flat(randn([4, 5], { generator: g, dtype: "float64" })));
  put("randn float32 [6]", "exact", flat(randn([6], { generator: g })));
  put("rand float32 [6]", "exact", flat(rand([6], { generator: g })));
  put("randint [0,10) [8]", "exact", flat(randint(0, 10, [8], { generator: g })));

  // distillationLoss forward and backward on fixed logits, both inputs differentiable
  // (online distillation), in float64 (TypeScript kernels) and float32 (the backend's kernel).
  for (const dtype of ["float64", "float32"] as const) {
    const s = tensor(STUDENT, { dtype, requiresGrad: true });
    const t = tensor(TEACHER, { dtype, requiresGrad: true });
    const loss = distillationLoss(s, t, { labels: tensor(LABELS, { dtype: "int32" }), temperature: 4, alpha: 0.7 });
    loss.backward();
    put(`distillationLoss ${dtype}: loss`, dtype, [loss.item()]);
    put(`distillationLoss ${dtype}: ∂/∂student`, dtype, flat(s.grad!));
    put(`distillationLoss ${dtype}: ∂/∂teacher`, dtype, flat(t.grad!));
  }

  // gradcheck of logSoftmax (float64 central differences against backward).
  const x = randn([3, 6], { generator: new Generator(5), dtype: "float64", requiresGrad: true });
  const report = gradcheck((a) => logSoftmax(a, -1), [x]);
  put("gradcheck(logSoftmax) ok", "exact", [report.ok ? 1 : 0]);

  // An MLP forward pass and 20 Adam steps of distillation, then predict: in float64
  // with tanh (all TypeScript kernels), and in float32 with relu at sizes where
  // matmul uses the backend's kernel (n·k·m ≥ 4096).
  for (const dtype of ["float64", "float32"] as const) {
    const [sizes, teacherSizes, batch, activation] = dtype === "float64"
      ? [[8, 16, 4], [8, 24, 4], 12, "tanh" as const]
      : [[64, 32, 10], [64, 48, 10], 32, "relu" as const];
    const gen = new Generator(dtype === "float64" ? 7 : 11);
    const inputs = randn([batch, sizes[0]!], { generator: gen, dtype });
    const labels = randint(0, sizes[2]!, [batch], { generator: gen });
    const teacher = mlp(teacherSizes, { generator: gen, dtype, activation });
    const student = mlp(sizes, { generator: gen, dtype, activation });
    put(`mlp ${dtype}: initial parameters`, "exact", student.parameters().flatMap(flat));
    const teacherLogits = noGrad(() => teacher.forward(inputs));
    put(`mlp ${dtype}: teacher forward`, dtype, flat(teacherLogits));

    const opt = new Adam(student.parameters(), { lr: 1e-2 });
    const losses: number[] = [];
    for (let step = 0; step < 20; step++) {
      opt.zeroGrad();
      const loss = distillationLoss(student.forward(inputs), teacherLogits, { labels, temperature: 2, alpha: 0.5 });
      loss.backward();
      opt.step();
      losses.push(loss.item());
    }
    put(`Adam ${dtype}: 20 losses`, dtype, losses);
    put(`Adam ${dtype}: parameters after 20 steps`, dtype, student.parameters().flatMap(flat));
    const logits = noGrad(() => student.forward(inputs));
    put(`predict ${dtype}`, "exact", flat(predict(logits)));
  }
  return checks;
}
