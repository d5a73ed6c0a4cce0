import type { DType } from "./dtype.js";
import type { Tensor } from "./tensor.js";

/**
 * PyTorch's default print options (torch/_tensor_str.py): 4 digits after the point, a
 * summary past 1000 elements showing 3 items at each end of every axis longer than 6, and
 * lines wrapped at 80 columns.
 */
const PRECISION = 4;
const THRESHOLD = 1000;
const EDGE_ITEMS = 3;
const LINE_WIDTH = 80;
const PREFIX = "tensor(";

/**
 * Print like PyTorch: `tensor([[ 0.1000, -2.0000], …], shape=[2, 2], dtype=float64)`.
 *
 * - Summary. A tensor of more than 1000 elements shows, on every axis longer than 6, its
 *   first 3 and last 3 entries with `...` between (` ...` inside a row), as PyTorch does.
 * - Cost. Only the printed elements are read, through the strides from the offset, once
 *   each: time and memory grow with what is printed, not with the tensor (a 2e8-element
 *   tensor expanded from one value reads 6 elements if 1-d, 36 if 2-d), and no copy of the
 *   storage is made.
 * - Scale, chosen from the printed elements only (PyTorch's _Formatter on the summarised
 *   data): over the nonzero finite values, scientific notation (`1.0000e-06`) when
 *   max|v| / min|v| > 1000 or max|v| > 1e8, or, unless all of them are whole numbers,
 *   min|v| < 1e-4; whole numbers otherwise print as `3.` (a float with no fraction),
 *   anything else with 4 decimals. Every entry is padded to the widest of those values.
 *   NaN and ±∞ print as `nan`, `inf`, `-inf`; −0 keeps its sign. int32 prints as integers.
 *   (Digits come from JavaScript's toFixed/toExponential, which round an exact tie such as
 *   1.03125 to 4 places up where Python rounds it to even; no other difference.)
 * - Rows wrap at 80 columns; the shape and dtype are always printed, then `gradFn` or
 *   `requiresGrad=true`.
 */
export function formatTensor(t: Tensor): string {
  const extras = [`shape=[${t.shape.join(", ")}]`, `dtype=${t.dtype}`];
  if (t.requiresGrad) extras.push(t.node ? `gradFn=${t.node.name}` : "requiresGrad=true");
  return `${PREFIX}${t.size === 0 ? "[]" : body(t)}, ${extras.join(", ")})`;
}

function body(t: Tensor): string {
  const { shape, strides, data } = t;
  const ndim = shape.length;
  const summarise = t.size > THRESHOLD;
  // Per axis, the indices printed; null stands for the elided middle.
  const picks = shape.map((n): (number | null)[] => {
    if (!summarise || n <= 2 * EDGE_ITEMS) return Array.from({ length: n }, (_, i) => i);
    const head = Array.from({ length: EDGE_ITEMS }, (_, i) => i);
    return [...head, null, ...head.map((i) => n - EDGE_ITEMS + i)];
  });
  // The printed elements in print order, read through the strides (the only reads of storage).
  const values: number[] = [];
  const gather = (axis: number, position: number): void => {
    if (axis === ndim) {
      values.push(data[position]!);
      return;
    }
    for (const i of picks[axis]!) if (i !== null) gather(axis + 1, position + i * strides[axis]!);
  };
  gather(0, t.offset);
  const { width, format } = formatter(values, t.dtype);
  let next = 0;
  const build = (axis: number, indent: number): string => {
    if (axis === ndim) return format(values[next++]!);
    if (axis === ndim - 1) {
      const items = picks[axis]!.map((i) => (i === null ? " ..." : format(values[next++]!)));
      const perLine = Math.max(1, Math.floor((LINE_WIDTH - indent) / (width + 2)));
      const lines: string[] = [];
      for (let i = 0; i < items.length; i += perLine) lines.push(items.slice(i, i + perLine).join(", "));
      return "[" + lines.join(",\n" + " ".repeat(indent + 1)) + "]";
    }
    const rows = picks[axis]!.map((i) => (i === null ? "..." : build(axis + 1, indent + 1)));
    return "[" + rows.join("," + "\n".repeat(ndim - axis - 1) + " ".repeat(indent + 1)) + "]";
  };
  return build(0, PREFIX.length);
}

/** The notation and width of every printed entry, from the printed values (see formatTensor). */
function formatter(values: readonly number[], dtype: DType): { width: number; format(v: number): string } {
  if (dtype === "int32") {
    const width = Math.max(1, ...values.map((v) => String(v).length));
    return { width, format: (v) => String(v).padStart(width) };
  }
  let min = Infinity;
  let max = 0;
  let whole = true;
  for (const v of values) {
    if (!Number.isFinite(v) || v === 0) continue;
    min = Math.min(min, Math.abs(v));
    max = Math.max(max, Math.abs(v));
    if (v !== Math.ceil(v)) whole = false;
  }
  const any = max > 0;
  const sci = any && (max / min > 1000 || max > 1e8 || (!whole && min < 1e-4));
  const text = (v: number): string => {
    if (Number.isNaN(v)) return "nan";
    if (v === Infinity) return "inf";
    if (v === -Infinity) return "-inf";
    const sign = Object.is(v, -0) ? "-" : "";
    if (sci) return sign + v.toExponential(PRECISION).replace(/e([+-])(\d)$/, "e$10$2"); // Python's e-06, not e-6
    if (whole) return `${sign}${v.toFixed(0)}.`;
    return sign + v.toFixed(PRECISION);
  };
  let width = 1;
  for (const v of values) if (Number.isFinite(v) && v !== 0) width = Math.max(width, text(v).length);
  return { width, format: (v) => text(v).padStart(width) };
}
