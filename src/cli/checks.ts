/**
 * Checks the commands make before any training, so that bad input costs a
 * one-line message (exit code 2) and not a run.
 */
import type { Tensor } from "../index.js";
import { UsageError } from "./args.js";

/**
 * The largest seed: a seed's students draw from seed + 2³² (studentGenerator in
 * distill.ts), and Generator takes only exact (safe) integers.
 */
export const MAX_SEED = Number.MAX_SAFE_INTEGER - 2 ** 32;

/**
 * The most parameters a model of the command may have: 1e7 float32 parameters take 40 MB,
 * and training holds four copies (the weights, their gradients, Adam's two moments).
 * The default teacher has 85,002.
 */
export const MAX_PARAMETERS = 1e7;

/** Refuse an architecture beyond MAX_PARAMETERS (Σ nᵢ·nᵢ₊₁ + nᵢ₊₁: weights and biases). */
export function checkParameters(sizes: readonly number[], option: string, command: string): void {
  let count = 0;
  for (let i = 0; i + 1 < sizes.length; i++) count += sizes[i]! * sizes[i + 1]! + sizes[i + 1]!;
  if (count > MAX_PARAMETERS) {
    throw new UsageError(`kdgrad ${command}: ${option} ${sizes.join("-")} has ${count} parameters; the command trains at most ${MAX_PARAMETERS}`);
  }
}

/**
 * Teacher logits must be finite, or −∞ to mask a class (docs/non-finite.md): NaN or +∞, or a
 * row masked in every class, leaves the teacher without a distribution, and the student
 * would train on NaN. Names the first offending entry.
 */
export function checkFiniteLogits(t: Tensor, file: string, command: string): void {
  const [rows, classes] = t.shape as [number, number];
  const data = t.contiguous().data;
  for (let i = 0; i < rows; i++) {
    let masked = 0;
    for (let j = 0; j < classes; j++) {
      const v = data[i * classes + j]!;
      if (Number.isNaN(v) || v === Infinity) {
        throw new UsageError(`kdgrad ${command}: ${file} holds ${Number.isNaN(v) ? "NaN" : "+∞"} at row ${i}, class ${j}; teacher logits must be finite, or −∞ to mask a class`);
      }
      if (v === -Infinity) masked++;
    }
    if (masked === classes) throw new UsageError(`kdgrad ${command}: row ${i} of ${file} is −∞ in every class, so the teacher gives it no distribution`);
  }
}
