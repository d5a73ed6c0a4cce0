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
import { Generator, Tensor, assertGradcheck, assertGradgradcheck, jvp, noGrad, softmax, tensor } from "../src/index.js";
import { opSamples, type Domain } from "./op-samples.js";
import { broadcastPairArb, shapeArb, viewed, type Layout } from "./arbitraries.js";
import { opSpec } from "../src/ops/define-op.js";

interface Case {
  leaves: Tensor[];
  fn: (...leaves: Tensor[]) => Tensor;
  text: string;
  /** The inputs as the op sees them (each leaf through its view), where a domain needs their values. */
  inputs?: () => Tensor[];
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
      inputs: () => parts.map((p) => p.view(p.leaf.detach())),
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
          : [pick(rng, [undefined, single, multi.length ? multi : [single]] as const), keepDim]; // dim = [] is refused
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
    case "linear":
      return fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.constantFrom("1d", "2d", "3d"), fc.boolean(), layoutArb, layoutArb, seedArb)
        .map(([n, inF, out, form, biased, lx, lw, seed]) => {
          const x = form === "1d" ? [inF] : form === "2d" ? [n, inF] : [2, n, inF];
          return biased ? elementwise([x, [out, inF], [out]], [lx, lw, "plain"], seed) : elementwise([x, [out, inF]], [lx, lw], seed, [null]);
        });
    case "crossEntropy":
    case "nllLoss":
      return fc
        .record({
          n: fc.integer({ min: 1, max: 4 }), c: fc.integer({ min: 2, max: 5 }), form: fc.constantFrom("2d", "1d", "kd"),
          soft: fc.boolean(), reduction: fc.constantFrom("mean", "sum", "none"), smoothing: fc.constantFrom(0, 0.1, 1),
          weighted: fc.boolean(), ignore: fc.boolean(), layout: layoutArb, seed: seedArb,
        })
        .map(({ n, c, form, soft, reduction, smoothing, weighted, ignore, layout, seed }) => {
          const rng = new Generator(seed);
          const shape = form === "1d" ? [c] : form === "kd" ? [n, c, 2] : [n, c];
          const rowShape = shape.filter((_, i) => i !== (form === "1d" ? 0 : 1));
          const x = viewed(rng, shape, domain.inputs[0]!, layout);
          const weight = weighted ? Array.from({ length: c }, () => 0.5 + rng.uniform()) : undefined;
          const isCe = domain.kind === "crossEntropy";
          if (isCe && soft) {
            const t = viewed(rng, shape, { range: [0.05, 1] }, "plain");
            const options = { reduction, labelSmoothing: smoothing, weight };
            return { leaves: [x.leaf, t.leaf], fn: (a: Tensor, b: Tensor) => op(x.view(a), b, options), text: `soft ${JSON.stringify({ shape, ...options })}` };
          }
          const count = rowShape.reduce((a, b) => a * b, 1);
          // Keep at least one position un-ignored so 'mean' has a denominator.
          const labels = Array.from({ length: count }, (_, i) => (ignore && i > 0 && rng.below(3) === 0 ? -100 : rng.below(c)));
          const target = tensor(Int32Array.from(labels), { shape: rowShape });
          const options = isCe ? { reduction, labelSmoothing: smoothing, weight } : { reduction, weight };
          return { leaves: [x.leaf], fn: (a: Tensor) => op(x.view(a), target, options), text: `indices ${JSON.stringify({ shape, labels, ...options })}` };
        });
    case "klDiv":
      return fc.tuple(shapeArb(1, 3), fc.constantFrom("batchmean", "sum", "mean", "none"), fc.boolean(), layoutArb, seedArb)
        .map(([shape, reduction, logTarget, layout, seed]) => {
          const rng = new Generator(seed);
          const x = viewed(rng, shape, domain.inputs[0]!, layout);
          const t = viewed(rng, shape, logTarget ? { range: [-3, 0] } : domain.inputs[1]!, "plain");
          return { leaves: [x.leaf, t.leaf], fn: (a: Tensor, b: Tensor) => op(x.view(a), b, { reduction, logTarget }), text: JSON.stringify({ shape, reduction, logTarget }) };
        });
    case "pair-loss":
      return fc.tuple(shapeArb(0, 3), fc.constantFrom("mean", "sum", "none"), layoutArb, seedArb).map(([shape, reduction, layout, seed]) => {
        const c = elementwise([shape, shape], [layout, "plain"], seed, [{ reduction }]);
        return { ...c, text: `${c.text} ${reduction}` };
      });
    case "distillation":
      // Every option of distillationLoss: the six divergences (β, λ), scaleT2, standardize, the
      // reductions, [B, C] or [B, L, C], ignored rows, and a temperature that is a leaf itself.
      return fc
        .record({
          b: fc.integer({ min: 1, max: 3 }), l: fc.constantFrom(0, 2), c: fc.integer({ min: 2, max: 5 }), T: fc.constantFrom(0.5, 1, 2, 4, 10),
          alpha: fc.constantFrom(0, 0.3, 0.7, 1), labelled: fc.boolean(), ignore: fc.boolean(),
          divergence: fc.constantFrom("forward", "reverse", "jsd", "skewForward", "skewReverse", "tvd"),
          mix: fc.constantFrom(0, 0.2, 0.5), scaleT2: fc.boolean(), standardize: fc.boolean(),
          reduction: fc.constantFrom("mean", "sum", "none"), tensorT: fc.boolean(), layout: layoutArb, seed: seedArb,
        })
        .map(({ b, l, c, T, alpha, labelled, ignore, divergence, mix, scaleT2, standardize, reduction, tensorT, layout, seed }) => {
          const rng = new Generator(seed);
          const lead = l === 0 ? [b] : [b, l];
          const count = lead.reduce((x, y) => x * y, 1);
          // Keep the first row counted, so that 'mean' has a denominator.
          const labels = tensor(Int32Array.from({ length: count }, (_, i) => (ignore && i > 0 && rng.below(2) === 0 ? -100 : rng.below(c))), { shape: lead });
          const param = divergence === "jsd" ? { beta: mix === 0 ? 0.3 : mix } : divergence.startsWith("skew") ? { skew: mix } : {};
          const options = {
            ...(labelled ? { labels, alpha } : {}), divergence, ...param, scaleT2, standardize, reduction,
          } as Record<string, unknown>;
          const shape = [...lead, c];
          const x = viewed(rng, shape, domain.inputs[0]!, layout);
          const y = viewed(rng, shape, domain.inputs[1]!, "plain");
          const text = JSON.stringify({ shape, T, tensorT, ...options, labels: labels.toFlatArray() });
          if (!tensorT) return { leaves: [x.leaf, y.leaf], fn: (a: Tensor, t: Tensor) => op(x.view(a), t, { ...options, temperature: T }), text };
          const temperature = tensor(T, { dtype: "float64", requiresGrad: true });
          return {
            leaves: [x.leaf, y.leaf, temperature],
            fn: (a: Tensor, t: Tensor, tt: Tensor) => op(x.view(a), t, { ...options, temperature: tt }),
            text,
          };
        });
    case "logits-pair":
      return fc
        .record({ b: fc.integer({ min: 1, max: 4 }), c: fc.integer({ min: 2, max: 6 }), layout: layoutArb, seed: seedArb })
        .map(({ b, c, layout, seed }) => elementwise([[b, c], [b, c]], [layout, "plain"], seed + 1, []));
    case "kd-method":
      // dkdLoss, distLoss, nkdLoss, wsldLoss: (student, teacher[, labels], options), each with
      // options drawn from its own defaults and edges (weights of 0 switch a term off).
      // nkdLoss's and wsldLoss's weights are stop-gradients, whose derivative is not part of
      // the gradient, so finite differences can check them only where the weight is locally
      // constant: the teacher's target logit leads by 40 (softmax(t)_y = 1 and ce_t < 1e-16,
      // so w = 1 to the last bit and its derivative is below 1e-16). The weighted gradients
      // with w in (0, 1) are checked in test/losses/kd-methods.test.ts (frozen weights).
      return fc
        .record({
          b: fc.integer({ min: 1, max: 4 }), c: fc.integer({ min: 2, max: 6 }), T: fc.constantFrom(0.5, 1, 2, 4, 10),
          w1: fc.constantFrom(0, 0.5, 1, 2.5), w2: fc.constantFrom(0, 1, 8), standardize: fc.boolean(), layout: layoutArb, seed: seedArb,
        })
        .map(({ b, c, T, w1, w2, standardize, layout, seed }) => {
          const rng = new Generator(seed);
          const name = op.name;
          const rows = name === "distLoss" ? Math.max(b, 2) : b;
          const y = Int32Array.from({ length: rows }, () => rng.below(c));
          const labels = tensor(y, { shape: [rows] });
          const options =
            name === "dkdLoss" ? { alpha: w1, beta: w2, temperature: T, standardize }
            : name === "distLoss" ? { beta: w1, gamma: w2 === 8 ? 2 : w2, temperature: T }
            : name === "nkdLoss" ? { gamma: w1, temperature: T }
            : { alpha: w1, temperature: T };
          const extra = name === "distLoss" ? [options] : [labels, options];
          const cse = elementwise([[rows, c], [rows, c]], [layout, "plain"], seed + 1, extra);
          if (name === "distLoss") {
            // DIST's gradient is made of terms of size T·γ/(C·N) and T·β/(B·N), N a centred norm of
            // softmax(x/T) over a column or a row (kd-methods.test.ts, distTermSize); where N is
            // small the terms are large and cancel (at B = 2 every column correlation is ±1 and its
            // gradient 0), so the gradient's rounding, ε·T/N, divided by finite differences' step,
            // exceeds their tolerance (a column with N = 1e-4 gave 2e-4 against 1e-6). Finite
            // differences check DIST where every such norm is at least 1e-2 (reject the rest).
            const norms = (x: Tensor): number[] => {
              const Y = softmax(x.div(T), -1).toArray() as number[][];
              const centred = (v: number[]): number => {
                const m = v.reduce((a, b) => a + b, 0) / v.length;
                return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0));
              };
              return [...Y.map(centred), ...Y[0]!.map((_, j) => centred(Y.map((r) => r[j]!)))];
            };
            if (cse.inputs!().some((v) => norms(v).some((n) => n < 1e-2))) return null;
          }
          if (name === "nkdLoss" || name === "wsldLoss") {
            const t = cse.leaves[1]!.data;
            for (let r = 0; r < rows; r++) {
              let top = -Infinity;
              for (let j = 0; j < c; j++) if (j !== y[r]) top = Math.max(top, t[r * c + j]!);
              t[r * c + y[r]!] = top + 40;
            }
          }
          return { ...cse, text: `${name} ${cse.text} labels ${Array.from(y)}` } as Case | null;
        })
        .filter((c): c is Case => c !== null);
    case "sparse":
      // sparseDistillationLoss: student [..., C], the teacher's k distinct classes per row (k up to
      // C) and log-probabilities whose mass is at most 0.95 (so a step of gradcheck cannot push it
      // past 1 + 1e-6; with the tail, P_rest ≥ 0.05 keeps x_rest smooth), leaves student and logprobs.
      return fc
        .record({
          lead: fc.constantFrom<number[]>([], [3], [2, 2]), c: fc.integer({ min: 2, max: 7 }), T: fc.constantFrom(0.5, 1, 2, 4),
          alpha: fc.constantFrom(0, 0.4, 1), labelled: fc.boolean(), ignore: fc.boolean(), tail: fc.boolean(), scaleT2: fc.boolean(),
          reduction: fc.constantFrom("mean", "sum", "none"), layout: layoutArb, seed: seedArb,
        })
        .map(({ lead, c, T, alpha, labelled, ignore, tail, scaleT2, reduction, layout, seed }) => {
          const rng = new Generator(seed);
          const rows = lead.reduce((a, b) => a * b, 1);
          const k = 1 + rng.below(c);
          const idx = new Int32Array(rows * k);
          const lp = new Float64Array(rows * k);
          for (let r = 0; r < rows; r++) {
            const perm = Array.from({ length: c }, (_, i) => i);
            for (let i = c - 1; i > 0; i--) {
              const j = rng.below(i + 1);
              [perm[i], perm[j]] = [perm[j]!, perm[i]!];
            }
            const w = Array.from({ length: k }, () => 0.2 + rng.uniform());
            const mass = 0.3 + 0.65 * rng.uniform();
            const total = w.reduce((a, b) => a + b, 0);
            for (let j = 0; j < k; j++) {
              idx[r * k + j] = perm[j]!;
              lp[r * k + j] = Math.log((mass * w[j]!) / total);
            }
          }
          const indices = tensor(idx, { shape: [...lead, k] });
          const logprobs = tensor(lp, { shape: [...lead, k], requiresGrad: true });
          const labels = tensor(Int32Array.from({ length: rows }, (_, i) => (ignore && i > 0 && rng.below(3) === 0 ? -100 : rng.below(c))), { shape: lead });
          const useLabels = labelled || alpha < 1;
          const options = { ...(useLabels ? { labels, alpha } : {}), temperature: T, tail, scaleT2, reduction };
          const x = viewed(rng, [...lead, c], domain.inputs[0]!, lead.length === 0 ? "plain" : layout);
          return {
            leaves: [x.leaf, logprobs],
            fn: (a: Tensor, b: Tensor) => op(x.view(a), indices, b, options),
            text: `sparse ${JSON.stringify({ lead, c, k, indices: Array.from(idx), ...options, labels: useLabels ? labels.toFlatArray() : undefined, layout })}`,
          };
        });
    case "linear-distillation":
      // linearDistillationLoss: hidden [N, H]·weight [V, H]ᵀ against teacherHidden [N, H']·
      // teacherWeight [V, H']ᵀ, every distillationLoss option, chunks of 1 … N rows, ignored
      // rows, views of hidden and weight, the teacher's matrices leaves or constants, and a
      // temperature leaf.
      return fc
        .record({
          n: fc.integer({ min: 1, max: 4 }), h: fc.integer({ min: 1, max: 3 }), ht: fc.integer({ min: 1, max: 3 }), v: fc.integer({ min: 2, max: 5 }),
          T: fc.constantFrom(0.5, 1, 2, 4), alpha: fc.constantFrom(0, 0.3, 1), labelled: fc.boolean(), ignore: fc.boolean(),
          divergence: fc.constantFrom("forward", "reverse", "jsd", "skewForward", "skewReverse", "tvd"), scaleT2: fc.boolean(),
          standardize: fc.boolean(), reduction: fc.constantFrom("mean", "sum", "none"), tensorT: fc.boolean(), teacherLeaves: fc.boolean(),
          chunk: fc.integer({ min: 1, max: 4 }), layout: layoutArb, seed: seedArb,
        })
        .map(({ n, h, ht, v, T, alpha, labelled, ignore, divergence, scaleT2, standardize, reduction, tensorT, teacherLeaves, chunk, layout, seed }) => {
          const rng = new Generator(seed);
          const labels = tensor(Int32Array.from({ length: n }, (_, i) => (ignore && i > 0 && rng.below(2) === 0 ? -100 : rng.below(v))), { shape: [n] });
          const param = divergence === "jsd" ? { beta: 0.3 } : divergence.startsWith("skew") ? { skew: 0.2 } : {};
          const useLabels = labelled || alpha < 1;
          const options = { ...(useLabels ? { labels, alpha } : {}), divergence, ...param, scaleT2, standardize, reduction, chunkRows: chunk };
          const x = viewed(rng, [n, h], domain.inputs[0]!, layout);
          const w = viewed(rng, [v, h], domain.inputs[1]!, layout);
          const tx = viewed(rng, [n, ht], domain.inputs[0]!, "plain").leaf;
          const tw = viewed(rng, [v, ht], domain.inputs[1]!, "plain").leaf;
          const temperature = tensor(T, { dtype: "float64", requiresGrad: true });
          const text = `linear ${JSON.stringify({ n, h, ht, v, T, tensorT, teacherLeaves, ...options, labels: labels.toFlatArray(), layout })}`;
          const call = (a: Tensor, b: Tensor, c: Tensor, d: Tensor, tt: Tensor | number) => op(x.view(a), w.view(b), c, d, { ...options, temperature: tt });
          if (!teacherLeaves) tx.requiresGrad = tw.requiresGrad = false;
          const leaves = [x.leaf, w.leaf, ...(teacherLeaves ? [tx, tw] : []), ...(tensorT ? [temperature] : [])];
          const fn = (...l: Tensor[]): Tensor => {
            const [a, b] = l as [Tensor, Tensor];
            const [c, d] = teacherLeaves ? [l[2]!, l[3]!] : [tx, tw];
            return call(a, b, c, d, tensorT ? l[l.length - 1]! : T);
          };
          if (standardize) {
            // Standardization's derivatives grow like 1/σ, 1/σ², 1/σ³ as a row's logits draw together
            // (σ their standard deviation), and central differences' truncation error like step²·f‴:
            // a row with σ near 3e-3 put it at 2.9e-5 against a tolerance of 1.4e-5 (the backward was
            // right). Finite differences check rows whose logits have σ ≥ 0.05 on both sides (there
            // the truncation is below 1e-8); rows nearer constant are covered by the standardization's
            // own tests (test/ops/standardize-logits.test.ts, its exact Jacobian at σ = 0).
            const sd = (m: Tensor): number => {
              const rows = m.toArray() as number[][];
              return Math.min(...rows.map((r) => {
                const mu = r.reduce((acc, z) => acc + z, 0) / r.length;
                return Math.sqrt(r.reduce((acc, z) => acc + (z - mu) ** 2, 0) / Math.max(r.length - 1, 1));
              }));
            };
            const studentLogits = x.view(x.leaf.detach()).matmul(w.view(w.leaf.detach()).transpose(0, 1));
            const teacherLogits = tx.detach().matmul(tw.detach().transpose(0, 1));
            if (sd(studentLogits) < 0.05 || sd(teacherLogits) < 0.05) return null;
          }
          return { leaves, fn, text } as Case | null;
        })
        .filter((c): c is Case => c !== null);
    case "temperature":
      return fc.tuple(shapeArb(1, 3), fc.constantFrom(0.5, 1, 3, 10), layoutArb, seedArb).map(([s, T, l, seed]) => elementwise([s], [l], seed, [T]));
    default:
      throw new Error(`all-ops: no argument generator for domain kind "${domain.kind}"`);
  }
}

