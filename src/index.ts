// The whole public surface of kdgrad. Named exports only.

// Installs the method-style API on Tensor (x.add(y), x.sum()…) before anything else.
import "./methods.js";

// tensors
export { Tensor, type NestedArray } from "./tensor/tensor.js";
export type { DType, FloatDType, Storage } from "./tensor/dtype.js";
export type { Shape } from "./tensor/shape.js";
export {
  tensor, zeros, ones, full, arange, eye, rand, randn, randint, randperm,
  zerosLike, onesLike, fullLike, randLike, randnLike,
  type TensorOptions, type RandomOptions, type TensorLike,
} from "./tensor/creation.js";
export { Generator, manualSeed, defaultGenerator } from "./tensor/random.js";
export { broadcastShapes } from "./tensor/broadcast.js";
export { KdgradError, ShapeError, DTypeError, ValueError, IndexError, AutogradError } from "./tensor/errors.js";

// autograd
export { noGrad, enableGrad, isGradEnabled } from "./autograd/no-grad.js";
export { grad, valueAndGrad, vjp, jvp, jacobian, hessian } from "./autograd/functional.js";
export { gradients, type BackwardOptions, type GradientsOptions } from "./autograd/backward.js";
export { graphOf, toDot, type Graph, type GraphNode, type GraphEdge, type GraphOfOptions } from "./autograd/graph.js";
export {
  gradcheck, assertGradcheck, gradgradcheck, assertGradgradcheck, GradcheckError,
  type GradcheckOptions, type GradcheckReport, type GradcheckInputReport, type GradcheckEntry,
} from "./autograd/gradcheck.js";
export { defineOp, defineComposite, type Ctx, type OpSpec } from "./ops/define-op.js";

// element-wise
export { add } from "./ops/add.js";
export { sub } from "./ops/sub.js";
export { mul } from "./ops/mul.js";
export { div } from "./ops/div.js";
export { neg } from "./ops/neg.js";
export { pow } from "./ops/pow.js";
export { exp } from "./ops/exp.js";
export { log } from "./ops/log.js";
export { log1p } from "./ops/log1p.js";
export { sqrt } from "./ops/sqrt.js";
export { abs } from "./ops/abs.js";
export { tanh } from "./ops/tanh.js";
export { sigmoid } from "./ops/sigmoid.js";
export { relu } from "./ops/relu.js";
export { linear } from "./ops/linear.js";
export { maximum } from "./ops/maximum.js";
export { minimum } from "./ops/minimum.js";
export { clamp } from "./ops/clamp.js";
export { where } from "./ops/where.js";
// comparisons (int32 0/1, not differentiable)
export { eq } from "./ops/eq.js";
export { ne } from "./ops/ne.js";
export { lt } from "./ops/lt.js";
export { le } from "./ops/le.js";
export { gt } from "./ops/gt.js";
export { ge } from "./ops/ge.js";
// reductions
export { sum } from "./ops/sum.js";
export { mean } from "./ops/mean.js";
export { max } from "./ops/max.js";
export { min } from "./ops/min.js";
export { argmax, argmin } from "./ops/argmax.js";
export { logSumExp } from "./ops/log-sum-exp.js";
// shape and indexing
export { reshape } from "./ops/reshape.js";
export { transpose } from "./ops/transpose.js";
export { permute } from "./ops/permute.js";
export { expand } from "./ops/expand.js";
export { squeeze } from "./ops/squeeze.js";
export { unsqueeze } from "./ops/unsqueeze.js";
export { slice } from "./ops/slice.js";
export { concat } from "./ops/concat.js";
export { stack } from "./ops/stack.js";
export { gather } from "./ops/gather.js";
export { oneHot } from "./ops/one-hot.js";
export { clone } from "./ops/clone.js";
export { cast } from "./ops/cast.js";
// linear algebra and the softmax family
export { matmul } from "./ops/matmul.js";
export { softmax } from "./ops/softmax.js";
export { logSoftmax } from "./ops/log-softmax.js";
export { standardizeLogits } from "./ops/standardize-logits.js";

