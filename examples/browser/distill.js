// Knowledge distillation in a web page, with kdgrad's single-file bundle (see index.html).
// The page trains a teacher, takes its logits on a tenth of the training images, and
// distils them into a small student. It yields to the browser between epochs so the page
// stays responsive; a heavier job belongs in a Worker, where WebAssembly compiles freely.
import {
  Adam, Generator, batches, crossEntropy, digitsFromBytes, distillationLoss, getBackend, mlp, noGrad, predict,
  selectRows,
} from "kdgrad";

const status = document.getElementById("status");
const say = (text) => void (status.textContent = text);
const nextFrame = () => new Promise((resolve) => setTimeout(resolve, 0));

async function fetchBytes(name) {
  const response = await fetch(new URL(`../../data/digits/${name}`, import.meta.url));
  if (!response.ok) throw new Error(`${name}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** Mini-batch Adam on loss(logits, labels, rows), one epoch per frame. */
async function fit(name, model, x, y, epochs, loss, generator) {
  const optimizer = new Adam(model.parameters(), { lr: 1e-2 });
  const loader = batches(x, y, { batchSize: 32, generator });
  for (let epoch = 1; epoch <= epochs; epoch++) {
    for (const batch of loader) {
      optimizer.zeroGrad();
      loss(model.forward(batch.x), batch.y, batch.indices).backward();
      optimizer.step();
    }
    say(`Training the ${name}: epoch ${epoch} of ${epochs}…`);
    await nextFrame();
  }
}

function accuracy(model, split) {
  model.eval();
  const p = predict(noGrad(() => model.forward(split.x))).toFlatArray();
  const y = split.y.toFlatArray();
  return p.filter((c, i) => c === y[i]).length / y.length;
}

async function main() {
  const { train, train_10pct: transfer, test } = digitsFromBytes({
    x: await fetchBytes("digits_x.u8"),
    y: await fetchBytes("digits_y.u8"),
    split: JSON.parse(new TextDecoder().decode(await fetchBytes("split.json"))),
  });
  const generator = new Generator(0);

  const teacher = mlp([64, 128, 10], { generator });
  await fit("teacher", teacher, train.x, train.y, 15, (logits, y) => crossEntropy(logits, y), generator);
  const teacherLogits = noGrad(() => teacher.forward(transfer.x));

  const student = mlp([64, 32, 10], { generator });
  await fit("student", student, transfer.x, transfer.y, 150, (logits, y, rows) =>
    distillationLoss(logits, selectRows(teacherLogits, rows), { labels: y, temperature: 4, alpha: 0.9 }), generator);

  const result = { backend: getBackend(), teacher: accuracy(teacher, test), student: accuracy(student, test) };
  const rows = [
    ["teacher 64-128-10", `${train.x.shape[0]} images, labels`, result.teacher],
    ["student 64-32-10", `${transfer.x.shape[0]} images, teacher logits`, result.student],
  ];
  const table = document.getElementById("results");
  for (const [model, data, acc] of rows) {
    const tr = table.tBodies[0].insertRow();
    tr.insertCell().textContent = model;
    tr.insertCell().textContent = data;
    Object.assign(tr.insertCell(), { className: "number", textContent: `${(100 * acc).toFixed(1)} %` });
  }
  table.hidden = false;
  say(`Done, with the ${result.backend === "wasm" ? "WebAssembly SIMD" : "JavaScript"} kernels (${result.backend} backend).`);
  document.documentElement.dataset.result = JSON.stringify(result);
}

main().catch((error) => {
  say(`Failed: ${error.message}`);
  document.documentElement.dataset.error = String(error.stack ?? error);
});
