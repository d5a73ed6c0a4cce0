import type { KernelTable } from "../table.js";
import { elementwise } from "./elementwise.js";
import { reduce } from "./reduce.js";
import { copy } from "./copy.js";
import { matmul } from "./matmul.js";
import { softmax } from "./softmax.js";
import { losses } from "./losses.js";
import { divergences } from "./divergences.js";
import { optim } from "./optim.js";

/**
 * The TypeScript backend: every kernel of the table, in plain loops that run
 * in any JavaScript engine. Typed as the whole `KernelTable`, so a family
 * that forgets an entry does not compile.
 */
export const jsKernels: KernelTable = { ...elementwise, ...reduce, ...copy, ...matmul, ...softmax, ...losses, ...divergences, ...optim };
