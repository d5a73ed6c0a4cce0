import { describe, expect, test } from "vitest";
import {
  DTypeError, Generator, KdgradError, Tensor, ValueError, defineOp, gradcheck, linear, randn, setBackend, getBackend, tensor,
} from "../../src/index.js";

/** y = 3x with a wrong backward (2g): every gradcheck with sane options must reject it. */
const wrong = defineOp({
  name: "wrongTriple",
  forward(_ctx, x: Tensor): Tensor {
    return x.mul(3);
  },
  backward(_ctx, g) {
    return [g.mul(2)];
  },
});

describe("backward(gradient): the upstream gradient", () => {
  test("a float64 upstream on a float32 leaf gives a float32 .grad (converted as PyTorch does)", () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    x.backward(tensor([0.5, 1.5, -2], { dtype: "float64" }));
    expect(x.grad!.dtype).toBe("float32");
    expect(x.grad!.toFlatArray()).toEqual([0.5, 1.5, -2]);
  });

  test("through an op too: each backward rule receives g in its output's dtype", () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    const y = x.mul(2).retainGrad();
    y.backward(tensor([1, 1, 1], { dtype: "float64" }));
    expect([x.grad!.dtype, y.grad!.dtype]).toEqual(["float32", "float32"]);
    expect(x.grad!.toFlatArray()).toEqual([2, 2, 2]);
  });

  test("a float64 upstream into a float32 linear on the wasm backend gives exactly the gradients of a float32 upstream", () => {
    const initial = getBackend();
    try {
      setBackend("wasm");
      const run = (dtype: "float32" | "float64"): Tensor[] => {
        const x = randn([64, 80], { generator: new Generator(1), requiresGrad: true });
        const w = randn([90, 80], { generator: new Generator(2), requiresGrad: true });
        linear(x, w).backward(randn([64, 90], { generator: new Generator(3) }).to(dtype));
        return [x.grad!, w.grad!];
      };
      const [a, b] = [run("float64"), run("float32")];
      for (let i = 0; i < 2; i++) {
        expect(a[i]!.dtype).toBe("float32");
        expect(a[i]!.toFlatArray()).toEqual(b[i]!.toFlatArray());
      }
    } finally {
      setBackend(initial);
    }
  });

  test("an int32 upstream is a DTypeError; a non-tensor a ValueError saying what was expected", () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = x.mul(2);
    expect(() => y.backward(tensor([1, 1], { dtype: "int32" }))).toThrow(DTypeError);
    expect(() => y.backward(tensor([1, 1], { dtype: "int32" }))).toThrow(/^backward: gradient must be float32 or float64, got int32 \(the output is float32\)$/);
    expect(() => y.backward(3 as unknown as Tensor)).toThrow(ValueError);
    expect(() => y.backward(3 as unknown as Tensor)).toThrow(/^backward: gradient must be a Tensor of the output's shape \[2\] \(or absent for a one-element output\), got 3$/);
    expect(() => y.backward([1, 1] as unknown as Tensor)).toThrow(/^backward: gradient must be a Tensor .* got \[1,1\]$/);
    expect(() => y.backward(undefined, null as unknown as {})).toThrow(/^backward: options must be an object such as \{ retainGraph: true \}, got null$/);
    expect(() => y.backward(undefined, { retainGraph: "yes" as unknown as boolean })).toThrow(/^backward: retainGraph must be true or false, got "yes"$/);
    // The graph is untouched by the refusals: a proper call still works.
    y.backward(tensor([1, 1]));
    expect(x.grad!.toFlatArray()).toEqual([2, 2]);
  });
});

describe("gradcheck options are checked", () => {
  const x = (): Tensor => tensor([0.5, -1, 2], { dtype: "float64", requiresGrad: true });
  const big = (): Tensor => randn([100], { dtype: "float64", requiresGrad: true, generator: new Generator(2) });

  test("the defaults reject the wrong backward, in both modes", () => {
    expect(gradcheck(wrong, [x()]).ok).toBe(false);
    expect(gradcheck(wrong, [big()]).ok).toBe(false);
  });

  test("options that would pass any backward are ValueErrors naming the option", () => {
    const cases: [object, RegExp][] = [
      [{ projections: 0 }, /^gradcheck: projections must be a positive integer, got 0$/],
      [{ projections: 1.5 }, /^gradcheck: projections must be a positive integer, got 1\.5$/],
      [{ atol: Infinity }, /^gradcheck: atol must be a finite number >= 0, got Infinity$/],
      [{ rtol: Infinity }, /^gradcheck: rtol must be a finite number >= 0, got Infinity$/],
      [{ atol: -1 }, /^gradcheck: atol must be a finite number >= 0, got -1$/],
      [{ rtol: NaN }, /^gradcheck: rtol must be a finite number >= 0, got NaN$/],
      [{ eps: 0 }, /^gradcheck: eps must be a finite number > 0, got 0$/],
      [{ eps: -1e-6 }, /^gradcheck: eps must be a finite number > 0, got -0\.000001$/],
      [{ seed: -1 }, /^gradcheck: seed must be an integer in \[0, 9007199254740991\], got -1$/],
      [{ fullJacobianMax: 0.5 }, /^gradcheck: fullJacobianMax must be a non-negative integer, got 0\.5$/],
    ];
    for (const [options, message] of cases) {
      let thrown: unknown;
      try {
        gradcheck(wrong, [big()], options);
      } catch (e) {
        thrown = e;
      }
      expect(thrown, JSON.stringify(options)).toBeInstanceOf(ValueError);
      expect((thrown as KdgradError).message).toMatch(message);
    }
    expect(() => gradcheck(3 as unknown as () => Tensor, [x()])).toThrow(/^gradcheck: fn must be a function of the inputs, got 3$/);
    expect(() => gradcheck(wrong, x() as unknown as Tensor[])).toThrow(/^gradcheck: inputs must be a list of the arguments of fn, got a Tensor$/);
  });
});
