import type { Tensor } from "../tensor/tensor.js";
import { FormatError } from "../tensor/errors.js";
import { decodeNpy, encodeNpyAs } from "../io/npy.js";
import { checkPath, pathText, readFileBytes, writeAtomic } from "./files.js";

/** Write a tensor as a .npy file (what np.save writes), atomically. */
export function saveNpy(path: string | URL, t: Tensor): void {
  checkPath(path, "saveNpy");
  writeAtomic(path, encodeNpyAs(t, "saveNpy"), "saveNpy");
}

/** Read a .npy file. FileError if it cannot be read, FormatError (naming the path) if it is malformed or unsupported. */
export function loadNpy(path: string | URL): Tensor {
  const bytes = readFileBytes(path, "loadNpy");
  try {
    return decodeNpy(bytes);
  } catch (e) {
    if (e instanceof FormatError) throw new FormatError(`loadNpy: ${JSON.stringify(pathText(path))}: ${e.message}`);
    throw e;
  }
}
