/**
 * What the fuzz suite feeds the API: arguments as plain data (`Arg`), which
 * fast-check draws and shrinks and the report prints, and `build`, which turns
 * an Arg into the JavaScript value passed to the call (a fresh one each time,
 * since calls may mutate their inputs).
 *
 * Tensors are described by dtype, shape, layout and a value recipe (a kind and
 * a seed, expanded by a small local PRNG that does not depend on kdgrad), and
 * are made with the public `new Tensor(data, shape, strides, offset)`, so a
 * non-contiguous input is a real view: transposed, strided (every other
 * element, from offset 1), expanded (a stride-0 axis) or offset. Storage
 * outside a float view holds NaN (int32: −77777), so a kernel that reads
 * outside its view shows up as a non-finite result where a finite one is due.
 */
import fc from "fast-check";
import { Generator, Tensor } from "../../src/index.js";

export type DType = "float32" | "float64" | "int32";
export type Layout = "contiguous" | "transposed" | "strided" | "expanded" | "offset";

/**
 * How a tensor's values are drawn. moderate: in [−3, 3] on a grid of 1/8
 * (with exact small integers); wide: ±10^u for u in [−8, 4]; special: a
 * moderate tensor with a third of its entries from SPECIAL (NaN, ±∞, −0,
 * ±1e4, ±1e30, subnormals, ±max); masked: moderate with some entries −∞;
 * positive: 10^u for u in [−2, 3]; huge: ±10^u for u in [20, 308];
 * finite-special: the finite values of SPECIAL among moderate ones (so the
 * finiteness promises apply); plateau: one large value b ∈ {±1e4, 1e8, 1e12,
 * 1e15, 1e16} plus small integers, so that many entries tie or nearly tie at
 * a magnitude where b + log(n) rounds (issue item 2); flat: one value with a
 * single entry raised by 1 (the adversarial distillation rows of issue item 3).
 * int32
 * tensors take small integers, class indices in [0, classes) ("classes"), the
 * same with some −100 and out-of-range ones ("labels"), and with `special` the
 * int32 extremes. Rows along the last axis (`row` values each): "topk" (int32) draws distinct
 * classes in [0, classes) per row, a row now and then repeating one or stepping out of range;
 * "logprobs" (float) draws a row of log-probabilities whose mass is below 1, exactly 1, just
 * above 1 (within 1e-6) or well above it, with some −∞ (probability 0).
 */
export type ValueKind =
  | "moderate" | "wide" | "special" | "finite-special" | "masked" | "positive" | "huge" | "plateau" | "flat" | "labels" | "classes"
  | "topk" | "logprobs";

export interface TensorArg {
  k: "tensor";
  dtype: DType;
  shape: number[];
  layout: Layout;
  kind: ValueKind;
  seed: number;
  grad: boolean;
  /** For kind "labels": values in [0, classes), with `bad` ones out of range or −100. */
  classes?: number;
}

export type Arg =
  | TensorArg
  /** A JavaScript value used as it is (numbers including NaN, ±∞ and −0, strings, booleans, null, bigint). */
  | { k: "value"; v: unknown }
  | { k: "undefined" }
  /** An argument left out (at the end of a call) or passed as undefined (in the middle). */
  | { k: "omit" }
  | { k: "list"; items: Arg[] }
  /**
   * An object (an options object, usually). `refuse` marks one the call must refuse: it holds
   * an unknown key (a typo such as "temprature") or a null value, and says which (calls.ts).
   */
  | { k: "object"; fields: [string, Arg][]; refuse?: string }
  | { k: "generator"; seed: number; state?: number[] }
  /** A named value from the suite's catalogue (callbacks, modules, byte strings, …), made by `special`. */
  | { k: "special"; name: string; params?: unknown };

