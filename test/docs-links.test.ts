/**
 * Every relative link in README.md, docs/*.md and the other committed markdown pages points at
 * a committed file (not one the build writes) that exists and, with a #fragment into a markdown page, at one of its headings (the
 * fragment GitHub gives a heading: lower case, punctuation but hyphens and underscores removed,
 * spaces as hyphens; a repeated heading gets -1, -2 …). A renamed section otherwise leaves
 * links that land at the top of the page without a word.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
/** Directories the build writes (.gitignore): present here after a build, absent from a fresh clone. */
const GENERATED = ["api/", "site/", "dist/", "tmp/"];

function pages(): string[] {
  const out = ["README.md"];
  for (const dir of ["docs", "examples", "bench", "test/fuzz"]) {
    const walk = (d: string): void => {
      for (const e of readdirSync(join(ROOT, d), { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name));
        else if (e.name.endsWith(".md")) out.push(join(d, e.name));
      }
    };
    if (existsSync(join(ROOT, dir))) walk(dir);
  }
  return out;
}

/** GitHub's fragment for a heading's text. */
export function slug(heading: string): string {
  const text = heading
    .replace(/`([^`]*)`/g, "$1")
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/<[^>]+>/g, "")
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, "").replace(/\s/g, "-");
}

function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fence = false;
  for (const line of markdown.split("\n")) {
    if (/^\s*(```|~~~)/.test(line)) fence = !fence;
    if (fence) continue;
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  for (const m of markdown.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) out.add(m[1]!);
  return out;
}

/** Links outside code: [text](target) with a relative target. */
function links(markdown: string): string[] {
  const out: string[] = [];
  let fence = false;
  for (const line of markdown.split("\n")) {
    if (/^\s*(```|~~~)/.test(line)) fence = !fence;
    if (fence) continue;
    const bare = line.replace(/`[^`]*`/g, "");
    for (const m of bare.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = m[1]!;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, …
      out.push(target);
    }
  }
  return out;
}

test("the slug rule: GitHub's fragments for a few of kdgrad's headings", () => {
  expect(slug("Float32 kernels")).toBe("float32-kernels");
  expect(slug("The second-order view")).toBe("the-second-order-view");
  expect(slug("What the kernel computes, and how accurately")).toBe("what-the-kernel-computes-and-how-accurately");
  expect(slug("Decoupled KD (`dkdLoss`)")).toBe("decoupled-kd-dkdloss");
  expect(slug("T → 0")).toBe("t--0");
});

test("every relative link in the markdown pages reaches a file, and every #fragment a heading there", () => {
  const broken: string[] = [];
  for (const page of pages()) {
    const text = readFileSync(join(ROOT, page), "utf8");
    for (const target of links(text)) {
      const [path, fragment] = target.split("#", 2) as [string, string | undefined];
      const file = path === "" ? join(ROOT, page) : join(ROOT, dirname(page), decodeURI(path));
      const built = GENERATED.find((d) => relative(ROOT, file).startsWith(d));
      if (built !== undefined) {
        broken.push(`${page}: ${target} (${built} is built, not committed: a fresh clone has no such file)`);
        continue;
      }
      if (!existsSync(file)) {
        broken.push(`${page}: ${target} (no file ${relative(ROOT, file)})`);
        continue;
      }
      if (fragment !== undefined && file.endsWith(".md") && !anchors(readFileSync(file, "utf8")).has(decodeURIComponent(fragment))) {
        broken.push(`${page}: ${target} (no heading with that fragment in ${relative(ROOT, file)})`);
      }
    }
  }
  expect(broken).toEqual([]);
});
