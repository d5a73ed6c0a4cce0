#!/usr/bin/env node
// The `kdgrad` command.
//
// - Installed from npm, the package has dist/ and no src/: run the compiled CLI, dist/cli/run.js.
// - In a checkout (src/ is here): run the TypeScript sources through tsx (a dev dependency), so
//   that the code you edit is the code that runs; a dist/ left by `npm run build` is never
//   preferred, since it may be older than the sources.
// - In a checkout without tsx (`npm ci` not run, or run with --omit=dev), fall back to dist/ only
//   if no file under src/ is newer than it; otherwise refuse with one line rather than run stale code.
import { existsSync, readdirSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const built = new URL("../dist/cli/run.js", import.meta.url);
const sources = new URL("../src/cli/run.ts", import.meta.url);

/** The newest modification time of the files under `dir` (ms). */
function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) t = Math.max(t, statSync(`${e.parentPath}/${e.name}`).mtimeMs);
  }
  return t;
}

function fail(message) {
  process.stderr.write(`kdgrad: ${message}\n`);
  process.exit(1);
}

if (!existsSync(sources)) {
  if (!existsSync(built)) fail(`${fileURLToPath(built)} is missing; reinstall kdgrad (or run npm run build in a checkout)`);
  await import(built.href);
} else {
  let register = null;
  try {
    ({ register } = await import("tsx/esm/api"));
  } catch (e) {
    if (e?.code !== "ERR_MODULE_NOT_FOUND") throw e; // no tsx: see below; anything else is a real failure
  }
  if (register !== null) {
    register();
    await import(sources.href);
  } else {
    const src = fileURLToPath(new URL("../src/", import.meta.url));
    if (!existsSync(built)) fail("this checkout runs its sources through tsx, which is not installed: run npm ci (or npm run build)");
    if (newest(src) > statSync(built).mtimeMs) {
      fail("dist/ is older than src/ and tsx is not installed to run the sources: run npm ci, or npm run build");
    }
    await import(built.href);
  }
}
