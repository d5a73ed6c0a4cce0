import { ValueError } from "./errors.js";
import { describeValue } from "./shape.js";

/**
 * The options argument of a public function (`zeros(shape, { dtype })`, `new Adam(params, { lr })`),
 * checked in one place, so that every function refuses the same mistakes with the same words:
 *
 * - Absent (`undefined`) means no options: `{}` is returned.
 * - Otherwise it must be a plain object (`{ … }`, or one made by `Object.create(null)`): not null,
 *   a number, a string, a list, a function, a Tensor or another class's instance. Passing the
 *   value where the object belongs (`rand([2], generator)` for `rand([2], { generator })`) is
 *   refused instead of being read as "no options".
 * - Every own key must be one of `allowed`. A misspelt key (`{ temprature: 2 }`) would otherwise be
 *   ignored and the default used without a word, which is the mistake hardest to find in a training
 *   run; the message names the key, the nearest allowed one when it is a likely typo, and the list.
 *   A key such as "__proto__" or "constructor" (from JSON.parse or a file) is an ordinary unknown key.
 * - No value may be null. JavaScript's "absent" is `undefined` (a key left out, or set to
 *   undefined); null is a value, and reading it as the default (`{ dtype: null }` → float32)
 *   would be a silent coercion. Each function checks the values themselves.
 *
 * Every error is a ValueError naming `fn`, the function the user called. `what` names the object
 * in messages when it is not an options object (defineOp's "spec").
 *
 * @example const { dtype = "float32" } = checkOptions(options, "zeros", ["dtype", "requiresGrad"]);
 */
export function checkOptions<T extends object>(
  options: T | undefined, fn: string, allowed: readonly (keyof T & string)[], what = "options",
): T {
  if (options === undefined) return {} as T;
  if (options === null || typeof options !== "object" || Array.isArray(options) || !isPlain(options)) {
    throw new ValueError(`${fn}: ${what} must be an object with keys among ${list(allowed)}, got ${describeValue(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!(allowed as readonly string[]).includes(key)) {
      const near = nearest(key, allowed);
      throw new ValueError(
        `${fn}: unknown ${what === "options" ? "option" : `${what} key`} ${JSON.stringify(key)}${near === null ? "" : ` (did you mean ${JSON.stringify(near)}?)`}; the ${what === "options" ? "options" : "keys"} are ${list(allowed)}`,
      );
    }
    if ((options as Record<string, unknown>)[key] === null) {
      throw new ValueError(`${fn}: ${what === "options" ? "option" : `${what} key`} ${key} is null; leave it out (or pass undefined) for its default`);
    }
  }
  return options;
}

function isPlain(o: object): boolean {
  const proto = Object.getPrototypeOf(o) as unknown;
  return proto === Object.prototype || proto === null;
}

function list(allowed: readonly string[]): string {
  return allowed.length === 0 ? "(none)" : allowed.join(", ");
}

/**
 * The allowed key a typo most likely meant: the one at the smallest edit distance (Levenshtein,
 * case-insensitive), if that distance is at most 2 and less than half the key's length, else null.
 * Check: "temprature" → "temperature" (one insertion); "lr" → none among ["momentum"].
 */
function nearest(key: string, allowed: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const a of allowed) {
    const d = editDistance(key.toLowerCase(), a.toLowerCase());
    if (d < bestDistance) {
      best = a;
      bestDistance = d;
    }
  }
  return bestDistance <= 2 && bestDistance < key.length / 2 ? best : null;
}

/** Levenshtein distance by the two-row dynamic programme: O(|a|·|b|) time, O(|b|) memory. */
function editDistance(a: string, b: string): number {
  if (a.length > 64 || b.length > 64) return Infinity;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}
