import type { Tensor } from "../tensor/tensor.js";

let nextId = 0;

/**
 * Gradients an op's backward gave to the backward pass to own (`Ctx.handOver`):
 * a leaf's first `.grad` takes such a tensor as it is instead of a copy.
 */
export const handedOver = new WeakSet<Tensor>();

/** How a backward call runs: see `Node.backward`. */
export interface BackwardMode {
  /** The node is freed right after this call (no retainGraph): saved values may be handed over. */
  lastUse: boolean;
  /**
   * The gradients are to be differentiated again: the rule runs with graph
   * recording on and must compute with ops (never raw kernels) so that its
   * result carries a graph back to g and to the saved inputs.
   */
  createGraph: boolean;
}

export type Vjp = (g: Tensor, mode: BackwardMode) => readonly (Tensor | null | undefined)[];

/**
 * What an op leaves behind on its output: the inputs (aligned with the op's
 * arguments, null where an argument is not a tensor that needs a gradient)
 * and the vector-Jacobian product `backward(g)`, which returns one gradient
 * per argument (null/undefined for none).
 *
 * Ids increase with creation, and inputs always exist before outputs, so the
 * reachable nodes sorted by descending id are a reverse topological order.
 */
export class Node {
  readonly id = nextId++;
  private vjp: Vjp | null;

  constructor(
    readonly name: string,
    readonly inputs: readonly (Tensor | null)[],
    vjp: Vjp,
    private readonly release: () => void,
  ) {
    this.vjp = vjp;
  }

  /** Whether `free()` has dropped the saved values. */
  get freed(): boolean {
    return this.vjp === null;
  }

  backward(g: Tensor, mode: BackwardMode = { lastUse: false, createGraph: false }): readonly (Tensor | null | undefined)[] {
    if (this.vjp === null) throw new Error("unreachable: backward on a freed node");
    return this.vjp(g, mode);
  }

  /** Drop the saved tensors, so their memory can be reclaimed. */
  free(): void {
    this.vjp = null;
    this.release();
  }
}
