/**
 * How each differentiable export is gradchecked: an OpInfo-style table keyed
 * by the op's name (PyTorch keeps such metadata with its tests, not with the
 * ops). `test/all-ops.test.ts` finds every differentiable export of
 * src/index.ts by scanning for a `spec` and fails when its name is missing
 * here, so a new op cannot go untested.
 */
export interface InputDomain {
  minRank?: number;
  maxRank?: number;
  /** Values are drawn uniformly from this range. */
  range?: readonly [number, number];
  /** Keep values at least 1e-2 away from these points (kinks, poles). */
  awayFrom?: readonly number[];
}

export interface Domain {
  inputs: readonly InputDomain[];
  /** Tensor inputs may have broadcast-compatible (different) shapes. */
  broadcast?: boolean;
  /** How the test builds the remaining arguments (see test/all-ops.test.ts). */
  kind?: string;
}

export const opSamples: Readonly<Record<string, Domain>> = {
  abs: { inputs: [{ awayFrom: [0] }] },
  add: { inputs: [{}, {}], broadcast: true },
  cast: { inputs: [{}], kind: "cast" },
  clamp: { inputs: [{ awayFrom: [-0.5, 0.5] }], kind: "clamp" },
  clone: { inputs: [{}] },
  concat: { inputs: [{}], kind: "concat" },
  crossEntropy: { inputs: [{ range: [-5, 5] }], kind: "crossEntropy" },
  distillationLoss: { inputs: [{ range: [-6, 6] }, { range: [-6, 6] }], kind: "distillation" },
  distillationLossComposite: { inputs: [{ range: [-6, 6] }, { range: [-6, 6] }], kind: "distillation" },
  distLoss: { inputs: [{ range: [-6, 6] }, { range: [-6, 6] }], kind: "kd-method" },
  dkdLoss: { inputs: [{ range: [-6, 6] }, { range: [-6, 6] }], kind: "kd-method" },
  div: { inputs: [{}, { range: [0.5, 3] }], broadcast: true },
  exp: { inputs: [{ range: [-5, 5] }] },
  expand: { inputs: [{}], kind: "expand" },
  gather: { inputs: [{ minRank: 1 }], kind: "gather" },
  gelu: { inputs: [{ range: [-5, 5] }] },
  klDiv: { inputs: [{ range: [-4, 0] }, { range: [0.05, 1] }], kind: "klDiv" },
  linear: { inputs: [{}, {}, {}], kind: "linear" },
  log: { inputs: [{ range: [0.1, 5] }] },
  log1p: { inputs: [{ range: [-0.9, 5] }] },
  logSoftmax: { inputs: [{ minRank: 1, range: [-30, 30] }], kind: "axis" },
  logSumExp: { inputs: [{ range: [-20, 20] }], kind: "reduce-required" },
  logitMatchingLoss: { inputs: [{}, {}], kind: "logits-pair" },
  matmul: { inputs: [{}, {}], kind: "matmul" },
  max: { inputs: [{}], kind: "reduce" },
  maximum: { inputs: [{}, {}], broadcast: true, kind: "distinct-pair" },
  mean: { inputs: [{}], kind: "reduce" },
  min: { inputs: [{}], kind: "reduce" },
  minimum: { inputs: [{}, {}], broadcast: true, kind: "distinct-pair" },
  mseLoss: { inputs: [{}, {}], kind: "pair-loss" },
  mul: { inputs: [{}, {}], broadcast: true },
  neg: { inputs: [{}] },
  nkdLoss: { inputs: [{ range: [-6, 6] }, { range: [-6, 6] }], kind: "kd-method" },
  nllLoss: { inputs: [{ range: [-5, 0] }], kind: "nllLoss" },
  permute: { inputs: [{}], kind: "permute" },
  pow: { inputs: [{ range: [0.5, 2] }, { range: [-2, 2] }], broadcast: true },
  relu: { inputs: [{ awayFrom: [0] }] },
  reshape: { inputs: [{}], kind: "reshape" },
  sigmoid: { inputs: [{ range: [-6, 6] }] },
  slice: { inputs: [{ minRank: 1 }], kind: "slice" },
  softTargets: { inputs: [{ minRank: 1, range: [-10, 10] }], kind: "temperature" },
  softmax: { inputs: [{ minRank: 1, range: [-30, 30] }], kind: "axis" },
  standardizeLogits: { inputs: [{ minRank: 1, range: [-5, 5] }], kind: "axis" },
  sparseDistillationLoss: { inputs: [{ range: [-6, 6] }], kind: "sparse" },
  linearDistillationLoss: { inputs: [{ range: [-1.5, 1.5] }, { range: [-1.5, 1.5] }], kind: "linear-distillation" },
  sqrt: { inputs: [{ range: [0.1, 5] }] },
  squeeze: { inputs: [{}], kind: "squeeze" },
  stack: { inputs: [{}], kind: "stack" },
  sub: { inputs: [{}, {}], broadcast: true },
  sum: { inputs: [{}], kind: "reduce" },
  tanh: { inputs: [{ range: [-3, 3] }] },
  transpose: { inputs: [{ minRank: 1 }], kind: "transpose" },
  unsqueeze: { inputs: [{}], kind: "unsqueeze" },
  where: { inputs: [{}, {}, {}], broadcast: true, kind: "where" },
  wsldLoss: { inputs: [{ range: [-6, 6] }, { range: [-6, 6] }], kind: "kd-method" },
};
