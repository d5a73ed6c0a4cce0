// `npm run docs`: the API reference, generated from the TSDoc comments, one Markdown page per
// module, written to api/ (git-ignored; a docs site is a later issue). It exits 1, listing them,
// when an export has no doc comment: an undocumented export fails the build.
//
// Why a script of our own over TypeScript's API, not typedoc or api-extractor: the project
// compiles with TypeScript 7.0.2 (the native compiler), whose npm package no longer carries
// the JavaScript compiler API (its main export is a version stub). typedoc (0.28.x) imports
// that API and declares typescript 5.0–6.0 as its peer, so it cannot read this project with
// the compiler the project uses. api-extractor brings its own TypeScript 6.0.3 and a dozen
// packages, reads the emitted .d.ts (so it needs a build first), and with api-documenter
// writes one page per declaration rather than per module. TypeScript 7 does ship a program
// and checker API, `typescript/unstable/sync`, driving the same tsgo binary as `tsc`; the
// devDependency pins typescript exactly, so "unstable" cannot move under us. This script
// asks it for each entry point's exports, their doc comments, tags and signatures.
//
//   node scripts/api-docs.mjs [--out DIR] [--root DIR]
//
// The modules: "kdgrad" split by the folder of src/ each export is defined in (tensor,
// autograd, ops, losses, nn, optim, io, data, backends), and every other entry point of
// package.json's "exports" with a "kdgrad-source" condition (kdgrad/node, kdgrad/testing…).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { API, SignatureKind, SymbolFlags } from "typescript/unstable/sync";
import { SyntaxKind } from "typescript/unstable/ast";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The page an export of "kdgrad" goes to, by the folder of src/ that defines it. */
const FOLDER_PAGES = {
  tensor: "tensor", autograd: "autograd", ops: "ops", losses: "losses", nn: "nn", optim: "optim", io: "io", data: "data",
  kernels: "backends",
};
const PAGE_TITLES = {
  tensor: "Tensors: storage, creation, the generator, errors",
  autograd: "Autograd: the tape, functional transforms, gradcheck",
  ops: "Ops: element-wise, reductions, shape and indexing, matmul, the softmax family",
  losses: "Losses",
  nn: "Modules",
  optim: "Optimizers",
  io: "File formats (bytes)",
  data: "Data",
  backends: "Backends",
};

/** The entry points with a source condition: [subpath, source file]. */
function entryPoints(root) {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  return Object.entries(pkg.exports ?? {})
    .filter(([, t]) => typeof t === "object" && t !== null && typeof t["kdgrad-source"] === "string")
    .map(([sub, t]) => [sub === "." ? pkg.name : `${pkg.name}/${sub.replace(/^\.\//, "")}`, t["kdgrad-source"]]);
}

const KIND_ORDER = ["class", "function", "constant", "interface", "type"];

/**
 * The reference as pages: { pages: Map<file, markdown>, undocumented: string[] }.
 * `tsconfig` must include every entry point's sources.
 */
export function apiReference({ root = ROOT, tsconfig = "tsconfig.build.json" } = {}) {
  root = resolve(root);
  const api = new API({ cwd: root });
  try {
    const snapshot = api.updateSnapshot({ openProject: join(root, tsconfig) });
    const project = snapshot.getProjects()[0];
    const { checker, program, emitter } = project;
    const pkgName = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).name;
    const pages = new Map(); // page name → { title, entry, items: [] }
    const undocumented = [];
    const textOf = (handle) => {
      const node = handle.resolve(project);
      if (!node) return "";
      const sf = node.getSourceFile();
      return sf.text.slice(node.getStart(sf, false), node.end);
    };
    const docOf = (symbol) => checker.getDocumentationCommentOfSymbol(symbol).trim();

    for (const [entry, file] of entryPoints(root)) {
      const sf = program.getSourceFile(join(root, file));
      if (!sf) throw new Error(`api-docs: ${file} (entry point ${entry}) is not in ${tsconfig}`);
      const moduleSymbol = checker.getSymbolAtLocation(sf);
      if (!moduleSymbol) continue; // an entry point with no exports (a side effect only)
      const entryDir = dirname(join(root, file));
      for (const exported of checker.getExportsOfModule(moduleSymbol)) {
        const symbol = exported.flags & SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
        const decl = symbol.declarations[0];
        const path = decl ? relative(root, decl.path) : file;
        let page;
        if (entry === pkgName) page = FOLDER_PAGES[path.split("/")[1]] ?? "misc";
        else page = entry.slice(pkgName.length + 1).replace(/\//g, "-");
        const reExported = entry !== pkgName && decl !== undefined && !resolve(root, path).startsWith(entryDir);
        const doc = docOf(symbol);
        if (doc === "") undocumented.push(`${entry}: ${exported.name} (${path})`);
        const item = render(exported.name, symbol, { checker, emitter, textOf, docOf, path, reExported, pkgName });
        if (!pages.has(page)) {
          pages.set(page, { title: entry === pkgName ? PAGE_TITLES[page] ?? page : `\`${entry}\``, entry, items: [] });
        }
        pages.get(page).items.push(item);
      }
    }

    const out = new Map();
    const index = [`# ${pkgName} API reference`, "", "Generated by `npm run docs` from the TSDoc comments in `src/` (scripts/api-docs.mjs). One page per module:", ""];
    for (const [name, p] of pages) {
      p.items.sort((a, b) => KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) || a.name.localeCompare(b.name));
      const lines = [`# ${p.title}`, "", `\`import { … } from "${p.entry}"\``, ""];
      lines.push(p.items.map((i) => `[${i.name}](#${i.name.toLowerCase()})`).join(" · "), "");
      for (const i of p.items) lines.push(i.markdown, "");
      out.set(`${name}.md`, lines.join("\n"));
      index.push(`- [${name}](${name}.md) — ${p.title} (\`${p.entry}\`, ${p.items.length} exports)`);
    }
    out.set("README.md", index.join("\n") + "\n");
    return { pages: out, undocumented };
  } finally {
    api.close();
  }
}

