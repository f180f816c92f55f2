import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { UsageError } from "../../lib/errors.ts";
import { readManifestPlan, writeSweepManifest } from "../../lib/executor/sweep_manifest.ts";
import { loadExperiment } from "../../lib/spec/load.ts";
import { expandSweep } from "../../lib/sweep/expand.ts";

const SPEC = fileURLToPath(new URL("../fixtures/specs/tiny.yaml", import.meta.url));

Deno.test("readManifestPlan() returns exactly the plan expandSweep() made for that index", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const plans = expandSweep(await loadExperiment(SPEC), { outDir: `${dir}/runs` });
    const path = await writeSweepManifest(`${dir}/sub`, plans.slice(1));
    assert.deepEqual(await readManifestPlan(path, 0), plans[1]);
    assert.deepEqual(await readManifestPlan(path, 2), plans[3]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readManifestPlan() refuses an index past the end and a file of another version", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const plans = expandSweep(await loadExperiment(SPEC), { outDir: `${dir}/runs` });
    const path = await writeSweepManifest(dir, plans.slice(0, 2));
    await assert.rejects(readManifestPlan(path, 2), (err: unknown) => {
      assert.ok(err instanceof UsageError);
      assert.match(err.message, /has no run at index 2 \(it lists 2\)/);
      assert.equal(err.hint, "valid indices are 0 to 1");
      return true;
    });
    await Deno.writeTextFile(path, JSON.stringify({ version: 99, runs: plans }));
    await assert.rejects(readManifestPlan(path, 0), /is not a version 1 sweep manifest/);
    await assert.rejects(readManifestPlan(`${dir}/missing.json`, 0), UsageError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
