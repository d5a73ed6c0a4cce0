import { checkFunction } from "../tensor/shape.js";

let enabled = true;

/** Whether ops currently record the graph. */
export function isGradEnabled(): boolean {
  return enabled;
}

/**
 * Run `fn` without recording the graph: results do not require gradients
 * and nothing is saved for backward. Like `torch.no_grad()`. Nests, and
 * restores the previous mode even if `fn` throws.
 *
 * @example const teacherLogits = noGrad(() => teacher.forward(x));
 */
export function noGrad<T>(fn: () => T): T {
  checkFunction(fn, "noGrad", "fn");
  const previous = enabled;
  enabled = false;
  try {
    return fn();
  } finally {
    enabled = previous;
  }
}

/** Run `fn` with graph recording on, even inside `noGrad`. */
export function enableGrad<T>(fn: () => T): T {
  checkFunction(fn, "enableGrad", "fn");
  const previous = enabled;
  enabled = true;
  try {
    return fn();
  } finally {
    enabled = previous;
  }
}
