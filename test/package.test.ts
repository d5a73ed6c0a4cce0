/**
 * The package as published: built, packed and installed into an empty
 * project in a temporary directory (test/helpers/package.ts), then checked
 * the way a user meets it — what the tarball holds, that the built core is
 * free of Node built-ins and globals, that the single-file bundle is
 * self-contained and small, that "kdgrad", "kdgrad/node" and "kdgrad/bundle"
 * resolve with their types, that the `kdgrad` command runs, and that
 * examples/node/distill-from-npy.ts works against the installed package.
 * The other bundles (without WebAssembly, and the plain scripts defining the
 * global `kdgrad`) hold the same API with the error names intact, and
 * kdgrad/testing works in a user's project outside the repository: the
 * shipped property tests pass under vitest there, and a wrong gradient fails
 * with a shrunk counterexample. The package is installed the way the README
 * says: `npm pack`, then `npm install` of the tarball.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { runInNewContext } from "node:vm";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import { transformSync } from "esbuild";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Adam, Generator, batches, crossEntropy, decodeSafetensors, mlp, noGrad } from "../src/index.js";
import { loadDigits, saveNpy } from "../src/node/index.js";
import { importSpecifiers, violations } from "./helpers/node-builtins.js";
import { ROOT, installPackage, packPackage, type PackResult } from "./helpers/package.js";

const work = mkdtempSync(join(tmpdir(), "kdgrad-package-"));
let pack: PackResult;
let consumer: string;
let installed: string;

beforeAll(() => {
  pack = packPackage(work);
  consumer = installPackage(pack.tarball, join(work, "consumer"));
  installed = join(consumer, "node_modules", "kdgrad");
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Files under `dir`, relative to it, with "/" separators. */
function walk(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join("/"));
}

/** Run a module in the consumer project with plain Node; returns stdout. */
function nodeIn(dir: string, code: string): string {
  return execFileSync(process.execPath, ["--input-type=module", "-e", code], { cwd: dir, encoding: "utf8" });
}

