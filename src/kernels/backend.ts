import { ValueError } from "../tensor/errors.js";
import { wasmKernels } from "./wasm/backend.js";

/**
 * Which kernels run the hot loops of float32 work: "wasm" (WebAssembly
 * SIMD, chosen automatically where the runtime can compile it) or "js" (the
 * plain TypeScript kernels, always available). float64 work always uses the
 * TypeScript kernels with Math.exp, so gradchecks and golden tests keep
 * full precision.
 */
export type Backend = "wasm" | "js";

let chosen: Backend | null = null;

/** The backend in use: the one set with setBackend, else "wasm" if it loads here, else "js". */
export function getBackend(): Backend {
  if (chosen === null) chosen = wasmKernels() !== null ? "wasm" : "js";
  return chosen;
}

/**
 * Choose the backend. "wasm" throws a ValueError where WebAssembly SIMD is
 * not available (QuickJS, old engines, a browser main thread refusing a
 * synchronous compile); "js" always works.
 */
export function setBackend(backend: Backend): void {
  if (backend !== "wasm" && backend !== "js") throw new ValueError(`setBackend: backend must be "wasm" or "js", got ${JSON.stringify(backend)}`);
  if (backend === "wasm" && wasmKernels() === null) {
    throw new ValueError("setBackend: WebAssembly SIMD is not available in this runtime; use \"js\"");
  }
  chosen = backend;
}

/**
 * Below this much work (elements, or multiply-adds for a product), copying
 * into WebAssembly memory and back costs more than the kernel saves.
 */
export const WASM_MIN_WORK = 4096;

/** Whether float32 work of this size goes to the WebAssembly kernels: the wasm backend and enough work. */
export function wasmFor(work: number): boolean {
  return work >= WASM_MIN_WORK && getBackend() === "wasm";
}

/** Whether WebAssembly SIMD kernels can run here. */
export function wasmAvailable(): boolean {
  return wasmKernels() !== null;
}
