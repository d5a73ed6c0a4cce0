/**
 * Knowledge distillation in Deno: train a teacher on the digits data set, then
 * a small student on a tenth of the images from the teacher's logits, and
 * save the student as .safetensors.
 *
 *   deno run --allow-read --allow-write distill.ts DIGITS_DIR [student.safetensors]
 *
 * kdgrad's core uses no Node API: the data files are read with Deno.readFile
 * and decoded by digitsFromBytes, the student is encoded by encodeSafetensors
 * and written with Deno.writeFile. The data set ships in the package: in a
 * project with a package.json and kdgrad installed in node_modules (which
 * Deno uses as it is), DIGITS_DIR is node_modules/kdgrad/data/digits; in a
 * checkout of kdgrad, after `npm run build`, it is data/digits.
 */
import {
  Adam, Generator, batches, crossEntropy, digitsFromBytes, distillationLoss, encodeSafetensors, getBackend, mlp,
  noGrad, predict, selectRows, type Module, type Tensor,
} from "kdgrad";

const [digitsDir, out] = Deno.args;
if (digitsDir === undefined) {
  console.error("usage: distill.ts DIGITS_DIR [student.safetensors]");
  Deno.exit(2);
}
const read = (name: string): Promise<Uint8Array> => Deno.readFile(`${digitsDir}/${name}`);
const { train, train_10pct: transfer, test } = digitsFromBytes({
  x: await read("digits_x.u8"),
  y: await read("digits_y.u8"),
  split: JSON.parse(new TextDecoder().decode(await read("split.json"))),
});

const generator = new Generator(0);

/** Mini-batch Adam on a loss of (logits, labels, batch row indices). */
function fit(model: Module, x: Tensor, y: Tensor, epochs: number, loss: (logits: Tensor, y: Tensor, rows: number[]) => Tensor): void {
  const optimizer = new Adam(model.parameters(), { lr: 1e-2 });
  const loader = batches(x, y, { batchSize: 32, generator });
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (const batch of loader) {
      optimizer.zeroGrad();
      loss(model.forward(batch.x), batch.y, batch.indices).backward();
      optimizer.step();
    }
  }
}

function accuracy(model: Module, split: { x: Tensor; y: Tensor }): number {
  model.eval();
  const p = predict(noGrad(() => model.forward(split.x))).toFlatArray();
  const y = split.y.toFlatArray();
  return p.filter((c, i) => c === y[i]).length / y.length;
}

// The teacher sees all 1347 training images and their labels.
const teacher = mlp([64, 128, 10], { generator });
fit(teacher, train.x, train.y, 15, (logits, y) => crossEntropy(logits, y));
const teacherLogits = noGrad(() => teacher.forward(transfer.x));

// The student sees 135 of them, with the teacher's logits for each.
const student = mlp([64, 32, 10], { generator });
fit(student, transfer.x, transfer.y, 150, (logits, y, rows) =>
  distillationLoss(logits, selectRows(teacherLogits, rows), { labels: y, temperature: 4, alpha: 0.9 }));

console.log(`backend: ${getBackend()}`);
console.log(`teacher accuracy on the test set: ${accuracy(teacher, test).toFixed(3)}`);
console.log(`student accuracy on the test set: ${accuracy(student, test).toFixed(3)}`);

if (out !== undefined) {
  await Deno.writeFile(out, encodeSafetensors(student.stateDict(), { recipe: "kdgrad examples/deno/distill.ts" }));
  console.log(`saved the student to ${out}`);
}
