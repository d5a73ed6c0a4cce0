import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { randomBytes } from "node:crypto";
import { FileError } from "../tensor/errors.js";

/** The path as a string, for messages and for node:fs (a file: URL becomes its path). */
export function pathText(path: string | URL): string {
  return path instanceof URL ? decodeURIComponent(path.pathname) : path;
}

/**
 * Write `data` to `path` so that `path` holds either its old content or all
 * of the new one, never a part: write a temporary file in the same
 * directory (`${path}.tmp-${pid}-${random}`), fsync it so its bytes are on
 * disk, rename it over `path` (atomic within one file system on POSIX), and
 * fsync the directory so the rename itself is durable (skipped where a
 * directory cannot be opened, as on Windows). On any failure the temporary
 * file is removed and a FileError naming the path is thrown; the target is
 * untouched. A string is written as UTF-8.
 */
export function writeFileAtomic(path: string | URL, data: string | Uint8Array): void {
  const target = pathText(path);
  const tmp = `${target}.tmp-${process.pid}-${randomBytes(6).toString("hex")}`;
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
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
    throw new FileError(`writeFileAtomic: cannot write ${JSON.stringify(target)}: ${describe(e)}`);
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
  const p = pathText(path);
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
