// `deno task bench`: training throughput of the default CPU path (the fast engine) against the
// tfjs reference engine and a PyTorch reference run in the same invocation; prints a table, writes
// JSON, and with --json prints one JSON document as the last line.
import { Command } from "commander";
import { UsageError } from "../lib/errors.ts";
import { selectBackend } from "../lib/backend/select.ts";
import { loadBlas } from "../lib/fast/blas.ts";
import { JS_BLAS } from "../lib/fast/js_gemm.ts";
import { architectureNames, getArchitecture } from "../lib/sae/registry.ts";
import { fastPathUnavailable } from "../lib/train/create_engine.ts";
import {
  type BenchConfig,
  benchGrid,
  DEFAULT_L0S,
  DEFAULT_SHAPES,
  parseArch,
  parseShape,
  QUICK_L0S,
  QUICK_SHAPE,
  shapeLabel,
} from "../lib/bench/bench_config.ts";
import { type BenchResult, measureEngine } from "../lib/bench/measure_engine.ts";
import { gemmCeiling } from "../lib/bench/gemm_ceiling.ts";
import {
  MIN_TORCH_GFLOPS,
  probeTorch,
  runTorchReference,
  TORCH_HINT,
} from "../lib/bench/torch_reference.ts";
import { benchRatios } from "../lib/bench/ratios.ts";
import { formatBenchTable } from "../lib/bench/format_table.ts";
import { parseIntFlag, runMain } from "./_cli.ts";

interface Flags {
  arch?: string[];
  shape?: string[];
  l0?: string[];
  steps?: number;
  warmup?: number;
  reference: string;
  torch: boolean;
  python: string;
  threads: number;
  json: boolean;
  quick: boolean;
  out: string;
  worker?: string;
}

/** Largest B D F for which the tfjs reference engine is measured under `--reference small`. */
const SMALL_REFERENCE_WORK = 64 * 512 * 4096;

const list = (v: string, prev: string[] = []) => [...prev, ...v.split(",").filter((s) => s)];

function peakRssMb(): number {
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux
  }
  return Deno.memoryUsage().rss / 2 ** 20;
}

/** Child-process mode: one configuration, one engine; prints its result as a JSON line. */
async function worker(spec: string): Promise<number> {
  const job = JSON.parse(spec) as {
    config: BenchConfig;
    engine: "fast" | "reference";
    steps: number;
    warmup: number;
  };
  await selectBackend("wasm");
  const result = await measureEngine(job.config, {
    engine: job.engine,
    steps: job.steps,
    warmup: job.warmup,
    calibration: loadBlas().blas ?? JS_BLAS,
  });
  result.peak_rss_mb = peakRssMb();
  console.log(JSON.stringify(result));
  return 0;
}

/** Runs one job in a fresh Deno process so that its peak RSS is its own. */
async function runJob(job: object): Promise<BenchResult> {
  const script = new URL(import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-sys",
      "--allow-ffi",
      "--allow-run",
      script,
      "--worker",
      JSON.stringify(job),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim().split("\n");
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(0, 4).join(" | ");
    throw new Error(`benchmark worker failed: ${err}`);
  }
  return JSON.parse(text.at(-1)!);
}