/** One export as Markdown: its kind, signatures or declaration, doc comment, tags and members. */
function render(name, symbol, { checker, emitter, textOf, docOf, path, reExported, pkgName }) {
  const f = symbol.flags;
  let kind = f & SymbolFlags.Class ? "class" : f & SymbolFlags.Function ? "function" : f & SymbolFlags.Interface ? "interface"
    : f & SymbolFlags.TypeAlias ? "type" : "constant";
  const lines = [`## ${name}`, ""];
  const code = [];
  const signaturesOf = (type, label, sigKind = SignatureKind.Call) => checker.getSignaturesOfType(type, sigKind).map((sig) => {
    const node = checker.signatureToSignatureDeclaration(sig, SyntaxKind.FunctionDeclaration, undefined, 0);
    return node ? emitter.printNode(node).replace(/^function\s*/, label).replace(/;$/, "") : `${label}(…)`;
  });
  const type = kind === "interface" || kind === "type" ? undefined : checker.getTypeOfSymbol(symbol);
  // An op made by defineOp is a constant with call signatures: list it with the functions.
  if (kind === "constant" && type && checker.getSignaturesOfType(type, SignatureKind.Call).length > 0) kind = "function";
  if (kind === "interface" || kind === "type") {
    for (const d of symbol.declarations) code.push(textOf(d).replace(/^export\s+/, ""));
  } else if (kind === "class") {
    const header = textOf(symbol.declarations[0]).split("{")[0].replace(/^export\s+/, "").trim();
    code.push(header + " { … }");
    for (const s of signaturesOf(type, "new " + name, SignatureKind.Construct)) code.push(s);
  } else {
    const sigs = type ? signaturesOf(type, name) : [];
    if (sigs.length > 0) code.push(...sigs);
    else code.push(`const ${name}: ${type ? checker.typeToString(type) : "unknown"}`);
  }
  lines.push("```ts", ...code, "```", "");
  const doc = docOf(symbol);
  lines.push(doc === "" ? "*(undocumented)*" : doc, "");
  for (const tag of checker.getJsDocTagsOfSymbol(symbol)) {
    if (tag.name === "example") lines.push("Example:", "", "```ts", (tag.text ?? "").trim(), "```", "");
    else if (tag.name === "param") lines.push(`- \`${(tag.text ?? "").replace(/^(\S+)\s*-?\s*/, "$1` — ")}`);
    else lines.push(`*@${tag.name}* ${tag.text ?? ""}`, "");
  }
  if (kind === "class") {
    const members = checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(symbol))
      // Public members declared in the project (not Error's message and stack, say).
      .filter((m) => m.declarations[0] !== undefined && !m.declarations[0].path.includes("/node_modules/"))
      .filter((m) => !m.name.startsWith("#") && !/^\s*(?:private|protected)\b/.test(textOf(m.declarations[0])));
    if (members.length > 0) {
      lines.push("| member | type | |", "|---|---|---|");
      for (const m of members) {
        const t = checker.getTypeOfSymbol(m);
        const text = (t ? checker.typeToString(t) : "").replace(/\|/g, "\\|").replace(/\n\s*/g, " ");
        lines.push(`| \`${m.name}\` | \`${text}\` | ${docOf(m).split("\n")[0].replace(/\|/g, "\\|")} |`);
      }
      lines.push("");
    }
  }
  lines.push(`Defined in \`${path}\`${reExported ? ` (re-exported here; also in \`${pkgName}\`)` : ""}.`);
  return { name, kind, markdown: lines.join("\n") };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (flag, fallback) => {
    const i = process.argv.indexOf(flag);
    return i > 0 ? process.argv[i + 1] : fallback;
  };
  const root = resolve(arg("--root", ROOT));
  const out = resolve(arg("--out", join(root, "api")));
  const { pages, undocumented } = apiReference({ root, tsconfig: arg("--tsconfig", "tsconfig.build.json") });
  if (undocumented.length > 0) {
    console.error(`api-docs: ${undocumented.length} exports have no doc comment; document them (a /** … */ above the declaration):`);
    for (const u of undocumented) console.error(`  ${u}`);
    process.exit(1);
  }
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  for (const [file, text] of pages) writeFileSync(join(out, file), text);
  console.error(`api-docs: ${pages.size - 1} pages in ${relative(process.cwd(), out) || "."}`);
}