/** Values that break naive arithmetic: everything the issue lists and a few neighbours. */
export const SPECIAL: readonly number[] = [
  NaN, Infinity, -Infinity, -0, 0, 1e4, -1e4, 1e30, -1e30, 5e-324, -5e-324, 1e-310, 1e-40, -1e-40,
  1.7976931348623157e308, -1.7976931348623157e308, 3.4028234663852886e38, 1e15, 1e16, 1e-8, 1, -1,
];

/** Non-integers and out-of-range integers, for every integer argument that is not a size. */
export const BAD_INTS: readonly number[] = [NaN, 0.5, -1, 2 ** 31, 1e12, Infinity, -Infinity, -(2 ** 31) - 1, 2 ** 53 + 2, -0.5, 1.5];

/**
 * The same for sizes (shape entries, feature counts, class counts). 2**31
 * is left out on purpose: a typed array of 2³¹ elements can be allocated
 * (8 GB for float32), so a size of 2³¹ is legal, and filling it would take
 * the shared machine's memory. Every value here is invalid or far beyond
 * what a typed array can hold.
 */
export const BAD_SIZES: readonly number[] = [NaN, 0.5, -1, 1e12, Infinity, -Infinity, 1e10, 2 ** 53, 2.5, -3];

/** Wrong JavaScript types, for arguments that want a tensor, a number, a list or an options object. */
export const WRONG_TYPES: readonly Arg[] = [
  { k: "undefined" }, { k: "value", v: null }, { k: "value", v: "2" }, { k: "value", v: "" }, { k: "value", v: true },
  { k: "list", items: [] }, { k: "list", items: [{ k: "value", v: 1 }, { k: "value", v: 2 }] }, { k: "object", fields: [] },
  { k: "object", fields: [["shape", { k: "list", items: [{ k: "value", v: 2 }] }], ["data", { k: "list", items: [{ k: "value", v: 1 }, { k: "value", v: 2 }] }]] },
  { k: "value", v: 3n }, { k: "special", name: "fn:identity" },
];

// ------------------------------------------------------------------ local PRNG

/** mulberry32: a tiny PRNG independent of kdgrad's Generator, so broken randomness there cannot skew the inputs. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** `n` values of a kind (see ValueKind), deterministic in the seed. */
export function drawValues(kind: ValueKind, dtype: DType, n: number, seed: number, classes = 0, row = 1): number[] {
  const r = prng(seed);
  const out = new Array<number>(n);
  if (kind === "topk" || kind === "logprobs") return drawRows(kind, dtype, n, r, classes, Math.max(row, 1));
  const moderate = (): number => (r() < 0.2 ? Math.floor(r() * 7) - 3 : Math.round((r() * 6 - 3) * 8) / 8);
  const base = [1e4, -1e4, 1e8, 1e12, 1e15, 1e16, -1e16][Math.floor(r() * 7)]!;
  const flatAt = Math.floor(r() * Math.max(n, 1));
  const flatValue = Math.round((r() * 4 - 2) * 4) / 4;
  for (let i = 0; i < n; i++) {
    if (dtype === "int32") {
      if (kind === "classes") out[i] = Math.floor(r() * Math.max(classes, 1));
      else if (kind === "labels") {
        const u = r();
        out[i] = u < 0.9 || classes === 0 ? Math.floor(r() * Math.max(classes, 1)) : u < 0.95 ? -100 : classes + Math.floor(r() * 3);
      } else if (kind === "special" && r() < 0.3) out[i] = [2147483647, -2147483648, 0, -1][Math.floor(r() * 4)]!;
      else out[i] = Math.floor(r() * 13) - 3;
      continue;
    }
    switch (kind) {
      case "wide":
        out[i] = (r() < 0.5 ? -1 : 1) * 10 ** (r() * 12 - 8);
        break;
      case "special":
        out[i] = r() < 0.33 ? SPECIAL[Math.floor(r() * SPECIAL.length)]! : moderate();
        break;
      case "masked":
        out[i] = r() < 0.25 ? -Infinity : moderate();
        break;
      case "finite-special": {
        const x = SPECIAL[Math.floor(r() * SPECIAL.length)]!;
        out[i] = r() < 0.4 && Number.isFinite(x) ? x : moderate();
        break;
      }
      case "plateau":
        out[i] = base + (r() < 0.5 ? 0 : Math.floor(r() * 3));
        break;
      case "flat":
        out[i] = flatValue + (i === flatAt ? 1 : 0);
        break;
      case "positive":
        out[i] = 10 ** (r() * 5 - 2);
        break;
      case "huge":
        out[i] = (r() < 0.5 ? -1 : 1) * 10 ** (20 + r() * 288);
        break;
      default:
        out[i] = moderate();
    }
  }
  return out;
}

