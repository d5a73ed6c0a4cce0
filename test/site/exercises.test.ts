/**
 * The exercises of the docs site (site-src/widgets/exercises-checks.js), checked here on src/
 * as the page checks them on the bundle: every model answer passes and every common mistake
 * fails, and so does an answer of the wrong kind.
 */
import { describe, expect, test } from "vitest";
import * as kd from "../../src/index.js";
// @ts-expect-error: a plain browser module, without declarations
import { EXERCISES, runAnswer } from "../../site-src/widgets/exercises-checks.js";

interface Exercise { id: string; model: string; wrong: string; starter: string; check(k: typeof kd, v: unknown): { ok: boolean; message: string } }
const exercises = EXERCISES as Exercise[];

test("there are at least five exercises, with distinct ids", () => {
  expect(exercises.length).toBeGreaterThanOrEqual(5);
  expect(new Set(exercises.map((e) => e.id)).size).toBe(exercises.length);
});

describe.each(exercises.map((e) => [e.id, e] as const))("exercise %s", (_id, ex) => {
  test("the model answer passes", () => {
    const r = ex.check(kd, runAnswer(kd, ex.model));
    expect(r.message).toBeTypeOf("string");
    expect(r.ok, r.message).toBe(true);
  });
  test("the common mistake fails, and so does the starter", () => {
    expect(ex.check(kd, runAnswer(kd, ex.wrong)).ok).toBe(false);
    expect(ex.check(kd, runAnswer(kd, ex.starter)).ok).toBe(false);
  });
  test("an answer of the wrong kind fails with a message, not an exception", () => {
    const r = ex.check(kd, 42);
    expect(r.ok).toBe(false);
    expect(r.message).toMatch(/return/);
  });
});
