// Run directories a sweep no longer produces (older run-id scheme, changed spec) are named by
// findOrphans(), by `sweep --dry-run`, and left out of the report's runs with a listed problem.
import assert from "node:assert/strict";
import { join } from "node:path";
import { findOrphans } from "../../lib/sweep/orphans.ts";
import { expandSweep } from "../../lib/sweep/expand.ts";
import { loadExperiment } from "../../lib/spec/load.ts";
import { loadRuns } from "../../lib/report/load_runs.ts";
import { RUN_ID_SCHEME } from "../../lib/sweep/effective_config.ts";
import { ROOT, runTask } from "../tasks/_spawn.ts";

const SPEC = `${ROOT}tests/fixtures/specs/tiny.yaml`;

/** A finished-looking run directory with a run.json of the given scheme (undefined: none recorded). */
async function fakeRun(dir: string, options: { scheme?: number; architecture: string }) {
  await Deno.mkdir(dir, { recursive: true });
  const manifest: Record<string, unknown> = {
    run_id: dir.split("/").pop(),
    experiment: "tiny",
    status: "done",
    config: { sae: { architecture: options.architecture, target_l0: 2 }, train: { seed: 0 } },
    overrides: {},
  };
  if (options.scheme !== undefined) manifest.run_id_scheme = options.scheme;
  await Deno.writeTextFile(join(dir, "run.json"), JSON.stringify(manifest));
  await Deno.writeTextFile(join(dir, "summary.json"), JSON.stringify({ l0: 2, fvu: 0.5 }));
  await Deno.writeTextFile(join(dir, "DONE"), "");
}

Deno.test("findOrphans() names old-scheme and unplanned directories, not planned ones", async () => {
  const out = await Deno.makeTempDir();
  try {
    const plans = expandSweep(await loadExperiment(SPEC), { outDir: out });
    const expDir = join(out, "tiny");
    await fakeRun(plans[0].runDir, { scheme: RUN_ID_SCHEME, architecture: "jumprelu" });
    await fakeRun(join(expDir, "jumprelu-l0_2-s0-deadbeef"), { architecture: "jumprelu" });
    await fakeRun(join(expDir, "topk-l0_9-s0-0badf00d"), {
      scheme: RUN_ID_SCHEME,
      architecture: "topk",
    });
    const orphans = await findOrphans(expDir, plans);
    assert.deepEqual(orphans.map((o) => o.runId), [
      "jumprelu-l0_2-s0-deadbeef",
      "topk-l0_9-s0-0badf00d",
    ]);
    assert.match(orphans[0].reason, /run-id scheme 1/);
    assert.match(orphans[1].reason, /not a run of this spec's sweep/);

    // The report built from the spec leaves both out and lists them as problems.
    const loaded = await loadRuns([expDir], { plans });
    const ids = loaded.table.array("run_id") as string[];
    assert.ok(ids.includes(plans[0].runId));
    assert.ok(!ids.some((id) => id.endsWith("deadbeef") || id.endsWith("0badf00d")), ids.join());
    assert.equal(loaded.problems.filter((p) => /^left out: /.test(p.message)).length, 2);
    // Without a spec only the hash scheme can tell: the old-scheme run is still left out.
    const bare = await loadRuns([expDir]);
    const bareIds = bare.table.array("run_id") as string[];
    assert.ok(!bareIds.some((id) => id.endsWith("deadbeef")));
    assert.ok(bareIds.some((id) => id.endsWith("0badf00d")));
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("sweep --dry-run names run directories from before the effective-config run ids", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await fakeRun(join(dir, "runs/tiny/jumprelu-l0_2-s0-93ca8689"), { architecture: "jumprelu" });
    const r = await runTask("sweep", [SPEC, "--dry-run"], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /note: 1 run directory is not part of this sweep/);
    assert.match(r.stderr, /jumprelu-l0_2-s0-93ca8689: made under run-id scheme 1/);
    assert.match(r.stdout, /4 runs: 4 pending/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
