import { defineOp } from "../ops/define-op.js";
import { Tensor } from "../tensor/tensor.js";
import { ValueError } from "../tensor/errors.js";
import { promoteTypes } from "../tensor/dtype.js";
import { distillationKernel } from "../kernels/distillation.js";
import { distillationKernelF32 } from "../kernels/distillation-f32.js";
import { getBackend } from "../kernels/registry.js";
import { wasmKernels } from "../kernels/wasm/module.js";
import { checkAlpha, checkLabels, checkLogits, checkSameShape, checkTemperature } from "./options.js";

export interface DistillationOptions {
  /** Hard labels [B] (int32). Without them the loss is the soft term alone. */
  labels?: Tensor;
  /** T in [1e-6, 1e6] (checkTemperature: a ValueError outside). Default 4. */
  temperature?: number;
  /** Weight of the soft term, in [0, 1]. Default 0.5; must be absent or 1 without labels. */
  alpha?: number;
}

/**
 * distillationLoss(student, teacher, { labels, temperature = 4, alpha = 0.5 })
 * — Hinton's knowledge-distillation loss, fused:
 *
 *   L = α·T²·KL(p_t ‖ p_s) + (1 − α)·CE(s, y),   p_s = softmax(s/T), p_t = softmax(t/T),
 *
 * with KL averaged over the B rows ('batchmean') and CE the mean
 * cross-entropy at T = 1. student and teacher are logits [B, C]; the result
 * is a scalar. Without labels, L = T²·KL (alpha must then be absent or 1).
 *
 * Backward. Write zₛ = s/T and z_t = t/T, and for one row
 * KL = Σᵢ p_t,i (log p_t,i − log p_s,i).
 *
 * Student. log p_s,i = zₛ,i − log Σⱼ e^{zₛ,j}, so ∂ log p_s,i/∂zₛ,k = δᵢₖ − p_s,k and
 *   ∂KL/∂zₛ,k = −Σᵢ p_t,i (δᵢₖ − p_s,k) = p_s,k − p_t,k   (Σᵢ p_t,i = 1).
 * Then ∂/∂s = (1/T)·∂/∂zₛ, and the T² factor leaves T·(p_s − p_t). The CE
 * part is the usual softmax(s) − onehot(y). Dividing by the batch:
 *   ∂L/∂s = [α·T·(p_s − p_t) + (1 − α)·(softmax(s) − onehot(y))] / B.
 *
 * Teacher. With dᵢ = log p_t,i − log p_s,i, ∂p_t,i/∂z_t,k = p_t,i(δᵢₖ − p_t,k) and
 * ∂ log p_t,i/∂z_t,k = δᵢₖ − p_t,k:
 *   ∂KL/∂z_t,k = Σᵢ [p_t,i(δᵢₖ − p_t,k)·dᵢ + p_t,i(δᵢₖ − p_t,k)]
 *             = p_t,k·d_k − p_t,k·KL + (p_t,k − p_t,k) = p_t,k (d_k − KL),
 * so ∂L/∂t = α·T·p_t ⊙ ((log p_t − log p_s) − KL_row) / B.
 *
 * Checks. Both gradients sum to 0 over each row (a constant added to a row
 * of s or t changes nothing): Σ(p_s − p_t) = 0, Σ(softmax − onehot) = 0 and
 * Σ p_t (d − KL) = KL − KL = 0. As T → ∞, T·(p_s − p_t) → ((s − s̄) − (t − t̄))/C
 * (logit matching, docs/distillation.md); the unscaled gradient is 1/T² of
 * that, which is why the soft term is multiplied by T².
 *
 * The teacher gets a gradient only when it requires one (online or mutual
 * distillation); a teacher computed under noGrad costs nothing extra.
 *
 * Non-finite policy (docs/non-finite.md). A teacher class with p_t = 0
 * (masked with −∞, or underflowed at a large logit gap) adds nothing
 * (0·log 0 = 0): loss and both gradients stay finite, where PyTorch's
 * composite gives NaN. Teacher mass on a class the student masks makes the
 * KL really infinite: the loss is +∞. NaN in, NaN out.
 *
 * Numerics: see src/kernels/distillation.ts. Sums are accumulated in
 * float64. For a regular row the KL is formed in the log-ratio form,
 * Γ/(1 + M) + h(M) with x = (t − s)/T centred at its q-mean, which keeps it to
 * a relative ε·(a few dozen) at every accepted T, in particular at large T
 * where KL is O(1/T²) and Σ p_t·(log p_t − log p_s) would lose ε·T² of it; other
 * rows (masks the student does not share, NaN, huge spreads) use that direct
 * sum. With float32 inputs, α > 0 and a teacher that needs no gradient (the
 * usual frozen teacher), src/kernels/distillation-f32.ts (and its WebAssembly
 * twin) uses float32-accurate exponentials in the same log-ratio form, which
 * keeps 1e-6 relative accuracy however small the KL is (docs/distillation.md,
 * "Float32 kernels": proven for the TypeScript kernel, tested on adversarial
 * rows for the WebAssembly one).
 *
 * @example
 * const teacherLogits = noGrad(() => teacher.forward(x));
 * distillationLoss(student.forward(x), teacherLogits, { labels, temperature: 4, alpha: 0.7 }).backward();
 */
