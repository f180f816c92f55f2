// The whole cuda engine (its FFI calls, buffers, launches, uploads, statistics, snapshots) against
// the cpu engine, without a GPU: the three CUDA libraries are replaced by test-only CPU stand-ins
// (tests/engine/cuda/emulator/: a libcuda whose device memory is host memory, an NVRTC that
// compiles the generated CUDA C with the host C++ compiler behind an emulation header that runs a
// block's threads as fibers meeting at __syncthreads, a cuBLAS GemmEx from the BLAS definition),
// found first through SAESWEEP_CUDA_LIB_DIR. `deno task cuda-check` (tasks/cuda_check.ts, the
// check the GPU bundle runs) must pass on them: parity over three Adam steps and byte-identical
// resume; a kernel writing past a buffer's end fails it (the stand-in libcuda guards every
// allocation with a canary). This checks the kernels' arithmetic and the engine's plumbing, not
// the GPU: not real NVRTC/cuBLAS, not concurrency (races), not speed. End to end, a sweep with
// --engine cuda trains there one run at a time and reaches the cpu engine's held-out FVU, L0 and
// dead fraction within 1e-3, with run.json naming the engine, device, precision and the sweep's
// GPU placement. Needs a C++ compiler (CI installs g++); the stand-ins are built by _emulator.ts.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { emulator, emulatorEnv, HAS_CXX, jsonOnEmulator, runOnEmulator } from "./_emulator.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const CI = Boolean(Deno.env.get("CI"));

