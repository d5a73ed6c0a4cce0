// The trainer of the "Distil in your browser" page: one student per worker, with kdgrad, the
// bundle the package ships. The page posts one job,
//
//   { kind: "hard" | "distilled", seed, temperature, alpha, files: { x, y, split, teacher } }
//
// (the digits files and teacher.safetensors as fetched), and the worker answers
//
//   { teacherErrors }                                  once, the loaded teacher's test errors
//   { epoch, epochs, loss, errors, wrong }             after every epoch: the mean training loss,
//                                                      the test errors, [test row, guess] pairs
//   { done: true } or { error }
//
// The loop is src/cli/recipe.ts's trainStudent and fit, step for step, so that the page reaches
// exactly what `kdgrad distill --seeds SEED --temperature T --alpha A` reaches in Node (the
// browser test checks every epoch's errors and losses against the library's own run):
//
//   student  = mlp(recipe.studentSizes, { generator }), generator = Generator(seed + 2³²)
//              (distill.ts's studentGenerator: both students start from the same weights and
//              see the same batches; the loss is the only difference)
//   an epoch = Adam steps over shuffled batches of the transfer set (the 135-image train_10pct),
//              then the test errors by argmax at T = 1 in eval mode
//   loss     = crossEntropy(s, y)                                           hard labels
//              distillationLoss(s, t, { labels: y, temperature: T, alpha })  distilled
//              (at α = 1 without labels: no hard term, as the recipe's softOptions)
//   t        = the teacher's logits of the transfer set, computed once in eval mode.
import * as kd from "../kdgrad.bundle.js";

self.onmessage = ({ data: job }) => {
  try {
    train(job);
  } catch (e) {
    self.postMessage({ error: String(e?.message ?? e) });
  }
};

function train({ kind, seed, temperature, alpha, files }) {
  const digits = kd.digitsFromBytes({ x: new Uint8Array(files.x), y: new Uint8Array(files.y), split: JSON.parse(files.split) });
  const { tensors, metadata } = kd.decodeSafetensors(new Uint8Array(files.teacher));
  const recipe = JSON.parse(metadata.recipe);
  const transfer = digits.train_10pct, test = digits.test;
  const truth = test.y.toFlatArray();

  /** Logits in eval mode, without a graph (recipe.ts's logitsOf). */
  const logitsOf = (model, x) => kd.noGrad(() => {
    model.eval();
    return model.forward(x);
  });
  /** The test rows the model gets wrong, as [row, guess] (recipe.ts's errors, keeping the rows). */
  const wrongOf = (model) => {
    const guess = kd.predict(logitsOf(model, test.x)).toFlatArray();
    const wrong = [];
    for (let i = 0; i < guess.length; i++) if (guess[i] !== truth[i]) wrong.push([i, guess[i]]);
    return wrong;
  };

  let loss;
  if (kind === "hard") {
    loss = (s, y) => kd.crossEntropy(s, y);
  } else {
    // The teacher's weights are the file's; the generator only fills weights about to be replaced.
    const teacher = kd.mlp(recipe.teacherSizes, { dropout: recipe.teacherDropout, generator: new kd.Generator(0) });
    teacher.loadStateDict(tensors);
    self.postMessage({ teacherErrors: wrongOf(teacher).length });
    const t = logitsOf(teacher, transfer.x);
    const options = (y) => (alpha === 1 ? { temperature } : { labels: y, temperature, alpha });
    loss = (s, y, rows) => kd.distillationLoss(s, kd.selectRows(t, rows), options(y));
  }

  const generator = new kd.Generator(seed + 2 ** 32);
  const model = kd.mlp(recipe.studentSizes, { generator });
  const optimizer = new kd.Adam(model.parameters(), { lr: recipe.studentLr });
  const epochs = recipe.studentEpochs;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    model.train();
    let total = 0, count = 0;
    for (const batch of kd.batches(transfer.x, transfer.y, { batchSize: recipe.batchSize, shuffle: true, generator })) {
      const l = loss(model.forward(batch.x), batch.y, batch.indices);
      optimizer.zeroGrad();
      l.backward();
      optimizer.step();
      total += l.item() * batch.indices.length;
      count += batch.indices.length;
    }
    const wrong = wrongOf(model);
    self.postMessage({ epoch, epochs, loss: total / count, errors: wrong.length, wrong });
  }
  self.postMessage({ done: true });
}
