// Why T²: for a student row s and teacher row t, kdgrad computes over a range of T
//   g(T) = ∂KL(softmax(t/T) ‖ softmax(s/T))/∂s (by autograd through klDiv and logSoftmax),
// whose norm falls like 1/T² (slope −2 on log-log axes), and T²·g(T), which levels off at
// ‖δ̃‖/C. Beside it, T²·KL approaching logitMatchingLoss(s, t) = Σ δ̃²/(2C) inside the envelope
// (1 ± (e^{2R/T} − 1))·L∞ of docs/distillation.md, "(b) The value", R = max(‖s̃‖∞, ‖t̃‖∞).
import { fmt, h, parseNumbers, plot, slider } from "./ui.js";

export function mount(el, kd) {
  const sIn = h("input", { type: "text", value: "2, 0.5, -1, 0.3", "aria-label": "student logits" });
  const tIn = h("input", { type: "text", value: "3, 1, -2, 0", "aria-label": "teacher logits" });
  const sT = slider("marked T", { min: -0.3, max: 2.5, step: 0.01, value: 0.6, format: (v) => fmt(10 ** v) });
  const left = h("div", { class: "picture" }), right = h("div", { class: "picture" }), out = h("div", { class: "out" });
  el.append(h("div", { class: "controls" }, h("label", {}, "s", sIn), h("label", {}, "t", tIn), sT.root), left, out, right);
  const f64 = { dtype: "float64" };
  const soft = (s, t, T) => {
    // KL per row (batchmean over the one row), and its gradient in s by reverse mode.
    const kl = (x) => kd.klDiv(kd.logSoftmax(x.div(T), -1), kd.softmax(t.div(T), -1), { reduction: "batchmean" });
    const [value, g] = kd.valueAndGrad(kl)(s);
    const n = Math.hypot(...g.toFlatArray());
    return { kl: value.item(), norm: n };
  };
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
    const s = kd.tensor([sv], f64), t = kd.tensor([tv], f64);
    const Ts = Array.from({ length: 45 }, (_, i) => 10 ** (-0.3 + (2.8 * i) / 44));
    const rows = Ts.map((T) => soft(s, t, T));
    const Tm = 10 ** sT.value(), m = soft(s, t, Tm);
    left.replaceChildren(plot({
      logX: true, logY: true, xLabel: "temperature T", yLabel: "gradient norm",
      series: [
        { xs: Ts, ys: rows.map((r) => r.norm), color: "#2458c6", label: "‖∂KL/∂s‖ (slope −2)" },
        { xs: Ts, ys: rows.map((r, i) => Ts[i] ** 2 * r.norm), color: "#c2410c", label: "‖T²·∂KL/∂s‖ (flat)" },
      ],
      marks: [{ x: Tm, y: m.norm, color: "#2458c6" }, { x: Tm, y: Tm * Tm * m.norm, color: "#c2410c" }],
    }));
    // The slope between the last two points, measured: −2 up to O(1/T).
    const k = Ts.length - 1, slope = Math.log(rows[k].norm / rows[k - 1].norm) / Math.log(Ts[k] / Ts[k - 1]);
    const limit = kd.logitMatchingLoss(s, t).item();
    const centred = (v) => v.map((x) => x - v.reduce((a, b) => a + b, 0) / v.length);
    const R = Math.max(...centred(sv).map(Math.abs), ...centred(tv).map(Math.abs));
    const big = Ts.filter((T) => T >= 1);
    const scaled = big.map((T) => T * T * soft(s, t, T).kl);
    // |T²·KL − L∞|/L∞ against its bound e^{2R/T} − 1: both fall like 1/T, the first below the second.
    right.replaceChildren(plot({
      logX: true, logY: true, xLabel: "temperature T", yLabel: "relative distance to L∞",
      series: [
        { xs: big, ys: scaled.map((v) => Math.abs(v - limit) / limit), color: "#2458c6", label: "|T²·KL − L∞| / L∞" },
        { xs: big, ys: big.map((T) => Math.expm1(2 * R / T)), color: "#8a93a6", dash: "5 4", label: "bound e^{2R/T} − 1" },
      ],
      marks: Tm >= 1 ? [{ x: Tm, y: Math.abs(Tm * Tm * m.kl - limit) / limit, color: "#2458c6" }] : [],
    }));
    out.textContent = `At T = ${fmt(Tm)}: ‖∂KL/∂s‖ = ${fmt(m.norm)}, ‖T²·∂KL/∂s‖ = ${fmt(Tm * Tm * m.norm)}, T²·KL = ${fmt(Tm * Tm * m.kl)}; `
      + `logit matching L∞ = ${fmt(limit)}, so |T²·KL − L∞|/L∞ = ${fmt(Math.abs(Tm * Tm * m.kl - limit) / limit)} against the bound e^{2R/T} − 1 = ${fmt(Math.expm1(2 * R / Tm))} (R = ${fmt(R)}).\n`
      + `Measured slope of log ‖∂KL/∂s‖ against log T at T = ${fmt(Ts[k])}: ${slope.toFixed(4)}.`;
  };
  for (const i of [sIn, tIn]) i.addEventListener("input", update);
  sT.input.addEventListener("input", update);
  update();
}