async function main(): Promise<number> {
  const program = new Command()
    .name("deno task bench")
    .description("Training throughput: fast CPU path vs tfjs reference vs PyTorch, same run")
    .option(
      "--arch <names>",
      `architectures, comma-separated (${architectureNames().join(", ")})`,
      list,
    )
    .option("--shape <DxFxB>", "shapes d_model x d_sae x batch, comma-separated", list)
    .option("--l0 <targets>", "L0 targets, comma-separated (default 32,128)", list)
    .option(
      "--steps <n>",
      "measured steps per configuration (median reported)",
      parseIntFlag("--steps", 1),
    )
    .option("--warmup <n>", "warm-up steps before measuring", parseIntFlag("--warmup", 0))
    .option(
      "--reference <which>",
      "tfjs reference engine: none | small (64x512x4096 and below) | all",
      "small",
    )
    .option("--no-torch", "skip the PyTorch reference")
    .option("--python <path>", "Python with torch for the reference", "/usr/bin/python3")
    .option(
      "--threads <n>",
      "threads for OpenBLAS and torch",
      parseIntFlag("--threads", 1),
      navigator.hardwareConcurrency,
    )
    .option("--json", "print one JSON document as the last line", false)
    .option("--quick", "one tiny shape, one step: a smoke test (no timing claims)", false)
    .option("--out <file>", "where to write the JSON results", "bench-results.json")
    .option("--worker <job>", "internal: run one job and print its result")
    .exitOverride()
    .parse(["deno", "bench", ...Deno.args]);
  const flags = program.opts<Flags>();
  if (flags.worker) return await worker(flags.worker);
  if (!["none", "small", "all"].includes(flags.reference)) {
    throw new UsageError(`--reference expects none, small or all, got "${flags.reference}"`);
  }
  Deno.env.set("OPENBLAS_NUM_THREADS", String(flags.threads));
  const archs: string[] = flags.arch?.map(parseArch) ?? architectureNames();
  const shapes = flags.shape?.map(parseShape) ??
    (flags.quick ? [QUICK_SHAPE] : [...DEFAULT_SHAPES]);
  const l0s = flags.l0?.map((v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) {
      throw new UsageError(`--l0 expects integers >= 1, got "${v}"`);
    }
    return n;
  }) ?? (flags.quick ? [...QUICK_L0S] : [...DEFAULT_L0S]);
  const steps = flags.steps ?? (flags.quick ? 1 : 3);
  const warmup = flags.warmup ?? 1;
  const configs = benchGrid(archs, { shapes, l0s });
  if (configs.length === 0) throw new UsageError("no configuration: every --l0 is >= d_sae");

  const log = (s: string) => console.error(s);
  const { blas, reason: blasReason } = loadBlas({ threads: flags.threads });
  const ceiling = blas ? gemmCeiling(blas) : null;
  log(
    blas
      ? `GEMM ceiling: ${
        ceiling!.toFixed(1)
      } GFLOP/s float32 (${blas.name}, ${blas.threads} threads)`
      : `no system BLAS: ${blasReason}`,
  );
  await selectBackend("wasm");
  const fastReason = blas ? fastPathUnavailable(getArchitecture(configs[0].arch)) : blasReason;
  if (fastReason) log(`fast CPU path unavailable (${fastReason}); measuring the reference only`);

  const results: BenchResult[] = [];
  const show = (r: BenchResult) =>
    log(
      `  ${r.engine.padEnd(9)} ${r.arch.padEnd(9)} ${shapeLabel(r).padEnd(14)} L0*=${r.l0_target}` +
        `  ${r.tokens_per_s.toFixed(0)} tok/s  ${r.ms_per_step.toFixed(1)} ms/step  L0=${
          r.l0.toFixed(1)
        }`,
    );
  let torchInfo: Record<string, unknown> = {
    available: false,
    reason: "--no-torch",
    hint: TORCH_HINT,
  };
  let torchOk = false;
  let torchArchs: string[] = [];
  if (flags.torch) {
    const probe = await probeTorch(flags.python);
    torchOk = probe.available;
    torchArchs = probe.architectures ?? [];
    if (!probe.available) {
      log(`PyTorch comparison skipped: ${probe.reason}\nhint: ${TORCH_HINT}`);
      torchInfo = { available: false, reason: probe.reason, hint: TORCH_HINT };
    } else {
      log(
        `PyTorch ${probe.version} (${flags.python}), ${flags.threads} threads, run after each of ours`,
      );
      torchInfo = {
        available: true,
        version: probe.version,
        python: flags.python,
        threads: flags.threads,
      };
    }
  }
  const torchGemm: number[] = [];
  for (const config of configs) {
    const jobs: { engine: "fast" | "reference" }[] = [];
    if (!fastReason) jobs.push({ engine: "fast" });
    const work = config.batch * config.d_model * config.d_sae;
    if (
      flags.reference === "all" || (flags.reference === "small" && work <= SMALL_REFERENCE_WORK)
    ) {
      jobs.push({ engine: "reference" });
    }
    for (const j of jobs) {
      const r = await runJob({ config, engine: j.engine, steps, warmup });
      if (ceiling) r.ceiling_fraction = r.gflops_effective / ceiling;
      results.push(r);
      show(r);
    }
    // PyTorch right after ours on the same configuration, so both see the same machine load.
    if (torchOk && !torchArchs.includes(config.arch)) {
      log(
        `no PyTorch reference for ${config.arch} (bench/reference_torch.py implements ` +
          `${torchArchs.join(", ")})`,
      );
    } else if (torchOk) {
      const run = await runTorchReference([config], {
        python: flags.python,
        steps,
        warmup,
        threads: flags.threads,
      });
      torchGemm.push(run.gemm_gflops);
      for (const r of run.results) {
        if (ceiling) r.ceiling_fraction = r.gflops_effective / ceiling;
        results.push(r);
        show(r);
      }
    }
  }
  if (torchOk) {
    const gemm = Math.max(...torchGemm);
    torchInfo.gemm_gflops = gemm;
    if (gemm < MIN_TORCH_GFLOPS) {
      torchInfo.warning = `torch GEMM ${gemm.toFixed(1)} GFLOP/s: a reference BLAS?`;
      torchInfo.hint = TORCH_HINT;
      log(`warning: torch multiplies at ${gemm.toFixed(1)} GFLOP/s\nhint: ${TORCH_HINT}`);
    }
  }

  const ratios = benchRatios(results);
  const order = (r: BenchResult) =>
    configs.findIndex((c) =>
      c.arch === r.arch && c.d_model === r.d_model && c.d_sae === r.d_sae && c.batch === r.batch &&
      c.l0_target === r.l0_target
    );
  results.sort((a, b) => order(a) - order(b));
  const doc = {
    results,
    ratios,
    gemm_gflops: ceiling,
    blas: blas?.name ?? null,
    threads: flags.threads,
    torch: torchInfo,
    steps,
    warmup,
    machine: {
      os: Deno.build.os,
      arch: Deno.build.arch,
      cpus: navigator.hardwareConcurrency,
      loadavg: Deno.loadavg(),
      deno: Deno.version.deno,
    },
    input:
      "Gaussian x / sqrt(d_model); thresholds (jumprelu), b_enc (relu) or b_gate = b_mag (gated) " +
      "set to each latent's (1 - l0/F) quantile on a calibration batch, so L0 starts near the target; " +
      "topk/batchtopk select k exactly; no latent is dead, so AuxK is skipped by both engines",
    flops: "dense-equivalent 12 B D F per step (six GEMMs), divided by the step time",
    generated_at: new Date().toISOString(),
  };
  await Deno.writeTextFile(flags.out, JSON.stringify(doc, null, 2) + "\n");
  console.log(formatBenchTable(results, { ratios }));
  console.log(
    ceiling ? `GEMM ceiling ${ceiling.toFixed(1)} GFLOP/s (float32, ${flags.threads} threads)` : "",
  );
  const torchRatios = ratios.filter((r) => r.peer === "torch");
  if (torchRatios.length === 0 && flags.torch) {
    console.log(`no PyTorch comparison\nhint: ${TORCH_HINT}`);
  }
  console.log(`results written to ${flags.out}`);
  if (flags.json) console.log(JSON.stringify(doc));
  return 0;
}

await runMain(main);
