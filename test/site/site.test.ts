/**
 * `npm run docs` (scripts/site.mjs): the site is built from docs/*.md, site-src/ and the API
 * reference, every page is linked from the index, math is typeset at build time (no "$…$" left,
 * no KaTeX script shipped), code is highlighted, and every link between pages lands on a page
 * and an anchor that exist. (The pages in a real browser: test/runtimes/site.ts.)
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, test } from "vitest";
// @ts-expect-error: a plain .mjs script, without declarations
import { LIVE_PAGES, buildSite, highlight, slug } from "../../scripts/site.mjs";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "kdgrad-site-test-"));
const out = join(work, "site");
let pages: string[] = [];
const read = (f: string): string => readFileSync(join(out, f), "utf8");

beforeAll(async () => {
  // The HTML does not depend on the bundle's contents: a stand-in keeps this test fast (the
  // runtime matrix builds the site with the real one).
  const bundle = join(work, "kdgrad.bundle.js");
  writeFileSync(bundle, "export {};\n");
  ({ pages } = await buildSite({ out, bundle }) as { pages: string[] });
}, 60_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

test("a page per doc, per live page and per API module, all linked from the index", () => {
  const docs = readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => (f === "README.md" ? "docs.html" : f.replace(/\.md$/, ".html")));
  for (const f of docs) expect(pages).toContain(f);
  for (const [name] of LIVE_PAGES as [string, string][]) expect(pages).toContain(`${name}.html`);
  for (const f of ["api.html", "api-autograd.html", "api-losses.html", "api-testing.html"]) expect(pages).toContain(f);
  const index = read("index.html");
  for (const f of pages) if (f !== "index.html") expect(index, f).toContain(`href="${f}"`);
  expect(existsSync(join(out, "assets", "kdgrad.bundle.js"))).toBe(true);
});

test("math is typeset at build time: KaTeX markup in the pages, no $…$ left, no KaTeX script", () => {
  for (const [name] of LIVE_PAGES as [string, string][]) {
    const html = read(`${name}.html`);
    // Outside <pre> and <code>, no dollar sign survives.
    const prose = html.replace(/<pre[\s\S]*?<\/pre>/g, "").replace(/<code[\s\S]*?<\/code>/g, "").replace(/<script[\s\S]*?<\/script>/g, "");
    expect(prose, name).not.toMatch(/\$/);
  }
  expect(read("hessian.html")).toContain('class="katex"');
  expect(read("hessian.html")).toContain("katex-display");
  expect(readdirSync(join(out, "assets", "katex"))).toEqual(["fonts", "katex.min.css"]);
  for (const f of pages) expect(read(f), f).not.toMatch(/cdn\.|https?:\/\/(?!127\.0\.0\.1)[^"]*\.(?:js|css)"/);
});

test("every link between pages lands on an existing page and anchor", () => {
  const ids = new Map<string, Set<string>>();
  for (const f of pages) ids.set(f, new Set([...read(f).matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]!)));
  const broken: string[] = [];
  for (const f of pages) {
    for (const [, href] of read(f).matchAll(/<a href="([^"]+)"/g)) {
      if (/^[a-z]+:/i.test(href!) || href!.startsWith("#source:")) continue;
      const [file, anchor] = href!.split("#") as [string, string | undefined];
      const target = file === "" ? f : file;
      if (target.startsWith("img/")) continue;
      if (!ids.has(target)) broken.push(`${f}: ${href} (no such page)`);
      else if (anchor !== undefined && anchor !== "" && !ids.get(target)!.has(decodeURIComponent(anchor))) broken.push(`${f}: ${href} (no such anchor)`);
    }
  }
  expect(broken).toEqual([]);
});

test("code is highlighted: keywords, strings, numbers and comments; text blocks stay plain", () => {
  expect(highlight('const x = "a<b"; // done\nreturn 1e-3;', "ts")).toBe(
    '<span class="k">const</span> x = <span class="s">&quot;a&lt;b&quot;</span>; <span class="c">// done</span>\n<span class="k">return</span> <span class="n">1e-3</span>;',
  );
  expect(highlight("KL = Σ p·log(p/q) < 1", "text")).toBe("KL = Σ p·log(p/q) &lt; 1");
  expect(read("autograd.html")).toContain('<span class="k">const</span>');
});

test("heading ids are GitHub's slugs, so the docs' own anchors work", () => {
  expect(slug("Float32 kernels")).toBe("float32-kernels");
  expect(slug("The low-temperature limit: only the argmax survives")).toBe("the-low-temperature-limit-only-the-argmax-survives");
  expect(slug("(b) The value")).toBe("b-the-value");
  expect(read("distillation.html")).toContain('id="float32-kernels"');
});
