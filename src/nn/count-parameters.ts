import { Module } from "./module.js";
import { ValueError } from "../tensor/errors.js";
import { describeValue } from "../tensor/shape.js";

/**
 * The number of scalar parameters of a module (each shared tensor counted
 * once). mlp([64, 256, 256, 10]) has 64·256 + 256 + 256·256 + 256 + 256·10 + 10 = 85,002.
 */
export function countParameters(module: Module): number {
  if (!(module instanceof Module)) throw new ValueError(`countParameters: module must be a Module, got ${describeValue(module)}`);
  let n = 0;
  for (const p of module.parameters()) n += p.size;
  return n;
}
