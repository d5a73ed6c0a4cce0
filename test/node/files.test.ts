import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { FileError, FormatError, Generator, ValueError, mlp, tensor } from "../../src/index.js";
import { loadModule, loadNpy, loadSafetensors, saveModule, saveNpy, saveSafetensors, writeFileAtomic } from "../../src/node/index.js";

const root = mkdtempSync(join(tmpdir(), "kdgrad-node-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const freshDir = (): string => {
  const d = join(root, `case-${counter++}`);
  mkdirSync(d);
  return d;
};
const leftovers = (dir: string): string[] => readdirSync(dir).filter((f) => f.includes(".tmp-"));

describe("safetensors, .npy and modules on disk", () => {
  test("round trips through files, leaving no temporary files behind", () => {
    const dir = freshDir();
    const path = join(dir, "t.safetensors");
    saveSafetensors(path, { w: tensor([[1, 2], [3, 4]]), i: tensor([5], { dtype: "int32" }) }, { note: "hello" });
    const { tensors, metadata } = loadSafetensors(path);
    expect(tensors.get("w")!.toArray()).toEqual([[1, 2], [3, 4]]);
    expect(tensors.get("i")!.dtype).toBe("int32");
    expect(metadata).toEqual({ note: "hello" });
    saveNpy(join(dir, "a.npy"), tensor([1.5, -2], { dtype: "float64" }));
    expect(loadNpy(join(dir, "a.npy")).toFlatArray()).toEqual([1.5, -2]);
    expect(readdirSync(dir).sort()).toEqual(["a.npy", "t.safetensors"]);
  });

  test("saveModule / loadModule copy parameters between models of the same shape", () => {
    const dir = freshDir();
    const a = mlp([4, 8, 3], { generator: new Generator(1) });
    const b = mlp([4, 8, 3], { generator: new Generator(2) });
    saveModule(join(dir, "m.safetensors"), a, { epochs: "3" });
    expect(loadModule(join(dir, "m.safetensors"), b)).toEqual({ epochs: "3" });
    for (const [name, t] of a.stateDict()) expect(b.stateDict().get(name)!.toFlatArray()).toEqual(t.toFlatArray());
    expect(() => loadModule(join(dir, "m.safetensors"), mlp([4, 9, 3]))).toThrow(/^loadStateDict: "0.weight" has shape \[8,4\] in the state dict but \[9,4\] in the module$/);
  });

  test("a corrupted header and a truncated body are FormatErrors naming the file and the problem", () => {
    const dir = freshDir();
    const path = join(dir, "m.safetensors");
    saveSafetensors(path, { w: tensor([1, 2, 3]) });
    const good = readFileSync(path);
    const corrupt = Buffer.from(good);
    corrupt[8] = 0x5b; // "[" instead of "{"
    writeFileSync(join(dir, "corrupt.safetensors"), corrupt);
    expect(() => loadSafetensors(join(dir, "corrupt.safetensors"))).toThrow(FormatError);
    expect(() => loadSafetensors(join(dir, "corrupt.safetensors"))).toThrow(/^loadSafetensors: ".*corrupt\.safetensors": decodeSafetensors: the header must be a JSON object starting with "\{"/);
    writeFileSync(join(dir, "short.safetensors"), good.subarray(0, good.length - 5));
    expect(() => loadSafetensors(join(dir, "short.safetensors"))).toThrow(/short\.safetensors": decodeSafetensors: the data section is truncated: tensor "w" ends at 12 but only 7 bytes/);
    writeFileSync(join(dir, "bad.npy"), good);
    expect(() => loadNpy(join(dir, "bad.npy"))).toThrow(/^loadNpy: ".*bad\.npy": decodeNpy: not a \.npy file/);
  });

  test("missing files are FileErrors naming the path", () => {
    const missing = join(root, "no-such-file.safetensors");
    expect(() => loadSafetensors(missing)).toThrow(FileError);
    expect(() => loadSafetensors(missing)).toThrow(`loadSafetensors: cannot read ${JSON.stringify(missing)}: no such file or directory`);
    expect(() => loadNpy(join(root, "x.npy"))).toThrow(/^loadNpy: cannot read ".*x\.npy": no such file or directory$/);
    expect(() => loadSafetensors(root)).toThrow(/it is a directory$/);
  });
});

describe("writeFileAtomic", () => {
  test("replaces the target by a rename: the new content arrives as a new file, and no temporary file remains", () => {
    const dir = freshDir();
    const path = join(dir, "out.txt");
    writeFileSync(path, "old content");
    const before = statSync(path).ino;
    writeFileAtomic(path, "new");
    expect(readFileSync(path, "utf8")).toBe("new");
    expect(statSync(path).ino).not.toBe(before); // a new inode: renamed over, not rewritten in place
    writeFileAtomic(path, Uint8Array.from([1, 2, 3]));
    expect([...readFileSync(path)]).toEqual([1, 2, 3]);
    expect(leftovers(dir)).toEqual([]);
  });

  test("a write into a missing directory throws and creates nothing", () => {
    const dir = freshDir();
    const path = join(dir, "missing", "m.safetensors");
    expect(() => saveSafetensors(path, { w: tensor([1]) })).toThrow(FileError);
    expect(() => saveSafetensors(path, { w: tensor([1]) })).toThrow(/^writeFileAtomic: cannot write ".*m\.safetensors": no such file or directory$/);
    expect(readdirSync(dir)).toEqual([]);
  });

  test("when the final rename fails, the temporary file is removed and the target is untouched", () => {
    const dir = freshDir();
    const target = join(dir, "target");
    mkdirSync(target); // renaming a file over a directory fails
    writeFileSync(join(target, "keep"), "x");
    expect(() => writeFileAtomic(target, "data")).toThrow(FileError);
    expect(readdirSync(dir)).toEqual(["target"]);
    expect(readdirSync(target)).toEqual(["keep"]);
  });

  test("an encoding error happens before any file is touched", () => {
    const dir = freshDir();
    expect(() => saveSafetensors(join(dir, "x.safetensors"), { w: tensor([1]) }, { n: 1 as unknown as string })).toThrow(ValueError);
    expect(readdirSync(dir)).toEqual([]);
  });
});
