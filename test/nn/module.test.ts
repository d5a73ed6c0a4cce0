import { describe, expect, test } from "vitest";
import {
  Adam, DTypeError, Dropout, Linear, Module, ReLU, Sequential, ShapeError, Tensor, ValueError, countParameters, tensor, zeros,
} from "../../src/index.js";

/** A module with two own parameters and a child, to see the naming and order rules. */
class Block extends Module {
  readonly a: Tensor;
  readonly b: Tensor;
  readonly child: Linear;
  constructor(shared?: Tensor) {
    super();
    this.a = this.registerParameter("a", zeros([2]));
    this.child = this.registerModule("child", new Linear(2, 3));
    this.b = this.registerParameter("b", shared ?? zeros([3]));
  }
  forward(x: Tensor): Tensor {
    return this.child.forward(x.add(this.a)).add(this.b);
  }
}

class Helper extends Module {
  readonly scratch = zeros([5]); // a tensor field that is not registered: not a parameter
  forward(x: Tensor): Tensor {
    return x;
  }
}

describe("registration and names", () => {
  test("own parameters come first (in registration order), then each child's, with dotted names", () => {
    const m = new Block();
    expect(m.namedParameters().map(([n]) => n)).toEqual(["a", "b", "child.weight", "child.bias"]);
    expect(m.parameters()).toEqual([m.a, m.b, m.child.weight, m.child.bias]);
    expect(m.parameters().every((p) => p.requiresGrad && p.isLeaf)).toBe(true);
    const outer = new Sequential(new Block(), new ReLU(), new Block());
    expect(outer.namedParameters().map(([n]) => n)).toEqual([
      "0.a", "0.b", "0.child.weight", "0.child.bias", "2.a", "2.b", "2.child.weight", "2.child.bias",
    ]);
  });

  test("fields are not scanned: only registered tensors are parameters", () => {
    expect(new Helper().parameters()).toEqual([]);
    expect(countParameters(new Helper())).toBe(0);
  });

  test("a tensor shared by two layers is one parameter but appears under both names in the state dict", () => {
    const shared = zeros([3]);
    const m = new Sequential(new Block(shared), new Block(shared));
    expect(m.parameters().filter((p) => p === shared)).toHaveLength(1);
    expect(m.namedParameters().map(([n]) => n)).not.toContain("1.b");
    expect([...m.stateDict().keys()]).toContain("1.b");
    expect(countParameters(m)).toBe(2 * (2 + 6 + 3 + 3) - 3); // a, child.weight, child.bias, b; the shared b once
  });

  test("registerParameter and registerModule check their arguments", () => {
    class Bad extends Module {
      constructor(what: string) {
        super();
        const t = tensor([1, 2, 3, 4], { shape: [2, 2] });
        if (what === "dot") this.registerParameter("a.b", zeros([1]));
        if (what === "twice") {
          this.registerParameter("w", zeros([1]));
          this.registerModule("w", new ReLU());
        }
        if (what === "nonleaf") this.registerParameter("w", zeros([1], { requiresGrad: true }).mul(2));
        if (what === "int") this.registerParameter("w", zeros([1], { dtype: "int32" }));
        if (what === "view") this.registerParameter("w", t.T);
        if (what === "module") this.registerModule("m", {} as Module);
      }
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    expect(() => new Bad("dot")).toThrow(/^registerParameter: name must be a non-empty string without dots, got "a.b"$/);
    expect(() => new Bad("twice")).toThrow(/^registerModule: "w" is already registered on Bad$/);
    expect(() => new Bad("nonleaf")).toThrow(/^registerParameter: "w" must be a leaf tensor/);
    expect(() => new Bad("int")).toThrow(DTypeError);
    expect(() => new Bad("view")).toThrow(/^registerParameter: "w" must own contiguous storage/);
    expect(() => new Bad("module")).toThrow(/^registerModule: "m" must be a Module, got /);
  });

  test("a module cannot be inside itself (every walk of the tree would never end); a shared branch is fine", () => {
    class Holder extends Module {
      add(name: string, m: Module): void {
        this.registerModule(name, m);
      }
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    const a = new Holder();
    expect(() => a.add("self", a)).toThrow(/^registerModule: "self" \(Holder\) is the Holder it is registered on: a module cannot be inside itself$/);
    const b = new Holder();
    const c = new Holder();
    a.add("b", b);
    b.add("c", c);
    expect(() => c.add("a", a)).toThrow(/^registerModule: "a" \(Holder\) contains the Holder it is registered on/);
    // Refused, nothing was registered: the tree's walks still end.
    expect(a.namedChildren().map(([n]) => n)).toEqual(["b"]);
    expect(String(a)).toContain("(c): Holder()");
    // The same Linear under two names (a repeated branch, no cycle) is listed once by parameters().
    const shared = new Linear(2, 2);
    const d = new Holder();
    d.add("x", shared);
    d.add("y", shared);
    expect(d.parameters()).toHaveLength(2);
    expect([...d.stateDict().keys()]).toEqual(["x.weight", "x.bias", "y.weight", "y.bias"]);
  });
});

describe("train and eval", () => {
  test("set the flag on every descendant and return the module", () => {
    const inner = new Sequential(new Dropout(0.5));
    const m = new Sequential(new Linear(2, 2), inner);
    expect(m.training && inner.training && inner.layers[0]!.training).toBe(true);
    expect(m.eval()).toBe(m);
    expect([m.training, inner.training, inner.layers[0]!.training]).toEqual([false, false, false]);
    m.train();
    expect([m.training, inner.training, inner.layers[0]!.training]).toEqual([true, true, true]);
    m.train(false);
    expect(inner.layers[0]!.training).toBe(false);
  });
});

describe("stateDict and loadStateDict", () => {
  const net = (): Sequential => new Sequential(new Linear(3, 4), new ReLU(), new Linear(4, 2));

  test("stateDict lists the parameters in order as detached tensors sharing their storage", () => {
    const m = net();
    const sd = m.stateDict();
    expect([...sd.keys()]).toEqual(["0.weight", "0.bias", "2.weight", "2.bias"]);
    const w = sd.get("0.weight")!;
    expect(w.requiresGrad).toBe(false);
    expect(w.data).toBe((m.layers[0] as Linear).weight.data);
  });

  test("loading copies the values into the existing storage (optimizers keep working)", () => {
    const a = net();
    const b = net();
    const before = b.parameters();
    const storage = before.map((p) => p.data);
    const opt = new Adam(b.parameters(), { lr: 0.1 });
    expect(b.loadStateDict(a.stateDict())).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect(b.parameters()).toEqual(before);
    b.parameters().forEach((p, i) => expect(p.data).toBe(storage[i]));
    for (const [name, t] of a.stateDict()) expect(b.stateDict().get(name)!.toFlatArray()).toEqual(t.toFlatArray());
    // The optimizer built before the load still updates the same tensors.
    const w = (b.layers[0] as Linear).weight;
    w.grad = zeros(w.shape).add(1);
    const old = w.toFlatArray();
    opt.step();
    expect(w.toFlatArray().every((v, i) => v < old[i]!)).toBe(true);
  });

  test("a plain object works as well as a Map, and float64 values convert to float32", () => {
    const m = new Linear(2, 1);
    m.loadStateDict({ weight: tensor([[0.1, 0.2]], { dtype: "float64" }), bias: tensor([0.3], { dtype: "float64" }) });
    expect(m.weight.dtype).toBe("float32");
    expect(m.weight.toFlatArray()).toEqual([Math.fround(0.1), Math.fround(0.2)]);
    expect(m.bias!.item()).toBe(Math.fround(0.3));
  });

  test("a missing key, an unexpected key and a shape mismatch are typed errors naming them", () => {
    const m = net();
    const sd = m.stateDict();
    const missing = new Map(sd);
    missing.delete("2.bias");
    expect(() => m.loadStateDict(missing)).toThrow(ValueError);
    expect(() => m.loadStateDict(missing)).toThrow(/^loadStateDict: missing key\(s\) in state dict for Sequential: "2.bias"$/);
    const extra = new Map(sd).set("3.weight", zeros([1]));
    expect(() => m.loadStateDict(extra)).toThrow(/^loadStateDict: unexpected key\(s\) in state dict for Sequential: "3.weight"$/);
    const wrong = new Map(sd).set("2.weight", zeros([4, 2]));
    expect(() => m.loadStateDict(wrong)).toThrow(ShapeError);
    expect(() => m.loadStateDict(wrong)).toThrow(/^loadStateDict: "2.weight" has shape \[4,2\] in the state dict but \[2,4\] in the module$/);
    const ints = new Map(sd).set("0.bias", zeros([4], { dtype: "int32" }));
    expect(() => m.loadStateDict(ints)).toThrow(/^loadStateDict: "0.bias" is int32 in the state dict but float32 in the module$/);
  });

  test("a failed load changes nothing, even for the keys checked before the bad one", () => {
    const m = net();
    const snapshot = m.parameters().map((p) => p.toFlatArray());
    const other = net().stateDict();
    other.set("2.bias", zeros([3]));
    expect(() => m.loadStateDict(other)).toThrow(ShapeError);
    expect(m.parameters().map((p) => p.toFlatArray())).toEqual(snapshot);
  });

  test("strict: false loads the keys present, reports the rest, and still checks shapes", () => {
    const m = net();
    const partial = new Map([["0.bias", tensor([1, 2, 3, 4])], ["extra", zeros([1])]]);
    expect(m.loadStateDict(partial, { strict: false })).toEqual({ missingKeys: ["0.weight", "2.weight", "2.bias"], unexpectedKeys: ["extra"] });
    expect((m.layers[0] as Linear).bias!.toFlatArray()).toEqual([1, 2, 3, 4]);
    expect(() => m.loadStateDict(new Map([["0.bias", zeros([5])]]), { strict: false })).toThrow(ShapeError);
  });

  test("zeroGrad clears every parameter's gradient", () => {
    const m = net();
    m.forward(zeros([1, 3])).sum().backward();
    expect(m.parameters().every((p) => p.grad !== null)).toBe(true);
    m.zeroGrad();
    expect(m.parameters().every((p) => p.grad === null)).toBe(true);
  });
});
