// `deno task bench`: training throughput of the fast engine with the system BLAS and with the
// portable GEMM, against the tfjs reference engine and a PyTorch reference run in the same
// invocation, and each step's time over its encoder GEMM's; prints a table, writes JSON, and
// with --json prints one JSON document as the last line. `--gemms` compares the GEMMs alone;
// `--harvest` measures the tokens/s of harvesting LM activations per model size.
import { Command } from "commander";
import { UsageError } from "../lib/errors.ts";
import { selectBackend } from "../lib/engine/reference/select_backend.ts";
import { type Blas, loadBlas } from "../lib/engine/cpu/blas.ts";
import { JS_BLAS } from "../lib/engine/cpu/js_gemm.ts";
import {
  type GemmPreference,
  portableGemm,
  portableGemmStarted,
} from "../lib/engine/cpu/gemm/select_gemm.ts";
import {
  formatGemmTable,
  measureGemmCandidates,
  stepGemmShapes,
} from "../lib/bench/gemm_candidates.ts";
import { architectureNames, getArchitecture } from "../lib/sae/registry.ts";
import { cpuEngineUnavailable } from "../lib/engine/create_engine.ts";
import {
  type BenchConfig,
  benchGrid,
  type BenchShape,
  DEFAULT_SHAPES,
  DEFAULT_TARGET_L0S,
  parseArch,
  parseShape,
  QUICK_ARCHS,
  QUICK_TARGET_L0S,
  shapeLabel,
} from "../lib/bench/bench_config.ts";
import { type BenchResult, measureEngine } from "../lib/bench/measure_engine.ts";
import { peakRssMb, runBenchJob } from "../lib/bench/bench_job.ts";
import { gemmCeiling } from "../lib/bench/gemm_ceiling.ts";
import {
  MIN_TORCH_GFLOPS,
  probeTorch,
  runTorchReference,
  TORCH_HINT,
} from "../lib/bench/torch_reference.ts";
import { benchRatios, encoderRatios } from "../lib/bench/ratios.ts";
import { formatBenchTable } from "../lib/bench/format_table.ts";
import {
  HARVEST_SHAPES,
  type HarvestThroughput,
  measureHarvest,
} from "../lib/bench/harvest_throughput.ts";
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
  gemm: string;
  gemms: boolean;
  harvest: boolean;
  kernels: string;
  out: string;
  worker?: string;
}

/** Largest B D F for which the tfjs reference engine is measured under `--reference small`. */
const SMALL_REFERENCE_WORK = 64 * 512 * 4096;

const list = (v: string, prev: string[] = []) => [...prev, ...v.split(",").filter((s) => s)];