/** The row kinds of drawValues: top-k class indices, or top-k log-probabilities (see ValueKind). */
function drawRows(kind: "topk" | "logprobs", dtype: DType, n: number, r: () => number, classes: number, row: number): number[] {
  const out = new Array<number>(n).fill(0);
  for (let start = 0; start < n; start += row) {
    const len = Math.min(row, n - start);
    if (kind === "topk" || dtype === "int32") {
      const C = Math.max(classes, 1);
      const perm = Array.from({ length: C }, (_, i) => i);
      for (let i = C - 1; i > 0; i--) {
        const j = Math.floor(r() * (i + 1));
        [perm[i], perm[j]] = [perm[j]!, perm[i]!];
      }
      for (let j = 0; j < len; j++) out[start + j] = perm[j % C]!;
      const u = r();
      if (u < 0.03 && len > 1) out[start + len - 1] = out[start]!;
      else if (u < 0.05) out[start] = r() < 0.5 ? -1 : C + Math.floor(r() * 3);
      continue;
    }
    const u = r();
    const mass = u < 0.7 ? 0.05 + 0.9 * r() : u < 0.8 ? 1 : u < 0.9 ? 1 + 5e-7 : u < 0.95 ? 1e-30 : 3;
    const w = Array.from({ length: len }, () => 0.05 + r());
    const total = w.reduce((a, b) => a + b, 0);
    for (let j = 0; j < len; j++) out[start + j] = r() < 0.1 ? -Infinity : Math.log((mass * w[j]!) / total);
  }
  return out;
}

// ------------------------------------------------------------------ building

const typed = (dtype: DType, n: number): Float32Array | Float64Array | Int32Array =>
  dtype === "float32" ? new Float32Array(n) : dtype === "float64" ? new Float64Array(n) : new Int32Array(n);

function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let k = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = k;
    k *= shape[i]!;
  }
  return s;
}

/** The layout actually used for a shape (a layout that needs more axes falls back to contiguous). */
export function effectiveLayout(a: TensorArg): Layout {
  const n = a.shape.length;
  if (a.layout === "transposed" && n < 2) return "contiguous";
  if (a.layout === "strided" && n < 1) return "contiguous";
  if (a.layout === "expanded" && !a.shape.some((d) => d >= 2)) return "contiguous";
  return a.layout;
}

/** The logical values of a tensor Arg in row-major order (for expanded layouts, the repeated base values). */
export function logicalValues(a: TensorArg): number[] {
  const layout = effectiveLayout(a);
  if (layout === "expanded") {
    const d = a.shape.findIndex((s) => s >= 2);
    const base = a.shape.map((s, i) => (i === d ? 1 : s));
    const vals = drawValues(a.kind, a.dtype, sizeOf(base), a.seed, a.classes, base[base.length - 1]);
    const out: number[] = [];
    const inner = sizeOf(a.shape.slice(d + 1));
    const outer = sizeOf(a.shape.slice(0, d));
    for (let o = 0; o < outer; o++) for (let j = 0; j < a.shape[d]!; j++) for (let i = 0; i < inner; i++) out.push(vals[o * inner + i]!);
    return out;
  }
  return drawValues(a.kind, a.dtype, sizeOf(a.shape), a.seed, a.classes, a.shape[a.shape.length - 1]);
}

