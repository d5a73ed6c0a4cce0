import type { FloatDType } from "../tensor/dtype.js";
import { ValueError } from "../tensor/errors.js";
import type { Generator } from "../tensor/random.js";
import { describeValue } from "../tensor/shape.js";
import { asPublicCall } from "../tensor/public-call.js";
import { checkOptions } from "../tensor/options.js";
import type { Module } from "./module.js";
import { Linear } from "./linear.js";
import { ReLU } from "./relu.js";
import { Tanh } from "./tanh.js";
import { GELU } from "./gelu.js";
import { Dropout } from "./dropout.js";
import { Sequential } from "./sequential.js";

export type Activation = "relu" | "tanh" | "gelu";

export interface MlpOptions {
  /** Dropout probability after each hidden activation (default 0: no Dropout layers). */
  dropout?: number;
  /** Hidden activation (default "relu"). */
  activation?: Activation;
  /** Source of the initial weights and of the dropout masks (default: the global generator). */
  generator?: Generator;
  /** Parameter dtype (default float32). */
  dtype?: FloatDType;
}

/**
 * A multilayer perceptron: Linear → activation → (Dropout) → … → Linear, with
 * no activation after the last Linear (it outputs logits). `sizes` lists
 * the input width, the hidden widths and the output width.
 * The result is a Sequential, so parameter names follow layer positions:
 * mlp([64, 256, 10]) has "0.weight", "0.bias", "2.weight", "2.bias", and
 * with dropout "0.…" and "3.…".
 *
 * @example const net = mlp([64, 256, 256, 10], { dropout: 0.2 });
 */
export function mlp(sizes: readonly number[], options?: MlpOptions): Sequential {
  // As the public call, so that the layers' own checks (Linear's sizes, dtype and generator) name mlp.
  return asPublicCall("mlp", () => {
    const fn = "mlp";
    if (!Array.isArray(sizes) || sizes.length < 2) {
      throw new ValueError(`${fn}: sizes must list at least an input and an output width, got ${describeValue(sizes)}`);
    }
    if (sizes.some((s) => typeof s !== "number" || !Number.isInteger(s) || s < 1)) {
      throw new ValueError(`${fn}: sizes must be positive integers, got ${describeValue(sizes)}`);
    }
    const { dropout = 0, activation = "relu", generator, dtype } = checkOptions(options, fn, ["dropout", "activation", "generator", "dtype"]);
    if (activation !== "relu" && activation !== "tanh" && activation !== "gelu") {
      throw new ValueError(`${fn}: activation must be "relu", "tanh" or "gelu", got ${describeValue(activation)}`);
    }
    if (typeof dropout !== "number" || !(dropout >= 0 && dropout < 1)) {
      throw new ValueError(`${fn}: dropout must be in [0, 1), got ${describeValue(dropout)}`);
    }
    const layers: Module[] = [];
    for (let i = 0; i + 1 < sizes.length; i++) {
      layers.push(new Linear(sizes[i]!, sizes[i + 1]!, { generator, dtype }));
      if (i + 2 === sizes.length) break;
      layers.push(activation === "relu" ? new ReLU() : activation === "tanh" ? new Tanh() : new GELU());
      if (dropout > 0) layers.push(new Dropout(dropout, { generator }));
    }
    return new Sequential(...layers);
  });
}
