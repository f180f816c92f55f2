// End to end on tfjs's webgpu backend: the quickstart experiment, shortened to a few steps and one
// L0 target, trains every architecture on the reference engine through `deno task sweep --engine
// reference --backend webgpu`, and each run prints and records the backend and adapter it used.
import assert from "node:assert/strict";
import { parse } from "yaml";
import { runTask } from "../../tasks/_spawn.ts";
import { shortQuickstart } from "../_short_quickstart.ts";
import { webgpuTest } from "../_webgpu.ts";

webgpuTest(
  "the shortened quickstart trains every architecture on the reference engine on tfjs webgpu",
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const spec = await shortQuickstart(dir);
      const r = await runTask("sweep", [
        spec,
        "--engine",
        "reference",
        "--backend",
        "webgpu",
        "--jobs",
        "1",
      ], {
        cwd: dir,
      });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const runsDir = `${dir}/runs/quickstart`;
      const archs: string[] = [];
      for await (const e of Deno.readDir(runsDir)) {
        const run = JSON.parse(await Deno.readTextFile(`${runsDir}/${e.name}/run.json`));
        const summary = JSON.parse(await Deno.readTextFile(`${runsDir}/${e.name}/summary.json`));
        await Deno.stat(`${runsDir}/${e.name}/DONE`);
        archs.push(run.config.sae.architecture);
        assert.equal(run.backend.requested, "webgpu");
        assert.equal(run.backend.used, "webgpu");
        assert.equal(run.notes.engine, "webgpu");
        assert.equal(run.notes.engine_choice.used, "reference");
        assert.ok(run.backend.adapter, "run.json names the adapter");
        assert.equal(typeof run.backend.fallback, "boolean");
        assert.ok(Number.isFinite(summary.fvu), `fvu ${summary.fvu}`);
        assert.ok(summary.l0 > 0, `l0 ${summary.l0}`);
      }
      const swept = parse(await Deno.readTextFile(spec)).sweep["sae.architecture"] as string[];
      assert.ok(swept.length >= 5, swept.join());
      assert.deepEqual(archs.sort(), [...swept].sort());
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

webgpuTest(
  "run --engine reference --backend webgpu prints the backend and adapter before training",
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const spec = await shortQuickstart(dir);
      const dry = await runTask("sweep", [spec, "--dry-run"], { cwd: dir });
      const id = dry.stdout.split("\n").find((l) => /jumprelu/.test(l))?.split(/\s+/)[1];
      assert.ok(id, dry.stdout);
      const r = await runTask("run", [
        spec,
        "--run",
        id,
        "--engine",
        "reference",
        "--backend",
        "webgpu",
      ], {
        cwd: dir,
      });
      assert.equal(r.code, 0, r.stderr);
      const first = r.stderr.split("\n").find((l) => l.startsWith(`${id}: `));
      assert.match(
        first ?? "",
        /: backend webgpu \(requested webgpu\), adapter .+, (software fallback|hardware)$/,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
