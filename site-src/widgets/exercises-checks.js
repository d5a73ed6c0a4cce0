// The exercises and their checks, with no DOM: the exercises page runs them in the browser on
// kdgrad's bundle, and test/site/exercises.test.ts runs the same checks on src/ (each model
// answer must pass, each common mistake must fail). An answer is the body of a function of `kd`
// (kdgrad) that returns what the exercise asks for; `check(kd, value)` returns
// { ok, message }. Inputs come from a fixed seed, so a failure replays.

/** Run an answer's code: the body of a function of kd. */
export function runAnswer(kd, code) {
  return new Function("kd", code)(kd);
}

const f64 = { dtype: "float64" };
/** A small deterministic generator (an LCG), uniform in [lo, hi). */
function uniform(seed) {
  let state = seed >>> 0;
  return (lo, hi) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return lo + ((hi - lo) * state) / 2 ** 32;
  };
}
const pass = (message) => ({ ok: true, message });
const fail = (message) => ({ ok: false, message });
const isFn = (f, what) => (typeof f === "function" ? null : fail(`return ${what}, got ${typeof f}`));

export const EXERCISES = [
  {
    id: "softplus",
    title: "Write an op with defineOp, and gradcheck it",
    prompt: "Define softplus(x) = log(1 + eˣ) with kd.defineOp: a forward that saves what the backward needs, and a backward that returns [dx] for the upstream g. Derive dx first: d/dx log(1 + eˣ) = eˣ/(1 + eˣ) = σ(x). Return the op; the check compares its values with log1p(exp(x)) and runs kd.gradcheck in float64.",
    starter: `return kd.defineOp({
  name: "softplus",
  forward(ctx, x) {
    ctx.save({ x });
    return kd.log1p(kd.exp(x));
  },
  backward(ctx, g) {
    return [g]; // replace: dx = g ⊙ (the derivative)
  },
});`,
    model: `return kd.defineOp({
  name: "softplus",
  forward(ctx, x) {
    ctx.save({ x });
    return kd.log1p(kd.exp(x));
  },
  backward(ctx, g) {
    return [g.mul(kd.sigmoid(ctx.saved.x))];
  },
});`,
    wrong: `return kd.defineOp({
  name: "softplus",
  forward(ctx, x) {
    ctx.save({ x });
    return kd.log1p(kd.exp(x));
  },
  backward(ctx, g) {
    return [g.mul(kd.exp(ctx.saved.x))]; // forgot the 1/(1 + eˣ)
  },
});`,
    check(kd, op) {
      const bad = isFn(op, "the op defineOp made");
      if (bad) return bad;
      const r = uniform(1);
      const x = kd.tensor(Array.from({ length: 6 }, () => r(-3, 3)), { ...f64, requiresGrad: true }).reshape([2, 3]);
      const y = op(x), want = kd.log1p(kd.exp(x));
      if (!(y instanceof kd.Tensor) || y.toFlatArray().some((v, i) => Math.abs(v - want.toFlatArray()[i]) > 1e-12)) return fail("the forward values are not log(1 + eˣ)");
      const report = kd.gradcheck((t) => op(t), [x.detach().requiresGrad_()]);
      return report.ok ? pass("gradcheck passes: the backward matches finite differences")
        : fail(`gradcheck fails: the backward gives ${report.inputs[0].worst.analytic} where finite differences give ${report.inputs[0].worst.numeric}`);
    },
  },
  {
    id: "lse-hessian",
    title: "The Hessian of logSumExp is a covariance",
    prompt: "For x of length C, ∇ logSumExp(x) = o = softmax(x), softmax's output. Differentiate once more: ∂oᵢ/∂xⱼ = oᵢ(δᵢⱼ − oⱼ), so the Hessian is J(o) = diag(o) − ooᵀ, the covariance matrix of the one-hot vector of a class drawn from o. Return a function of x (a float64 tensor [C]) giving that C×C matrix with kd's ops (kd.eye, softmax, unsqueeze, mul, sub); the check compares it with kd.hessian.",
    starter: "return (x) => {\n  const p = kd.softmax(x, 0);\n  return p; // replace with the C×C matrix\n};",
    model: `return (x) => {
  const p = kd.softmax(x, 0);
  const I = kd.eye(x.shape[0], x.shape[0], { dtype: "float64" });
  return I.mul(p.unsqueeze(0)).sub(p.unsqueeze(1).mul(p.unsqueeze(0)));
};`,
    wrong: `return (x) => {
  const p = kd.softmax(x, 0);
  return kd.eye(x.shape[0], x.shape[0], { dtype: "float64" }).mul(p.unsqueeze(0)); // diag(p) alone
};`,
    check(kd, h) {
      const bad = isFn(h, "a function of x");
      if (bad) return bad;
      const r = uniform(2);
      for (const C of [2, 4, 7]) {
        const x = kd.tensor(Array.from({ length: C }, () => r(-4, 4)), f64);
        const want = kd.hessian((v) => kd.logSumExp(v, 0))(x).toFlatArray();
        const got = h(x);
        if (!(got instanceof kd.Tensor) || got.size !== C * C) return fail(`for C = ${C} the answer is not a ${C}×${C} tensor`);
        const err = Math.max(...got.toFlatArray().map((v, i) => Math.abs(v - want[i])));
        if (!(err <= 1e-12)) return fail(`for C = ${C} the answer differs from kd.hessian by ${err}`);
      }
      return pass("equal to kd.hessian of logSumExp for C = 2, 4, 7 (to 1e-12)");
    },
  },
  {
    id: "argmax-limit",
    title: "softmax(x/T) tends to the argmax as T → 0",
    prompt: "Let the top logit lead every other of the C by a margin of at least ω > 0. Then o_top = softmax(x/T)_top = 1/(1 + Σ e^{−(x_top − xᵢ)/T}) ≥ 1/(1 + (C − 1)e^{−ω/T}). Return a function (ω, C) ↦ the largest T for which this bound guarantees o_top ≥ 0.99 (it is tight when the C − 1 others tie at the margin ω). The check runs kd.softmax at your T and just above it.",
    starter: "return (margin, C) => {\n  return margin; // replace\n};",
    model: "return (margin, C) => margin / Math.log(99 * (C - 1));",
    wrong: "return (margin, C) => margin / Math.log(99); // the two-class answer",
    check(kd, T) {
      const bad = isFn(T, "a function of (ω, C)");
      if (bad) return bad;
      const top = (x, t) => kd.softmax(kd.tensor(x, f64).div(t), 0).toFlatArray()[0];
      for (const [margin, C] of [[1, 2], [0.5, 10], [3, 100], [2, 1000]]) {
        const t = T(margin, C);
        if (!(typeof t === "number" && t > 0)) return fail(`T(${margin}, ${C}) = ${t} is not a positive number`);
        const tied = [margin, ...new Array(C - 1).fill(0)];
        const spread = [margin, ...Array.from({ length: C - 1 }, (_, i) => -i / 3)];
        if (!(top(tied, t) >= 0.99 - 1e-12 && top(spread, t) >= 0.99 - 1e-12)) return fail(`at T = ${t} (ω = ${margin}, C = ${C}) o_top is ${top(tied, t)} < 0.99`);
        if (!(top(tied, t * 1.02) < 0.99)) return fail(`T(${margin}, ${C}) = ${t} is not the largest: at 1.02·T o_top is still ${top(tied, t * 1.02)}`);
      }
      return pass("o_top ≥ 0.99 at your T, and < 0.99 just above it on the tied rows, for C from 2 to 1000");
    },
  },
  {
    id: "mean-shrinkage",
    title: "PyTorch's 'mean' reduction shrinks the soft term by C",
    prompt: "torch.nn.KLDivLoss(reduction='mean') averages over all B·C elements, not over the B rows ('batchmean', the true KL). In the usual recipe α·T²·KL + (1 − α)·CE, what weight does the soft term really get, relative to the 'batchmean' loss, when 'mean' is used? Return a function (alpha, C) ↦ that weight. The check measures it with kd.klDiv's two reductions.",
    starter: "return (alpha, C) => {\n  return alpha; // replace\n};",
    model: "return (alpha, C) => alpha / C;",
    wrong: "return (alpha, C) => alpha; // as if 'mean' were 'batchmean'",
    check(kd, weight) {
      const bad = isFn(weight, "a function of (alpha, C)");
      if (bad) return bad;
      const r = uniform(4);
      for (const [B, C, alpha] of [[3, 5, 0.5], [8, 10, 0.9], [2, 100, 0.1]]) {
        const s = kd.tensor(Array.from({ length: B * C }, () => r(-3, 3)), f64).reshape([B, C]);
        const t = kd.tensor(Array.from({ length: B * C }, () => r(-3, 3)), f64).reshape([B, C]);
        const kl = (reduction) => kd.klDiv(kd.logSoftmax(s, -1), kd.softmax(t, -1), { reduction }).item();
        const measured = (alpha * kl("mean")) / kl("batchmean");
        const got = weight(alpha, C);
        if (!(Math.abs(got - measured) <= 1e-12 * Math.abs(measured))) return fail(`for B = ${B}, C = ${C}, α = ${alpha} the measured weight is ${measured}, yours ${got}`);
      }
      return pass("matches the measured ratio α·KL_mean/KL_batchmean for three (B, C, α)");
    },
  },
  {
    id: "neuron-by-hand",
    title: "Backprop through a neuron by hand",
    prompt: "For L = tanh(a·b + c), write the three partial derivatives with Math only (no autograd): with v = a·b + c, dL/dv = 1 − L², then the product and sum rules. Return a function (a, b, c) ↦ [∂L/∂a, ∂L/∂b, ∂L/∂c]; the check compares it with kd.grad at random points.",
    starter: "return (a, b, c) => {\n  return [0, 0, 0]; // replace\n};",
    model: `return (a, b, c) => {
  const L = Math.tanh(a * b + c);
  const dv = 1 - L * L;
  return [dv * b, dv * a, dv];
};`,
    wrong: "return (a, b, c) => [b, a, 1]; // forgot tanh's slope",
    check(kd, partials) {
      const bad = isFn(partials, "a function of (a, b, c)");
      if (bad) return bad;
      const r = uniform(5);
      const L = (a, b, c) => kd.tanh(a.mul(b).add(c));
      for (let k = 0; k < 5; k++) {
        const v = [r(-2, 2), r(-2, 2), r(-2, 2)];
        const want = kd.grad(L, [0, 1, 2])(...v.map((x) => kd.tensor(x, f64))).map((g) => g.item());
        const got = partials(...v);
        if (!Array.isArray(got) || got.length !== 3 || got.some((x, i) => !(Math.abs(x - want[i]) <= 1e-12 * (1 + Math.abs(want[i]))))) {
          return fail(`at (a, b, c) = (${v.map((x) => x.toFixed(3)).join(", ")}) kd.grad gives [${want.map((x) => x.toPrecision(6)).join(", ")}], yours [${got}]`);
        }
      }
      return pass("equal to kd.grad at five random points");
    },
  },
];
