// `deno task sweep` on a machine with CUDA GPUs, emulated: the CPU stand-in libcuda presents the
// devices SAESWEEP_EMU_GPUS lists (free/total MiB) and logs each primary-context retain and
// release (SAESWEEP_EMU_CTX_LOG). The runs are the stand-in trainer's (fake_run.ts), which records
// the placement it was given and the CUDA_VISIBLE_DEVICES it saw in run.json. Checked: runs share
// a GPU while their reservations fit its free memory and a bigger one waits; without --jobs each
// of two GPUs takes one run, named through the parent's CUDA_VISIBLE_DEVICES; a run too big for
// every GPU is refused (exit 2) with nothing written; a dry run shows the placement; the sweep
// releases every context it took; cpu, webgpu and auto sweeps never load the driver or place.
// Nothing here ran on a GPU.
import assert from "node:assert/strict";
import { listTree, runTask } from "./_spawn.ts";
import { emulator, HAS_CXX } from "../engine/cuda/_emulator.ts";
import { estimateRunBytes } from "../../lib/train/memory_estimate.ts";
import type { GpuPlacement } from "../../lib/executor/gpu_slots.ts";

const FAKE_SWEEP = "tests/fixtures/fake_sweep.ts";
const CI = Boolean(Deno.env.get("CI"));

/**
 * TopK runs on d_model 64, batch 2048: widths 64 and 128 reserve ~520 MiB, 16384 ~1.7 GiB (its
 * buffers 1.1 GiB: 708 MiB before the step layout grew from 7 to 10 per-latent rows, 3 x 16384
 * latents x 64 column chunks x 4 bytes, about 12 MiB more; 720 MiB before the cuda engine's sparse
 * products (k = 8 of 64 or more latents) added their lists, three u32 [2048, 16384] buffers, 384 MiB
 * more; run_bytes_test.ts holds the estimate to the engine).
 */
function spec(widths: number[]): string {
  return `name: placement
data:
  source: synthetic
  d_model: 64
  n_features: 128
sae:
  architecture: topk
  target_l0: 8
train:
  tokens: 4096
  batch_size: 2048
eval:
  tokens: 256
sweep:
  sae.width: [${widths.join(", ")}]
`;
}

interface Notes {
  gpu_placement?: GpuPlacement;
  env_cuda_visible_devices: string | null;
}

/** run.json notes of every run under `dir`/runs/placement, by the run's sae.width. */
async function notesByWidth(dir: string): Promise<Map<number, Notes & { runId: string }>> {
  const out = new Map<number, Notes & { runId: string }>();
  for await (const e of Deno.readDir(`${dir}/runs/placement`)) {
    if (!e.isDirectory || e.name.startsWith(".")) continue;
    const run = JSON.parse(await Deno.readTextFile(`${dir}/runs/placement/${e.name}/run.json`));
    out.set(run.config.sae.width, { runId: run.run_id, ...run.notes });
  }
  return out;
}

/** A sweep in a fresh folder holding gpus.yaml, on the stand-in driver with `gpus`. */
function gpuTest(
  name: string,
  fn: (ctx: {
    dir: string;
    sweep: (args: string[], env?: Record<string, string>) => ReturnType<typeof runTask>;
    ctxLog: string;
  }) => Promise<void>,
  widths: number[],
  gpus: string,
): void {
  Deno.test({
    name,
    ignore: !HAS_CXX && !CI,
    async fn() {
      assert.ok(HAS_CXX, "CI needs a C++ compiler (c++) for the CUDA stand-ins");
      const lib = await emulator();
      const dir = await Deno.makeTempDir();
      const ctxLog = `${await Deno.makeTempDir()}/ctx.log`;
      try {
        await Deno.writeTextFile(`${dir}/gpus.yaml`, spec(widths));
        await fn({
          dir,
          ctxLog,
          sweep: (args, env = {}) =>
            runTask(FAKE_SWEEP, ["gpus.yaml", ...args], {
              cwd: dir,
              env: {
                SAESWEEP_CUDA_LIB_DIR: lib,
                SAESWEEP_EMU_GPUS: gpus,
                SAESWEEP_EMU_CTX_LOG: ctxLog,
                ...env,
              },
            }),
        });
      } finally {
        await Deno.remove(dir, { recursive: true });
        await Deno.remove(ctxLog.replace(/\/ctx\.log$/, ""), { recursive: true });
      }
    },
  });
}

/** Every process in the log released each context it retained. */
async function contextsReleased(ctxLog: string): Promise<string[]> {
  const lines = (await Deno.readTextFile(ctxLog)).trim().split("\n");
  const held = new Map<string, number>();
  for (const line of lines) {
    const [pid, what, dev] = line.split(" ");
    const key = `${pid} ${dev}`;
    held.set(key, (held.get(key) ?? 0) + (what === "retain" ? 1 : -1));
  }
  for (const [key, n] of held) assert.equal(n, 0, `pid/device ${key} still holds ${n}`);
  return [...new Set(lines.map((l) => l.split(" ")[0]))];
}

