// `npm run build`: compile src/ into dist/ and bundle the core into one file.
//
//   dist/index.js, dist/**/*.js   ESM, one file per source file (tsc, tsconfig.build.json),
//   dist/**/*.d.ts, *.js.map      with declarations and source maps (sources inlined, since
//                                 src/ is not shipped); dist/node and dist/cli are the
//                                 "kdgrad/node" entry point and the `kdgrad` command
//   dist/kdgrad.bundle.js         the core (src/index.ts and what it imports: no src/node,
//                                 no src/cli) as a single minified ESM file, for browsers,
//                                 Deno, Bun, QuickJS and anything else that takes one file
//   dist/kdgrad.nowasm.js         the same without the embedded WebAssembly module (QuickJS,
//                                 sandboxes that may not compile WebAssembly)
//   dist/kdgrad.global.js         both as plain scripts defining the global `kdgrad`
//   dist/kdgrad.global.nowasm.js  (IIFE), for a <script> tag or a script-only engine
//
// `node scripts/build.mjs --out DIR` builds into DIR instead (it must be empty or missing);
// the tests and the runtime matrix build into temporary directories that way, so they never
// touch dist/. (In a checkout bin/kdgrad.js runs src/ through tsx, never a possibly stale dist/;
// the installed package, which has no src/, runs dist/cli.)
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { BUNDLES, bundleCore } from "./bundle.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);

/** Build into `out` (default dist/); returns the absolute output directory. */
export async function build(out = join(root, "dist")) {
  out = resolve(out);
  if (out === join(root, "dist")) rmSync(out, { recursive: true, force: true });
  else if (existsSync(out) && readdirSync(out).length > 0) {
    throw new Error(`build: ${out} is not empty; give an empty or missing directory`);
  }
  mkdirSync(out, { recursive: true });
  const tsc = join(dirname(require.resolve("typescript/package.json")), "bin", "tsc");
  execFileSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json"), "--outDir", out], {
    cwd: root,
    stdio: "inherit",
  });
  for (const { file, format, withoutWasm } of BUNDLES) {
    const { code, map } = await bundleCore({ minify: true, sourcemap: true, format, withoutWasm, file });
    writeFileSync(join(out, file), `${code}//# sourceMappingURL=${file}.map\n`);
    writeFileSync(join(out, `${file}.map`), map);
    // An ESM bundle exports exactly what src/index.ts does, so its types are dist/index.d.ts;
    // a global one declares `kdgrad` as that module's namespace.
    const types = format === "esm" ? 'export * from "./index.js";\n'
      : 'import type * as kd from "./index.js";\ndeclare global {\n  /** kdgrad, defined by this script. */\n  var kdgrad: typeof kd;\n}\nexport {};\n';
    writeFileSync(join(out, file.replace(/\.js$/, ".d.ts")), types);
  }
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf("--out");
  const out = await build(i > 0 ? process.argv[i + 1] : undefined);
  console.error(`built ${out}`); // stderr: `npm pack --json` runs this (prepack) and prints JSON on stdout
}
