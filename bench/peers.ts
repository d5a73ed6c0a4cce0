/**
 * The peers kdgrad is measured against, set up once per process:
 *
 * - TensorFlow.js 4 with its "cpu" backend (plain JavaScript kernels) and its
 *   "wasm" backend (XNNPACK, WebAssembly SIMD). In Node the wasm backend must
 *   be told where its .wasm files are (setWasmPaths). Node has no global
 *   Worker, so it runs single-threaded, like kdgrad.
 * - jax-js on its "wasm" device (kernels generated and fused by jit; also
 *   single-threaded in Node, where there is no global Worker).
 *
 * Both peers and kdgrad therefore use one core each: the comparison is of
 * kernels and framework overhead, not of thread counts.
 */
import * as tf from "@tensorflow/tfjs";
import { getThreadsCount, setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { defaultDevice, init } from "@jax-js/jax";

export type TfBackend = "cpu" | "wasm";

let tfLoaded: Promise<typeof tf> | null = null;

/** tfjs with both backends initialised (cpu is left current). */
export function loadTf(): Promise<typeof tf> {
  tfLoaded ??= (async () => {
    // Production mode: no debug checks, and no console banner about tfjs-node.
    tf.enableProdMode();
    setWasmPaths(new URL("../node_modules/@tensorflow/tfjs-backend-wasm/dist/", import.meta.url).pathname);
    for (const backend of ["wasm", "cpu"] as const) {
      if (!(await tf.setBackend(backend))) throw new Error(`tfjs: backend ${backend} failed to initialise`);
    }
    return tf;
  })();
  return tfLoaded;
}

/**
 * Make `backend` tfjs's current backend. Once both are initialised (loadTf),
 * tf.setBackend switches synchronously (its async body has no await left);
 * we check that it did. Tensors should be created under the backend that
 * will use them, or tfjs moves their data on first use.
 */
export function useTf(backend: TfBackend): void {
  if (tf.getBackend() === backend) return;
  void tf.setBackend(backend);
  if (tf.getBackend() !== backend) throw new Error(`tfjs: could not switch to the ${backend} backend synchronously`);
}

/** Threads used by the tfjs wasm backend (1 in Node). */
export function tfWasmThreads(): number {
  return getThreadsCount();
}

let jaxLoaded: Promise<void> | null = null;

/** jax-js with its wasm device as the default. */
export function loadJax(): Promise<void> {
  jaxLoaded ??= (async () => {
    const devices = await init("wasm");
    if (!devices.includes("wasm")) throw new Error(`jax-js: the wasm device did not initialise (got ${devices.join(", ")})`);
    defaultDevice("wasm");
  })();
  return jaxLoaded;
}
