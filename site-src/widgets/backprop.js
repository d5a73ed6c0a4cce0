// Backprop by hand: L(a, b, c) = (a + b)·c with o = a + b, five nodes (the letters of the notation
// page: a, b the inputs of a binary op, o an op's output, L the scalar differentiated). The
// hand-traced chain rule beside kdgrad's backward, and the same expression on tensors.
import { drawGraph } from "./draw-graph.js";
import { fmt, h, slider } from "./ui.js";

export function mount(el, kd) {
  const opts = { min: -4, max: 4, step: 0.1, format: fmt };
  const sa = slider("a", { ...opts, value: -2 }), sb = slider("b", { ...opts, value: 5 }), sc = slider("c", { ...opts, value: -4 });
  sb.input.max = 6;
  const picture = h("div", { class: "picture" }), steps = h("div"), tensors = h("div", { class: "out" });
  el.append(h("div", { class: "controls" }, sa.root, sb.root, sc.root), picture, steps, tensors);
  const update = () => {
    const a = kd.tensor(sa.value(), { dtype: "float64", requiresGrad: true });
    const b = kd.tensor(sb.value(), { dtype: "float64", requiresGrad: true });
    const c = kd.tensor(sc.value(), { dtype: "float64", requiresGrad: true });
    const o = a.add(b).retainGrad();
    const L = o.mul(c).retainGrad();
    L.backward();
    const graph = kd.graphOf(L, { names: { a, b, c, o, L } });
    picture.replaceChildren(drawGraph(graph));
    // The chain rule by hand, from the output back: each gradient is the upstream gradient
    // times the local derivative of the op it passes through.
    const ov = o.item(), cv = c.item();
    const hand = [
      ["∂L/∂L", "1 (the seed)", 1, L.grad.item()],
      ["∂L/∂o", "∂L/∂L · ∂(o·c)/∂o = 1 · c", cv, o.grad.item()],
      ["∂L/∂c", "∂L/∂L · ∂(o·c)/∂c = 1 · o", ov, c.grad.item()],
      ["∂L/∂a", "∂L/∂o · ∂(a + b)/∂a = c · 1", cv, a.grad.item()],
      ["∂L/∂b", "∂L/∂o · ∂(a + b)/∂b = c · 1", cv, b.grad.item()],
    ];
    const rows = hand.map(([what, rule, byHand, byKd]) => h("tr", {}, h("td", {}, what), h("td", {}, rule), h("td", {}, fmt(byHand)), h("td", {}, fmt(byKd)),
      h("td", { class: byHand === byKd ? "ok" : "bad" }, byHand === byKd ? "✓" : "✗")));
    steps.replaceChildren(h("table", {}, h("tr", {}, h("th", {}, "gradient"), h("th", {}, "chain rule"), h("th", {}, "by hand"), h("th", {}, "kdgrad's backward"), h("th", {}, "")), ...rows));
    // The same expression on tensors of three elements: the rule is the same, element by element.
    const A = kd.tensor([sa.value(), sa.value() + 1, sa.value() - 1], { dtype: "float64", requiresGrad: true });
    const B = kd.tensor([sb.value(), 0.5, -1], { dtype: "float64", requiresGrad: true });
    const Cv = kd.tensor([sc.value(), 2, 3], { dtype: "float64", requiresGrad: true });
    const Lv = A.add(B).mul(Cv).sum();
    Lv.backward();
    const show = (t) => `[${t.toFlatArray().map(fmt).join(", ")}]`;
    tensors.textContent = `As tensors: a = ${show(A)}, b = ${show(B)}, c = ${show(Cv)}\n`
      + `L = Σ (a + b)·c = ${fmt(Lv.item())}\n∂L/∂a = ${show(A.grad)} (= c)\n∂L/∂b = ${show(B.grad)} (= c)\n∂L/∂c = ${show(Cv.grad)} (= a + b)`;
  };
  for (const s of [sa, sb, sc]) s.input.addEventListener("input", update);
  update();
}
