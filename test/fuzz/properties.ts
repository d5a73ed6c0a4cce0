/**
 * The fuzz properties: for every row of the table, "api:<key>" (random calls
 * through the oracle, small shapes) and, for rows with numeric results,
 * "backend:<key>" (the same call under the "js" and "wasm" backends, with
 * shapes large enough to reach the WebAssembly kernels).
 */
import fc from "fast-check";
import { checkCall, compareBackends, describeCall, type Entry, type Failure } from "./calls.js";
import { ROWS, setCurrentRaw } from "./table.js";
import "./specials.js";
import { LARGE, SMALL, useProfileDtypes, type Arg } from "./values.js";

export interface PropertyDef {
  name: string;
  key: string;
  kind: "api" | "backend";
  /** Runs per FUZZ_RUNS unit: the backend comparison runs fewer (each call runs twice, on larger inputs). */
  weight: number;
}

export function propertyDefs(): PropertyDef[] {
  const defs: PropertyDef[] = [];
  for (const key of Object.keys(ROWS).sort()) {
    defs.push({ name: `api:${key}`, key, kind: "api", weight: 1 });
  }
  for (const key of Object.keys(ROWS).sort()) {
    const e = ROWS[key]!;
    if (e.noBackend || e.how === "value") continue;
    defs.push({ name: `backend:${key}`, key, kind: "backend", weight: 0.25 });
  }
  return defs;
}

/** Called before each call with its printed form (the runner logs it, so a hang names its call). */
export type BeforeCall = (text: string) => void;

function entryOf(def: PropertyDef): Entry {
  const e = ROWS[def.key];
  if (!e) throw new Error(`fuzz: no row ${def.key}`);
  return e;
}

export function argsArbitrary(def: PropertyDef): fc.Arbitrary<[Arg[], number]> {
  const profile = def.kind === "api" ? SMALL : LARGE;
  useProfileDtypes(profile);
  return fc.tuple(entryOf(def).args(profile), fc.nat());
}

export function runOne(def: PropertyDef, args: Arg[], seed: number, before: BeforeCall = () => {}): Failure | null {
  const entry = entryOf(def);
  before(describeCall(def.key, entry, args));
  setCurrentRaw(args);
  return def.kind === "api" ? checkCall(def.key, entry, args, seed) : compareBackends(def.key, entry, args, seed);
}

/** The fast-check property: a failure throws, so fast-check shrinks it and reports seed and path. */
export function property(def: PropertyDef, before: BeforeCall): fc.IPropertyWithHooks<[[Arg[], number]]> {
  return fc.property(argsArbitrary(def), ([args, seed]) => {
    const f = runOne(def, args, seed, before);
    if (f) throw new FuzzFailure(f);
  });
}

export class FuzzFailure extends Error {
  constructor(readonly failure: Failure) {
    super(`${failure.problem}\n    call: ${failure.call}`);
    this.name = "FuzzFailure";
  }
}
