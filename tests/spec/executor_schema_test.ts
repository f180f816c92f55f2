import assert from "node:assert/strict";
import { SpecError } from "../../lib/errors.ts";
import { loadExperiment, parseExperiment } from "../../lib/spec/load.ts";
import { expandSweep } from "../../lib/sweep/expand.ts";

const BASE = "name: t\ndata:\n  source: synthetic\nsweep:\n  sae.target_l0: [4, 8]\n";

function issues(text: string): string[] {
  try {
    parseExperiment(text, "x.yaml");
  } catch (err) {
    assert.ok(err instanceof SpecError, String(err));
    return err.issues.map((i) => `${i.line}:${i.col} ${i.path}: ${i.message}`);
  }
  assert.fail("expected a SpecError");
}

Deno.test("the executor section defaults to the local executor and plain Slurm resources", () => {
  const { spec } = parseExperiment(BASE, "x.yaml");
  assert.equal(spec.executor.type, "local");
  assert.deepEqual(spec.executor.slurm, {
    partition: null,
    time: null,
    cpus_per_task: 2,
    mem: null,
    gres: null,
    max_concurrent: null,
    requeue: false,
    sbatch: [],
    setup: [],
  });
});

Deno.test("the executor section changes neither the spec hash nor the run ids", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const slurm = "executor:\n  type: slurm\n  slurm: { partition: gpu, gres: gpu:1 }\n";
    await Deno.writeTextFile(`${dir}/a.yaml`, BASE);
    await Deno.writeTextFile(`${dir}/b.yaml`, BASE + slurm);
    const [a, b] = [await loadExperiment(`${dir}/a.yaml`), await loadExperiment(`${dir}/b.yaml`)];
    assert.equal(b.spec.executor.slurm.partition, "gpu");
    assert.equal(a.specHash, b.specHash);
    const ids = (l: typeof a) => expandSweep(l, { outDir: dir }).map((p) => p.runId);
    assert.deepEqual(ids(a), ids(b));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("executor problems are located, and the executor cannot be swept", () => {
  assert.deepEqual(issues(BASE + "executor:\n  slurm:\n    tim: '1:00'\n    mem: 16 GB\n"), [
    "8:5 executor.slurm.tim: unknown key; did you mean `time`?",
    '9:10 executor.slurm.mem: expected a Slurm memory size such as 8G or 16000, got "16 GB" (string)',
  ]);
  const swept = issues(BASE + "  executor.type: [local, slurm]\n");
  assert.equal(swept.length, 1);
  assert.match(swept[0], /^6:3 sweep\.executor\.type: /);
});