/** Child-process mode: one configuration, one engine; prints its result as a JSON line. */
async function worker(spec: string): Promise<number> {
  const job = JSON.parse(spec) as {
    config: BenchConfig;
    engine: "fast" | "reference";
    gemm: GemmPreference;
    kernels: "wasm" | "js";
    threads: number;
    steps: number;
    warmup: number;
  };
  await selectBackend("wasm");
  if (job.gemm === "portable") await portableGemmStarted(job.threads);
  const result = await measureEngine(job.config, {
    engine: job.engine,
    gemm: job.gemm,
    kernels: job.kernels,
    threads: job.threads,
    steps: job.steps,
    warmup: job.warmup,
    calibration: loadBlas({ threads: job.threads }).blas ?? portableGemm(job.threads).blas ??
      JS_BLAS,
  });
  result.peak_rss_mb = peakRssMb();
  console.log(JSON.stringify(result));
  return 0;
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
    .option(
      "--quick",
      "default shapes, jumprelu and topk at L0 32, one step each, no tfjs reference",
      false,
    )
    .option("--gemm <which>", "fast engine GEMM: both | system | portable", "both")
    .option("--gemms", "compare the GEMM candidates alone at the shapes' products", false)
    .option(
      "--kernels <which>",
      "fast engine kernels: wasm (SIMD, default) | js (the TypeScript loops) | both",
      "wasm",
    )
    .option(
      "--harvest",
      "tokens/s of harvesting LM activations per model size (one site and four sites of a block)",
      false,
    )
    .option("--out <file>", "where to write the JSON results", "bench-results.json")
    .option("--worker <job>", "internal: run one job and print its result")
    .exitOverride()
    .parse(["deno", "bench", ...Deno.args]);
  const flags = program.opts<Flags>();
  if (flags.worker) return await worker(flags.worker);
  if (!["none", "small", "all"].includes(flags.reference)) {
    throw new UsageError(`--reference expects none, small or all, got "${flags.reference}"`);
  }
  if (!["both", "wasm", "js"].includes(flags.kernels)) {
    throw new UsageError(`--kernels expects wasm, js or both, got "${flags.kernels}"`);
  }
  if (!["both", "system", "portable"].includes(flags.gemm)) {
    throw new UsageError(`--gemm expects both, system or portable, got "${flags.gemm}"`);
  }
  Deno.env.set("OPENBLAS_NUM_THREADS", String(flags.threads));
  const archs: string[] = flags.arch?.map(parseArch) ??
    (flags.quick ? [...QUICK_ARCHS] : architectureNames());
  const shapes = flags.shape?.map(parseShape) ?? [...DEFAULT_SHAPES];
  const reference = flags.quick && !Deno.args.includes("--reference") ? "none" : flags.reference;
  const targetL0s = flags.l0?.map((v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) {
      throw new UsageError(`--l0 expects integers >= 1, got "${v}"`);
    }
    return n;
  }) ?? (flags.quick ? [...QUICK_TARGET_L0S] : [...DEFAULT_TARGET_L0S]);
  const steps = flags.steps ?? (flags.quick ? 1 : 3);
  const warmup = flags.warmup ?? 1;
  const configs = benchGrid(archs, { shapes, targetL0s });
  if (configs.length === 0) throw new UsageError("no configuration: every --l0 is >= d_sae");

  const log = (s: string) => console.error(s);
  await selectBackend("wasm");
  if (flags.harvest) return await printHarvest({ quick: flags.quick, json: flags.json });
  const { blas, reason: blasReason } = loadBlas({ threads: flags.threads });
  const wasm = portableGemm(flags.threads).blas;
  if (wasm) await portableGemmStarted(flags.threads);
  if (flags.gemms) return await printGemms(shapes, { blas, threads: flags.threads });
  const ceilings: Record<string, number | null> = {
    system: blas && flags.gemm !== "portable" ? gemmCeiling(blas) : null,
    portable: wasm && flags.gemm !== "system" ? gemmCeiling(wasm) : null,
  };
  const ceiling = Math.max(ceilings.system ?? 0, ceilings.portable ?? 0) || null;
  if (!blas) log(`no system BLAS: ${blasReason}`);
  for (const [label, b] of [["system", blas], ["portable", wasm]] as const) {
    const c = ceilings[label];
    if (c) {
      log(`GEMM ceiling ${label}: ${c.toFixed(1)} GFLOP/s (${b!.name}, ${b!.threads} threads)`);
    }
  }
  const gemms: GemmPreference[] = [];
  if (blas && flags.gemm !== "portable") gemms.push("auto");
  if (wasm && flags.gemm !== "system") gemms.push("portable");
  const fastReason = gemms.length === 0
    ? `no GEMM: ${blasReason}`
    : cpuEngineUnavailable(getArchitecture(configs[0].arch), { gemm: gemms[0] });
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
    const jobs: { engine: "fast" | "reference"; gemm: GemmPreference; kernels: "wasm" | "js" }[] =
      [];
    const kernelSets = flags.kernels === "both"
      ? ["js", "wasm"] as const
      : [flags.kernels as "wasm" | "js"];
    if (!fastReason) {
      for (const gemm of gemms) {
        for (const kernels of kernelSets) jobs.push({ engine: "fast", gemm, kernels });
      }
    }
    const work = config.batch * config.d_model * config.d_sae;
    if (reference === "all" || (reference === "small" && work <= SMALL_REFERENCE_WORK)) {
      jobs.push({ engine: "reference", gemm: "auto", kernels: "wasm" });
    }
    for (const j of jobs) {
      const r = await runBenchJob(new URL(import.meta.url), {
        config,
        ...j,
        threads: flags.threads,
        steps,
        warmup,
      });
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

  encoderRatios(results, { ceiling, ceilings });
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
    gemm_ceilings: ceilings,
    blas: blas?.name ?? null,
    portable_gemm: wasm?.name ?? null,
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
    encoder_ratio:
      "step time / (2 B D F FLOPs at the machine's GEMM ceiling); encoder_ratio_own uses the " +
      "ceiling of the GEMM the row ran on; encoder_ratio_in_step the encoder GEMM timed inside " +
      "each measured step (median of per-step ratios)",
    generated_at: new Date().toISOString(),
  };
  await Deno.writeTextFile(flags.out, JSON.stringify(doc, null, 2) + "\n");
  console.log(formatBenchTable(results, { ratios }));
  for (const [label, c] of Object.entries(ceilings)) {
    if (c) {
      console.log(
        `GEMM ceiling ${label}: ${c.toFixed(1)} GFLOP/s (float32, ${flags.threads} threads)`,
      );
    }
  }
  console.log("step/enc: step time / encoder GEMM time (2 B D F FLOPs at the highest ceiling)");
  console.log(
    "enc, step/enc*: the encoder GEMM's ms inside the measured steps, and step time over it " +
      "(median per step: robust to machine load)",
  );
  const torchRatios = ratios.filter((r) => r.peer === "torch");
  if (torchRatios.length === 0 && flags.torch) {
    console.log(`no PyTorch comparison\nhint: ${TORCH_HINT}`);
  }
  console.log(`results written to ${flags.out}`);
  if (flags.json) console.log(JSON.stringify(doc));
  return 0;
}

