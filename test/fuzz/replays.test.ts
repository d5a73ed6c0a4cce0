/**
 * Calls the fuzz suite found, replayed through the same oracle (compareBackends, checkCall) so that
 * they run on every `npm test`, not only when a fresh seed happens to draw them again. Each names
 * the command that found it and what was wrong.
 */
import { describe, expect, test } from "vitest";
import { compareBackends } from "./calls.js";
import { ROWS } from "./table.js";
import "./specials.js";
import type { Arg } from "./values.js";

const tensor = (dtype: string, shape: number[], kind: string, grad: boolean, extra: object = {}): Arg =>
  ({ k: "tensor", dtype, shape, layout: "contiguous", kind, seed: 0, grad, ...extra }) as Arg;

describe("backend:linearDistillationLoss", () => {
  // FUZZ_ONLY='backend:linearDistillationLoss' FUZZ_SEED=201 FUZZ_PATH='8:0:0:0:2:1:3:3:3:3:4:6:7:10:6:7:22:7:6:8:6:6:7:6:6:6:6:6'
  // (upstream seed 0): a one-hot float64 teacher, so the student's ∂L/∂logits row is 1.96e-3 in
  // 126 classes and −0.05, −0.2 in two; dH = G·W with W's column −1 but for one 0 cancels to
  // −0.00163, js (float64 sums) and wasm (float32 sums) 1.6e-7 apart. That is 0.2 ulp of the
  // scale Σ_c|G_c|·|W_c| = 0.92 the float32 sum works at, and it was compared against 1e-5 of
  // max|dH| = 0.0092 alone: the oracle lacked the backward products' scale (gradScale).
  const raw: Arg[] = [
    tensor("float32", [5, 16], "moderate", true),
    tensor("float32", [128, 16], "flat", true),
    tensor("float64", [5, 16], "moderate", false),
    tensor("float64", [128, 16], "huge", false),
    { k: "object", fields: [["labels", tensor("int32", [5], "classes", false, { classes: 128 })]] } as Arg,
  ];
  const row = ROWS.linearDistillationLoss!;

  test("the backends agree within the tolerance of the backward products' scale", () => {
    expect(compareBackends("linearDistillationLoss", row, raw, 0)).toBeNull();
  });

  test("without that scale the same call is reported (the replay still reaches the cancelling entry)", () => {
    const { gradScale: _, ...without } = row;
    expect(compareBackends("linearDistillationLoss", without, raw, 0)?.problem).toMatch(/tensor 1 .*float32 \[5,16\]/);
  });
});
