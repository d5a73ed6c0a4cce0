import { describe, expect, test } from "vitest";
import {
  DTypeError, Generator, KdgradError, Tensor, ValueError, defineComposite, defineOp, gradcheck, linear, randn, setBackend, getBackend, tensor,
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
    expect(() => y.backward(undefined, null as unknown as {})).toThrow(/^backward: options must be an object with keys among retainGraph, createGraph, got null$/);
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
    expect(() => gradcheck(3 as unknown as () => Tensor, [x()])).toThrow(/^gradcheck: fn must be a function, got 3$/);
    expect(() => gradcheck(wrong, x() as unknown as Tensor[])).toThrow(/^gradcheck: inputs must be a list of the arguments of fn, got a Tensor$/);
  });
});

describe("defineOp and defineComposite check what they are given and what the spec returns", () => {
  const square = {
    name: "userSquare",
    forward(ctx: { save(o: object): void }, t: Tensor): Tensor {
      ctx.save({ t });
      return t.mul(t);
    },
    backward(ctx: { saved: { t: Tensor } }, g: Tensor): Tensor[] {
      return [g.mul(ctx.saved.t).mul(2)];
    },
  };
  const leaf = (shape = [2, 3]): Tensor => randn(shape, { dtype: "float64", generator: new Generator(4), requiresGrad: true });
  /** The error of calling f: its class and message. */
  const refusal = (f: () => unknown): Error => {
    try {
      f();
    } catch (e) {
      return e as Error;
    }
    throw new Error("no error");
  };

  test("the spec: an object with exactly name (a non-empty string), forward and backward (functions)", () => {
    const op = defineOp(square);
    expect(gradcheck(op, [leaf()]).ok).toBe(true);
    const bad: [unknown, RegExp][] = [
      [null, /^defineOp: spec must be an object with keys among name, forward, backward, got null$/],
      [undefined, /^defineOp: spec\.name must be a non-empty string, got undefined$/],
      [{ ...square, domain: { inputs: [{}] } }, /^defineOp: unknown key "domain" in spec \(allowed: name, forward, backward\)$/],
      [{ ...square, name: "" }, /^defineOp: spec\.name must be a non-empty string/],
      [{ ...square, name: 3n }, /^defineOp: spec\.name must be a non-empty string, got 3n$/],
      [{ ...square, forward: 3 }, /^defineOp: spec\.forward must be a function, got 3$/],
      [{ name: "half", forward: square.forward }, /^defineOp: spec\.backward must be a function, got undefined$/],
    ];
    for (const [spec, message] of bad) {
      const e = refusal(() => defineOp(spec as never));
      expect(e, String(message)).toBeInstanceOf(ValueError);
      expect(e.message).toMatch(message);
    }
  });

  test("forward must return a Tensor; backward a list of gradients that fit their inputs, named after the op", () => {
    expect(refusal(() => (defineOp({ ...square, forward: () => 3 as never }) as (t: Tensor) => Tensor)(leaf())).message).toBe("userSquare: forward must return a Tensor, got 3");
    const backwardOf = (backward: () => unknown): Error => {
      const y = defineOp({ ...square, backward } as never)(leaf()) as Tensor;
      return refusal(() => y.sum().backward());
    };
    const cases: [() => unknown, RegExp][] = [
      [() => undefined, /^userSquare: backward must return a list of gradients, got undefined$/],
      [() => [2], /^userSquare: backward returned 2 for argument 0 of float64 shape \[2,3\]; expected null or a float tensor broadcasting to it$/],
      [() => [tensor([0, 0, 0], { dtype: "int32" }).reshape([1, 3]).expand([2, 3])], /^userSquare: backward returned a tensor of dtype int32 and shape \[2,3\] for argument 0/],
      [() => [randn([7, 5], { dtype: "float64" })], /^userSquare: backward returned a tensor of dtype float64 and shape \[7,5\] for argument 0 of float64 shape \[2,3\]; expected null or a float tensor broadcasting to it$/],
      [() => [randn([3], { dtype: "float64" })], /^userSquare: backward returned a tensor of dtype float64 and shape \[3\] for argument 0 of float64 shape \[2,3\]/],
    ];
    for (const [backward, message] of cases) {
      const e = backwardOf(backward);
      expect(e, String(message)).toBeInstanceOf(KdgradError);
      expect(e.message).toMatch(message);
    }
    // A gradient in a broadcast shape (more leading axes, or size where the input has 1) is summed back, as for every op.
    const y = defineOp({ ...square, backward: () => [tensor([[[1, 1, 1], [1, 1, 1]], [[1, 1, 1], [1, 1, 1]]], { dtype: "float64" })] })(leaf());
    const x0 = leaf();
    const z = defineOp({ ...square, backward: () => [tensor([[[1, 1, 1], [1, 1, 1]], [[1, 1, 1], [1, 1, 1]]], { dtype: "float64" })] })(x0);
    z.sum().backward();
    expect(x0.grad!.toArray()).toEqual([[2, 2, 2], [2, 2, 2]]);
    expect(y.shape).toEqual([2, 3]);
    // Errors the spec's own functions throw pass through untouched.
    class Mine extends Error {}
    const throwing = defineOp({ ...square, forward: (): Tensor => { throw new Mine("mine"); } }) as (t: Tensor) => Tensor;
    expect(() => throwing(leaf())).toThrow(Mine);
  });

  test("defineComposite: a non-empty name, a function, and a Tensor back; defining it twice on one function works", () => {
    const f = (t: Tensor): Tensor => t.tanh().sum();
    expect(defineComposite("c1", f)(leaf()).size).toBe(1);
    expect(defineComposite("c2", f)(leaf()).size).toBe(1);
    expect(refusal(() => defineComposite("", f)).message).toBe('defineComposite: name must be a non-empty string, got ""');
    expect(refusal(() => defineComposite("c3", 3 as never)).message).toBe("defineComposite: fn must be a function, got 3");
    expect(refusal(() => (defineComposite("c4", (() => 3) as never) as (t: Tensor) => Tensor)(leaf())).message).toBe("c4: the function must return a Tensor, got 3");
  });
});
