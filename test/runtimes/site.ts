/**
 * The docs site in headless Chromium (part of `npm run test:runtimes`; run.ts calls it with the
 * installed package's bundle). Every page of the built site is opened, and each must show
 *
 * - no console error, no uncaught exception, no failed request and no HTTP error response;
 * - every widget rendered (data-ready set by site-src/widgets/main.js, no data-error), each with
 *   a non-empty SVG or a painted canvas;
 * - each slider moving what is shown: the widget's SVG and canvases differ after the slider moves;
 * - on the exercises page, each check passing with the model answer and failing with the
 *   common mistake;
 *
 * and the index must link every page. A full-page screenshot of each page is written to
 * tmp/site-screenshots/ (git-ignored) for review.
 *
 * `tsx test/runtimes/site.ts` runs these checks alone, on a site built from this checkout.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type BrowserContext, type Page } from "playwright-core";
// @ts-expect-error: plain .mjs scripts, without declarations
import { buildSite } from "../../scripts/site.mjs";
// @ts-expect-error: plain .mjs scripts, without declarations
import { serveSite } from "../../scripts/site-serve.mjs";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The parts of the DOM's canvas and range input the checks use (the test tsconfig has no DOM library). */
interface Canvas { width: number; height: number; toDataURL(): string; getContext(kind: "2d"): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } }
interface Elem { querySelectorAll(s: string): ArrayLike<Elem> & Iterable<Elem>; querySelector(s: string): Elem | null; hasAttribute(n: string): boolean; outerHTML: string; textContent: string | null }
/** The page's document, in functions evaluated in the page. */
declare const document: { querySelectorAll(s: string): ArrayLike<Elem> & Iterable<Elem> };
interface RangeInput { min: string; max: string; value: string; dispatchEvent(e: Event): boolean }
export const SCREENSHOTS = join(ROOT, "tmp", "site-screenshots");
const TIMEOUT_MS = 120_000;

/** Build the site into `out` with the given kdgrad bundle; the page file names. */
export async function buildSiteFor(out: string, bundle?: string): Promise<string[]> {
  const { pages } = (await buildSite({ out, bundle })) as { pages: string[] };
  return pages;
}

/** What the widgets of a page show: each widget's SVG markup and canvas pixels, joined. */
const snapshot = (page: Page, widget: number): Promise<string> => page.evaluate((i) => {
  const el = document.querySelectorAll("[data-widget]")[i]!;
  const svgs = [...el.querySelectorAll("svg")].map((s) => s.outerHTML).join("");
  const canvases = [...el.querySelectorAll("canvas")].map((c) => (c as unknown as Canvas).toDataURL()).join("");
  return svgs + canvases + (el.querySelector(".out")?.textContent ?? "");
}, widget);

