#!/usr/bin/env node
// The `kdgrad` command. Runs the compiled CLI from dist/ when the package has
// been built (`npm run build`), and the TypeScript sources through tsx in a
// development checkout.
import { existsSync } from "node:fs";

const built = new URL("../dist/cli/run.js", import.meta.url);
if (existsSync(built)) {
  await import(built.href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import(new URL("../src/cli/run.ts", import.meta.url).href);
}
