// Second order: the Hessian in s of T²·KL(softmax(t/T) ‖ softmax(s/T)) for one row, by
// kd.hessian (reverse over reverse through the fused loss). Derived: ∂(T²·KL)/∂s = T·(q − p) and
// ∂²/∂s² = diag(q) − qqᵀ with q = softmax(s/T): the covariance of the student's softmax. As
// T → ∞, q → 1/C and it becomes the centring matrix (I − 11ᵀ/C)/C, logit matching's Hessian.
import { fmt, h, heatmap, parseNumbers, slider } from "./ui.js";

export function mount(el, kd) {
  const sIn = h("input", { type: "text", value: "3, 1, 0.2, -1, -2.5", "aria-label": "student logits" });
  const tIn = h("input", { type: "text", value: "1, 2, 0, -1, 0.5", "aria-label": "teacher logits" });
  const sT = slider("T", { min: -0.5, max: 2, step: 0.01, value: 0, format: (v) => fmt(10 ** v) });
  const canvases = [h("canvas"), h("canvas"), h("canvas")];
  const captions = ["kd.hessian of T²·KL", "diag(q) − qqᵀ, q = softmax(s/T)", "(I − 11ᵀ/C)/C, the T → ∞ limit"];
  const out = h("div", { class: "out" });
  el.append(h("div", { class: "controls" }, h("label", {}, "s", sIn), h("label", {}, "t", tIn), sT.root),
    h("div", { class: "heatmaps" }, ...canvases.map((c, i) => h("figure", {}, c, h("figcaption", {}, captions[i])))), out);
  const update = () => {
    let sv, tv;
    try {
      sv = parseNumbers(sIn.value, "student logits");
      tv = parseNumbers(tIn.value, "teacher logits");
      if (sv.length !== tv.length) throw new Error(`s has ${sv.length} classes and t ${tv.length}`);
    } catch (e) {
      out.textContent = e.message;
      return;
    }
    const T = 10 ** sT.value(), C = sv.length;
    const t = kd.tensor([tv], { dtype: "float64" });
    const loss = (s) => kd.distillationLoss(s, t, { temperature: T, alpha: 1 });
    const H = kd.hessian(loss)(kd.tensor([sv], { dtype: "float64" })).toFlatArray();
    const q = kd.softmax(kd.tensor(sv, { dtype: "float64" }).div(T), -1).toFlatArray();
    const cov = q.flatMap((qi, i) => q.map((qj, j) => (i === j ? qi : 0) - qi * qj));
    const centring = Array.from({ length: C * C }, (_, k) => ((k % (C + 1) === 0 ? 1 : 0) - 1 / C) / C);
    const scale = Math.max(...H.map(Math.abs), 1e-300);
    [H, cov, centring].forEach((m, i) => heatmap(canvases[i], m, C, i === 2 ? Math.max(...centring.map(Math.abs)) : scale));
    const maxDiff = (a, b) => Math.max(...a.map((x, k) => Math.abs(x - b[k])));
    out.textContent = `T = ${fmt(T)}: max |H − (diag(q) − qqᵀ)| = ${fmt(maxDiff(H, cov))} (rounding), `
      + `max |H − (I − 11ᵀ/C)/C| = ${fmt(maxDiff(H, centring))}, which falls like 1/T once T is large.`;
  };
  for (const i of [sIn, tIn]) i.addEventListener("input", update);
  sT.input.addEventListener("input", update);
  update();
}
