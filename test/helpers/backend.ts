import { getBackend, type Backend } from "../../src/index.js";

/**
 * The backend this test file runs under. The op, loss, kernel, nn and optim
 * tests run once per registered backend (the vitest projects in
 * vitest.config.ts set KDGRAD_BACKEND, and test/setup.ts selects it, with
 * every float32 call of any size sent to it); other files run once, under
 * the backend kdgrad chooses by itself.
 */
export function projectBackend(): Backend {
  return (process.env.KDGRAD_BACKEND as Backend | undefined) ?? getBackend();
}

/**
 * The backends a file that switches backends itself should visit: the
 * project's only, so a file run once per backend does not repeat the other
 * project's work.
 */
export function projectBackends(): Backend[] {
  return [projectBackend()];
}
