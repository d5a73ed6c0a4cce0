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
 *   run; the message names the key and the allowed ones.
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
  // The allowed keys as text only for a message: every options object is checked, on hot paths too.
  if (options === null || typeof options !== "object" || Array.isArray(options) || !isPlain(options)) {
    throw new ValueError(`${fn}: ${what} must be an object with keys among ${allowed.join(", ")}, got ${describeValue(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!(allowed as readonly string[]).includes(key)) throw new ValueError(`${fn}: unknown key ${JSON.stringify(key)} in ${what} (allowed: ${allowed.join(", ")})`);
    if ((options as Record<string, unknown>)[key] === null) {
      throw new ValueError(`${fn}: ${what}.${key} is null; leave it out for the default`);
    }
  }
  return options;
}

function isPlain(o: object): boolean {
  const proto = Object.getPrototypeOf(o) as unknown;
  return proto === Object.prototype || proto === null;
}
