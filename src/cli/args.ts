/**
 * A small, strict option parser for the `kdgrad` command: every option is
 * declared with its kind, unknown options and malformed values are a
 * UsageError (a one-line message, exit code 2), nothing is coerced silently.
 *
 * Numbers are written in decimal, nothing else:
 * - integer options (`int`, `ints`, layer sizes) take an optional `-` and
 *   digits, `8` or `-1`: no `+`, fraction, exponent, `0x`/`0b`/`0o` prefix,
 *   `_` separator or surrounding space (JavaScript's Number() would read
 *   `0x8`, ` 8` and `1e1` as 8, 8 and 10), and at most 2⁵³ − 1 in size, since
 *   a larger integer is not exact in a double (9007199254740993 would be read
 *   as …992);
 * - float options (`number`, `numbers`) take an optional sign, digits with an
 *   optional fraction, and an optional exponent: `4`, `0.5`, `.5`, `2.`,
 *   `-1.5`, `2e-3`, `1E+2`. No `Infinity`, `NaN`, hex or spaces; a value that
 *   overflows a double (`1e400`) is refused, one that underflows
 *   (`1e-400`) reaches the range checks as 0.
 */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export type OptionKind = "flag" | "string" | "number" | "int" | "numbers" | "ints" | "strings";

export interface OptionSpec {
  kind: OptionKind;
  help: string;
  /** Shown in help; the parser itself never fills defaults. */
  default?: string;
}

export type Parsed = Record<string, boolean | string | number | number[] | string[] | undefined>;

/** Parse `--name value`, `--name=value` and `--flag` against `spec`. */
export function parseOptions(argv: readonly string[], spec: Record<string, OptionSpec>, command: string): Parsed {
  const out: Parsed = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--")) throw new UsageError(`kdgrad ${command}: unexpected argument '${arg}' (options start with --)`);
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const s = Object.hasOwn(spec, name) ? spec[name] : undefined; // a name from argv: never a prototype member
    if (!s) throw new UsageError(`kdgrad ${command}: unknown option --${name} (see kdgrad ${command} --help)`);
    if (Object.hasOwn(out, name)) throw new UsageError(`kdgrad ${command}: --${name} given twice`);
    if (s.kind === "flag") {
      if (eq >= 0) throw new UsageError(`kdgrad ${command}: --${name} takes no value`);
      out[name] = true;
      continue;
    }
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      if (i + 1 >= argv.length || argv[i + 1]!.startsWith("--")) throw new UsageError(`kdgrad ${command}: --${name} needs a value`);
      value = argv[++i]!;
    }
    out[name] = convert(value, s.kind, `--${name}`, command);
  }
  return out;
}

function convert(value: string, kind: OptionKind, name: string, command: string): number | string | number[] | string[] {
  const num = (v: string, integer: boolean): number => (integer ? parseInteger(v, name, command) : parseFloatText(v, name, command));
  switch (kind) {
    case "string":
      if (value === "") throw new UsageError(`kdgrad ${command}: ${name} must not be empty`);
      return value;
    case "number":
      return num(value, false);
    case "int":
      return num(value, true);
    case "numbers":
      return value.split(",").map((v) => num(v, false));
    case "ints":
      return value.split(",").map((v) => num(v, true));
    case "strings":
      return value.split(",").map((v) => {
        if (v === "") throw new UsageError(`kdgrad ${command}: ${name} has an empty entry in '${value}'`);
        return v;
      });
    default:
      throw new UsageError(`kdgrad ${command}: ${name} cannot be parsed`);
  }
}

/** Usage text from the spec. */
export function helpText(command: string, summary: string, spec: Record<string, OptionSpec>): string {
  const rows = Object.entries(spec).map(([name, s]) => {
    const left = `  --${name}${s.kind === "flag" ? "" : ` <${s.kind}>`}`;
    return `${left.padEnd(30)} ${s.help}${s.default !== undefined ? ` (default ${s.default})` : ""}`;
  });
  return `kdgrad ${command}: ${summary}\n\nOptions:\n${rows.join("\n")}\n`;
}

const INTEGER = /^-?[0-9]+$/;
const FLOAT = /^[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$/;

/** A decimal integer of at most 2⁵³ − 1 in size (see the top of this file). */
export function parseInteger(v: string, name: string, command: string): number {
  if (!INTEGER.test(v)) throw new UsageError(`kdgrad ${command}: ${name} must be an integer, got '${v}'`);
  const n = Number(v);
  if (!Number.isSafeInteger(n)) {
    throw new UsageError(`kdgrad ${command}: ${name} must be an integer of at most ${Number.MAX_SAFE_INTEGER} in size (2^53 − 1, beyond which integers are not exact), got '${v}'`);
  }
  return n;
}

/** A finite decimal number, optionally with an exponent (see the top of this file). */
export function parseFloatText(v: string, name: string, command: string): number {
  const n = Number(v);
  if (!FLOAT.test(v) || !Number.isFinite(n)) throw new UsageError(`kdgrad ${command}: ${name} must be a number, got '${v}'`);
  return n;
}

/** An architecture such as "64-256-256-10": decimal layer sizes ≥ 1, joined by "-". */
export function parseSizes(value: string, name: string, command: string): number[] {
  const texts = value.split("-");
  if (texts.length < 2 || texts.some((d) => !/^[0-9]+$/.test(d) || !Number.isSafeInteger(Number(d)) || Number(d) < 1)) {
    throw new UsageError(`kdgrad ${command}: ${name} must look like 64-16-10 (positive decimal layer sizes), got '${value}'`);
  }
  return texts.map(Number);
}
