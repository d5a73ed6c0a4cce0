/**
 * Question: how long does one training step of a small MLP take in kdgrad,
 * next to TensorFlow.js and jax-js?
 *
 * The model is 64 → 256 → ReLU → 256 → ReLU → 10 (logits), the loss the mean
 * cross-entropy against integer labels, the batch 128 × 64 float32, and a
 * step is forward, backward and a plain SGD update θ ← θ − 0.01·∇θ. Every
 * framework starts from the same weights (kdgrad's initialisation, copied)
 * and ends each step with the loss as a number; tfjs executes eagerly, and
 * jax-js's next step consumes the updated parameters, so no update is
 * skipped.
 *
 * Checked once, outside the timing, against the same two steps in float64
 * through kdgrad's ops: the loss before and after the first update, and the
 * update itself (θ₁ − θ₀) of every parameter.
 *
 * Reported: ms per step and the time as a multiple of kdgrad's on the wasm
 * backend, measured in the same Suite.
 */
import {
  Generator, Tensor, SGD, crossEntropy, getNumThreads, matmul, mlp, noGrad, randint, randn, relu, setBackend, setNumThreads, type Backend,
} from "../src/index.js";
import { jit, nn, numpy as np, valueAndGrad } from "@jax-js/jax";
import type * as TF from "@tensorflow/tfjs";
import {
  fmt, fmtRatio, fmtRme, maxAbs, maxAbsDiff, measure, relClose, table, target, targetTable,
  type Measurement, type RunOptions, type SuiteResult, type Variant,
} from "./harness.js";
import { loadJax, loadTf, useTf, type TfBackend } from "./peers.js";
// kdgrad/node: Node's way to start threads (worker_threads).
import "../src/node/index.js";

/** The default thread count here (the core count), read before any case sets it. */
const cores = getNumThreads();

const sizes = [64, 256, 256, 10] as const;
const batch = 128;
const lr = 0.01;
const lossRtol = 1e-4;
/** The first update must match: max |Δθ − Δθ₆₄| ≤ updateRtol·max |Δθ₆₄| for every parameter. */
const updateRtol = 1e-2;

/** Parameters in kdgrad's layout: W [out, in] then b [out], layer by layer. */
interface Init {
  shapes: number[][];
  values: Float32Array[];
  x: Float32Array;
  y: Int32Array;
}

interface Case {
  name: string;
  before?: () => void;
  /** One training step; returns the loss before the update. */
  step: () => number;
  /** The current parameters in kdgrad's layout (copies). */
  params: () => Float32Array[];
  dispose?: () => void;
}

/** rows × cols row-major → cols × rows row-major. */
function transposeData(d: ArrayLike<number>, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = d[r * cols + c]!;
  return out;
}

/** kdgrad on `backend`; on wasm with `threads` threads (by default the core count: getNumThreads()). */
function kdgradCase(init: Init, backend: Backend, threads = cores): Case {
  const net = mlp([...sizes], { generator: new Generator(7) });
  const params = net.parameters();
  params.forEach((p, i) => p.data.set(init.values[i]!));
  const opt = new SGD(params, { lr });
  const x = new Tensor(init.x, [batch, sizes[0]]);
  const y = new Tensor(init.y, [batch]);
  return {
    name: threads === cores ? `kdgrad (${backend})` : `kdgrad (${backend}, ${threads} thread${threads === 1 ? "" : "s"})`,
    before: () => {
      setBackend(backend);
      setNumThreads(threads);
    },
    step: () => {
      setBackend(backend);
      setNumThreads(threads);
      opt.zeroGrad();
      const loss = crossEntropy(net.forward(x), y);
      loss.backward();
      opt.step();
      return loss.item();
    },
    params: () => params.map((p) => Float32Array.from(p.data)),
  };
}