/** Make the tensor an Arg describes (a leaf; requiresGrad for float tensors with `grad`). */
export function buildTensor(a: TensorArg): Tensor {
  const shape = a.shape;
  const n = shape.length;
  const size = sizeOf(shape);
  const pad = a.dtype === "int32" ? -77777 : NaN;
  const layout = effectiveLayout(a);
  let t: Tensor;
  if (layout === "expanded") {
    const d = shape.findIndex((s) => s >= 2);
    const base = shape.map((s, i) => (i === d ? 1 : s));
    const data = typed(a.dtype, sizeOf(base));
    data.set(drawValues(a.kind, a.dtype, sizeOf(base), a.seed, a.classes, base[base.length - 1]));
    const strides = contiguousStrides(base);
    strides[d] = 0;
    t = new Tensor(data, shape, strides, 0);
  } else {
    const values = drawValues(a.kind, a.dtype, size, a.seed, a.classes, shape[shape.length - 1]);
    if (layout === "contiguous") {
      const data = typed(a.dtype, size);
      data.set(values);
      t = new Tensor(data, shape);
    } else if (layout === "offset") {
      const data = typed(a.dtype, size + 3).fill(pad);
      data.set(values, 3);
      t = new Tensor(data, shape, contiguousStrides(shape), 3);
    } else if (layout === "transposed") {
      // Storage in the order of the shape with the last two axes swapped; the view swaps them back.
      const swapped = [...shape];
      [swapped[n - 2], swapped[n - 1]] = [swapped[n - 1]!, swapped[n - 2]!];
      const base = contiguousStrides(swapped);
      const strides = [...base];
      [strides[n - 2], strides[n - 1]] = [base[n - 1]!, base[n - 2]!];
      const data = typed(a.dtype, size);
      forEachIndex(shape, (idx, flat) => {
        let p = 0;
        for (let i = 0; i < n; i++) p += idx[i]! * strides[i]!;
        data[p] = values[flat]!;
      });
      t = new Tensor(data, shape, strides, 0);
    } else {
      // strided: every other element of a last axis twice as long, starting at offset 1.
      const wide = [...shape];
      wide[n - 1] = 2 * wide[n - 1]!;
      const strides = contiguousStrides(wide);
      strides[n - 1] = 2;
      const data = typed(a.dtype, sizeOf(wide) + 1).fill(pad);
      forEachIndex(shape, (idx, flat) => {
        let p = 1;
        for (let i = 0; i < n; i++) p += idx[i]! * strides[i]!;
        data[p] = values[flat]!;
      });
      t = new Tensor(data, shape, strides, 1);
    }
  }
  if (a.grad && a.dtype !== "int32") t.requiresGrad_(true);
  return t;
}

