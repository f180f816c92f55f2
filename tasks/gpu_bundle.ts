// `deno task gpu-bundle [--out dist/gpu_bundle] [--xz-level 9]`: builds a self-contained folder that
// probes, checks and benchmarks the webgpu and cuda engines and trains a spec end to end on a bare Linux
// x86-64 GPU machine with no network: this Deno runtime (xz), the probe, bench, trainer and sweep
// each bundled into one JavaScript file with its npm dependencies, the Vulkan loader .deb, run.sh,
// two synthetic specs and the PyTorch reference. docs/GPU.md says why it is not `deno compile`d.
import { Command } from "commander";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { SaeSweepError } from "../lib/errors.ts";
import { parseIntFlag, runMain } from "./_cli.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
/** What the GPU machine accepts with one command. */
const LIMIT_BYTES = 64 * 1024 * 1024;
/** Debian packages of the Vulkan loader (NVIDIA's driver provides the ICD itself). */
const VULKAN_PACKAGES = ["libvulkan1"];
const PAYLOAD = ["run.sh", "torch_reference.py", "README.md", "e2e.yaml", "e2e_tiny.yaml"];
/**
 * Entry points bundled to `<name>.js`. A bundled sweep spawns the bundled run.js with
 * `--no-config` when run.sh sets SAESWEEP_RUN_SCRIPT (tasks/sweep.ts).
 */
const ENTRIES = ["gpu_probe", "gpu_bench", "cuda_check", "run", "sweep"];

async function exec(cmd: string, args: string[], options: { cwd?: string } = {}): Promise<void> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(cmd, { args, cwd: options.cwd, stdout: "piped", stderr: "piped" })
      .output();
  } catch (err) {
    throw new SaeSweepError(`cannot run ${cmd}: ${err instanceof Error ? err.message : err}`, {
      hint: cmd === "xz" ? "install xz-utils" : cmd === "apt-get" ? "run on Debian or Ubuntu" : "",
    });
  }
  if (!out.success) {
    const tail = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-4).join("\n");
    throw new SaeSweepError(`${cmd} ${args.join(" ")} failed (exit ${out.code}):\n${tail}`, {
      hint: cmd === "apt-get" ? "run `apt-get update` first (the package lists may be empty)" : "",
    });
  }
}

async function sizeOf(dir: string): Promise<number> {
  let total = 0;
  for await (const e of Deno.readDir(dir)) {
    const path = join(dir, e.name);
    total += e.isDirectory ? await sizeOf(path) : (await Deno.stat(path)).size;
  }
  return total;
}

async function main(): Promise<number> {
  const program = new Command("gpu-bundle")
    .description(
      "Build the offline GPU bundle (runtime, probe, bench, trainer, Vulkan loader, run.sh)",
    )
    .option("--out <dir>", "bundle folder (replaced)", "dist/gpu_bundle")
    .option(
      "--xz-level <n>",
      "xz preset for the runtime (9: smallest)",
      parseIntFlag("--xz-level", 0),
      9,
    )
    .exitOverride()
    .configureOutput({ writeErr: (s) => Deno.stderr.writeSync(new TextEncoder().encode(s)) });
  program.parse(Deno.args, { from: "user" });
  const opts = program.opts<{ out: string; xzLevel: number }>();
  if (opts.xzLevel > 9) throw new SaeSweepError("--xz-level expects 0..9", { exitCode: 2 });
  const out = opts.out;
  await Deno.remove(out, { recursive: true }).catch(() => {});
  await Deno.mkdir(join(out, "vulkan"), { recursive: true });

  /** `deno bundle`s the module at `source` (under ROOT) with its npm dependencies into `output`. */
  const bundle = (source: string, output: string) =>
    exec(Deno.execPath(), [
      "bundle",
      `--config=${ROOT}deno.json`,
      "--platform=deno",
      "--minify",
      "--output",
      join(out, output),
      `${ROOT}${source}`,
    ]);
  for (const name of ENTRIES) {
    console.error(`bundling tasks/${name}.ts and its npm dependencies into ${name}.js`);
    await bundle(`tasks/${name}.ts`, `${name}.js`);
  }
  // The cpu engine's portable GEMM and its helper-thread script, which the bundled code loads
  // from beside itself (the worker keeps its .ts name: its URL is fixed in wasm_gemm.ts).
  await Deno.copyFile(`${ROOT}lib/engine/cpu/gemm/sgemm.wasm`, join(out, "sgemm.wasm"));
  await bundle("lib/engine/cpu/gemm/_gemm_worker.ts", "_gemm_worker.ts");

  console.error(`compressing the Deno ${Deno.version.deno} runtime (xz -${opts.xzLevel})`);
  const runtime = await Deno.open(join(out, "deno.xz"), { write: true, create: true });
  const xz = new Deno.Command("xz", {
    args: [`-${opts.xzLevel}`, "-T0", "-c", Deno.execPath()],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  await xz.stdout.pipeTo(runtime.writable);
  const xzStatus = await xz.status;
  if (!xzStatus.success) throw new SaeSweepError(`xz failed (exit ${xzStatus.code})`);

  console.error(`downloading ${VULKAN_PACKAGES.join(", ")} with apt-get download`);
  await exec("apt-get", ["download", ...VULKAN_PACKAGES], { cwd: join(out, "vulkan") });

  for (const name of PAYLOAD) {
    await Deno.copyFile(`${ROOT}scripts/gpu_bundle/${name}`, join(out, name));
  }
  // The one PyTorch reference of the training step, which torch_reference.py imports.
  await Deno.copyFile(`${ROOT}bench/reference_torch.py`, join(out, "reference_torch.py"));
  await Deno.chmod(join(out, "run.sh"), 0o755);

  const bytes = await sizeOf(out);
  const mib = (bytes / 1024 / 1024).toFixed(1);
  if (bytes > LIMIT_BYTES) {
    throw new SaeSweepError(`bundle ${out} is ${mib} MiB, over the 64 MiB limit`, {
      hint: "use --xz-level 9",
    });
  }
  const files = [];
  for await (const e of Deno.readDir(out)) files.push(e.name);
  console.log(`${out}: ${mib} MiB (${files.sort().join(", ")})`);
  console.log(
    `run it there: bash ${basename(out)}/run.sh [--stages probe,parity,bench,torch,e2e] ` +
      "[--shapes d/f/batch,...] [--arch a,b] (README.md in the bundle)",
  );
  return 0;
}

if (import.meta.main) runMain(main);
