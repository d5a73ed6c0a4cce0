// Backprop by hand: f(x, y, z) = (x + y)·z with w = x + y, five nodes. The hand-traced chain rule beside
// kdgrad's backward, and the same expression on tensors.
import { drawGraph } from "./draw-graph.js";
import { fmt, h, slider } from "./ui.js";

export function mount(el, kd) {
  const opts = { min: -4, max: 4, step: 0.1, format: fmt };
  const sx = slider("x", { ...opts, value: -2 }), sy = slider("y", { ...opts, value: 5 }), sz = slider("z", { ...opts, value: -4 });
  sy.input.max = 6;
  const picture = h("div", { class: "picture" }), steps = h("div"), tensors = h("div", { class: "out" });
  el.append(h("div", { class: "controls" }, sx.root, sy.root, sz.root), picture, steps, tensors);
  const update = () => {
    const x = kd.tensor(sx.value(), { dtype: "float64", requiresGrad: true });
    const y = kd.tensor(sy.value(), { dtype: "float64", requiresGrad: true });
    const z = kd.tensor(sz.value(), { dtype: "float64", requiresGrad: true });
    const w = x.add(y).retainGrad();
    const f = w.mul(z).retainGrad();
    f.backward();
    const graph = kd.graphOf(f, { names: { x, y, z, w, f } });
    picture.replaceChildren(drawGraph(graph));
    // The chain rule by hand, from the output back: each gradient is the upstream gradient
    // times the local derivative of the op it passes through.
    const wv = w.item(), zv = z.item();
    const hand = [
      ["∂f/∂f", "1 (the seed)", 1, f.grad.item()],
      ["∂f/∂w", "∂f/∂f · ∂(w·z)/∂w = 1 · z", zv, w.grad.item()],
      ["∂f/∂z", "∂f/∂f · ∂(w·z)/∂z = 1 · w", wv, z.grad.item()],
      ["∂f/∂x", "∂f/∂w · ∂(x + y)/∂x = z · 1", zv, x.grad.item()],
      ["∂f/∂y", "∂f/∂w · ∂(x + y)/∂y = z · 1", zv, y.grad.item()],
    ];
    const rows = hand.map(([what, rule, byHand, byKd]) => h("tr", {}, h("td", {}, what), h("td", {}, rule), h("td", {}, fmt(byHand)), h("td", {}, fmt(byKd)),
      h("td", { class: byHand === byKd ? "ok" : "bad" }, byHand === byKd ? "✓" : "✗")));
    steps.replaceChildren(h("table", {}, h("tr", {}, h("th", {}, "gradient"), h("th", {}, "chain rule"), h("th", {}, "by hand"), h("th", {}, "kdgrad's backward"), h("th", {}, "")), ...rows));
    // The same expression on tensors of three elements: the rule is the same, element by element.
    const X = kd.tensor([sx.value(), sx.value() + 1, sx.value() - 1], { dtype: "float64", requiresGrad: true });
    const Y = kd.tensor([sy.value(), 0.5, -1], { dtype: "float64", requiresGrad: true });
    const Z = kd.tensor([sz.value(), 2, 3], { dtype: "float64", requiresGrad: true });
    const F = X.add(Y).mul(Z).sum();
    F.backward();
    const show = (t) => `[${t.toFlatArray().map(fmt).join(", ")}]`;
    tensors.textContent = `As tensors: X = ${show(X)}, Y = ${show(Y)}, Z = ${show(Z)}\n`
      + `F = Σ (X + Y)·Z = ${fmt(F.item())}\n∂F/∂X = ${show(X.grad)} (= Z)\n∂F/∂Y = ${show(Y.grad)} (= Z)\n∂F/∂Z = ${show(Z.grad)} (= X + Y)`;
  };
  for (const s of [sx, sy, sz]) s.input.addEventListener("input", update);
  update();
}
