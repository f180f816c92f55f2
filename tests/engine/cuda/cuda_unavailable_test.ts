// The cuda engine where it cannot run: with no libcuda.so.1, `engine: cuda` refuses with exit code
// 2 naming what it looked for, and `auto` passes over it saying why (run.json's
// notes.engine_choice); with a fake driver built here from the engine's own symbol table (gcc),
// one whose cuInit reports no device and one too old to have the versioned cuMemAlloc_v2, the
// refusal names the cause. Each case runs in a subprocess (a library loads once per process).
// train.precision tf32/bf16 is refused on a named non-cuda engine and noted under auto.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { DRIVER_SYMBOLS } from "../../../lib/engine/cuda/ffi.ts";
import { findCudaLibrary } from "../../../lib/engine/cuda/libraries.ts";
import { ROOT, runTask } from "../../tasks/_spawn.ts";
import { createEngine, engineChoice } from "../../../lib/engine/create_engine.ts";
import { makeParityCase } from "../../../lib/bench/engine_parity.ts";
import { BackendUnavailableError } from "../../../lib/errors.ts";

const HELPER = fileURLToPath(new URL("./_try_cuda.ts", import.meta.url));
const CI = Boolean(Deno.env.get("CI"));
const HAS_DRIVER = findCudaLibrary("cuda").path !== null;

interface Outcome {
  used?: string;
  notes?: string[];
  error?: string;
  exitCode?: number;
  message?: string;
  hint?: string;
}

async function tryCuda(
  engine: "cuda" | "auto",
  env: Record<string, string> = {},
): Promise<Outcome> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", HELPER, engine],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  assert.ok(out.success, `helper failed: ${new TextDecoder().decode(out.stderr)}`);
  return JSON.parse(text.split("\n").at(-1)!);
}

Deno.test({
  name: "engine cuda without libcuda.so.1 refuses with exit code 2 naming what it looked for",
  ignore: HAS_DRIVER,
  async fn() {
    const r = await tryCuda("cuda");
    assert.equal(r.error, "BackendUnavailableError");
    assert.equal(r.exitCode, 2);
    assert.match(r.message!, /^engine cuda unavailable: libcuda\.so\.1 \(the NVIDIA driver\)/);
    assert.match(r.message!, /LD_LIBRARY_PATH, ldconfig's cache, \/usr\/local\/nvidia\/lib64/);
    assert.match(r.hint!, /NVIDIA GPU/);
  },
});

Deno.test({
  name: "engine auto without libcuda.so.1 passes over cuda and says why in its notes",
  ignore: HAS_DRIVER,
  async fn() {
    const r = await tryCuda("auto");
    assert.notEqual(r.used, "cuda");
    assert.match(r.notes![0], /^cuda: libcuda\.so\.1 \(the NVIDIA driver\) .*: not found$/);
  },
});

/** Builds a fake libcuda.so.1 exporting `names` (each returns `status`, cuInit returns `init`). */
async function fakeDriver(names: string[], init: number): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "saesweep-fake-cuda-" });
  const src = names.map((n) => `int ${n}() { return ${n === "cuInit" ? init : 0}; }`).join("\n");
  await Deno.writeTextFile(`${dir}/fake.c`, src);
  const cc = await new Deno.Command("cc", {
    args: ["-shared", "-fPIC", "-o", `${dir}/libcuda.so.1`, `${dir}/fake.c`],
    stderr: "piped",
  }).output();
  assert.ok(cc.success, new TextDecoder().decode(cc.stderr));
  return dir;
}

let HAS_CC = false;
try {
  HAS_CC = (await new Deno.Command("cc", { args: ["--version"], stdout: "null", stderr: "null" })
    .output()).success;
} catch {
  HAS_CC = false;
}

function ccTest(name: string, fn: () => Promise<void>): void {
  Deno.test({
    name,
    ignore: !HAS_CC && !CI,
    async fn() {
      assert.ok(
        HAS_CC,
        "CI needs a C compiler (cc) to build the fake CUDA driver: apt-get install gcc",
      );
      await fn();
    },
  });
}

ccTest(
  "a driver whose cuInit finds no device is refused naming the library and the cause",
  async () => {
    const dir = await fakeDriver(Object.keys(DRIVER_SYMBOLS), 100);
    try {
      const r = await tryCuda("cuda", { SAESWEEP_CUDA_LIB_DIR: dir });
      assert.equal(r.exitCode, 2);
      assert.match(r.message!, /cuInit failed with CUresult 100 \(no CUDA-capable device\)/);
      assert.ok(r.message!.includes(`${dir}/libcuda.so.1`), r.message);
      const auto = await tryCuda("auto", { SAESWEEP_CUDA_LIB_DIR: dir });
      assert.notEqual(auto.used, "cuda");
      assert.match(auto.notes![0], /^cuda: cuInit failed with CUresult 100/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

ccTest("a driver without the versioned cuMemAlloc_v2 is refused naming the symbol", async () => {
  const names = Object.keys(DRIVER_SYMBOLS).map((n) => n === "cuMemAlloc_v2" ? "cuMemAlloc" : n);
  const dir = await fakeDriver(names, 0);
  try {
    const r = await tryCuda("cuda", { SAESWEEP_CUDA_LIB_DIR: dir });
    assert.equal(r.exitCode, 2);
    assert.match(r.message!, /cannot load .*libcuda\.so\.1: .*cuMemAlloc_v2/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "sweep --engine cuda without libcuda.so.1 stops with exit code 2 before writing anything",
  ignore: HAS_DRIVER,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const spec = `${dir}/tiny.yaml`;
      await Deno.copyFile(`${ROOT}scripts/gpu_bundle/e2e_tiny.yaml`, spec);
      const r = await runTask("sweep", [spec, "--engine", "cuda"], { cwd: dir });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /engine cuda unavailable: libcuda\.so\.1 \(the NVIDIA driver\) in /);
      assert.match(r.stderr, /hint: use --engine cpu or auto/);
      await assert.rejects(() => Deno.stat(`${dir}/runs`), Deno.errors.NotFound);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "train.precision tf32 refuses a named non-cuda engine, and auto without CUDA trains in fp32 saying so",
  ignore: HAS_DRIVER,
  async fn() {
    const c = makeParityCase("topk", { steps: 1 });
    const opts = { sae: c.sae, adamEps: 1e-8, gradClip: null, batch: c.dims.b };
    await assert.rejects(
      () => createEngine(c.arch, c.init, { ...opts, engine: "cpu", precision: "tf32" }),
      (e: unknown) => {
        assert.ok(e instanceof BackendUnavailableError);
        assert.equal(e.exitCode, 2);
        assert.match(e.message, /^train\.precision tf32 needs the cuda engine, not cpu$/);
        return true;
      },
    );
    const engine = await createEngine(c.arch, c.init, { ...opts, precision: "bf16" });
    try {
      const choice = engineChoice(engine)!;
      assert.notEqual(choice.used, "cuda");
      assert.equal(choice.precision, "fp32");
      assert.match(
        choice.notes.at(-1)!,
        /^precision bf16 needs the cuda engine; this run trains in fp32$/,
      );
    } finally {
      engine.dispose();
    }
  },
});
