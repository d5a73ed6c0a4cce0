import {
  closeSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join, parse, resolve, sep } from "node:path";
import { randomBytes } from "node:crypto";
import { FileError, ValueError } from "../tensor/errors.js";
import { describeValue } from "../tensor/shape.js";

/** The path as a string, for messages and for node:fs (a file: URL becomes its path). */
export function pathText(path: string | URL): string {
  return path instanceof URL ? decodeURIComponent(path.pathname) : path;
}

/**
 * A path argument of a public function: a non-empty string or a file: URL, as a string (a
 * ValueError naming `fn` otherwise, rather than node:fs's TypeError, or a FileError about "").
 */
export function checkPath(path: unknown, fn: string): string {
  if (path instanceof URL) {
    if (path.protocol !== "file:") throw new ValueError(`${fn}: a URL path must be a file: URL, got ${path.protocol}`);
    return pathText(path);
  }
  if (typeof path !== "string" || path === "") throw new ValueError(`${fn}: path must be a non-empty string or a file: URL, got ${describeValue(path)}`);
  return path;
}

/**
 * Write `data` to `path` so that `path` holds either its old content or all
 * of the new one, never a part: write a temporary file in the same
 * directory (`${path}.tmp-${pid}-${random}`), fsync it so its bytes are on
 * disk, rename it over `path` (atomic within one file system on POSIX), and
 * fsync the directory so the rename itself is durable (skipped where a
 * directory cannot be opened, as on Windows). On any failure the temporary
 * file is removed and a FileError naming the path is thrown; the target is
 * untouched. A string is written as UTF-8; a typed array (or other ArrayBufferView) as its bytes,
 * all of them (a Float32Array of 3 values is 12 bytes).
 *
 * A process killed mid-write (SIGKILL, power loss) cannot remove its
 * temporary file; the next write of the same path does (see
 * removeStaleTemporaries), leaving alone those of writers still running.
 */
export function writeFileAtomic(path: string | URL, data: string | ArrayBufferView): void {
  writeAtomic(path, data, "writeFileAtomic");
}

/** writeFileAtomic's body; `fn` is the public function the user called (writeFileAtomic, saveNpy, …). */
export function writeAtomic(path: string | URL, data: string | ArrayBufferView, fn: string): void {
  const target = checkPath(path, fn);
  let bytes: Uint8Array;
  if (typeof data === "string") bytes = Buffer.from(data, "utf8");
  else if (ArrayBuffer.isView(data)) bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  else throw new ValueError(`${fn}: data must be a string or bytes (a Uint8Array or another typed array), got ${describeValue(data)}`);
  removeStaleTemporaries(target);
  const tmp = temporaryName(target, "tmp");
  let fd: number | null = null;
  try {
    fd = openSync(tmp, "wx", 0o644);
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(tmp, target);
  } catch (e) {
    if (fd !== null) {
      try {
        closeSync(fd);
      } catch {
        // already failing; the original error is the one to report
      }
    }
    try {
      unlinkSync(tmp);
    } catch {
      // the temporary file was never created
    }
    throw new FileError(`${fn}: cannot write ${JSON.stringify(target)}: ${describe(e)}`);
  }
  syncDirectory(dirname(target));
}

