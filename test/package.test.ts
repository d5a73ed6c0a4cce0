/**
 * The package as published: built, packed and installed into an empty
 * project in a temporary directory (test/helpers/package.ts), then checked
 * the way a user meets it — what the tarball holds, that the built core is
 * free of Node built-ins and globals, that the single-file bundle is
 * self-contained and small, that "kdgrad", "kdgrad/node" and "kdgrad/bundle"
 * resolve with their types, that the `kdgrad` command runs, and that
 * examples/node/distill-from-npy.ts works against the installed package.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
    ]) expect(pack.files, f).toContain(f);
  });

  test("ships nothing else: no sources, tests, fixtures, benchmarks, WebAssembly sources, scripts or examples", () => {
    const allowed = /^(?:dist\/|docs\/|data\/digits\/|bin\/|(?:package\.json|README\.md|LICENSE|NOTICE)$)/;
    expect(pack.files.filter((f) => !allowed.test(f))).toEqual([]);
    for (const f of pack.files) {
      expect(f).not.toMatch(/^(?:src|test|bench|wasm|scripts|examples|\.ci)\//);
      expect(f).not.toMatch(/fixtures|\.test\.|tsconfig|vitest/);
      if (f.endsWith(".ts")) expect(f).toMatch(/\.d\.ts$/);
    }
  });

  test("package.json: no dependencies, and every export target (but the development sources) is shipped", () => {
    const pkg = JSON.parse(readFileSync(join(installed, "package.json"), "utf8"));
    expect(pkg.dependencies).toEqual({});
    expect(pkg.bundleDependencies ?? pkg.bundledDependencies).toBeUndefined();
    expect(pkg.type).toBe("module");
    // Only the module that installs Tensor's methods has a side effect (src/methods.ts).
    expect(pkg.sideEffects).toEqual(["./src/methods.ts", "./dist/methods.js"]);
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

  test("the scanner does see the Node layer's imports in built code (it is not blind to compiled output)", () => {
    expect(violations(readFileSync(join(installed, "dist/node/files.js"), "utf8"))).toContain('imports "node:fs"');
  });

  test("the bundle imports nothing and exports exactly what dist/index.js exports", () => {
    expect(importSpecifiers(readFileSync(join(installed, "dist/kdgrad.bundle.js"), "utf8"))).toEqual([]);
    const keys = JSON.parse(nodeIn(consumer, `
      const a = Object.keys(await import("kdgrad")).sort();
      const b = Object.keys(await import("kdgrad/bundle")).sort();
      console.log(JSON.stringify({ a, b }));`));
    expect(keys.a.length).toBeGreaterThan(100);
    expect(keys.b).toEqual(keys.a);
  });

  test("every error class keeps its name in the minified bundle (and in dist/index.js): `ShapeError: add: …`", () => {
    // The minifier renames classes; the names must not come from the class binding.
    expect(readFileSync(join(installed, "dist/kdgrad.bundle.js"), "utf8")).not.toMatch(/class ShapeError\b/);
    for (const entry of ["kdgrad/bundle", "kdgrad"]) {
      const seen = JSON.parse(nodeIn(consumer, `
        const kd = await import(${JSON.stringify(entry)});
        const classes = Object.entries(kd).filter(([, v]) => typeof v === "function" && v.prototype instanceof Error);
        const names = classes.map(([k, C]) => { const e = new C("m"); return [k, e.name, String(e), e.stack.split("\\n")[0]]; });
        let thrown;
        try { kd.add(kd.zeros([2]), kd.zeros([3])); } catch (e) { thrown = [e.name, String(e), e.stack.split("\\n")[0], e instanceof kd.ShapeError]; }
        class MyError extends kd.ValueError {}
        console.log(JSON.stringify({ names, thrown, mine: new MyError("m").name }));`));
      expect(seen.names.map((n: string[]) => n[0]).sort(), entry).toEqual(
        ["AutogradError", "DTypeError", "FileError", "FormatError", "GradcheckError", "IndexError", "KdgradError", "ShapeError", "ValueError"]);
      for (const [key, name, text, stackHead] of seen.names) expect([name, text, stackHead], `${entry} ${key}`).toEqual([key, `${key}: m`, `${key}: m`]);
      const message = "ShapeError: add: cannot broadcast [2] with [3]";
      expect(seen.thrown, entry).toEqual(["ShapeError", message, message, true]);
      expect(seen.mine, entry).toBe("MyError");
    }
  });

  // The budget catches accidental growth (a dependency pulled in, code duplicated); features
  // move it, on purpose and with their cost measured (docs/runtimes.md, "The bundle").
  test("the bundle is under 48 KB gzipped without the WebAssembly bytes", () => {
    const sizes = JSON.parse(execFileSync(process.execPath, [join(ROOT, "scripts/bundle-size.mjs"), "--json"], { encoding: "utf8" }));
    expect(sizes.withoutWasmGzip).toBeLessThan(48 * 1024);
    expect(sizes.bundleGzip).toBeGreaterThan(sizes.withoutWasmGzip);
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
