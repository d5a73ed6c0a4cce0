// `npm run docs` (after scripts/api-docs.mjs): the docs site, static HTML in site/ (git-ignored).
//
//   site/index.html          every page, linked: the live pages, the derivations, the API reference
//   site/<doc>.html          docs/<doc>.md (docs/README.md is docs.html)
//   site/api-<module>.html   the API reference (scripts/api-docs.mjs's pages; its index is api.html)
//   site/<live>.html         site-src/pages/<live>.md: prose with widgets that run kdgrad in the page
//   site/assets/             style, KaTeX's stylesheet and fonts, the widgets, kdgrad.bundle.js
//   site/assets/distil/      the digits data (data/digits) and teacher.safetensors, the digits
//                            teacher the "Distil in your browser" page loads: trained here
//
// Math between $…$ (inline) or $$…$$ (display) is typeset here, by KaTeX, so a page needs no
// script and no CDN to show it; code blocks are highlighted here too (a small tokenizer of our
// own for ts/js/sh; "text" blocks stay plain). The kdgrad in the pages is the bundle the package
// ships: dist/kdgrad.bundle.js as scripts/build.mjs makes it, built afresh into a temporary
// directory unless `--bundle FILE` names one (the runtime matrix passes the installed package's).
//
// The teacher is `kdgrad distill`'s: src/cli/recipe.ts's trainTeacher with the default recipe and
// the generator of seed 0 (run from the sources through tsx, as bin/kdgrad.js runs them in a
// checkout), so the file holds the same weights as `kdgrad distill --out DIR`'s
// teacher-seed0.safetensors. It is deterministic and takes a few seconds (60 epochs).
//
//   node scripts/site.mjs [--out DIR] [--bundle FILE]
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import katex from "katex";
import MarkdownIt from "markdown-it";
import { tsImport } from "tsx/esm/api";
import { apiReference } from "./api-docs.mjs";
import { build } from "./build.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const SRC = join(ROOT, "site-src");

/** The live pages, in reading order: file name (site-src/pages/NAME.md) and a one-line summary. */
export const LIVE_PAGES = [
  ["backprop", "Backprop by hand: a five-node scalar expression traced edge by edge, then as tensors"],
  ["graph", "The graph of any expression: graphOf, toDot, and a layered drawing"],
  ["temperature", "Softmax with temperature: a teacher's row from T = 0.1 to 50, entropy and dark knowledge"],
  ["t-squared", "Why T²: the gradient's 1/T², the flat T²-scaled one, and the logit-matching limit"],
  ["hessian", "Second order: the distillation loss's Hessian moving from diag(p) − ppᵀ to the centring matrix"],
  ["distil", "Distil in your browser: the digits teacher and two students trained live, hard labels against distilled"],
  ["exercises", "Exercises with checks that run in the page"],
  ["notation", "Notation: one meaning per symbol"],
];

// ------------------------------------------------------------------ markdown, math, code

/** A GitHub-style heading slug: lower case, punctuation dropped, spaces to hyphens. */
export function slug(text) {
  return text.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
}

const escapeHtml = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

const KEYWORDS = new Set(("const let var function return if else for while do of in new class extends import export from as "
  + "await async try catch finally throw typeof instanceof type interface true false null undefined this void break continue "
  + "switch case default readonly").split(" "));

/**
 * Highlighted HTML for a code block: comments, strings (template literals included), numbers and
 * keywords of TypeScript/JavaScript (and `#` comments for shell), as spans of classes c, s, n, k.
 */
