/**
 * The CLI leaves the accepted temperature range to the library (checkTemperature in
 * src/losses/options.ts) and asks it before training. Here the library is made to accept only
 * T ≤ 100 and alpha ≠ 0.25, ranges the CLI knows nothing about: it must still refuse at once,
 * naming the option, whichever command and option spelling.
 */
import { describe, expect, test, vi } from "vitest";
import { ValueError } from "../../src/index.js";
import { runUntilTraining } from "./run.js";

vi.mock(import("../../src/losses/checks.js"), async (original) => {
  const real = await original();
  return {
    ...real,
    checkTemperature(temperature: unknown, fn: string) {
      if (typeof temperature === "number" && temperature > 100) throw new ValueError(`${fn}: temperature must be at most 100, got ${temperature}`);
      return real.checkTemperature(temperature, fn);
    },
    checkAlpha(alpha: unknown, fn: string) {
      if (alpha === 0.25) throw new ValueError(`${fn}: alpha must not be 0.25, got 0.25`);
      return real.checkAlpha(alpha, fn);
    },
  };
});

const forever = ["--epochs", "100000,100000"];

async function refused(argv: string[]): Promise<string> {
  const r = await runUntilTraining(argv);
  expect(r.trained).toBe(false);
  expect(r.code).toBe(2);
  expect(r.err.split("\n")).toHaveLength(2);
  return r.err;
}

describe("ranges decided by the library are enforced before training", () => {
  test("distill --temperature", async () => {
    expect(await refused(["distill", ...forever, "--temperature", "1000"])).toBe(
      "kdgrad distill: --temperature 1000 is refused by the loss: distillationLoss: temperature must be at most 100, got 1000\n");
  });

  test("distill --alpha", async () => {
    expect(await refused(["distill", ...forever, "--alpha", "0.25"])).toBe(
      "kdgrad distill: --alpha 0.25 is refused by the loss: distillationLoss: alpha must not be 0.25, got 0.25\n");
  });

  test("sweep --temperatures and --alphas", async () => {
    expect(await refused(["sweep", ...forever, "--temperatures", "1,4,1000"])).toMatch(/^kdgrad sweep: --temperatures 1000 is refused by the loss: distillationLoss: temperature must be at most 100/);
    expect(await refused(["sweep", ...forever, "--alphas", "0.5,0.25"])).toMatch(/^kdgrad sweep: --alphas 0.25 is refused by the loss/);
  });

  test("the temperature is checked before the teacher logits file is read", async () => {
    expect(await refused(["distill", ...forever, "--temperature", "101", "--teacher-logits", "/no/such/file.npy"])).toMatch(/^kdgrad distill: --temperature 101 is refused/);
  });
});
