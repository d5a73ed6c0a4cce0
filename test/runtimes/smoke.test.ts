/**
 * The runtime smoke program (smoke.ts) on the sources, in Node: so a change
 * that breaks it fails `npm test`, before the runtime matrix runs it
 * elsewhere. Within one runtime, the backend may change float32 results
 * only: the seeded draws, the initial weights and everything float64 must
 * be identical under "js" and "wasm".
 */
import { expect, test } from "vitest";
import { getBackend } from "../../src/index.js";
import { smoke } from "./smoke.js";

test("the smoke program runs both backends here and restores the automatic one", () => {
  const report = smoke();
  expect(report.wasmAvailable).toBe(true);
  expect(report.automatic).toBe("wasm");
  expect(getBackend()).toBe("wasm");
  expect(report.runs.map((r) => r.backend)).toEqual(["js", "wasm"]);
  expect(report.errors.at(-1)).toBe("ShapeError: add: cannot broadcast [2] with [3] (a ShapeError: true)");
  expect(report.errors.slice(0, 2)).toEqual(["KdgradError: m", "ShapeError: m"]);

  const [js, wasm] = report.runs;
  expect(Object.keys(wasm!.checks)).toEqual(Object.keys(js!.checks));
  for (const [name, check] of Object.entries(js!.checks)) {
    expect(check.values.every(Number.isFinite), name).toBe(true);
    if (check.kind !== "float32") expect(wasm!.checks[name]!.values, name).toEqual(check.values);
  }
  for (const run of report.runs) {
    expect(run.checks["gradcheck(logSoftmax) ok"]!.values).toEqual([1]);
    for (const dtype of ["float64", "float32"]) {
      const losses = run.checks[`Adam ${dtype}: 20 losses`]!.values;
      expect(losses).toHaveLength(20);
      expect(losses[19]!).toBeLessThan(0.8 * losses[0]!);
    }
  }
});
