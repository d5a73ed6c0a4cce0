/**
 * The kernel registry (src/kernels/registry.ts): selecting a backend, which
 * calls each backend takes, and the layering rule that only src/kernels
 * knows backends exist. Runs once (vitest.config.ts); what each backend
 * computes is tested per backend (test/kernels/backends.test.ts and the op,
 * loss, nn and optim tests).
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { ValueError, getBackend, setBackend, wasmAvailable, type Backend } from "../src/index.js";
import { backendAvailable, backendNames, kernel, setMinWork } from "../src/kernels/registry.js";
import { jsKernels } from "../src/kernels/js/index.js";
import { wasmBackend } from "../src/kernels/wasm/index.js";
import type { KernelName } from "../src/kernels/table.js";

const initial = getBackend();
afterAll(() => {
  setBackend(initial);
  for (const b of backendNames()) setMinWork(b, null);
});

describe("selection", () => {
  test("WebAssembly SIMD is available in Node, and chosen by default", () => {
    expect(wasmAvailable()).toBe(true);
    expect(backendAvailable("wasm")).toBe(true);
    expect(backendNames()).toEqual(["js", "wasm"]);
  });

  test("setBackend checks its argument, naming the backends; js is always available", () => {
    expect(() => setBackend("gpu" as Backend)).toThrow(ValueError);
    expect(() => setBackend("gpu" as Backend)).toThrow(/^setBackend: backend must be "wasm" or "js", got "gpu"$/);
    expect(() => setBackend(3 as unknown as Backend)).toThrow(/setBackend: backend must be "wasm" or "js", got 3/);
    expect(() => setBackend("toString" as Backend)).toThrow(/got "toString"/);
    setBackend("js");
    expect(getBackend()).toBe("js");
    setBackend("wasm");
    expect(getBackend()).toBe("wasm");
  });
});

test("where WebAssembly SIMD cannot run: js is chosen, setBackend(\"wasm\") is a ValueError, and the ops still run", () => {
  // A fresh process in which WebAssembly refuses every module (as an engine without SIMD does);
  // tsx itself needs WebAssembly to load, so validate() is what is switched off.
  const tsx = fileURLToPath(new URL("../node_modules/tsx/dist/cli.mjs", import.meta.url));
  const root = fileURLToPath(new URL("..", import.meta.url));
  const script = `
    WebAssembly.validate = () => false;
    const kd = await import("./src/index.ts");
    let message = null;
    try { kd.setBackend("wasm"); } catch (e) { message = e.constructor.name + ": " + e.message; }
    const x = kd.randn([64, 64]).requiresGrad_();
    const w = kd.randn([32, 64]);
    const y = kd.softmax(kd.linear(x, w), -1);
    y.backward(kd.onesLike(y));
    console.log(JSON.stringify({ available: kd.wasmAvailable(), backend: kd.getBackend(), message, finite: x.grad.toFlatArray().every(Number.isFinite) }));
  `;
  const out = execFileSync(process.execPath, [tsx, "--input-type=module", "-e", script], { cwd: root, encoding: "utf8", timeout: 60_000 });
  expect(JSON.parse(out.trim().split("\n").pop()!)).toEqual({
    available: false, backend: "js", message: 'ValueError: setBackend: WebAssembly SIMD is not available in this runtime; use "js"', finite: true,
  });
});

describe("which backend takes a call", () => {
  const names = Object.keys(jsKernels) as KernelName[];

  test("js: every call runs the TypeScript kernels", () => {
    setBackend("js");
    for (const name of names) expect(kernel(name, "float32", 1e9)).toBe(jsKernels[name]);
  });

  test("wasm: float32 work from the threshold (row kernels from a quarter of it), the rest in TypeScript", () => {
    setBackend("wasm");
    setMinWork("wasm", null);
    expect(kernel("matmul", "float32", 4095)).toBe(jsKernels.matmul);
    expect(kernel("matmul", "float32", 4096)).toBe(wasmBackend.kernels.matmul);
    expect(kernel("logSoftmax", "float32", 1023)).toBe(jsKernels.logSoftmax);
    expect(kernel("logSoftmax", "float32", 1024)).toBe(wasmBackend.kernels.logSoftmax);
    // The fused distillation loss wins in WebAssembly at any size (src/kernels/wasm/index.ts);
    // it is still float32 only.
    expect(kernel("distillation", "float32", 1)).toBe(wasmBackend.kernels.distillation);
    expect(kernel("distillation", "float64", 1e9)).toBe(jsKernels.distillation);
    // A kernel WebAssembly does not have falls back at any size.
    expect(kernel("adamStep", "float32", 1e9)).toBe(jsKernels.adamStep);
    setMinWork("wasm", 0);
    expect(kernel("matmul", "float32", 1)).toBe(wasmBackend.kernels.matmul);
    setMinWork("wasm", null);
    expect(kernel("matmul", "float32", 1)).toBe(jsKernels.matmul);
  });

  // The premise for running all-ops and the autograd tests (float64 gradchecks) once
  // rather than per backend (vitest.config.ts): they would run the same kernels.
  test("no backend but js takes a float64 or int32 call, at any size", () => {
    for (const b of backendNames()) {
      setBackend(b);
      setMinWork(b, 0);
      for (const name of names) {
        expect(kernel(name, "float64", 1e9), `${b} ${name} float64`).toBe(jsKernels[name]);
        expect(kernel(name, "int32", 1e9), `${b} ${name} int32`).toBe(jsKernels[name]);
      }
      setMinWork(b, null);
    }
  });
});

describe("layering", () => {
  const SRC = fileURLToPath(new URL("../src/", import.meta.url));
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
  test("outside src/kernels nothing imports the WebAssembly backend, asks which backend runs or names one", () => {
    const found: string[] = [];
    for (const path of files(SRC)) {
      const rel = relative(SRC, path).split("\\").join("/");
      if (rel.startsWith("kernels/")) continue;
      // Comments dropped: prose may mention WebAssembly.
      const code = readFileSync(path, "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
      if (/from\s+["'][^"']*kernels\/wasm\//.test(code)) found.push(`${rel} imports from kernels/wasm`);
      if (/\bgetBackend\s*\(|\bwasmKernels\b|\bwasmAvailable\s*\(/.test(code)) found.push(`${rel} asks for a backend`);
      if (/["'](wasm|js)["']/.test(code) && rel !== "index.ts") found.push(`${rel} names a backend`);
    }
    expect(found).toEqual([]);
  });
});

test("the committed WebAssembly module matches a fresh compile of wasm/kernels.ts", () => {
  const script = fileURLToPath(new URL("../scripts/build-wasm.mjs", import.meta.url));
  expect(execFileSync(process.execPath, [script, "--check"], { encoding: "utf8" })).toContain("matches a fresh compile");
});