/** Calls f(multi-index, row-major position) for every element of a shape. */
export function forEachIndex(shape: readonly number[], f: (idx: number[], flat: number) => void): void {
  const n = shape.length;
  const size = sizeOf(shape);
  const idx = new Array<number>(n).fill(0);
  for (let flat = 0; flat < size; flat++) {
    f(idx, flat);
    for (let d = n - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
}

/** Makes the named catalogue values (`{ k: "special" }`); set by the table, which knows them. */
export type SpecialBuilder = (name: string, params: unknown) => unknown;
let specialBuilder: SpecialBuilder = (name) => {
  throw new Error(`fuzz: no builder for special value ${name}`);
};
export function setSpecialBuilder(b: SpecialBuilder): void {
  specialBuilder = b;
}

export function build(a: Arg): unknown {
  switch (a.k) {
    case "tensor":
      return buildTensor(a);
    case "value":
      return a.v;
    case "undefined":
    case "omit":
      return undefined;
    case "list":
      return a.items.map(build);
    case "object": {
      const o: Record<string, unknown> = {};
      for (const [key, v] of a.fields) {
        if (v.k === "omit") continue;
        // defineProperty, so that a key such as "__proto__" becomes an own property as JSON.parse would make it.
        Object.defineProperty(o, key, { value: build(v), enumerable: true, writable: true, configurable: true });
      }
      return o;
    }
    case "generator": {
      const g = new Generator(a.seed);
      if (a.state) g.setState(a.state);
      return g;
    }
    case "special":
      return specialBuilder(a.name, a.params);
  }
}

/** The arguments of a call: trailing omitted ones dropped, the others built. */
export function buildArgs(args: readonly Arg[]): unknown[] {
  let end = args.length;
  while (end > 0 && args[end - 1]!.k === "omit") end--;
  return args.slice(0, end).map(build);
}

// ------------------------------------------------------------------ printing

export function showValue(v: unknown): string {
  if (typeof v === "number") return Object.is(v, -0) ? "-0" : String(v);
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "string") return JSON.stringify(v);
  if (v === undefined) return "undefined";
  if (v === null) return "null";
  if (Array.isArray(v)) return `[${v.map(showValue).join(", ")}]`;
  if (typeof v === "object") return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${showValue(x)}`).join(", ")}}`;
  return String(v);
}

/** A compact, replayable description of an Arg. */
export function show(a: Arg): string {
  switch (a.k) {
    case "tensor": {
      const layout = effectiveLayout(a);
      const vals = a.shape.length <= 4 && sizeOf(a.shape) <= 12 ? ` ${showValue(logicalValues(a))}` : ` (${a.kind} seed ${a.seed})`;
      return `T(${a.dtype} [${a.shape.join(",")}]${layout === "contiguous" ? "" : ` ${layout}`}${a.grad && a.dtype !== "int32" ? " grad" : ""}${a.kind === "labels" || a.kind === "classes" ? ` ${a.kind}<${a.classes}` : ""}${vals})`;
    }
    case "value":
      return showValue(a.v);
    case "undefined":
    case "omit":
      return "undefined";
    case "list":
      return `[${a.items.map(show).join(", ")}]`;
    case "object":
      return `{${a.fields.filter(([, v]) => v.k !== "omit").map(([k, v]) => `${/^[A-Za-z_]\w*$/.test(k) ? k : JSON.stringify(k)}: ${show(v)}`).join(", ")}}`;
    case "generator":
      return a.state ? `Generator(${a.seed}).setState(${showValue(a.state)})` : `Generator(${a.seed})`;
    case "special":
      return a.params === undefined ? `<${a.name}>` : `<${a.name} ${showValue(a.params)}>`;
  }
}

export function showArgs(args: readonly Arg[]): string {
  let end = args.length;
  while (end > 0 && args[end - 1]!.k === "omit") end--;
  return args.slice(0, end).map(show).join(", ");
}

// ------------------------------------------------------------------ arbitraries

/**
 * Size limits: `small` for ordinary calls, `large` for the backend comparison (reaches the wasm
 * kernels' thresholds, and class counts up to 8192 in one row).
 */
export interface Profile {
  name: "small" | "large";
  /** Largest number of elements in a generated shape. */
  maxSize: number;
}
export const SMALL: Profile = { name: "small", maxSize: 240 };
export const LARGE: Profile = { name: "large", maxSize: 9000 };

export function dimArb(p: Profile): fc.Arbitrary<number> {
  const common = fc.oneof(
    { weight: 12, arbitrary: fc.integer({ min: 1, max: 4 }) },
    { weight: 2, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.integer({ min: 5, max: 7 }) },
  );
  if (p.name === "small") return common;
  return fc.oneof({ weight: 4, arbitrary: common }, { weight: 6, arbitrary: fc.constantFrom(16, 17, 33, 64, 65, 128) }, { weight: 1, arbitrary: fc.constantFrom(1000, 4097, 8192) });
}

/** Shrink the largest axes until the shape holds at most maxSize elements. */
export function capShape(shape: number[], maxSize: number): number[] {
  const s = [...shape];
  while (sizeOf(s) > maxSize) {
    let k = 0;
    for (let i = 1; i < s.length; i++) if (s[i]! > s[k]!) k = i;
    s[k] = Math.max(1, Math.floor(s[k]! / 2));
  }
  return s;
}

export function shapeArb(p: Profile, minRank = 0, maxRank = 4): fc.Arbitrary<number[]> {
  return fc.array(dimArb(p), { minLength: minRank, maxLength: maxRank }).map((s) => capShape(s, p.maxSize));
}

export const LAYOUTS: readonly Layout[] = ["contiguous", "transposed", "strided", "expanded", "offset"];

export interface TensorOptions {
  dtypes?: readonly DType[];
  kinds?: readonly ValueKind[];
  layouts?: readonly Layout[];
  /** Probability-like weight for requiresGrad on float tensors: "maybe" (default), "always" or "never". */
  grad?: "maybe" | "always" | "never";
  classes?: number;
}

const FLOAT_KINDS: readonly ValueKind[] = ["moderate", "moderate", "moderate", "moderate", "moderate", "wide", "special", "finite-special", "masked", "positive", "huge", "plateau"];

/**
 * The dtypes a tensor parameter draws from unless it says otherwise, read when an arbitrary is
 * built: the backend comparison (profile "large") leans on float32, the only dtype with
 * WebAssembly kernels.
 */
let defaultDtypes: readonly DType[] = ["float32", "float64", "float32", "float64", "int32"];
export function useProfileDtypes(p: Profile): void {
  defaultDtypes = p.name === "large" ? ["float32", "float32", "float32", "float64", "int32"] : ["float32", "float64", "float32", "float64", "int32"];
}

export function kindArb(kinds?: readonly ValueKind[]): fc.Arbitrary<ValueKind> {
  return fc.constantFrom(...(kinds ?? FLOAT_KINDS));
}

/** A tensor Arg of the given shape. */
export function tensorArb(shape: fc.Arbitrary<number[]>, o: TensorOptions = {}): fc.Arbitrary<TensorArg> {
  return fc
    .record({
      dtype: fc.constantFrom<DType>(...(o.dtypes ?? defaultDtypes)),
      shape,
      layout: fc.constantFrom<Layout>(...(o.layouts ?? ["contiguous", "contiguous", "contiguous", ...LAYOUTS])),
      kind: kindArb(o.kinds),
      seed: fc.nat(),
      grad: o.grad === "always" ? fc.constant(true) : o.grad === "never" ? fc.constant(false) : fc.boolean(),
    })
    .map((t) => ({ k: "tensor" as const, ...t, ...(o.classes !== undefined ? { classes: o.classes } : {}) }));
}

/** Variants of a base shape that broadcast with it: equal, some axes 1, leading axes dropped, or unrelated. */
export function broadcastVariant(base: number[], maxSize = Infinity): fc.Arbitrary<number[]> {
  return fc
    .record({ how: fc.constantFrom("same", "same", "ones", "drop", "other"), mask: fc.nat(), other: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }) })
    .map(({ how, mask, other }) => {
      if (how === "same") return [...base];
      if (how === "ones") return base.map((d, i) => ((mask >> i) & 1 ? 1 : d));
      if (how === "drop") return base.slice(Math.min(base.length, mask % 3));
      return other;
    })
    // An empty base ([0, 1000, 33, 1000]) is capped at 0 elements, but dropping or setting to 1
    // its zero axis is not: [1000, 33, 1000] made 33 million (seed 62 of a survey: hangs).
    .map((s) => (sizeOf(s) > maxSize ? capShape(s, maxSize) : s));
}

export const v = (x: unknown): Arg => ({ k: "value", v: x });
export const OMIT: Arg = { k: "omit" };
export const list = (items: Arg[]): Arg => ({ k: "list", items });
export const obj = (fields: [string, Arg][]): Arg => ({ k: "object", fields });
