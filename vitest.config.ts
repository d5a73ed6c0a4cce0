import { defaultServerConditions } from "vite";
import { defineConfig } from "vitest/config";
import { backendNames } from "./src/kernels/registry.js";

/**
 * The tests of what a backend computes run once per registered backend
 * (src/kernels/registry.ts): KDGRAD_BACKEND names it, test/setup.ts selects
 * it and sends every float32 call of any size to it. Everything else runs
 * once. all-ops and the autograd tests run once because they are float64
 * (gradchecks) and no backend but "js" takes a float64 call, so a second run
 * would execute the same TypeScript kernels (test/registry.test.ts checks
 * that premise); CLI, package, bench, runtimes, io, data and tensor
 * tests do not depend on the backend's kernels.
 */
const perBackend = [
  "test/ops/**/*.test.ts",
  "test/losses/**/*.test.ts",
  "test/kernels/**/*.test.ts",
  "test/nn/**/*.test.ts",
  "test/optim/**/*.test.ts",
  "test/non-finite.test.ts",
];

export default defineConfig({
  // `import … from "kdgrad"` (examples/readme.ts, test/runtimes/smoke.ts) resolves to src/ through
  // the package's "kdgrad-source" export condition, so the tests need no build (docs/runtimes.md).
  ssr: { resolve: { conditions: ["kdgrad-source", ...defaultServerConditions] } },
  test: {
    setupFiles: ["test/setup.ts"],
    testTimeout: 60_000,
    pool: "threads",
    maxWorkers: 2,
    projects: [
      ...backendNames().map((backend) => ({
        extends: true as const,
        test: { name: backend, include: perBackend, env: { KDGRAD_BACKEND: backend } },
      })),
      { extends: true as const, test: { name: "once", include: ["test/**/*.test.ts"], exclude: perBackend } },
    ],
  },
});
