/**
 * The house's imports run one way (issue 11, STYLE.md): value imports go
 * down the floors below, and no file reaches itself through value imports.
 * Type-only imports (`import type`, `import { type X }` with only types) are
 * erased at compile time and may point anywhere.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";

const SRC = fileURLToPath(new URL("../src/", import.meta.url));

/**
 * The floors, lowest first; a value import may only go to the same floor or a
 * lower one. Places are folders, or files where a folder spans two floors:
 * autograd's tape (node.ts, no-grad.ts: what ops record; graph.ts, which reads it) sits below the ops,
 * while the walk and the transforms (backward.ts, functional.ts,
 * gradcheck.ts) compute with ops — sums back to an input's shape, the
 * accumulation, stacking Jacobian rows — so they sit above them.
 */
const FLOORS: readonly (readonly string[])[] = [
  ["tensor"],
  ["kernels", "io"],
  ["autograd/node.ts", "autograd/no-grad.ts", "autograd/graph.ts"],
  ["ops"],
  ["autograd/backward.ts", "autograd/functional.ts", "autograd/gradcheck.ts"],
  ["losses", "nn", "optim", "methods.ts"],
  ["data"],
  ["index.ts"],
  ["node", "testing"],
  ["cli"],
];

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []);
}

/** The files a module imports for their values (static imports and re-exports). */
function valueImports(file: string): string[] {
  const code = readFileSync(file, "utf8");
  const out: string[] = [];
  const re = /^(?:import|export)\s+(type\s+)?(?:([^"';]*?)\s+from\s+)?["']([^"']+)["'];?/gm;
  for (const m of code.matchAll(re)) {
    const [, typeOnly, clause, spec] = m;
    if (typeOnly || !spec!.startsWith(".")) continue;
    // `import { type A, type B } from` carries only types.
    const names = clause?.match(/\{([^}]*)\}/)?.[1];
    if (names !== undefined && !/^\s*\*/.test(clause!) && names.split(",").map((s) => s.trim()).filter(Boolean).every((s) => s.startsWith("type "))) continue;
    out.push(resolve(dirname(file), spec!.replace(/\.js$/, ".ts")));
  }
  return out;
}

const floorOf = (file: string): number => {
  const rel = relative(SRC, file);
  const top = rel.split("/")[0]!;
  let i = FLOORS.findIndex((f) => f.includes(rel));
  if (i < 0) i = FLOORS.findIndex((f) => f.includes(top));
  if (i < 0) throw new Error(`layering: ${rel} is on no floor; add it to FLOORS`);
  return i;
};

const all = files(SRC);
const graph = new Map(all.map((f) => [f, valueImports(f)]));

describe("imports run one way", () => {
  test("every value import goes to the same floor or a lower one", () => {
    const up: string[] = [];
    for (const [f, deps] of graph) {
      for (const d of deps) if (floorOf(d) > floorOf(f)) up.push(`${relative(SRC, f)} -> ${relative(SRC, d)}`);
    }
    expect(up).toEqual([]);
  });

  test("no file reaches itself through value imports", () => {
    const state = new Map<string, 1 | 2>();
    const cycles: string[] = [];
    const visit = (f: string, path: string[]): void => {
      state.set(f, 1);
      for (const d of graph.get(f) ?? []) {
        if (state.get(d) === 1) cycles.push([...path, f, d].slice(path.indexOf(d) >= 0 ? path.indexOf(d) : path.length).map((p) => relative(SRC, p)).join(" -> "));
        else if (state.get(d) === undefined) visit(d, [...path, f]);
      }
      state.set(f, 2);
    };
    for (const f of all) if (!state.has(f)) visit(f, []);
    expect(cycles).toEqual([]);
  });

  test("the scan sees imports (it would catch one)", () => {
    expect(graph.get(join(SRC, "methods.ts"))).toContain(join(SRC, "ops/add.ts"));
    expect(graph.get(join(SRC, "tensor/tensor.ts"))!.some((d) => d.includes("/ops/"))).toBe(false);
  });
});