// losses
export { crossEntropy, type CrossEntropyOptions } from "./losses/cross-entropy.js";
export { nllLoss, type NllLossOptions } from "./losses/nll-loss.js";
export { klDiv, type KlDivOptions } from "./losses/kl-div.js";
export { mseLoss } from "./losses/mse-loss.js";
export { distillationLoss, type DistillationOptions, type Divergence } from "./losses/distillation-loss.js";
export { distillationLossComposite } from "./losses/distillation-loss-composite.js";
export { sparseDistillationLoss, type SparseDistillationOptions } from "./losses/sparse-distillation-loss.js";
export { linearDistillationLoss, type LinearDistillationOptions } from "./losses/linear-distillation-loss.js";
export { logitMatchingLoss } from "./losses/logit-matching-loss.js";
export { softTargets } from "./losses/soft-targets.js";
export { dkdLoss, type DkdOptions } from "./losses/dkd-loss.js";
export { distLoss, type DistOptions } from "./losses/dist-loss.js";
export { nkdLoss, type NkdOptions } from "./losses/nkd-loss.js";
export { wsldLoss, type WsldOptions } from "./losses/wsld-loss.js";
export { predict } from "./losses/predict.js";
export { accuracy } from "./losses/accuracy.js";
export type { Reduction, KlReduction } from "./losses/checks.js";

// nn
export { gelu, type GeluApproximate } from "./ops/gelu.js";
export {
  Module, type StateDict, type LoadStateDictOptions, type LoadStateDictResult,
} from "./nn/module.js";
export { Linear, type LinearOptions } from "./nn/linear.js";
export { ReLU } from "./nn/relu.js";
export { Tanh } from "./nn/tanh.js";
export { GELU } from "./nn/gelu.js";
export { Dropout } from "./nn/dropout.js";
export { Sequential } from "./nn/sequential.js";
export { mlp, type MlpOptions, type Activation } from "./nn/mlp.js";
export { countParameters } from "./nn/count-parameters.js";
export { clipGradNorm, type ClipGradNormOptions } from "./nn/clip-grad-norm.js";
export { clipGradValue } from "./nn/clip-grad-value.js";
export { maxNorm } from "./nn/max-norm.js";
export type { GradParams } from "./nn/grad-params.js";

// optim
export { Optimizer, type OptimizerStateDict, type ParamGroup, type HyperValue } from "./optim/optimizer.js";
export { SGD, type SGDOptions } from "./optim/sgd.js";
export { Adam, type AdamOptions } from "./optim/adam.js";
export { AdamW } from "./optim/adamw.js";
export { LRScheduler, type SchedulerStateDict, type SchedulerValue } from "./optim/lr-scheduler.js";
export { StepLR, type StepLROptions } from "./optim/step-lr.js";
export { ExponentialLR, type ExponentialLROptions } from "./optim/exponential-lr.js";
export { ConstantLR, type ConstantLROptions } from "./optim/constant-lr.js";
export { LinearLR, type LinearLROptions } from "./optim/linear-lr.js";
export { CosineAnnealingLR, type CosineAnnealingLROptions } from "./optim/cosine-annealing-lr.js";
export { OneCycleLR, type OneCycleLROptions } from "./optim/one-cycle-lr.js";
export { SequentialLR, type SequentialLROptions } from "./optim/sequential-lr.js";
export {
  encodeCheckpoint, decodeCheckpoint,
  type CheckpointParts, type CheckpointOptions, type LoadCheckpointOptions,
} from "./optim/checkpoint.js";

// io (bytes only; reading and writing files is in "kdgrad/node")
export { FormatError, FileError } from "./tensor/errors.js";
export {
  encodeSafetensors, decodeSafetensors,
  type NamedTensors, type DecodedSafetensors, type SafetensorsDType, type EncodeSafetensorsOptions,
} from "./io/safetensors.js";
export { encodeNpy, decodeNpy } from "./io/npy.js";
export { decodeIdx } from "./io/idx.js";

// data
export {
  digitsFromBytes, type Digits, type DigitsSplit, type DigitsBytes,
} from "./data/digits.js";
export { batches, type Batch, type Batches, type BatchOptions } from "./data/batches.js";
export { selectRows } from "./data/select-rows.js";
export { trainTestSplit, type TrainTestSplitOptions } from "./data/train-test-split.js";
export { randomTranslate, type RandomTranslateOptions } from "./data/random-translate.js";

// backends
export { getBackend, setBackend, wasmAvailable, setNumThreads, getNumThreads, threadInfo, type ThreadInfo, type Backend } from "./kernels/registry.js";
