/**
 * What `kdgrad gradcheck` feeds each op and loss: the value range of each
 * input (a range, points to stay away from) and the kind of call. One fixed
 * example per op, for the reader's look at the numbers; the test suite draws
 * many more from its own table (test/op-samples.ts). An op the CLI finds
 * without an entry here is reported, not skipped.
 */
export interface ExampleDomain {
  inputs: readonly { minRank?: number; range?: readonly [number, number]; awayFrom?: readonly number[] }[];
  broadcast?: boolean;
  kind?: string;
}

export const EXAMPLES: Readonly<Record<string, ExampleDomain>> = {
  abs: { inputs: [{ awayFrom: [0] }] },
  add: { inputs: [{}, {}], broadcast: true },
  cast: { inputs: [{}], kind: "cast" },
  clamp: { inputs: [{ awayFrom: [-0.5, 0.5] }], kind: "clamp" },
  clone: { inputs: [{}] },
  concat: { inputs: [{}], kind: "concat" },
  crossEntropy: { inputs: [{ range: [-5, 5] }], kind: "crossEntropy" },
  distillationLoss: { inputs: [{ range: [-6, 6] }, { range: [-6, 6] }], kind: "distillation" },
  distillationLossComposite: { inputs: [{ range: [-6, 6] }, { range: [-6, 6] }], kind: "distillation" },
  distLoss: { inputs: [{ range: [-6, 6] }, { range: [-6, 6] }], kind: "dist" },
  dkdLoss: { inputs: [{ range: [-6, 6] }, { range: [-6, 6] }], kind: "dkd" },
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
  nkdLoss: { inputs: [{ range: [-6, 6] }, { range: [-6, 6] }], kind: "nkd" },
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
  linearDistillationLoss: { inputs: [{ range: [-1, 1] }], kind: "linear-distillation" },
  sqrt: { inputs: [{ range: [0.1, 5] }] },
  squeeze: { inputs: [{}], kind: "squeeze" },
  stack: { inputs: [{}], kind: "stack" },
  sub: { inputs: [{}, {}], broadcast: true },
  sum: { inputs: [{}], kind: "reduce" },
  tanh: { inputs: [{ range: [-3, 3] }] },
  transpose: { inputs: [{ minRank: 1 }], kind: "transpose" },
  unsqueeze: { inputs: [{}], kind: "unsqueeze" },
  where: { inputs: [{}, {}, {}], broadcast: true, kind: "where" },
  wsldLoss: { inputs: [{ range: [-6, 6] }, { range: [-6, 6] }], kind: "wsld" },
};
