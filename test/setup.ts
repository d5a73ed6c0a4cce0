import fc from "fast-check";
import type { Backend } from "../src/index.js";

// FC_NUM_RUNS=1000 npm test runs every property that many times (a stress run).
// Properties that set their own numRuns keep it.
if (process.env.FC_NUM_RUNS) fc.configureGlobal({ numRuns: Number(process.env.FC_NUM_RUNS) });

// The per-backend projects (vitest.config.ts) name their backend. It must be available here
// (setBackend throws otherwise, failing the project rather than silently testing "js"), and
// it takes every float32 call however small, so small test inputs exercise its kernels too.
// Files run once (no KDGRAD_BACKEND) do not load the library here: many never import it.
const backend = process.env.KDGRAD_BACKEND as Backend | undefined;
if (backend !== undefined) {
  const { setBackend } = await import("../src/index.js");
  const { setMinWork } = await import("../src/kernels/registry.js");
  setBackend(backend);
  if (backend !== "js") setMinWork(backend, 0);
}
