import type { Tensor } from "../tensor/tensor.js";

let nextId = 0;

/**
 * Gradients an op's backward gave to the backward pass to own (`Ctx.handOver`):
 * a leaf's first `.grad` takes such a tensor as it is instead of a copy.
 */
export const handedOver = new WeakSet<Tensor>();

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
  private vjp: ((g: Tensor, lastUse: boolean) => readonly (Tensor | null | undefined)[]) | null;

  constructor(
    readonly name: string,
    readonly inputs: readonly (Tensor | null)[],
    vjp: (g: Tensor, lastUse: boolean) => readonly (Tensor | null | undefined)[],
    private readonly release: () => void,
  ) {
    this.vjp = vjp;
  }

  /** Whether `free()` has dropped the saved values. */
  get freed(): boolean {
    return this.vjp === null;
  }

  /** `lastUse`: the node is freed right after this call (no retainGraph). */
  backward(g: Tensor, lastUse = false): readonly (Tensor | null | undefined)[] {
    if (this.vjp === null) throw new Error("unreachable: backward on a freed node");
    return this.vjp(g, lastUse);
  }

  /** Drop the saved tensors, so their memory can be reclaimed. */
  free(): void {
    this.vjp = null;
    this.release();
  }
}
