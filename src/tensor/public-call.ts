/**
 * The public function the user called, for a refusal raised deep inside it.
 *
 * Most arguments are checked by the public function itself, which passes its own name to the
 * shared checkers (`checkShape(shape, "zeros")`). One refusal cannot be checked that way: an op
 * whose output would exceed MAX_ELEMENTS (a broadcast of [1e5, 1] with [1, 1e5], a matmul
 * [1e5, 1] · [1, 1e5]) learns its size only where it allocates, often in a helper shared by
 * every op. So `defineOp` and `defineComposite` record their name here on entry, the outermost
 * call only (linear runs matmul inside; the user called linear), and `Tensor.empty` names it.
 * Calls are synchronous, so a module variable restored on exit is exact.
 */
let current: string | null = null;

/** Run `body` as the public function `fn` (unless an outer public call is already recorded). */
export function asPublicCall<T>(fn: string, body: () => T): T {
  if (current !== null) return body();
  current = fn;
  try {
    return body();
  } finally {
    current = null;
  }
}

/** The outermost public function running now, or `fallback` when none is recorded. */
export function publicName(fallback: string): string {
  return current ?? fallback;
}
