/**
 * The four distillation methods written the way one writes them in PyTorch, with kdgrad
 * ops and autograd through every part: the references the fused losses are compared
 * with (test/losses/kd-methods.test.ts). They follow the formulas of the loss files
 * directly (the target column removed by a −∞ logit, 1 − p from a log-sum-exp, the
 * stop-gradients by detach) and make no numerical effort beyond that.
 */
import {
  type Tensor, abs, exp, logSoftmax, logSumExp, maximum, mean, neg, oneHot, sigmoid, softmax, sqrt, sum, where,
} from "../../src/index.js";

const targetMask = (labels: Tensor, C: number): Tensor => oneHot(labels, C);

/** log σ(x) = −softplus(−x), written as min(x, 0) − log1p(e^{−|x|}) with ops. */
function logSigmoid(x: Tensor): Tensor {
  return x.sub(maximum(x, 0)).sub(exp(neg(abs(x))).log1p());
}

/** KL of two rows of log-probabilities over the classes where p = exp(lp) > 0 (0·log 0 = 0). */
function klRows(lp: Tensor, lq: Tensor): Tensor {
  const p = exp(lp);
  // where(p, …): p as the condition selects the classes with p ≠ 0.
  return sum(where(p, p.mul(where(p, lp.sub(lq), 0)), 0), -1);
}

export function dkdComposite(s: Tensor, t: Tensor, labels: Tensor, o: { alpha?: number; beta?: number; temperature?: number } = {}): Tensor {
  const alpha = o.alpha ?? 1;
  const beta = o.beta ?? 8;
  const T = o.temperature ?? 4;
  const C = s.shape[1]!;
  const y = targetMask(labels, C);
  const zs = s.div(T);
  const zt = t.div(T);
  const zsO = where(y, -Infinity, zs);
  const ztO = where(y, -Infinity, zt);
  // Binary logits ℓ = z_y − lse_O(z); the split [σ(ℓ), σ(−ℓ)] in log space.
  const ls = sum(where(y, zs, 0), -1).sub(logSumExp(zsO, -1));
  const lt = sum(where(y, zt, 0), -1).sub(logSumExp(ztO, -1));
  const a = sigmoid(lt);
  const ab = sigmoid(neg(lt));
  const tckd = a.mul(logSigmoid(lt).sub(logSigmoid(ls))).add(ab.mul(logSigmoid(neg(lt)).sub(logSigmoid(neg(ls)))));
  const nckd = klRows(logSoftmax(ztO, -1), logSoftmax(zsO, -1));
  return mean(tckd.mul(alpha).add(nckd.mul(beta))).mul(T * T);
}

/** Pearson correlations along `axis` with each centred norm guarded by max(‖·‖, 1e-8). */
function pearson(a: Tensor, b: Tensor, axis: number): Tensor {
  const ac = a.sub(mean(a, axis, true));
  const bc = b.sub(mean(b, axis, true));
  const na = maximum(sqrt(sum(ac.mul(ac), axis)), 1e-8);
  const nb = maximum(sqrt(sum(bc.mul(bc), axis)), 1e-8);
  return sum(ac.mul(bc), axis).div(na.mul(nb));
}

export function distComposite(s: Tensor, t: Tensor, o: { beta?: number; gamma?: number; temperature?: number } = {}): Tensor {
  const T = o.temperature ?? 1;
  return distOfProbabilities(softmax(s.div(T), -1), softmax(t.div(T), -1), o);
}

/** DIST on the probabilities Y_s, Y_t themselves (the T² included). */
export function distOfProbabilities(ys: Tensor, yt: Tensor, o: { beta?: number; gamma?: number; temperature?: number } = {}): Tensor {
  const beta = o.beta ?? 1;
  const gamma = o.gamma ?? 1;
  const T = o.temperature ?? 1;
  const inter = neg(mean(pearson(ys, yt, -1))).add(1);
  const intra = neg(mean(pearson(ys, yt, 0))).add(1);
  return inter.mul(beta).add(intra.mul(gamma)).mul(T * T);
}

export function nkdComposite(s: Tensor, t: Tensor, labels: Tensor, o: { temperature?: number; gamma?: number } = {}): Tensor {
  const T = o.temperature ?? 1;
  const gamma = o.gamma ?? 1.5;
  const C = s.shape[1]!;
  const y = targetMask(labels, C);
  const w = sum(where(y, softmax(t, -1), 0), -1).detach();
  const ell = sum(where(y, logSoftmax(s, -1), 0), -1);
  const first = neg(mean(w.mul(ell)));
  const pt = softmax(where(y, -Infinity, t.div(T)), -1);
  const lq = logSoftmax(where(y, -Infinity, s.div(T)), -1);
  const ce = neg(sum(where(pt, pt.mul(where(pt, lq, 0)), 0), -1));
  return first.add(mean(ce).mul(gamma * T * T));
}

export function wsldComposite(s: Tensor, t: Tensor, labels: Tensor, o: { temperature?: number; alpha?: number } = {}): Tensor {
  const T = o.temperature ?? 2;
  const alpha = o.alpha ?? 2.5;
  const C = s.shape[1]!;
  const y = targetMask(labels, C);
  const ce = (x: Tensor): Tensor => neg(sum(where(y, logSoftmax(x, -1), 0), -1));
  const ceS = ce(s);
  const ratio = ce(s.detach()).div(ce(t.detach()).add(1e-7));
  const w = neg(exp(neg(maximum(ratio, 0)))).add(1);
  const p = softmax(t.div(T), -1);
  const lq = logSoftmax(s.div(T), -1);
  const soft = neg(sum(where(p, p.mul(where(p, lq, 0)), 0), -1));
  return mean(ceS).add(mean(w.mul(soft)).mul(alpha * T * T));
}