gpuTest(
  "--jobs 3 on one GPU: two small runs share it, the big run waits for both, no context is kept",
  async ({ dir, sweep, ctxLog }) => {
    const r = await sweep(["--engine", "cuda", "--jobs", "3"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /jobs 3 \(--jobs, \d+ cores, runs placed on 1 GPU by memory\)/);
    assert.match(
      r.stderr,
      /^gpus: GPU 0 \(CPU emulation, CUDA_VISIBLE_DEVICES=0\): 1\.8 GiB free of 2\.5 GiB$/m,
    );
    const notes = await notesByWidth(dir);
    const [small, second, big] = [64, 128, 16384].map((w) => notes.get(w)!);
    for (const n of [small, second, big]) {
      assert.equal(n.gpu_placement?.device, 0);
      assert.equal(n.gpu_placement?.cuda_visible_devices, "0");
      assert.equal(n.env_cuda_visible_devices, "0");
      assert.equal(n.gpu_placement?.device_free_bytes, 1800 * 2 ** 20);
    }
    assert.deepEqual(small.gpu_placement?.sharing_with, []);
    assert.deepEqual(second.gpu_placement?.sharing_with, [small.runId]);
    // 1.7 GiB fits 1.8 GiB only alone: it started after both small runs had ended.
    assert.deepEqual(big.gpu_placement?.sharing_with, []);
    assert.match(
      r.stderr,
      /^width_16384-[0-9a-f]{8} waits for GPU memory: it reserves 1\.7 GiB, room left: GPU 0 7\d\d MiB$/m,
    );
    const reserved = (n: Notes) => n.gpu_placement!.reservation_bytes;
    assert.ok(reserved(big) + reserved(small) > 1800 * 2 ** 20, "the big run fits only alone");
    // The sweep's own look at the GPU (the stand-in trainer never loads the driver).
    assert.equal((await contextsReleased(ctxLog)).length, 1);
  },
  [64, 128, 16384],
  "1800/2600",
);

gpuTest(
  "without --jobs two GPUs take one run each, named as the sweep's CUDA_VISIBLE_DEVICES names them",
  async ({ dir, sweep, ctxLog }) => {
    // Physical GPU 1 (1500 MiB free) is the sweep's device 0, physical GPU 0 its device 1.
    const r = await sweep(["--engine", "cuda"], { CUDA_VISIBLE_DEVICES: "1,0" });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /jobs 2 \(cuda engine on 2 GPUs \(CPU emulation \(sm_90\), \.\.\.\): one run per GPU/,
    );
    const notes = await notesByWidth(dir);
    const a = notes.get(64)!;
    const b = notes.get(128)!;
    assert.equal(a.gpu_placement?.device, 0);
    assert.equal(a.gpu_placement?.cuda_visible_devices, "1");
    assert.equal(a.env_cuda_visible_devices, "1");
    assert.equal(a.gpu_placement?.device_free_bytes, 1500 * 2 ** 20);
    assert.equal(b.gpu_placement?.device, 1);
    assert.equal(b.gpu_placement?.cuda_visible_devices, "0");
    assert.equal(b.env_cuda_visible_devices, "0");
    assert.equal(b.gpu_placement?.device_free_bytes, 1000 * 2 ** 20);
    assert.deepEqual(b.gpu_placement?.sharing_with, []);
    await contextsReleased(ctxLog);
  },
  [64, 128],
  "1000/2000,1500/3000",
);

gpuTest(
  "a run too big for every GPU is refused with exit 2 naming it and nothing written; --force runs it alone",
  async ({ dir, sweep }) => {
    const r = await sweep(["--engine", "cuda", "--jobs", "3"]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /^error: run width_16384-[0-9a-f]{8} needs about 1\.7 GiB of GPU memory \(the cuda engine's buffers 1\.1 GiB, \+10%, \+512 MiB for the CUDA context\); it fits no GPU: GPU 0 \(CPU emulation\): 1000 MiB free of 2\.0 GiB \(nothing trained\)$/m,
    );
    assert.match(r.stderr, /^hint: lower sae\.width or train\.batch_size/m);
    assert.deepEqual(await listTree(dir), ["gpus.yaml"]);
    // A dry run shows it and still writes nothing.
    const dry = await sweep(["--engine", "cuda", "--jobs", "3", "--dry-run"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(
      dry.stdout,
      /^2\s+width_16384-[0-9a-f]{8}\s+pending\s+16384\s+too big, 1\.7 GiB$/m,
    );
    assert.match(dry.stderr, /^warning: run width_16384-[0-9a-f]{8} needs about 1\.7 GiB/m);
    assert.deepEqual(await listTree(dir), ["gpus.yaml"]);
    // --force trains it, alone on the GPU: its reservation is the GPU's whole free memory.
    const forced = await sweep(["--engine", "cuda", "--jobs", "3", "--force"]);
    assert.equal(forced.code, 0, forced.stderr);
    const big = (await notesByWidth(dir)).get(16384)!;
    assert.equal(big.gpu_placement?.reservation_bytes, 1000 * 2 ** 20);
    assert.deepEqual(big.gpu_placement?.sharing_with, []);
  },
  [64, 128, 16384],
  "1000/2000",
);

gpuTest(
  "a dry run shows each cuda run's GPU and reservation, or that it waits",
  async ({ dir, sweep }) => {
    const r = await sweep(["--engine", "cuda", "--jobs", "3", "--dry-run"]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.match(lines[0], /^#\s+run id\s+status\s+sae\.width\s+gpu$/);
    assert.match(lines[1], /^0\s+width_64-[0-9a-f]{8}\s+pending\s+64\s+GPU 0, 520 MiB$/);
    assert.match(lines[2], /^1\s+width_128-[0-9a-f]{8}\s+pending\s+128\s+GPU 0, 524 MiB$/);
    assert.match(lines[3], /^2\s+width_16384-[0-9a-f]{8}\s+pending\s+16384\s+waits, 1\.7 GiB$/);
    assert.match(
      r.stdout,
      /^gpus: GPU 0 \(CPU emulation, CUDA_VISIBLE_DEVICES=0\): 1\.8 GiB free of 2\.5 GiB; 3 run\(s\) at once/m,
    );
    assert.deepEqual(await listTree(dir), ["gpus.yaml"]);
  },
  [64, 128, 16384],
  "1800/2600",
);

gpuTest(
  "cpu, webgpu and auto sweeps on a CUDA machine never load the driver and place nothing",
  async ({ dir, sweep, ctxLog }) => {
    const cpu = await sweep(["--engine", "cpu", "--jobs", "2"]);
    assert.equal(cpu.code, 0, cpu.stderr);
    assert.match(cpu.stderr, /jobs 2 \(--jobs, \d+ cores\);/);
    assert.doesNotMatch(cpu.stderr, /^gpus:|placed/m);
    for (const n of (await notesByWidth(dir)).values()) {
      assert.equal(n.gpu_placement, undefined);
      assert.equal(n.env_cuda_visible_devices, null);
    }
    // auto (the default engine) does not pick cuda until it has run on a GPU, and webgpu runs
    // are not placed (its dry run lists them whether or not there is an adapter): no gpu column.
    for (const args of [["--dry-run"], ["--dry-run", "--engine", "webgpu"]]) {
      const dry = await sweep(args);
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout.split("\n")[0], /^#\s+run id\s+status\s+sae\.width$/);
      assert.doesNotMatch(dry.stdout, /^gpus:/m);
    }
    await assert.rejects(() => Deno.stat(ctxLog), Deno.errors.NotFound);
  },
  [64, 128],
  "1400/2000",
);

Deno.test({
  name: "without --jobs a cuda sweep checks host memory for one run per GPU, not one per core",
  // With one core both bounds are one run: nothing to tell apart.
  ignore: (!HAS_CXX && !CI) || navigator.hardwareConcurrency < 2,
  async fn() {
    assert.ok(HAS_CXX, "CI needs a C++ compiler (c++) for the CUDA stand-ins");
    // Two runs whose host estimates are 70% of this machine's memory each: one at a time fits,
    // two at once (one per core) do not.
    const total = Deno.systemMemoryInfo().total;
    const shape = (f: number) => estimateRunBytes({ d: 1024, f, batch: 256, evalTokens: 256 });
    const width = Math.round((0.7 * total - shape(0)) / (shape(1001) - shape(1000)));
    const lib = await emulator();
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(
        `${dir}/big.yaml`,
        spec([width, width + 8]).replace("d_model: 64", "d_model: 1024").replace(
          "batch_size: 2048",
          "batch_size: 256",
        ),
      );
      const env = { SAESWEEP_CUDA_LIB_DIR: lib, SAESWEEP_EMU_GPUS: "1000000/1000000" };
      const one = await runTask(FAKE_SWEEP, ["big.yaml", "--engine", "cuda"], { cwd: dir, env });
      assert.equal(one.code, 0, one.stderr);
      assert.match(one.stdout, /2 done/);
      // The same run on the cpu engine is checked for one per core, and refused.
      const cpu = await runTask(FAKE_SWEEP, ["big.yaml", "--engine", "cpu"], { cwd: dir, env });
      assert.equal(cpu.code, 2, cpu.stderr);
      assert.match(cpu.stderr, /^error: run width_\d+-[0-9a-f]{8} needs about .* \(x\d+ jobs\)/m);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
