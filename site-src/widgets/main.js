// Mounts every widget of the page: <div class="widget" data-widget="NAME"> runs ./NAME.js's
// mount(element, kd) with kdgrad, the bundle the package ships. A widget that renders sets
// data-ready; one that throws shows its error and sets data-error (the browser test reads both).
import * as kd from "../kdgrad.bundle.js";

for (const el of document.querySelectorAll("[data-widget]")) {
  const name = el.getAttribute("data-widget");
  import(`./${name}.js`)
    .then((m) => m.mount(el, kd))
    .then(() => el.setAttribute("data-ready", "1"))
    .catch((e) => {
      el.setAttribute("data-error", String(e?.message ?? e));
      el.textContent = `This widget failed: ${e?.message ?? e}`;
      console.error(e);
    });
}
