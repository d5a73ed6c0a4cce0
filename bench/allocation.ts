/**
 * Question: how many bytes does one fused `distillationLoss` call allocate,
 * forward and backward, at [256, 1000] float32, on the wasm and js backends?
 * And one softmax, logSoftmax or linear call (forward and backward): does a
 * WebAssembly kernel copy its result out once, into the output tensor, or
 * does it make a new array first?
 *
 * The target: nothing of size B·C beyond the outputs (the loss scalar, the
 * student gradient; for softmax and logSoftmax y and dx) and what the op
 * saves for backward.
 *
 * Method (no change to src/): before kdgrad is imported, every typed-array
 * constructor on globalThis is replaced by a subclass that counts the bytes
 * of each array it creates with its own storage: `new Float32Array(n)`,
 * `new Float32Array(array)`, and `.slice()`/`.map()` (which construct through
 * the subclass, as its species); ArrayBuffer.prototype.slice is counted too
 * (a copy out of WebAssembly memory). Views over an existing buffer (`subarray`,
 * `new Float32Array(buffer, offset, length)`, e.g. over WebAssembly memory)
 * allocate nothing and are not counted. WebAssembly.Instance is wrapped too,
 * to read the size of kdgrad's linear memory: it is reused across calls and
 * must not grow once warm. kdgrad is then loaded with a dynamic import, so
 * every array it makes goes through the counters; the constructors are
 * restored afterwards. Plain JS objects (Tensor, Node) are not counted:
 * they are O(1) per call.
 *
 * This suite must run before anything else imports kdgrad (bench/run.ts
 * runs it first); it measures, it does not time.
 */
import { table, type RunOptions, type SuiteResult } from "./harness.js";
// Types only (erased): kdgrad itself is imported below, after the counters are in place.
import type { DistillationOptions, Tensor } from "../src/index.js";

type Loss = (student: Tensor, teacher: Tensor, options: DistillationOptions) => Tensor;

const B = 256;
const C = 1000;
const temperature = 4;
const alpha = 0.7;

const typedArrayNames = [
  "Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array", "Uint32Array",
  "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array",
] as const;

type AnyCtor = new (...args: unknown[]) => { readonly byteLength: number };

interface Counter {
  /** Bytes allocated since the last reset. */
  bytes: number;
  /** Allocations since the last reset, by "Type(bytes)". */
  sizes: Map<string, number>;
  reset(): void;
  /** The size of the first WebAssembly memory instantiated since install (kdgrad's), or 0. */
  wasmMemoryBytes(): number;
  restore(): void;
}

function installCounters(): Counter {
  const g = globalThis as unknown as Record<string, unknown>;
  const OriginalArrayBuffer = ArrayBuffer;
  const OriginalShared = typeof SharedArrayBuffer === "undefined" ? null : SharedArrayBuffer;
  const saved = new Map<string, unknown>();
  const counter: Counter = {
    bytes: 0,
    sizes: new Map(),
    reset() {
      counter.bytes = 0;
      counter.sizes.clear();
    },
    wasmMemoryBytes: () => memory?.buffer.byteLength ?? 0,
    restore() {
      for (const [name, ctor] of saved) g[name] = ctor;
      OriginalArrayBuffer.prototype.slice = originalSlice;
      wasm.Instance = OriginalInstance;
    },
  };
  // ArrayBuffer.prototype.slice copies into a new buffer (kdgrad copies results out
  // of WebAssembly memory this way): counted like a typed array with storage.
  const originalSlice = OriginalArrayBuffer.prototype.slice;
  OriginalArrayBuffer.prototype.slice = function (this: ArrayBuffer, begin?: number, end?: number): ArrayBuffer {
    const copy = originalSlice.call(this, begin, end);
    counter.bytes += copy.byteLength;
    const key = `ArrayBuffer.slice(${copy.byteLength} B)`;
    counter.sizes.set(key, (counter.sizes.get(key) ?? 0) + 1);
    return copy;
  };
  for (const name of typedArrayNames) {
    const Base = g[name] as AnyCtor | undefined;
    if (Base === undefined) continue;
    saved.set(name, Base);
    const Counting = class extends Base {
      constructor(...args: unknown[]) {
        super(...args);
        const a0 = args[0];
        const overBuffer = a0 instanceof OriginalArrayBuffer || (OriginalShared !== null && a0 instanceof OriginalShared);
        if (!overBuffer) {
          counter.bytes += this.byteLength;
          const key = `${name}(${this.byteLength} B)`;
          counter.sizes.set(key, (counter.sizes.get(key) ?? 0) + 1);
        }
      }
    };
    Object.defineProperty(Counting, "name", { value: name });
    g[name] = Counting;
  }

  // Catch the memory of the first module instantiated from here on: kdgrad's kernels.
  interface WasmInstanceCtor { new (module: object, imports?: object): { exports: Record<string, unknown> } }
  const wasm = (globalThis as unknown as { WebAssembly: { Instance: WasmInstanceCtor } }).WebAssembly;
  const OriginalInstance = wasm.Instance;
  let memory: { buffer: ArrayBuffer } | null = null;
  wasm.Instance = class extends OriginalInstance {
    constructor(module: object, imports?: object) {
      super(module, imports);
      const m = this.exports.memory as { buffer: ArrayBuffer } | undefined;
      if (memory === null && m !== undefined) memory = m;
    }
  };
  return counter;
}

