import type { Tensor } from "./tensor.js";

const EDGE = 3;
const THRESHOLD = 1000;

/**
 * Print like PyTorch: `tensor([[ 0.1000, -2.0000], …], dtype=float64)`.
 * Floats get 4 decimals (scientific notation when magnitudes call for it);
 * tensors with more than 1000 elements show 3 entries at each edge of every
 * axis with `...` between. The shape is always printed.
 */
export function formatTensor(t: Tensor): string {
  const flat = t.copyData();
  const elide = t.size > THRESHOLD;
  const finite = Array.from(flat).filter((v) => Number.isFinite(v));
  const maxAbs = finite.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const minAbs = finite.filter((v) => v !== 0).reduce((m, v) => Math.min(m, Math.abs(v)), Infinity);
  const sci = t.dtype !== "int32" && (maxAbs >= 1e8 || (minAbs < 1e-4 && minAbs !== Infinity));
  const fmt = (v: number): string => {
    if (Number.isNaN(v)) return "nan";
    if (v === Infinity) return "inf";
    if (v === -Infinity) return "-inf";
    if (t.dtype === "int32") return String(v);
    return sci ? v.toExponential(4) : v.toFixed(4);
  };
  const width = Math.max(...Array.from(elide ? [] : flat, (v) => fmt(v).length), 1);
  const pad = (s: string): string => (elide ? s : s.padStart(width));
  const strides: number[] = [];
  let s = 1;
  for (let i = t.ndim - 1; i >= 0; i--) {
    strides[i] = s;
    s *= t.shape[i]!;
  }
  const indent = "tensor(".length;
  const build = (axis: number, base: number): string => {
    if (axis === t.ndim) return pad(fmt(flat[base]!));
    const n = t.shape[axis]!;
    const picks: (number | null)[] = [];
    if (elide && n > 2 * EDGE) {
      for (let i = 0; i < EDGE; i++) picks.push(i);
      picks.push(null);
      for (let i = n - EDGE; i < n; i++) picks.push(i);
    } else {
      for (let i = 0; i < n; i++) picks.push(i);
    }
    const parts = picks.map((i) => (i === null ? "..." : build(axis + 1, base + i * strides[axis]!)));
    const sep = axis === t.ndim - 1 ? ", " : ",\n" + "\n".repeat(t.ndim - axis - 2) + " ".repeat(indent + axis + 1);
    return "[" + parts.join(sep) + "]";
  };
  const body = t.size === 0 ? "[]" : build(0, 0);
  const extras = [`shape=[${t.shape.join(", ")}]`, `dtype=${t.dtype}`];
  if (t.requiresGrad) extras.push(t.node ? `gradFn=${t.node.name}` : "requiresGrad=true");
  return `tensor(${body}, ${extras.join(", ")})`;
}
