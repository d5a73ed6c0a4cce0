// The Node-only layer of kdgrad ("kdgrad/node"): files on disk. Everything
// else lives in the core ("kdgrad"), which uses no Node built-ins.

// Tensors this layer returns have the core's method-style API.
import "../methods.js";
// Threads through worker_threads (Node has no global Worker): setNumThreads, getNumThreads.
import "./threads.js";

export { writeFileAtomic } from "./files.js";
export { saveSafetensors, loadSafetensors, saveModule, loadModule, saveCheckpoint, loadCheckpoint } from "./safetensors.js";
export { saveNpy, loadNpy } from "./npy.js";
export { loadIdx } from "./idx.js";
export {
  openTopKShards, type TopKShard, type TopKShards, type TopKShardsOptions, type TopKShardIterationOptions,
} from "./top-k-shards.js";
export { loadDigits, DEFAULT_DIGITS_DIR } from "./digits.js";
export { FileError, FormatError } from "../tensor/errors.js";
