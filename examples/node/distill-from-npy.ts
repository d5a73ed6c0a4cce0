/**
 * Distil a small student from a teacher's logits saved as .npy, in Node.
 *
 * The teacher can be any model, in any framework: save its logits on the 135
 * images of the digits data set's train_10pct split (data/digits/README.md),
 * in split order, as a [135, 10] array, e.g. from PyTorch
 *
 *   np.save("teacher.npy", teacher(x_transfer).detach().numpy())
 *
 * then train a 64-32-10 student on those 135 images with Hinton's loss and
 * report its accuracy on the 450 test images:
 *
 *   node distill-from-npy.js teacher.npy [student.safetensors]
 *
 * (compile this file with tsc, or run it with tsx). The digits files ship
 * with the kdgrad package; "kdgrad/node" reads them, and the .npy file.
 */
import { Adam, Generator, batches, distillationLoss, mlp, noGrad, predict, selectRows, type Tensor } from "kdgrad";
import { loadDigits, loadNpy, saveModule } from "kdgrad/node";

const [teacherPath, studentPath] = process.argv.slice(2);
if (teacherPath === undefined) {
  console.error("usage: distill-from-npy teacher.npy [student.safetensors]");
  process.exit(2);
}

const { train_10pct: transfer, test } = loadDigits();
const teacherLogits = loadNpy(teacherPath).to("float32");
const expected = [transfer.x.shape[0], 10];
if (teacherLogits.shape.join() !== expected.join()) {
  console.error(`${teacherPath} holds an array of shape [${teacherLogits.shape}], expected [${expected}]`);
  process.exit(1);
}

const accuracy = (logits: Tensor, labels: Tensor): number => {
  const p = predict(logits).toFlatArray();
  const y = labels.toFlatArray();
  return p.filter((c, i) => c === y[i]).length / y.length;
};

const generator = new Generator(0);
const student = mlp([64, 32, 10], { generator });
const optimizer = new Adam(student.parameters(), { lr: 1e-2 });
const loader = batches(transfer.x, transfer.y, { batchSize: 32, generator });
for (let epoch = 1; epoch <= 150; epoch++) {
  let total = 0;
  for (const { x, y, indices } of loader) {
    optimizer.zeroGrad();
    const loss = distillationLoss(student.forward(x), selectRows(teacherLogits, indices), {
      labels: y, temperature: 4, alpha: 0.9,
    });
    loss.backward();
    optimizer.step();
    total += loss.item() * indices.length;
  }
  if (epoch % 50 === 0) console.log(`epoch ${epoch}: loss ${(total / transfer.x.shape[0]!).toFixed(4)}`);
}

student.eval();
console.log(`teacher accuracy on the transfer set: ${accuracy(teacherLogits, transfer.y).toFixed(3)}`);
console.log(`student accuracy on the test set:     ${accuracy(noGrad(() => student.forward(test.x)), test.y).toFixed(3)}`);
if (studentPath !== undefined) {
  saveModule(studentPath, student, { teacher: teacherPath });
  console.log(`saved the student to ${studentPath}`);
}
