// Each run of a spec is resolved and its effective config built once per process, counted in real
// `deno task run --run`, `deno task sweep` (and its child runs) and `deno task report` processes
// through the SAESWEEP_COUNT_RESOLVE hook (lib/spec/resolve_count.ts), on the tiny spec's 4 runs.
import assert from "node:assert/strict";
import { COUNT_RESOLVE_ENV } from "../../lib/spec/resolve_count.ts";
import { SUMMARY_FIELDS } from "../../lib/store/records.ts";
import { ROOT, runTask } from "./_spawn.ts";

const SPEC = `${ROOT}tests/fixtures/specs/tiny.yaml`;
const RUNS = 4;

/** Count lines of `file` by script, then by step, then by run key: how often each was counted. */
async function readCounts(file: string): Promise<Map<string, Map<string, number>>> {
  const text = await Deno.readTextFile(file).catch(() => "");
  const out = new Map<string, Map<string, number>>();
  for (const line of text.trim().split("\n").filter(Boolean)) {
    const [pid, script, kind, key] = line.split(" ");
    const id = `${script} ${pid} ${kind}`;
    if (!out.has(id)) out.set(id, new Map());
    out.get(id)!.set(key, (out.get(id)!.get(key) ?? 0) + 1);
  }
  return out;
}

/** The counts as `script kind: [how many runs, most counts of one run]`, pids dropped. */
function shape(counts: Map<string, Map<string, number>>): string[] {
  return [...counts].map(([id, keys]) => {
    const [script, , kind] = id.split(" ");
    return `${script} ${kind}: ${keys.size} runs, at most ${Math.max(...keys.values())} each`;
  }).sort();
}

Deno.test("run --run, sweep and report resolve each run and build its effective config once per process", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const env = (name: string) => ({ [COUNT_RESOLVE_ENV]: `${dir}/${name}.counts` });
    const dry = await runTask("sweep", [SPEC, "--dry-run"], { cwd: dir });
    const id = dry.stdout.split("\n")[1].split(/\s+/)[1];

    // One run trained by id: the spec's 4 runs are resolved to find it, each once.
    const one = await runTask("run", [SPEC, "--run", id, "--backend", "cpu"], {
      cwd: dir,
      env: env("run"),
    });
    assert.equal(one.code, 0, one.stderr);
    const run = await readCounts(`${dir}/run.counts`);
    assert.deepEqual(shape(run), [
      `run.ts effective: ${RUNS} runs, at most 1 each`,
      `run.ts resolve: ${RUNS} runs, at most 1 each`,
    ]);

    // The sweep resolves every run once; its children read the sweep manifest and resolve none.
    const sweep = await runTask("sweep", [SPEC, "--jobs", "2", "--backend", "cpu"], {
      cwd: dir,
      env: env("sweep"),
    });
    assert.equal(sweep.code, 0, sweep.stderr);
    assert.deepEqual(shape(await readCounts(`${dir}/sweep.counts`)), [
      `sweep.ts effective: ${RUNS} runs, at most 1 each`,
      `sweep.ts resolve: ${RUNS} runs, at most 1 each`,
    ]);

    const report = await runTask("report", [SPEC, "--out", `${dir}/reports`, "--no-png"], {
      cwd: dir,
      env: env("report"),
    });
    assert.equal(report.code, 0, report.stderr);
    const counted = await readCounts(`${dir}/report.counts`);
    assert.deepEqual(shape(counted), [
      `report.ts effective: ${RUNS} runs, at most 1 each`,
      `report.ts resolve: ${RUNS} runs, at most 1 each`,
    ]);
    // The same 4 runs in every process (the key hashes the resolved config).
    const keys = (c: Map<string, Map<string, number>>) =>
      [...new Set([...c.values()].flatMap((m) => [...m.keys()]))].sort();
    assert.deepEqual(keys(counted), keys(run));

    // Every field the runs wrote is declared for the report (lib/store/records.ts).
    for await (const e of Deno.readDir(`${dir}/runs/tiny`)) {
      if (!e.isDirectory || e.name.startsWith(".") || e.name.startsWith("_")) continue;
      const summary = JSON.parse(
        await Deno.readTextFile(`${dir}/runs/tiny/${e.name}/summary.json`),
      );
      assert.deepEqual(Object.keys(summary).filter((k) => !(k in SUMMARY_FIELDS)), [], e.name);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
