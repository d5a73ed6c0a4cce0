// `npm run size`: how big the single-file bundle of the core is, gzipped, with and
// without the embedded WebAssembly module (docs/runtimes.md quotes these numbers).
// `--json` prints them as one JSON object instead.
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { BUNDLES, bundleCore } from "./bundle.mjs";

/** The embedded module's size: src/kernels/wasm/bytes.ts holds it as quoted base64 lines. */
function wasmModuleBytes() {
  const text = readFileSync(new URL("../src/kernels/wasm/bytes.ts", import.meta.url), "utf8");
  const base64 = [...text.matchAll(/^\s*"([A-Za-z0-9+/=]+)",?$/gm)].map((m) => m[1]).join("");
  return Buffer.from(base64, "base64").length;
}

export async function bundleSizes() {
  const gz = (text) => gzipSync(Buffer.from(text), { level: 9 }).length;
  const full = (await bundleCore({ minify: true })).code;
  const bare = (await bundleCore({ minify: true, withoutWasm: true })).code;
  const files = {};
  for (const b of BUNDLES) {
    const code = (await bundleCore({ minify: true, format: b.format, withoutWasm: b.withoutWasm, file: b.file })).code;
    files[b.file] = { bytes: Buffer.byteLength(code), gzip: gz(code) };
  }
  return {
    bundleBytes: Buffer.byteLength(full),
    bundleGzip: gz(full),
    withoutWasmBytes: Buffer.byteLength(bare),
    withoutWasmGzip: gz(bare),
    wasmModuleBytes: wasmModuleBytes(),
    files,
  };
}

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const s = await bundleSizes();
if (process.argv.includes("--json")) console.log(JSON.stringify(s));
else {
  console.log(`kdgrad.bundle.js (minified)             ${String(s.bundleBytes).padStart(7)} bytes, ${kb(s.bundleGzip)} gzipped`);
  console.log(`  without the WebAssembly bytes         ${String(s.withoutWasmBytes).padStart(7)} bytes, ${kb(s.withoutWasmGzip)} gzipped`);
  console.log(`  the WebAssembly module itself         ${String(s.wasmModuleBytes).padStart(7)} bytes (embedded as base64)`);
  console.log("every bundle npm run build writes:");
  for (const [file, f] of Object.entries(s.files)) console.log(`  dist/${file.padEnd(31)} ${String(f.bytes).padStart(7)} bytes, ${kb(f.gzip)} gzipped`);
}
