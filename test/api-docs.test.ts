/**
 * `npm run docs` (scripts/api-docs.mjs): the API reference has one page per module, every
 * export of every entry point on exactly one page with its doc comment, and the build fails,
 * naming them, when an export has no doc comment.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, expect, test } from "vitest";
import * as kd from "../src/index.js";
import * as testing from "../src/testing/index.js";
// @ts-expect-error: a plain .mjs script, without declarations
import { apiReference } from "../scripts/api-docs.mjs";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const SCRIPT = join(ROOT, "scripts/api-docs.mjs");
const work = mkdtempSync(join(tmpdir(), "kdgrad-api-docs-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const { pages, undocumented } = apiReference({ root: ROOT }) as { pages: Map<string, string>; undocumented: string[] };
const headings = (page: string): string[] => [...(pages.get(page) ?? "").matchAll(/^## (\S+)$/gm)].map((m) => m[1]!);

test("one page per module, and an index linking them", () => {
  expect([...pages.keys()].sort()).toEqual([
    "README.md", "autograd.md", "backends.md", "data.md", "io.md", "losses.md", "nn.md", "node.md", "ops.md", "optim.md",
    "tensor.md", "testing-fast-check.md", "testing-vitest.md", "testing.md",
  ]);
  for (const page of pages.keys()) if (page !== "README.md") expect(pages.get("README.md")).toContain(`](${page})`);
});

test("every export of kdgrad and kdgrad/testing is on exactly one page of its entry point, with its doc comment", () => {
  expect(undocumented).toEqual([]);
  const corePages = ["autograd.md", "backends.md", "data.md", "io.md", "losses.md", "nn.md", "ops.md", "optim.md", "tensor.md"];
  const onCore = corePages.flatMap(headings);
  // Runtime values only (types are on the pages too, and are counted by the undocumented check).
  for (const name of Object.keys(kd)) expect(onCore.filter((h) => h === name), name).toHaveLength(1);
  for (const name of Object.keys(testing)) expect(headings("testing.md"), name).toContain(name);
  expect(headings("losses.md")).toEqual(expect.arrayContaining(["distillationLoss", "crossEntropy", "DistillationOptions"]));
  expect(pages.get("losses.md")).toContain("distillationLoss(student: Tensor, teacher: Tensor, options?: DistillationOptions): Tensor");
  expect(pages.get("testing-fast-check.md")).toContain("Properties of a loss function of logits, as fast-check properties.");
  expect(headings("node.md")).toContain("loadDigits");
});

test("an undocumented export fails the build, naming it; documented, it passes", () => {
  const fixture = join(work, "fixture");
  mkdirSync(join(fixture, "src"), { recursive: true });
  writeFileSync(join(fixture, "package.json"), JSON.stringify({ name: "fixture", type: "module", exports: { ".": { "kdgrad-source": "./src/index.ts" } } }));
  writeFileSync(join(fixture, "tsconfig.build.json"), JSON.stringify({ compilerOptions: { strict: true, module: "nodenext", target: "es2022", noEmit: true, types: [] }, include: ["src"] }));
  const source = (doc: string) => `/** Documented. */\nexport const a = 1;\n${doc}export function forgotten(x: number): number {\n  return x;\n}\n`;
  writeFileSync(join(fixture, "src/index.ts"), source(""));
  const run = () => spawnSync(process.execPath, [SCRIPT, "--root", fixture, "--out", join(fixture, "api")], { encoding: "utf8" });
  const bad = run();
  expect(bad.status).toBe(1);
  expect(bad.stderr).toMatch(/^api-docs: 1 exports have no doc comment;[^\n]*\n {2}fixture: forgotten \(src\/index\.ts\)\n$/);
  writeFileSync(join(fixture, "src/index.ts"), source("/** Returns x. */\n"));
  const good = run();
  expect(good.status).toBe(0);
  expect(good.stderr).toMatch(/^api-docs: 1 pages in \S*api\n$/);
  expect(readFileSync(join(fixture, "api/misc.md"), "utf8")).toMatch(/## forgotten\n\n```ts\nforgotten\(x: number\): number\n```\n\nReturns x\./);
});
