/**
 * `npm run test:runtimes`: the runtime matrix (docs/runtimes.md).
 *
 * Builds and packs kdgrad, installs the tarball into an empty project in a
 * temporary directory (test/helpers/package.ts), and runs the smoke program
 * (test/runtimes/smoke.ts, bundled once with "kdgrad" left as an import) in
 *
 *   node      the installed package, dist/ through its "exports" (the reference)
 *   deno      the same project, from the `deno` npm package
 *   bun       the same project, from the `bun` npm package
 *   chromium  Debian's /usr/bin/chromium driven by playwright-core, on a page and in a
 *             module Worker, importing dist/kdgrad.bundle.js from a loopback HTTP server
 *             and on a page loading dist/kdgrad.global.js as a plain <script> (global `kdgrad`)
 *   quickjs   quickjs-emscripten evaluating dist/kdgrad.nowasm.js (no WebAssembly), and
 *             dist/kdgrad.global.nowasm.js as a plain script
 *
 * and compares every runtime's numbers with Node's, backend by backend:
 * "exact" numbers bit for bit, "float64" ones to 1e-12 and "float32" ones to
 * 1e-5 relative (smoke.ts says which is which and why). It checks that
 * "kdgrad/node" works in Deno and Bun too, and runs two of the examples where
 * a user would: examples/browser/ in Chromium, and examples/deno/distill.ts
 * under Deno (after `deno check`).
 *
 * Then it builds the docs site with the installed package's bundle and opens every page in
 * Chromium (test/runtimes/site.ts: no console errors or failed requests, widgets drawn, sliders
 * move them, the exercises' checks pass and fail as they should; screenshots in
 * tmp/site-screenshots/).
 *
 * Prints one line per run and "N passed, N failed"; exits 1 on any failure.
 * KDGRAD_KEEP=1 keeps the temporary directory; KDGRAD_CHROMIUM overrides the
 * browser's path.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { availableParallelism, tmpdir } from "node:os";
import { extname, join, normalize, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { build as esbuild, type Plugin } from "esbuild";
import { chromium, type BrowserContext } from "playwright-core";
import { getQuickJS, shouldInterruptAfterDeadline } from "quickjs-emscripten";
import { ROOT, installPackage, packPackage } from "../helpers/package.js";
import { SCREENSHOTS, buildSiteFor, checkIndex, checkPage } from "./site.js";
import type { Kind, SmokeReport } from "./smoke.js";

const CHROMIUM = process.env.KDGRAD_CHROMIUM ?? "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync",
];
/** Relative tolerance per kind of number (see smoke.ts). */
const RTOL: Record<Kind, number> = { exact: 0, float64: 1e-12, float32: 1e-5 };
const TIMEOUT_MS = 120_000;
/** The threads every runtime that can run them must use by default: the core count. */
const CORES = availableParallelism();

interface Outcome {
  name: string;
  ok: boolean;
  detail: string;
  seconds: number;
}

const work = mkdtempSync(join(tmpdir(), "kdgrad-runtimes-"));
const outcomes: Outcome[] = [];
const env = {
  ...process.env,
  NO_COLOR: "1",
  DENO_DIR: join(work, "deno-dir"),
  DENO_NO_UPDATE_CHECK: "1",
  DENO_NO_PROMPT: "1",
  DO_NOT_TRACK: "1",
};

/** Run `fn`, record and print its outcome; an exception is a failure with its message. */
async function step(name: string, fn: () => Promise<string> | string): Promise<void> {
  const t0 = performance.now();
  let ok = true;
  let detail: string;
  try {
    detail = await fn();
  } catch (e) {
    ok = false;
    detail = (e instanceof Error ? e.message : String(e)).split("\n").filter((l) => l.trim() !== "").slice(0, 6).join(" | ");
  }
  const outcome = { name, ok, detail, seconds: (performance.now() - t0) / 1000 };
  outcomes.push(outcome);
  console.log(`${ok ? "PASS" : "FAIL"}  ${name.padEnd(36)} ${detail} (${outcome.seconds.toFixed(1)} s)`);
}