async function tfCase(init: Init, backend: TfBackend): Promise<Case> {
  const tf = await loadTf();
  useTf(backend);
  // tfjs's layout (as tf.layers.dense): kernel [in, out], y = x·W + b.
  const vars = init.values.map((d, i) => {
    const shape = init.shapes[i]!;
    const value = shape.length === 2 ? tf.tensor2d(transposeData(d, shape[0]!, shape[1]!), [shape[1]!, shape[0]!]) : tf.tensor1d(d);
    const v = tf.variable(value);
    value.dispose();
    return v;
  });
  const [W1, b1, W2, b2, W3, b3] = vars as [TF.Variable, TF.Variable, TF.Variable, TF.Variable, TF.Variable, TF.Variable];
  const x = tf.tensor2d(init.x, [batch, sizes[0]]);
  const y = tf.tensor1d(init.y, "int32");
  const opt = tf.train.sgd(lr);
  const loss = (): TF.Scalar => {
    const h1 = tf.relu(x.matMul(W1).add(b1));
    const h2 = tf.relu(h1.matMul(W2).add(b2));
    const logits = h2.matMul(W3).add(b3);
    return tf.losses.softmaxCrossEntropy(tf.oneHot(y, sizes[3]), logits) as TF.Scalar;
  };
  return {
    name: `tfjs ${backend}`,
    before: () => useTf(backend),
    step: () => {
      const cost = opt.minimize(loss, true, vars)!;
      const l = cost.dataSync()[0]!;
      cost.dispose();
      return l;
    },
    params: () => vars.map((v, i) => {
      const shape = init.shapes[i]!;
      const d = v.dataSync();
      return shape.length === 2 ? transposeData(d, shape[1]!, shape[0]!) : Float32Array.from(d);
    }),
    dispose: () => {
      tf.dispose([...vars, x, y]);
      opt.dispose();
    },
  };
}

async function jaxCase(init: Init): Promise<Case> {
  await loadJax();
  let params: np.Array[] = init.values.map((d, i) => {
    const shape = init.shapes[i]!;
    return shape.length === 2 ? np.array(transposeData(d, shape[0]!, shape[1]!)).reshape([shape[1]!, shape[0]!]) : np.array(d);
  });
  const x = np.array(init.x).reshape([batch, sizes[0]]);
  const y = np.array(init.y, { dtype: np.int32 });
  // Reference-counted arrays: every function consumes its arguments, so a
  // value used twice is passed once as `.ref`.
  const loss = (p: np.Array[], xv: np.Array, yv: np.Array): np.Array => {
    const [W1, b1, W2, b2, W3, b3] = p as [np.Array, np.Array, np.Array, np.Array, np.Array, np.Array];
    const h1 = nn.relu(np.matmul(xv, W1).add(b1));
    const h2 = nn.relu(np.matmul(h1, W2).add(b2));
    const logits = np.matmul(h2, W3).add(b3);
    // y[:, None] == arange(C) (nn.oneHot is eye(C)[y]; same thing at C = 10).
    const onehot = np.equal(yv.reshape([batch, 1]), np.arange(sizes[3]).astype(np.int32)).astype(np.float32);
    return np.sum(nn.logSoftmax(logits, -1).mul(onehot)).mul(-1 / batch);
  };
  const step = jit((p: np.Array[], xv: np.Array, yv: np.Array): [np.Array[], np.Array] => {
    const [value, grads] = valueAndGrad(loss)(p.map((a) => a.ref), xv, yv) as [np.Array, np.Array[]];
    return [p.map((a, i) => a.sub(grads[i]!.mul(lr))), value];
  });
  return {
    name: "jax-js jit(step)",
    step: () => {
      const [next, value] = step(params, x.ref, y.ref);
      params = next;
      return value.dataSync()[0]!;
    },
    params: () => params.map((a, i) => {
      const shape = init.shapes[i]!;
      const d = a.ref.dataSync() as Float32Array;
      return shape.length === 2 ? transposeData(d, shape[1]!, shape[0]!) : Float32Array.from(d);
    }),
    dispose: () => {
      for (const a of params) a.dispose();
      x.dispose();
      y.dispose();
      step.dispose();
    },
  };
}

/** Two SGD steps in float64 through kdgrad's ops, written out (no mlp, no SGD class). */
function reference(init: Init): { loss1: number; loss2: number; update: Float64Array[] } {
  const theta = init.values.map((d, i) => new Tensor(Float64Array.from(d), init.shapes[i]!).requiresGrad_());
  const x = new Tensor(Float64Array.from(init.x), [batch, sizes[0]]);
  const y = new Tensor(init.y, [batch]);
  const forward = (p: Tensor[]): Tensor => {
    let h = x;
    for (let l = 0; l < 3; l++) {
      h = matmul(h, p[2 * l]!.T).add(p[2 * l + 1]!);
      if (l < 2) h = relu(h);
    }
    return crossEntropy(h, y);
  };
  const loss = forward(theta);
  loss.backward();
  const update = theta.map((p) => {
    const g = p.grad!.data;
    return Float64Array.from(g, (v) => -lr * v);
  });
  const next = theta.map((p, i) => new Tensor(Float64Array.from(p.data, (v, j) => v + update[i]![j]!), p.shape));
  const loss2 = noGrad(() => forward(next)).item();
  return { loss1: loss.item(), loss2, update };
}

interface Check {
  name: string;
  loss1: number;
  loss2: number;
  updateRelErr: number;
  ok: boolean;
  seconds: number;
  error?: string;
}