export function highlight(code, lang) {
  if (!["ts", "js", "typescript", "javascript", "sh", "bash", "console", "json"].includes(lang)) return escapeHtml(code);
  const shell = lang === "sh" || lang === "bash" || lang === "console";
  const re = shell
    ? /(#[^\n]*)|("(?:[^"\\\n]|\\.)*"|'[^'\n]*')|(\b\d+(?:\.\d+)?\b)|([A-Za-z_$][\w$-]*)/g
    : /(\/\/[^\n]*|\/\*[\s\S]*?\*\/)|("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`)|(\b\d[\d_]*(?:\.\d+)?(?:e[+-]?\d+)?n?\b)|([A-Za-z_$][\w$]*)/g;
  let out = "", last = 0;
  for (const m of code.matchAll(re)) {
    out += escapeHtml(code.slice(last, m.index));
    const [text, comment, string, number, word] = m;
    const cls = comment ? "c" : string ? "s" : number ? "n" : word && !shell && KEYWORDS.has(word) ? "k" : null;
    out += cls ? `<span class="${cls}">${escapeHtml(text)}</span>` : escapeHtml(text);
    last = m.index + text.length;
  }
  return out + escapeHtml(code.slice(last));
}

/** KaTeX's HTML for one formula; a TeX error fails the build, naming the page and the formula. */
function tex(source, displayMode, page) {
  try {
    return katex.renderToString(source, { displayMode, throwOnError: true, output: "html", strict: "error" });
  } catch (e) {
    throw new Error(`site: ${page}: cannot typeset $${source}$: ${e.message}`);
  }
}

/**
 * markdown-it with $…$ and $$…$$ typeset by KaTeX, highlighted fences, GitHub heading ids, and
 * links between .md files turned into links between the site's pages by `link(href)`.
 */
function markdown(page, link) {
  const md = new MarkdownIt({ html: true, linkify: false, typographer: false });
  md.options.highlight = (code, lang) => `<pre class="code"><code class="lang-${escapeHtml(lang || "text")}">${highlight(code, lang)}</code></pre>`;
  // Inline math: $x$, not "$ 5" or a lone "$" (the opening $ must be followed, and the closing one
  // preceded, by a non-space). Display math: $$…$$, on lines of its own or inline.
  md.inline.ruler.after("escape", "math", (state, silent) => {
    const src = state.src, start = state.pos;
    if (src[start] !== "$") return false;
    const display = src[start + 1] === "$";
    const open = display ? 2 : 1;
    const end = src.indexOf(display ? "$$" : "$", start + open);
    if (end < 0) return false;
    const body = src.slice(start + open, end);
    if (body.length === 0 || (!display && (/^\s/.test(body) || /\s$/.test(body)))) return false;
    if (!silent) {
      const token = state.push("math", "", 0);
      token.content = body;
      token.meta = { display };
    }
    state.pos = end + open;
    return true;
  });
  md.renderer.rules.math = (tokens, i) => tex(tokens[i].content, tokens[i].meta.display, page);
  md.block.ruler.before("fence", "math_block", (state, startLine, endLine, silent) => {
    const first = state.src.slice(state.bMarks[startLine] + state.tShift[startLine], state.eMarks[startLine]);
    if (!first.startsWith("$$") || (first.length > 4 && first.endsWith("$$"))) return false;
    let line = startLine + 1;
    const body = [first.slice(2)];
    for (; line < endLine; line++) {
      const text = state.src.slice(state.bMarks[line] + state.tShift[line], state.eMarks[line]);
      if (text.trimEnd().endsWith("$$")) {
        body.push(text.trimEnd().slice(0, -2));
        break;
      }
      body.push(text);
    }
    if (line >= endLine) return false;
    if (!silent) {
      const token = state.push("math", "", 0);
      token.content = body.join("\n").trim();
      token.meta = { display: true };
      token.block = true;
    }
    state.line = line + 1;
    return true;
  });
  const used = new Map();
  md.core.ruler.push("heading_ids", (state) => {
    const tokens = state.tokens;
    for (let i = 0; i < tokens.length; i++) {
      if (tokens[i].type !== "heading_open") continue;
      const text = tokens[i + 1].children.filter((t) => t.type === "text" || t.type === "code_inline").map((t) => t.content).join("");
      let id = slug(text);
      const n = used.get(id) ?? 0;
      used.set(id, n + 1);
      if (n > 0) id = `${id}-${n}`;
      tokens[i].attrSet("id", id);
    }
  });
  const defaultLink = md.renderer.rules.link_open ?? ((tokens, i, options, env, self) => self.renderToken(tokens, i, options));
  md.renderer.rules.link_open = (tokens, i, options, env, self) => {
    const href = tokens[i].attrGet("href");
    if (href !== null) tokens[i].attrSet("href", link(href));
    return defaultLink(tokens, i, options, env, self);
  };
  return md;
}

// ------------------------------------------------------------------ the digits teacher

/** The seed of the site's teacher and students: `kdgrad distill`'s default (--seeds 0). */
export const DISTIL_SEED = 0;

/**
 * Write `dir`/teacher.safetensors (the teacher's state dict, float32, with the recipe, seed and
 * test errors as metadata) and copy the digits data beside it. Returns the teacher's test errors.
 */
async function digitsTeacher(dir) {
  const { digitsTeacher: train } = await tsImport(join(ROOT, "scripts", "site-teacher.ts"), import.meta.url);
  const { bytes, errors } = await train(DISTIL_SEED);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "teacher.safetensors"), bytes);
  for (const f of ["digits_x.u8", "digits_y.u8", "split.json"]) copyFileSync(join(ROOT, "data", "digits", f), join(dir, f));
  return errors;
}

