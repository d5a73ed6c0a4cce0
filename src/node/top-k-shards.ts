import { readdirSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { FileError, FormatError, IndexError, ValueError } from "../tensor/errors.js";
import { checkOptions } from "../tensor/options.js";
import { describeValue, shapeStr } from "../tensor/shape.js";
import type { Tensor } from "../tensor/tensor.js";
import { decodeSafetensors, type DecodedSafetensors, type SafetensorsDType } from "../io/safetensors.js";
import { checkPath, pathText, readFileBytes } from "./files.js";

/** One shard of a teacher's top-k log-probabilities, as read from its safetensors file. */
export interface TopKShard {
  /** The file. */
  path: string;
  /** Its position in `paths` (not in the iteration order). */
  index: number;
  /** The teacher's classes per position: int32 [..., k] (stored as I32, or I64 whose values fit). */
  indices: Tensor;
  /** Their log-probabilities: float32 [..., k] (stored as F32, F16 or BF16; float64 if stored as F64). */
  logprobs: Tensor;
  /** Every tensor of the file by name, these two included (input ids, labels, …). */
  tensors: Map<string, Tensor>;
  /** The file's "__metadata__" strings. */
  metadata: Record<string, string>;
  /** Each tensor's dtype in the file. */
  dtypes: Map<string, SafetensorsDType>;
}

/** Options of `openTopKShards`: the names of the indices and log-probabilities tensors in each shard file. */
export interface TopKShardsOptions {
  /** The name of the indices tensor in each file. Default "indices". */
  indices?: string;
  /** The name of the log-probabilities tensor in each file. Default "logprobs". */
  logprobs?: string;
}

/** Options of `shards()` on what `openTopKShards` returns: the order of the shards to visit, and whether to read the next file ahead. */
export interface TopKShardIterationOptions {
  /** The shards to visit, by their index in `paths`, in this order (a permutation for a shuffled epoch, or a subset). Default: all, in order. */
  order?: readonly number[];
  /**
   * Read the next file's bytes while the current shard is in use (the bytes of two shards are
   * then held at once). Default false: exactly one shard is read at a time, when it is asked for.
   */
  prefetch?: boolean;
}

/**
 * Sharded top-k teacher logits: safetensors files, each holding an int32 (or int64) `indices`
 * tensor [..., k] and a float `logprobs` tensor of the same shape (a language model's top-k
 * classes per token and their log-probabilities, as distillation tooling stores them), read one
 * shard at a time. Nothing is read until a shard is asked for.
 */
export interface TopKShards extends AsyncIterable<TopKShard> {
  /** The shard files, in the order shards are numbered. */
  readonly paths: readonly string[];
  /** How many shards. */
  readonly length: number;
  /** Shard i, read now (synchronously). IndexError for i outside [0, length); FileError, FormatError as below. */
  load(i: number): TopKShard;
  /** The shards, read lazily one at a time as the loop asks for them (fs/promises), in `order`. */
  shards(options?: TopKShardIterationOptions): AsyncIterableIterator<TopKShard>;
}

/**
 * Open sharded top-k teacher logits for a training loop: `source` is a directory (every
 * `*.safetensors` file in it, sorted by name, so shard-00000 … shard-00042 come in order) or a
 * list of files (in that order). Listing happens now; each file is read when its shard is asked
 * for, and only then checked: a missing or unreadable file is a FileError, a malformed one, or one
 * whose `indices` or `logprobs` is missing, of the wrong kind (indices must be integers, logprobs
 * floats) or of different shapes (or without a class axis), a FormatError naming the file.
 * Index values are not checked here: sparseDistillationLoss checks them against the student.
 *
 * @example
 * const teacher = openTopKShards("teacher-top64/");
 * for (let epoch = 0; epoch < 3; epoch++) {
 *   for await (const shard of teacher.shards({ order: shuffled(teacher.length), prefetch: true })) {
 *     // shard.indices, shard.logprobs: [rows, 64]; shard.tensors.get("input_ids"), …
 *   }
 * }
 */
export function openTopKShards(source: string | URL | readonly (string | URL)[], options?: TopKShardsOptions): TopKShards {
  const fn = "openTopKShards";
  const o = checkOptions(options, fn, ["indices", "logprobs"]);
  const names = { indices: checkName(o.indices ?? "indices", fn, "indices"), logprobs: checkName(o.logprobs ?? "logprobs", fn, "logprobs") };
  const paths = shardPaths(source, fn);
  return new Shards(paths, names);
}

function checkName(v: unknown, fn: string, arg: string): string {
  if (typeof v !== "string" || v === "") throw new ValueError(`${fn}: options.${arg} must be a non-empty tensor name, got ${describeValue(v)}`);
  return v;
}

/** The files of `source`: a directory's *.safetensors files sorted by name, or the list given. */
function shardPaths(source: unknown, fn: string): string[] {
  if (Array.isArray(source)) {
    if (source.length === 0) throw new ValueError(`${fn}: the list of shard files is empty`);
    return source.map((p) => checkPath(p, fn));
  }
  const dir = checkPath(source, fn);
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (e) {
    throw new FileError(`${fn}: cannot read ${JSON.stringify(dir)}: ${(e as { code?: string }).code === "ENOENT" ? "no such file or directory" : String((e as Error).message)}`);
  }
  // A single file is a one-shard source.
  if (!isDir) return [dir];
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (e) {
    throw new FileError(`${fn}: cannot list ${JSON.stringify(dir)}: ${String((e as Error).message)}`);
  }
  const files = entries.filter((f) => f.endsWith(".safetensors")).sort();
  if (files.length === 0) throw new FileError(`${fn}: ${JSON.stringify(dir)} holds no .safetensors files`);
  return files.map((f) => join(dir, f));
}

class Shards implements TopKShards {
  readonly paths: readonly string[];
  private readonly names: { indices: string; logprobs: string };

  constructor(paths: string[], names: { indices: string; logprobs: string }) {
    this.paths = Object.freeze([...paths]);
    this.names = names;
  }

  get length(): number {
    return this.paths.length;
  }

  load(i: number): TopKShard {
    const fn = "TopKShards.load";
    this.checkIndex(i, fn);
    return this.shardOf(i, readFileBytes(this.paths[i]!, fn), fn);
  }

  shards(options?: TopKShardIterationOptions): AsyncIterableIterator<TopKShard> {
    const fn = "TopKShards.shards";
    const o = checkOptions(options, fn, ["order", "prefetch"]);
    const order = o.order === undefined ? this.paths.map((_, i) => i) : this.checkOrder(o.order, fn);
    if (o.prefetch !== undefined && typeof o.prefetch !== "boolean") throw new ValueError(`${fn}: options.prefetch must be true or false, got ${describeValue(o.prefetch)}`);
    return this.iterate(order, o.prefetch === true, fn);
  }

  [Symbol.asyncIterator](): AsyncIterator<TopKShard> {
    return this.shards();
  }

  private async *iterate(order: number[], prefetch: boolean, fn: string): AsyncGenerator<TopKShard> {
    let next: Promise<Uint8Array> | null = order.length > 0 ? this.read(order[0]!, fn) : null;
    for (let n = 0; n < order.length; n++) {
      const bytes = await next!;
      next = null;
      const i = order[n]!;
      // With prefetch, the next file is being read while this shard is used.
      if (prefetch && n + 1 < order.length) next = this.read(order[n + 1]!, fn);
      yield this.shardOf(i, bytes, fn);
      if (!prefetch && n + 1 < order.length) next = this.read(order[n + 1]!, fn);
    }
  }

  /**
   * The bytes of shard i, read asynchronously; a FileError naming fn and the file. The promise is
   * marked handled at once: a prefetched read may fail while nobody awaits it yet (the loop is busy
   * with the current shard, or has stopped early), which Node would otherwise report as an
   * unhandled rejection and end the process; whoever awaits it still gets the error.
   */
  private read(i: number, fn: string): Promise<Uint8Array> {
    const path = this.paths[i]!;
    const p = readFile(path).then(
      (b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength),
      (e: unknown) => {
        const code = (e as { code?: string }).code;
        const why = code === "ENOENT" ? "no such file or directory" : code === "EISDIR" ? "it is a directory" : String((e as Error).message);
        throw new FileError(`${fn}: cannot read ${JSON.stringify(pathText(path))}: ${why}`);
      },
    );
    p.catch(() => undefined);
    return p;
  }

  /** Decode and check shard i's bytes. */
  private shardOf(i: number, bytes: Uint8Array, fn: string): TopKShard {
    const path = pathText(this.paths[i]!);
    const where = `${fn}: ${JSON.stringify(path)}`;
    let file: DecodedSafetensors;
    try {
      file = decodeSafetensors(bytes);
    } catch (e) {
      if (e instanceof FormatError) throw new FormatError(`${where}: ${e.message}`);
      throw e;
    }
    const { indices: iName, logprobs: lName } = this.names;
    const indices = file.tensors.get(iName);
    const logprobs = file.tensors.get(lName);
    if (indices === undefined || logprobs === undefined) {
      const missing = indices === undefined ? iName : lName;
      throw new FormatError(`${where} has no tensor "${missing}" (it holds ${[...file.tensors.keys()].map((n) => JSON.stringify(n)).join(", ") || "none"})`);
    }
    if (indices.dtype !== "int32") throw new FormatError(`${where}: "${iName}" must hold integers (I32, or I64 that fit int32), got ${file.dtypes.get(iName)}`);
    if (logprobs.dtype === "int32") throw new FormatError(`${where}: "${lName}" must hold floats (F32, F16, BF16 or F64), got ${file.dtypes.get(lName)}`);
    if (indices.ndim === 0 || indices.ndim !== logprobs.ndim || indices.shape.some((d, j) => d !== logprobs.shape[j])) {
      throw new FormatError(`${where}: "${iName}" ${shapeStr(indices.shape)} and "${lName}" ${shapeStr(logprobs.shape)} must have one shape [..., k]`);
    }
    return { path, index: i, indices, logprobs, tensors: file.tensors, metadata: file.metadata, dtypes: file.dtypes };
  }

  private checkIndex(i: unknown, fn: string): void {
    if (typeof i !== "number" || !Number.isInteger(i)) throw new ValueError(`${fn}: the shard index must be an integer, got ${describeValue(i)}`);
    if (i < 0 || i >= this.paths.length) throw new IndexError(`${fn}: shard ${i} is out of range [0, ${this.paths.length})`);
  }

  private checkOrder(order: unknown, fn: string): number[] {
    if (!Array.isArray(order)) throw new ValueError(`${fn}: options.order must be a list of shard indices, got ${describeValue(order)}`);
    return order.map((i) => {
      this.checkIndex(i, fn);
      return i as number;
    });
  }
}

