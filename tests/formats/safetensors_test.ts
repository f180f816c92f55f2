import assert from "node:assert/strict";
import {
  encodeSafetensors,
  readRows,
  readSafetensors,
  readSafetensorsHeader,
  writeSafetensors,
} from "../../lib/formats/safetensors.ts";
import {
  bf16BitsToF32,
  f16BitsToF32,
  f32ToBf16Bits,
  f32ToF16Bits,
} from "../../lib/formats/float_codec.ts";
import { DataError } from "../../lib/errors.ts";
import { assertAtomicWrite } from "../store/_write_spy.ts";

const FIXTURES = new URL("../data/fixtures/", import.meta.url).pathname;

Deno.test("encodeSafetensors() lays out header length, padded JSON and LE data as specified", () => {
  const bytes = encodeSafetensors({
    a: { dtype: "F32", shape: [2], data: new Float32Array([1, 2]) },
  });
  const json = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'; // 54 bytes -> padded to 56
  const view = new DataView(bytes.buffer);
  assert.equal(view.getBigUint64(0, true), 56n);
  assert.equal(new TextDecoder().decode(bytes.subarray(8, 64)), json + "  ");
  assert.equal(bytes.length, 8 + 56 + 8);
  assert.deepEqual(Array.from(bytes.subarray(64)), [0, 0, 0x80, 0x3f, 0, 0, 0, 0x40]); // 1.0f, 2.0f
});

Deno.test("writeSafetensors() round-trips F32/F16/BF16 tensors and metadata", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const data = Float32Array.from({ length: 12 }, (_, i) => (i - 5) * 0.337);
    const path = `${dir}/sae.safetensors`;
    await writeSafetensors(path, {
      w32: { dtype: "F32", shape: [3, 4], data },
      w16: { dtype: "F16", shape: [3, 4], data },
      wbf: { dtype: "BF16", shape: [12], data },
      empty: { dtype: "F32", shape: [0, 4], data: new Float32Array(0) },
    }, { metadata: { format: "saesweep", d_model: "4" } });
    const header = await readSafetensorsHeader(path);
    assert.deepEqual(header.metadata, { format: "saesweep", d_model: "4" });
    assert.equal(header.dataStart % 8, 0);
    const all = await readSafetensors(path);
    assert.deepEqual(all.w32, { dtype: "F32", shape: [3, 4], data });
    assert.deepEqual(all.w16.data, data.map((v) => f16BitsToF32(f32ToF16Bits(v))));
    assert.deepEqual(all.wbf.data, data.map((v) => bf16BitsToF32(f32ToBf16Bits(v))));
    assert.deepEqual(all.empty.shape, [0, 4]);
    const some = await readSafetensors(path, { names: ["w16"] });
    assert.deepEqual(Object.keys(some), ["w16"]);
    assert.deepEqual(
      await readRows(path, { name: "w32", start: 1, count: 2 }),
      data.subarray(4, 12),
    );
    assert.deepEqual(
      await readRows(path, { name: "w16", start: 2, count: 1 }),
      all.w16.data.subarray(8),
    );
    await assert.rejects(readRows(path, { name: "wbf", start: 0, count: 1 }), DataError); // 1-D
    await assert.rejects(readRows(path, { name: "w32", start: 2, count: 2 }), RangeError);
    await assert.rejects(readSafetensors(path, { names: ["nope"] }), DataError);
    // No temporary files are left behind.
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names, ["sae.safetensors"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readSafetensors() reads a file written by an independent writer (Python fixture)", async () => {
  // tests/data/fixtures/make_fixtures.py writes it with struct/json/numpy, following the spec:
  // x = arange(6).reshape(2, 3) * 0.5 - 1 as F32, the same as F16 (numpy rounding) and as BF16,
  // metadata {"source": "numpy"}.
  const t = await readSafetensors(`${FIXTURES}/ref.safetensors`);
  const x = Float32Array.from({ length: 6 }, (_, i) => i * 0.5 - 1);
  assert.deepEqual(t.x32.shape, [2, 3]);
  assert.deepEqual(t.x32.data, x);
  assert.deepEqual(t.x16.data, x);
  assert.deepEqual(t.xbf.data, x); // these values are exact in every dtype
  assert.deepEqual(
    t.third.data,
    Float32Array.from([1 / 3, 2 / 3], (v) => f16BitsToF32(f32ToF16Bits(v))),
  );
  assert.deepEqual((await readSafetensorsHeader(`${FIXTURES}/ref.safetensors`)).metadata, {
    source: "numpy",
  });
});

function fileWith(header: string, dataBytes: number): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  return out;
}

Deno.test("readSafetensorsHeader() rejects malformed headers with a DataError naming every problem", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cases: [string, Uint8Array, RegExp][] = [
      ["short", new Uint8Array(4), /too short/],
      [
        "huge length",
        (() => {
          const b = new Uint8Array(16);
          new DataView(b.buffer).setBigUint64(0, 1000n, true);
          return b;
        })(),
        /exceeds the file size/,
      ],
      ["not json", fileWith("{oops", 0), /not UTF-8 JSON/],
      ["array", fileWith("[1,2]", 0), /not a JSON object/],
      [
        "unknown dtype",
        fileWith('{"a":{"dtype":"F12","shape":[1],"data_offsets":[0,4]}}', 4),
        /unknown dtype "F12"/,
      ],
      [
        "size mismatch",
        fileWith('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', 4),
        /needs 8/,
      ],
      [
        "past end",
        fileWith('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', 4),
        /past the 4-byte/,
      ],
      [
        "overlap and metadata",
        fileWith(
          '{"__metadata__":{"k":1},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},' +
            '"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}',
          4,
        ),
        /__metadata__.k is not a string; tensor b overlaps/,
      ],
      [
        "gap",
        fileWith('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', 8),
        /gap in the data buffer/,
      ],
      [
        "trailing",
        fileWith('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 8),
        /4 bytes after/,
      ],
    ];
    for (const [what, bytes, pattern] of cases) {
      const path = `${dir}/${what.replaceAll(" ", "_")}.safetensors`;
      await Deno.writeFile(path, bytes);
      const err = await readSafetensorsHeader(path).then(() => null, (e) => e);
      assert.ok(err instanceof DataError, `${what}: expected a DataError, got ${err}`);
      assert.match(err.message, pattern, what);
      assert.ok(err.message.startsWith(path), `${what}: message should name the file`);
      assert.ok(err.hint.length > 0, `${what}: no hint`);
    }
    // An integer tensor parses, but reading it as floats is refused with a hint.
    const ints = `${dir}/ints.safetensors`;
    await Deno.writeFile(
      ints,
      fileWith('{"i":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}', 4),
    );
    await assert.rejects(readSafetensors(ints), /dtype I32, not a float type/);
    await assert.rejects(readSafetensorsHeader(`${dir}/missing.safetensors`), DataError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeSafetensors() never writes its target in place: one rename of a complete temp beside it", async () => {
  // Seen through a write interposer, not a kill point: an in-place write has no point to stop at.
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/sae_weights.safetensors`;
    for (const n of [3, 40, 1]) {
      const tensors = {
        W_dec: { dtype: "F32" as const, shape: [n, 2], data: new Float32Array(2 * n).fill(n) },
      };
      const want = encodeSafetensors(tensors, { metadata: { n: String(n) } });
      await assertAtomicWrite(
        path,
        want,
        () => writeSafetensors(path, tensors, { metadata: { n: String(n) } }),
      );
    }
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names, ["sae_weights.safetensors"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
