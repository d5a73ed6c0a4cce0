// Small DOM and SVG helpers shared by the widgets (no framework: the pages load nothing else).
const SVG = "http://www.w3.org/2000/svg";

/** An element with attributes and children (strings become text). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

/** An SVG element with attributes and children. */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

/** A labelled range input; `format` prints its value beside it. Returns { root, input, value() }. */
export function slider(label, { min, max, step, value, format = (v) => String(v) }) {
  const input = h("input", { type: "range", min, max, step, value });
  const shown = h("span", { class: "value" }, format(Number(value)));
  input.addEventListener("input", () => (shown.textContent = format(Number(input.value))));
  return { root: h("label", {}, label, input, shown), input, value: () => Number(input.value) };
}

/** Numbers from "1, -2.5, 3" (spaces or commas); throws on anything else. */
export function parseNumbers(text, what) {
  const parts = text.split(/[\s,]+/).filter(Boolean);
  const xs = parts.map(Number);
  if (xs.length === 0 || xs.some((x) => !Number.isFinite(x))) throw new Error(`${what}: "${text}" is not a list of numbers`);
  return xs;
}

/** A number for display: 4 significant digits, exponent form when tiny or huge. */
export function fmt(x) {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return "0";
  const a = Math.abs(x);
  return a >= 1e-3 && a < 1e5 ? String(Number(x.toPrecision(4))) : x.toExponential(2);
}

/**
 * A line plot on log or linear axes: series [{ xs, ys, color, dash, label }], marks
 * [{ x, y, color }]. Returns the <svg>.
 */
export function plot({ width = 560, height = 300, series, marks = [], logX = false, logY = false, xLabel = "", yLabel = "" }) {
  const pad = { l: 62, r: 14, t: 12, b: 40 };
  const fx = logX ? Math.log10 : (v) => v, fy = logY ? Math.log10 : (v) => v;
  const pts = series.flatMap((q) => q.xs.map((x, i) => [fx(x), fy(q.ys[i])])).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  let [x0, x1] = [Math.min(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...pts.map((p) => p[1])), Math.max(...pts.map((p) => p[1]))];
  if (x1 - x0 < 1e-12) [x0, x1] = [x0 - 1, x1 + 1];
  if (y1 - y0 < 1e-12) [y0, y1] = [y0 - 1, y1 + 1];
  const X = (x) => pad.l + ((fx(x) - x0) / (x1 - x0)) * (width - pad.l - pad.r);
  const Y = (y) => height - pad.b - ((fy(y) - y0) / (y1 - y0)) * (height - pad.t - pad.b);
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img" });
  svg.append(s("rect", { x: pad.l, y: pad.t, width: width - pad.l - pad.r, height: height - pad.t - pad.b, fill: "white", stroke: "#d9dde5" }));
  // Ticks: powers of ten on log axes, five steps on linear ones.
  const ticks = (lo, hi, log) => {
    if (log) {
      const out = [];
      for (let k = Math.ceil(lo); k <= Math.floor(hi); k++) out.push(k);
      const step = Math.max(1, Math.ceil(out.length / 8));
      return out.filter((_, i) => i % step === 0).map((k) => [10 ** k, `1e${k}`]);
    }
    return Array.from({ length: 6 }, (_, i) => lo + (i * (hi - lo)) / 5).map((v) => [v, fmt(v)]);
  };
  for (const [v, text] of ticks(x0, x1, logX)) {
    svg.append(s("line", { x1: X(v), x2: X(v), y1: pad.t, y2: height - pad.b, stroke: "#eef0f4" }));
    svg.append(s("text", { x: X(v), y: height - pad.b + 14, "font-size": 10, "text-anchor": "middle", fill: "#5b6475" }, text));
  }
  for (const [v, text] of ticks(y0, y1, logY)) {
    svg.append(s("line", { x1: pad.l, x2: width - pad.r, y1: Y(v), y2: Y(v), stroke: "#eef0f4" }));
    svg.append(s("text", { x: pad.l - 4, y: Y(v) + 3, "font-size": 10, "text-anchor": "end", fill: "#5b6475" }, text));
  }
  svg.append(s("text", { x: (pad.l + width - pad.r) / 2, y: height - 6, "font-size": 11, "text-anchor": "middle" }, xLabel));
  svg.append(s("text", { x: 12, y: (pad.t + height - pad.b) / 2, "font-size": 11, "text-anchor": "middle", transform: `rotate(-90 12 ${(pad.t + height - pad.b) / 2})` }, yLabel));
  let ly = pad.t + 14;
  for (const q of series) {
    const d = q.xs.map((x, i) => [X(x), Y(q.ys[i])]).filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b))
      .map(([a, b], i) => `${i === 0 ? "M" : "L"}${a.toFixed(1)},${b.toFixed(1)}`).join("");
    svg.append(s("path", { d, fill: "none", stroke: q.color, "stroke-width": 2, "stroke-dasharray": q.dash ?? "none", class: "series" }));
    if (q.label) {
      svg.append(s("line", { x1: width - pad.r - 190, x2: width - pad.r - 170, y1: ly - 4, y2: ly - 4, stroke: q.color, "stroke-width": 2, "stroke-dasharray": q.dash ?? "none" }));
      svg.append(s("text", { x: width - pad.r - 165, y: ly, "font-size": 11 }, q.label));
      ly += 15;
    }
  }
  for (const m of marks) svg.append(s("circle", { cx: X(m.x), cy: Y(m.y), r: 4.5, fill: m.color, class: "mark" }));
  return svg;
}

/** Paint a matrix (row-major, n×n) on a canvas, diverging blue–white–red around 0, |v| ≤ scale. */
export function heatmap(canvas, values, n, scale, cell = 28) {
  canvas.width = canvas.height = n * cell;
  const ctx = canvas.getContext("2d");
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const v = Math.max(-1, Math.min(1, values[i * n + j] / scale));
      const a = Math.round(255 * (1 - Math.abs(v)));
      ctx.fillStyle = v >= 0 ? `rgb(255,${a},${a})` : `rgb(${a},${a},255)`;
      ctx.fillRect(j * cell, i * cell, cell, cell);
    }
  }
}
