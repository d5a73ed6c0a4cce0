/**
 * graphOf and toDot (docs/autograd.md, "Reading the graph"): the recorded graph's nodes, edges,
 * values and gradients, its order, and its DOT text.
 */
import { describe, expect, test } from "vitest";
import { DTypeError, ValueError, graphOf, noGrad, tensor, toDot, type Graph } from "../../src/index.js";

const scalar = (v: number) => tensor(v, { dtype: "float64", requiresGrad: true });

describe("graphOf", () => {
  test("a·b + a: the nodes in order, edges with argument positions, values, then gradients after backward", () => {
    const a = scalar(2), b = scalar(-3);
    const y = a.mul(b).add(a);
    const before = graphOf(y, { names: { a, b, y } });
    expect(before.nodes.map((n) => [n.id, n.op, n.name, n.value, n.grad])).toEqual([
      [0, "leaf", "a", [2], null],
      [1, "leaf", "b", [-3], null],
      [2, "mul", null, [-6], null],
      [3, "add", "y", [-4], null],
    ]);
    expect(before.edges).toEqual([{ from: 0, to: 2, arg: 0 }, { from: 1, to: 2, arg: 1 }, { from: 2, to: 3, arg: 0 }, { from: 0, to: 3, arg: 1 }]);
    expect(before.output).toBe(3);
    y.backward();
    // ∂y/∂a = b + 1 = −2, ∂y/∂b = a = 2; and the copies taken before are not changed.
    const after = graphOf(y);
    expect(after.nodes.map((n) => n.grad)).toEqual([[-2], [2], null, null]);
    expect(before.nodes[0]!.grad).toBe(null);
  });

  test("retainGrad shows an intermediate's gradient; shapes and dtypes are the tensors'", () => {
    const x = tensor([[1, 2, 3], [4, 5, 6]], { requiresGrad: true });
    const h = x.exp().retainGrad();
    const y = h.sum();
    y.backward();
    const g = graphOf(y);
    const exp = g.nodes.find((n) => n.op === "exp")!;
    expect(exp.shape).toEqual([2, 3]);
    expect(exp.dtype).toBe("float32");
    expect(exp.grad).toEqual([1, 1, 1, 1, 1, 1]);
    expect(g.nodes[0]!.grad).toEqual(exp.value); // d Σ exp(x) / dx = exp(x)
  });

  test("arguments that need no gradient are not in the graph; x·x has two edges from x", () => {
    const x = scalar(3);
    const c = tensor(5, { dtype: "float64" });
    const y = x.mul(x).add(c).mul(2);
    const g = graphOf(y);
    expect(g.nodes.map((n) => n.op)).toEqual(["leaf", "mul", "add", "mul"]);
    expect(g.edges.filter((e) => e.to === 1).map((e) => [e.from, e.arg])).toEqual([[0, 0], [0, 1]]);
    expect(graphOf(noGrad(() => x.mul(2))).nodes.map((n) => n.op)).toEqual(["leaf"]);
  });

  test("every edge goes forward (a topological order), over a random chain of ops", () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const leaves = [scalar(0.5), scalar(-1.5), scalar(2)];
    const made = [...leaves];
    for (let i = 0; i < 40; i++) {
      const p = made[Math.floor(rand() * made.length)]!, q = made[Math.floor(rand() * made.length)]!;
      made.push(rand() < 0.5 ? p.add(q).tanh() : p.mul(q));
    }
    const g = graphOf(made.at(-1)!);
    for (const e of g.edges) expect(e.from).toBeLessThan(e.to);
    expect(g.nodes.map((n) => n.id)).toEqual(g.nodes.map((_, i) => i));
    expect(g.output).toBe(g.nodes.length - 1);
  });

  test("bad arguments: typed errors naming graphOf and the argument", () => {
    expect(() => graphOf([1, 2] as never)).toThrow(DTypeError);
    expect(() => graphOf([1, 2] as never)).toThrow(/graphOf: y must be a Tensor/);
    const x = scalar(1);
    expect(() => graphOf(x, { names: { x: 3 as never } })).toThrow(/graphOf: options.names.x must be a Tensor, got 3/);
    expect(() => graphOf(x, { nmaes: {} } as never)).toThrow(ValueError);
    expect(() => graphOf(x, { names: [x] as never })).toThrow(/graphOf: options.names must be an object/);
  });
});

describe("toDot", () => {
  test("one statement per node and edge, labels with name, shape, values and gradients", () => {
    const a = scalar(2), b = scalar(-3);
    const y = a.mul(b).add(a);
    y.backward();
    const dot = toDot(graphOf(y, { names: { a, b } }));
    expect(dot).toBe([
      "digraph kdgrad {",
      "  rankdir=LR;",
      '  node [fontname="Helvetica", fontsize=10];',
      '  n0 [shape=box, label="a\\n[] float64\\nvalue 2\\ngrad -2"];',
      '  n1 [shape=box, label="b\\n[] float64\\nvalue -3\\ngrad 2"];',
      '  n2 [shape=ellipse, label="mul\\n[] float64\\nvalue -6"];',
      '  n3 [shape=ellipse, label="add\\n[] float64\\nvalue -4"];',
      '  n0 -> n2 [label="0"];',
      '  n1 -> n2 [label="1"];',
      '  n2 -> n3 [label="0"];',
      '  n0 -> n3 [label="1"];',
      "}",
      "",
    ].join("\n"));
  });

  test("long values are cut to four, numbers to four digits, quotes in names escaped", () => {
    const x = tensor([Math.PI, 1, 2, 3, 4], { dtype: "float64", requiresGrad: true });
    const dot = toDot(graphOf(x.neg(), { names: { 'say "x"': x } }));
    expect(dot).toContain('label="say \\"x\\"\\n[5] float64\\nvalue 3.142, 1, 2, 3, …"');
    expect(dot).toContain("  n0 -> n1;");
  });

  test("a graph not as graphOf makes it is refused, naming the field", () => {
    const g = graphOf(scalar(1).exp());
    const edit = (f: (g: Graph) => void): Graph => {
      const copy = structuredClone(g);
      f(copy);
      return copy;
    };
    expect(() => toDot(null as never)).toThrow(/toDot: graph must be/);
    expect(() => toDot({ nodes: [] } as never)).toThrow(/toDot: graph.edges must be a list/);
    expect(() => toDot(edit((c) => void (c.edges[0]!.to = 9)))).toThrow(/toDot: graph.edges\[0\].to must be a node id in \[0, 2\), got 9/);
    expect(() => toDot(edit((c) => void (c.nodes[1]!.op = 5 as never)))).toThrow(ValueError);
    expect(() => toDot(edit((c) => void (c.nodes[1]!.value = ["x"] as never)))).toThrow(/nodes\[1\].value must be a list of numbers/);
    expect(() => toDot(edit((c) => void (c.nodes[1]!.id = 0)))).toThrow(/nodes\[1\].id must be 1/);
  });
});
