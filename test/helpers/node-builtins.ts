/**
 * A scanner for Node-only code in JavaScript or TypeScript text: imports of
 * Node built-ins and uses of Node's globals. Comments are dropped first (so
 * prose about "the process" is fine), then import specifiers are checked,
 * then, with string contents blanked too, the names process, Buffer,
 * require(, __dirname and __filename. Used on the core's sources
 * (test/core-imports.test.ts, which also tests the scanner on snippets) and
 * on the built core (test/package.test.ts).
 */
import { builtinModules } from "node:module";

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
export function strip(src: string): { code: string; bare: string } {
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

/** Every module specifier that `src` imports or re-exports, statically or with import(). */
export function importSpecifiers(src: string): string[] {
  const { code } = strip(src);
  return [
    ...code.matchAll(/\b(?:import|export)\b[^;'"`]*?\bfrom\s*(['"])([^'"]+)\1/g),
    ...code.matchAll(/\bimport\s*(['"])([^'"]+)\1/g),
    ...code.matchAll(/\bimport\s*\(\s*(['"])([^'"]+)\1\s*\)/g),
  ].map((m) => m[2]!);
}

/** What a core file may not contain: a list of findings, empty when clean. */
export function violations(src: string): string[] {
  const { bare } = strip(src);
  const found: string[] = [];
  for (const s of importSpecifiers(src)) {
    if (s.startsWith("node:") || BUILTINS.has(s.split("/")[0]!)) found.push(`imports "${s}"`);
  }
  for (const [re, name] of GLOBALS) if (re.test(bare)) found.push(`uses ${name}`);
  return found;
}
