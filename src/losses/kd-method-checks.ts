import { ShapeError, ValueError } from "../tensor/errors.js";
import { promoteTypes, type FloatDType } from "../tensor/dtype.js";
import { shapeStr } from "../tensor/shape.js";
import { checkLabels, checkLogits, checkSameShape, checkTemperature } from "./checks.js";

/**
 * Argument checks shared by the distillation methods (dkdLoss, distLoss, nkdLoss,
 * wsldLoss); not a loss. Every error names the public function, the argument and
 * the value.
 */

/** A weight of a loss term: a finite number ≥ 0 (0 switches the term off). */
export function checkTermWeight(value: unknown, fn: string, arg: string): number {
  if (typeof value !== "number" || !(value >= 0 && value < Infinity)) {
    throw new ValueError(`${fn}: ${arg} must be a finite number ≥ 0, got ${typeof value === "string" ? JSON.stringify(value) : String(value)}`);
  }
  return value;
}

export interface CheckedPair {
  B: number;
  C: number;
  T: number;
  dtype: FloatDType;
}

/**
 * student and teacher: float [B, C] of the same shape, with at least `minClasses` classes;
 * the temperature in [1e-6, 1e6] (checkTemperature). Returns B, C, T and the promoted dtype.
 */
export function checkPair(student: unknown, teacher: unknown, temperature: unknown, minClasses: number, fn: string): CheckedPair {
  const s = checkLogits(student, fn, "student");
  const t = checkLogits(teacher, fn, "teacher");
  checkSameShape(s, t, fn, "student", "teacher");
  const [B, C] = s.shape as [number, number];
  if (C < minClasses) {
    const why = minClasses === 2 ? "a target class and at least one other class" : `${minClasses} classes`;
    throw new ShapeError(`${fn}: student must have ${why}, got shape ${shapeStr(s.shape)}`);
  }
  const T = checkTemperature(temperature, fn);
  return { B, C, T, dtype: promoteTypes(s.dtype, t.dtype, fn) as FloatDType };
}

/** Target labels: int32 [B], each in [0, C). Returns the contiguous data. */
export function checkTargets(labels: unknown, B: number, C: number, fn: string): Int32Array {
  return checkLabels(labels, [B], C, fn, "labels");
}
