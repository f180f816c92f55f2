import assert from "node:assert/strict";
import { encodeNpy, readNpyHeader, readNpyRows, writeNpy } from "../../lib/formats/npy.ts";
import { DataError } from "../../lib/errors.ts";

// Reference files written by numpy itself (tests/data/fixtures/make_fixtures.py).
const FIXTURES = new URL("../data/fixtures/", import.meta.url).pathname;
const X = Float32Array.from({ length: 6 }, (_, i) => i * 0.5 - 1); // arange(6) * 0.5 - 1, (2, 3)

Deno.test("readNpyRows() reads numpy's own files in format versions 1, 2 and 3", async () => {
  for (const v of [1, 2, 3]) {
    const path = `${FIXTURES}/ref_f4_v${v}.npy`;
    const h = await readNpyHeader(path);
    assert.deepEqual([h.dtype, h.shape, h.version[0]], ["<f4", [2, 3], v]);
    assert.deepEqual(await readNpyRows(path, { start: 0, count: 2 }), X);
    assert.deepEqual(await readNpyRows(path, { start: 1, count: 1 }), X.subarray(3));
  }
});

Deno.test("readNpyRows() decodes float16, float64 and 1-D arrays", async () => {
  // ref_f2_v1: float16(arange(12) / 3), shape (4, 3); rows 1-2 are 1, 4/3, 5/3, 2, 7/3, 8/3 in f16
  const f2 = await readNpyRows(`${FIXTURES}/ref_f2_v1.npy`, { start: 1, count: 2 });
  const expected = [1, 4 / 3, 5 / 3, 2, 7 / 3, 8 / 3];
  // float16 has 11 significant bits: relative error <= 2^-11
  expected.forEach((v, i) => assert.ok(Math.abs(f2[i] - v) <= v * 2 ** -11, `${f2[i]} vs ${v}`));
  assert.deepEqual(await readNpyRows(`${FIXTURES}/ref_f8_v1.npy`, { start: 0, count: 2 }), X);
  assert.deepEqual(
    await readNpyRows(`${FIXTURES}/ref_1d.npy`, { start: 1, count: 2 }),
    new Float32Array([-2, 3.25]),
  );
});

Deno.test("encodeNpy() produces byte-identical files to numpy.save", async () => {
  assert.deepEqual(
    encodeNpy(X, { shape: [2, 3], dtype: "<f4" }),
    await Deno.readFile(`${FIXTURES}/ref_f4_v1.npy`),
  );
  const twelve = Float32Array.from({ length: 12 }, (_, i) => i / 3);
  assert.deepEqual(
    encodeNpy(twelve, { shape: [4, 3], dtype: "<f2" }),
    await Deno.readFile(`${FIXTURES}/ref_f2_v1.npy`),
  );
  assert.deepEqual(
    encodeNpy(new Float32Array([1.5, -2, 3.25]), { shape: [3], dtype: "<f4" }),
    await Deno.readFile(`${FIXTURES}/ref_1d.npy`),
  );
});

Deno.test("writeNpy() and readNpyRows() round-trip large arrays in chunks", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const rows = 1000, cols = 7;
    const data = Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(i));
    await writeNpy(`${dir}/a.npy`, data, { shape: [rows, cols], dtype: "<f4" });
    const parts = [];
    for (let s = 0; s < rows; s += 300) {
      parts.push(await readNpyRows(`${dir}/a.npy`, { start: s, count: Math.min(300, rows - s) }));
    }
    const joined = new Float32Array(rows * cols);
    let at = 0;
    for (const p of parts) {
      joined.set(p, at);
      at += p.length;
    }
    assert.deepEqual(joined, data);
    assert.deepEqual((await readNpyHeader(`${dir}/a.npy`)).dataOffset % 64, 0);
    await assert.rejects(readNpyRows(`${dir}/a.npy`, { start: 999, count: 2 }), RangeError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readNpyHeader() rejects unsupported or broken files with a DataError and hint", async () => {
  const cases: [string, RegExp][] = [
    ["ref_big_endian.npy", /dtype >f4/],
    ["ref_fortran.npy", /Fortran-ordered/],
    ["ref_int.npy", /dtype <i4/],
    ["ref.safetensors", /bad magic/],
    ["missing.npy", /no such file/],
  ];
  for (const [name, pattern] of cases) {
    const err = await readNpyHeader(`${FIXTURES}/${name}`).then(() => null, (e) => e);
    assert.ok(err instanceof DataError, `${name}: ${err}`);
    assert.match(err.message, pattern, name);
    assert.ok(err.hint.length > 0, `${name}: no hint`);
  }
  const dir = await Deno.makeTempDir();
  try {
    const full = encodeNpy(X, { shape: [2, 3], dtype: "<f4" });
    await Deno.writeFile(`${dir}/t.npy`, full.subarray(0, full.length - 4));
    await assert.rejects(readNpyHeader(`${dir}/t.npy`), /truncated/);
    const threeD = encodeNpy(X, { shape: [1, 2, 3], dtype: "<f4" });
    await Deno.writeFile(`${dir}/3d.npy`, threeD);
    await assert.rejects(
      readNpyRows(`${dir}/3d.npy`, { start: 0, count: 1 }),
      /expected 1-D or 2-D/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
