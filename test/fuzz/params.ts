/**
 * Parameter descriptors: how the table says what one argument of a call
 * looks like. Each has `good` values (valid, or at least plausible) and
 * `bad` ones (non-integers, out-of-range integers, wrong JavaScript types).
 * `call` draws every argument from its good values and, in about a third of
 * the calls, replaces one argument by a bad one.
 */
import fc from "fast-check";
import {
  BAD_INTS, BAD_SIZES, OMIT, SPECIAL, WRONG_TYPES, list, obj, shapeArb, tensorArb, v,
  type Arg, type Profile, type TensorOptions,
} from "./values.js";

export interface Param {
  /** The Args this parameter contributes (usually one; a group such as a broadcasting pair gives several). */
  good: fc.Arbitrary<Arg[]>;
  /** A replacement for all of them, or null if the parameter has no bad values (booleans). */
  bad: fc.Arbitrary<Arg[]> | null;
}

export function one(good: fc.Arbitrary<Arg>, bad: fc.Arbitrary<Arg> | null): Param {
  return { good: good.map((a) => [a]), bad: bad === null ? null : bad.map((a) => [a]) };
}

/** Draw a call: every parameter's good Args, with one parameter's replaced by bad ones in `badRate` of the calls. */
export function call(params: readonly Param[], badRate = 0.3): fc.Arbitrary<Arg[]> {
  const goods = fc.tuple(...params.map((p) => p.good));
  const mutable = params.flatMap((p, i) => (p.bad === null ? [] : [[i, p.bad] as const]));
  if (mutable.length === 0) return goods.map((gs) => gs.flat());
  const pick = fc.oneof(...mutable.map(([i, bad]) => bad.map((b) => [i, b] as const)));
  const w = Math.round(badRate * 10);
  return fc
    .tuple(goods, fc.oneof({ weight: 10 - w, arbitrary: fc.constant(null) }, { weight: w, arbitrary: pick }))
    .map(([gs, bad]) => {
      const parts = gs.map((g) => [...g]);
      if (bad !== null) parts[bad[0]] = [...bad[1]];
      return parts.flat();
    });
}

/** A parameter that may be left out. */
export function optional(p: Param): Param {
  return { good: fc.oneof({ weight: 1, arbitrary: fc.constant<Arg[]>([OMIT]) }, { weight: 2, arbitrary: p.good }), bad: p.bad };
}

/** A fixed Arg (a receiver, say), never replaced. */
export function fixed(good: fc.Arbitrary<Arg>): Param {
  return one(good, null);
}

export const wrongType: fc.Arbitrary<Arg> = fc.constantFrom(...WRONG_TYPES);
export const badInt: fc.Arbitrary<Arg> = fc.oneof(fc.constantFrom(...BAD_INTS).map(v), wrongType);
export const badSize: fc.Arbitrary<Arg> = fc.oneof(fc.constantFrom(...BAD_SIZES).map(v), wrongType);
export const specialNumber: fc.Arbitrary<number> = fc.constantFrom(...SPECIAL);
const moderateNumber = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.double({ min: -3, max: 3, noNaN: true }).map((x) => Math.round(x * 8) / 8));
export const anyNumber: fc.Arbitrary<number> = fc.oneof({ weight: 3, arbitrary: moderateNumber }, { weight: 1, arbitrary: specialNumber });

/** A tensor where a tensor goes; bad: wrong types and bare numbers. */
export function T(p: Profile, o: TensorOptions & { minRank?: number; maxRank?: number; shape?: fc.Arbitrary<number[]> } = {}): Param {
  return one(tensorArb(o.shape ?? shapeArb(p, o.minRank ?? 0, o.maxRank ?? 4), o), fc.oneof(wrongType, specialNumber.map(v)));
}

/** A tensor or a bare number. */
export function TN(p: Profile, o: TensorOptions = {}): Param {
  return one(fc.oneof({ weight: 4, arbitrary: tensorArb(shapeArb(p), o) }, { weight: 1, arbitrary: anyNumber.map(v) }), wrongType);
}

/** An axis: an integer in [−4, 3] (in or out of range for ranks 0 to 4). */
export const Dim: Param = one(fc.integer({ min: -4, max: 3 }).map(v), badInt);