Deno.test({
  name:
    "cuda-check passes on the CPU stand-ins: the cuda engine matches the cpu engine and resumes bit for bit",
  ignore: !HAS_CXX && !CI,
  // The stand-ins are loaded into a subprocess; nothing leaks into this one.
  async fn() {
    assert.ok(HAS_CXX, "CI needs a C++ compiler (c++) for the CUDA stand-ins: apt-get install g++");
    {
      const out = await runOnEmulator([
        `${ROOT}tasks/cuda_check.ts`,
        "--steps",
        "3",
        // JumpReLU (log thresholds, L0 penalty, STE), with AuxK and the pre-activation loss on
        // all latents (linear thresholds), with the tanh penalty, with the step penalty on
        // post-activations; ReLU, TopK and BatchTopK (both with dead latents), Matryoshka
        // BatchTopK with three prefixes, Gated (with and without the pre-encoder bias); TopK,
        // BatchTopK (dense AuxK in one), Matryoshka and AuxK from step 3 again with the sparse
        // products forced on.
        "--only",
        "^(gated|gated without pre-encoder bias|matryoshka_batchtopk three prefixes|jumprelu|jumprelu pre-activation loss on all latents, linear theta, AuxK|jumprelu tanh penalty(, linear theta, AuxK)?|jumprelu (post step input, quadratic penalty, theta inside the kernel at 0|quadratic-frequency penalty, post step input)|relu|topk|batchtopk|topk with grad clip|(topk|batchtopk) AuxK from step 3 \\(fresh clock\\)|(topk|batchtopk|topk fewer dead latents than k_aux|matryoshka_batchtopk three prefixes|(topk|batchtopk) AuxK from step 3 \\(fresh clock\\)) \\(sparse\\))$",
        "--resume",
        "^(jumprelu (tanh penalty, linear theta, AuxK|post step input, quadratic penalty, theta inside the kernel at 0)|batchtopk AuxK from step 3 \\(fresh clock\\) \\(sparse\\))$",
      ]);
      const text = out.stdout + out.stderr;
      assert.equal(out.code, 0, text);
      for (
        const label of [
          "jumprelu",
          "jumprelu pre-activation loss on all latents, linear theta, AuxK",
          "jumprelu tanh penalty",
          "jumprelu tanh penalty, linear theta, AuxK",
          "jumprelu post step input, quadratic penalty, theta inside the kernel at 0",
          "jumprelu quadratic-frequency penalty, post step input",
          "relu",
          "topk",
          "batchtopk",
          "topk with grad clip",
          // AuxK's work skipped while no latent can be dead, then run (the host bound's edge).
          "topk AuxK from step 3 (fresh clock)",
          "batchtopk AuxK from step 3 (fresh clock)",
          "matryoshka_batchtopk three prefixes",
          "gated",
          "gated without pre-encoder bias",
          // The sparse products (list kernels) forced on; AuxK dense in "fewer dead latents".
          "topk (sparse)",
          "batchtopk (sparse)",
          "topk fewer dead latents than k_aux (sparse)",
          "matryoshka_batchtopk three prefixes (sparse)",
          "topk AuxK from step 3 (fresh clock) (sparse)",
          "batchtopk AuxK from step 3 (fresh clock) (sparse)",
        ]
      ) {
        assert.match(
          text,
          new RegExp(`^parity PASS ${label.replace(/[(),]/g, "\\$&")}: worst `, "m"),
        );
      }
      for (
        const label of [
          "jumprelu",
          "relu",
          "topk",
          "batchtopk",
          "jumprelu tanh penalty, linear theta, AuxK",
          "jumprelu post step input, quadratic penalty, theta inside the kernel at 0",
          "matryoshka_batchtopk",
          "gated",
          "topk (sparse)",
          "batchtopk (sparse)",
          "matryoshka_batchtopk (sparse)",
          "batchtopk AuxK from step 3 (fresh clock) (sparse)",
        ]
      ) {
        assert.match(
          text,
          new RegExp(`^resume PASS ${label.replace(/[(),]/g, "\\$&")} byte-identical$`, "m"),
        );
      }
      assert.match(text, /^cuda check on CPU emulation \(sm_90; .*\): PASS \(33 passed, 0 failed/m);
    }
  },
});

Deno.test({
  name:
    "a sweep with --engine cuda trains on the CPU stand-ins one run at a time and lands where the cpu engine does",
  ignore: !HAS_CXX && !CI,
  async fn() {
    assert.ok(HAS_CXX, "CI needs a C++ compiler (c++) for the CUDA stand-ins: apt-get install g++");
    const out = await Deno.makeTempDir();
    try {
      const spec = `${ROOT}scripts/gpu_bundle/e2e_tiny.yaml`;
      const sweep = (engine: string, env: Record<string, string>) =>
        new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "-A",
            `${ROOT}tasks/sweep.ts`,
            spec,
            "--engine",
            engine,
            "--out",
            `${out}/${engine}`,
          ],
          env,
          stdout: "piped",
          stderr: "piped",
        }).output();
      const r = await sweep("cuda", emulatorEnv(await emulator()));
      const text = new TextDecoder().decode(r.stderr);
      assert.equal(r.code, 0, text);
      assert.match(text, /jobs 1 \(cuda engine on CPU emulation \(sm_90\): one run at a time/);
      assert.match(text, /^gpus: GPU 0 \(CPU emulation, CUDA_VISIBLE_DEVICES=0\): 4\.0 GiB free/m);
      const cpu = await sweep("cpu", {});
      assert.equal(cpu.code, 0, new TextDecoder().decode(cpu.stderr));
      const runDir = (engine: string) => {
        const exp = `${out}/${engine}/gpu_e2e_tiny`;
        return `${exp}/${[...Deno.readDirSync(exp)].find((e) => e.isDirectory)!.name}`;
      };
      const run = JSON.parse(await Deno.readTextFile(`${runDir("cuda")}/run.json`));
      assert.equal(run.notes.engine, "cuda");
      assert.equal(run.notes.engine_choice.used, "cuda");
      assert.equal(run.notes.engine_choice.precision, "fp32");
      assert.match(run.notes.engine_choice.device, /^CPU emulation/);
      // The sweep's placement, as the real trainer records it.
      const placed = run.notes.gpu_placement;
      assert.equal(placed.device, 0);
      assert.equal(placed.cuda_visible_devices, "0");
      assert.equal(placed.device_free_bytes, 4 * 2 ** 30);
      assert.deepEqual(placed.sharing_with, []);
      assert.ok(placed.reservation_bytes > placed.estimate_bytes, JSON.stringify(placed));
      const have = JSON.parse(await Deno.readTextFile(`${runDir("cuda")}/summary.json`));
      const want = JSON.parse(await Deno.readTextFile(`${runDir("cpu")}/summary.json`));
      for (const k of ["fvu", "l0", "dead_frac"]) {
        assert.ok(Math.abs(have[k] - want[k]) <= 1e-3, `${k}: cuda ${have[k]}, cpu ${want[k]}`);
      }
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test({
  name: "a run that does not fit the device's free memory is refused before anything is allocated",
  ignore: !HAS_CXX && !CI,
  async fn() {
    assert.ok(HAS_CXX, "CI needs a C++ compiler (c++) for the CUDA stand-ins: apt-get install g++");
    // The stand-in reports 4 GiB free; a [2^24, 96] TopK batch needs tens of GiB of [B, F] buffers.
    const r =
      (await jsonOnEmulator([`${ROOT}tests/engine/cuda/_try_cuda.ts`, "cuda", String(2 ** 24)]))
        .at(-1);
    assert.equal(r.error, "CudaError");
    assert.equal(r.exitCode, 1);
    assert.match(
      r.message,
      /^cuda engine: the run needs \d+\.\d\d GiB of device memory, 4\.00 GiB are free on CPU emulation$/,
    );
    assert.match(r.hint, /a smaller batch or width/);
  },
});

Deno.test({
  name: "auto passes over a cuda engine that loads, until its parity has run on a GPU",
  ignore: !HAS_CXX && !CI,
  async fn() {
    assert.ok(HAS_CXX, "CI needs a C++ compiler (c++) for the CUDA stand-ins: apt-get install g++");
    const r = (await jsonOnEmulator([`${ROOT}tests/engine/cuda/_try_cuda.ts`, "auto"])).at(-1);
    assert.notEqual(r.used, "cuda");
    assert.match(
      r.notes[0],
      /^cuda: loads here, but auto does not pick it before its parity has run on a GPU/,
    );
  },
});
