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
 * - on the distil page, both students' runs in the page's Web Workers equal, epoch for epoch
 *   (test errors and mean training loss, exactly), what Node computes with the library for the
 *   same teacher file, recipe, seed, T and α (src/cli/recipe.ts's trainStudent, as `kdgrad
 *   distill` runs it): once at the recipe's settings and again after the sliders moved, whose
 *   run must differ from the first;
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
import { chromium, type BrowserContext, type Locator, type Page } from "playwright-core";
import { decodeSafetensors, Generator, mlp, type Tensor } from "../../src/index.js";
import { loadDigits } from "../../src/node/index.js";
import { defaultRecipe, logitsOf, trainStudent } from "../../src/cli/recipe.js";
import { studentGenerator } from "../../src/cli/distill.js";
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

/** One student's run: every epoch's test errors and mean training loss. */
interface Run { errors: number[]; losses: number[] }

/** The teacher's logits of the transfer set, from the served teacher.safetensors, per origin. */
const teachers = new Map<string, Promise<{ logits: Tensor; seed: number }>>();
const digits = loadDigits();

/**
 * What Node reaches with the library (the sources) for one student of the distil page: the
 * served teacher, the default recipe at `temperature` and `alpha`, src/cli/recipe.ts's
 * trainStudent with distill.ts's studentGenerator, as `kdgrad distill --seeds SEED` trains it.
 */
async function nodeRun(origin: string, kind: "hard" | "distilled", temperature: number, alpha: number): Promise<Run> {
  if (!teachers.has(origin)) {
    teachers.set(origin, (async () => {
      const response = await fetch(`${origin}/assets/distil/teacher.safetensors`);
      const { tensors, metadata } = decodeSafetensors(new Uint8Array(await response.arrayBuffer()));
      const recipe = JSON.parse(metadata.recipe!) as typeof defaultRecipe;
      const teacher = mlp(recipe.teacherSizes, { dropout: recipe.teacherDropout, generator: new Generator(0) });
      teacher.loadStateDict(tensors);
      return { logits: logitsOf(teacher, digits.train_10pct.x), seed: Number(metadata.seed) };
    })());
  }
  const teacher = await teachers.get(origin)!;
  const recipe = { ...defaultRecipe, temperature, alpha };
  const { result } = await trainStudent(recipe, digits.train_10pct, kind === "hard" ? null : teacher.logits, digits.test,
    studentGenerator(teacher.seed), kind);
  const n = digits.test.y.size;
  return { errors: result.curve.accuracy.map((a) => Math.round((1 - a) * n)), losses: result.curve.losses };
}

/** The distil widget's finished runs (waiting for both), with the distilled run's T and α. */
async function pageRuns(page: Page, w: Locator): Promise<{ hard: Run; distilled: Run; temperature: number; alpha: number }> {
  await page.waitForFunction((el) => el.hasAttribute("data-hard-done") && el.hasAttribute("data-distilled-done"), await w.elementHandle(), { timeout: TIMEOUT_MS });
  const list = async (name: string): Promise<number[]> => ((await w.getAttribute(name)) ?? "").split(",").map(Number);
  return {
    hard: { errors: await list("data-hard-errors"), losses: await list("data-hard-losses") },
    distilled: { errors: await list("data-distilled-errors"), losses: await list("data-distilled-losses") },
    temperature: Number(await w.getAttribute("data-temperature")),
    alpha: Number(await w.getAttribute("data-alpha")),
  };
}

/** Differences between the page's run and Node's, as messages (none when every epoch agrees exactly). */
function compareRuns(what: string, browser: Run, node: Run): string[] {
  if (browser.errors.length !== node.errors.length) return [`${what}: ${browser.errors.length} epochs in the page, ${node.errors.length} in Node`];
  const e = browser.errors.findIndex((v, i) => v !== node.errors[i]);
  const l = browser.losses.findIndex((v, i) => v !== node.losses[i]);
  return [
    ...(e >= 0 ? [`${what}: epoch ${e + 1} has ${browser.errors[e]} test errors in the page, ${node.errors[e]} in Node`] : []),
    ...(l >= 0 ? [`${what}: epoch ${l + 1}'s training loss is ${browser.losses[l]} in the page, ${node.losses[l]} in Node`] : []),
  ];
}

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
      // The distil page: the runs at the recipe's settings equal Node's.
      let first: Awaited<ReturnType<typeof pageRuns>> | null = null;
      if (name === "distil") {
        first = await pageRuns(page, w);
        // Both students got digits wrong, so both canvases show them (each painted when its run ended).
        const digitCanvases = await w.evaluate((el) => [...el.querySelectorAll(".digits canvas")].filter((c) => {
          const cv = c as unknown as Canvas;
          const px = cv.getContext("2d").getImageData(0, 0, cv.width, cv.height).data;
          for (let k = 4; k < px.length; k += 4) if (px[k] !== px[0]) return true;
          return false;
        }).length);
        if (digitCanvases !== 2) problems.push(`distil: ${digitCanvases} of 2 canvases show misclassified digits`);
        problems.push(...compareRuns("hard-label student", first.hard, await nodeRun(origin, "hard", first.temperature, first.alpha)));
        problems.push(...compareRuns(`distilled student (T = ${first.temperature}, α = ${first.alpha})`, first.distilled,
          await nodeRun(origin, "distilled", first.temperature, first.alpha)));
        notes.push(`distil: in-page runs equal Node's at T = ${first.temperature}, α = ${first.alpha} (hard ${first.hard.errors.at(-1)}, distilled ${first.distilled.errors.at(-1)} test errors; both canvases show the misclassified digits)`);
      }
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
      // The distil page again: the sliders moved T and α, so the distilled run changed, and it
      // still equals Node's at the new settings.
      if (first !== null) {
        const moved = await pageRuns(page, w);
        if (moved.temperature === first.temperature || moved.alpha === first.alpha) problems.push(`distil: the sliders left T = ${moved.temperature}, α = ${moved.alpha}`);
        if (moved.distilled.losses.join() === first.distilled.losses.join()) problems.push("distil: moving the sliders did not change the distilled run");
        problems.push(...compareRuns(`distilled student (T = ${moved.temperature}, α = ${moved.alpha})`, moved.distilled,
          await nodeRun(origin, "distilled", moved.temperature, moved.alpha)));
        notes.push(`after the sliders, equal to Node's at T = ${moved.temperature}, α = ${moved.alpha} (${moved.distilled.errors.at(-1)} test errors)`);
      }
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
