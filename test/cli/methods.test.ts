import { describe, expect, test } from "vitest";
import { run, runUntilTraining } from "./run.js";
import { UsageError } from "../../src/cli/args.js";
import { METHODS, METHOD_OPTIONS, dkdWarmup, methodDefaults, methodLoss, methodSettings } from "../../src/cli/methods.js";
import { crossEntropy, distLoss, dkdLoss, nkdLoss, randn, selectRows, tensor, wsldLoss, Generator } from "../../src/index.js";

const tiny = ["--epochs", "1,3"];

describe("kdgrad distill --method", () => {
  test("--method kd is the default, bit for bit", async () => {
    const plain = JSON.parse((await run(["distill", ...tiny, "--seeds", "0,1", "--json"])).out);
    const kd = JSON.parse((await run(["distill", ...tiny, "--seeds", "0,1", "--json", "--method", "kd"])).out);
    delete plain.seconds;
    delete kd.seconds;
    expect(kd).toEqual(plain);
  });

  test.each(["dkd", "dist", "nkd", "wsld"])("--method %s trains the same teacher and hard-label student, and a student of its own", async (method) => {
    const plain = JSON.parse((await run(["distill", ...tiny, "--json"])).out);
    const r = await run(["distill", ...tiny, "--method", method]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(new RegExp(`\\| student 64-16-10, ${method.toUpperCase()} \\(`));
    const j = JSON.parse((await run(["distill", ...tiny, "--json", "--method", method])).out);
    expect(j.teacher).toEqual(plain.teacher);
    expect(j.hard).toEqual(plain.hard);
    expect(Number.isInteger(j.distilled.errors[0]) && j.distilled.errors[0] >= 0 && j.distilled.errors[0] <= 450).toBe(true);
  });

  test("the options change the student: --divergence and --standardize for kd, --beta for dkd, --gamma for nkd", async () => {
    const errors = async (argv: string[]) => JSON.parse((await run(["distill", "--epochs", "2,30", "--json", ...argv])).out).distilled.errors[0] as number;
    const pairs: [string[], string[]][] = [
      [[], ["--divergence", "reverse"]],
      [[], ["--standardize"]],
      [["--method", "dkd"], ["--method", "dkd", "--beta", "0"]],
      [["--method", "nkd"], ["--method", "nkd", "--gamma", "0"]],
    ];
    for (const [a, b] of pairs) expect([b, await errors(b)]).not.toEqual([b, await errors(a)]);
  });

  test.each([
    [["--method", "dist", "--divergence", "jsd"], "kdgrad distill: --divergence jsd does not apply to --method dist (read by kd; dist reads --temperature, --beta, --gamma)"],
    [["--method", "nkd", "--standardize"], "kdgrad distill: --standardize does not apply to --method nkd (read by kd and dkd; nkd reads --temperature, --gamma)"],
    [["--method", "dist", "--alpha", "0.5"], "kdgrad distill: --alpha 0.5 does not apply to --method dist (read by kd and dkd and wsld; dist reads --temperature, --beta, --gamma)"],
    [["--beta", "2"], "kdgrad distill: --beta 2 does not apply to --method kd (read by dkd and dist; kd reads --temperature, --alpha, --divergence, --standardize)"],
    [["--method", "wsld", "--gamma", "1"], "kdgrad distill: --gamma 1 does not apply to --method wsld (read by dist and nkd; wsld reads --temperature, --alpha)"],
    [["--method", "DKD"], "kdgrad distill: --method must be one of kd, dkd, dist, nkd, wsld, got 'DKD'"],
    [["--divergence", "kl"], "kdgrad distill: --divergence must be one of forward, reverse, jsd, skewForward, skewReverse, tvd, got 'kl'"],
    [["--method", "wsld", "--alpha", "-1"], "kdgrad distill: --alpha -1 is refused by the loss: wsldLoss: alpha must be a finite number ≥ 0, got -1"],
    [["--method", "dkd", "--beta", "-2"], "kdgrad distill: --beta -2 is refused by the loss: dkdLoss: beta must be a finite number ≥ 0, got -2"],
    [["--method", "dist", "--temperature", "0"], "kdgrad distill: --temperature 0 is refused by the loss: distLoss: temperature must be in [1e-6, 1e6], got 0"],
    [["--method", "nkd", "--gamma", "-1"], "kdgrad distill: --gamma -1 is refused by the loss: nkdLoss: gamma must be a finite number ≥ 0, got -1"],
    [["--alpha", "1.5"], "kdgrad distill: --alpha must be in [0, 1], got 1.5"],
  ])("%j is refused before training, with one line naming the flag and value", async (argv, message) => {
    const r = await runUntilTraining(["distill", ...argv]);
    expect(r.trained).toBe(false);
    expect([r.code, r.err, r.out]).toEqual([2, `${message}\n`, ""]);
  });

  test("--alpha above 1 is refused for kd but is a weight for dkd and wsld", () => {
    expect(methodSettings("wsld", { alpha: 4 }, 500, "distill").alpha).toBe(4);
    expect(methodSettings("dkd", { alpha: 2 }, 500, "distill").alpha).toBe(2);
  });

  test("--help lists the methods and what each reads", async () => {
    const r = await run(["distill", "--help"]);
    for (const m of METHODS) expect(r.out).toMatch(new RegExp(`^  ${m} .*reads ${METHOD_OPTIONS[m].map((o) => `--${o}`).join(" ")}$`, "m"));
  });
});

describe("the methods' training losses", () => {
  const g = new Generator(3);
  const s = randn([6, 10], { dtype: "float64", generator: g });
  const t = randn([6, 10], { dtype: "float64", generator: g });
  const y = tensor([0, 3, 9, 2, 2, 7], { dtype: "int32" });
  const close = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(b)));

  test("the published defaults", () => {
    expect(methodDefaults("dkd", 500)).toEqual({ method: "dkd", temperature: 4, alpha: 1, beta: 8, warmup: 42 });
    expect(methodDefaults("dist", 500)).toEqual({ method: "dist", temperature: 1, beta: 1, gamma: 1 });
    expect(methodDefaults("nkd", 500)).toEqual({ method: "nkd", temperature: 1, gamma: 1.5 });
    expect(methodDefaults("wsld", 500)).toEqual({ method: "wsld", temperature: 2, alpha: 2.5 });
    // mdistiller: 20 of 240 epochs.
    expect([dkdWarmup(240), dkdWarmup(500), dkdWarmup(3)]).toEqual([20, 42, 1]);
  });

  test("DKD: CE plus the DKD term, ramped linearly over the warm-up epochs", () => {
    const m = methodDefaults("dkd", 240);
    const ce = crossEntropy(s, y).item();
    const dkd = dkdLoss(s, t, y, { alpha: 1, beta: 8, temperature: 4 }).item();
    close(methodLoss(m, s, t, y, 5).item(), ce + (5 / 20) * dkd);
    close(methodLoss(m, s, t, y, 20).item(), ce + dkd);
    close(methodLoss(m, s, t, y, 200).item(), ce + dkd);
  });

  test("DIST and NKD add CE; WSLD contains it; a one-row DIST batch is CE alone", () => {
    const ce = crossEntropy(s, y).item();
    close(methodLoss(methodDefaults("dist", 500), s, t, y, 1).item(), ce + distLoss(s, t).item());
    close(methodLoss(methodDefaults("nkd", 500), s, t, y, 1).item(), ce + nkdLoss(s, t, y).item());
    close(methodLoss(methodDefaults("wsld", 500), s, t, y, 1).item(), wsldLoss(s, t, y).item());
    const one = [selectRows(s, [0]), selectRows(t, [0]), selectRows(y, [0])] as const;
    close(methodLoss(methodDefaults("dist", 500), ...one, 1).item(), crossEntropy(one[0], one[2]).item());
  });

  test("an option a method does not read is a UsageError", () => {
    expect(() => methodSettings("dist", { standardize: true }, 500, "distill")).toThrow(UsageError);
  });
});
