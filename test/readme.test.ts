import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect, test, vi } from "vitest";

const read = (p: string): string => readFileSync(fileURLToPath(new URL(p, import.meta.url)), "utf8");

test("the README example is examples/readme.ts, verbatim", () => {
  expect(read("../README.md")).toContain(read("../examples/readme.ts").trimEnd());
});

test("the README example runs as written and prints a loss and a gradient whose rows sum to 0", async () => {
  const lines: string[] = [];
  const spy = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => void lines.push(args.join(" ")));
  try {
    await import("../examples/readme.js");
  } finally {
    spy.mockRestore();
  }
  const loss = Number(lines.find((l) => l.startsWith("loss"))!.split(" ")[1]);
  expect(Number.isFinite(loss) && loss > 0).toBe(true);
  expect(lines.some((l) => l.startsWith("∂loss/∂logits tensor([["))).toBe(true);
  const sums = lines.find((l) => l.startsWith("row sums"))!.match(/-?\d\.\d+e[+-]?\d+/g)!.map(Number);
  expect(sums).toHaveLength(4);
  for (const s of sums) expect(Math.abs(s)).toBeLessThan(1e-15);
});
