import assert from "node:assert/strict";
import { openFilesSource } from "../../lib/data/files.ts";
import { writeNpy } from "../../lib/formats/npy.ts";
import { writeSafetensors } from "../../lib/formats/safetensors.ts";
import {
  bf16BitsToF32,
  f16BitsToF32,
  f32ToBf16Bits,
  f32ToF16Bits,
} from "../../lib/formats/float_codec.ts";
import { FilesData } from "../../lib/spec/schema.ts";
import { DataError } from "../../lib/errors.ts";

const D = 3;

function config(path: string, overrides: Record<string, unknown> = {}): FilesData {
  return FilesData.parse({ source: "files", path, ...overrides });
}

/** Rows whose first value is a global row id (exact in every dtype up to 256), then two others. */
function rowsWithIds(first: number, count: number): Float32Array {
  const out = new Float32Array(count * D);
  for (let r = 0; r < count; r++) {
    out[r * D] = first + r;
    out[r * D + 1] = (first + r) * 0.1 + 0.01; // not exact in f16/bf16: tests the rounding
    out[r * D + 2] = -1;
  }
  return out;
}

function ids(x: Float32Array): number[] {
  return Array.from({ length: x.length / D }, (_, r) => x[r * D]);
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("openFilesSource() reads .npy (f4, f2) and .safetensors (F32, F16, BF16) identically", async () => {
  await withDir(async (dir) => {
    const data = rowsWithIds(0, 40);
    const round = {
      f32: (v: number) => v,
      f16: (v: number) => f16BitsToF32(f32ToF16Bits(v)),
      bf16: (v: number) => bf16BitsToF32(f32ToBf16Bits(v)),
    };
    const cases: [string, (v: number) => number][] = [
      ["a.npy", round.f32],
      ["b.npy", round.f16],
      ["c.safetensors", round.f32],
      ["d.safetensors", round.f16],
      ["e.safetensors", round.bf16],
    ];
    await writeNpy(`${dir}/a.npy`, data, { shape: [40, D], dtype: "<f4" });
    await writeNpy(`${dir}/b.npy`, data, { shape: [40, D], dtype: "<f2" });
    for (const [name, dtype] of [["c", "F32"], ["d", "F16"], ["e", "BF16"]] as const) {
      await writeSafetensors(`${dir}/${name}.safetensors`, {
        acts: { dtype, shape: [40, D], data },
      });
    }
    for (const [name, rounding] of cases) {
      const src = await openFilesSource(config(name, { heldout_fraction: 0.1 }), {
        specDir: dir,
        streamSeed: 0,
      });
      const expected = data.map(rounding);
      assert.equal(src.dModel, D);
      // Held out: the last ceil(0.1 * 40) = 4 rows, in file order.
      assert.deepEqual(await src.heldout(100), expected.subarray(36 * D), name);
      // One epoch of training is rows 0..35, each once, values as rounded by the dtype.
      const epoch = await src.nextBatch(36);
      const order = ids(epoch);
      assert.deepEqual([...order].sort((a, b) => a - b), Array.from({ length: 36 }, (_, i) => i));
      for (let r = 0; r < 36; r++) {
        const id = order[r];
        assert.deepEqual(epoch.subarray(r * D, r * D + D), expected.subarray(id * D, id * D + D));
      }
      src.close();
    }
  });
});

Deno.test("files split: per-shard tails are held out, and train + held-out cover every row once", async () => {
  await withDir(async (dir) => {
    // Shards of 30, 50 and 20 rows (ids 0-29, 30-79, 80-99); fraction 0.2 with 3 shards (< 5):
    // tails of ceil(0.2 * 30) = 6, 10 and 4 rows: held-out ids 24-29, 70-79, 96-99.
    await writeNpy(`${dir}/s0.npy`, rowsWithIds(0, 30), { shape: [30, D], dtype: "<f4" });
    await writeNpy(`${dir}/s1.npy`, rowsWithIds(30, 50), { shape: [50, D], dtype: "<f4" });
    await writeSafetensors(`${dir}/s2.safetensors`, {
      x: { dtype: "F32", shape: [20, D], data: rowsWithIds(80, 20) },
    });
    await Deno.writeTextFile(`${dir}/README.txt`, "not a shard");
    const src = await openFilesSource(config(dir, { heldout_fraction: 0.2, shuffle_buffer: 16 }), {
      specDir: "/",
      streamSeed: 5,
    });
    const held = ids(await src.heldout(1000));
    const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
    assert.deepEqual(held, [...range(24, 30), ...range(70, 80), ...range(96, 100)]);
    assert.deepEqual(ids(await src.heldout(3)), [24, 25, 26]);
    const train = ids(await src.nextBatch(80));
    assert.equal(new Set([...train, ...held]).size, 100);
    assert.deepEqual(src.describe().heldout_mode, "shard_tails");
  });
});

Deno.test("files split: with many shards whole final shards are held out", async () => {
  await withDir(async (dir) => {
    // 10 shards of 10 rows, fraction 0.2: 10 * 0.2 >= 1, so the last ceil(0.2 * 100) = 20 rows
    // are the two final shards (ids 80-99).
    for (let s = 0; s < 10; s++) {
      await writeNpy(`${dir}/shard_${s}.npy`, rowsWithIds(s * 10, 10), {
        shape: [10, D],
        dtype: "<f4",
      });
    }
    const src = await openFilesSource(config(".", { heldout_fraction: 0.2 }), {
      specDir: dir,
      streamSeed: 0,
    });
    assert.deepEqual(ids(await src.heldout(100)), Array.from({ length: 20 }, (_, i) => 80 + i));
    assert.equal(src.describe().heldout_mode, "final_shards");
    const train = ids(await src.nextBatch(80)).sort((a, b) => a - b);
    assert.deepEqual(train, Array.from({ length: 80 }, (_, i) => i));
  });
});

Deno.test("files stream: shuffles within and across epochs, and differs by streamSeed", async () => {
  await withDir(async (dir) => {
    await writeNpy(`${dir}/a.npy`, rowsWithIds(0, 200), { shape: [200, D], dtype: "<f4" });
    const open = (seed: number, buffer: number) =>
      openFilesSource(config("a.npy", { heldout_fraction: 0.5, shuffle_buffer: buffer }), {
        specDir: dir,
        streamSeed: seed,
      });
    const src = await open(1, 32);
    const e0 = ids(await src.nextBatch(100));
    const e1 = ids(await src.nextBatch(100));
    const identity = Array.from({ length: 100 }, (_, i) => i);
    for (const e of [e0, e1]) assert.deepEqual([...e].sort((a, b) => a - b), identity);
    assert.notDeepEqual(e0, identity);
    assert.notDeepEqual(e0, e1);
    // Fewer than 10 of 100 rows stay in place (a uniform permutation leaves 1 on average).
    assert.ok(e0.filter((v, i) => v === i).length < 10, "barely shuffled");
    assert.notDeepEqual(ids(await (await open(2, 32)).nextBatch(100)), e0);
    // A buffer of 8 rows shuffles only within chunks of 8 rows (ids 8c..8c+7; the last chunk is
    // ids 96-99): the stream is whole chunks, one after another, each shuffled inside.
    const local = ids(await (await open(1, 8)).nextBatch(100));
    for (let i = 0; i < 100;) {
      const c = Math.floor(local[i] / 8);
      const size = c === 12 ? 4 : 8;
      const run = local.slice(i, i + size);
      assert.ok(run.every((v) => Math.floor(v / 8) === c), `positions ${i}+: ${run}`);
      i += size;
    }
    assert.notDeepEqual(local, identity);
  });
});

Deno.test("files cursor: seek() to a saved cursor replays the same batches across epochs", async () => {
  await withDir(async (dir) => {
    await writeNpy(`${dir}/a.npy`, rowsWithIds(0, 100), { shape: [100, D], dtype: "<f2" });
    await writeNpy(`${dir}/b.npy`, rowsWithIds(100, 60), { shape: [60, D], dtype: "<f2" });
    const cfg = config(".", { heldout_fraction: 0.1, shuffle_buffer: 20 });
    const a = await openFilesSource(cfg, { specDir: dir, streamSeed: 9 });
    await a.nextBatch(37);
    await a.nextBatch(50);
    const saved = JSON.parse(JSON.stringify(a.cursor()));
    const after = [await a.nextBatch(41), await a.nextBatch(100), await a.nextBatch(7)];
    const b = await openFilesSource(cfg, { specDir: dir, streamSeed: 9 });
    b.seek(saved);
    assert.deepEqual([await b.nextBatch(41), await b.nextBatch(100), await b.nextBatch(7)], after);
    assert.deepEqual(b.cursor(), a.cursor());
    assert.ok((a.cursor() as { epoch: number }).epoch >= 1, "the test should cross an epoch");
    // sample() is deterministic and does not move the cursor.
    const before = b.cursor();
    assert.deepEqual(await b.sample(30), await a.sample(30));
    assert.deepEqual(b.cursor(), before);
    assert.throws(() => b.seek({ batch: 3 }), DataError);
    assert.throws(() => b.seek({ ...saved, rows: 999 }), /checkpoint saw 999 training rows/);
  });
});

Deno.test("openFilesSource() reports bad inputs as DataErrors with hints", async () => {
  await withDir(async (dir) => {
    const expectError = async (cfg: FilesData, pattern: RegExp) => {
      const err = await openFilesSource(cfg, { specDir: dir, streamSeed: 0 }).then(
        () => null,
        (e) => e,
      );
      assert.ok(err instanceof DataError, `${pattern}: got ${err}`);
      assert.match(err.message, pattern);
      assert.ok(err.hint.length > 0, `${pattern}: no hint`);
    };
    await expectError(config("missing.npy"), /does not exist/);
    await Deno.mkdir(`${dir}/empty`);
    await expectError(config("empty"), /holds no \.npy or \.safetensors files/);
    await writeNpy(`${dir}/flat.npy`, new Float32Array(4), { shape: [4], dtype: "<f4" });
    await expectError(config("flat.npy"), /shape \[4\] is not 2-D/);
    // Mismatched widths across shards: both problems of the directory are listed.
    await Deno.mkdir(`${dir}/mixed`);
    await writeNpy(`${dir}/mixed/a.npy`, new Float32Array(12), { shape: [4, 3], dtype: "<f4" });
    await writeNpy(`${dir}/mixed/b.npy`, new Float32Array(8), { shape: [4, 2], dtype: "<f4" });
    await writeNpy(`${dir}/mixed/c.npy`, new Float32Array(4), { shape: [4], dtype: "<f4" });
    await expectError(config("mixed"), /d_model 2 differs from 3[^]*c\.npy: shape \[4\]/);
    await writeSafetensors(`${dir}/two.safetensors`, {
      a: { dtype: "F32", shape: [2, 2], data: new Float32Array(4) },
      b: { dtype: "F32", shape: [2, 2], data: new Float32Array(4) },
    });
    await expectError(config("two.safetensors"), /holds 2 tensors/);
    await expectError(config("two.safetensors", { tensor: "c" }), /no tensor named c/);
    const fixtures = new URL("./fixtures/", import.meta.url).pathname;
    await expectError(config(`${fixtures}/ref_int.npy`), /unsupported \.npy dtype <i4/);
    await writeNpy(`${dir}/one.npy`, new Float32Array(3), { shape: [1, 3], dtype: "<f4" });
    await expectError(config("one.npy"), /0 training and 1 held-out/);
  });
});

Deno.test("files: a symlinked directory of symlinked shards reads like the real files", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(`${dir}/real`);
    await Deno.mkdir(`${dir}/links`);
    for (let s = 0; s < 3; s++) {
      await writeNpy(`${dir}/real/shard_${s}.npy`, rowsWithIds(s * 10, 10), {
        shape: [10, D],
        dtype: "<f4",
      });
      await Deno.symlink(`../real/shard_${s}.npy`, `${dir}/links/shard_${s}.npy`);
    }
    await Deno.symlink("links", `${dir}/linked_dir`);
    const open = (path: string) =>
      openFilesSource(config(path, { heldout_fraction: 0.1 }), { specDir: dir, streamSeed: 0 });
    const real = await open("real");
    const linked = await open("linked_dir");
    assert.equal(linked.describe().train_rows, real.describe().train_rows);
    assert.deepEqual(ids(await linked.nextBatch(27)), ids(await real.nextBatch(27)));
    assert.deepEqual(ids(await linked.heldout(3)), ids(await real.heldout(3)));
  });
});

