/** Text output for the terminal: aligned tables and mean ± std. */

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, j) => Math.max(h.length, ...rows.map((r) => (r[j] ?? "").length)));
  // A column is numeric (right-aligned) when every cell is a number, possibly with ± std and a unit.
  const number = /^(-|[-+]?\d[\d.]*(e[-+]?\d+)?( ± [\d.]+)?( %| s| \/ \d+)?|\d+ min \d+ s)$/;
  const numeric = header.map((_, j) => rows.length > 0 && rows.every((r) => number.test(r[j] ?? "")));
  const line = (cells: readonly string[]): string =>
    "| " + cells.map((c, j) => (numeric[j] ? c.padStart(widths[j]!) : c.padEnd(widths[j]!))).join(" | ") + " |";
  const rule = "|" + widths.map((w, j) => (numeric[j] ? "-".repeat(w + 1) + ":" : "-".repeat(w + 2))).join("|") + "|";
  return [line(header), rule, ...rows.map(line)].join("\n");
}

export function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation (n − 1), 0 for a single value. */
export function std(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
}

/** "mean ± std"; a single value is printed alone (integers without decimals). */
export function meanStd(xs: readonly number[], digits = 1): string {
  if (xs.length === 1) return Number.isInteger(xs[0]) ? String(xs[0]) : xs[0]!.toFixed(digits);
  return `${mean(xs).toFixed(digits)} ± ${std(xs).toFixed(digits)}`;
}

export function seconds(s: number): string {
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}
