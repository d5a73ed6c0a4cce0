import { ValueError } from "../tensor/errors.js";
import { checkOptions } from "../tensor/options.js";
import { describeValue } from "../tensor/shape.js";
import { Tensor, checkTensor } from "../tensor/tensor.js";
import type { DType } from "../tensor/dtype.js";

/** One tensor of a recorded graph (see `graphOf`). */
export interface GraphNode {
  /** Its position in `Graph.nodes`; inputs always come before the nodes made from them. */
  id: number;
  /** The op that produced it (`"mul"`, `"logSoftmax"`…), or `"leaf"` for a tensor no op recorded. */
  op: string;
  /** The name given in `graphOf`'s `names` option, or null. */
  name: string | null;
  shape: number[];
  dtype: DType;
  /** Its values, flattened in row-major order (a copy). */
  value: number[];
  /** Its `.grad`, flattened, when it has one (leaves after `backward()`, or after `retainGrad()`); else null. */
  grad: number[] | null;
  requiresGrad: boolean;
}

/** An edge: `from` is the `arg`-th argument of the op that made `to`. */
export interface GraphEdge {
  from: number;
  to: number;
  /** The argument position in the op's call (`sub(a, b)`: a is 0, b is 1). */
  arg: number;
}

/** The recorded graph behind a tensor: nodes in topological order (inputs first), and edges. */
export interface Graph {
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** The id of the tensor `graphOf` was called on (the last node). */
  output: number;
}

/** Options of `graphOf`. */
export interface GraphOfOptions {
  /** Names for tensors of the graph, `{ x, w }`: shown as `GraphNode.name` and in `toDot`. */
  names?: Record<string, Tensor>;
}

/**
 * The graph autograd recorded behind `y`: every tensor `backward()` from `y` would reach, with the
 * op that made it, its shape, dtype, values and gradient, and an edge per recorded argument.
 *
 * What is recorded is what the backward walk sees: an op's argument that needs no gradient (a
 * constant, a tensor made under `noGrad`, a bare number) is no input of the op's node, so it is
 * not in the graph. `y` itself with no recorded op is a one-node graph (`op: "leaf"`). The graph
 * can be read after `backward()` too (a freed node keeps its inputs): that is when the leaves
 * carry gradients. Values and gradients are copies, so a later step does not change the result.
 *
 * Order. Each op's node has an increasing id and inputs exist before outputs, so sorting the
 * reached ops by that id gives a topological order; the leaves, which have no op, go first, in
 * the order of their first use.
 * Check: every edge has from < to.
 *
 * @param y - the tensor whose history to read (any shape)
 * @param options - `names`: a record name → tensor; each named tensor of the graph shows its name
 * @throws DTypeError when y is not a Tensor; ValueError for a bad options object or a name that
 *   is not a Tensor
 * @example
 * const a = tensor(2, { requiresGrad: true }), b = tensor(-3, { requiresGrad: true });
 * const y = a.mul(b).add(a);
 * y.backward();
 * graphOf(y, { names: { a, b } }).nodes.map((n) => [n.name ?? n.op, n.grad]);
 * // [["a", [-2]], ["b", [2]], ["mul", null], ["add", null]]
 */
export function graphOf(y: Tensor, options?: GraphOfOptions): Graph {
  checkTensor(y, "graphOf", "y");
  const { names = {} } = checkOptions(options, "graphOf", ["names"]);
  const nameOf = new Map<Tensor, string>();
  if (names === null || typeof names !== "object" || Array.isArray(names)) {
    throw new ValueError(`graphOf: options.names must be an object of tensors, got ${describeValue(names)}`);
  }
  for (const [name, t] of Object.entries(names)) {
    if (!(t instanceof Tensor)) throw new ValueError(`graphOf: options.names.${name} must be a Tensor, got ${describeValue(t)}`);
    if (!nameOf.has(t)) nameOf.set(t, name);
  }
  // Collect with an explicit stack (a deep graph would overflow recursion).
  const seen = new Set<Tensor>([y]);
  const leaves: Tensor[] = [];
  const made: Tensor[] = [];
  const stack: Tensor[] = [y];
  while (stack.length > 0) {
    const t = stack.pop()!;
    if (t.node === null) {
      leaves.push(t);
      continue;
    }
    made.push(t);
    for (const input of t.node.inputs) {
      if (input !== null && !seen.has(input)) {
        seen.add(input);
        stack.push(input);
      }
    }
  }
  made.sort((a, b) => a.node!.id - b.node!.id);
  // The leaves in the order of their first use (by the earliest op, then the argument position),
  // so that a·b + a lists a, then b.
  const firstUse = new Set<Tensor>(made.length === 0 ? leaves : []);
  for (const t of made) for (const input of t.node!.inputs) if (input !== null && input.node === null) firstUse.add(input);
  const order = [...firstUse, ...made];
  const idOf = new Map(order.map((t, i) => [t, i]));
  const nodes = order.map((t, id): GraphNode => ({
    id,
    op: t.node === null ? "leaf" : t.node.name,
    name: nameOf.get(t) ?? null,
    shape: [...t.shape],
    dtype: t.dtype,
    value: t.toFlatArray(),
    grad: t.grad === null ? null : t.grad.toFlatArray(),
    requiresGrad: t.requiresGrad,
  }));
  const edges: GraphEdge[] = [];
  for (const t of made) {
    t.node!.inputs.forEach((input, arg) => {
      if (input !== null) edges.push({ from: idOf.get(input)!, to: idOf.get(t)!, arg });
    });
  }
  return { nodes, edges, output: idOf.get(y)! };
}

