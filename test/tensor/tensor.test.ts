import { describe, expect, test } from "vitest";
import {
  DTypeError, ShapeError, Tensor, ValueError, arange, eye, full, ones, onesLike, rand, randint, randn,
  tensor, zeros, zerosLike, Generator,
} from "../../src/index.js";

describe("creation", () => {
  test("nested arrays give shape and row-major data", () => {
    const t = tensor([[1, 2, 3], [4, 5, 6]]);
    expect(t.shape).toEqual([2, 3]);
    expect(t.strides).toEqual([3, 1]);
    expect(t.dtype).toBe("float32");
    expect(t.ndim).toBe(2);
    expect(t.size).toBe(6);
    expect(t.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
  });

  test("a flat array with a shape is reshaped; a scalar has shape []", () => {
    expect(tensor([1, 2, 3, 4, 5, 6], { shape: [3, 2] }).toArray()).toEqual([[1, 2], [3, 4], [5, 6]]);
    const s = tensor(3.5, { dtype: "float64" });
    expect(s.shape).toEqual([]);
    expect(s.item()).toBe(3.5);
    expect(s.toArray()).toBe(3.5);
  });

  test("a typed array is used without a copy and sets the dtype", () => {
    const data = new Float64Array([1, 2, 3, 4]);
    const t = tensor(data, { shape: [2, 2] });
    expect(t.dtype).toBe("float64");
    expect(t.data).toBe(data);
    data[3] = 9;
    expect(t.at(1, 1)).toBe(9);
    expect(tensor(new Int32Array([1, 2])).dtype).toBe("int32");
  });

  test("int32 refuses non-integers, ragged arrays and wrong shapes are errors", () => {
    expect(() => tensor([1.5], { dtype: "int32" })).toThrow(DTypeError);
    expect(() => tensor([1.5], { dtype: "int32" })).toThrow(/tensor: int32 values must be integers.*1\.5/);
    expect(() => tensor([[1, 2], [3]])).toThrow(ShapeError);
    expect(() => tensor([1, 2, 3], { shape: [2, 2] })).toThrow(/tensor: shape \[2,2\] holds 4 elements but 3 values/);
  });

  test("zeros, ones, full, arange, eye and the *Like forms", () => {
    expect(zeros([2, 2]).toFlatArray()).toEqual([0, 0, 0, 0]);
    expect(ones([3], { dtype: "float64" }).toFlatArray()).toEqual([1, 1, 1]);
    expect(full([2], 7).toFlatArray()).toEqual([7, 7]);
    expect(arange(5).toFlatArray()).toEqual([0, 1, 2, 3, 4]);
    expect(arange(1, 2, 0.25).toFlatArray()).toEqual([1, 1.25, 1.5, 1.75]);
    expect(eye(2, 3).toArray()).toEqual([[1, 0, 0], [0, 1, 0]]);
    const x = tensor([[1, 2]], { dtype: "float64" });
    expect(zerosLike(x).dtype).toBe("float64");
    expect(onesLike(x).shape).toEqual([1, 2]);
    expect(() => arange(0, 1, 0)).toThrow(ValueError);
  });

  test("random creation respects dtype, range and the generator", () => {
    const u = rand([1000], { generator: new Generator(1) });
    expect(u.dtype).toBe("float32");
    for (const v of u.toFlatArray()) expect(v >= 0 && v < 1).toBe(true);
    expect(randn([4], { generator: new Generator(5), dtype: "float64" }).toFlatArray())
      .toEqual(randn([4], { generator: new Generator(5), dtype: "float64" }).toFlatArray());
    const r = randint(-2, 3, [500], { generator: new Generator(2) });
    expect(r.dtype).toBe("int32");
    const vals = new Set(r.toFlatArray());
    expect([...vals].sort()).toEqual([-1, -2, 0, 1, 2].sort());
    expect(() => randn([2], { dtype: "int32" })).toThrow(DTypeError);
    expect(() => randint(3, 3, [1])).toThrow(ValueError);
  });
});

describe("views share storage", () => {
  const base = (): Tensor => arange(24, undefined, 1, { dtype: "float64" }).reshape(2, 3, 4);

  test("reshape of contiguous data is a view; of a transposed one a copy", () => {
    const x = base();
    const v = x.reshape(6, 4);
    expect(v.data).toBe(x.data);
    const t = x.transpose(0, 2);
    expect(t.data).toBe(x.data);
    expect(t.isContiguous()).toBe(false);
    const r = t.reshape(-1);
    expect(r.data).not.toBe(x.data);
    expect(r.toFlatArray()).toEqual(t.contiguous().toFlatArray());
  });

  test("transpose, permute, expand, slice, squeeze, unsqueeze read the right elements", () => {
    const x = base();
    expect(x.transpose(1, 2).at(1, 3, 2)).toBe(x.at(1, 2, 3));
    expect(x.permute(2, 0, 1).at(3, 1, 2)).toBe(x.at(1, 2, 3));
    const row = tensor([1, 2, 3]);
    const e = row.expand(2, 3);
    expect(e.strides).toEqual([0, 1]);
    expect(e.toArray()).toEqual([[1, 2, 3], [1, 2, 3]]);
    const s = x.slice(2, 1, undefined, 2);
    expect(s.shape).toEqual([2, 3, 2]);
    expect(s.at(1, 2, 1)).toBe(x.at(1, 2, 3));
    expect(x.slice(0, -1).shape).toEqual([1, 3, 4]);
    expect(x.unsqueeze(1).shape).toEqual([2, 1, 3, 4]);
    expect(x.unsqueeze(-1).shape).toEqual([2, 3, 4, 1]);
    expect(x.unsqueeze(1).squeeze().shape).toEqual([2, 3, 4]);
    expect(zeros([1, 3, 1]).squeeze(0).shape).toEqual([3, 1]);
    expect(zeros([2, 3]).squeeze(0).shape).toEqual([2, 3]);
  });

  test("contiguous() copies only when needed", () => {
    const x = base();
    expect(x.contiguous()).toBe(x);
    const t = x.transpose(0, 1);
    const c = t.contiguous();
    expect(c).not.toBe(t);
    expect(c.isContiguous()).toBe(true);
    expect(c.toArray()).toEqual(t.toArray());
    // A row slice is contiguous but offset: contiguous() gives data starting at 0.
    const row = x.slice(0, 1, 2);
    expect(row.contiguous().data.length).toBe(12);
    expect(row.contiguous().data[0]).toBe(12);
  });
});

describe("read-out", () => {
  test("item() needs one element", () => {
    expect(() => zeros([2]).item()).toThrow(/item: only a one-element tensor has an item, got shape \[2\]/);
  });

  test("toString prints like PyTorch with shape and dtype, and elides large tensors", () => {
    const s = tensor([[1, -2.5], [3, 4]], { dtype: "float64" }).toString();
    expect(s).toBe("tensor([[ 1.0000, -2.5000],\n        [ 3.0000,  4.0000]], shape=[2, 2], dtype=float64)");
    expect(tensor([1, 2], { dtype: "int32" }).toString()).toBe("tensor([1, 2], shape=[2], dtype=int32)");
    const big = zeros([40, 40]).toString();
    expect(big).toContain("...");
    expect(big.length).toBeLessThan(600);
    expect(tensor([1e-6, 1]).toString()).toContain("1.0000e-06");
    expect(tensor([NaN, Infinity, -Infinity]).toString()).toContain("nan");
  });
});

describe("type promotion", () => {
  test("float32 with float64 gives float64", () => {
    const a = tensor([1, 2], { dtype: "float32" });
    const b = tensor([1, 2], { dtype: "float64" });
    expect(a.add(b).dtype).toBe("float64");
    expect(a.mul(2).dtype).toBe("float32");
    // matmul and linear do not promote (PyTorch refuses too): a DTypeError naming both dtypes.
    expect(() => a.matmul(b)).toThrow(DTypeError);
    expect(() => a.matmul(b)).toThrow(/^matmul: a is float32 but b is float64; .*b\.to\("float32"\)/);
  });

  test("int32 takes no part in float arithmetic", () => {
    const i = tensor([1, 2], { dtype: "int32" });
    expect(() => i.add(tensor([1, 2]))).toThrow(DTypeError);
    expect(() => i.add(tensor([1, 2]))).toThrow(/add: int32 tensors hold labels/);
    expect(() => i.exp()).toThrow(/exp: input must be float32 or float64, got int32/);
    expect(() => i.requiresGrad_()).toThrow(DTypeError);
    expect(tensor([1, 2]).to("int32").dtype).toBe("int32");
    expect(() => tensor([1.5]).to("int32")).toThrow(/^Tensor\.to: only integral values fit in int32, got 1\.5/);
  });
});
