import { tensor, randn, manualSeed, logSoftmax, gather } from "kdgrad";

manualSeed(0);
// A batch of 4 examples with 10 classes, and their labels.
const logits = randn([4, 10], { dtype: "float64", requiresGrad: true });
const labels = tensor([3, 1, 4, 1], { dtype: "int32" });

// Cross-entropy by hand: −mean log p[label], through autograd.
const logp = logSoftmax(logits, -1);
const loss = gather(logp, 1, labels.unsqueeze(1)).mean().neg();
loss.backward();

console.log("loss", loss.item().toFixed(6));
console.log("∂loss/∂logits", logits.grad!.toString());
// Each row of the gradient is (softmax − onehot)/4, so it sums to 0.
console.log("row sums", logits.grad!.sum(-1).toString());
