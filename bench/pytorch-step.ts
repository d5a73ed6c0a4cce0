/**
 * Question: how long does one training step of the MNIST teacher's shape take in kdgrad, next
 * to PyTorch timing itself on the same machine? Report only (issue 16): PyTorch is not a
 * dependency and nothing fails without it. Debian's `python3-torch` (with `libopenblas0-pthread`
 * for its BLAS; without it PyTorch falls back to the reference BLAS and is some 20× slower) is
 * what this was measured with; any `python3` that imports torch is used.
 *
 * The step: MLP 784-1200-1200-10 (ReLU), batch 128 float32, cross-entropy against integer
 * labels, backward, SGD with momentum 0.9 (lr 0.01). Both sides use the same protocol, since
 * PyTorch runs in its own process and benchmark.js cannot time it: `steps` warm-up steps, then
 * `rounds` rounds of `steps` steps; the best round's mean. PyTorch runs on one core
 * (set_num_threads(1), OPENBLAS_NUM_THREADS=1) and on every core (OpenBLAS's threads: on this
 * machine Debian's PyTorch starts with one OpenMP thread, and adding OpenMP threads beside
 * OpenBLAS's slowed its step from 11 to 29 ms).
 *
 * Reported: ms per step, and each time as a multiple of kdgrad on the wasm backend with the
 * default thread count (the core count).
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Generator, SGD, crossEntropy, getNumThreads, mlp, randint, randn, setBackend, setNumThreads, type Module, type Tensor } from "../src/index.js";
// kdgrad/node: Node's way to start threads (worker_threads).
import "../src/node/index.js";
import { fmt, fmtRatio, table, type RunOptions, type SuiteResult } from "./harness.js";

const sizes = [784, 1200, 1200, 10] as const;
const batch = 128;
const steps = 20;
const rounds = 5;
const cores = getNumThreads();
const script = fileURLToPath(new URL("./pytorch/mlp_step.py", import.meta.url));

interface Row {
  name: string;
  /** Seconds per step (NaN where it could not run). */
  seconds: number;
  note?: string;
}

/** kdgrad's step on the wasm backend with `threads` threads, timed as mlp_step.py times PyTorch's. */
function kdgrad(threads: number, quick: boolean): Row {
  setBackend("wasm");
  setNumThreads(threads);
  const g = new Generator(0);
  const net: Module = mlp([...sizes], { generator: g });
  const opt = new SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
  const x: Tensor = randn([batch, sizes[0]], { generator: g, dtype: "float32" });
  const y: Tensor = randint(0, sizes[3], [batch], { generator: g });
  const step = (): number => {
    opt.zeroGrad();
    const loss = crossEntropy(net.forward(x), y);
    loss.backward();
    opt.step();
    return loss.item();
  };
  const n = quick ? 1 : steps;
  for (let i = 0; i < n; i++) step();
  let best = Infinity;
  for (let r = 0; r < (quick ? 1 : rounds); r++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) step();
    best = Math.min(best, (performance.now() - t0) / 1e3 / n);
  }
  return { name: `kdgrad (wasm, ${threads} thread${threads === 1 ? "" : "s"})`, seconds: best };
}

/** A python3 that imports torch, or null. */
function findPython(): string | null {
  for (const exe of ["python3", "/usr/bin/python3"]) {
    const r = spawnSync(exe, ["-c", "import torch"], { encoding: "utf8" });
    if (r.status === 0) return exe;
  }
  return null;
}

function pytorch(python: string, name: string, threads: number, openblas: number, quick: boolean): Row {
  const r = spawnSync(python, [script, sizes.join(","), String(batch), String(threads), String(quick ? 1 : steps), String(quick ? 1 : rounds)], {
    encoding: "utf8", env: { ...process.env, OPENBLAS_NUM_THREADS: String(openblas), OMP_NUM_THREADS: String(threads) },
  });
  if (r.status !== 0) return { name, seconds: NaN, note: `failed: ${(r.stderr || r.stdout).trim().split("\n").pop()}` };
  const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as { secondsPerStep: number; torch: string; threads: number };
  return { name: `${name}, torch ${out.torch}`, seconds: out.secondsPerStep };
}

export async function run(options: RunOptions): Promise<SuiteResult> {
  process.stderr.write("pytorch step\n");
  const rows: Row[] = [kdgrad(cores, options.quick), kdgrad(1, options.quick)];
  const python = findPython();
  if (python === null) rows.push({ name: "PyTorch", seconds: NaN, note: "not available (no python3 that imports torch)" });
  else {
    rows.push(pytorch(python, `PyTorch, ${cores} cores (OpenBLAS threads)`, 1, cores, options.quick));
    rows.push(pytorch(python, "PyTorch, 1 core", 1, 1, options.quick));
  }
  setNumThreads(cores);
  const base = rows[0]!.seconds;
  const markdown = [
    "## Against PyTorch: the MNIST teacher's training step (report only)",
    "",
    `MLP ${sizes.join("-")} (ReLU), batch ${batch}, float32; forward, cross-entropy, backward, SGD with momentum 0.9. ` +
      `Each side timed in its own process the same way: ${steps} warm-up steps, then the best of ${rounds} rounds of ${steps} steps. ` +
      "ratio = time ÷ time of kdgrad (wasm) on the default thread count (> 1: slower than kdgrad)." +
      (options.quick ? " (quick: one step, not timed)" : ""),
    "",
    table(["variant", "ms/step", "ratio to kdgrad wasm", "note"], rows.map((r) => [r.name, fmt(r.seconds * 1e3), fmtRatio(r.seconds / base), r.note ?? ""])),
  ];
  return {
    key: "pytorch",
    markdown: markdown.join("\n"),
    mismatches: [],
    data: { sizes, batch, steps, rounds, variants: rows.map((r) => ({ name: r.name, msPerStep: r.seconds * 1e3, ratioToKdgradWasm: r.seconds / base, ...(r.note ? { note: r.note } : {}) })) },
  };
}