function syncDirectory(dir: string): void {
  let fd: number | null = null;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // Not supported on this platform (e.g. Windows); the rename is done regardless.
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/** The bytes of a file; FileError naming `fn` and the path if it is missing or unreadable. */
export function readFileBytes(path: string | URL, fn: string): Uint8Array {
  const p = checkPath(path, fn);
  try {
    const b = readFileSync(p);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    throw new FileError(`${fn}: cannot read ${JSON.stringify(p)}: ${describe(e)}`);
  }
}

function describe(e: unknown): string {
  const err = e as { code?: string; message?: string };
  if (err?.code === "ENOENT") return "no such file or directory";
  if (err?.code === "EACCES" || err?.code === "EPERM") return "permission denied";
  if (err?.code === "EISDIR") return "it is a directory";
  return err?.message ?? String(e);
}

/** `${target}.${kind}-${pid}-${12 hex digits}`: a sibling of the target, so a rename to it stays on one file system. */
function temporaryName(target: string, kind: "tmp" | "old"): string {
  return `${target}.${kind}-${process.pid}-${randomBytes(6).toString("hex")}`;
}

/**
 * How old a temporary may get before it is removed even though a process with its PID is
 * alive. A writer touches its temporary continually until the final rename, and the rename
 * follows the last write at once, so an hour without a change means a dead writer whose PID
 * has been reused.
 */
export const STALE_AFTER_MS = 60 * 60 * 1000;

/**
 * Remove what killed writers of `target` left beside it: entries named
 * `${basename(target)}.tmp-PID-HEX` or `.old-PID-HEX` (files, or directories from
 * OutputDirectory) whose PID is no live process on this machine, or that nobody has
 * changed for STALE_AFTER_MS. A live writer's temporary is never touched, so two processes
 * may write the same path at once (the last rename wins, whole). Writers on other machines
 * sharing the directory are told apart by PID only, so they are protected only for
 * STALE_AFTER_MS. Best effort: an entry that cannot be inspected or removed is left.
 */
export function removeStaleTemporaries(target: string, now = Date.now()): string[] {
  const dir = dirname(target);
  const prefix = `${basename(target)}.`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(?:tmp|old)-([0-9]+)-[0-9a-f]{12}$/.exec(name.slice(prefix.length));
    if (m === null) continue;
    const path = join(dir, name);
    try {
      const age = now - lstatSync(path).mtimeMs;
      if (processAlive(Number(m[1])) && age < STALE_AFTER_MS) continue;
      rmSync(path, { recursive: true, force: true });
      removed.push(path);
    } catch {
      // raced with its owner or another cleaner, or not ours to remove: leave it
    }
  }
  return removed;
}

/** Whether a process with this PID exists on this machine (signal 0 checks without sending). */
function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === "EPERM"; // it exists, but belongs to someone else
  }
}

/**
 * Create `dir` and its missing parents, one level at a time, each with a plain (not
 * recursive) mkdir. Node's recursive mkdir retries a parent that reports ENOENT while
 * existing, so under /proc it never returns; here each missing level is made once, at
 * most as many mkdirs as the path has components, and the first failure is a FileError
 * naming `fn`, the directory and the reason. A path component that is a file is
 * reported as such.
 */
export function makeDirectory(dir: string, fn: string): void {
  const missing: string[] = [];
  let p = resolve(dir);
  const root = parse(p).root;
  for (;;) {
    let isDir: boolean | null = null;
    try {
      isDir = statSync(p).isDirectory();
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === "ENOTDIR") throw new FileError(`${fn}: cannot create ${JSON.stringify(dir)}: a parent of ${JSON.stringify(p)} is a file, not a directory`);
      if (code !== "ENOENT") throw new FileError(`${fn}: cannot create ${JSON.stringify(dir)}: ${JSON.stringify(p)}: ${describe(e)}`);
    }
    if (isDir === false) throw new FileError(`${fn}: cannot create ${JSON.stringify(dir)}: ${JSON.stringify(p)} is a file, not a directory`);
    if (isDir === true) break;
    if (p === root) throw new FileError(`${fn}: cannot create ${JSON.stringify(dir)}: the root ${JSON.stringify(root)} does not exist`);
    missing.push(p);
    p = dirname(p);
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d);
    } catch (e) {
      if ((e as { code?: string }).code === "EEXIST" && isDirectory(d)) continue; // made by a concurrent writer
      throw new FileError(`${fn}: cannot create the directory ${JSON.stringify(d)}: ${describe(e)}`);
    }
  }
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * A directory written as a whole: files go into a staging directory beside the target
 * (`${target}.tmp-PID-HEX`), and commit() renames it into place, so that `target` holds
 * either everything it held before or everything written here, never a mix.
 *
 * - open() checks the target before any work is done: it creates the missing parents,
 *   creates the staging directory and a probe file in it (so an unwritable place, a path
 *   under a file or under /proc fails at once, with a FileError), and refuses a target
 *   that is not a directory, or that holds an entry `replaceable` rejects (the caller's
 *   own earlier output may be replaced; anything else the user keeps there may not).
 * - commit() fsyncs the staging directory, moves an existing target aside
 *   (`${target}.old-PID-HEX`), renames the staging directory into place, fsyncs the
 *   parent and removes the old copy. A kill between the two renames leaves no target but
 *   both complete copies beside it; the next open() of the same target removes them
 *   (removeStaleTemporaries), as it removes the staging directories of killed runs.
 * - abort() removes the staging directory.
 */
export class OutputDirectory {
  private done = false;

  private constructor(readonly target: string, readonly staging: string, private readonly fn: string) {}

