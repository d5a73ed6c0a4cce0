import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { FileError, FormatError, Generator, ValueError, mlp, tensor } from "../../src/index.js";
import { loadModule, loadNpy, loadSafetensors, saveModule, saveNpy, saveSafetensors, writeFileAtomic } from "../../src/node/index.js";
import { STALE_AFTER_MS, makeDirectory, removeStaleTemporaries } from "../../src/node/files.js";

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
    expect(() => loadModule(join(dir, "m.safetensors"), mlp([4, 9, 3]))).toThrow(/^loadModule: "0.weight" has shape \[8,4\] in the state dict but \[9,4\] in the module$/);
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
    expect(() => saveSafetensors(path, { w: tensor([1]) })).toThrow(/^saveSafetensors: cannot write ".*m\.safetensors": no such file or directory$/);
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

describe("temporaries of killed writers", () => {
  const filesModule = new URL("../../src/node/files.ts", import.meta.url).pathname;

  test("a writer SIGKILLed mid-write leaves the target whole and a *.tmp-PID-* file, which the next write removes", async () => {
    const dir = freshDir();
    const target = join(dir, "model.bin");
    const size = 16 << 20;
    // The child rewrites the target forever, 16 MiB of one byte value per write (1, 2, 3, …).
    const code = `import { writeFileAtomic } from ${JSON.stringify(filesModule)};
      for (let k = 1; ; k++) { writeFileAtomic(${JSON.stringify(target)}, new Uint8Array(${size}).fill(k & 255)); if (k === 1) process.stdout.write("started\\n"); }`;
    let left: string[] = [];
    for (let attempt = 0; attempt < 8 && left.length === 0; attempt++) {
      const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { stdio: ["ignore", "pipe", "inherit"] });
      const closed = new Promise((resolve) => child.on("close", resolve));
      await new Promise<void>((resolve) => child.stdout.on("data", () => resolve()));
      await new Promise((resolve) => setTimeout(resolve, 10 * attempt));
      child.kill("SIGKILL");
      await closed;
      const bytes = readFileSync(target);
      expect(bytes.length).toBe(size);
      expect(bytes.every((b) => b === bytes[0])).toBe(true);
      left = leftovers(dir);
      for (const name of left) expect(name).toMatch(new RegExp(`^model\\.bin\\.tmp-${child.pid}-[0-9a-f]{12}$`));
    }
    expect(left.length).toBe(1);
    writeFileAtomic(target, "next");
    expect(readdirSync(dir)).toEqual(["model.bin"]);
    expect(readFileSync(target, "utf8")).toBe("next");
  }, 60_000);

  test("only temporaries of dead writers (or untouched for STALE_AFTER_MS) are removed: a live writer's stays", async () => {
    const dir = freshDir();
    const target = join(dir, "out.json");
    const dead = spawnSync(process.execPath, ["-e", ""]).pid!;
    const sleeper = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
    try {
      const live = sleeper.pid!;
      const names = {
        dead: `out.json.tmp-${dead}-aaaaaaaaaaaa`,
        deadDir: `out.json.old-${dead}-bbbbbbbbbbbb`,
        live: `out.json.tmp-${live}-cccccccccccc`,
        liveButOld: `out.json.tmp-${live}-dddddddddddd`,
        otherTarget: `other.json.tmp-${dead}-eeeeeeeeeeee`,
        notOurs: `out.json.tmp-${dead}-backup`,
      };
      for (const [k, n] of Object.entries(names)) {
        if (k === "deadDir") {
          mkdirSync(join(dir, n));
          writeFileSync(join(dir, n, "report.json"), "{}");
        } else writeFileSync(join(dir, n), k);
      }
      const old = (Date.now() - STALE_AFTER_MS - 60_000) / 1000;
      utimesSync(join(dir, names.liveButOld), old, old);
      expect(removeStaleTemporaries(target).map((p) => p.slice(dir.length + 1)).sort()).toEqual([names.dead, names.deadDir, names.liveButOld].sort());
      expect(readdirSync(dir).sort()).toEqual([names.live, names.notOurs, names.otherTarget].sort());
      writeFileAtomic(target, "x"); // the live writer's temporary survives a write of the same target
      expect(readdirSync(dir).sort()).toEqual(["out.json", names.live, names.notOurs, names.otherTarget].sort());
    } finally {
      sleeper.kill("SIGKILL");
    }
  });

  test("makeDirectory creates missing parents one level at a time, and fails at once where Node's recursive mkdir spins (/proc)", () => {
    const dir = freshDir();
    makeDirectory(join(dir, "a", "b", "c"), "test");
    expect(statSync(join(dir, "a", "b", "c")).isDirectory()).toBe(true);
    expect(() => makeDirectory("/proc/kdgrad-test/a/b", "test")).toThrow(FileError);
    expect(() => makeDirectory("/proc/kdgrad-test/a/b", "test")).toThrow(/^test: cannot create the directory "\/proc\/kdgrad-test": no such file or directory$/);
    writeFileSync(join(dir, "f"), "");
    expect(() => makeDirectory(join(dir, "f", "g"), "test")).toThrow(/is a file, not a directory$/);
  });
});

