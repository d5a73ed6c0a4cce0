/**
 * The core (everything under src/ except src/node and src/cli) must run on
 * any JavaScript engine, so it may not import Node built-ins or use Node's
 * globals. This scans the source text: comments are dropped first (so prose
 * about "the process" is fine), then import specifiers are checked, then,
 * with string contents blanked too, the names process, Buffer, require(,
 * __dirname and __filename. The scanner is itself tested on snippets, so
 * it is known to catch what it should.
 */
import { readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";

const SRC = fileURLToPath(new URL("../src/", import.meta.url));
const NODE_ONLY = ["node", "cli"];
const BUILTINS = new Set([
  ...builtinModules,
  "fs", "path", "os", "crypto", "url", "child_process", "process", "buffer", "stream", "util", "worker_threads",
  "module", "net", "http", "https", "zlib", "events", "readline", "vm", "assert", "perf_hooks", "cluster", "dns", "tty",
]);
const GLOBALS: [RegExp, string][] = [
  [/(?<![.\w$])process(?![\w$])/, "process"],
  [/(?<![.\w$])Buffer(?![\w$])/, "Buffer"],
  [/(?<![.\w$])require\s*\(/, "require("],
  [/(?<![.\w$])__dirname(?![\w$])/, "__dirname"],
  [/(?<![.\w$])__filename(?![\w$])/, "__filename"],
];

/**
 * Two views of TypeScript source: `code` without comments, and `bare`
 * without comments and with the contents of string and template literals
 * (but not of their ${…} parts) and regex literals blanked.
 */
function strip(src: string): { code: string; bare: string } {
  let code = "";
  let bare = "";
  const emit = (c: string, inLiteral: boolean): void => {
    code += c;
    bare += inLiteral && c !== "\n" ? " " : c;
  };
  const templateDepth: number[] = []; // brace depth at which each open ${ … } returns to its template
  let depth = 0;
  let i = 0;
  let lastSignificant = "";
  const template = (): void => {
    // Inside `…` after i: copy up to the closing backtick or a ${.
    while (i < src.length) {
      const c = src[i]!;
      if (c === "\\") {
        emit(c, true);
        emit(src[i + 1] ?? "", true);
        i += 2;
      } else if (c === "`") {
        emit(c, false);
        i++;
        return;
      } else if (c === "$" && src[i + 1] === "{") {
        emit("${", false);
        i += 2;
        templateDepth.push(depth);
        depth++;
        return;
      } else {
        emit(c, true);
        i++;
      }
    }
  };
  while (i < src.length) {
    const c = src[i]!;
    const next = src[i + 1];
    if (c === "/" && next === "/") {
      while (i < src.length && src[i] !== "\n") i++;
    } else if (c === "/" && next === "*") {
      const end = src.indexOf("*/", i + 2);
      const body = src.slice(i, end < 0 ? src.length : end + 2);
      for (const ch of body) if (ch === "\n") emit("\n", false);
      i += body.length;
    } else if (c === "'" || c === '"') {
      emit(c, false);
      i++;
      while (i < src.length && src[i] !== c && src[i] !== "\n") {
        if (src[i] === "\\") emit(src[i++]!, true);
        emit(src[i++] ?? "", true);
      }
      emit(src[i] ?? "", false);
      i++;
      lastSignificant = c;
    } else if (c === "`") {
      emit(c, false);
      i++;
      template();
      lastSignificant = "`";
    } else if (c === "/" && (lastSignificant === "" || "(,=:[!&|?{};+-*%<>~^".includes(lastSignificant))) {
      // A regex literal: up to the closing / outside a character class.
      emit(c, false);
      i++;
      let inClass = false;
      while (i < src.length && src[i] !== "\n") {
        const d = src[i]!;
        if (d === "\\") {
          emit(d, true);
          emit(src[i + 1] ?? "", true);
          i += 2;
          continue;
        }
        if (d === "[") inClass = true;
        else if (d === "]") inClass = false;
        else if (d === "/" && !inClass) break;
        emit(d, true);
        i++;
      }
      emit(src[i] ?? "", false);
      i++;
      lastSignificant = "/";
    } else {
      if (c === "{") depth++;
      if (c === "}") {
        depth--;
        if (templateDepth.length > 0 && templateDepth[templateDepth.length - 1] === depth) {
          templateDepth.pop();
          emit(c, false);
          i++;
          template();
          continue;
        }
      }
      emit(c, false);
      if (!/\s/.test(c)) lastSignificant = /[\w$]/.test(c) ? "a" : c;
      i++;
    }
  }
  return { code, bare };
}

/** What a core file may not contain: a list of findings, empty when clean. */
function violations(src: string): string[] {
  const { code, bare } = strip(src);
  const found: string[] = [];
  const specifiers = [
    ...code.matchAll(/\b(?:import|export)\b[^;'"`]*?\bfrom\s*(['"])([^'"]+)\1/g),
    ...code.matchAll(/\bimport\s*(['"])([^'"]+)\1/g),
    ...code.matchAll(/\bimport\s*\(\s*(['"])([^'"]+)\1\s*\)/g),
  ].map((m) => m[2]!);
  for (const s of specifiers) {
    if (s.startsWith("node:") || BUILTINS.has(s.split("/")[0]!)) found.push(`imports "${s}"`);
  }
  for (const [re, name] of GLOBALS) if (re.test(bare)) found.push(`uses ${name}`);
  return found;
}

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

  test('package.json maps "kdgrad/node" to src/node/index.ts, and index.ts does not export src/node', () => {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
    expect(pkg.exports["./node"]).toEqual({ types: "./src/node/index.ts", default: "./src/node/index.ts" });
    expect(readFileSync(join(SRC, "index.ts"), "utf8")).not.toMatch(/from "\.\/node\//);
  });
});
