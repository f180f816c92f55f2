// Data fingerprints (lib/data/fingerprint.ts): the hash of a small file is the sha256 of its bytes;
// a large file hashes its size and 64 evenly spaced blocks; changes are named per file.
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  dataChanges,
  dataFingerprint,
  fingerprintFile,
  FULL_HASH_BYTES,
  SAMPLE_BLOCK_BYTES,
  SAMPLE_BLOCKS,
} from "../../lib/data/fingerprint.ts";

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function inTempDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("fingerprintFile() hashes a small file whole: sha256 of its bytes", async () => {
  await inTempDir(async (dir) => {
    const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) % 256);
    await Deno.writeFile(join(dir, "a.npy"), bytes);
    const f = await fingerprintFile(join(dir, "a.npy"));
    assert.deepEqual(f, {
      path: join(dir, "a.npy"),
      size: 1000,
      sha256: await sha256Hex(bytes),
      sampled: false,
    });
  });
});

Deno.test("fingerprintFile() hashes a large file by its size and 64 evenly spaced blocks", async () => {
  await inTempDir(async (dir) => {
    const path = join(dir, "big.npy");
    const size = FULL_HASH_BYTES + 12345;
    const file = await Deno.open(path, { write: true, create: true });
    await file.truncate(size); // sparse: all zeros
    await file.seek(size - 1, Deno.SeekMode.Start);
    await file.write(new Uint8Array([9])); // inside the last block
    file.close();
    // Reference: "size N\n", then block i at floor((N - B) * i / 63) for i = 0..63.
    const parts = [new TextEncoder().encode(`size ${size}\n`)];
    for (let i = 0; i < SAMPLE_BLOCKS; i++) {
      const block = new Uint8Array(SAMPLE_BLOCK_BYTES);
      if (i === SAMPLE_BLOCKS - 1) block[SAMPLE_BLOCK_BYTES - 1] = 9;
      parts.push(block);
    }
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    parts.reduce((at, p) => (all.set(p, at), at + p.length), 0);
    const f = await fingerprintFile(path);
    assert.equal(f.sampled, true);
    assert.equal(f.sha256, await sha256Hex(all));
  });
});

Deno.test("dataChanges() names a file whose bytes changed, a resized one and an added shard", async () => {
  await inTempDir(async (dir) => {
    const shards = join(dir, "shards");
    await Deno.mkdir(shards);
    await Deno.writeFile(join(shards, "0.npy"), new Uint8Array(100));
    await Deno.writeFile(join(shards, "1.npy"), new Uint8Array(100));
    const data = { source: "files", path: "shards" } as const;
    const recorded = await dataFingerprint(
      { ...data, tensor: null, heldout_fraction: 0.05, heldout_path: null, shuffle_buffer: 65536 },
      dir,
    );
    assert.deepEqual(await dataChanges(recorded), []);
    await Deno.writeFile(join(shards, "0.npy"), new Uint8Array(100).fill(1));
    await Deno.writeFile(join(shards, "1.npy"), new Uint8Array(101));
    assert.deepEqual(await dataChanges(recorded), [
      `${shards}/0.npy: content changed (same size, other bytes)`,
      `${shards}/1.npy: size changed from 100 to 101 bytes`,
    ]);
    await Deno.writeFile(join(shards, "2.npy"), new Uint8Array(100));
    assert.deepEqual(await dataChanges(recorded), [`${shards}: shards added: 2.npy`]);
  });
});

Deno.test("dataFingerprint() of an lm checkpoint folder covers each of its files; a changed shard is named", async () => {
  await inTempDir(async (dir) => {
    const folder = join(dir, "model");
    await Deno.mkdir(folder);
    for (
      const [name, text] of [["config.json", "{}"], ["a.safetensors", "AA"], [
        "tokenizer.json",
        "{}",
      ]]
    ) {
      await Deno.writeTextFile(join(folder, name), text);
    }
    await Deno.writeTextFile(join(dir, "t.txt"), "text");
    const data = {
      source: "lm",
      checkpoint: "model",
      tokenizer: null, // the folder's tokenizer.json
      train_text: ["t.txt"],
      heldout_text: ["t.txt"],
    } as unknown as Parameters<typeof dataFingerprint>[0];
    const fp = await dataFingerprint(data, dir);
    assert.deepEqual(fp.files.map((f) => f.path), [
      join(folder, "a.safetensors"),
      join(folder, "config.json"),
      join(folder, "tokenizer.json"),
      join(dir, "t.txt"),
    ]);
    assert.equal(fp.files[0].sha256, await sha256Hex(new TextEncoder().encode("AA")));
    await Deno.writeTextFile(join(folder, "a.safetensors"), "AB");
    assert.deepEqual(await dataChanges(fp), [
      `${join(folder, "a.safetensors")}: content changed (same size, other bytes)`,
    ]);
  });
});
