// The single-file bundle of the core, shared by scripts/build.mjs (which writes it to
// dist/kdgrad.bundle.js) and scripts/bundle-size.mjs (which measures it).
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * The bundles `npm run build` writes: file name, format, and whether the embedded
 * WebAssembly module is left out. An "iife" bundle is a plain script that defines the
 * global `kdgrad` (`var kdgrad = …`), for a <script> tag or an engine that evaluates
 * scripts; the builds without the module are for engines that cannot or may not compile
 * WebAssembly (QuickJS, sandboxes with a strict Content-Security-Policy).
 */
export const BUNDLES = [
  { file: "kdgrad.bundle.js", format: "esm", withoutWasm: false },
  { file: "kdgrad.nowasm.js", format: "esm", withoutWasm: true },
  { file: "kdgrad.global.js", format: "iife", withoutWasm: false },
  { file: "kdgrad.global.nowasm.js", format: "iife", withoutWasm: true },
];

/**
 * Bundle src/index.ts and everything it imports into one file, in memory: ESM, or with
 * `format: "iife"` a script defining the global `kdgrad`.
 * platform "neutral": esbuild assumes no Node, browser or Deno API, and fails on a
 * Node built-in import instead of shimming it. `withoutWasm` replaces the embedded
 * WebAssembly module by an empty string (the kernels then report themselves
 * unavailable and the TypeScript kernels run): a build for engines without WebAssembly,
 * and the measure of what the TypeScript code alone costs.
 */
export async function bundleCore({ minify = true, sourcemap = false, withoutWasm = false, format = "esm", file = "kdgrad.bundle.js" } = {}) {
  const bytesModule = join(root, "src/kernels/wasm/bytes.ts");
  const result = await build({
    entryPoints: [join(root, "src/index.ts")],
    outfile: join(root, "dist", file),
    bundle: true,
    write: false,
    format,
    ...(format === "iife" ? { globalName: "kdgrad" } : {}),
    platform: "neutral",
    target: "es2022",
    minify,
    sourcemap: sourcemap ? "external" : false,
    sourcesContent: true,
    legalComments: "none",
    logLevel: "silent",
    plugins: withoutWasm
      ? [{
          name: "without-wasm",
          setup(b) {
            b.onLoad({ filter: /[\\/]kernels[\\/]wasm[\\/]bytes\.ts$/ }, (args) =>
              args.path === bytesModule ? { contents: 'export const wasmBase64 = "";', loader: "ts" } : undefined);
          },
        }]
      : [],
  });
  const code = result.outputFiles.find((f) => f.path.endsWith(".js"))?.text;
  const map = result.outputFiles.find((f) => f.path.endsWith(".map"))?.text;
  if (code === undefined) throw new Error("bundleCore: esbuild produced no JavaScript");
  return { code, map };
}