export const distillationLoss = defineOp({
  name: "distillationLoss",
  forward(ctx, student: Tensor, teacher: Tensor, options: DistillationOptions = {}): Tensor {
    const fn = "distillationLoss";
    checkLogits(student, fn, "student");
    checkLogits(teacher, fn, "teacher");
    checkSameShape(student, teacher, fn, "student", "teacher");
    const T = checkTemperature(options.temperature ?? 4, fn);
    const [B, C] = student.shape as [number, number];
    let labels: Int32Array | null = null;
    let alpha: number;
    if (options.labels === undefined) {
      alpha = checkAlpha(options.alpha ?? 1, fn);
      if (alpha !== 1) {
        throw new ValueError(`${fn}: alpha must be absent or 1 without labels (there is no hard-label term), got ${alpha}`);
      }
    } else {
      alpha = checkAlpha(options.alpha ?? 0.5, fn);
      labels = checkLabels(options.labels, [B], C, fn, "labels");
    }
    const dtype = promoteTypes(student.dtype, teacher.dtype, fn);
    const wantS = ctx.needsInputGrad[0] === true;
    const wantT = ctx.needsInputGrad[1] === true;
    let loss: number;
    let dS: Tensor | null = null;
    let dT: Tensor | null = null;
    const sd = student.contiguous().data;
    const td = teacher.contiguous().data;
    if (sd instanceof Float32Array && td instanceof Float32Array && getBackend() === "wasm") {
      // float32 on WebAssembly SIMD: the log-ratio kernel in float32 lanes for a frozen
      // teacher (α > 0), else the float64 kernel's passes in float64 lanes.
      const r = wasmKernels()!.distill(sd, td, labels, B, C, T, alpha, wantS, wantT);
      loss = r.loss;
      if (r.dS) dS = new Tensor(r.dS, [B, C]);
      if (r.dT) dT = new Tensor(r.dT, [B, C]);
    } else if (sd instanceof Float32Array && td instanceof Float32Array && alpha > 0 && !wantT) {
      // float32 in TypeScript, frozen teacher: the log-ratio kernel with table exponentials.
      dS = wantS ? Tensor.empty([B, C], "float32") : null;
      loss = distillationKernelF32(sd, td, labels, B, C, T, alpha, dS ? (dS.data as Float32Array) : null, new Float32Array(3 * C));
    } else {
      dS = wantS ? Tensor.empty([B, C], student.dtype) : null;
      dT = wantT ? Tensor.empty([B, C], teacher.dtype) : null;
      loss = distillationKernel(
        sd, td, labels, B, C, T, alpha, dS ? dS.data : null, dT ? dT.data : null, new Float64Array(3 * C),
        sd instanceof Float32Array && td instanceof Float32Array,
      );
    }
    ctx.save({ dS, dT });
    const y = Tensor.empty([], dtype);
    y.data[0] = loss;
    return y;
  },
  backward(ctx, g) {
    const { dS, dT } = ctx.saved as { dS: Tensor | null; dT: Tensor | null };
    const scale = g.item();
    // The saved gradients are nobody else's once the graph is freed: handed over, a
    // leaf's .grad takes them without a copy (a scaled one is fresh anyway).
    const give = (d: Tensor | null): Tensor | null => {
      if (d === null) return null;
      if (scale !== 1) return ctx.handOver(d.mul(scale));
      return ctx.lastUse ? ctx.handOver(d) : d;
    };
    return [give(dS), give(dT), null];
  },
});
