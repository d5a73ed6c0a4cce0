import type { Storage } from "../../tensor/dtype.js";
import type { AdamHyper, OptimKernels, SgdHyper } from "../table.js";

/** Optimizer updates in place, float64 arithmetic with one rounding per stored value. */
export const optim: OptimKernels = {
  sgdStep(theta: Storage, grad: Storage, buf: Storage | null, first: boolean, o: SgdHyper): void {
    const { lr, momentum: mu, dampening: tau, nesterov, weightDecay: wd } = o;
    if (wd === 0 && buf === null) {
      for (let i = 0; i < theta.length; i++) theta[i] = theta[i]! - lr * grad[i]!;
      return;
    }
    for (let i = 0; i < theta.length; i++) {
      let g = grad[i]!;
      if (wd !== 0) g += wd * theta[i]!;
      if (buf !== null) {
        buf[i] = first ? g : mu * buf[i]! + (1 - tau) * g;
        g = nesterov ? g + mu * buf[i]! : buf[i]!;
      }
      theta[i] = theta[i]! - lr * g;
    }
  },

  adamStep(theta: Storage, grad: Storage, m: Storage, v: Storage, vMax: Storage | null, o: AdamHyper): void {
    const { beta1: b1, beta2: b2, eps, weightDecay: wd, decoupled, decay, stepSize, bc2Sqrt } = o;
    for (let i = 0; i < theta.length; i++) {
      let g = grad[i]!;
      let th = theta[i]!;
      if (wd !== 0) {
        if (decoupled) th *= decay;
        else g += wd * th;
      }
      m[i] = b1 * m[i]! + (1 - b1) * g;
      v[i] = b2 * v[i]! + (1 - b2) * g * g;
      let vBar = v[i]!;
      if (vMax !== null) {
        vBar = Math.max(vMax[i]!, vBar);
        vMax[i] = vBar;
      }
      theta[i] = th - (stepSize * m[i]!) / (Math.sqrt(vBar) / bc2Sqrt + eps);
    }
  },
};