const ops = Object.entries(kd).filter(([, f]) => opSpec(f) !== undefined) as [string, OpFn & { spec: { name: string } }][];

/** Every differentiable export has samples (test/op-samples.ts); a new op without them fails here. */
function domainOf(op: { spec: { name: string } }): Domain {
  const d = opSamples[op.spec.name];
  if (d === undefined) throw new Error(`all-ops: ${op.spec.name} has no entry in test/op-samples.ts`);
  return d;
}

/** ⟨u, J·t⟩ by central differences against jvp's J·t, with random t and u. */
function checkJvp(c: Case, seed: number): void {
  const rng = new Generator(seed);
  const xs = c.leaves.map((x) => new Tensor(Float64Array.from(x.copyData()), x.shape));
  const ts = xs.map((x) => new Tensor(Float64Array.from({ length: x.size }, () => rng.normal()), x.shape));
  const [y, dy] = jvp((...a: Tensor[]) => c.fn(...a), xs, ts);
  const eps = 1e-6;
  const at = (h: number): Float64Array => Float64Array.from(noGrad(() => c.fn(...xs.map((x, i) => x.add(ts[i]!.mul(h))))).copyData());
  const plus = at(eps);
  const minus = at(-eps);
  const got = dy.copyData();
  expect(dy.shape).toEqual(y.shape);
  for (let o = 0; o < got.length; o++) {
    const numeric = (plus[o]! - minus[o]!) / (2 * eps);
    if (!(Math.abs(numeric - got[o]!) <= 1e-6 + 1e-5 * Math.abs(numeric))) {
      throw new Error(`jvp: (J·t)[${o}] = ${got[o]} but central differences give ${numeric}`);
    }
  }
}

