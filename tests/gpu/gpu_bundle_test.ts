// The GPU bundle: `tasks/gpu_bundle.ts` builds a folder under the GPU machine's 64 MiB limit
// (tested at xz -1, which is larger than the default -9), and its run.sh, in a bare environment with
// its own Deno runtime and Vulkan loader, runs every stage at tiny shapes on the software adapter:
// probe, parity, bench (webgpu engine vs tfjs reference) and an end-to-end webgpu sweep; its cuda
// stages, on a machine without an NVIDIA GPU, run the bundled cuda check and bench and fail naming
// the driver they looked for (what they do on a GPU is for the GPU machine to show: docs/GPU.md).
import assert from "node:assert/strict";
import { runTask } from "../tasks/_spawn.ts";
import { webgpuTest } from "../engine/_webgpu.ts";
import { findCudaLibrary } from "../../lib/engine/cuda/libraries.ts";

const LIMIT = 64 * 1024 * 1024;
const IN_CI = Boolean(Deno.env.get("CI"));
const HAS_APT = await new Deno.Command("apt-get", { args: ["--version"], stdout: "null" }).output()
  .then((o) => o.success, () => false);

/**
 * Builds the bundle once per file, for whichever test needs it first (tests run in any order
 * under --shuffle); the directory is removed when the file's tests are done.
 */
let built: Promise<{ bundle: string; stdout: string; stderr: string; code: number }> | undefined;
function buildBundle() {
  built ??= (async () => {
    const dir = await Deno.makeTempDir();
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    const bundle = `${dir}/gpu_bundle`;
    const r = await runTask("gpu_bundle", ["--out", bundle, "--xz-level", "1"], {
      cwd: dir,
      permissions: ["--allow-read", "--allow-write", "--allow-env", "--allow-run"],
    });
    return { bundle, ...r };
  })();
  return built;
}

async function sizeOf(dir: string): Promise<number> {
  let total = 0;
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    total += e.isDirectory ? await sizeOf(p) : (await Deno.stat(p)).size;
  }
  return total;
}

Deno.test({
  name: "gpu-bundle builds runtime, bench, Vulkan loader and scripts within 64 MiB",
  ignore: !HAS_APT && !IN_CI,
  fn: async () => {
    const { bundle, ...r } = await buildBundle();
    assert.equal(r.code, 0, r.stderr);
    const size = await sizeOf(bundle);
    assert.ok(size <= LIMIT, `bundle is ${size} bytes`);
    assert.match(
      r.stdout,
      new RegExp(
        "MiB \\(README\\.md, _gemm_worker\\.ts, cuda_check\\.js, deno\\.xz, e2e\\.yaml, e2e_tiny\\.yaml, gpu_bench\\.js, gpu_probe\\.js, " +
          "reference_torch\\.py, run\\.js, run\\.sh, sgemm\\.wasm, sweep\\.js, torch_reference\\.py, vulkan\\)",
      ),
    );
    const debs = [...Deno.readDirSync(`${bundle}/vulkan`)].map((e) => e.name);
    assert.ok(debs.some((n) => /^libvulkan1_.*\.deb$/.test(n)), debs.join(", "));
    assert.ok(((await Deno.stat(`${bundle}/run.sh`)).mode ?? 0) & 0o100, "run.sh is executable");
  },
});

