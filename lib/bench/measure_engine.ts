// Measures training throughput of one engine on one benchmark configuration: builds the SAE
// (L0-calibrated init), trains warmup + measured steps on two alternating Gaussian batches, and
// reports median step time, phase split where the engine exposes it, and the L0 it trained at.
// Shapes: B batch, D d_model, F latents.
import { Rng } from "../data/rng.ts";
import { getArchitecture } from "../sae/registry.ts";
import { saeSchema } from "../spec/schema.ts";
import type { Blas } from "../engine/cpu/blas.ts";
import { FastEngine } from "../engine/cpu/fast_engine.ts";
import { createEngine } from "../engine/create_engine.ts";
import type { GemmPreference } from "../engine/cpu/gemm/select_gemm.ts";
import type { BenchConfig } from "./bench_config.ts";
import { denseStepFlops } from "./bench_config.ts";
import { calibrateL0 } from "../train/calibrate_l0.ts";

export interface BenchResult extends BenchConfig {
  /** Engine.backend (`cpu-openblas`, `wasm`, ...) or `torch`. */
  backend: string;
  /** fast: the default CPU path; reference: tfjs autodiff; torch: bench/reference_torch.py. */
  engine: "fast" | "reference" | "torch";
  tokens_per_s: number;
  ms_per_step: number;
  ms_forward: number | null;
  ms_backward: number | null;
  ms_update: number | null;
  /** The encoder GEMM inside the step (median), where the engine measures it. */
  ms_encoder?: number | null;
  /** Mean active latents per token over the measured steps. */
  l0: number;
  steps: number;
  /** Dense-equivalent GFLOP/s (12 B D F per step / step time). */
  gflops_effective: number;
  /** gflops_effective / the machine's measured GEMM ceiling. */
  ceiling_fraction: number | null;
  /**
   * Step time / the encoder GEMM's time (2 B D F FLOPs) at the machine's GEMM ceiling: how far
   * the step is from its one unavoidable dense product (issue 15, item 3).
   */
  encoder_ratio?: number | null;
  /** The same against the ceiling of the GEMM this engine ran on (its own overhead). */
  encoder_ratio_own?: number | null;
  /**
   * Step time / the encoder GEMM's time measured inside the same steps: the same question asked
   * of one process at one moment, so a loaded machine moves both alike.
   */
  encoder_ratio_in_step?: number | null;
  /** Peak resident memory of the process that ran this configuration, MB. */
  peak_rss_mb: number | null;
}

/** Training hyperparameters of every benchmark step (the spec defaults). */
export const BENCH_HYPER = { lr: 7e-5, lambda: 1e-3 } as const;

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Gaussian batches x / sqrt(D) (so E||x||^2 = 1, the trainer's normalisation). */
export function benchBatches(config: BenchConfig, count: number): Float32Array[] {
  const rng = new Rng(1234, config.d_model);
  return Array.from({ length: count }, () => {
    const x = new Float32Array(config.batch * config.d_model);
    rng.fillNormal(x, 1 / Math.sqrt(config.d_model));
    return x;
  });
}

/**
 * Trains `warmup + steps` steps of the fast engine or the tfjs reference engine (on the active
 * tfjs backend) and returns the median step. `calibration` is the GEMM used to calibrate L0.
 */
export async function measureEngine(
  config: BenchConfig,
  options: {
    engine: "fast" | "reference";
    steps: number;
    warmup: number;
    calibration: Blas;
    /** The fast engine's GEMM: `portable` runs it without the system CBLAS. */
    gemm?: GemmPreference;
    threads?: number;
    /** The fast engine's kernels: `js` labels the row `<backend>+js`. */
    kernels?: "wasm" | "js";
  },
): Promise<BenchResult> {
  const arch = getArchitecture(config.arch);
  const sae = saeSchema().parse({
    architecture: config.arch,
    width: config.d_sae,
    target_l0: config.l0_target,
  });
  const init = arch.init({ d: config.d_model, f: config.d_sae }, { sae, rng: new Rng(0, 0x5ae) });
  const batches = benchBatches(config, 2);
  calibrateL0(arch, init, {
    x: batches[0],
    b: config.batch,
    targetL0: config.l0_target,
    blas: options.calibration,
  });
  const engine = await createEngine(arch, init, {
    sae,
    adamEps: 1e-8,
    gradClip: null,
    engine: options.engine === "reference" ? "reference" : "cpu",
    gemm: options.gemm,
    threads: options.threads,
    kernels: options.kernels,
  });
  const fast = engine instanceof FastEngine ? engine : null;
  if (options.engine === "fast" && !fast) {
    engine.dispose();
    throw new Error(`the default CPU path for ${config.arch} is not the fast engine`);
  }
  const total: number[] = [];
  const phases: { forward: number[]; backward: number[]; update: number[]; encoder: number[] } = {
    forward: [],
    backward: [],
    update: [],
    encoder: [],
  };
  try {
    for (let i = 0; i < options.warmup + options.steps; i++) {
      if (i === options.warmup) await engine.readStats();
      const t0 = performance.now();
      engine.step(batches[i % 2], BENCH_HYPER);
      const ms = performance.now() - t0;
      if (i < options.warmup) continue;
      total.push(ms);
      if (fast) {
        phases.forward.push(fast.lastTimings.forward);
        phases.backward.push(fast.lastTimings.backward);
        phases.update.push(fast.lastTimings.update);
        if (fast.lastTimings.encoder !== null) phases.encoder.push(fast.lastTimings.encoder);
      }
    }
    const stats = await engine.readStats();
    const ms = median(total);
    return {
      ...config,
      backend: fast && options.kernels === "js" ? `${engine.backend}+js` : engine.backend,
      engine: options.engine,
      tokens_per_s: config.batch / (ms / 1000),
      ms_per_step: ms,
      ms_forward: fast ? median(phases.forward) : null,
      ms_backward: fast ? median(phases.backward) : null,
      ms_update: fast ? median(phases.update) : null,
      ms_encoder: phases.encoder.length ? median(phases.encoder) : null,
      encoder_ratio_in_step: phases.encoder.length
        ? median(total.map((t, i) => t / phases.encoder[i]))
        : null,
      l0: stats.l0,
      steps: options.steps,
      gflops_effective: denseStepFlops(config) / (ms / 1000) / 1e9,
      ceiling_fraction: null,
      peak_rss_mb: null,
    };
  } finally {
    engine.dispose();
  }
}
