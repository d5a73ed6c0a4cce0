import { readdirSync } from "node:fs";
import { defaultServerConditions } from "vite";
import { defineConfig } from "vitest/config";
import { backendNames } from "./src/kernels/registry.js";

/**
 * The tests of what a backend computes run once per registered backend
 * (src/kernels/registry.ts): KDGRAD_BACKEND names it, test/setup.ts selects
 * it and sends every float32 call of any size to it. Everything else runs
 * once. No backend but "js" takes a float64 call (test/registry.test.ts
 * checks it), so a file that computes only in float64 would run the same
 * TypeScript kernels twice: all-ops and the autograd tests (gradchecks), the
 * PyTorch golden vectors, the non-finite policy and the float64 second-order
 * checks run once. CLI, package, bench, runtimes, io, data and tensor tests
 * do not depend on the backend's kernels. The fuzz suite (test/fuzz) runs once
 * too: its backend: properties run every call under both backends themselves.
 */
const perBackendFolders = ["test/ops/", "test/losses/", "test/kernels/", "test/nn/", "test/optim/"];
/** Files in those folders that compute only in float64. */
const float64Only = [
  "test/ops/softmax-family.golden.test.ts", "test/ops/second-order.test.ts", "test/losses/golden.test.ts", "test/losses/golden-kd-divergences.test.ts",
  "test/losses/golden-kd-methods.test.ts", "test/losses/kd-methods.test.ts", "test/losses/golden-sparse.test.ts",
  "test/losses/golden-linear.test.ts",
];

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? testFiles(`${dir}/${e.name}`) : e.name.endsWith(".test.ts") ? [`${dir}/${e.name}`] : []);
}
// examples/testing/ holds property tests a user would write (docs/testing.md); they run as written.
const all = [...testFiles("test"), ...testFiles("examples/testing")];
for (const f of float64Only) if (!all.includes(f)) throw new Error(`vitest.config.ts: ${f} (listed as float64-only) does not exist`);
const perBackend = all.filter((f) => perBackendFolders.some((d) => f.startsWith(d)) && !float64Only.includes(f));
const once = all.filter((f) => !perBackend.includes(f));

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
      { extends: true as const, test: { name: "once", include: once } },
    ],
  },
});
