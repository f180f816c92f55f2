// Every spec shipped in experiments/ loads and expands: a schema change that breaks one of them
// (a renamed option, a removed architecture) fails here rather than in a user's first sweep.
import assert from "node:assert/strict";
import { loadExperiment } from "../../lib/spec/load.ts";
import { expandSweep } from "../../lib/sweep/expand.ts";
import { ROOT } from "../tasks/_spawn.ts";

Deno.test("every experiments/*.yaml spec validates and expands to runs", async () => {
  const specs = [...Deno.readDirSync(`${ROOT}experiments`)].map((e) => e.name)
    .filter((n) => n.endsWith(".yaml")).sort();
  assert.ok(specs.length >= 3, specs.join());
  for (const name of specs) {
    const loaded = await loadExperiment(`${ROOT}experiments/${name}`);
    const plans = expandSweep(loaded, { outDir: "/tmp/runs" });
    assert.ok(plans.length > 0, name);
    assert.equal(new Set(plans.map((p) => p.runId)).size, plans.length, `${name}: duplicate ids`);
  }
});
