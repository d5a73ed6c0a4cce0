// Distil in your browser: the digits teacher (assets/distil/teacher.safetensors, trained by the
// site build with `kdgrad distill`'s recipe and seed) and two students trained live, each in its
// own Web Worker (./distil-worker.js): one on hard labels, one distilled at the sliders' T and α.
// Moving a slider restarts the distilled student only; the hard one does not read T or α.
//
// Shown: the test accuracy of both students after every epoch beside the teacher's, and the test
// digits each student gets wrong at its latest epoch, drawn from their 8×8 pixels.
//
// For the browser test the element carries, per student, data-KIND-done once its run finished
// and data-KIND-errors / data-KIND-losses: every epoch's test errors and mean training loss,
// comma-separated (losses printed in full, so they read back as the same doubles); and
// data-temperature, data-alpha of the distilled run, data-teacher-errors of the loaded teacher.
import { fmt, h, plot, slider } from "./ui.js";

/** The temperatures the T slider offers (recipe default 8). */
const TEMPERATURES = [1, 1.5, 2, 3, 4, 6, 8, 12, 16, 20];
/** Line colours of the accuracy plot. */
const COLORS = { hard: "#8a8f99", distilled: "#2458c6", teacher: "#c0392b" };

export async function mount(el, kd) {
  const base = new URL("../distil/", import.meta.url);
  const get = (f) => fetch(new URL(f, base)).then((r) => {
    if (!r.ok) throw new Error(`distil: ${f}: HTTP ${r.status}`);
    return f.endsWith(".json") ? r.text() : r.arrayBuffer();
  });
  const [x, y, split, teacher] = await Promise.all(["digits_x.u8", "digits_y.u8", "split.json", "teacher.safetensors"].map(get));
  const files = { x, y, split, teacher };
  const digits = kd.digitsFromBytes({ x: new Uint8Array(x), y: new Uint8Array(y), split: JSON.parse(split) });
  const { metadata } = kd.decodeSafetensors(new Uint8Array(teacher));
  const recipe = JSON.parse(metadata.recipe);
  // The teacher's seed (scripts/site.mjs's DISTIL_SEED) seeds the students too, as in `kdgrad distill`.
  const seed = Number(metadata.seed);
  const testX = digits.test.x.toFlatArray(), testY = digits.test.y.toFlatArray(), n = testY.length;

  const sT = slider("T", { min: 0, max: TEMPERATURES.length - 1, step: 1, value: TEMPERATURES.indexOf(recipe.temperature), format: (i) => String(TEMPERATURES[i]) });
  const sA = slider("α", { min: 0, max: 1, step: 0.05, value: recipe.alpha, format: (v) => v.toFixed(2) });
  const chart = h("div", { class: "picture" }), out = h("div", { class: "out" });
  const canvases = { hard: h("canvas", { "aria-label": "digits the hard-label student gets wrong" }), distilled: h("canvas", { "aria-label": "digits the distilled student gets wrong" }) };
  const captions = { hard: h("p", { class: "note" }), distilled: h("p", { class: "note" }) };
  el.append(
    h("div", { class: "controls" }, sT.root, sA.root), chart, out,
    h("div", { class: "digits" }, captions.hard, canvases.hard, captions.distilled, canvases.distilled),
  );

  const runs = {};
  const workers = {};
  let teacherErrors = Number(metadata.testErrors);

  /** Start (or restart) one student's run in a fresh worker. */
  const start = (kind) => {
    workers[kind]?.terminate();
    const temperature = TEMPERATURES[sT.value()], alpha = sA.value();
    const run = runs[kind] = { kind, temperature, alpha, errors: [], losses: [], wrong: [], epochs: recipe.studentEpochs, done: false };
    el.removeAttribute(`data-${kind}-done`);
    if (kind === "distilled") {
      el.setAttribute("data-temperature", String(temperature));
      el.setAttribute("data-alpha", String(alpha));
    }
    const worker = workers[kind] = new Worker(new URL("./distil-worker.js", import.meta.url), { type: "module" });
    worker.onmessage = ({ data: m }) => {
      if (runs[kind] !== run) return;
      if (m.error !== undefined) {
        console.error(`distil: the ${kind} student's worker failed: ${m.error}`);
        return;
      }
      if (m.teacherErrors !== undefined) {
        teacherErrors = m.teacherErrors;
        el.setAttribute("data-teacher-errors", String(m.teacherErrors));
      } else if (m.done) {
        run.done = true;
        el.setAttribute(`data-${kind}-errors`, run.errors.join(","));
        el.setAttribute(`data-${kind}-losses`, run.losses.join(","));
        render();
        el.setAttribute(`data-${kind}-done`, "1");
        return;
      } else {
        run.errors.push(m.errors);
        run.losses.push(m.loss);
        run.wrong = m.wrong;
      }
      schedule();
    };
    worker.onerror = (e) => console.error(`distil: the ${kind} student's worker failed: ${e.message}`);
    worker.postMessage({ kind, seed, temperature, alpha, files });
  };

  let pending = false;
  const schedule = () => {
    if (pending) return;
    pending = true;
    setTimeout(() => {
      pending = false;
      render();
    }, 40);
  };

  const render = () => {
    const epochs = recipe.studentEpochs;
    const acc = (e) => 100 * (1 - e / n);
    const series = [
      { xs: [1, epochs], ys: [acc(teacherErrors), acc(teacherErrors)], color: COLORS.teacher, dash: "5 4", label: "teacher" },
      ...["hard", "distilled"].map((kind) => ({
        xs: runs[kind].errors.map((_, i) => i + 1), ys: runs[kind].errors.map(acc), color: COLORS[kind],
        label: kind === "hard" ? "hard labels" : `distilled, T = ${runs[kind].temperature}, α = ${runs[kind].alpha.toFixed(2)}`,
      })),
    ];
    chart.replaceChildren(plot({ series, xLabel: "epoch", yLabel: "test accuracy (%)" }));
    const line = (kind) => {
      const r = runs[kind], k = r.errors.length;
      if (k === 0) return `${kind.padEnd(9)}  starting…`;
      const e = r.errors[k - 1];
      return `${kind.padEnd(9)}  epoch ${String(k).padStart(3)}/${r.epochs}  loss ${fmt(r.losses[k - 1])}  test ${e} wrong of ${n} (${acc(e).toFixed(1)} %)${r.done ? "  done" : ""}`;
    };
    out.textContent = `teacher    ${teacherErrors} wrong of ${n} (${acc(teacherErrors).toFixed(1)} %)\n${line("hard")}\n${line("distilled")}`;
    for (const kind of ["hard", "distilled"]) {
      const r = runs[kind];
      captions[kind].textContent = `The ${r.wrong.length} test digits the ${kind === "hard" ? "hard-label" : "distilled"} student gets wrong`
        + ` at epoch ${r.errors.length} (true → guessed):`;
      drawDigits(canvases[kind], r.wrong);
    }
  };

  /** The wrong digits as 8×8 images, grey levels 0..1 scaled up, each with "true→guess" below. */
  const drawDigits = (canvas, wrong) => {
    const px = 4, cell = 8 * px, gap = 8, label = 14, perRow = 18;
    const shown = wrong.slice(0, 4 * perRow);
    const rows = Math.max(1, Math.ceil(shown.length / perRow));
    canvas.width = perRow * (cell + gap);
    canvas.height = rows * (cell + label + gap);
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#fcfcfd";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.font = "11px ui-monospace, monospace";
    ctx.textAlign = "center";
    shown.forEach(([row, guess], k) => {
      const x0 = (k % perRow) * (cell + gap), y0 = Math.floor(k / perRow) * (cell + label + gap);
      for (let r = 0; r < 8; r++) {
        for (let c = 0; c < 8; c++) {
          const v = Math.round(255 * (1 - testX[row * 64 + r * 8 + c]));
          ctx.fillStyle = `rgb(${v},${v},${v})`;
          ctx.fillRect(x0 + c * px, y0 + r * px, px, px);
        }
      }
      ctx.fillStyle = "#333";
      ctx.fillText(`${testY[row]}→${guess}`, x0 + cell / 2, y0 + cell + 11);
    });
  };

  sT.input.addEventListener("input", () => {
    start("distilled");
    render();
  });
  sA.input.addEventListener("input", () => {
    start("distilled");
    render();
  });
  start("hard");
  start("distilled");
  render();
}