/**
 * `--harvest`: harvest throughput per model size (random weights, tfjs wasm), sequences of 256
 * tokens after BOS; `--quick` measures the two smallest models.
 */
async function printHarvest(options: { quick: boolean; json: boolean }): Promise<number> {
  const shapes = options.quick ? HARVEST_SHAPES.slice(0, 2) : HARVEST_SHAPES;
  const rows: HarvestThroughput[] = [];
  for (const shape of shapes) {
    console.error(`harvesting ${shape.name} ...`);
    rows.push(await measureHarvest(shape, { length: 257, repeats: 3 }));
  }
  const table = [
    ["model", "d_model", "layers", "block", "1 site tok/s", "4 sites tok/s", "4 / 1 time"],
    ...rows.map((r) => [
      r.model,
      String(r.d_model),
      String(r.layers),
      String(r.layer),
      r.one_site_tokens_per_s.toFixed(0),
      r.four_sites_tokens_per_s.toFixed(0),
      r.four_over_one.toFixed(2),
    ]),
  ];
  const widths = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
  for (const row of table) console.log(row.map((v, c) => v.padStart(widths[c])).join("  "));
  if (options.json) console.log(JSON.stringify({ harvest: rows }));
  return 0;
}

/** `--gemms`: GFLOP/s of every GEMM candidate at the three dense products of each shape. */
async function printGemms(
  shapes: readonly BenchShape[],
  options: { blas: Blas | null; threads: number },
): Promise<number> {
  const rows = await measureGemmCandidates(shapes.flatMap((s) => stepGemmShapes(s)), {
    cblas: options.blas ? [options.blas] : [],
    threads: options.threads,
  });
  console.log(formatGemmTable(rows));
  return 0;
}

await runMain(main);
