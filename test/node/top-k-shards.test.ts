/**
 * openTopKShards: sharded top-k teacher logits (safetensors files written here, as a teacher run
 * would write them: int64 indices, bfloat16 logprobs, input ids beside them), read lazily one
 * shard at a time by a training loop.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import {
  FileError, FormatError, Generator, IndexError, ValueError, logSoftmax, randn, sparseDistillationLoss, tensor, type Tensor,
} from "../../src/index.js";
import { openTopKShards, saveSafetensors, type TopKShard } from "../../src/node/index.js";

const root = mkdtempSync(join(tmpdir(), "kdgrad-shards-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const freshDir = (): string => {
  const d = join(root, `case-${counter++}`);
  mkdirSync(d);
  return d;
};

const V = 50;
const K = 4;

/** The teacher's top-K of rows of logits: indices [rows, K] and log-probabilities at T. */
function topK(logits: Tensor, T: number): { indices: Tensor; logprobs: Tensor } {
  const lp = logSoftmax(logits.div(T), -1).toFlatArray();
  const rows = logits.shape[0]!;
  const idx: number[] = [];
  const val: number[] = [];
  for (let r = 0; r < rows; r++) {
    const row = lp.slice(r * V, (r + 1) * V);
    const order = row.map((_, i) => i).sort((a, b) => row[b]! - row[a]!);
    for (const c of order.slice(0, K)) {
      idx.push(c);
      val.push(row[c]!);
    }
  }
  return { indices: tensor(idx, { shape: [rows, K], dtype: "int32" }), logprobs: tensor(val, { shape: [rows, K], dtype: "float32" }) };
}

/** Write `n` shards of `rows` token positions each into dir, as a teacher run would: I64 indices, BF16 logprobs, I64 input ids. */
function writeShards(dir: string, n: number, rows = 6): { teacher: Tensor[]; inputs: Tensor[] } {
  const g = new Generator(7);
  const teacher: Tensor[] = [];
  const inputs: Tensor[] = [];
  for (let s = 0; s < n; s++) {
    const logits = randn([rows, V], { generator: g }).mul(3);
    const { indices, logprobs } = topK(logits, 1);
    const ids = tensor(Array.from({ length: rows }, (_, i) => (s * rows + i) % V), { dtype: "int32" });
    saveSafetensors(join(dir, `shard-${String(s).padStart(5, "0")}.safetensors`), { indices, logprobs, input_ids: ids }, { shard: String(s) },
      { dtypes: { indices: "I64", logprobs: "BF16", input_ids: "I64" } });
    teacher.push(logits);
    inputs.push(ids);
  }
  return { teacher, inputs };
}

async function collect(it: AsyncIterable<TopKShard>): Promise<TopKShard[]> {
  const out: TopKShard[] = [];
  for await (const s of it) out.push(s);
  return out;
}