/** A number as toDot prints it: 4 significant digits, no trailing zeros. */
function short(v: number): string {
  return Number.isFinite(v) && v !== 0 ? String(Number(v.toPrecision(4))) : String(v);
}

/** At most four values, then "…". */
function someValues(vs: readonly number[]): string {
  return vs.slice(0, 4).map(short).join(", ") + (vs.length > 4 ? ", …" : "");
}

function checkGraph(graph: unknown): Graph {
  const bad = (what: string, v: unknown): never => {
    throw new ValueError(`toDot: ${what} must be ${what.endsWith("s") ? "a list" : "as graphOf makes it"}, got ${describeValue(v)}`);
  };
  if (graph === null || typeof graph !== "object") bad("graph", graph);
  const g = graph as Partial<Graph>;
  if (!Array.isArray(g.nodes)) bad("graph.nodes", g.nodes);
  if (!Array.isArray(g.edges)) bad("graph.edges", g.edges);
  const n = g.nodes!.length;
  g.nodes!.forEach((node: unknown, i) => {
    const v = node as Partial<GraphNode> | null;
    if (v === null || typeof v !== "object") bad(`graph.nodes[${i}]`, v);
    if (v!.id !== i) throw new ValueError(`toDot: graph.nodes[${i}].id must be ${i} (its position), got ${describeValue(v!.id)}`);
    if (typeof v!.op !== "string") throw new ValueError(`toDot: graph.nodes[${i}].op must be a string, got ${describeValue(v!.op)}`);
    if (v!.name !== null && v!.name !== undefined && typeof v!.name !== "string") {
      throw new ValueError(`toDot: graph.nodes[${i}].name must be a string or null, got ${describeValue(v!.name)}`);
    }
    for (const key of ["shape", "value"] as const) {
      const a = v![key];
      if (!Array.isArray(a) || !a.every((x) => typeof x === "number")) {
        throw new ValueError(`toDot: graph.nodes[${i}].${key} must be a list of numbers, got ${describeValue(a)}`);
      }
    }
    if (v!.grad !== null && v!.grad !== undefined && !(Array.isArray(v!.grad) && v!.grad.every((x) => typeof x === "number"))) {
      throw new ValueError(`toDot: graph.nodes[${i}].grad must be a list of numbers or null, got ${describeValue(v!.grad)}`);
    }
  });
  g.edges!.forEach((edge: unknown, i) => {
    const e = edge as Partial<GraphEdge> | null;
    if (e === null || typeof e !== "object") bad(`graph.edges[${i}]`, e);
    for (const key of ["from", "to"] as const) {
      const k = e![key];
      if (typeof k !== "number" || !Number.isInteger(k) || k < 0 || k >= n) {
        throw new ValueError(`toDot: graph.edges[${i}].${key} must be a node id in [0, ${n}), got ${describeValue(k)}`);
      }
    }
  });
  return g as Graph;
}

/** A DOT double-quoted string: backslashes and quotes escaped, newlines as DOT's centred \n. */
const quote = (s: string): string => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;

/**
 * The graph as Graphviz DOT (`dot -Tsvg`), drawn left to right from the leaves to the output:
 * leaves as boxes, ops as ellipses, each labelled with its name or op, its shape and dtype, up to
 * four values and, when it has one, up to four gradient entries. An edge into an op of two or
 * more arguments carries the argument's position.
 *
 * @param graph - a graph as `graphOf` returns it
 * @returns the DOT text, one statement a line
 * @throws ValueError when graph is not shaped as graphOf makes it (naming the field)
 * @example
 * const x = tensor([1, 2], { requiresGrad: true });
 * toDot(graphOf(x.exp().sum()));
 * // digraph kdgrad {\n  rankdir=LR; …\n  n0 -> n1;\n  n1 -> n2;\n}
 */
export function toDot(graph: Graph): string {
  const g = checkGraph(graph);
  const fanIn = new Map<number, number>();
  for (const e of g.edges) fanIn.set(e.to, (fanIn.get(e.to) ?? 0) + 1);
  const lines = ["digraph kdgrad {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=10];'];
  for (const v of g.nodes) {
    const title = v.name === null || v.name === undefined ? v.op : v.op === "leaf" ? v.name : `${v.name} = ${v.op}`;
    const label = [title, `[${v.shape.join(", ")}] ${String(v.dtype)}`, `value ${someValues(v.value)}`];
    if (Array.isArray(v.grad)) label.push(`grad ${someValues(v.grad)}`);
    lines.push(`  n${v.id} [shape=${v.op === "leaf" ? "box" : "ellipse"}, label=${quote(label.join("\n"))}];`);
  }
  for (const e of g.edges) {
    const arg = typeof e.arg === "number" && (fanIn.get(e.to) ?? 0) > 1 ? ` [label=${quote(String(e.arg))}]` : "";
    lines.push(`  n${e.from} -> n${e.to}${arg};`);
  }
  lines.push("}");
  return lines.join("\n") + "\n";
}
