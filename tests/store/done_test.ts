// Tests lib/store/done.ts with the real trainer: DONE lists the files of a finished run, a run
// whose files were deleted or garbled is reported damaged (not done) and repaired from its final
// checkpoint to identical weights; resuming removes temp files of interrupted writes and says
// which metrics lines it dropped. Without the trainer: DONE's checksums against WebCrypto's
// sha256, and a same-size corruption of each small file it lists is found.
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadExperiment } from "../../lib/spec/load.ts";
import { expandSweep } from "../../lib/sweep/expand.ts";
import { trainRun } from "../../lib/train/train_run.ts";
import { finishedRun, runStatus } from "../../lib/store/run_dir.ts";
import { DONE_FILES, readDone, verifyDone, writeDone } from "../../lib/store/done.ts";
import { sha256Hex } from "../../lib/store/checksum.ts";
import { InterruptedError } from "../../lib/errors.ts";
import { listTree, runTask } from "../tasks/_spawn.ts";
import { loadRuns } from "../../lib/report/load_runs.ts";

const SPEC = `name: done
data: {source: synthetic, d_model: 8, n_features: 16}
sae: {width: 32, target_l0: 4, architecture: topk}
train: {tokens: 10240, batch_size: 256, log_every: 5, checkpoint_every: 10, backend: wasm}
eval: {tokens: 256}
`;

async function onePlan(dir: string) {
  await Deno.writeTextFile(join(dir, "spec.yaml"), SPEC);
  const [plan] = expandSweep(await loadExperiment(join(dir, "spec.yaml")), {
    outDir: join(dir, "runs"),
  });
  return plan;
}