interface Row {
  name: string;
  /** Which table: the distillation losses, or the other ops. */
  group: "loss" | "op";
  forwardBytes: number;
  backwardBytes: number;
  /** Allocations of one call, forward and backward, as "Type(bytes) ×count". */
  allocations: string[];
  /** Whether the call runs kdgrad's WebAssembly kernels. */
  usesWasm: boolean;
  wasmMemoryBytes: number;
  wasmMemoryGrowth: number;
}

export async function run(options: RunOptions): Promise<SuiteResult> {
  process.stderr.write("allocation\n");
  const counter = installCounters();
  let rows: Row[];
  try {
    const kd = await import("../src/index.js");
    const g = new kd.Generator(B + C);
    const s = kd.randn([B, C], { generator: g, dtype: "float32" });
    const t = kd.randn([B, C], { generator: g, dtype: "float32" }).mul(2);
    const y = kd.randint(0, C, [B], { generator: g });
    const calls = options.quick ? 2 : 20;

    /**
     * `call(leaf)` is the forward pass from a fresh leaf (a copy of its input, which requires
     * grad), `runBackward(out)` the backward pass; bytes are counted for each.
     */
    const measureOne = (
      name: string, group: Row["group"], backend: "wasm" | "js", usesWasm: boolean,
      input: Tensor, call: (leaf: Tensor) => Tensor, runBackward: (out: Tensor) => void,
    ): Row => {
      kd.setBackend(backend);
      const once = (): { forward: number; backward: number; sizes: Map<string, number> } => {
        const leaf = input.detach().requiresGrad_();
        counter.reset();
        const out = call(leaf);
        const forward = counter.bytes;
        const sizes = new Map(counter.sizes);
        counter.reset();
        runBackward(out);
        for (const [k, v] of counter.sizes) sizes.set(k, (sizes.get(k) ?? 0) + v);
        return { forward, backward: counter.bytes, sizes };
      };
      // Warm up: compiles the kernels and sizes the WebAssembly memory.
      once();
      once();
      const memBefore = counter.wasmMemoryBytes();
      let forward = 0;
      let backward = 0;
      let last = once();
      for (let i = 0; i < calls; i++) {
        last = once();
        forward += last.forward;
        backward += last.backward;
      }
      const allocations = [...last.sizes].sort((a, b) => parseSize(b[0]) - parseSize(a[0])).map(([k, n]) => `${k} ×${n}`);
      return {
        name, group, forwardBytes: forward / calls, backwardBytes: backward / calls, allocations, usesWasm,
        wasmMemoryBytes: counter.wasmMemoryBytes(), wasmMemoryGrowth: counter.wasmMemoryBytes() - memBefore,
      };
    };
    const lossRow = (name: string, backend: "wasm" | "js", loss: Loss): Row =>
      measureOne(name, "loss", backend, backend === "wasm" && loss === (kd.distillationLoss as Loss), s,
        (leaf) => loss(leaf, t, { labels: y, temperature, alpha }), (l) => l.backward());
    // The softmax family with a [B, C] upstream gradient; linear x [B, C] · Wᵀ, W [B, C] (out = B).
    const up = kd.randn([B, C], { generator: g, dtype: "float32" });
    const weight = kd.randn([B, C], { generator: g, dtype: "float32" }).mul(0.03);
    const bias = kd.randn([B], { generator: g, dtype: "float32" });
    const upLinear = kd.randn([B, B], { generator: g, dtype: "float32" });
    const opRow = (name: string, backend: "wasm" | "js", call: (leaf: Tensor) => Tensor, upstream: Tensor): Row =>
      measureOne(`${name} (${backend})`, "op", backend, backend === "wasm", s, call, (out) => out.backward(upstream));
    rows = [
      lossRow("fused distillationLoss (wasm)", "wasm", kd.distillationLoss),
      lossRow("fused distillationLoss (js)", "js", kd.distillationLoss),
      lossRow("distillationLossComposite (for comparison)", "js", kd.distillationLossComposite),
      opRow("logSoftmax", "wasm", (leaf) => kd.logSoftmax(leaf, -1), up),
      opRow("logSoftmax", "js", (leaf) => kd.logSoftmax(leaf, -1), up),
      opRow("softmax", "wasm", (leaf) => kd.softmax(leaf, -1), up),
      opRow("softmax", "js", (leaf) => kd.softmax(leaf, -1), up),
      opRow("linear, weight and bias constant", "wasm", (leaf) => kd.linear(leaf, weight, bias), upLinear),
    ];
    kd.setBackend(kd.wasmAvailable() ? "wasm" : "js");
  } finally {
    counter.restore();
  }

  const unit = B * C * 4;
  const fmtBytes = (b: number): string => `${Math.round(b).toLocaleString("en-US")}`;
  const multiple = (b: number): string => `${(b / unit).toFixed(3)}`;
  const header = ["variant", "forward B", "backward B", "total B", "× B·C·4", "allocations in one call", "wasm memory (growth)"];
  const lines = (group: Row["group"]): string[][] =>
    rows.filter((r) => r.group === group).map((r) => [
      r.name, fmtBytes(r.forwardBytes), fmtBytes(r.backwardBytes), fmtBytes(r.forwardBytes + r.backwardBytes),
      multiple(r.forwardBytes + r.backwardBytes), r.allocations.join(", "),
      r.usesWasm ? `${fmtBytes(r.wasmMemoryBytes)} B (+${fmtBytes(r.wasmMemoryGrowth)})` : "not used",
    ]);
  const markdown = [
    "## Allocation per distillationLoss call",
    "",
    `[${B}, ${C}] float32, T = ${temperature}, α = ${alpha}, hard labels; bytes of typed arrays created per call ` +
      `(mean of ${options.quick ? 2 : 20} warm calls), and as a multiple of B·C·4 = ${fmtBytes(unit)} B (one float32 [B, C] tensor). ` +
      "Views (subarray, views of WebAssembly memory) are not allocations and are not counted.",
    "",
    table(header, lines("loss")),
    "",
    "## Allocation per softmax, logSoftmax and linear call",
    "",
    `Forward and backward from a fresh [${B}, ${C}] float32 leaf, counted as above: softmax and logSoftmax with a [${B}, ${C}] ` +
      `upstream gradient (the target is y and dx, 2 × B·C·4, with nothing copied twice); linear(x, W, b) with W [${B}, ${C}] and b [${B}] ` +
      "constants (the target is y and dx).",
    "",
    table(header, lines("op")),
  ].join("\n");
  const mismatches = rows
    .filter((r) => r.wasmMemoryGrowth !== 0)
    .map((r) => `allocation ${r.name}: WebAssembly memory grew by ${r.wasmMemoryGrowth} B during warm calls`);
  return { key: "allocation", markdown, mismatches, data: { B, C, temperature, alpha, unitBytes: unit, variants: rows } };
}

/** The byte count in a "Type(n B)" key. */
function parseSize(key: string): number {
  return Number(/\((\d+) B\)/.exec(key)?.[1] ?? 0);
}