webgpuTest(
  "the bundle's run.sh probes, checks parity, benches and trains end to end on its own runtime and loader",
  async () => {
    const { bundle, code, stderr } = await buildBundle();
    assert.equal(code, 0, stderr);
    const out = await Deno.makeTempDir();
    try {
      const r = await new Deno.Command("bash", {
        args: [
          `${bundle}/run.sh`,
          "--probe-shapes",
          "16/64/64",
          "--shapes",
          "32/128/128",
          "--reference-shapes",
          "32/128/128",
          "--arch",
          "jumprelu,topk,gated",
          "--steps",
          "2",
          "--warmup",
          "1",
          "--repeats",
          "1",
          "--e2e-spec",
          "e2e_tiny.yaml",
        ],
        cwd: out,
        clearEnv: true,
        env: {
          PATH: "/usr/bin:/bin",
          OUT: out,
          SAESWEEP_BUNDLED_LOADER: "1",
          PYTHON: "none",
          // llvmpipe compiles each GEMM pipeline for seconds (no shader cache here): the parity
          // stage's 50 s, sized for a GPU, is too short on a software adapter.
          TIMEOUT_PARITY: "400",
          // Every variant's parity is tests/engine/webgpu/webgpu_engine_test.ts's; here the stage
          // runs on the bundled runtime for two architectures (and its filter is checked).
          PARITY_ONLY: "^(topk|jumprelu)$",
        },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const dec = new TextDecoder();
      const text = dec.decode(r.stdout) + dec.decode(r.stderr);
      assert.equal(r.code, 0, text);
      assert.match(text, /using the bundled Vulkan loader/);
      const summary = await Deno.readTextFile(`${out}/summary.txt`);
      for (const s of ["probe", "parity", "bench", "e2e"]) {
        assert.match(summary, new RegExp(`^  ${s} +ok `, "m"), summary);
      }
      assert.match(summary, /^ {2}torch +skipped: no python with torch/m, summary);

      const probe = JSON.parse(await Deno.readTextFile(`${out}/probe.json`));
      assert.ok(probe.adapter, "the probe names the adapter");
      assert.ok(probe.limits.maxStorageBufferBindingSize > 0);
      for (const [k, v] of Object.entries(probe.costs_us)) assert.ok((v as number) >= 0, k);
      assert.equal(probe.gemm.length, 5);
      for (const g of probe.gemm) assert.ok(g.gflops > 0, JSON.stringify(g));

      const parity = await Deno.readTextFile(`${out}/parity.txt`);
      assert.match(parity, /^parity PASS topk: worst /m);
      assert.match(parity, /^parity PASS jumprelu: worst /m);
      assert.match(parity, /^parity: PASS \(2\/2 variants, worst ratio /m);

      const bench = JSON.parse(await Deno.readTextFile(`${out}/bench.json`));
      assert.deepEqual(bench.engines, ["webgpu", "reference"]);
      assert.equal(bench.backend.used, "webgpu");
      assert.deepEqual(bench.rows.map((row: { arch: string }) => row.arch), [
        "jumprelu",
        "topk",
        "gated",
      ]);
      for (const row of bench.rows.slice(0, 2)) {
        assert.ok(row.step_s > 0 && row.engines.reference.step_s > 0, JSON.stringify(row));
        assert.ok(row.ratios.reference > 0, JSON.stringify(row));
      }
      // Gated has a webgpu kernel too now: its row is timed on the webgpu engine.
      assert.ok(bench.rows[2].step_s > 0, JSON.stringify(bench.rows[2]));

      const e2e = await Deno.readTextFile(`${out}/e2e.txt`);
      assert.match(e2e, /^topk-s0-\w+: .*"tokens_per_s":[0-9.]+/m, e2e);
      const runs = [...Deno.readDirSync(`${out}/e2e`)];
      assert.equal(runs.length, 1);
      const run = JSON.parse(await Deno.readTextFile(`${out}/e2e/${runs[0].name}/run.json`));
      assert.equal(run.notes.engine_choice.used, "webgpu");
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
);

Deno.test({
  name:
    "the bundle's cuda stages run the bundled check and bench, and without a GPU fail naming libcuda.so.1",
  ignore: (!HAS_APT && !IN_CI) || findCudaLibrary("cuda").path !== null,
  fn: async () => {
    const { bundle, code, stderr } = await buildBundle();
    assert.equal(code, 0, stderr);
    const out = await Deno.makeTempDir();
    try {
      const r = await new Deno.Command("bash", {
        args: [`${bundle}/run.sh`, "--stages", "cuda"],
        cwd: out,
        clearEnv: true,
        env: { PATH: "/usr/bin:/bin", OUT: out, PYTHON: "none", HOME: out },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const dec = new TextDecoder();
      const text = dec.decode(r.stdout) + dec.decode(r.stderr);
      assert.equal(r.code, 1, text);
      const summary = await Deno.readTextFile(`${out}/summary.txt`);
      assert.match(summary, /^ {2}cuda_parity +FAILED \(exit 2\)/m, summary);
      assert.match(summary, /^ {2}probe +skipped: not in --stages/m, summary);
      const log = await Deno.readTextFile(`${out}/cuda_parity.log`);
      assert.match(log, /^error: engine cuda unavailable: libcuda\.so\.1 \(the NVIDIA driver\)/m);
      const bench = JSON.parse(await Deno.readTextFile(`${out}/cuda_bench.json`));
      assert.deepEqual(bench.engines, ["cuda", "cuda-tf32"]);
      assert.deepEqual(
        bench.rows.map((row: { arch: string; d: number }) => `${row.arch} ${row.d}`),
        [
          "jumprelu 512",
          "topk 512",
          "batchtopk 512",
          "jumprelu 2304",
          "topk 2304",
          "batchtopk 2304",
        ],
      );
      assert.match(bench.rows[0].engines.cuda.error, /libcuda\.so\.1/);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});