describe("the tarball", () => {
  test("holds the built package, README, LICENSE, NOTICE, docs, the digits data and the bin", () => {
    for (const f of [
      "package.json", "README.md", "LICENSE", "NOTICE", "bin/kdgrad.js", "docs/README.md", "docs/runtimes.md",
      "dist/index.js", "dist/index.d.ts", "dist/index.js.map", "dist/node/index.js", "dist/node/index.d.ts",
      "dist/cli/run.js", "dist/kdgrad.bundle.js", "dist/kdgrad.bundle.d.ts",
      "data/digits/digits_x.u8", "data/digits/digits_y.u8", "data/digits/split.json", "data/digits/SHA256SUMS",
      "data/digits/README.md",
      "dist/kdgrad.nowasm.js", "dist/kdgrad.nowasm.d.ts", "dist/kdgrad.global.js", "dist/kdgrad.global.d.ts",
      "dist/kdgrad.global.nowasm.js", "dist/kdgrad.global.nowasm.d.ts",
      "dist/testing/index.js", "dist/testing/index.d.ts", "dist/testing/fast-check.js", "dist/testing/vitest.js",
      "docs/testing.md", "examples/readme.ts", "examples/testing/custom-losses.test.ts", "examples/node/distill-from-npy.ts",
      "examples/browser/index.html", "examples/deno/distill.ts",
    ]) expect(pack.files, f).toContain(f);
  });

  test("ships nothing else: no sources, tests, fixtures, benchmarks, WebAssembly sources or scripts (examples, yes)", () => {
    const allowed = /^(?:dist\/|docs\/|examples\/|data\/digits\/|bin\/|(?:package\.json|README\.md|LICENSE|NOTICE)$)/;
    expect(pack.files.filter((f) => !allowed.test(f))).toEqual([]);
    for (const f of pack.files) {
      expect(f).not.toMatch(/^(?:src|test|bench|wasm|scripts|\.ci)\//);
      if (f.startsWith("examples/")) continue; // examples are sources a user reads and runs (a .test.ts among them)
      expect(f).not.toMatch(/fixtures|\.test\.|tsconfig|vitest\.config/);
      if (f.endsWith(".ts")) expect(f).toMatch(/\.d\.ts$/);
    }
  });

  test("package.json: no dependencies, and every export target (but the development sources) is shipped", () => {
    const pkg = JSON.parse(readFileSync(join(installed, "package.json"), "utf8"));
    expect(pkg.dependencies).toEqual({});
    expect(pkg.bundleDependencies ?? pkg.bundledDependencies).toBeUndefined();
    expect(pkg.type).toBe("module");
    // Only the module that installs Tensor's methods, the one that registers worker_threads as
    // kdgrad/node's way to start threads, and the one that registers the vitest matchers have
    // side effects.
    expect(pkg.sideEffects).toEqual([
      "./src/methods.ts", "./dist/methods.js", "./src/node/threads.ts", "./dist/node/threads.js", "./src/testing/vitest.ts", "./dist/testing/vitest.js",
    ]);
    expect(pack.files).toContain("dist/node/threads.js");
    // fast-check and vitest: optional peers, for kdgrad/testing's entry points only.
    expect(pkg.peerDependencies).toEqual({ "fast-check": "^4.0.0", vitest: "^4.0.0" });
    expect(pkg.peerDependenciesMeta).toEqual({ "fast-check": { optional: true }, vitest: { optional: true } });
    expect(pack.files).toContain("dist/methods.js");
    for (const [entry, target] of Object.entries(pkg.exports as Record<string, string | Record<string, string>>)) {
      const conditions = typeof target === "string" ? { default: target } : target;
      for (const [condition, path] of Object.entries(conditions)) {
        if (condition === "kdgrad-source") expect(path, entry).toMatch(/^\.\/src\//);
        else expect(pack.files, `${entry} ${condition}`).toContain(path.replace(/^\.\//, ""));
      }
    }
  });
});

describe("the built core", () => {
  const core = (): string[] =>
    walk(join(installed, "dist")).filter((f) => /\.(?:js|d\.ts)$/.test(f) && !/^(?:node|cli)\//.test(f));

  test("imports no Node built-in and uses no process, Buffer, require, __dirname or __filename", () => {
    const files = core();
    expect(files).toEqual(expect.arrayContaining(["index.js", "index.d.ts", "kdgrad.bundle.js", "kernels/wasm/module.js"]));
    const found = files.flatMap((f) => violations(readFileSync(join(installed, "dist", f), "utf8")).map((v) => `${f}: ${v}`));
    expect(found).toEqual([]);
  });

  test("nothing but dist/testing imports fast-check or vitest: the core keeps zero dependencies", () => {
    const js = walk(join(installed, "dist")).filter((f) => f.endsWith(".js"));
    const importers = js.filter((f) => importSpecifiers(readFileSync(join(installed, "dist", f), "utf8")).some((s) => /^(?:fast-check|vitest)(?:\/|$)/.test(s)));
    expect(importers.sort()).toEqual(["testing/arbitraries.js", "testing/loss-properties.js", "testing/vitest.js"]);
    for (const b of ["kdgrad.bundle.js", "kdgrad.nowasm.js", "kdgrad.global.js", "kdgrad.global.nowasm.js"]) {
      expect(readFileSync(join(installed, "dist", b), "utf8"), b).not.toMatch(/fast-check|fc\.assert/);
    }
  });

  test("the scanner does see the Node layer's imports in built code (it is not blind to compiled output)", () => {
    expect(violations(readFileSync(join(installed, "dist/node/files.js"), "utf8"))).toContain('imports "node:fs"');
  });

  /** The JSON printed by `check` (a function body using `kd`) run against one bundle: imported, or evaluated as a script. */
  const inBundle = (file: string, check: string): any => {
    const code = readFileSync(join(installed, "dist", file), "utf8");
    if (file.startsWith("kdgrad.global")) {
      // A plain script in a fresh global scope, as a <script> tag runs it: it must define `kdgrad`.
      const context: Record<string, unknown> = {};
      runInNewContext(code, context);
      return JSON.parse(runInNewContext(`(() => { const kd = kdgrad; ${check} })()`, context) as string);
    }
    return JSON.parse(nodeIn(consumer, `const kd = await import(${JSON.stringify(join(installed, "dist", file))}); console.log((() => { ${check} })());`));
  };
  const BUNDLES = ["kdgrad.bundle.js", "kdgrad.nowasm.js", "kdgrad.global.js", "kdgrad.global.nowasm.js"];

  test("every bundle imports nothing and holds exactly what dist/index.js exports; without the module, the js backend", () => {
    const core = JSON.parse(nodeIn(consumer, 'console.log(JSON.stringify(Object.keys(await import("kdgrad")).sort()));'));
    expect(core.length).toBeGreaterThan(100);
    for (const file of BUNDLES) {
      const code = readFileSync(join(installed, "dist", file), "utf8");
      expect(importSpecifiers(code), file).toEqual([]);
      if (file.startsWith("kdgrad.global")) expect(code.slice(0, 40), file).toMatch(/^(?:"use strict";)?var kdgrad=/);
      const seen = inBundle(file, "return JSON.stringify({ keys: Object.keys(kd).sort(), backend: kd.getBackend(), wasm: kd.wasmAvailable() });");
      expect(seen.keys, file).toEqual(core);
      const withWasm = !file.includes("nowasm");
      expect([seen.backend, seen.wasm], file).toEqual(withWasm ? ["wasm", true] : ["js", false]);
    }
    const viaExports = JSON.parse(nodeIn(consumer, `
      const a = Object.keys(await import("kdgrad/bundle")).sort();
      const b = Object.keys(await import("kdgrad/bundle/nowasm")).sort();
      console.log(JSON.stringify({ a, b }));`));
    expect([viaExports.a, viaExports.b]).toEqual([core, core]);
  });

  test("the bundles without the module never touch WebAssembly (a sandbox that forbids it sees no attempt)", () => {
    for (const withBytes of [false, true]) {
      let touched = 0;
      const context: Record<string, unknown> = {};
      Object.defineProperty(context, "WebAssembly", { get: () => void touched++, enumerable: true });
      runInNewContext(readFileSync(join(installed, "dist", withBytes ? "kdgrad.global.js" : "kdgrad.global.nowasm.js"), "utf8"), context);
      const sum = runInNewContext('kdgrad.getBackend() + " " + kdgrad.tensor([1, 2], { dtype: "float32" }).add(1).sum().item()', context);
      expect(sum).toBe("js 5");
      // The check is able to see an attempt: the bundle with the bytes looks for WebAssembly.
      expect(touched > 0, withBytes ? "kdgrad.global.js" : "kdgrad.global.nowasm.js").toBe(withBytes);
    }
  });

  test("every error class keeps its name in every minified bundle (and in dist/index.js): `ShapeError: add: …`", () => {
    // The minifier renames classes; the names must not come from the class binding.
    for (const file of BUNDLES) expect(readFileSync(join(installed, "dist", file), "utf8"), file).not.toMatch(/class ShapeError\b/);
    const check = `
        const classes = Object.entries(kd).filter(([, v]) => typeof v === "function" && v.prototype instanceof Error);
        const names = classes.map(([k, C]) => { const e = new C("m"); return [k, e.name, String(e), e.stack.split("\\n")[0]]; });
        let thrown;
        try { kd.add(kd.zeros([2]), kd.zeros([3])); } catch (e) { thrown = [e.name, String(e), e.stack.split("\\n")[0], e instanceof kd.ShapeError]; }
        class MyError extends kd.ValueError {}
        return JSON.stringify({ names, thrown, mine: new MyError("m").name });`;
    const seen: [string, any][] = [
      ["kdgrad", JSON.parse(nodeIn(consumer, `const kd = await import("kdgrad"); console.log((() => { ${check} })());`))],
      ...BUNDLES.map((file): [string, any] => [file, inBundle(file, check)]),
    ];
    for (const [entry, got] of seen) {
      expect(got.names.map((n: string[]) => n[0]).sort(), entry).toEqual(
        ["AutogradError", "DTypeError", "FileError", "FormatError", "GradcheckError", "IndexError", "KdgradError", "ShapeError", "ValueError"]);
      for (const [key, name, text, stackHead] of got.names) expect([name, text, stackHead], `${entry} ${key}`).toEqual([key, `${key}: m`, `${key}: m`]);
      const message = "ShapeError: add: cannot broadcast [2] with [3]";
      expect(got.thrown, entry).toEqual(["ShapeError", message, message, true]);
      expect(got.mine, entry).toBe("MyError");
    }
  });

  // The budget catches accidental growth (a dependency pulled in, code duplicated); features
  // move it, on purpose and with their cost measured (docs/runtimes.md, "The bundle").
  test("the bundle is under 80 KB gzipped without the WebAssembly bytes", () => {
    const sizes = JSON.parse(execFileSync(process.execPath, [join(ROOT, "scripts/bundle-size.mjs"), "--json"], { encoding: "utf8" }));
    expect(sizes.withoutWasmGzip).toBeLessThan(80 * 1024);
    expect(sizes.bundleGzip).toBeGreaterThan(sizes.withoutWasmGzip);
  });

  // The shipped bundles without the WebAssembly bytes get the same budget, derived the same way
  // (docs/runtimes.md, "The bundles"): the ESM one is the budgeted build itself, the plain script
  // the same code in its wrapper, which must stay a wrapper (under 1 KB gzipped).
  test("the shipped bundles without the WebAssembly bytes (ESM and plain script) are under the same 80 KB budget", () => {
    const sizes = JSON.parse(execFileSync(process.execPath, [join(ROOT, "scripts/bundle-size.mjs"), "--json"], { encoding: "utf8" }));
    const esm = sizes.files["kdgrad.nowasm.js"];
    const script = sizes.files["kdgrad.global.nowasm.js"];
    expect([esm.bytes, esm.gzip]).toEqual([sizes.withoutWasmBytes, sizes.withoutWasmGzip]);
    expect(script.gzip).toBeLessThan(80 * 1024);
    expect(script.gzip - esm.gzip).toBeLessThan(1024);
  });
});

describe("installed in a project", () => {
  test('"kdgrad", "kdgrad/node" and the bin run with plain Node; loadDigits finds the shipped data from dist/node', () => {
    const out = JSON.parse(nodeIn(consumer, `
      import { tensor, getBackend } from "kdgrad";
      import { loadDigits, DEFAULT_DIGITS_DIR } from "kdgrad/node";
      const { train, test } = loadDigits();
      console.log(JSON.stringify({ dir: DEFAULT_DIGITS_DIR, train: train.x.shape, test: test.y.shape,
        sum: tensor([1, 2, 3]).sum().item(), backend: getBackend() }));`));
    expect(out).toEqual({ dir: join(installed, "data", "digits") + sep, train: [1347, 64], test: [450], sum: 6, backend: "wasm" });
    const help = spawnSync(join(consumer, "node_modules", ".bin", "kdgrad"), ["--help"], { encoding: "utf8" });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^kdgrad — /);
    // The installed package has no src/, so the bin runs dist/ (which finds package.json from dist/cli).
    expect(existsSync(join(installed, "src"))).toBe(false);
    const version = spawnSync(join(consumer, "node_modules", ".bin", "kdgrad"), ["--version"], { encoding: "utf8" });
    expect([version.status, version.stdout, version.stderr]).toEqual([0, `kdgrad ${JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version}\n`, ""]);
  });

  test("the types resolve: the core's without Node's types, kdgrad/node's with them; declarations check", () => {
    const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
    writeFileSync(join(consumer, "core.ts"), [
      'import { tensor, distillationLoss, type Tensor } from "kdgrad";',
      'import * as bundle from "kdgrad/bundle";',
      "const s: Tensor = tensor([[1, 2, 3]], { requiresGrad: true });",
      "const loss: Tensor = distillationLoss(s, bundle.tensor([[3, 2, 1]]), { temperature: 2 });",
      "loss.backward();",
      "// @ts-expect-error: a temperature is a number (so the types are real, not any)",
      'distillationLoss(s, s, { temperature: "hot" });',
      "",
    ].join("\n"));
    writeFileSync(join(consumer, "node.ts"), [
      'import { loadDigits } from "kdgrad/node";',
      "const rows: number = loadDigits().train.x.shape[0]!;",
      "console.log(rows);",
      "",
    ].join("\n"));
    const options = ["--noEmit", "--strict", "--module", "nodenext", "--target", "es2022", "--skipLibCheck", "false"];
    const run = (files: string[], types: string[]): string => {
      const r = spawnSync(process.execPath, [tsc, ...options, "--types", types.join(","), "--typeRoots", join(ROOT, "node_modules/@types"), ...files], { cwd: consumer, encoding: "utf8" });
      return r.stdout + r.stderr;
    };
    expect(run(["core.ts"], [])).toBe("");
    expect(run(["node.ts"], ["node"])).toBe("");
  });

  test('"kdgrad/testing" works without fast-check or vitest; "kdgrad/testing/fast-check" says it needs fast-check', () => {
    expect(existsSync(join(consumer, "node_modules", "fast-check"))).toBe(false);
    const out = JSON.parse(nodeIn(consumer, `
      import { tensor } from "kdgrad";
      import { allClose, assertClose, assertGradcheck } from "kdgrad/testing";
      let message = "";
      try { assertClose(tensor([1, 2]), [1, 2.5]); } catch (e) { message = String(e); }
      assertGradcheck((x) => x.tanh(), [tensor([0.5, -1], { dtype: "float64", requiresGrad: true })], { relative: true });
      console.log(JSON.stringify({ close: allClose([1, 2], [1, 2 + 1e-9]), message }));`));
    expect(out.close).toBe(true);
    expect(out.message).toMatch(/^AssertionError: assertClose: 1 of 2 elements are not close .*\n  worst at \[1\]: actual 2, expected 2\.5/);
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", 'await import("kdgrad/testing/fast-check");'], { cwd: consumer, encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/Cannot find package 'fast-check'/);
  });

  test("a user's project outside the repository property-tests its own losses with kdgrad/testing and vitest; a wrong gradient fails, shrunk", () => {
    // A second project: the tarball installed the README's way, and fast-check and vitest linked
    // from this checkout's node_modules (as `npm link` would; no network, and fast).
    const user = installPackage(pack.tarball, join(work, "user-project"));
    for (const dep of ["fast-check", "vitest"]) symlinkSync(join(ROOT, "node_modules", dep), join(user, "node_modules", dep), "dir");
    // The shipped walkthrough (docs/testing.md), as a user would copy it.
    cpSync(join(user, "node_modules/kdgrad/examples/testing/custom-losses.test.ts"), join(user, "custom-losses.test.ts"));
    writeFileSync(join(user, "wrong-gradient.test.ts"), [
      'import fc from "fast-check";',
      'import { test } from "vitest";',
      'import { Tensor, defineOp, gather, logSoftmax, mul, oneHot, softmax, sub } from "kdgrad";',
      'import { lossProperties } from "kdgrad/testing/fast-check";',
      "",
      "// Cross-entropy with a hand-written backward that forgets the 1/B of the mean.",
      "const myLoss = defineOp({",
      '  name: "myLoss",',
      "  forward(ctx, x: Tensor, y: Tensor) {",
      "    ctx.save({ p: softmax(x, -1), y });",
      "    return gather(logSoftmax(x, -1), 1, y.unsqueeze(1)).mean().neg();",
      "  },",
      "  backward(ctx, g: Tensor) {",
      "    const { p, y } = ctx.saved as { p: Tensor; y: Tensor };",
      "    return [mul(sub(p, oneHot(y, p.shape[1]!).to(p.dtype)), g), null];",
      "  },",
      "});",
      "",
      'const props = lossProperties(myLoss, { target: "labels", shiftInvariant: true, rowsSumToZero: true });',
      'test("myLoss: shift invariance", () => fc.assert(props.shiftInvariance!));',
      'test("myLoss: gradient", () => fc.assert(props.gradient));',
      "",
    ].join("\n"));
    // Plain environment: no variables of the vitest running this test leak into the user's.
    const env = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", NO_COLOR: "1", CI: "1" };
    const vitest = (file: string) => spawnSync(process.execPath, [join(user, "node_modules/vitest/vitest.mjs"), "run", file], { cwd: user, env, encoding: "utf8", timeout: 120_000 });

    const good = vitest("custom-losses.test.ts");
    expect(good.stdout + good.stderr).toMatch(/Tests\s+13 passed \(13\)/);
    expect(good.status).toBe(0);

    const bad = vitest("wrong-gradient.test.ts");
    const out = bad.stdout + bad.stderr;
    expect(bad.status).toBe(1);
    expect(out).toMatch(/Tests\s+1 failed \| 1 passed \(2\)/);
    expect(out).toContain('Counterexample: [{"logits":tensor([[0,0],[0,0]], { dtype: "float64" }),"target":tensor([0,0], { dtype: "int32" }),"temperature":1}]');
    expect(out).toMatch(/GradcheckError: assertGradcheck: myLoss failed \(full, seed 0, rtol 0\.00001, atol [\d.e-]+, relative to the gradient's size\)/);

    // The user's files typecheck against the installed declarations (vitest's Matchers augmented).
    const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
    const types = spawnSync(process.execPath, [tsc, "--noEmit", "--strict", "--module", "nodenext", "--target", "es2022", "--skipLibCheck", "--types", "", "custom-losses.test.ts", "wrong-gradient.test.ts"], { cwd: user, encoding: "utf8" });
    expect(types.stdout + types.stderr).toBe("");
  });

  test("the README says how to install kdgrad today, and that is how these tests install it", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const version = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;
    const block = /## Install\n[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
    expect(block).toMatch(/^npm ci$/m);
    expect(block).toMatch(/^npm pack\b/m);
    expect(block).toContain(`npm install /path/to/kdgrad/kdgrad-${version}.tgz`);
    // test/helpers/package.ts: `npm pack` of the checkout, then `npm install <tarball>` in the project.
    const helper = readFileSync(join(ROOT, "test/helpers/package.ts"), "utf8");
    expect(helper).toMatch(/\["pack", /);
    expect(helper).toMatch(/\["install", [^\]]*tarball\]/);
    expect(pack.tarball.endsWith(`kdgrad-${version}.tgz`)).toBe(true);
    const lock = JSON.parse(readFileSync(join(consumer, "package.json"), "utf8"));
    expect(lock.dependencies.kdgrad).toMatch(/^file:.*kdgrad-[\d.]+\.tgz$/);
  });

  test("examples/node/distill-from-npy.ts distils from a .npy of teacher logits", () => {
    // A quick teacher, written as a user would from NumPy: logits on the train_10pct rows.
    const { train, train_10pct } = loadDigits();
    const generator = new Generator(1);
    const teacher = mlp([64, 64, 10], { generator });
    const opt = new Adam(teacher.parameters(), { lr: 1e-2 });
    for (let epoch = 0; epoch < 10; epoch++) {
      for (const { x, y } of batches(train.x, train.y, { batchSize: 64, generator })) {
        opt.zeroGrad();
        crossEntropy(teacher.forward(x), y).backward();
        opt.step();
      }
    }
    saveNpy(join(consumer, "teacher.npy"), noGrad(() => teacher.forward(train_10pct.x)));

    const source = readFileSync(join(ROOT, "examples/node/distill-from-npy.ts"), "utf8");
    writeFileSync(join(consumer, "distill-from-npy.js"), transformSync(source, { loader: "ts", format: "esm" }).code);
    const r = spawnSync(process.execPath, ["distill-from-npy.js", "teacher.npy", "student.safetensors"], { cwd: consumer, encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const accuracy = Number(/student accuracy on the test set:\s+([\d.]+)/.exec(r.stdout)![1]);
    expect(accuracy).toBeGreaterThan(0.85);
    const { tensors, metadata } = decodeSafetensors(readFileSync(join(consumer, "student.safetensors")));
    expect([...tensors.keys()].sort()).toEqual(["0.bias", "0.weight", "2.bias", "2.weight"]);
    expect(metadata).toEqual({ teacher: "teacher.npy" });

    const usage = spawnSync(process.execPath, ["distill-from-npy.js"], { cwd: consumer, encoding: "utf8" });
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/^usage: /);
  });
});
