import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { FormatError } from "../tensor/errors.js";
import { digitsAs, type Digits } from "../data/digits.js";
import { checkPath, pathText, readFileBytes } from "./files.js";

const FILES = ["digits_x.u8", "digits_y.u8", "split.json"] as const;

/** data/digits/ of this package, found from this module's URL (works from any working directory). */
export const DEFAULT_DIGITS_DIR = fileURLToPath(new URL("../../data/digits/", import.meta.url));

/**
 * Load the vendored digits data set (data/digits/README.md): read its three
 * files from `dir`, check each against the SHA-256 listed in SHA256SUMS (a
 * FormatError naming the file on a mismatch, so a corrupted or edited copy
 * is never used silently), then build the splits with digitsFromBytes.
 * FileError if a file is missing.
 *
 * @example const { train, test, train_10pct } = loadDigits();
 */
export function loadDigits(dir: string | URL = DEFAULT_DIGITS_DIR): Digits {
  checkPath(dir, "loadDigits");
  const base = dir instanceof URL ? fileURLToPath(dir) : dir;
  const sums = parseSums(new TextDecoder().decode(readFileBytes(join(base, "SHA256SUMS"), "loadDigits")), join(base, "SHA256SUMS"));
  const bytes = new Map<string, Uint8Array>();
  for (const name of FILES) {
    const path = join(base, name);
    const b = readFileBytes(path, "loadDigits");
    const expected = sums.get(name);
    if (expected === undefined) throw new FormatError(`loadDigits: SHA256SUMS in ${JSON.stringify(base)} lists no checksum for ${name}`);
    const actual = createHash("sha256").update(b).digest("hex");
    if (actual !== expected) {
      throw new FormatError(`loadDigits: ${JSON.stringify(pathText(path))} has SHA-256 ${actual} but SHA256SUMS says ${expected}; the file is corrupted or modified`);
    }
    bytes.set(name, b);
  }
  let split: unknown;
  try {
    split = JSON.parse(new TextDecoder().decode(bytes.get("split.json")!));
  } catch (e) {
    throw new FormatError(`loadDigits: split.json is not valid JSON (${(e as Error).message})`);
  }
  return digitsAs({ x: bytes.get("digits_x.u8")!, y: bytes.get("digits_y.u8")!, split }, "loadDigits");
}

/** `sha256sum` output: "<64 hex digits>  <name>" per line ("*" before the name in binary mode). */
function parseSums(text: string, path: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === "") continue;
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line.trim());
    if (m === null) throw new FormatError(`loadDigits: cannot read the line ${JSON.stringify(line)} of ${JSON.stringify(path)}`);
    sums.set(m[2]!, m[1]!);
  }
  return sums;
}
