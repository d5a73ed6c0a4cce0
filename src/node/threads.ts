// Node's worker_threads as kdgrad's way to start threads (src/kernels/threads.ts): Node has
// no global Worker, and Deno's keeps the process alive (no unref). Importing kdgrad/node
// registers this host; its workers are unref'd, so they never keep a process alive.
import * as os from "node:os";
import { Worker } from "node:worker_threads";
import { setThreadHost } from "../kernels/threads.js";

const cores = typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;

setThreadHost({
  name: "worker_threads",
  cores: Math.max(1, cores),
  spawn(source) {
    // An eval'd worker is a CommonJS script: the glue hands it every message.
    const w = new Worker(`${source}\nrequire("node:worker_threads").parentPort.on("message", (d) => kdgradWorker(d));\n`, { eval: true });
    w.unref();
    return w;
  },
});
