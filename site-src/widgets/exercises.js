// The exercises page: each exercise's prompt, an editor, and a Check button running the shared
// check (exercises-checks.js) on kdgrad in this page.
import { EXERCISES, runAnswer } from "./exercises-checks.js";
import { h } from "./ui.js";

export function mount(el, kd) {
  for (const ex of EXERCISES) {
    const code = h("textarea", { spellcheck: "false", "aria-label": `answer to ${ex.title}` });
    code.value = ex.starter;
    const result = h("div", { class: "out result" });
    const check = h("button", { class: "check" }, "Check");
    const model = h("button", { class: "model" }, "Show the model answer");
    const wrong = h("button", { class: "wrong" }, "Try a common mistake");
    check.addEventListener("click", () => {
      let outcome;
      try {
        outcome = ex.check(kd, runAnswer(kd, code.value));
      } catch (e) {
        outcome = { ok: false, message: `${e.name ?? "Error"}: ${e.message}` };
      }
      result.textContent = `${outcome.ok ? "passed" : "failed"}: ${outcome.message}`;
      result.className = `out result ${outcome.ok ? "ok" : "bad"}`;
      result.setAttribute("data-ok", String(outcome.ok));
    });
    model.addEventListener("click", () => void (code.value = ex.model));
    wrong.addEventListener("click", () => void (code.value = ex.wrong));
    el.append(h("section", { class: "exercise", id: ex.id }, h("h3", {}, ex.title), h("p", {}, ex.prompt), code,
      h("div", { class: "controls" }, check, model, wrong), result));
  }
}