Deno.test("files heldout_path: every row of data.path trains and every row of heldout_path is held out", async () => {
  await withDir(async (dir) => {
    // Training: a directory of two shards (ids 0-29, 30-49); held out: one file (ids 100-111).
    await Deno.mkdir(`${dir}/train`);
    await writeNpy(`${dir}/train/a.npy`, rowsWithIds(0, 30), { shape: [30, D], dtype: "<f4" });
    await writeNpy(`${dir}/train/b.npy`, rowsWithIds(30, 20), { shape: [20, D], dtype: "<f4" });
    await writeSafetensors(`${dir}/held.safetensors`, {
      x: { dtype: "F32", shape: [12, D], data: rowsWithIds(100, 12) },
    });
    const src = await openFilesSource(
      config("train", { heldout_path: "held.safetensors", shuffle_buffer: 16 }),
      { specDir: dir, streamSeed: 3 },
    );
    const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
    assert.deepEqual(ids(await src.heldout(1000)), range(100, 112));
    assert.deepEqual(ids(await src.nextBatch(50)).sort((a, b) => a - b), range(0, 50));
    // The second epoch starts over the same 50 rows: no held-out row ever trains.
    assert.deepEqual(ids(await src.nextBatch(50)).sort((a, b) => a - b), range(0, 50));
    assert.ok(ids(await src.sample(200)).every((id) => id < 50));
    const d = src.describe();
    assert.equal(d.heldout_mode, "heldout_path");
    assert.equal(d.train_rows, 50);
    assert.equal(d.heldout_rows, 12);
    assert.equal(d.heldout_path, `${dir}/held.safetensors`);
  });
});

