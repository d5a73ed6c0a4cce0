import { describe, expect, test } from "vitest";
import { UsageError, parseOptions, parseSizes } from "../../src/cli/args.js";
import { mean, meanStd, std, table } from "../../src/cli/format.js";
import { lineChart, niceAxis, textWidth } from "../../src/cli/svg.js";
import { Progress } from "../../src/cli/progress.js";
import { biasShiftFor } from "../../src/cli/recipe.js";
import { tensor } from "../../src/index.js";

describe("option parsing", () => {
  const spec = {
    n: { kind: "int", help: "" }, x: { kind: "number", help: "" }, list: { kind: "ints", help: "" },
    name: { kind: "string", help: "" }, flag: { kind: "flag", help: "" },
  } as const;

  test("values in both spellings, lists and flags", () => {
    expect(parseOptions(["--n", "3", "--x=0.5", "--list", "1,2", "--flag", "--name", "a"], spec, "t")).toEqual({ n: 3, x: 0.5, list: [1, 2], flag: true, name: "a" });
  });

  test.each([
    [["--bogus"], /^kdgrad t: unknown option --bogus/],
    [["--n", "1.5"], /^kdgrad t: --n must be an integer, got '1.5'$/],
    [["--x", "abc"], /^kdgrad t: --x must be a number, got 'abc'$/],
    [["--n"], /^kdgrad t: --n needs a value$/],
    [["--n", "1", "--n", "2"], /^kdgrad t: --n given twice$/],
    [["--flag=1"], /^kdgrad t: --flag takes no value$/],
    [["stray"], /^kdgrad t: unexpected argument 'stray'/],
    [["--list", "1,,2"], /^kdgrad t: --list must be an integer, got ''$/],
  ])("%j is a UsageError", (argv, message) => {
    expect(() => parseOptions(argv, spec, "t")).toThrow(UsageError);
    expect(() => parseOptions(argv, spec, "t")).toThrow(message);
  });

  test("layer sizes", () => {
    expect(parseSizes("64-16-10", "--student", "distill")).toEqual([64, 16, 10]);
    expect(() => parseSizes("64-x-10", "--student", "distill")).toThrow(/--student must look like 64-16-10/);
    expect(() => parseSizes("64", "--student", "distill")).toThrow(UsageError);
  });

  // Number() reads all of these as numbers; the parser promises no silent coercion.
  test.each(["0x1", " 8", "8 ", "1e1", "+8", "8.0", "1_0", "0b1", "0o7", "", "Infinity", "9007199254740993"])(
    "layer size %j is refused",
    (size) => {
      expect(() => parseSizes(`64-${size}-10`, "--student", "distill")).toThrow(UsageError);
    },
  );

  test.each(["0x1", " 8", "8 ", "1e1", "+8", "8.0", "1_0", "0b1", "Infinity", "NaN", "-", "1e400"])(
    "integer option value %j is refused, naming the option",
    (v) => {
      expect(() => parseOptions(["--n", v], spec, "t")).toThrow(/^kdgrad t: --n must be an integer/);
      expect(() => parseOptions(["--list", `1,${v}`], spec, "t")).toThrow(/^kdgrad t: --list must be an integer/);
    },
  );

  test("an integer beyond 2^53 − 1 is refused rather than rounded (9007199254740993 would read as …992)", () => {
    expect(() => parseOptions(["--list", "9007199254740993"], spec, "t")).toThrow(
      "kdgrad t: --list must be an integer of at most 9007199254740991 in size (2^53 − 1, beyond which integers are not exact), got '9007199254740993'");
    expect(parseOptions(["--n", "9007199254740991", "--list", "-3,007"], spec, "t")).toEqual({ n: 9007199254740991, list: [-3, 7] });
  });

  test.each(["0x1", " 1", "1 ", "Infinity", "-Infinity", "NaN", "1e400", "1_0", "1,5", "e3", ".", "1e", "--1"])(
    "float option value %j is refused",
    (v) => {
      expect(() => parseOptions([`--x=${v}`], spec, "t")).toThrow(/^kdgrad t: --x must be a number/);
    },
  );

  test.each([["4", 4], ["0.5", 0.5], [".5", 0.5], ["2.", 2], ["-1.5", -1.5], ["+3", 3], ["2e-3", 0.002], ["1E+2", 100], ["1e-400", 0]])(
    "float option value %j is read as %d (decimal, with an optional exponent)",
    (v, n) => {
      expect(parseOptions([`--x=${v}`], spec, "t")).toEqual({ x: n });
    },
  );
});

