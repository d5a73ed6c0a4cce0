import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect, test, vi } from "vitest";

const read = (p: string): string => readFileSync(fileURLToPath(new URL(p, import.meta.url)), "utf8");

test("docs/training.md holds examples/training.ts verbatim", () => {
  expect(read("../docs/training.md")).toContain(read("../examples/training.ts").trimEnd());
});

test("the training example runs as written: the model printed as PyTorch does, accuracies, a checkpoint read back", async () => {
  const lines: string[] = [];
  const spy = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => void lines.push(args.join(" ")));
  try {
    await import("../examples/training.js");
  } finally {
    spy.mockRestore();
  }
  expect(lines[0]).toBe(
    "Sequential(\n  (0): Linear(in_features=64, out_features=128, bias=True)\n  (1): ReLU()\n"
    + "  (2): Dropout(p=0.1, inplace=False)\n  (3): Linear(in_features=128, out_features=10, bias=True)\n)",
  );
  const epochs = lines.filter((l) => l.startsWith("epoch "));
  expect(epochs).toHaveLength(8);
  expect(epochs[0]).toMatch(/^epoch 1: lr 1\.00e-2, validation accuracy 0\.\d{3}$/);
  expect(epochs[7]).toMatch(/^epoch 8: lr 0\.00e\+0, validation accuracy /);
  const final = lines.at(-1)!.match(/^test accuracy after epoch 8: (0\.\d{3})$/);
  expect(final).not.toBe(null);
  expect(Number(final![1])).toBeGreaterThan(0.9);
});