/** Run a command to completion; its stdout, or an Error carrying stderr. */
function run(command: string, args: string[], cwd: string): string {
  const r = spawnSync(command, args, { cwd, env, encoding: "utf8", timeout: TIMEOUT_MS, maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} exited with ${r.status ?? r.signal}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

function parseReport(text: string, who: string): SmokeReport {
  try {
    return JSON.parse(text) as SmokeReport;
  } catch {
    throw new Error(`${who} printed no JSON report: ${text.slice(0, 300)}`);
  }
}

// ---------------------------------------------------------------- comparing

/** Largest relative difference per kind, over all compared numbers. */
type Worst = Record<Kind, number>;

/**
 * Compare a runtime's report with Node's. A float is close when
 * |a − b| ≤ rtol · max(|a|, |b|), or ≤ rtol · (the largest |value| of its
 * check) for entries that cancel to nearly zero (a gradient entry of 1e-17
 * next to entries of 0.1 carries no relative precision).
 */
function compare(ref: SmokeReport, got: SmokeReport, expectWasm: boolean): { problems: string[]; worst: Worst; numbers: number } {
  const problems: string[] = [];
  const worst: Worst = { exact: 0, float64: 0, float32: 0 };
  let numbers = 0;
  const automatic = expectWasm ? "wasm" : "js";
  if (got.wasmAvailable !== expectWasm) problems.push(`wasmAvailable() is ${got.wasmAvailable}, expected ${expectWasm}`);
  if (got.automatic !== automatic) problems.push(`the automatic backend is ${got.automatic}, expected ${automatic}`);
  if (JSON.stringify(got.errors) !== JSON.stringify(ref.errors)) problems.push(`errors print as ${JSON.stringify(got.errors)}, Node's as ${JSON.stringify(ref.errors)}`);
  const backends = got.runs.map((r) => r.backend).join();
  if (backends !== (expectWasm ? "js,wasm" : "js")) problems.push(`ran backends [${backends}]`);
  for (const run of got.runs) {
    const refRun = ref.runs.find((r) => r.backend === run.backend);
    if (!refRun) {
      problems.push(`Node has no ${run.backend} run`);
      continue;
    }
    const names = Object.keys(refRun.checks);
    if (Object.keys(run.checks).join("\n") !== names.join("\n")) problems.push(`${run.backend}: the checks differ from Node's`);
    for (const name of names) {
      const want = refRun.checks[name]!;
      const have = run.checks[name];
      if (!have || have.kind !== want.kind || have.values.length !== want.values.length) {
        problems.push(`${run.backend} "${name}": missing or of another kind or length`);
        continue;
      }
      const rtol = RTOL[want.kind];
      const scale = Math.max(...want.values.map(Math.abs));
      want.values.forEach((b, i) => {
        const a = have.values[i]!;
        numbers++;
        if (Object.is(a, b)) return;
        const diff = Math.abs(a - b);
        const rel = diff / Math.max(Math.abs(a), Math.abs(b));
        const ok = want.kind !== "exact" && Number.isFinite(diff) && (diff <= rtol * Math.max(Math.abs(a), Math.abs(b)) || diff <= rtol * scale);
        worst[want.kind] = Math.max(worst[want.kind], Number.isFinite(rel) ? Math.min(rel, diff / scale) : Infinity);
        if (!ok && problems.length < 8) problems.push(`${run.backend} "${name}"[${i}]: ${a} vs Node's ${b}`);
      });
    }
  }
  return { problems, worst, numbers };
}

const fmt = (x: number): string => (x === 0 ? "0" : x.toExponential(1));

/**
 * The threads a run must use: `threads` of them (1 where they cannot run), the same bits as
 * one thread, and where there is more than one, workers started that took blocks of rows.
 */
function threadProblems(report: SmokeReport, threads: number): string[] {
  const { before, after, identical } = report.threads;
  const problems: string[] = [];
  if (before.threads !== threads || after.threads !== threads) {
    problems.push(`getNumThreads() is ${before.threads} (after the threaded calls ${after.threads}), expected ${threads}${after.reason ? ` (${after.reason})` : ""}`);
  }
  if (!identical) problems.push("one thread and several gave different bits");
  if (threads > 1 && !(after.workers === threads - 1 && after.jobs > before.jobs)) {
    problems.push(`${after.workers} workers started and ${after.jobs - before.jobs} jobs ran on them, expected ${threads - 1} workers taking jobs`);
  }
  return problems;
}

/** The line for a runtime compared with Node. */
async function compared(
  ref: SmokeReport | null, getReport: () => Promise<SmokeReport> | SmokeReport, expectWasm: boolean, via: string, threads: number,
): Promise<string> {
  if (ref === null) throw new Error("no Node reference to compare with");
  const report = await getReport();
  const { problems, worst, numbers } = compare(ref, report, expectWasm);
  problems.push(...threadProblems(report, threads));
  if (problems.length > 0) throw new Error(problems.join("; "));
  const backends = report.runs.map((r) => r.backend).join(" and ");
  const t = report.threads.after;
  return `= Node on ${backends} (automatic: ${report.automatic}) via ${via}: ${numbers} numbers; ` +
    `exact bit for bit, float64 max rel diff ${fmt(worst.float64)}, float32 ${fmt(worst.float32)}; ` +
    (threads > 1 ? `${threads} threads (${t.host}, ${t.jobs} jobs on workers), the same bits as one` : `1 thread (${t.reason})`);
}

// ---------------------------------------------------------------- the runtimes

/** How the errors must print, in Node and so everywhere: the class names, not minified ones. */
const ERRORS = [
  ...["KdgradError", "ShapeError", "DTypeError", "ValueError", "IndexError", "AutogradError", "FormatError", "FileError", "GradcheckError"].map((n) => `${n}: m`),
  "ShapeError: add: cannot broadcast [2] with [3] (a ShapeError: true)",
];

function checkReference(report: SmokeReport): void {
  const problems: string[] = [];
  if (JSON.stringify(report.errors) !== JSON.stringify(ERRORS)) problems.push(`errors print as ${JSON.stringify(report.errors)}`);
  if (!report.wasmAvailable || report.automatic !== "wasm") problems.push("Node should choose the wasm backend by itself");
  for (const run of report.runs) {
    if (run.checks["gradcheck(logSoftmax) ok"]?.values[0] !== 1) problems.push(`${run.backend}: gradcheck of logSoftmax failed`);
    for (const dtype of ["float64", "float32"]) {
      const losses = run.checks[`Adam ${dtype}: 20 losses`]?.values ?? [];
      if (!(losses.length === 20 && losses[19]! < 0.8 * losses[0]!)) problems.push(`${run.backend}: 20 Adam steps (${dtype}) did not lower the loss`);
    }
  }
  if (problems.length > 0) throw new Error(problems.join("; "));
}

function binary(name: string): string {
  const path = join(ROOT, "node_modules", ".bin", name);
  if (!existsSync(path)) throw new Error(`${path} is missing: run npm ci`);
  return path;
}

const MIME: Record<string, string> = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".mjs": "text/javascript", ".json": "application/json",
  ".map": "application/json", ".u8": "application/octet-stream", ".css": "text/css", ".png": "image/png",
  ".woff2": "font/woff2", ".woff": "font/woff", ".ttf": "font/ttf", ".svg": "image/svg+xml",
};

/** A static file server on 127.0.0.1 (a free port), serving URL prefixes from directories. */
async function serve(routes: Record<string, string>): Promise<{ server: Server; origin: string }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    for (const [prefix, dir] of Object.entries(routes)) {
      if (!path.startsWith(prefix)) continue;
      const file = normalize(join(dir, path.slice(prefix.length)));
      if (!file.startsWith(normalize(dir + sep)) || !existsSync(file) || !statSync(file).isFile()) break;
      // Under /isolated/ (and the bundle it loads) the headers that make a page cross-origin
      // isolated, which a browser requires before it exposes SharedArrayBuffer (docs/runtimes.md).
      const isolate = path.startsWith("/isolated/") || path.startsWith("/dist/")
        ? { "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp" } : {};
      res.writeHead(200, { "content-type": MIME[extname(file)] ?? "application/octet-stream", "cache-control": "no-store", ...isolate });
      res.end(readFileSync(file));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("the HTTP server has no port");
  return { server, origin: `http://127.0.0.1:${address.port}` };
}

/** Evaluate the smoke program in QuickJS: the bundle and smoke.mjs through a module loader. */
async function quickjsReport(bundle: string, smokeModule: string): Promise<SmokeReport> {
  const QuickJS = await getQuickJS();
  const runtime = QuickJS.newRuntime();
  runtime.setMemoryLimit(1 << 30);
  runtime.setInterruptHandler(shouldInterruptAfterDeadline(Date.now() + TIMEOUT_MS));
  const sources: Record<string, string> = { kdgrad: bundle, smoke: smokeModule };
  runtime.setModuleLoader((name) => sources[name] ?? { error: new Error(`QuickJS: no module ${name}`) });
  const vm = runtime.newContext();
  try {
    const result = vm.evalCode(
      'import { smoke } from "smoke"; globalThis.report = JSON.stringify(smoke());',
      "main.mjs",
      { type: "module" },
    );
    if (result.error) {
      const error = vm.dump(result.error) as { message?: string; stack?: string } | string;
      result.error.dispose();
      throw new Error(`QuickJS: ${typeof error === "string" ? error : `${error.message}\n${error.stack}`}`);
    }
    result.value.dispose();
    runtime.executePendingJobs();
    const handle = vm.getProp(vm.global, "report");
    const text = vm.dump(handle) as unknown;
    handle.dispose();
    if (typeof text !== "string") throw new Error("QuickJS: the smoke program left no report");
    return parseReport(text, "QuickJS");
  } finally {
    vm.dispose();
    runtime.dispose();
  }
}

/**
 * The smoke program in QuickJS as plain scripts, no modules: the global bundle (which must
 * define `kdgrad`), then the smoke program built as a script that takes kdgrad from the global.
 */
async function quickjsScriptReport(globalBundle: string, smokeScript: string): Promise<SmokeReport> {
  const QuickJS = await getQuickJS();
  const runtime = QuickJS.newRuntime();
  runtime.setMemoryLimit(1 << 30);
  runtime.setInterruptHandler(shouldInterruptAfterDeadline(Date.now() + TIMEOUT_MS));
  const vm = runtime.newContext();
  try {
    for (const [name, code] of [["kdgrad.global.nowasm.js", globalBundle], ["smoke-global.js", smokeScript], ["main.js", "globalThis.report = JSON.stringify(kdgradSmoke.smoke());"]]) {
      const result = vm.evalCode(code!, name!, { type: "global" });
      if (result.error) {
        const error = vm.dump(result.error) as { message?: string; stack?: string } | string;
        result.error.dispose();
        throw new Error(`QuickJS (${name}): ${typeof error === "string" ? error : `${error.message}\n${error.stack}`}`);
      }
      result.value.dispose();
    }
    const handle = vm.getProp(vm.global, "report");
    const text = vm.dump(handle) as unknown;
    handle.dispose();
    if (typeof text !== "string") throw new Error("QuickJS: the smoke program left no report");
    return parseReport(text, "QuickJS (scripts)");
  } finally {
    vm.dispose();
    runtime.dispose();
  }
}

/** The smoke program in a page that loads the global bundle and the smoke program as plain <script>s. */
async function chromiumScriptReport(context: BrowserContext, origin: string): Promise<SmokeReport> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  try {
    await page.goto(`${origin}/smoke/script.html`);
    const text = await page.evaluate(`typeof kdgrad === "object" && typeof kdgradSmoke === "object"
      ? JSON.stringify(kdgradSmoke.smoke()) : "the scripts defined no global kdgrad"`) as string;
    if (errors.length > 0) throw new Error(errors.join("; "));
    return parseReport(text, "Chromium (plain scripts)");
  } finally {
    await page.close();
  }
}

