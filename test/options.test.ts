/**
 * Every options object of the public API (the losses excepted for now: src/losses is being
 * converted) goes through one checker, src/tensor/options.ts: an unknown key is a ValueError
 * naming the key (and the nearest allowed one, for a typo), a null value is a ValueError (null is
 * not "absent"), and anything but a plain object is a ValueError saying what was given. Before the
 * checker, `zeros([2], { dtpye: "float64" })` silently made float32, `{ dtype: null }` read as the
 * default, and `rand([2], generator)` as "no options".
 */
import { describe, expect, test } from "vitest";
import * as kd from "../src/index.js";
import { Generator, KdgradError, Tensor, ValueError, tensor, zeros } from "../src/index.js";

/** [the function's name in messages, a call passing `o` as its options object, a key it allows] */
type Case = [string, (o: unknown) => unknown, string];

const x = (): Tensor => tensor([[1, 2], [3, 4]], { dtype: "float64" });
const leaf = (): Tensor => tensor([0.5, -1], { dtype: "float64", requiresGrad: true });
const params = (): Tensor[] => [leaf()];

const cases: Case[] = [
  ["tensor", (o) => tensor([1, 2], o as kd.TensorOptions), "dtype"],
  ["zeros", (o) => zeros([2], o as never), "dtype"],
  ["ones", (o) => kd.ones([2], o as never), "requiresGrad"],
  ["full", (o) => kd.full([2], 3, o as never), "dtype"],
  ["arange", (o) => kd.arange(0, 3, 1, o as never), "dtype"],
  ["eye", (o) => kd.eye(2, 2, o as never), "dtype"],
  ["rand", (o) => kd.rand([2], o as never), "generator"],
  ["randn", (o) => kd.randn([2], o as never), "generator"],
  ["randint", (o) => kd.randint(0, 3, [2], o as never), "generator"],
  ["zerosLike", (o) => kd.zerosLike(x(), o as never), "dtype"],
  ["onesLike", (o) => kd.onesLike(x(), o as never), "dtype"],
  ["fullLike", (o) => kd.fullLike(x(), 2, o as never), "dtype"],
  ["randLike", (o) => kd.randLike(x(), o as never), "generator"],
  ["randnLike", (o) => kd.randnLike(x(), o as never), "generator"],
  ["backward", (o) => leaf().mul(2).sum().backward(undefined, o as never), "retainGraph"],
  ["gradients", (o) => { const a = leaf(); return kd.gradients([a.mul(a).sum()], [a], [], o as never); }, "allowUnused"],
  ["gradcheck", (o) => kd.gradcheck((a: Tensor) => a.tanh(), [leaf()], o as never), "atol"],
  ["assertGradcheck", (o) => kd.assertGradcheck((a: Tensor) => a.tanh(), [leaf()], o as never), "atol"],
  ["gradgradcheck", (o) => kd.gradgradcheck((a: Tensor) => a.tanh(), [leaf()], o as never), "eps"],
  ["assertGradgradcheck", (o) => kd.assertGradgradcheck((a: Tensor) => a.tanh(), [leaf()], o as never), "eps"],
  ["Linear", (o) => new kd.Linear(2, 3, o as never), "bias"],
  ["GELU", (o) => new kd.GELU(o as never), "approximate"],
  ["Dropout", (o) => new kd.Dropout(0.5, o as never), "generator"],
  ["mlp", (o) => kd.mlp([2, 3], o as never), "activation"],
  ["loadStateDict", (o) => new kd.Linear(2, 2).loadStateDict(new kd.Linear(2, 2).stateDict(), o as never), "strict"],
  ["SGD", (o) => new kd.SGD(params(), o as never), "momentum"],
  ["Adam", (o) => new kd.Adam(params(), o as never), "betas"],
  ["AdamW", (o) => new kd.AdamW(params(), o as never), "eps"],
  ["batches", (o) => kd.batches(x(), tensor([0, 1], { dtype: "int32" }), o as never), "shuffle"],
  ["dkdLoss", (o) => kd.dkdLoss(x(), x().mul(0.5), tensor([0, 1], { dtype: "int32" }), o as never), "beta"],
  ["distLoss", (o) => kd.distLoss(x(), x().mul(0.5), o as never), "gamma"],
  ["nkdLoss", (o) => kd.nkdLoss(x(), x().mul(0.5), tensor([0, 1], { dtype: "int32" }), o as never), "gamma"],
  ["wsldLoss", (o) => kd.wsldLoss(x(), x().mul(0.5), tensor([0, 1], { dtype: "int32" }), o as never), "alpha"],
];

/** The error `f` throws (the test fails if it returns). */
function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error("no error was thrown");
}

/** The options object that makes each call valid (SGD needs lr, batches a batchSize). */
const base = (fn: string): Record<string, unknown> => (fn === "SGD" ? { lr: 0.1 } : fn === "batches" ? { batchSize: 1 } : {});
const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

describe("one options checker for the public API", () => {
  for (const [fn, call, key] of cases) {
    test(`${fn}: an unknown key, a null value and a non-object are ValueErrors naming ${fn}`, () => {
      expect(() => call(base(fn))).not.toThrow();
      // A key left out or set to undefined is absent (JavaScript's convention).
      expect(() => call({ ...base(fn), [key]: undefined })).not.toThrow();
      const unknown = thrown(() => call({ ...base(fn), temprature: 2 }));
      expect(unknown).toBeInstanceOf(ValueError);
      expect(unknown.message).toMatch(new RegExp(`^${escape(fn)}: unknown key "temprature" in options \\(allowed: .*\\b${key}\\b.*\\)$`));
      const nul = thrown(() => call({ ...base(fn), [key]: null }));
      expect(nul).toBeInstanceOf(ValueError);
      expect(nul.message).toBe(`${fn}: options.${key} is null; leave it out for the default`);
      for (const bad of [null, 3, "x", [], new Generator(0)]) {
        const e = thrown(() => call(bad));
        expect(e, `${fn} with options ${String(bad)}`).toBeInstanceOf(KdgradError);
        expect(e.message).toMatch(new RegExp(`^${escape(fn)}: options must be an object with keys among `));
      }
    });
  }

  test("a typo is named, with the keys allowed", () => {
    expect(() => zeros([2], { dtpye: "float64" } as never)).toThrow(/^zeros: unknown key "dtpye" in options \(allowed: dtype, requiresGrad\)$/);
    expect(() => new kd.Adam([leaf()], { betas: [0.9, 0.99], weightdecay: 0.1 } as never)).toThrow(/^Adam: unknown key "weightdecay" in options \(allowed: lr, betas, eps, weightDecay, amsgrad\)$/);
    expect(() => new kd.SGD([leaf()], { lr: 0.1, learningRate: 0.1 } as never)).toThrow(/^SGD: unknown key "learningRate" in options \(allowed: lr, /);
  });

  test("keys named like Object.prototype members (from JSON.parse or a file) are ordinary unknown keys", () => {
    const o = JSON.parse('{"__proto__": {"dtype": "float64"}}') as object;
    expect(() => zeros([2], o as never)).toThrow(/^zeros: unknown key "__proto__" in options/);
    expect(() => kd.rand([2], Object.create(null) as never)).not.toThrow();
  });

  test("the *Like functions take x's dtype when options.dtype is absent or undefined", () => {
    expect(kd.zerosLike(x(), { dtype: undefined }).dtype).toBe("float64");
    expect(kd.fullLike(x(), 2, { requiresGrad: true }).dtype).toBe("float64");
  });
});