function check(c: Case, ref: ReturnType<typeof reference>): Check {
  const t0 = performance.now();
  try {
    c.before?.();
    const p0 = c.params();
    const loss1 = c.step();
    const seconds = (performance.now() - t0) / 1e3;
    const p1 = c.params();
    const loss2 = c.step();
    let updateRelErr = 0;
    p1.forEach((p, i) => {
      const delta = p.map((v, j) => v - p0[i]![j]!);
      updateRelErr = Math.max(updateRelErr, maxAbsDiff(delta, ref.update[i]!) / maxAbs(ref.update[i]!));
    });
    const ok = relClose(loss1, ref.loss1, lossRtol) && relClose(loss2, ref.loss2, lossRtol) && updateRelErr <= updateRtol;
    return { name: c.name, loss1, loss2, updateRelErr, ok, seconds };
  } catch (e) {
    return { name: c.name, loss1: NaN, loss2: NaN, updateRelErr: NaN, ok: false, seconds: NaN, error: String(e) };
  }
}

export async function run(options: RunOptions): Promise<SuiteResult> {
  process.stderr.write("mlp step\n");
  const g = new Generator(11);
  const net = mlp([...sizes], { generator: g });
  const init: Init = {
    shapes: net.parameters().map((p) => [...p.shape]),
    values: net.parameters().map((p) => Float32Array.from(p.data)),
    x: randn([batch, sizes[0]], { generator: g, dtype: "float32" }).data as Float32Array,
    y: randint(0, sizes[3], [batch], { generator: g }).data as Int32Array,
  };
  const cases: Case[] = [
    kdgradCase(init, "wasm"),
    kdgradCase(init, "wasm", 1),
    kdgradCase(init, "js"),
    await tfCase(init, "cpu"),
    await tfCase(init, "wasm"),
    await jaxCase(init),
  ];
  const ref = reference(init);
  const checks = cases.map((c) => check(c, ref));
  const measured: Measurement[] = options.quick
    ? checks.map((ck) => ({ name: ck.name, mean: ck.seconds, rme: NaN, samples: 1 }))
    : measure("mlp step", cases.map((c): Variant => ({ name: c.name, before: c.before, fn: () => void c.step() })));
  for (const c of cases) c.dispose?.();

  const base = measured[0]!.mean;
  const rows = measured.map((m, i) => [m.name, fmt(m.mean * 1e3), fmtRme(m), fmtRatio(m.mean / base), checks[i]!.ok ? "ok" : "MISMATCH"]);
  const mismatches: string[] = [];
  for (const ck of checks) {
    if (ck.ok) continue;
    const what = ck.error ?? `losses ${ck.loss1}, ${ck.loss2} vs float64 ${ref.loss1}, ${ref.loss2}; update rel. err. ${ck.updateRelErr.toExponential(2)}`;
    mismatches.push(`mlp ${ck.name}: ${what}`);
    rows.push([`MISMATCH: ${ck.name}`, "", "", "", what]);
  }
  const markdown: string[] = [
    "## MLP training step",
    "",
    `MLP ${sizes.join("-")} (ReLU), batch ${batch}, float32; forward, cross-entropy, backward, SGD lr ${lr}. ` +
      `kdgrad (wasm) uses ${cores} thread${cores === 1 ? "" : "s"} (getNumThreads(): the core count), "wasm, 1 thread" one. ` +
      "ratio = time ÷ time of kdgrad (wasm) in the same Suite (> 1: slower than kdgrad). " +
      `Check: losses before and after the first update within ${lossRtol} relative, the update within ${updateRtol} of max|Δθ|, against float64.` +
      (options.quick ? " (quick: one step, not timed; the first includes jit compilation)" : ""),
    "",
    table(["variant", "ms/step", "±", "ratio to kdgrad wasm", "check"], rows),
  ];
  const targets = [
    target("MLP step: kdgrad wasm ≥ 2× jax-js", measured, "kdgrad (wasm)", "jax-js jit(step)", 2),
    target(`MLP step: kdgrad wasm on ${cores} threads ≥ 1.8× one thread`, measured, "kdgrad (wasm)", "kdgrad (wasm, 1 thread)", 1.8),
  ];
  if (!options.quick) markdown.push("", targetTable(targets));
  const data = {
    sizes, batch, lr, referenceLoss: ref.loss1,
    variants: measured.map((m, i) => ({
      name: m.name, msPerStep: m.mean * 1e3, rmePercent: m.rme, samples: m.samples, ratioToKdgradWasm: m.mean / base,
      ...(m.error ? { error: m.error } : {}), check: checks[i],
    })),
  };
  return { key: "mlp", markdown: markdown.join("\n"), mismatches, data: { ...data, targets } };
}