  static open(target: string, fn: string, replaceable: (name: string) => boolean): OutputDirectory {
    const path = resolve(target);
    const cwd = process.cwd();
    if (cwd === path || cwd.startsWith(path.endsWith(sep) ? path : `${path}${sep}`)) {
      throw new FileError(`${fn}: ${JSON.stringify(target)} is the working directory or one of its parents; give a directory of its own`);
    }
    let existing: string[] | null = null;
    try {
      const st = lstatSync(path);
      if (st.isSymbolicLink()) throw new FileError(`${fn}: ${JSON.stringify(target)} is a symbolic link; give the directory it points to, or a new path`);
      if (!st.isDirectory()) throw new FileError(`${fn}: ${JSON.stringify(target)} exists and is a file, not a directory`);
      existing = readdirSync(path);
    } catch (e) {
      if (e instanceof FileError) throw e;
      const code = (e as { code?: string }).code;
      if (code === "ENOTDIR") throw new FileError(`${fn}: ${JSON.stringify(target)} lies under a file, not a directory`);
      if (code !== "ENOENT") throw new FileError(`${fn}: cannot use ${JSON.stringify(target)}: ${describe(e)}`);
    }
    const foreign = (existing ?? []).filter((name) => !replaceable(name));
    if (foreign.length > 0) {
      const shown = foreign.slice(0, 3).map((n) => JSON.stringify(n)).join(", ") + (foreign.length > 3 ? ", …" : "");
      throw new FileError(`${fn}: ${JSON.stringify(target)} holds ${shown}, which this command does not write; give a new or empty directory, or one an earlier run wrote (it is replaced as a whole)`);
    }
    makeDirectory(dirname(path), fn);
    removeStaleTemporaries(path);
    const staging = temporaryName(path, "tmp");
    try {
      mkdirSync(staging);
    } catch (e) {
      throw new FileError(`${fn}: cannot write in ${JSON.stringify(dirname(path))}: ${describe(e)}`);
    }
    const out = new OutputDirectory(path, staging, fn);
    try {
      out.writeFile(".probe", "probe\n");
      unlinkSync(join(staging, ".probe"));
    } catch (e) {
      out.abort();
      throw new FileError(`${fn}: cannot write files in ${JSON.stringify(dirname(path))}: ${e instanceof FileError ? e.message : describe(e)}`);
    }
    return out;
  }

  /** Write one file of the directory (durably: fsync before the commit's rename). */
  writeFile(name: string, data: string | Uint8Array): void {
    if (this.done) throw new FileError(`${this.fn}: ${JSON.stringify(this.target)} is already written`);
    if (name.includes("/") || name.includes("\\") || name === "" || name === "." || name === "..") {
      throw new FileError(`${this.fn}: ${JSON.stringify(name)} is not a plain file name`);
    }
    const path = join(this.staging, name);
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    let fd: number | null = null;
    try {
      fd = openSync(path, "wx", 0o644);
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
      fsyncSync(fd);
    } catch (e) {
      throw new FileError(`${this.fn}: cannot write ${JSON.stringify(join(this.target, name))}: ${describe(e)}`);
    } finally {
      if (fd !== null) closeSync(fd);
    }
  }

  /** Put the staging directory in the target's place. */
  commit(): void {
    if (this.done) throw new FileError(`${this.fn}: ${JSON.stringify(this.target)} is already written`);
    this.done = true;
    syncDirectory(this.staging);
    let old: string | null = null;
    try {
      if (existsDirectory(this.target)) {
        old = temporaryName(this.target, "old");
        renameSync(this.target, old);
      }
      renameSync(this.staging, this.target);
    } catch (e) {
      if (old !== null && !existsDirectory(this.target)) {
        try {
          renameSync(old, this.target);
          old = null;
        } catch {
          // leave the old copy beside the target; the next open() removes it
        }
      }
      rmSync(this.staging, { recursive: true, force: true });
      throw new FileError(`${this.fn}: cannot put ${JSON.stringify(this.target)} in place: ${describe(e)}`);
    }
    syncDirectory(dirname(this.target));
    if (old !== null) rmSync(old, { recursive: true, force: true });
  }

  /** Give up: remove the staging directory; the target is untouched. */
  abort(): void {
    if (this.done) return;
    this.done = true;
    rmSync(this.staging, { recursive: true, force: true });
  }
}

function existsDirectory(p: string): boolean {
  try {
    return lstatSync(p).isDirectory();
  } catch {
    return false;
  }
}
