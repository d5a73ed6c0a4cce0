/**
 * A dependency-free SVG line chart: axes with ticks, one polyline per
 * series (optionally dashed, e.g. a reference line), a legend. Used for
 * learning curves and for the temperature sweep.
 */
export interface Series {
  name: string;
  points: readonly (readonly [number, number])[];
  /** A dashed reference line. */
  dashed?: boolean;
  /** An SVG stroke-dasharray, e.g. "2 3" (overrides `dashed`). */
  dash?: string;
  /** A colour; by default series take the palette in turn. */
  colour?: string;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  /** Log-scale x axis (temperatures). */
  xLog?: boolean;
  /** Explicit x ticks (e.g. the temperatures tried). */
  xTicks?: readonly number[];
  /** The width with a legend column of 170 px (default 720); a longer legend widens the chart, not the plot. */
  width?: number;
  height?: number;
}

export const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

const escape = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** "Nice" tick values covering [lo, hi] (for a log axis: the decades). */
function ticks(lo: number, hi: number, count = 5): number[] {
  if (lo === hi) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/**
 * A value axis that starts and ends on a labelled tick: the step is 1, 2 or 5 times a power
 * of ten (2.5 if none fits), the one giving 4 to 8 intervals and the shortest axis once
 * [lo, hi] is widened to whole steps (so the largest value is never above the last label, as
 * with data up to 94 % under a top label of 90).
 */
export function niceAxis(lo: number, hi: number): { lo: number; hi: number; ticks: number[] } {
  if (!(hi > lo)) [lo, hi] = [lo - 1, hi + 1];
  const mag = 10 ** Math.floor(Math.log10((hi - lo) / 4));
  let best: { first: number; n: number; step: number } | null = null;
  for (const k of [0.5, 1, 2, 5, 10, 20, 2.5]) {
    if (k === 2.5 && best !== null) break; // 2.5 only where no step of 1, 2 or 5 fits
    const step = k * mag;
    const first = Math.floor(lo / step + 1e-9);
    const n = Math.ceil(hi / step - 1e-9) - first;
    if (n >= 4 && n <= 8 && (best === null || n * step < best.n * best.step)) best = { first, n, step };
  }
  // Ticks as (first + i)·step rounded to 12 digits, so that 0.1 + 0.2 prints as 0.3.
  const out = best === null
    ? [lo, hi]
    : Array.from({ length: best.n + 1 }, (_, i) => Number(((best.first + i) * best.step).toPrecision(12)));
  return { lo: Math.min(lo, out[0]!), hi: Math.max(hi, out[out.length - 1]!), ticks: out };
}

/**
 * An upper estimate of the width of `text` in px at `size` px, from the advance widths of
 * DejaVu Sans (among the widest common sans-serif faces; Chromium's default is narrower):
 * about 0.28 em for i, l, spaces and punctuation, 0.4 for t, f, r, -, brackets, 0.84 for
 * = and +, 0.95 for m and w, at most 0.66 for the rest; 5 % more for safety. The legend is
 * laid out with it, so no renderer clips it.
 */
export function textWidth(text: string, size = 12): number {
  let em = 0;
  for (const ch of text) {
    if (" ,.;:'!|ilj".includes(ch)) em += 0.32;
    else if ("tfr-()[]/".includes(ch)) em += 0.42;
    else if ("=+<>~±".includes(ch)) em += 0.84;
    else if ("mwMW%".includes(ch)) em += 0.98;
    else em += 0.66;
  }
  return em * size * 1.05;
}

export function lineChart(options: ChartOptions): string {
  const { title, xLabel, yLabel, series, xLog = false } = options;
  const height = options.height ?? 420;
  // The plot keeps its width; the legend's column on the right is as wide as its longest name.
  const legend = 12 + 24 + 6 + Math.ceil(Math.max(0, ...series.map((s) => textWidth(s.name)))) + 12;
  const m = { left: 64, right: Math.max(170, legend), top: 40, bottom: 52 };
  const width = (options.width ?? 720) - 170 + m.right;
  const fx = (x: number): number => (xLog ? Math.log10(x) : x);
  const all = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(fx(x)) && Number.isFinite(y));
  let [x0, x1] = [Math.min(...all.map((p) => fx(p[0]))), Math.max(...all.map((p) => fx(p[0])))];
  let [y0, y1] = [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  if (!(x1 > x0)) [x0, x1] = [x0 - 1, x0 + 1];
  const yAxis = niceAxis(y0, y1);
  [y0, y1] = [yAxis.lo, yAxis.hi];
  const px = (x: number): number => m.left + ((fx(x) - x0) / (x1 - x0)) * (width - m.left - m.right);
  const py = (y: number): number => height - m.bottom - ((y - y0) / (y1 - y0)) * (height - m.top - m.bottom);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  parts.push(`<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${escape(title)}</text>`);
  const xt = options.xTicks ? [...options.xTicks] : xLog ? ticks(Math.floor(x0), Math.ceil(x1), Math.max(1, Math.ceil(x1) - Math.floor(x0))).map((v) => 10 ** v) : ticks(x0, x1);
  for (const v of xt) {
    if (fx(v) < x0 - 1e-9 || fx(v) > x1 + 1e-9) continue;
    parts.push(`<line x1="${px(v).toFixed(1)}" x2="${px(v).toFixed(1)}" y1="${m.top}" y2="${height - m.bottom}" stroke="#eee"/>`);
    parts.push(`<text x="${px(v).toFixed(1)}" y="${height - m.bottom + 16}" text-anchor="middle">${v}</text>`);
  }
  for (const v of yAxis.ticks) {
    parts.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${py(v).toFixed(1)}" y2="${py(v).toFixed(1)}" stroke="#eee"/>`);
    parts.push(`<text x="${m.left - 6}" y="${(py(v) + 4).toFixed(1)}" text-anchor="end">${v}</text>`);
  }
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${width - m.left - m.right}" height="${height - m.top - m.bottom}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${(m.left + width - m.right) / 2}" y="${height - 12}" text-anchor="middle">${escape(xLabel)}</text>`);
  parts.push(`<text transform="translate(16 ${(m.top + height - m.bottom) / 2}) rotate(-90)" text-anchor="middle">${escape(yLabel)}</text>`);
  series.forEach((s, k) => {
    const colour = s.colour ?? COLOURS[k % COLOURS.length]!;
    const dash = s.dash ?? (s.dashed ? "6 4" : null);
    const dashAttr = dash ? ` stroke-dasharray="${dash}"` : "";
    const pts = s.points.filter(([x, y]) => Number.isFinite(fx(x)) && Number.isFinite(y));
    const d = pts.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(" ");
    parts.push(`<polyline fill="none" stroke="${colour}" stroke-width="2"${dashAttr} points="${d}"><title>${escape(s.name)}</title></polyline>`);
    if (pts.length <= 12) for (const [x, y] of pts) parts.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${colour}"/>`);
    const ly = m.top + 14 + 18 * k;
    parts.push(`<line x1="${width - m.right + 12}" x2="${width - m.right + 36}" y1="${ly - 4}" y2="${ly - 4}" stroke="${colour}" stroke-width="2"${dashAttr}/>`);
    parts.push(`<text x="${width - m.right + 42}" y="${ly}">${escape(s.name)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

export interface Bar {
  name: string;
  /** The bar's length (a mean). */
  value: number;
  /** A whisker of ± spread around the value (a standard deviation); 0 draws none. */
  spread: number;
}

export interface BarChartOptions {
  title: string;
  xLabel: string;
  bars: readonly Bar[];
  /** A dashed vertical reference line at this value (e.g. the baseline's mean), with its name. */
  reference?: { value: number; name: string };
  width?: number;
}

/**
 * A horizontal bar chart with ± whiskers: one row per bar, its name on the left (the margin
 * as wide as the longest name, measured with textWidth), the value axis from 0 on
 * niceAxis's ticks, each value (± spread) printed in the column right of the plot.
 */
export function barChart(options: BarChartOptions): string {
  const { title, xLabel, bars, reference } = options;
  const row = 30;
  const left = 12 + Math.ceil(Math.max(0, ...bars.map((b) => textWidth(b.name)))) + 10;
  const m = { left, right: 90, top: 40, bottom: 52 };
  const width = Math.max(options.width ?? 720, left + 520);
  const height = m.top + m.bottom + row * bars.length;
  const hi = Math.max(1e-9, ...bars.map((b) => b.value + b.spread).filter(Number.isFinite), reference?.value ?? 0);
  const axis = niceAxis(0, hi);
  const px = (x: number): number => m.left + ((x - axis.lo) / (axis.hi - axis.lo)) * (width - m.left - m.right);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  parts.push(`<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${escape(title)}</text>`);
  const bottom = height - m.bottom;
  for (const v of axis.ticks) {
    parts.push(`<line x1="${px(v).toFixed(1)}" x2="${px(v).toFixed(1)}" y1="${m.top}" y2="${bottom}" stroke="#eee"/>`);
    parts.push(`<text x="${px(v).toFixed(1)}" y="${bottom + 16}" text-anchor="middle">${v}</text>`);
  }
  bars.forEach((b, k) => {
    const y = m.top + row * k;
    const colour = COLOURS[k % COLOURS.length]!;
    const value = Number.isFinite(b.value) ? b.value : 0;
    parts.push(`<text x="${m.left - 8}" y="${y + row / 2 + 4}" text-anchor="end">${escape(b.name)}</text>`);
    parts.push(`<rect x="${m.left}" y="${y + 6}" width="${(px(value) - m.left).toFixed(1)}" height="${row - 12}" fill="${colour}" fill-opacity="0.75"><title>${escape(`${b.name}: ${b.value.toFixed(1)} ± ${b.spread.toFixed(1)}`)}</title></rect>`);
    if (b.spread > 0) {
      const [a, c, mid] = [px(Math.max(axis.lo, value - b.spread)), px(value + b.spread), y + row / 2];
      parts.push(`<path d="M${a.toFixed(1)} ${mid} H${c.toFixed(1)} M${a.toFixed(1)} ${mid - 5} V${mid + 5} M${c.toFixed(1)} ${mid - 5} V${mid + 5}" stroke="#333" fill="none"/>`);
    }
    parts.push(`<text x="${width - m.right + 8}" y="${y + row / 2 + 4}">${b.spread > 0 ? `${b.value.toFixed(1)} ± ${b.spread.toFixed(1)}` : b.value.toFixed(1)}</text>`);
  });
  if (reference !== undefined) {
    const x = px(reference.value).toFixed(1);
    parts.push(`<line x1="${x}" x2="${x}" y1="${m.top}" y2="${bottom}" stroke="#333" stroke-dasharray="6 4"><title>${escape(reference.name)}</title></line>`);
  }
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${width - m.left - m.right}" height="${bottom - m.top}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${(m.left + width - m.right) / 2}" y="${height - 12}" text-anchor="middle">${escape(xLabel)}</text>`);
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
