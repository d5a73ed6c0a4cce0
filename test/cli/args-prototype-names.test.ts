import { expect, test } from "vitest";
import { UsageError, parseOptions } from "../../src/cli/args.js";

test("an option named like an Object.prototype member is an unknown option, not a crash or a 'given twice'", () => {
  const spec = { n: { kind: "int" as const, help: "n" } };
  for (const name of ["constructor", "toString", "__proto__", "hasOwnProperty"]) {
    expect(() => parseOptions([`--${name}`, "1"], spec, "t"), name).toThrow(UsageError);
    expect(() => parseOptions([`--${name}`, "1"], spec, "t"), name).toThrow(`kdgrad t: unknown option --${name} (see kdgrad t --help)`);
  }
  expect(parseOptions(["--n", "3"], spec, "t")).toEqual({ n: 3 });
});
