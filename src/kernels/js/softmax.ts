import type { SoftmaxKernels } from "../table.js";
import { logSoftmaxBackward, logSoftmaxForward, softmaxBackward, softmaxForward } from "./softmax-rows.js";

/** The softmax family along lanes, float64 accumulation (softmax-rows.ts has the loops and their bounds). */
export const softmax: SoftmaxKernels = {
  softmax: (x, l, y) => softmaxForward(x, y, l.outer, l.length, l.inner),
  logSoftmax: (x, l, y) => logSoftmaxForward(x, y, l.outer, l.length, l.inner),
  softmaxBackward: (p, g, l, dx) => softmaxBackward(p, g, dx, l.outer, l.length, l.inner),
  logSoftmaxBackward: (y, g, l, dx) => logSoftmaxBackward(y, g, dx, l.outer, l.length, l.inner),
};