Deno.test("a finished run whose files were deleted or garbled is damaged, then repaired to the same weights", async () => {
  const dir = await Deno.makeTempDir();
  const plan = await onePlan(dir);
  await trainRun(plan);
  const done = await readDone(plan.runDir);
  assert.deepEqual(Object.keys(done?.files ?? {}), [...DONE_FILES]);
  assert.equal(await runStatus(plan.runDir), "done");
  const weightsPath = join(plan.runDir, "sae", "sae_weights.safetensors");
  const weights = await Deno.readFile(weightsPath);
  // Timing fields include the (short) repair; every metric must be the same.
  const metrics = async () => {
    const { tokens_per_s: _t, train_seconds: _s, ...rest } = JSON.parse(
      await Deno.readTextFile(join(plan.runDir, "summary.json")),
    );
    return rest;
  };
  const summary = await metrics();

  await Deno.remove(join(plan.runDir, "sae"), { recursive: true });
  assert.equal(await runStatus(plan.runDir), "damaged");
  assert.deepEqual(await verifyDone(plan.runDir, done!), [
    "sae/cfg.json is missing",
    "sae/sae_weights.safetensors is missing",
  ]);
  const dry = await runTask("sweep", ["spec.yaml", "--dry-run"], { cwd: dir });
  assert.match(dry.stdout, /1 runs: 1 damaged/);
  const report = await loadRuns([join(dir, "runs", "done")]);
  assert.equal((report.table.objects()[0] as { status: string }).status, "damaged");
  assert.match(
    report.problems.map((p) => p.message).join("\n"),
    /finished run is damaged: sae\/cfg\.json is missing; sae\/sae_weights\.safetensors is missing/,
  );
  const warnings: string[] = [];
  await trainRun(plan, { onWarning: (m) => warnings.push(m) });
  assert.match(warnings.join("\n"), /was done but sae\/cfg\.json is missing; .*repairing it/);
  assert.deepEqual(await Deno.readFile(weightsPath), weights);
  assert.equal(await runStatus(plan.runDir), "done");

  await Deno.writeTextFile(join(plan.runDir, "summary.json"), "{garbage");
  assert.equal(await runStatus(plan.runDir), "damaged");
  await trainRun(plan);
  assert.deepEqual(await metrics(), summary);
  assert.deepEqual(await Deno.readFile(weightsPath), weights);

  // Same-size corruptions of the trained run's small files: found by checksum, then repaired.
  for (const rel of ["summary.json", "sae/cfg.json"]) {
    const path = join(plan.runDir, rel);
    const original = await Deno.readFile(path);
    await flipByte(path, Math.floor(original.length / 2));
    assert.equal((await Deno.stat(path)).size, original.length);
    assert.equal(await runStatus(plan.runDir), "damaged", rel);
    const repairs: string[] = [];
    await trainRun(plan, { onWarning: (m) => repairs.push(m) });
    assert.match(repairs.join("\n"), new RegExp(`${rel.replace(".", "\\.")} differs`), rel);
    assert.equal(await runStatus(plan.runDir), "done", rel);
    assert.deepEqual(await Deno.readFile(weightsPath), weights, rel);
  }
  assert.deepEqual(await metrics(), summary);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("resuming removes temp files of interrupted writes and names the metrics lines it drops", async () => {
  const dir = await Deno.makeTempDir();
  const plan = await onePlan(dir);
  const controller = new AbortController();
  await assert.rejects(
    trainRun(plan, {
      signal: controller.signal,
      onProgress: (p) => p.step >= 10 && controller.abort(),
    }),
    InterruptedError,
  );
  // What a process killed mid-write leaves: temp files of atomic writes, a metrics line past
  // the checkpoint (step 10).
  await Deno.writeTextFile(join(plan.runDir, ".summary.json.1a2b3c.tmp"), "{");
  await Deno.writeTextFile(join(plan.runDir, "checkpoint", ".latest.json.zz9.tmp"), "{");
  await Deno.mkdir(join(plan.runDir, "sae"));
  await Deno.writeTextFile(join(plan.runDir, "sae", "sae_weights.safetensors.tmp-77-0123abcd"), "");
  const line = JSON.stringify({ step: 15, tokens: 3840, loss: 1 });
  await Deno.writeTextFile(join(plan.runDir, "metrics.jsonl"), line + "\n", { append: true });
  const warnings: string[] = [];
  await trainRun(plan, { onWarning: (m) => warnings.push(m) });
  const tree = await listTree(plan.runDir);
  assert.deepEqual(tree.filter((p) => /\.tmp/.test(p)), []);
  assert.match(
    warnings.join("\n"),
    /resuming at step 10; dropped 1 metrics\.jsonl line written after/,
  );
  await Deno.remove(dir, { recursive: true });
});

/** Hex sha256 by WebCrypto: the reference for the checksums DONE records. */
async function webSha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * A finished run's files written by hand (no trainer), then DONE over them. run.json is not in
 * DONE (it is rewritten after DONE) but must be readable for the run to count as done.
 */
async function handMadeRun(files: Record<string, Uint8Array | string> = {}): Promise<string> {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(join(dir, "sae"));
  await Deno.writeTextFile(join(dir, "run.json"), '{ "run_id": "r", "status": "done" }\n');
  const contents: Record<string, Uint8Array | string> = {
    "summary.json": '{\n  "run_id": "r",\n  "l0": 4,\n  "fvu": 0.25\n}\n',
    "sae/cfg.json": '{\n  "architecture": "topk",\n  "d_in": 8,\n  "d_sae": 32\n}\n',
    "sae/sae_weights.safetensors": new Uint8Array(4096).map((_, i) => (i * 7) & 255),
    ...files,
  };
  for (const [rel, data] of Object.entries(contents)) {
    if (typeof data === "string") await Deno.writeTextFile(join(dir, rel), data);
    else await Deno.writeFile(join(dir, rel), data);
  }
  await writeDone(dir);
  return dir;
}

/** Replaces the byte at `at` (negative: from the end) with another value; the size is kept. */
async function flipByte(path: string, at: number): Promise<void> {
  const bytes = await Deno.readFile(path);
  const i = at < 0 ? bytes.length + at : at;
  bytes[i] = bytes[i] === 0x20 ? 0x09 : 0x20; // a space for a tab or anything for a space
  await Deno.writeFile(path, bytes);
}

Deno.test('sha256Hex() gives the FIPS 180-2 digests of "abc" and of no bytes', () => {
  const enc = new TextEncoder();
  assert.equal(
    sha256Hex(enc.encode("abc")),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.equal(
    sha256Hex(new Uint8Array()),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
});

Deno.test("writeDone() records the size and WebCrypto sha256 of every file a finished run has", async () => {
  const dir = await handMadeRun();
  const done = await readDone(dir);
  const want: Record<string, { bytes: number; sha256: string }> = {};
  for (const rel of DONE_FILES) {
    const bytes = await Deno.readFile(join(dir, rel));
    want[rel] = { bytes: bytes.length, sha256: await webSha256(bytes) };
  }
  assert.deepEqual(done?.files, want);
  assert.deepEqual(await verifyDone(dir, done!), []);
  assert.equal(await runStatus(dir), "done");
  await Deno.remove(dir, { recursive: true });
});

for (const rel of ["summary.json", "sae/cfg.json"]) {
  Deno.test(`a same-size corruption of ${rel} anywhere in the file makes a finished run damaged`, async () => {
    const dir = await handMadeRun();
    const done = (await readDone(dir))!;
    const path = join(dir, rel);
    const original = await Deno.readFile(path);
    for (const at of [0, Math.floor(original.length / 2), -1]) {
      await flipByte(path, at);
      assert.equal((await Deno.stat(path)).size, original.length);
      const problem = `${rel} differs from the file DONE recorded (sha256 mismatch)`;
      assert.deepEqual(await verifyDone(dir, done), [problem], `byte ${at}`);
      assert.equal(await runStatus(dir), "damaged", `byte ${at}`);
      // A flip that also breaks the JSON adds "summary.json is unreadable"; the checksum names it
      // either way.
      const finished = await finishedRun(dir);
      assert.ok(finished && "damage" in finished, `byte ${at}`);
      assert.equal(finished.damage[0], problem, `byte ${at}`);
      await Deno.writeFile(path, original);
      assert.equal(await runStatus(dir), "done", `restored after byte ${at}`);
    }
    await Deno.remove(dir, { recursive: true });
  });
}

Deno.test("a torn (truncated) copy of each file DONE lists makes a finished run damaged", async () => {
  const dir = await handMadeRun();
  const done = (await readDone(dir))!;
  for (const rel of DONE_FILES) {
    const path = join(dir, rel);
    const original = await Deno.readFile(path);
    await Deno.writeFile(path, original.subarray(0, Math.floor(original.length / 2)));
    assert.deepEqual(await verifyDone(dir, done), [
      `${rel} has ${Math.floor(original.length / 2)} bytes, DONE recorded ${original.length}`,
    ]);
    assert.equal(await runStatus(dir), "damaged", rel);
    await Deno.writeFile(path, original);
  }
  assert.equal(await runStatus(dir), "done");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("DONE's checksums are verified for files below 1 MiB (one byte under included), by size at and above", async () => {
  // 2^20 - 1 bytes is the largest file whose checksum is read on every status read; a file of
  // exactly 2^20 bytes is checked by size only (reading large weights on every status costs).
  const under = new Uint8Array((1 << 20) - 1).map((_, i) => (i * 31) & 255);
  const at = new Uint8Array(1 << 20).map((_, i) => (i * 31) & 255);
  const dir = await handMadeRun({ "sae/sae_weights.safetensors": under });
  const done = (await readDone(dir))!;
  const weights = join(dir, "sae", "sae_weights.safetensors");
  await flipByte(weights, -1);
  assert.deepEqual(await verifyDone(dir, done), [
    "sae/sae_weights.safetensors differs from the file DONE recorded (sha256 mismatch)",
  ]);
  await Deno.writeFile(weights, at);
  await writeDone(dir);
  await flipByte(weights, -1);
  assert.deepEqual(await verifyDone(dir, (await readDone(dir))!), []);
  await Deno.remove(dir, { recursive: true });
});
