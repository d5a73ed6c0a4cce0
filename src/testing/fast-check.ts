// "kdgrad/testing/fast-check": fast-check arbitraries for tensors and loss inputs, and the
// property kit for a loss function. fast-check is an optional peer dependency of kdgrad,
// needed by this entry point only (docs/testing.md).
export {
  shapes, broadcastPairs, tensors, views, logits, probabilities, labelsFor, temperatures, printable, TEMPERATURE_RANGE,
  type ShapeOptions, type TensorArbOptions, type ViewKind, type TensorView, type RowOptions, type LogitOptions, type ProbabilityOptions,
} from "./arbitraries.js";
export {
  lossProperties,
  type LossFunction, type LossCase, type LossProperties, type LossPropertiesOptions, type TemperatureLawOptions,
} from "./loss-properties.js";