describe("openTopKShards", () => {
  test("a directory's shards in name order, each with its indices, logprobs, other tensors and metadata", async () => {
    const dir = freshDir();
    const { inputs } = writeShards(dir, 3);
    writeFileSync(join(dir, "README.txt"), "not a shard");
    const shards = openTopKShards(dir);
    expect(shards.length).toBe(3);
    expect(shards.paths.map((p) => p.slice(dir.length + 1))).toEqual(["shard-00000.safetensors", "shard-00001.safetensors", "shard-00002.safetensors"]);
    const got = await collect(shards);
    expect(got.map((s) => s.index)).toEqual([0, 1, 2]);
    for (const s of got) {
      expect(s.indices.dtype).toBe("int32");
      expect(s.indices.shape).toEqual([6, K]);
      expect(s.logprobs.dtype).toBe("float32");
      expect(s.dtypes.get("logprobs")).toBe("BF16");
      expect(s.dtypes.get("indices")).toBe("I64");
      expect(s.tensors.get("input_ids")!.toFlatArray()).toEqual(inputs[s.index]!.toFlatArray());
      expect(s.metadata).toEqual({ shard: String(s.index) });
    }
    // The same shard read synchronously.
    expect(shards.load(1).logprobs.toFlatArray()).toEqual(got[1]!.logprobs.toFlatArray());
  });

  test("the logprobs are the teacher's to bfloat16 precision, and train a student with sparseDistillationLoss", async () => {
    const dir = freshDir();
    const { teacher } = writeShards(dir, 2);
    const student = randn([6, V], { generator: new Generator(3) }).requiresGrad_();
    let steps = 0;
    for await (const shard of openTopKShards(dir).shards({ prefetch: true })) {
      const exact = topK(teacher[shard.index]!, 1).logprobs.toFlatArray();
      // bfloat16 keeps 8 significant bits: within half an ulp, 2⁻⁸ relative.
      shard.logprobs.toFlatArray().forEach((v, i) => expect(Math.abs(v - exact[i]!)).toBeLessThanOrEqual(2 ** -8 * Math.abs(exact[i]!)));
      // bfloat16 rounding can push the top-k mass above 1 + 1e-6: renormalise such rows, as the loss's message says.
      const lp = shard.logprobs.sub(shard.logprobs.logSumExp(-1, true).clamp(0, null));
      const loss = sparseDistillationLoss(student, shard.indices, lp, { temperature: 1 });
      loss.backward();
      expect(Number.isFinite(loss.item())).toBe(true);
      steps++;
    }
    expect(steps).toBe(2);
    expect(student.grad!.toFlatArray().every(Number.isFinite)).toBe(true);
  });

  test("order: a shuffled epoch or a subset; prefetch reads the next file while the current shard is used", async () => {
    const dir = freshDir();
    writeShards(dir, 4);
    const shards = openTopKShards(dir);
    expect((await collect(shards.shards({ order: [2, 0, 3, 1] }))).map((s) => s.index)).toEqual([2, 0, 3, 1]);
    expect((await collect(shards.shards({ order: [3, 3], prefetch: true }))).map((s) => s.index)).toEqual([3, 3]);
    expect(await collect(shards.shards({ order: [] }))).toEqual([]);
  });

  test("lazy: a shard is read only when the loop asks for it, so a later bad file does not stop the earlier shards", async () => {
    const dir = freshDir();
    writeShards(dir, 3);
    const shards = openTopKShards(dir);
    // Break the second file after opening: the first shard still arrives, the second fails when reached.
    writeFileSync(shards.paths[1]!, "garbage");
    const it = shards.shards();
    const first = await it.next();
    expect((first.value as TopKShard).index).toBe(0);
    await expect(it.next()).rejects.toThrow(FormatError);
    // Removed after opening: a FileError naming the file.
    rmSync(shards.paths[2]!);
    await expect(collect(shards.shards({ order: [2] }))).rejects.toThrow(/TopKShards\.shards: cannot read ".*shard-00002\.safetensors": no such file or directory/);
    expect(() => shards.load(2)).toThrow(FileError);
  });

  test("a loop that stops early with a prefetched read failing leaves no unhandled rejection", async () => {
    const dir = freshDir();
    writeShards(dir, 2);
    const shards = openTopKShards(dir);
    rmSync(shards.paths[1]!);
    const seen: number[] = [];
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown): void => void unhandled.push(e);
    process.on("unhandledRejection", onUnhandled);
    try {
      for await (const s of shards.shards({ prefetch: true })) {
        seen.push(s.index);
        await new Promise((r) => setTimeout(r, 20)); // the prefetched read fails meanwhile
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
    expect(seen).toEqual([0]);
    expect(unhandled).toEqual([]);
  });

  test("files that are not top-k shards are FormatErrors naming the file and what is wrong", () => {
    const dir = freshDir();
    const idx = tensor([[0, 1]], { dtype: "int32" });
    const lp = tensor([[-1, -2]]);
    saveSafetensors(join(dir, "a.safetensors"), { indices: idx });
    saveSafetensors(join(dir, "b.safetensors"), { indices: lp, logprobs: lp });
    saveSafetensors(join(dir, "c.safetensors"), { indices: idx, logprobs: idx });
    saveSafetensors(join(dir, "d.safetensors"), { indices: idx, logprobs: tensor([[-1, -2, -3]]) });
    saveSafetensors(join(dir, "e.safetensors"), { ids: idx, lp }, undefined);
    const shards = openTopKShards(dir);
    expect(() => shards.load(0)).toThrow(/TopKShards\.load: ".*a\.safetensors" has no tensor "logprobs" \(it holds "indices"\)/);
    expect(() => shards.load(1)).toThrow(/"indices" must hold integers \(I32, or I64 that fit int32\), got F32/);
    expect(() => shards.load(2)).toThrow(/"logprobs" must hold floats \(F32, F16, BF16 or F64\), got I32/);
    expect(() => shards.load(3)).toThrow(/"indices" \[1,2\] and "logprobs" \[1,3\] must have one shape/);
    // Other tensor names, by option.
    expect(openTopKShards(join(dir, "e.safetensors"), { indices: "ids", logprobs: "lp" }).load(0).indices.toFlatArray()).toEqual([0, 1]);
    writeFileSync(join(dir, "f.safetensors"), "not safetensors");
    expect(() => openTopKShards(dir).load(5)).toThrow(/TopKShards\.load: ".*f\.safetensors": decodeSafetensors: /);
  });

  test("arguments: a missing or empty source, bad options, a shard index out of range", () => {
    const dir = freshDir();
    expect(() => openTopKShards(dir)).toThrow(/openTopKShards: ".*" holds no \.safetensors files/);
    expect(() => openTopKShards(join(dir, "nope"))).toThrow(FileError);
    expect(() => openTopKShards([])).toThrow(/the list of shard files is empty/);
    expect(() => openTopKShards(3 as unknown as string)).toThrow(ValueError);
    expect(() => openTopKShards(dir, { indices: "" })).toThrow(/options.indices must be a non-empty tensor name/);
    expect(() => openTopKShards(dir, { logprob: "x" } as never)).toThrow(/unknown key "logprob"/);
    writeShards(dir, 2);
    const shards = openTopKShards([join(dir, "shard-00001.safetensors"), join(dir, "shard-00000.safetensors")]);
    expect(shards.load(0).index).toBe(0);
    expect(shards.load(0).path.endsWith("shard-00001.safetensors")).toBe(true);
    expect(() => shards.load(2)).toThrow(IndexError);
    expect(() => shards.load(-1)).toThrow(/shard -1 is out of range \[0, 2\)/);
    expect(() => shards.load(0.5)).toThrow(/must be an integer/);
    expect(() => shards.shards({ order: [0, 5] })).toThrow(IndexError);
    expect(() => shards.shards({ order: 1 as unknown as number[] })).toThrow(/options.order must be a list/);
    expect(() => shards.shards({ prefetch: "yes" as unknown as boolean })).toThrow(/prefetch must be true or false/);
  });

  test.skipIf(process.getuid?.() === 0)("an unreadable file is a FileError when its shard is read", async () => {
    const dir = freshDir();
    writeShards(dir, 1);
    const shards = openTopKShards(dir);
    chmodSync(shards.paths[0]!, 0o000);
    await expect(collect(shards)).rejects.toThrow(FileError);
  });
});
