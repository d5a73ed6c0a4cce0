import type { Module } from "./module.js";

/**
 * The number of scalar parameters of a module (each shared tensor counted
 * once). mlp([64, 256, 256, 10]) has 64·256 + 256 + 256·256 + 256 + 256·10 + 10 = 85,002.
 */
export function countParameters(module: Module): number {
  let n = 0;
  for (const p of module.parameters()) n += p.size;
  return n;
}
