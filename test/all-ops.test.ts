/**
 * Every differentiable op exported by src/index.ts, found by scanning the
 * exports for a `spec`, is gradchecked in float64 over shapes drawn by
 * fast-check, with broadcasting pairs and non-contiguous (transposed or
 * strided) views, and a random upstream gradient (gradcheck never uses a
 * plain sum). A failure prints fast-check's seed and path, which replay it.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import * as kd from "../src/index.js";
import { Generator, Tensor, assertGradcheck, tensor, type Domain } from "../src/index.js";
import { broadcastPairArb, shapeArb, viewed, type Layout } from "./arbitraries.js";

interface Case {
  leaves: Tensor[];
  fn: (...leaves: Tensor[]) => Tensor;
  text: string;
}

type OpFn = (...args: any[]) => Tensor;

const layoutArb = fc.constantFrom<Layout>("plain", "transposed", "strided");
const pick = <T,>(rng: Generator, xs: readonly T[]): T => xs[rng.below(xs.length)]!;

/** Build a case for an op from its domain: the leaves, how to call the op on them, and a description. */
function caseArb(op: OpFn, domain: Domain): fc.Arbitrary<Case> {
  const d0 = domain.inputs[0] ?? {};
  const minRank = d0.minRank ?? 0;
  const maxRank = d0.maxRank ?? 3;
  const seedArb = fc.nat();

  // Element-wise ops with one to three broadcasting tensor inputs.
  const elementwise = (shapes: number[][], layouts: Layout[], seed: number, extra: unknown[] = [], kind?: string, prefix: unknown[] = []): Case => {
    const rng = new Generator(seed);
    const parts = shapes.map((s, i) => {
      const d = domain.inputs[i] ?? {};
      if (kind === "distinct-pair") {
        // Values on two interleaved grids (k/4 and k/4 + 1/8): no ties between the operands.
        const v = viewed(rng, s, { range: [-2, 2] }, layouts[i]!);
        const data = v.leaf.data;
        for (let j = 0; j < data.length; j++) data[j] = Math.round(data[j]! * 4) / 4 + (i === 0 ? 0.125 : 0);
        return v;
      }
      return viewed(rng, s, d, layouts[i]!);
    });
    return {
      leaves: parts.map((p) => p.leaf),
      fn: (...xs) => op(...prefix, ...xs.map((x, i) => parts[i]!.view(x)), ...extra),
      text: `shapes ${JSON.stringify(shapes)} layouts ${layouts.join(",")} extra ${JSON.stringify(extra)}`,
    };
  };

  switch (domain.kind) {
    case undefined:
    case "distinct-pair": {
      if (domain.inputs.length === 1) {
        return fc.tuple(shapeArb(minRank, maxRank), layoutArb, seedArb).map(([s, l, seed]) => elementwise([s], [l], seed));
      }
      return fc
        .tuple(broadcastPairArb(minRank, maxRank), layoutArb, layoutArb, seedArb)
        .map(([[a, b], la, lb, seed]) => elementwise([a, b], [la, lb], seed, [], domain.kind));
    }
    case "where":
      return fc.tuple(broadcastPairArb(0, 3), layoutArb, layoutArb, seedArb).map(([[a, b], la, lb, seed]) => {
        const rng = new Generator(seed + 1);
        const condShape = a.length >= b.length ? a : b;
        const cond = tensor(Int32Array.from({ length: condShape.reduce((x, y) => x * y, 1) }, () => rng.below(2)), { shape: condShape });
        const c = elementwise([a, b], [la, lb], seed, [], undefined, [cond]);
        return { ...c, text: `cond ${JSON.stringify(condShape)} ${c.text}` };
      });
    case "clamp":
      return fc
        .tuple(shapeArb(minRank, maxRank), layoutArb, seedArb, fc.constantFrom<[number | null, number | null]>([-0.5, 0.5], [null, 0.5], [-0.5, null]))
        .map(([s, l, seed, [lo, hi]]) => elementwise([s], [l], seed, [lo, hi]));
    case "cast":
      return fc.tuple(shapeArb(minRank, maxRank), layoutArb, seedArb).map(([s, l, seed]) => elementwise([s], [l], seed, ["float64"]));
    case "reduce":
    case "reduce-required":
    case "axis":
      return fc.tuple(shapeArb(Math.max(minRank, domain.kind === "reduce" ? 0 : 1), maxRank), layoutArb, seedArb, fc.nat()).map(([s, l, seed, k]) => {
        const rng = new Generator(k);
        const n = s.length;
        const axes = Array.from({ length: n }, (_, i) => i);
        const single = n === 0 ? 0 : rng.below(2 * n) - n;
        const multi = axes.filter(() => rng.below(2) === 1).map((a) => (rng.below(2) ? a - n : a));
        const keepDim = rng.below(2) === 1;
        const extra =
          domain.kind === "axis" ? [single]
          : domain.kind === "reduce-required" ? [n === 0 ? 0 : rng.below(2) ? single : multi.length ? multi : [single], keepDim]
          : [pick(rng, [undefined, single, multi] as const), keepDim];
        return elementwise([s], [l], seed, extra);
      });
    case "reshape":
      return fc.tuple(shapeArb(0, 3), layoutArb, seedArb, fc.constantFrom("reverse", "flat", "infer", "split")).map(([s, l, seed, how]) => {
        const size = s.reduce((a, b) => a * b, 1);
        const target = how === "reverse" ? [...s].reverse() : how === "flat" ? [size] : how === "infer" ? [-1] : [1, size, 1];
        return elementwise([s], [l], seed, [target]);
      });
    case "transpose":
      return fc.tuple(shapeArb(1, 4), layoutArb, seedArb, fc.nat(), fc.nat()).map(([s, l, seed, i, j]) =>
        elementwise([s], [l], seed, [i % s.length, -1 - (j % s.length)]));
    case "permute":
      return fc.tuple(shapeArb(0, 4), layoutArb, seedArb).map(([s, l, seed]) => {
        const rng = new Generator(seed + 7);
        const perm = s.map((_, i) => i);
        for (let i = perm.length - 1; i > 0; i--) {
          const j = rng.below(i + 1);
          [perm[i], perm[j]] = [perm[j]!, perm[i]!];
        }
        return elementwise([s], [l], seed, [perm]);
      });
    case "expand":
      return fc.tuple(broadcastPairArb(0, 3), layoutArb, seedArb).map(([[a, b], l, seed]) => {
        const target = kd.broadcastShapes(a, b, "expand");
        return elementwise([a], [l], seed, [[2, ...target]]);
      });
    case "squeeze":
      return fc.tuple(shapeArb(0, 4, 2), layoutArb, seedArb, fc.constantFrom("all", "one", "list")).map(([s, l, seed, how]) => {
        const extra = s.length === 0 || how === "all" ? [] : how === "one" || s.length === 1 ? [s.indexOf(1) >= 0 ? s.indexOf(1) : 0] : [[0, -1]];
        return elementwise([s], [l], seed, extra);
      });
    case "unsqueeze":
      return fc.tuple(shapeArb(0, 3), layoutArb, seedArb, fc.nat()).map(([s, l, seed, k]) =>
        elementwise([s], [l], seed, [(k % (2 * s.length + 2)) - s.length - 1]));
    case "slice":
      return fc.tuple(shapeArb(1, 3, 6), layoutArb, seedArb, fc.nat(), fc.integer({ min: -6, max: 6 }), fc.integer({ min: -6, max: 6 }), fc.integer({ min: 1, max: 3 }))
        .map(([s, l, seed, dim, start, end, step]) => elementwise([s], [l], seed, [dim % s.length, start, end, step]));
    case "gather":
      return fc.tuple(shapeArb(1, 3), layoutArb, seedArb).map(([s, l, seed]) => {
        const rng = new Generator(seed + 3);
        const dim = rng.below(s.length);
        const idxShape = s.map((d, i) => (i === dim ? 1 + rng.below(5) : 1 + rng.below(d)));
        const index = tensor(Int32Array.from({ length: idxShape.reduce((a, b) => a * b, 1) }, () => rng.below(s[dim]!)), { shape: idxShape });
        return elementwise([s], [l], seed, [dim, index]);
      });
    case "concat":
    case "stack":
      return fc.tuple(shapeArb(1, 3), fc.integer({ min: 1, max: 3 }), layoutArb, seedArb, fc.nat()).map(([s, count, l, seed, k]) => {
        const rng = new Generator(seed);
        const stacking = domain.kind === "stack";
        const dim = stacking ? (k % (s.length + 1)) : k % s.length;
        const shapes = Array.from({ length: count }, () => (stacking ? s : s.map((d, i) => (i === dim ? 1 + rng.below(3) : d))));
        const parts = shapes.map((sh) => viewed(rng, sh, {}, l));
        return {
          leaves: parts.map((p) => p.leaf),
          fn: (...xs: Tensor[]) => op(xs.map((x, i) => parts[i]!.view(x)), dim),
          text: `shapes ${JSON.stringify(shapes)} dim ${dim} layout ${l}`,
        };
      });
    case "matmul":
      return fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.constantFrom("vv", "mv", "vm", "mm", "bmm", "broadcast"), layoutArb, layoutArb, seedArb)
        .map(([n, k, m, form, la, lb, seed]) => {
          const shapes: Record<string, [number[], number[]]> = {
            vv: [[k], [k]], mv: [[n, k], [k]], vm: [[k], [k, m]], mm: [[n, k], [k, m]],
            bmm: [[2, n, k], [2, k, m]], broadcast: [[3, 1, n, k], [2, k, m]],
          };
          return elementwise(shapes[form]!, [la, lb], seed);
        });
    default:
      throw new Error(`all-ops: no argument generator for domain kind "${domain.kind}"`);
  }
}

const ops = Object.entries(kd).filter(([, f]) => typeof f === "function" && (f as { spec?: unknown }).spec !== undefined) as [string, OpFn & { spec: { domain: Domain } }][];

describe("gradcheck of every exported op", () => {
  test("the scan finds the ops", () => {
    const names = ops.map(([n]) => n);
    for (const expected of ["add", "mul", "pow", "sum", "max", "logSumExp", "matmul", "logSoftmax", "softmax", "gather", "concat", "stack", "where"]) {
      expect(names).toContain(expected);
    }
  });

  for (const [name, op] of ops) {
    test(name, () => {
      fc.assert(
        fc.property(caseArb(op, op.spec.domain), (c) => {
          try {
            assertGradcheck(c.fn, c.leaves);
          } catch (e) {
            throw new Error(`${name} with ${c.text}: ${(e as Error).message}`);
          }
        }),
        { numRuns: 40 },
      );
    });
  }
});
