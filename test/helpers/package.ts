/**
 * The package as a user gets it, made in a temporary directory so that the
 * checkout's dist/ is never touched (bin/kdgrad.js prefers dist/ when it
 * exists): copy the checkout, build into the copy, `npm pack` it, and
 * install the tarball into an empty project. Used by test/package.test.ts
 * and by the runtime matrix (test/runtimes/run.ts).
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, writeFileSync } from "node:fs";
import { basename, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** What `npm pack --json` says about one tarball. */
export interface PackResult {
  /** The tarball's absolute path. */
  tarball: string;
  /** The packed files, relative to the package root. */
  files: string[];
  /** Sizes in bytes: the gzipped tarball and the files unpacked. */
  size: number;
  unpackedSize: number;
}

/** Directory names never copied from the checkout: installed, generated or version-control files. */
const SKIP = new Set(["node_modules", ".git", "dist"]);

/**
 * Copy the checkout (everything but node_modules, .git and dist) into
 * `work`/stage, build the checkout's sources into stage/dist with
 * scripts/build.mjs, and `npm pack` the stage into `work`. The copy keeps tests, benchmarks and sources, so the pack shows
 * what `files` really leaves out.
 */
export function packPackage(work: string): PackResult {
  const stage = join(work, "stage");
  cpSync(ROOT, stage, {
    recursive: true,
    filter: (src) => {
      const rel = relative(ROOT, src);
      return rel === "" || !SKIP.has(rel.split(sep)[0]!);
    },
  });
  execFileSync(process.execPath, [join(ROOT, "scripts", "build.mjs"), "--out", join(stage, "dist")], { cwd: ROOT, stdio: "pipe" });
  // --ignore-scripts: the prepack script would only build again.
  const out = execFileSync("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", work], {
    cwd: stage,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  const [info] = JSON.parse(out) as { filename: string; files: { path: string }[]; size: number; unpackedSize: number }[];
  return {
    tarball: join(work, basename(info!.filename)),
    files: info!.files.map((f) => f.path),
    size: info!.size,
    unpackedSize: info!.unpackedSize,
  };
}

/**
 * An empty ESM project at `dir` with the tarball installed (offline: kdgrad
 * has no dependencies), as `npm install kdgrad` would leave it, bin link
 * included. Returns `dir`.
 */
export function installPackage(tarball: string, dir: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }, null, 2));
  execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", tarball], {
    cwd: dir,
    stdio: "pipe",
  });
  return dir;
}
