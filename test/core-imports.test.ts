/**
 * The core (everything under src/ except src/node and src/cli) must run on
 * any JavaScript engine, so it may not import Node built-ins or use Node's
 * globals. This scans the source text: comments are dropped first (so prose
 * about "the process" is fine), then import specifiers are checked, then,
 * with string contents blanked too, the names process, Buffer, require(,
 * __dirname and __filename (test/helpers/node-builtins.ts). The scanner is
 * itself tested on snippets, so it is known to catch what it should;
 * test/package.test.ts runs it on the built core too.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { violations } from "./helpers/node-builtins.js";

const SRC = fileURLToPath(new URL("../src/", import.meta.url));
const NODE_ONLY = ["node", "cli"];

function coreFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (relative(SRC, dir) === "" && NODE_ONLY.includes(entry.name)) continue;
      out.push(...coreFiles(path));
    } else if (entry.name.endsWith(".ts")) out.push(path);
  }
  return out;
}

describe("the scanner", () => {
  test.each([
    ['import { readFileSync } from "fs";', 'imports "fs"'],
    ["import fs from 'node:fs';", 'imports "node:fs"'],
    ['import {\n  join,\n} from "path";', 'imports "path"'],
    ['import type { Worker } from "worker_threads";', 'imports "worker_threads"'],
    ['export { createHash } from "crypto";', 'imports "crypto"'],
    ['import "child_process";', 'imports "child_process"'],
    ['const m = await import("os");', 'imports "os"'],
    ['import { promisify } from "util/types";', 'imports "util/types"'],
    ["const home = process.env.HOME;", "uses process"],
    ["const b = Buffer.from([1]);", "uses Buffer"],
    ['const x = require("x");', "uses require("],
    ["const here = __dirname;", "uses __dirname"],
    ["const s = `${process.pid}`;", "uses process"],
  ])("catches %j", (snippet, finding) => {
    expect(violations(snippet)).toContain(finding);
  });

  test.each([
    "// the process of rounding; Buffer overflow; require(x)",
    "/* import fs from \"fs\"; process.exit() */ const a = 1;",
    'const s = "process Buffer __dirname require(";',
    "const t = `the process ${1 + 1} of Buffer`;",
    'import { add } from "./ops/add.js";',
    'import { fs } from "../fs.js";',
    "const n = obj.process + obj.Buffer;",
    "const r = /process|Buffer/g.test(s);",
    "const b = new ArrayBuffer(8); const d = ArrayBuffer.isView(b);",
    'const url = "https://example.org"; // comment with process',
    "interface P { processed: number; node: Node }",
  ])("does not flag %j", (snippet) => {
    expect(violations(snippet)).toEqual([]);
  });
});

describe("the core imports no Node built-ins", () => {
  const files = coreFiles(SRC);

  test("the scan covers the core and skips only src/node and src/cli", () => {
    const rel = files.map((f) => relative(SRC, f));
    expect(rel).toContain("index.ts");
    expect(rel).toContain(join("io", "safetensors.ts"));
    expect(rel).toContain(join("data", "digits.ts"));
    expect(rel.some((f) => f.startsWith("node/") || f.startsWith("cli/"))).toBe(false);
  });

  test.each(files.map((f) => [relative(SRC, f), f]))("%s", (_name, path) => {
    expect(violations(readFileSync(path, "utf8"))).toEqual([]);
  });

  test('package.json maps "kdgrad/node" to src/node (sources) and dist/node (built), and index.ts does not export src/node', () => {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
    expect(pkg.exports["./node"]).toEqual({
      "kdgrad-source": "./src/node/index.ts",
      types: "./dist/node/index.d.ts",
      default: "./dist/node/index.js",
    });
    expect(readFileSync(join(SRC, "index.ts"), "utf8")).not.toMatch(/from "\.\/node\//);
  });
});