/** The smoke program evaluated in a page of `context`, or in a module Worker started by that page. */
async function chromiumReport(context: BrowserContext, origin: string, where: "page" | "worker", dir: "/smoke/" | "/isolated/"): Promise<SmokeReport> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  try {
    await page.goto(`${origin}${dir}index.html`);
    const isolated = await page.evaluate("globalThis.crossOriginIsolated === true");
    if (isolated !== (dir === "/isolated/")) throw new Error(`crossOriginIsolated is ${isolated} on ${dir}`);
    const text = await page.evaluate(where === "page"
      ? `import("${dir}smoke.mjs").then((m) => JSON.stringify(m.smoke()))`
      : `new Promise((resolve) => {
           const worker = new Worker("${dir}worker.mjs", { type: "module" });
           worker.onmessage = (e) => resolve(e.data);
           worker.onerror = (e) => resolve("worker error: " + e.message);
         })`) as string;
    if (errors.length > 0) throw new Error(errors.join("; "));
    return parseReport(text, `Chromium (${where})`);
  } finally {
    await page.close();
  }
}

async function main(): Promise<number> {
  // The package as a user installs it, plus the smoke program bundled twice: importing
  // "kdgrad" (Node, Deno, Bun, QuickJS) and importing the served bundle by URL (Chromium:
  // module Workers have no import maps).
  const pack = packPackage(work);
  const project = installPackage(pack.tarball, join(work, "project"));
  const installed = join(project, "node_modules", "kdgrad");
  const web = join(work, "web");
  mkdirSync(web);
  const smokeBuild = (outfile: string, plugins: Plugin[]) => esbuild({
    entryPoints: [join(ROOT, "test/runtimes/smoke.ts")], outfile, bundle: true, format: "esm", platform: "neutral",
    target: "es2022", external: ["kdgrad"], plugins, logLevel: "silent",
  });
  await smokeBuild(join(project, "smoke.mjs"), []);
  await smokeBuild(join(web, "smoke.mjs"), [{
    name: "kdgrad-from-url",
    setup: (b) => void b.onResolve({ filter: /^kdgrad$/ }, () => ({ path: "/dist/kdgrad.bundle.js", external: true })),
  }]);
  // The smoke program as a plain script taking kdgrad from the global the IIFE bundles define
  // (for Chromium's <script> tags and QuickJS's script mode): `kdgradSmoke.smoke()`.
  await esbuild({
    entryPoints: [join(ROOT, "test/runtimes/smoke.ts")], outfile: join(web, "smoke-global.js"), bundle: true, format: "iife",
    globalName: "kdgradSmoke", platform: "neutral", target: "es2022", logLevel: "silent",
    plugins: [{
      name: "kdgrad-from-global",
      setup: (b) => {
        b.onResolve({ filter: /^kdgrad$/ }, () => ({ path: "kdgrad", namespace: "global-kdgrad" }));
        b.onLoad({ filter: /.*/, namespace: "global-kdgrad" }, () => ({ contents: "module.exports = globalThis.kdgrad;", loader: "js" }));
      },
    }],
  });
  writeFileSync(join(web, "script.html"),
    '<!doctype html><title>kdgrad as plain scripts</title>\n<script src="/dist/kdgrad.global.js"></script>\n<script src="/smoke/smoke-global.js"></script>\n');
  // main.mjs imports kdgrad/node first, which gives Node (and Deno) their way to start threads
  // (worker_threads); core.mjs imports the core only: Bun's global Worker, Deno's single thread.
  writeFileSync(join(project, "main.mjs"), 'import "kdgrad/node";\nimport { smoke } from "./smoke.mjs";\nconsole.log(JSON.stringify(smoke()));\n');
  writeFileSync(join(project, "core.mjs"), 'import { smoke } from "./smoke.mjs";\nconsole.log(JSON.stringify(smoke()));\n');
  // "kdgrad/node" (node: built-ins) in Deno and Bun, which implement them: the checksum-verified
  // digits loader, and a .npy written atomically and read back.
  writeFileSync(join(project, "node-layer.mjs"), [
    'import { tensor } from "kdgrad";',
    'import { loadDigits, loadNpy, saveNpy } from "kdgrad/node";',
    "const { train } = loadDigits();",
    'const path = new URL(`./roundtrip-${Math.random().toString(36).slice(2)}.npy`, import.meta.url);',
    'saveNpy(path, tensor([[1.5, -2], [3, 4.25]], { dtype: "float64" }));',
    "const back = loadNpy(path);",
    "console.log(JSON.stringify({ train: train.x.shape, back: back.toFlatArray(), dtype: back.dtype }));",
    "",
  ].join("\n"));
  const nodeLayer = (stdout: string): string => {
    const want = '{"train":[1347,64],"back":[1.5,-2,3,4.25],"dtype":"float64"}';
    if (stdout.trim() !== want) throw new Error(`printed ${stdout.trim()}, expected ${want}`);
    return "loadDigits (SHA-256 checked) from the installed data; saveNpy and loadNpy round trip";
  };
  writeFileSync(join(web, "index.html"), "<!doctype html><title>kdgrad smoke</title>\n");
  writeFileSync(join(web, "worker.mjs"),
    [
      'import { smoke } from "./smoke.mjs";',
      'import { getNumThreads, setNumThreads, threadInfo } from "/dist/kdgrad.bundle.js";',
      // A browser Worker's own workers start once it yields to its event loop (docs/runtimes.md,
      // "Threads"): start them, then wait (at most 10 s) until they run.
      "setNumThreads(getNumThreads());",
      "for (const t0 = Date.now(); threadInfo().ready < threadInfo().workers && Date.now() - t0 < 10000;) await new Promise((r) => setTimeout(r, 10));",
      'try { postMessage(JSON.stringify(smoke())); } catch (e) { postMessage("smoke failed: " + e.stack); }',
      "",
    ].join("\n"));

  let reference: SmokeReport | null = null;
  await step(`node ${process.versions.node}`, () => {
    const report = parseReport(run(process.execPath, ["main.mjs"], project), "Node");
    checkReference(report);
    const threadIssues = threadProblems(report, CORES);
    if (threadIssues.length > 0) throw new Error(threadIssues.join("; "));
    reference = report;
    const numbers = report.runs.reduce((n, r) => n + Object.values(r.checks).reduce((m, c) => m + c.values.length, 0), 0);
    return `reference, dist/ via "exports": js and wasm backends, ${numbers} numbers; gradcheck ok, Adam lowers the loss; ` +
      `${CORES} threads (${report.threads.after.jobs} jobs on workers), the same bits as one`;
  });

  const deno = binary("deno");
  const denoVersion = (): string => /deno (\S+)/.exec(run(deno, ["--version"], project))?.[1] ?? "?";
  await step(`deno ${denoVersion()}`, () => compared(reference, () =>
    parseReport(run(deno, ["run", "--no-prompt", "main.mjs"], project), "Deno"), true, "node_modules with kdgrad/node", CORES));
  // Without kdgrad/node Deno has only its web Worker, which would keep the process alive: one
  // thread, and the process exits (run() times out otherwise).
  await step("deno, the core alone", () => compared(reference, () =>
    parseReport(run(deno, ["run", "--no-prompt", "core.mjs"], project), "Deno"), true, "node_modules", 1));

  const bun = binary("bun");
  await step(`bun ${run(bun, ["--version"], project).trim()}`, () => compared(reference, () =>
    parseReport(run(bun, ["--no-install", "core.mjs"], project), "Bun"), true, "node_modules (the global Worker)", CORES));

  await step("kdgrad/node in deno", () =>
    nodeLayer(run(deno, ["run", "--no-prompt", `--allow-read=${project}`, `--allow-write=${project}`, "node-layer.mjs"], project)));
  await step("kdgrad/node in bun", () => nodeLayer(run(bun, ["--no-install", "node-layer.mjs"], project)));

  const qjsVersion = JSON.parse(readFileSync(join(ROOT, "node_modules/quickjs-emscripten/package.json"), "utf8")).version;
  // QuickJS has no WebAssembly: the bundles built without the module, as an ES module and as
  // plain scripts (the global `kdgrad`).
  await step(`quickjs (quickjs-emscripten ${qjsVersion})`, () => compared(reference, () =>
    quickjsReport(readFileSync(join(installed, "dist/kdgrad.nowasm.js"), "utf8"), readFileSync(join(project, "smoke.mjs"), "utf8")),
  false, "dist/kdgrad.nowasm.js", 1));
  await step("quickjs, plain scripts", () => compared(reference, () =>
    quickjsScriptReport(readFileSync(join(installed, "dist/kdgrad.global.nowasm.js"), "utf8"), readFileSync(join(web, "smoke-global.js"), "utf8")),
  false, "dist/kdgrad.global.nowasm.js as a script", 1));

  // The docs site, built with the bundle the installed package ships.
  const siteDir = join(work, "site");
  let sitePages: string[] = [];
  await step("docs site: npm run docs's build", async () => {
    sitePages = await buildSiteFor(siteDir, join(installed, "dist", "kdgrad.bundle.js"));
    return `${sitePages.length} pages; index ${checkIndex(siteDir, sitePages)}`;
  });

  // Chromium: the smoke program on a page and in a Worker, then the browser example.
  const { server, origin } = await serve({
    "/site/": siteDir,
    "/smoke/": web,
    "/isolated/": web,
    "/dist/": join(installed, "dist"),
    "/data/": join(installed, "data"),
    "/examples/": join(ROOT, "examples"),
  });
  let context: BrowserContext | null = null;
  try {
    if (existsSync(CHROMIUM)) {
      context = await chromium.launchPersistentContext(join(work, "chromium-profile"), {
        executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS,
      });
    }
    const version = context?.browser()?.version() ?? "(missing)";
    const browserCores = CORES;
    const browser = (): BrowserContext => {
      if (context === null) throw new Error(`${CHROMIUM} not found: .ci/run installs Debian's chromium (apt-get install chromium)`);
      return context;
    };
    // A page that is not cross-origin isolated has no SharedArrayBuffer: one thread, on the page
    // and in its Worker. An isolated one (/isolated/: COOP and COEP headers) has it, but its main
    // thread may not block: one thread on the page, every core in a Worker.
    for (const where of ["page", "worker"] as const) {
      await step(`chromium ${version} ${where}`, () =>
        compared(reference, () => chromiumReport(browser(), origin, where, "/smoke/"), true, "the bundle", 1));
    }
    for (const where of ["page", "worker"] as const) {
      await step(`chromium ${version} ${where}, cross-origin isolated`, () =>
        compared(reference, () => chromiumReport(browser(), origin, where, "/isolated/"), true, "the bundle", where === "page" ? 1 : browserCores));
    }
    await step(`chromium ${version} <script>`, () =>
      compared(reference, () => chromiumScriptReport(browser(), origin), true, "dist/kdgrad.global.js as a plain script", 1));

    await step("example examples/browser", async () => {
      const page = await browser().newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      try {
        await page.goto(`${origin}/examples/browser/index.html`);
        await page.waitForSelector("html[data-result], html[data-error]", { state: "attached", timeout: TIMEOUT_MS });
        const error = await page.getAttribute("html", "data-error");
        if (error !== null || errors.length > 0) throw new Error(error ?? errors.join("; "));
        const result = JSON.parse((await page.getAttribute("html", "data-result"))!) as { backend: string; teacher: number; student: number };
        if (!(result.teacher > 0.9 && result.student > 0.85 && result.backend === "wasm")) throw new Error(`unexpected result ${JSON.stringify(result)}`);
        const table = (await page.textContent("#results")) ?? "";
        if (!table.includes("teacher logits")) throw new Error("the page shows no results table");
        return `in Chromium: teacher ${result.teacher.toFixed(3)}, student ${result.student.toFixed(3)} test accuracy (${result.backend})`;
      } finally {
        await page.close();
      }
    });

    mkdirSync(SCREENSHOTS, { recursive: true });
    for (const file of sitePages) {
      await step(`site ${file}`, () => checkPage(browser(), `${origin}/site`, file));
    }
  } finally {
    await context?.close();
    server.close();
  }

  await step("example examples/deno", async () => {
    const script = join(project, "distill-deno.ts");
    writeFileSync(script, readFileSync(join(ROOT, "examples/deno/distill.ts")));
    run(deno, ["check", "distill-deno.ts"], project);
    const data = join(installed, "data", "digits");
    const out = join(project, "student-deno.safetensors");
    const stdout = run(deno, ["run", "--no-prompt", `--allow-read=${data}`, `--allow-write=${project}`, "distill-deno.ts", data, out], project);
    const student = Number(/student accuracy on the test set: ([\d.]+)/.exec(stdout)?.[1]);
    if (!(student > 0.85)) throw new Error(`unexpected output: ${stdout}`);
    // The file Deno wrote, read back in Node by the installed package.
    const kd = await import(pathToFileURL(join(installed, "dist/index.js")).href) as typeof import("../../src/index.js");
    const { tensors } = kd.decodeSafetensors(readFileSync(out));
    const names = [...tensors.keys()].sort().join();
    if (names !== "0.bias,0.weight,2.bias,2.weight") throw new Error(`the saved student holds ${names}`);
    return `deno check, then a student at ${student.toFixed(3)} test accuracy; its .safetensors reads back in Node`;
  });

  const failed = outcomes.filter((o) => !o.ok).length;
  console.log(`${outcomes.length - failed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

let code = 1;
try {
  code = await main();
} catch (e) {
  console.error(e);
  console.log(`${outcomes.filter((o) => o.ok).length} passed, ${outcomes.filter((o) => !o.ok).length + 1} failed`);
} finally {
  if (process.env.KDGRAD_KEEP) console.error(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
process.exit(code);
