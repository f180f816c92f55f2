// Tests lib/train/checkpoint.ts directly: a round trip keeps every tensor and the meta, the
// previous checkpoint is kept and used when the latest is unusable, tensors of the wrong shape
// are refused by name even under a correctly signed record, and at most two state files remain.
import assert from "node:assert/strict";
import { join } from "node:path";
import { type CheckpointMeta, loadCheckpoint, saveCheckpoint } from "../../lib/train/checkpoint.ts";
import type { EngineSnapshot } from "../../lib/engine/engine.ts";
import { DataError } from "../../lib/errors.ts";
import { writeSafetensors } from "../../lib/formats/safetensors.ts";

const t = (shape: number[], v: number) => ({
  shape,
  data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(v),
});

function snapshot(width: number, v: number): EngineSnapshot {
  const params = { W_enc: t([4, width], v), b_dec: t([4], v) };
  return { params, state: {}, optimizer: { t: 3, m: params, v: params } };
}

function meta(step: number): CheckpointMeta {
  return {
    step,
    controller: null,
    cursor: { step },
    normScale: 2,
    optimizerT: 3,
    trainSeconds: 1,
    architecture: "topk",
    width: 8,
    dModel: 4,
  };
}

const expect = {
  architecture: "topk",
  width: 8,
  dModel: 4,
  totalSteps: 100,
  params: snapshot(8, 0).params,
  state: {},
};

Deno.test("saveCheckpoint() round-trips, keeps the previous one and falls back to it", async () => {
  const dir = await Deno.makeTempDir();
  await saveCheckpoint(dir, { meta: meta(10), snapshot: snapshot(8, 1) });
  await saveCheckpoint(dir, { meta: meta(20), snapshot: snapshot(8, 2) });
  await saveCheckpoint(dir, { meta: meta(30), snapshot: snapshot(8, 3) });
  const files = Array.from(Deno.readDirSync(dir), (e) => e.name).sort();
  assert.deepEqual(files, [
    "latest.json",
    "previous.json",
    "state-20.safetensors",
    "state-30.safetensors",
  ]);
  const latest = await loadCheckpoint(dir, expect);
  assert.deepEqual(latest?.meta, meta(30));
  assert.equal(latest?.fellBack, undefined);
  assert.deepEqual(Array.from(latest!.snapshot.optimizer.v.W_enc.data), new Array(32).fill(3));
  await Deno.remove(join(dir, "state-30.safetensors"));
  const previous = await loadCheckpoint(dir, expect);
  assert.equal(previous?.meta.step, 20);
  assert.equal(previous?.fellBack, "state-30.safetensors (named by latest.json) is missing");
  assert.equal(previous?.snapshot.params.b_dec.data[0], 2);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("loadCheckpoint() refuses tensors of another shape under a signed record, naming them", async () => {
  const dir = await Deno.makeTempDir();
  // Meta claims width 8 but the tensors are width 16 (e.g. a state file copied from another run).
  await saveCheckpoint(dir, { meta: meta(10), snapshot: snapshot(16, 1) });
  const err = await loadCheckpoint(dir, expect).then(() => undefined, (e) => e);
  assert.ok(err instanceof DataError, String(err));
  assert.match(err.message, /params\.W_enc has shape \[4, 16\], expected \[4, 8\]/);
  assert.match(err.message, /m\.W_enc has shape \[4, 16\]/);
  assert.match(err.hint, /--restart/);
  assert.equal(await loadCheckpoint(await Deno.makeTempDir(), expect), undefined);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("loadCheckpoint() still reads a checkpoint written before checksums, checking its shapes", async () => {
  const dir = await Deno.makeTempDir();
  // The earlier layout: state-<step>.safetensors and a latest.json without version or checksums.
  const legacy = async (width: number) => {
    const tensors = {
      "params.W_enc": { dtype: "F32" as const, ...t([4, width], 1) },
      "params.b_dec": { dtype: "F32" as const, ...t([4], 1) },
    };
    await writeSafetensors(join(dir, "state-10.safetensors"), tensors);
    const { architecture: _a, width: _w, dModel: _d, ...old } = meta(10);
    await Deno.writeTextFile(
      join(dir, "latest.json"),
      JSON.stringify({ ...old, tensorsFile: "state-10.safetensors" }),
    );
  };
  await legacy(8);
  const ok = await loadCheckpoint(dir, expect);
  assert.equal(ok?.meta.step, 10);
  assert.equal(ok?.meta.width, 8);
  await legacy(16);
  await assert.rejects(
    loadCheckpoint(dir, expect),
    /params\.W_enc has shape \[4, 16\], expected \[4, 8\]/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("loadCheckpoint() starts a missing dead-latent clock fresh and refuses other missing state", async () => {
  const dir = await Deno.makeTempDir();
  await saveCheckpoint(dir, { meta: meta(10), snapshot: snapshot(8, 1) }); // state: {}
  const withClock = { ...expect, state: { since_fired: t([8], 0) } };
  const loaded = await loadCheckpoint(dir, withClock);
  assert.deepEqual(loaded?.stateFilled, ["since_fired"]);
  assert.deepEqual([...loaded!.snapshot.state.since_fired.data], new Array(8).fill(0));
  await assert.rejects(
    loadCheckpoint(dir, { ...expect, state: { bandwidth: t([1], 0.5) } }),
    (err: Error) => err instanceof DataError && /state\.bandwidth is missing/.test(err.message),
  );
});
