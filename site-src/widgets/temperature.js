// Softmax with temperature: p = softmax(t/T) of a teacher's row as bars, T from 0.1 to 50 on a
// log slider; the entropy H(p) against its ceiling log C; and the "dark knowledge": the ratios
// p_i/p_j = exp((t_i − t_j)/T) between the non-target classes, which T flattens towards 1.
import { fmt, h, parseNumbers, s, slider } from "./ui.js";

export function mount(el, kd) {
  const logits = h("input", { type: "text", value: "1.5, 0.5, 9, 4.5, -1, 0.5, 0, 2.5, 5, -0.5", "aria-label": "teacher logits" });
  const sT = slider("T", { min: -1, max: Math.log10(50), step: 0.01, value: 0, format: (v) => fmt(10 ** v) });
  const bars = h("div", { class: "picture" }), stats = h("div", { class: "out" }), ratios = h("div");
  el.append(h("div", { class: "controls" }, h("label", {}, "teacher logits t", logits), sT.root), bars, stats, ratios);
  const update = () => {
    let t;
    try {
      t = parseNumbers(logits.value, "teacher logits");
    } catch (e) {
      stats.textContent = e.message;
      return;
    }
    const T = 10 ** sT.value();
    const p = kd.softmax(kd.tensor(t, { dtype: "float64" }).div(T), -1).toFlatArray();
    const C = p.length, W = 560, H = 220, bw = (W - 40) / C;
    const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img" });
    const target = t.indexOf(Math.max(...t));
    p.forEach((pi, i) => {
      const bh = pi * (H - 40);
      svg.append(s("rect", { x: 30 + i * bw + 3, y: H - 22 - bh, width: bw - 6, height: Math.max(bh, 0.5), fill: i === target ? "#2458c6" : "#8fb0ea", class: "bar" }));
      svg.append(s("text", { x: 30 + i * bw + bw / 2, y: H - 8, "font-size": 11, "text-anchor": "middle" }, String(i)));
      svg.append(s("text", { x: 30 + i * bw + bw / 2, y: H - 26 - bh, "font-size": 9, "text-anchor": "middle", fill: "#5b6475" }, fmt(pi)));
    });
    bars.replaceChildren(svg);
    // H(p) = −Σ p log p, with 0·log 0 = 0 (a class whose probability underflowed adds nothing).
    const entropy = -p.reduce((a, pi) => a + (pi > 0 ? pi * Math.log(pi) : 0), 0);
    stats.textContent = `T = ${fmt(T)}: p(target ${target}) = ${fmt(p[target])}, entropy H(p) = ${fmt(entropy)} nats of at most log C = ${fmt(Math.log(C))}`;
    const others = p.map((pi, i) => [i, pi]).filter(([i]) => i !== target).sort((a, b) => b[1] - a[1]);
    const [k, pk] = others[0];
    ratios.replaceChildren(h("table", {},
      h("tr", {}, h("th", {}, "non-target class i"), ...others.map(([i]) => h("th", {}, String(i)))),
      h("tr", {}, h("td", {}, `p_i / p_${k}`), ...others.map(([, pi]) => h("td", {}, fmt(pi / pk)))),
      h("tr", {}, h("td", {}, `exp((t_i − t_${k})/T)`), ...others.map(([i]) => h("td", {}, fmt(Math.exp((t[i] - t[k]) / T)))))));
  };
  logits.addEventListener("input", update);
  sT.input.addEventListener("input", update);
  update();
}
