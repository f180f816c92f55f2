// Backend choice: `tensorflow` without tfjs-node fails with the fix and exit code 2 (in the
// library and through `deno task run`), `auto` never takes a software WebGPU adapter, a forced
// `webgpu` says which adapter it got, and the start-of-run line names both.
import assert from "node:assert/strict";
import { describeBackend } from "../../../lib/engine/reference/backend_choice.ts";
import { selectBackend, TENSORFLOW_HINT } from "../../../lib/engine/reference/select_backend.ts";
import { BackendUnavailableError } from "../../../lib/errors.ts";
import { loadExperiment } from "../../../lib/spec/load.ts";
import { expandSweep } from "../../../lib/sweep/expand.ts";
import { ROOT, runTask } from "../../tasks/_spawn.ts";
import { webgpuTest } from "../_webgpu.ts";

const SPEC = `${ROOT}tests/fixtures/specs/tiny.yaml`;

async function tensorflowInstalled(): Promise<boolean> {
  for (const pkg of ["tfjs-node-gpu", "tfjs-node"]) {
    try {
      await Deno.stat(`${ROOT}node_modules/@tensorflow/${pkg}/package.json`);
      return true;
    } catch { /* absent */ }
  }
  return false;
}
const HAS_TENSORFLOW = await tensorflowInstalled();

Deno.test({
  name: "selectBackend(tensorflow) without tfjs-node throws BackendUnavailableError with the fix",
  ignore: HAS_TENSORFLOW,
  fn: async () => {
    const err = await selectBackend("tensorflow").then(() => null, (e) => e);
    assert.ok(err instanceof BackendUnavailableError, String(err));
    assert.equal(err.exitCode, 2);
    assert.equal(err.hint, TENSORFLOW_HINT);
    assert.match(err.hint, /deno install --allow-scripts=npm:@tensorflow\/tfjs-node-gpu/);
    assert.match(err.hint, /CUDA 11\.2 \+ cuDNN 8\.1/);
  },
});

Deno.test({
  name: "run --backend tensorflow without tfjs-node exits 2 with a one-screen error and hint",
  ignore: HAS_TENSORFLOW,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const plans = expandSweep(await loadExperiment(SPEC), { outDir: "runs" });
      const r = await runTask("run", [SPEC, "--run", plans[0].runId, "--backend", "tensorflow"], {
        cwd: dir,
      });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /^error: backend tensorflow requested but not installed$/m);
      assert.match(r.stderr, /^hint: the tensorflow backend needs @tensorflow\/tfjs-node-gpu/m);
      assert.match(r.stderr, /deno add npm:@tensorflow\/tfjs-node-gpu@4\.22\.0/);
      assert.match(r.stderr, /--backend wasm/);
      assert.doesNotMatch(r.stderr, /\bat .*\.ts:\d+/, "no stack trace");
      const lines = r.stderr.trimEnd().split("\n");
      assert.ok(lines.length <= 24, `${lines.length} lines:\n${r.stderr}`);
      assert.ok(lines.every((l) => l.length <= 120), `a line is wider than 120:\n${r.stderr}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "selectBackend(auto) takes wasm when tfjs-node is absent, never tfjs's webgpu backend",
  ignore: HAS_TENSORFLOW,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const choice = await selectBackend("auto");
    assert.equal(choice.requested, "auto");
    assert.ok(choice.notes.includes("tensorflow: not installed"), choice.notes.join("; "));
    // tfjs-webgpu trained 835x slower than PyTorch on an H200: the GPU path is train.engine webgpu.
    assert.equal(choice.used, "wasm");
    assert.equal(choice.adapter, undefined);
  },
});

webgpuTest(
  "selectBackend(webgpu) activates webgpu and reports the adapter and its kind",
  async () => {
    const choice = await selectBackend("webgpu");
    assert.equal(choice.used, "webgpu");
    assert.ok(choice.adapter && choice.adapter.length > 0);
    assert.equal(typeof choice.fallback, "boolean");
    if (/llvmpipe|lavapipe|swiftshader/i.test(choice.adapter)) assert.equal(choice.fallback, true);
    await selectBackend("cpu");
  },
);

Deno.test("describeBackend() names the backend, the request, the notes and the adapter kind", () => {
  assert.equal(
    describeBackend({ requested: "auto", used: "wasm", notes: ["tensorflow: not installed"] }),
    "backend wasm (requested auto; tensorflow: not installed)",
  );
  assert.equal(
    describeBackend({
      requested: "webgpu",
      used: "webgpu",
      adapter: "llvmpipe (LLVM 15.0.6, 256 bits) (vendor 0x10005)",
      fallback: true,
      notes: [],
    }),
    "backend webgpu (requested webgpu), adapter llvmpipe (LLVM 15.0.6, 256 bits) (vendor 0x10005), " +
      "software fallback",
  );
});

Deno.test("webgpu tests fail instead of skipping when CI is set and no adapter exists", async () => {
  // DENO_WEBGPU_BACKEND=metal on Linux leaves Deno with no adapter at all.
  const run = (env: Record<string, string>) =>
    new Deno.Command(Deno.execPath(), {
      args: [
        "test",
        `--config=${ROOT}deno.json`,
        "-A",
        "--filter",
        "activates webgpu",
        `${ROOT}tests/engine/reference/select_test.ts`,
      ],
      env: {
        NO_COLOR: "1",
        DENO_WEBGPU_BACKEND: Deno.build.os === "darwin" ? "gl" : "metal",
        ...env,
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
  const dec = new TextDecoder();
  const ci = await run({ CI: "true" });
  const ciOut = dec.decode(ci.stdout) + dec.decode(ci.stderr);
  assert.notEqual(ci.code, 0, ciOut);
  assert.match(ciOut, /CI needs a WebGPU adapter .*mesa-vulkan-drivers libvulkan1/);
  const dev = await run({ CI: "" });
  const devOut = dec.decode(dev.stdout) + dec.decode(dev.stderr);
  assert.equal(dev.code, 0, devOut);
  assert.match(devOut, /0 passed \| 0 failed \| 1 ignored/);
});
