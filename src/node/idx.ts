import { gunzipSync } from "node:zlib";
import type { Tensor } from "../tensor/tensor.js";
import { FormatError } from "../tensor/errors.js";
import { decodeIdxAs } from "../io/idx.js";
import { pathText, readFileBytes } from "./files.js";

/**
 * Read an IDX file (MNIST's format: src/io/idx.ts), as distributed (`train-images-idx3-ubyte`)
 * or gzipped (`train-images-idx3-ubyte.gz`, recognised by gzip's magic bytes 1F 8B, which no
 * IDX file starts with: its first two bytes are 0). FileError if it cannot be read,
 * FormatError naming the path if it is malformed (a corrupt gzip stream included).
 *
 * @example const labels = loadIdx("data/train-labels-idx1-ubyte"); // int32 [60000]
 */
export function loadIdx(path: string | URL): Tensor {
  const fn = "loadIdx";
  let bytes = readFileBytes(path, fn);
  try {
    if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
      try {
        bytes = new Uint8Array(gunzipSync(bytes));
      } catch (e) {
        throw new FormatError(`${fn}: the gzip stream is corrupt (${(e as Error).message})`);
      }
    }
    return decodeIdxAs(bytes, fn);
  } catch (e) {
    if (e instanceof FormatError) throw new FormatError(`${fn}: ${JSON.stringify(pathText(path))}: ${e.message.replace(/^loadIdx: /, "")}`);
    throw e;
  }
}
