/**
 * Benchmarks, reported as ratios against a baseline measured in the same run
 * (machines are shared, so absolute times drift). `--quick` runs each case once.
 *
 * Question answered here: how much does the fused logSoftmax kernel save over
 * the composite x − logSumExp(x) built from other ops, forward and backward?
 */
import Benchmark from "benchmark";
import { Generator, logSoftmax, logSumExp, randn, type Tensor } from "../src/index.js";

const quick = process.argv.includes("--quick");

function suiteFor(b: number, c: number): Promise<void> {
  const g = new Generator(0);
  const x = randn([b, c], { generator: g, dtype: "float32" });
  const up = randn([b, c], { generator: g, dtype: "float32" });
  const fused = (): void => {
    const leaf = x.detach().requiresGrad_();
    logSoftmax(leaf, -1).backward(up);
  };
  const composite = (): void => {
    const leaf: Tensor = x.detach().requiresGrad_();
    leaf.sub(logSumExp(leaf, -1, true)).backward(up);
  };
  if (quick) {
    fused();
    composite();
    console.log(`[${b}, ${c}] quick run ok`);
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const suite = new Benchmark.Suite(`logSoftmax [${b}, ${c}]`);
    suite
      .add("fused logSoftmax", fused)
      .add("composite x - logSumExp(x)", composite)
      .on("complete", function (this: Benchmark.Suite) {
        const results = this.map((bench: Benchmark) => ({ name: bench.name, ns: 1e9 / bench.hz / (b * c) }));
        const base = results[0]!.ns;
        console.log(`\n### ${this.name}\n\n| variant | ns per logit | ratio to fused |\n|---|---|---|`);
        for (const r of results) console.log(`| ${r.name} | ${r.ns.toFixed(1)} | ${(r.ns / base).toFixed(2)} |`);
        resolve();
      })
      .run({ async: false });
  });
}

for (const [b, c] of [[128, 10], [256, 1000]] as const) await suiteFor(b, c);