/** A dim argument of a reduction: absent, one axis, or a list of axes (possibly empty or repeated). */
export const Dims: Param = one(
  fc.oneof(
    { weight: 2, arbitrary: fc.constant(OMIT) },
    { weight: 3, arbitrary: fc.integer({ min: -4, max: 3 }).map(v) },
    { weight: 2, arbitrary: fc.array(fc.integer({ min: -4, max: 3 }), { maxLength: 3 }).map((xs) => list(xs.map(v))) },
  ),
  fc.oneof(badInt, badInt.map((b) => list([v(0), b]))),
);

export const Bool: Param = one(fc.boolean().map(v), null);

export function Int(min: number, max: number): Param {
  return one(fc.integer({ min, max }).map(v), badInt);
}

/** A size (a count of elements, features, classes): small, or a bad size. */
export function Size(max = 5, min = 0): Param {
  return one(fc.integer({ min, max }).map(v), badSize);
}

/** A shape argument: a list of sizes; bad: a list with a bad size, or not a list. */
export function ShapeP(p: Profile, minRank = 0, maxRank = 4): Param {
  return one(
    shapeArb(p, minRank, maxRank).map((s) => list(s.map(v))),
    fc.oneof(
      fc.tuple(shapeArb(p, 0, 3), badSize, fc.nat()).map(([s, b, i]) => {
        const items = s.map(v);
        items.splice(i % (items.length + 1), 0, b);
        return list(items);
      }),
      wrongType,
      fc.constant(v(3)),
    ),
  );
}

export function Num(pool: fc.Arbitrary<number>): Param {
  return one(pool.map(v), wrongType);
}

const BAD_STRINGS = ["toString", "__proto__", "constructor", "", "MEAN", "hasOwnProperty", "valueOf"];
export function Enum(values: readonly string[]): Param {
  return one(fc.constantFrom(...values).map(v), fc.oneof(fc.constantFrom(...BAD_STRINGS).map(v), fc.constantFrom(v(3), v(null), v(true))));
}

export const DTypeP: Param = one(
  fc.constantFrom("float32", "float64", "int32").map(v),
  fc.constantFrom("float16", "int64", "Float32", "toString", "__proto__", "").map(v),
);
export const FloatDTypeP: Param = one(fc.constantFrom("float32", "float64").map(v), fc.constantFrom("int32", "float16", "toString", "").map(v));

/**
 * Keys no options object of kdgrad has: typos of real ones, and names of Object.prototype
 * members (made own properties, as JSON.parse makes them). An options object holding one must
 * be refused: silently ignoring `{ temprature: 2 }` trains with the default temperature.
 */
export const UNKNOWN_KEYS = ["temprature", "dtpye", "keepdim", "learningRate", "__proto__", "toString"] as const;

/**
 * An options object: each field present or absent; bad: not an object, one field bad, one field
 * null, or an unknown key. The last two are marked `refuse` (the call must throw: null is not
 * "absent", and an unknown key is a typo), see calls.ts.
 */
export function Options(fields: Record<string, Param>): Param {
  const names = Object.keys(fields);
  const record = fc.tuple(...names.map((n) => fc.oneof({ weight: 1, arbitrary: fc.constant(OMIT) }, { weight: 1, arbitrary: fields[n]!.good.map((a) => a[0]!) })));
  const entries = (vals: Arg[]): [string, Arg][] => names.map((n, i) => [n, vals[i]!] as [string, Arg]);
  const good = record.map((vals) => obj(entries(vals)));
  const withBad = names.filter((n) => fields[n]!.bad !== null);
  const bads: fc.Arbitrary<Arg>[] = [fc.constantFrom(v(null), v(3), v("x"), list([]))];
  for (const n of withBad) {
    bads.push(fc.tuple(record, fields[n]!.bad!).map(([vals, b]) => obj(names.map((m, i) => [m, m === n ? b[0]! : vals[i]!] as [string, Arg]))));
  }
  bads.push(fc.tuple(record, fc.constantFrom(...UNKNOWN_KEYS)).map(([vals, key]): Arg => ({
    k: "object", fields: [...entries(vals), [key, v(2)]], refuse: `the unknown option key ${JSON.stringify(key)}`,
  })));
  if (names.length > 0) {
    bads.push(fc.tuple(record, fc.constantFrom(...names)).map(([vals, key]): Arg => ({
      k: "object", fields: entries(vals).map(([m, a]) => [m, m === key ? v(null) : a] as [string, Arg]), refuse: `the option ${key}: null`,
    })));
  }
  return one(good, fc.oneof(...bads));
}

/** A fixed catalogue value. */
export const special = (name: string, params?: unknown): Arg => (params === undefined ? { k: "special", name } : { k: "special", name, params });