/** Open one page and run its checks; returns a one-line summary or throws what went wrong. */
export async function checkPage(context: BrowserContext, origin: string, file: string): Promise<string> {
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("console", (m) => void (m.type() === "error" && problems.push(`console error: ${m.text()}`)));
  page.on("pageerror", (e) => problems.push(`uncaught: ${e.message}`));
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} (${r.failure()?.errorText})`));
  page.on("response", (r) => void (r.status() >= 400 && problems.push(`HTTP ${r.status()}: ${r.url()}`)));
  try {
    await page.setViewportSize({ width: 1100, height: 900 });
    await page.goto(`${origin}/${file}`, { waitUntil: "load" });
    const widgets = await page.locator("[data-widget]").count();
    const notes: string[] = [];
    if (widgets > 0) {
      await page.waitForFunction(() => [...document.querySelectorAll("[data-widget]")].every((w) => w.hasAttribute("data-ready") || w.hasAttribute("data-error")), null, { timeout: TIMEOUT_MS });
    }
    for (let i = 0; i < widgets; i++) {
      const w = page.locator("[data-widget]").nth(i);
      const name = await w.getAttribute("data-widget");
      const error = await w.getAttribute("data-error");
      if (error !== null) {
        problems.push(`widget ${name}: ${error}`);
        continue;
      }
      // Non-empty: an SVG with drawn elements, or a canvas with more than one colour.
      const drawn = await w.evaluate((el) => {
        const shapes = el.querySelectorAll("svg path, svg rect, svg circle, svg text").length;
        const painted = [...el.querySelectorAll("canvas")].filter((c) => {
          const cv = c as unknown as Canvas;
          if (cv.width === 0 || cv.height === 0) return false;
          const px = cv.getContext("2d")!.getImageData(0, 0, cv.width, cv.height).data;
          for (let k = 4; k < px.length; k += 4) if (px[k] !== px[0] || px[k + 1] !== px[1] || px[k + 2] !== px[2]) return true;
          return false;
        }).length;
        return { shapes, painted };
      });
      if (name !== "exercises" && drawn.shapes < 3 && drawn.painted === 0) problems.push(`widget ${name} drew nothing`);
      // Each slider: move it to the other end of its range, and what is shown must change.
      const sliders = w.locator("input[type=range]");
      const n = await sliders.count();
      for (let k = 0; k < n; k++) {
        const before = await snapshot(page, i);
        await sliders.nth(k).evaluate((el) => {
          const input = el as unknown as RangeInput;
          const lo = Number(input.min), hi = Number(input.max), v = Number(input.value);
          input.value = String(v - lo > hi - v ? lo + (hi - lo) * 0.1 : hi - (hi - lo) * 0.1);
          input.dispatchEvent(new Event("input", { bubbles: true }));
        });
        if ((await snapshot(page, i)) === before) problems.push(`widget ${name}: moving slider ${k + 1} changed nothing`);
      }
      notes.push(`${name} (${drawn.shapes} SVG shapes, ${drawn.painted} canvases, ${n} sliders move it)`);
      if (name === "exercises") {
        const sections = w.locator("section.exercise");
        const count = await sections.count();
        for (let k = 0; k < count; k++) {
          const sec = sections.nth(k);
          const id = await sec.getAttribute("id");
          for (const [button, want] of [["button.model", "true"], ["button.wrong", "false"]] as const) {
            await sec.locator(button).click();
            await sec.locator("button.check").click();
            const ok = await sec.locator(".result").getAttribute("data-ok");
            if (ok !== want) problems.push(`exercise ${id}: the ${button === "button.model" ? "model answer" : "common mistake"} gave ${ok} (${await sec.locator(".result").textContent()})`);
          }
        }
        notes.push(`${count} exercises: model answers pass, mistakes fail`);
      }
    }
    const math = await page.locator(".katex").count();
    await page.screenshot({ path: join(SCREENSHOTS, file.replace(/\.html$/, ".png")), fullPage: true });
    if (problems.length > 0) throw new Error(problems.slice(0, 6).join(" | "));
    return [`${math} formulas`, ...notes].join("; ");
  } finally {
    await page.close();
  }
}

/** The index links every page the build wrote. */
export function checkIndex(siteDir: string, pages: string[]): string {
  const index = readFileSync(join(siteDir, "index.html"), "utf8");
  const missing = pages.filter((p) => p !== "index.html" && !index.includes(`href="${p}"`));
  if (missing.length > 0) throw new Error(`index.html does not link ${missing.join(", ")}`);
  return `links all ${pages.length - 1} pages`;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const work = mkdtempSync(join(tmpdir(), "kdgrad-site-"));
  mkdirSync(SCREENSHOTS, { recursive: true });
  const siteDir = join(work, "site");
  const pages = await buildSiteFor(siteDir);
  const server = await serveSite(siteDir, 0) as import("node:http").Server;
  const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const context = await chromium.launchPersistentContext(join(work, "profile"), {
    executablePath: process.env.KDGRAD_CHROMIUM ?? "/usr/bin/chromium", headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  let failed = 0;
  const only = process.argv[2];
  try {
    console.log(`index: ${checkIndex(siteDir, pages)}`);
    for (const file of pages.filter((p) => only === undefined || p === only)) {
      try {
        console.log(`PASS ${file}: ${await checkPage(context, origin, file)}`);
      } catch (e) {
        failed++;
        console.log(`FAIL ${file}: ${(e as Error).message}`);
      }
    }
  } finally {
    await context.close();
    server.close();
    rmSync(work, { recursive: true, force: true });
  }
  process.exit(failed === 0 ? 0 : 1);
}
