// The GPU bench bundle: `tasks/gpu_bundle.ts` builds a folder under the GPU machine's 64 MiB limit
// (tested at xz -1, which is larger than the default -9), and its run.sh trains with its own Deno
// runtime and its own Vulkan loader in a bare environment.
import assert from "node:assert/strict";
import { runTask } from "../tasks/_spawn.ts";
import { webgpuTest } from "../engine/_webgpu.ts";

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
      /MiB \(README\.md, deno\.xz, gpu_bench\.js, reference_torch\.py, run\.sh, torch_reference\.py, vulkan\)/,
    );
    const debs = [...Deno.readDirSync(`${bundle}/vulkan`)].map((e) => e.name);
    assert.ok(debs.some((n) => /^libvulkan1_.*\.deb$/.test(n)), debs.join(", "));
    assert.ok(((await Deno.stat(`${bundle}/run.sh`)).mode ?? 0) & 0o100, "run.sh is executable");
  },
});

webgpuTest(
  "the bundle's run.sh trains on webgpu from its own runtime and Vulkan loader",
  async () => {
    const { bundle, code, stderr } = await buildBundle();
    assert.equal(code, 0, stderr);
    const out = await Deno.makeTempDir();
    try {
      const r = await new Deno.Command("bash", {
        args: [
          `${bundle}/run.sh`,
          "--shapes",
          "32/128/128",
          "--arch",
          "jumprelu,topk",
          "--steps",
          "2",
          "--warmup",
          "1",
          "--repeats",
          "1",
        ],
        cwd: out,
        clearEnv: true,
        env: { PATH: "/usr/bin:/bin", OUT: out, SAESWEEP_BUNDLED_LOADER: "1", PYTHON: "none" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const dec = new TextDecoder();
      const text = dec.decode(r.stdout) + dec.decode(r.stderr);
      assert.equal(r.code, 0, text);
      assert.match(text, /using the bundled Vulkan loader/);
      const result = JSON.parse(await Deno.readTextFile(`${out}/webgpu.json`));
      assert.equal(result.backend.used, "webgpu");
      assert.deepEqual(result.rows.map((row: { arch: string }) => row.arch), ["jumprelu", "topk"]);
      for (const row of result.rows) assert.ok(row.step_s > 0, JSON.stringify(row));
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
);