describe("kdgrad/node names the function called and checks its arguments", () => {
  test("writeFileAtomic writes every byte of a typed array (a Float32Array of 3 values is 12 bytes, not 3)", () => {
    const dir = freshDir();
    const values = Float32Array.of(1.5, -2, 3.25);
    writeFileAtomic(join(dir, "f32"), values);
    expect(new Float32Array(new Uint8Array(readFileSync(join(dir, "f32"))).buffer)).toEqual(values);
    // A view writes its own bytes, not its buffer's.
    const big = Uint8Array.of(9, 1, 2, 3, 9);
    writeFileAtomic(join(dir, "view"), new DataView(big.buffer, 1, 3));
    expect([...readFileSync(join(dir, "view"))]).toEqual([1, 2, 3]);
    expect(() => writeFileAtomic(join(dir, "n"), 3 as never)).toThrow(/^writeFileAtomic: data must be a string or bytes \(a Uint8Array or another typed array\), got 3$/);
    expect(leftovers(dir)).toEqual([]);
  });

  test("a path that is not a non-empty string or a file: URL is a ValueError naming the function (node:fs's TypeError before)", () => {
    const cases: [() => unknown, string][] = [
      [() => writeFileAtomic(3 as never, "x"), "writeFileAtomic"],
      [() => saveNpy(3n as never, tensor([1])), "saveNpy"],
      [() => loadNpy(null as never), "loadNpy"],
      [() => saveSafetensors(["a"] as never, {}), "saveSafetensors"],
      [() => loadSafetensors({} as never), "loadSafetensors"],
      [() => saveModule(true as never, mlp([2, 2])), "saveModule"],
      [() => loadModule(undefined as never, mlp([2, 2])), "loadModule"],
      [() => writeFileAtomic("", "x"), "writeFileAtomic"],
    ];
    for (const [call, fn] of cases) {
      expect(call).toThrow(ValueError);
      expect(call).toThrow(new RegExp(`^${fn}: path must be a non-empty string or a file: URL, got `));
    }
    expect(() => loadNpy(new URL("https://example.com/a.npy"))).toThrow(/^loadNpy: a URL path must be a file: URL, got https:$/);
  });

  test("save and load functions name themselves, not the encoder, decoder or writer they use", () => {
    const dir = freshDir();
    expect(() => saveNpy(dir, tensor([1]))).toThrow(/^saveNpy: cannot write ".*": it is a directory$/);
    expect(() => saveNpy(join(dir, "a.npy"), 3 as never)).toThrow(/^saveNpy: the tensor to write must be a Tensor, got 3$/);
    expect(() => saveSafetensors(join(dir, "a"), { w: tensor([1]) }, "x" as never)).toThrow(/^saveSafetensors: metadata must be an object of strings, got "x"$/);
    expect(() => saveModule(join(dir, "m"), {} as never)).toThrow(/^saveModule: module must be a Module, got an object$/);
    expect(() => saveModule(join(dir, "m"), mlp([2, 2]), { n: 1 as never })).toThrow(/^saveModule: metadata values must be strings, but "n" is number$/);
    saveModule(join(dir, "m"), mlp([2, 3]));
    expect(() => loadModule(join(dir, "m"), mlp([2, 2, 2]))).toThrow(/^loadModule: missing key\(s\) in state dict for Sequential: "2\.weight", "2\.bias"$/);
    expect(() => loadModule(join(dir, "m"), null as never)).toThrow(/^loadModule: module must be a Module, got null$/);
    expect(() => loadModule(join(dir, "m"), mlp([2, 3]), { strict: null } as never)).toThrow(/^loadModule: options\.strict is null/);
    expect(() => loadModule(join(dir, "m"), mlp([2, 3]), { strickt: false } as never)).toThrow(/^loadModule: unknown key "strickt" in options \(allowed: strict\)$/);
    writeFileSync(join(dir, "bad"), "not safetensors");
    expect(() => loadModule(join(dir, "bad"), mlp([2, 3]))).toThrow(/^loadModule: ".*bad": decodeSafetensors: /);
    expect(() => loadModule(dir, mlp([2, 3]))).toThrow(/^loadModule: cannot read ".*": it is a directory$/);
    expect(readdirSync(dir).sort()).toEqual(["bad", "m"]);
  });
});
