import type { Storage } from "../../tensor/dtype.js";
import { getBackend } from "../backend.js";

/**
 * Whether a softmax-family call goes to the WebAssembly row kernels: float32
 * data, the reduced axis last (contiguous rows), rows long enough to be worth
 * the copy in and out, and the wasm backend selected.
 */
export function useWasmRows(data: Storage, inner: number, length: number): boolean {
  return data instanceof Float32Array && inner === 1 && length >= 16 && data.length >= 1024 && getBackend() === "wasm";
}
