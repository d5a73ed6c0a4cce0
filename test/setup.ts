import fc from "fast-check";
import { setBackend, type Backend } from "../src/index.js";
import { setMinWork } from "../src/kernels/registry.js";

// FC_NUM_RUNS=1000 npm test runs every property that many times (a stress run).
// Properties that set their own numRuns keep it.
if (process.env.FC_NUM_RUNS) fc.configureGlobal({ numRuns: Number(process.env.FC_NUM_RUNS) });

// The per-backend projects (vitest.config.ts) name their backend. It must be available here
// (setBackend throws otherwise, failing the project rather than silently testing "js"), and
// it takes every float32 call however small, so small test inputs exercise its kernels too.
const backend = process.env.KDGRAD_BACKEND as Backend | undefined;
if (backend !== undefined) {
  setBackend(backend);
  if (backend !== "js") setMinWork(backend, 0);
}
