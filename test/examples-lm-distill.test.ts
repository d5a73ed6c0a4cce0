import { expect, test, vi } from "vitest";

// examples/lm-distill/main.ts at a reduced size (a few seconds): the teacher, its top-k shards
// and the three students, run twice with one seed.
test("the lm-distill example runs: finite perplexities between 1 and the vocabulary size, the same twice per seed", async () => {
  const { main } = await import("../examples/lm-distill/main.js");
  const lines: string[] = [];
  const spy = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => void lines.push(args.join(" ")));
  const small = { steps: 25, teacherHidden: 24, studentHidden: 6, k: 4, seed: 7, chars: 400 };
  try {
    const a = await main(small);
    const b = await main(small);
    expect(b).toEqual(a);
    const V = Number(lines[0]!.split(" ")[0]);
    for (const [name, p] of Object.entries(a)) {
      expect(Number.isFinite(p) && p > 1 && p < V, `${name} perplexity ${p}`).toBe(true);
    }
  } finally {
    spy.mockRestore();
  }
  expect(lines.filter((l) => l.startsWith("perplexity: "))).toHaveLength(8);
}, 60_000);