describe("every exported op: gradcheck, gradgradcheck and jvp", () => {
  test("the scan finds the ops, and each has samples", () => {
    const names = ops.map(([n]) => n);
    for (const expected of [
      "add", "mul", "pow", "sum", "max", "logSumExp", "matmul", "linear", "logSoftmax", "softmax", "gather", "concat", "stack", "where",
      "crossEntropy", "nllLoss", "klDiv", "mseLoss", "distillationLoss", "distillationLossComposite", "logitMatchingLoss", "softTargets",
      "dkdLoss", "distLoss", "nkdLoss", "wsldLoss", "sparseDistillationLoss", "linearDistillationLoss",
    ]) {
      expect(names).toContain(expected);
    }
    for (const [, op] of ops) expect(() => domainOf(op)).not.toThrow();
  });

  for (const [name, op] of ops) {
    const run = (what: string, numRuns: number, check: (c: Case, seed: number) => void): void => {
      test(`${name}: ${what}`, () => {
        fc.assert(
          fc.property(caseArb(op, domainOf(op)), fc.nat(), (c, seed) => {
            try {
              check(c, seed);
            } catch (e) {
              throw new Error(`${name} ${what} with ${c.text}: ${(e as Error).message}`);
            }
          }),
          { numRuns },
        );
      });
    };
    run("gradcheck", 40, (c) => assertGradcheck(c.fn, c.leaves));
    run("gradgradcheck", 12, (c) => assertGradgradcheck(c.fn, c.leaves));
    run("jvp", 12, checkJvp);
  }
});
