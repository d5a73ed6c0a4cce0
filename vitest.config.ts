import { defaultServerConditions } from "vite";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // `import … from "kdgrad"` (examples/readme.ts, test/runtimes/smoke.ts) resolves to src/ through
  // the package's "kdgrad-source" export condition, so the tests need no build (docs/runtimes.md).
  ssr: { resolve: { conditions: ["kdgrad-source", ...defaultServerConditions] } },
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["test/setup.ts"],
    testTimeout: 60_000,
    pool: "threads",
    maxWorkers: 2,
  },
});
