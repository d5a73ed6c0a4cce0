/**
 * The 5-seed reproduction of the PyTorch reference run (issue 4): the
 * default `kdgrad distill` recipe over seeds 0–4, compared with what
 * PyTorch got, and with the bands kdgrad's means must land in.
 *
 *   npx tsx bench/reproduce.ts            (about 40 s on the 2-core machine)
 *   npx tsx bench/reproduce.ts --omit-class 3
 */
import { main } from "../src/cli/main.js";
import { nodeIO } from "../src/cli/node-io.js";
import { mean, std, table } from "../src/cli/format.js";

const omit = process.argv.includes("--omit-class");
let out = "";
const io = { ...nodeIO(), stdout: { write: (s: string) => (out += s) } };
const argv = ["distill", "--seeds", "0,1,2,3,4", "--json", ...(omit ? ["--omit-class", "3"] : [])];
const code = await main(argv, io);
if (code !== 0) process.exit(code);
const r = JSON.parse(out) as {
  seconds: number;
  teacher: { errors: number[]; accuracy: number[] };
  hard: { errors: number[]; accuracy: number[] };
  distilled: { errors: number[]; accuracy: number[] };
  omitted?: { of: number; hard: number[]; before: number[]; after: number[] };
};
const ms = (xs: number[], d = 1): string => `${mean(xs).toFixed(d)} ± ${std(xs).toFixed(d)}`;
const pct = (xs: number[]): string => `${ms(xs.map((a) => 100 * a), 2)} %`;
const gain = r.hard.errors.map((e, i) => e - r.distilled.errors[i]!);

console.log(`kdgrad ${argv.join(" ")}  (${r.seconds.toFixed(1)} s, ${new Date().toISOString().slice(0, 10)}, Node ${process.version})\n`);
if (!omit) {
  const band = (x: number, lo: number, hi: number): string => (x >= lo && x <= hi ? `yes (${lo}–${hi})` : `NO (${lo}–${hi})`);
  console.log(table(["model", "kdgrad errors / 450", "kdgrad accuracy", "PyTorch", "in band"], [
    ["teacher 64-256-256-10", ms(r.teacher.errors), pct(r.teacher.accuracy), "98.13 ± 0.25 %", "-"],
    ["student 64-16-10, hard labels", ms(r.hard.errors), pct(r.hard.accuracy), "32.8 ± 3.4 errors (92.71 %)", band(mean(r.hard.errors), 29, 37)],
    ["student 64-16-10, distilled T = 8, α = 0.9", ms(r.distilled.errors), pct(r.distilled.accuracy), "21.6 ± 2.1 errors (95.20 %)", band(mean(r.distilled.errors), 18, 25)],
    ["gain (fewer errors)", ms(gain), "", "11.2", mean(gain) >= 6 ? "yes (≥ 6)" : "NO (≥ 6)"],
  ]));
} else {
  const o = r.omitted!;
  console.log(table([`test 3s correct (of ${o.of})`, "kdgrad", "PyTorch"], [
    ["hard labels, no 3s", ms(o.hard), "0 / 46"],
    ["distilled (T = 8, α = 1), before bias correction", ms(o.before), "18.6 ± 5.9"],
    ["distilled, after bias correction", ms(o.after), "44.0 ± 1.0"],
  ]));
}