describe("formatting", () => {
  test("tables align columns and right-align numbers", () => {
    const t = table(["model", "errors"], [["teacher", "8"], ["student", "30.5"]]);
    expect(t.split("\n")).toEqual(["| model   | errors |", "|---------|-------:|", "| teacher |      8 |", "| student |   30.5 |"]);
  });

  test("mean and sample standard deviation", () => {
    expect(mean([1, 2, 3])).toBe(2);
    expect(std([1, 2, 3])).toBe(1);
    expect(meanStd([1, 2, 3])).toBe("2.0 ± 1.0");
    expect(meanStd([4])).toBe("4");
    expect(meanStd([4.25], 2)).toBe("4.25");
  });

  test("the SVG chart is well-formed, with one polyline per series and a legend", () => {
    const svg = lineChart({
      title: "a < b", xLabel: "T", yLabel: "acc", xLog: true,
      series: [{ name: "one", points: [[1, 90], [2, 91], [8, 95]] }, { name: "ref", points: [[1, 92], [8, 92]], dashed: true }],
    });
    expect(svg.startsWith("<svg xmlns=\"http://www.w3.org/2000/svg\"")).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg).toContain("stroke-dasharray");
    expect(svg).toContain("a &lt; b");
    expect(svg).not.toContain("NaN");
  });

  /** The y-axis labels (right-aligned texts left of the plot) of a chart. */
  const yLabels = (svg: string): number[] => [...svg.matchAll(/<text x="58" y="[\d.]+" text-anchor="end">([-\d.]+)<\/text>/g)].map((m) => Number(m[1]));

  test("the y axis ends on labelled ticks that enclose the data (the sweep's data reached 94 % above a top label of 90)", () => {
    const svg = lineChart({ title: "t", xLabel: "T", yLabel: "acc", xLog: true, series: [{ name: "s", points: [[1, 85.1], [4, 94.2], [16, 90]] }] });
    const labels = yLabels(svg);
    expect(labels.length).toBeGreaterThanOrEqual(5);
    expect(Math.max(...labels)).toBeGreaterThanOrEqual(94.2);
    expect(Math.min(...labels)).toBeLessThanOrEqual(85.1);
    for (const [lo, hi] of [[85.1, 94.2], [0.1, 0.13], [12, 98], [-3, 7], [5, 5], [1e-9, 3e-9], [90, 90.5]] as const) {
      const axis = niceAxis(lo, hi);
      expect(axis.lo, `${lo}..${hi}`).toBeLessThanOrEqual(lo);
      expect(axis.hi, `${lo}..${hi}`).toBeGreaterThanOrEqual(hi);
      expect(axis.ticks[0]).toBe(axis.lo);
      expect(axis.ticks[axis.ticks.length - 1]).toBe(axis.hi);
      expect(axis.ticks.length, `${lo}..${hi}: ${axis.ticks}`).toBeGreaterThanOrEqual(5);
      expect(axis.ticks.length, `${lo}..${hi}: ${axis.ticks}`).toBeLessThanOrEqual(9);
    }
  });

  test("the legend fits in the chart whatever the names' length (it was clipped outside Chromium)", () => {
    for (const name of ["a", "student, distilled (T = 8, α = 0.9)", "64-32-10, α = 0.9, an even longer name than usual WWWW"]) {
      const svg = lineChart({ title: "t", xLabel: "x", yLabel: "y", series: [{ name, points: [[1, 1], [2, 2]] }] });
      const width = Number(/^<svg [^>]*width="(\d+)"/.exec(svg)![1]);
      const x = Number(new RegExp(`<text x="([\\d.]+)" y="[\\d.]+">${name.replace(/[()]/g, "\\$&")}</text>`).exec(svg)![1]);
      expect(x + textWidth(name), name).toBeLessThanOrEqual(width);
    }
    // The estimate is an upper bound of DejaVu Sans' advance widths (0.613 em for "a", 0.318 for a space, 0.838 for "=").
    expect(textWidth("a", 100)).toBeGreaterThanOrEqual(61.3);
    expect(textWidth(" ", 100)).toBeGreaterThanOrEqual(31.8);
    expect(textWidth("=", 100)).toBeGreaterThanOrEqual(83.8);
  });

  test("the progress bar draws on a terminal and stays silent elsewhere", () => {
    const out: string[] = [];
    new Progress({ isTTY: true, write: (s) => out.push(s) }, "teacher", 10).update(10, { loss: 0.5, examples: 100 });
    expect(out.join("")).toMatch(/teacher .*epoch 10\/10.*loss 0\.5000/);
    const quiet: string[] = [];
    new Progress({ isTTY: false, write: (s) => quiet.push(s) }, "teacher", 10).update(10, { loss: 0.5 });
    expect(quiet).toEqual([]);
  });
});

describe("bias correction", () => {
  test("the shift makes exactly `target` rows predict class k", () => {
    const logits = tensor([[2, 0, 1], [0, 3, 0.5], [1, 1, 0.9], [5, 0, -1]], { dtype: "float64" });
    for (let target = 0; target <= 4; target++) {
      const shift = biasShiftFor(logits, 2, target);
      const shifted = logits.add(tensor([0, 0, shift], { dtype: "float64" }));
      const count = shifted.argmax(-1).toFlatArray().filter((c) => c === 2).length;
      expect(count).toBe(target);
    }
  });
});