// ------------------------------------------------------------------ pages

/** Where a link from a docs page goes on the site: other .md pages become .html pages. */
function docLink(href) {
  if (/^[a-z]+:/i.test(href) || href.startsWith("#")) return href;
  const m = /^(?:\.\/)?([\w.-]+)\.md(#.*)?$/.exec(href);
  if (m) return `${m[1] === "README" ? "docs" : m[1]}.html${m[2] ?? ""}`;
  const api = /^(?:\.\.\/)?api\/([\w.-]+)\.md(#.*)?$/.exec(href);
  if (api) return `${api[1] === "README" ? "api" : `api-${api[1]}`}.html${api[2] ?? ""}`;
  if (href.startsWith("img/")) return href;
  // A file of the repository outside docs/ (../src/…): the site does not carry it; name it only.
  return `#source:${href.replace(/^(\.\.\/)+/, "")}`;
}

/** Links between the API reference's pages. */
function apiLink(href) {
  const m = /^([\w.-]+)\.md(#.*)?$/.exec(href);
  return m ? `${m[1] === "README" ? "api" : `api-${m[1]}`}.html${m[2] ?? ""}` : href;
}

function layout({ title, body, nav, scripts = "" }) {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · kdgrad</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="assets/katex/katex.min.css">
<link rel="stylesheet" href="assets/style.css">
</head>
<body>
<header><a class="home" href="index.html">kdgrad</a> ${nav}</header>
<main>
${body}
</main>
${scripts}</body>
</html>
`;
}

const NAV = '<a href="backprop.html">live pages</a> <a href="docs.html">derivations</a> <a href="api.html">API</a> <a href="notation.html">notation</a>';

const titleOf = (text, fallback) => /^#\s+(.+)$/m.exec(text)?.[1]?.replace(/`/g, "") ?? fallback;

/** Build the site into `out`; returns { out, pages: [file names] }. */
export async function buildSite({ out = join(ROOT, "site"), bundle } = {}) {
  out = resolve(out);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, "assets", "widgets"), { recursive: true });
  const written = [];
  const write = (file, html) => {
    writeFileSync(join(out, file), html);
    written.push(file);
  };

  // The kdgrad bundle the package ships.
  let bundleFile = bundle;
  let scratch = null;
  if (bundleFile === undefined) {
    scratch = mkdtempSync(join(tmpdir(), "kdgrad-site-build-"));
    await build(join(scratch, "dist"));
    bundleFile = join(scratch, "dist", "kdgrad.bundle.js");
  }
  copyFileSync(bundleFile, join(out, "assets", "kdgrad.bundle.js"));
  if (existsSync(`${bundleFile}.map`)) copyFileSync(`${bundleFile}.map`, join(out, "assets", "kdgrad.bundle.js.map"));
  if (scratch !== null) rmSync(scratch, { recursive: true, force: true });

  // KaTeX's stylesheet and fonts (the formulas are HTML already; no KaTeX script is shipped).
  const katexDist = join(dirname(fileURLToPath(import.meta.resolve("katex"))), "..", "dist");
  mkdirSync(join(out, "assets", "katex"));
  copyFileSync(join(katexDist, "katex.min.css"), join(out, "assets", "katex", "katex.min.css"));
  cpSync(join(katexDist, "fonts"), join(out, "assets", "katex", "fonts"), { recursive: true });
  copyFileSync(join(SRC, "style.css"), join(out, "assets", "style.css"));
  for (const f of readdirSync(join(SRC, "widgets"))) copyFileSync(join(SRC, "widgets", f), join(out, "assets", "widgets", f));
  await digitsTeacher(join(out, "assets", "distil"));
  if (existsSync(join(ROOT, "docs", "img"))) cpSync(join(ROOT, "docs", "img"), join(out, "img"), { recursive: true });

  const index = { live: [], docs: [], api: [] };

  // The live pages.
  for (const [name, summary] of LIVE_PAGES) {
    const text = readFileSync(join(SRC, "pages", `${name}.md`), "utf8");
    const title = titleOf(text, name);
    const body = markdown(`site-src/pages/${name}.md`, docLink).render(text);
    const i = LIVE_PAGES.findIndex(([n]) => n === name);
    const pager = `<nav class="pager">${i > 0 ? `<a href="${LIVE_PAGES[i - 1][0]}.html">← ${LIVE_PAGES[i - 1][0]}</a>` : ""}`
      + `${i + 1 < LIVE_PAGES.length ? ` <a href="${LIVE_PAGES[i + 1][0]}.html">${LIVE_PAGES[i + 1][0]} →</a>` : ""}</nav>`;
    const hasWidgets = body.includes("data-widget=");
    write(`${name}.html`, layout({
      title, nav: NAV, body: body + pager,
      scripts: hasWidgets ? '<script type="module" src="assets/widgets/main.js"></script>\n' : "",
    }));
    index.live.push([`${name}.html`, title, summary]);
  }

  // The derivations.
  const docs = readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).sort();
  for (const f of docs) {
    const text = readFileSync(join(ROOT, "docs", f), "utf8");
    const name = f === "README.md" ? "docs" : basename(f, ".md");
    const title = titleOf(text, name);
    write(`${name}.html`, layout({ title, nav: NAV, body: markdown(`docs/${f}`, docLink).render(text) }));
    index.docs.push([`${name}.html`, title, `docs/${f}`]);
  }

  // The API reference.
  const { pages, undocumented } = apiReference({ root: ROOT });
  if (undocumented.length > 0) throw new Error(`site: undocumented exports (run npm run docs for the list): ${undocumented.join(", ")}`);
  for (const [f, text] of pages) {
    const name = f === "README.md" ? "api" : `api-${basename(f, ".md")}`;
    const title = titleOf(text, name);
    write(`${name}.html`, layout({ title, nav: NAV, body: markdown(`api/${f}`, apiLink).render(text) }));
    index.api.push([`${name}.html`, title, f]);
  }

  const list = (rows) => `<ul>\n${rows.map(([href, title, note]) => `<li><a href="${href}">${escapeHtml(title)}</a> <span class="note">${escapeHtml(note)}</span></li>`).join("\n")}\n</ul>`;
  const intro = markdown("site-src/index.md", docLink).render(readFileSync(join(SRC, "index.md"), "utf8"));
  write("index.html", layout({
    title: "kdgrad: the gradient math, running",
    nav: NAV,
    body: `${intro}\n<h2 id="live-pages">Live pages</h2>\n${list(index.live)}\n<h2 id="derivations">The derivations (docs/)</h2>\n${list(index.docs)}\n`
      + `<h2 id="api-reference">API reference</h2>\n${list(index.api)}`,
  }));
  return { out, pages: written };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (flag) => {
    const i = process.argv.indexOf(flag);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const { out, pages } = await buildSite({ out: arg("--out"), bundle: arg("--bundle") });
  console.error(`site: ${pages.length} pages in ${relative(process.cwd(), out) || "."}; open ${join(relative(process.cwd(), out), "index.html")} or run npm run docs:serve`);
}
