/**
 * Module.toString prints the tree as PyTorch's print(model); train()/eval(); and the
 * refusal of a model whose layers were assigned to fields but never registered.
 */
import { inspect } from "node:util";
import { describe, expect, test } from "vitest";
import {
  Adam, Dropout, GELU, Linear, Module, ReLU, SGD, Sequential, Tanh, Tensor, ValueError, mlp, randn, zeros,
} from "../../src/index.js";
import { pythonFloat } from "../../src/nn/module.js";

class Net extends Module {
  readonly body: Sequential;
  readonly head: Linear;
  constructor() {
    super();
    this.body = this.registerModule("body", new Sequential(new Linear(4, 8), new Dropout(0.2), new GELU({ approximate: "tanh" })));
    this.head = this.registerModule("head", new Linear(8, 2, { bias: false }));
  }
  forward(x: Tensor): Tensor {
    return this.head.forward(this.body.forward(x));
  }
}

describe("toString: PyTorch's print(model)", () => {
  test("a Sequential of layers (the text PyTorch prints for nn.Sequential(nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10)))", () => {
    expect(String(mlp([64, 16, 10]))).toBe(
      "Sequential(\n"
      + "  (0): Linear(in_features=64, out_features=16, bias=True)\n"
      + "  (1): ReLU()\n"
      + "  (2): Linear(in_features=16, out_features=10, bias=True)\n"
      + ")",
    );
  });

  test("nesting indents each level by two spaces; settings use PyTorch's spelling", () => {
    expect(new Net().toString()).toBe(
      "Net(\n"
      + "  (body): Sequential(\n"
      + "    (0): Linear(in_features=4, out_features=8, bias=True)\n"
      + "    (1): Dropout(p=0.2, inplace=False)\n"
      + "    (2): GELU(approximate='tanh')\n"
      + "  )\n"
      + "  (head): Linear(in_features=8, out_features=2, bias=False)\n"
      + ")",
    );
    expect(`${new Tanh()}|${new ReLU()}|${new GELU()}|${new Dropout()}|${new Sequential()}`)
      .toBe("Tanh()|ReLU()|GELU(approximate='none')|Dropout(p=0.5, inplace=False)|Sequential()");
  });

  test("Node's inspect (console.log) prints the same tree", () => {
    const m = mlp([3, 2]);
    expect(inspect(m)).toBe(m.toString());
  });

  test("a user's layer: its class name, its extraRepr (several lines go below the name), a subclass keeps its own name", () => {
    class Scale extends Module {
      constructor(readonly factor: number) {
        super();
      }
      override extraRepr(): string {
        return `factor=${this.factor}\nlearned=False`;
      }
      forward(x: Tensor): Tensor {
        return x.mul(this.factor);
      }
    }
    class Wide extends Linear {}
    expect(new Sequential(new Scale(2), new Wide(1, 1)).toString()).toBe(
      "Sequential(\n  (0): Scale(\n    factor=2\n    learned=False\n  )\n  (1): Wide(in_features=1, out_features=1, bias=True)\n)",
    );
  });

  test("floats as Python's repr writes them", () => {
    const cases: [number, string][] = [
      [0.5, "0.5"], [0, "0.0"], [-0, "-0.0"], [1, "1.0"], [0.1, "0.1"], [0.25, "0.25"], [123.25, "123.25"],
      [1e-4, "0.0001"], [1e-5, "1e-05"], [1.5e-7, "1.5e-07"], [1e15, "1000000000000000.0"], [1e16, "1e+16"],
      [-2.5, "-2.5"], [1 / 3, "0.3333333333333333"], [NaN, "nan"], [Infinity, "inf"], [-Infinity, "-inf"],
    ];
    for (const [v, s] of cases) expect(pythonFloat(v), String(v)).toBe(s);
    expect(new Dropout(1e-5).toString()).toBe("Dropout(p=1e-05, inplace=False)");
  });
});

describe("train() and eval()", () => {
  test("set the mode on the whole registered tree and return the module; only Dropout reads it", () => {
    const net = new Net();
    const dropout = net.body.layers[1] as Dropout;
    expect(net.eval()).toBe(net);
    expect([net.training, net.body.training, dropout.training, net.head.training]).toEqual([false, false, false, false]);
    const x = randn([5, 4]);
    expect(dropout.forward(x)).toBe(x); // the identity in eval mode
    expect(net.train()).toBe(net);
    expect(dropout.training).toBe(true);
    expect(dropout.forward(zeros([1000]).add(1)).toFlatArray().some((v) => v === 0)).toBe(true);
    expect(() => net.train("no" as unknown as boolean)).toThrow(/^train: mode must be true or false, got "no"$/);
  });
});

describe("layers assigned to fields but never registered", () => {
  test("an optimizer given the model's empty parameter list names the fields and the fix", () => {
    class Forgot extends Module {
      fc1 = new Linear(4, 8);
      blocks = [new ReLU(), new Linear(8, 2)];
      w = randn([2], { requiresGrad: true });
      scratch = zeros([3]); // a helper tensor (no grad): not a layer, not named
      forward(x: Tensor): Tensor {
        return this.fc1.forward(x);
      }
    }
    const make = () => new SGD(new Forgot().parameters(), { lr: 0.1 });
    expect(make).toThrow(ValueError);
    expect(make).toThrow(
      /^SGD: params is an empty list: Forgot\.parameters\(\) found no parameters, but its field\(s\) fc1, blocks\[0\], blocks\[1\], w hold layers or tensors that were never registered; kdgrad lists only what a constructor registers \(nothing scans fields\), so write this\.fc = this\.registerModule\("fc", new Linear\(…\)\)/,
    );
  });

  test("inside a registered child the path is dotted; a model with nothing to register says so", () => {
    class Inner extends Module {
      fc = new Linear(2, 2);
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    class Outer extends Module {
      constructor() {
        super();
        this.registerModule("inner", new Inner());
      }
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    expect(() => new Adam(new Outer().parameters())).toThrow(/^Adam: params is an empty list: Outer\.parameters\(\) found no parameters, but its field\(s\) inner\.fc hold/);
    expect(() => new Adam(new ReLU().parameters())).toThrow(/^Adam: params is an empty list: ReLU\.parameters\(\) found no parameters \(the model registers none; kdgrad lists only/);
  });

  test("a module passed instead of its parameters", () => {
    expect(() => new SGD(mlp([2, 2]) as unknown as Tensor[], { lr: 1 })).toThrow(/^SGD: params must be an iterable of tensors, got a module \(Sequential\); pass model\.parameters\(\)$/);
  });
});

test("a user's extraRepr that returns no string is refused by name (found by the fuzz suite: it was a TypeError from split)", () => {
  class Odd extends Module {
    constructor(readonly repr: unknown) {
      super();
      this.registerModule("act", new ReLU());
    }
    override extraRepr(): string {
      return this.repr as string;
    }
    forward(x: Tensor): Tensor {
      return x;
    }
  }
  for (const [repr, shown] of [[undefined, "undefined"], [null, "null"], [3, "3"]] as const) {
    expect(() => String(new Odd(repr))).toThrow(ValueError);
    expect(() => String(new Odd(repr))).toThrow(new RegExp(`^toString: Odd\\.extraRepr\\(\\) must return a string, got ${shown}$`));
    // Nested: the layer printing it names the one whose extraRepr is wrong.
    expect(() => String(new Sequential(new Odd(repr)))).toThrow(/^toString: Odd\.extraRepr\(\)/);
  }
  expect(String(new Odd("k=1"))).toBe("Odd(\n  k=1\n  (act): ReLU()\n)");
});
