// The graph of any expression: the reader's code builds a tensor with kdgrad (`kd`) and the
// slider's value `v`; the page calls backward when the result has one element, then graphOf,
// draws the graph, and prints toDot's text.
import { drawGraph } from "./draw-graph.js";
import { fmt, h, slider } from "./ui.js";

const EXAMPLES = {
  "log-softmax of a row": `const x = kd.tensor([v, 1, -0.5], { dtype: "float64", requiresGrad: true });
const L = x.logSoftmax(-1).mul(kd.tensor([0.2, 0.5, 0.3], { dtype: "float64" })).sum();
return { out: L, names: { x, L } };`,
  "a neuron: tanh(W·x + b)": `const W = kd.tensor([[v, -1]], { dtype: "float64", requiresGrad: true });
const x = kd.tensor([[2], [1]], { dtype: "float64" });
const b = kd.tensor(0.5, { dtype: "float64", requiresGrad: true });
const L = kd.matmul(W, x).add(b).tanh().sum();
return { out: L, names: { W, b, L } };`,
  "a distillation loss": `const s = kd.tensor([[v, 0.5, -1]], { dtype: "float64", requiresGrad: true });
const t = kd.tensor([[2, 1, 0]], { dtype: "float64" });
const loss = kd.distillationLossComposite(s, t, { temperature: 2, alpha: 1 });
return { out: loss, names: { s, loss } };`,
};

export function mount(el, kd) {
  const pick = h("select", {}, ...Object.keys(EXAMPLES).map((k) => h("option", { value: k }, k)));
  const sv = slider("v", { min: -3, max: 3, step: 0.1, value: 1.5, format: fmt });
  const code = h("textarea", { spellcheck: "false", "aria-label": "expression" });
  code.value = EXAMPLES[pick.value];
  const picture = h("div", { class: "picture" }), message = h("div", { class: "out" }), dot = h("pre", { class: "code" });
  el.append(h("div", { class: "controls" }, h("label", {}, "example", pick), sv.root), code, message, picture, h("p", {}, "toDot(graph):"), dot);
  const update = () => {
    try {
      const result = new Function("kd", "v", code.value)(kd, sv.value());
      const out = result instanceof kd.Tensor ? result : result?.out;
      if (!(out instanceof kd.Tensor)) throw new Error("the code must return a tensor, or { out, names }");
      if (out.requiresGrad && out.size === 1) out.backward();
      const graph = kd.graphOf(out, { names: result.names ?? {} });
      picture.replaceChildren(drawGraph(graph));
      dot.textContent = kd.toDot(graph);
      message.textContent = `${graph.nodes.length} nodes, ${graph.edges.length} edges; out = ${out.toFlatArray().slice(0, 4).map(fmt).join(", ")}`;
      message.className = "out";
    } catch (e) {
      message.textContent = `${e.name ?? "Error"}: ${e.message}`;
      message.className = "out bad";
    }
  };
  pick.addEventListener("change", () => {
    code.value = EXAMPLES[pick.value];
    update();
  });
  code.addEventListener("input", update);
  sv.input.addEventListener("input", update);
  update();
}
