// The single-file bundle of the core, shared by scripts/build.mjs (which writes it to
// dist/kdgrad.bundle.js) and scripts/bundle-size.mjs (which measures it).
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Bundle src/index.ts and everything it imports into one ESM file, in memory.
 * platform "neutral": esbuild assumes no Node, browser or Deno API, and fails on a
 * Node built-in import instead of shimming it. `withoutWasm` replaces the embedded
 * WebAssembly module by an empty string (the kernels then report themselves
 * unavailable), to measure what the TypeScript code alone costs.
 */
export async function bundleCore({ minify = true, sourcemap = false, withoutWasm = false } = {}) {
  const bytesModule = join(root, "src/kernels/wasm/bytes.ts");
  const result = await build({
    entryPoints: [join(root, "src/index.ts")],
    outfile: join(root, "dist/kdgrad.bundle.js"),
    bundle: true,
    write: false,
    format: "esm",
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
