// End to end on the webgpu engine: the shortened quickstart trains every architecture that has a
// webgpu kernel through `deno task sweep --engine webgpu` (its JumpReLU recipe included) to the
// same held-out FVU and L0 as the cpu engine on the same spec, each run recording the engine,
// adapter and choice in run.json; a run whose options have no webgpu kernel (every registered
// architecture has one: Matryoshka BatchTopK with more inner prefixes than the GPU engines hold)
// stops before training with the reason (exit 2, as for a missing backend).
import assert from "node:assert/strict";
import { parse, stringify } from "yaml";
import { runTask } from "../../tasks/_spawn.ts";
import { webgpuTest } from "../_webgpu.ts";
import { shortQuickstart } from "../_short_quickstart.ts";
import { architectures } from "../../../lib/sae/registry.ts";

const WITH_KERNEL = architectures().filter((a) => a.kernels?.webgpu).map((a) => a.name);

webgpuTest(
  "the shortened quickstart trains every architecture with a webgpu kernel on the webgpu engine",
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const path = await shortQuickstart(dir);
      const spec = parse(await Deno.readTextFile(path));
      spec.sweep["sae.architecture"] = spec.sweep["sae.architecture"].filter((a: string) =>
        WITH_KERNEL.includes(a)
      );
      await Deno.writeTextFile(path, stringify(spec));
      const r = await runTask("sweep", [path, "--engine", "webgpu", "--jobs", "1"], { cwd: dir });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const cpu = await runTask("sweep", [path, "--engine", "cpu", "--jobs", "1", "--out", "cpu"], {
        cwd: dir,
      });
      assert.equal(cpu.code, 0, cpu.stdout + cpu.stderr);
      const runsDir = `${dir}/runs/quickstart`;
      const archs: string[] = [];
      for await (const e of Deno.readDir(runsDir)) {
        const run = JSON.parse(await Deno.readTextFile(`${runsDir}/${e.name}/run.json`));
        const summary = JSON.parse(await Deno.readTextFile(`${runsDir}/${e.name}/summary.json`));
        await Deno.stat(`${runsDir}/${e.name}/DONE`);
        await Deno.stat(`${runsDir}/${e.name}/sae/sae_weights.safetensors`);
        archs.push(run.config.sae.architecture);
        assert.equal(run.notes.engine, "webgpu");
        assert.equal(run.notes.engine_choice.requested, "webgpu");
        assert.equal(run.notes.engine_choice.used, "webgpu");
        assert.ok(run.notes.engine_choice.adapter, "run.json names the adapter");
        // The same spec on the cpu engine: same run id, held-out numbers within float32 drift.
        const want = JSON.parse(
          await Deno.readTextFile(`${dir}/cpu/quickstart/${e.name}/summary.json`),
        );
        for (const k of ["fvu", "l0", "dead_frac"]) {
          const tol = 1e-3 * Math.max(1, Math.abs(want[k]));
          assert.ok(
            Math.abs(summary[k] - want[k]) <= tol,
            `${e.name} ${k}: webgpu ${summary[k]}, cpu ${want[k]}`,
          );
        }
      }
      assert.ok(archs.length >= 4, archs.join());
      assert.deepEqual(archs.sort(), [...spec.sweep["sae.architecture"]].sort());
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

/** The shortened quickstart with Matryoshka BatchTopK in 64 groups: 63 inner prefixes. */
async function tooManyPrefixes(dir: string): Promise<string> {
  const path = await shortQuickstart(dir);
  const spec = parse(await Deno.readTextFile(path));
  spec.sae.matryoshka_batchtopk = { group_fractions: Array(64).fill(1 / 64) };
  await Deno.writeTextFile(path, stringify(spec));
  return path;
}

const REFUSED =
  /engine webgpu unavailable: the GPU engines hold at most 32 inner prefixes, these options have 63/;

webgpuTest(
  "run --engine webgpu of options without webgpu kernels fails saying so",
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const spec = await tooManyPrefixes(dir);
      const dry = await runTask("sweep", [spec, "--dry-run"], { cwd: dir });
      const id = dry.stdout.split("\n").find((l) => l.includes("matryoshka_batchtopk"))
        ?.split(/\s+/)[1];
      assert.ok(id, dry.stdout);
      const r = await runTask("run", [spec, "--run", id, "--engine", "webgpu"], { cwd: dir });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, REFUSED);
      assert.match(r.stderr, /hint: .*train\.engine cpu/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

webgpuTest(
  "sweep --engine webgpu over options without webgpu kernels stops before writing anything",
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const spec = await tooManyPrefixes(dir);
      const r = await runTask("sweep", [spec, "--engine", "webgpu"], { cwd: dir });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, REFUSED);
      assert.match(r.stderr, /hint: use --engine cpu or auto/);
      await assert.rejects(() => Deno.stat(`${dir}/runs`), Deno.errors.NotFound);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