Deno.test("files heldout_path: a file in both parts is refused with its path, a hint and exit 2", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(`${dir}/train`);
    await writeNpy(`${dir}/train/a.npy`, rowsWithIds(0, 30), { shape: [30, D], dtype: "<f4" });
    await writeNpy(`${dir}/train/b.npy`, rowsWithIds(30, 20), { shape: [20, D], dtype: "<f4" });
    await Deno.symlink(`${dir}/train/b.npy`, `${dir}/link.npy`);
    const cases: [string, RegExp][] = [
      // A shard of the training directory itself.
      ["train/b.npy", /1 file\(s\) in both: .*\/train\/b\.npy$/],
      // The same directory under another spelling.
      ["./train/../train", /2 file\(s\) in both/],
      // A link to a training shard.
      ["link.npy", /link\.npy \(= .*\/train\/b\.npy\)/],
    ];
    for (const [held, message] of cases) {
      await assert.rejects(
        openFilesSource(config("train", { heldout_path: held }), { specDir: dir, streamSeed: 0 }),
        (e) => {
          assert.ok(e instanceof DataError, String(e));
          assert.match(e.message, /^data\.heldout_path .* overlaps data\.path .*\/train: /);
          assert.match(e.message, message);
          assert.match(e.hint, /files that are not training shards/);
          assert.equal(e.exitCode, 2);
          return true;
        },
      );
    }
    // A held-out path that does not exist names its own key.
    await assert.rejects(
      openFilesSource(config("train", { heldout_path: "nope.npy" }), {
        specDir: dir,
        streamSeed: 0,
      }),
      /^DataError: data\.heldout_path .*nope\.npy does not exist/,
    );
  });
});
