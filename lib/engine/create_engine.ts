// The engine registry and choice: which engines exist (cuda, cpu, webgpu, reference), whether one
// can train an architecture here, and `auto`, which picks cuda where it loads and a GPU is present
// (once verified on one: AUTO_PICKS_CUDA),
// else the fastest of the others for the run's shape.
// The trainer, the bench and the tests create engines only through this file.
// Shapes: B batch, D d_model, F latents.
import type { InitResult } from "./types.ts";
import type { EngineArchitecture } from "./architecture.ts";
import type { Engine } from "./engine.ts";
import type { EngineName } from "./names.ts";
import type { EngineChoice } from "./engine_choice.ts";

export type { EngineChoice } from "./engine_choice.ts";
import { TfjsEngine, type TfjsEngineOptions } from "./reference/tfjs_engine.ts";
import { FastEngine } from "./cpu/fast_engine.ts";
import {
  denseAboveFor,
  type GemmInfo,
  type GemmPreference,
  selectGemm,
  sparseKernels,
} from "./cpu/gemm/select_gemm.ts";
import { BackendUnavailableError } from "../errors.ts";
import { createWebGpuEngine, webgpuUnavailable } from "./webgpu/create_webgpu_engine.ts";
import { raceEngines } from "./race.ts";
import { createCudaEngine, cudaUnavailable } from "./cuda/create_cuda_engine.ts";
import type { Precision } from "./names.ts";

export interface CreateEngineOptions extends TfjsEngineOptions {
  /** The engine to use (`train.engine`); default `auto`. */
  engine?: EngineName;
  /**
   * `portable` skips the system CBLAS and runs the CPU engine on the WebAssembly GEMM (what a
   * machine without OpenBLAS does); default `auto`, or `SAESWEEP_GEMM` from the environment.
   */
  gemm?: GemmPreference;
  /** GEMM threads (default: `SAESWEEP_THREADS`, else every core). */
  threads?: number;
  /**
   * Sparse products, selection and optimiser passes on the WebAssembly SIMD kernels (`wasm`, the
   * default) or the TypeScript loops (`js`, what the CPU engine ran before them; benchmarks).
   */
  kernels?: "wasm" | "js";
  /** The run's batch size B: `auto` times the candidate engines on a [B, D] batch. */
  batch?: number;
  /**
   * `train.precision`: dense products of the cuda engine in fp32 (default), or tf32 / bf16 on
   * tensor cores. Another engine named with tf32/bf16 is refused; `auto` landing elsewhere trains
   * in fp32 and says so in its notes.
   */
  precision?: Precision;
  /**
   * The GPU engines' sparse products for k-sparse codes (lib/engine/sparse_plan.ts): true always,
   * false never, unset by the engine's rule (tests and benchmarks force them).
   */
  sparse?: boolean;
}

const CHOICES = new WeakMap<Engine, EngineChoice>();

/** Why the CPU engine cannot train `arch` here, or null when it can. */
export function cpuEngineUnavailable(
  arch: EngineArchitecture,
  options: { gemm?: GemmPreference; threads?: number } = {},
): string | null {
  if (!arch.kernels?.cpu) return `architecture ${arch.name} has no cpu kernel`;
  const { reason } = selectGemm({ prefer: options.gemm, threads: options.threads });
  return reason ?? null;
}

/** The CPU engine on the GEMM selectGemm picks, and that GEMM for run.json. */
function createCpuEngine(
  arch: EngineArchitecture,
  init: InitResult,
  options: CreateEngineOptions,
): { engine: FastEngine; gemm: GemmInfo } {
  const { blas, info } = selectGemm({ prefer: options.gemm, threads: options.threads });
  const wasm = sparseKernels(info!.threads, { kernels: options.kernels });
  const engine = new FastEngine(arch, init, {
    ...options,
    kernel: arch.kernels?.cpu!,
    blas: blas!,
    backend: `cpu-${info!.kind}`,
    denseAbove: denseAboveFor(info!, { sparseKernels: wasm !== undefined }),
    wasm,
  });
  return { engine, gemm: { ...info!, kernels: wasm ? "wasm-simd" : "js" } };
}

function unavailable(name: string, reason: string): never {
  throw new BackendUnavailableError(`engine ${name} unavailable: ${reason}`, {
    hint: name === "webgpu"
      ? "install a GPU driver with Vulkan support (Linux software Vulkan: mesa-vulkan-drivers " +
        "libvulkan1), or use train.engine cpu (docs/GPU.md)"
      : name === "cuda"
      ? "the cuda engine needs an NVIDIA GPU, its driver (libcuda.so.1), cuBLAS and NVRTC " +
        "(docs/GPU.md); train.engine auto uses it where it loads and falls back otherwise"
      : "use train.engine auto, which falls back to the reference engine",
  });
}

/**
 * Whether `auto` takes the cuda engine where it loads. False until the GPU bundle's cuda stage
 * (`run.sh --stages cuda`: parity against the cpu engine, resume) has passed on a real GPU: the
 * engine has so far run only on this project's CPU emulation of CUDA, and `auto` must never pick
 * an engine whose numbers are unverified.
 */
export const AUTO_PICKS_CUDA = false;

/**
 * The engine `options.engine` names for `arch`, initialised from `init`. `auto`: the cuda engine
 * where the CUDA libraries load and a GPU is present, once verified (AUTO_PICKS_CUDA; run.json's
 * notes say what it looked for, or why not); else the webgpu engine
 * on a hardware adapter when, timed on a [B, D] batch, it steps faster than the CPU engine; else
 * the CPU engine; else the reference engine (an architecture without kernels).
 */
export async function createEngine(
  arch: EngineArchitecture,
  init: InitResult,
  options: CreateEngineOptions,
): Promise<Engine> {
  const requested = options.engine ?? "auto";
  const precision = options.precision ?? "fp32";
  const record = (engine: Engine, choice: Omit<EngineChoice, "requested" | "backend">) => {
    const used = choice.used === "cuda" ? precision : "fp32";
    const notes = used === precision
      ? choice.notes
      : [...choice.notes, `precision ${precision} needs the cuda engine; this run trains in fp32`];
    CHOICES.set(engine, { ...choice, notes, precision: used, requested, backend: engine.backend });
    return engine;
  };
  if (precision !== "fp32" && requested !== "auto" && requested !== "cuda") {
    throw new BackendUnavailableError(
      `train.precision ${precision} needs the cuda engine, not ${requested}`,
      { hint: "use train.engine cuda (or auto), or train.precision fp32" },
    );
  }
  const onCpu = (notes: string[]) => {
    const { engine, gemm } = createCpuEngine(arch, init, options);
    return record(engine, { used: "cpu", gemm, notes });
  };
  const onWebGpu = async (notes: string[]) => {
    const engine = await createWebGpuEngine(arch, init, options);
    return record(engine, { used: "webgpu", adapter: engine.adapter, notes });
  };
  const onCuda = (notes: string[]) => {
    const engine = createCudaEngine(arch, init, options);
    return record(engine, { used: "cuda", device: engine.device, notes });
  };
  if (requested === "reference") {
    return record(new TfjsEngine(arch, init, options), { used: "reference", notes: [] });
  }
  if (requested === "cpu") {
    const why = cpuEngineUnavailable(arch, options);
    if (why) unavailable("cpu", why);
    return onCpu([]);
  }
  if (requested === "webgpu") {
    const why = await webgpuUnavailable(arch, { allowSoftware: true, sae: options.sae });
    if (why) unavailable("webgpu", why);
    return await onWebGpu([]);
  }
  if (requested === "cuda") {
    const why = cudaUnavailable(arch, { sae: options.sae });
    if (why) unavailable("cuda", why);
    return onCuda([]);
  }
  // auto: cuda where it loads and a GPU is present (once verified on one); else webgpu or cpu,
  // timed.
  const notes: string[] = [];
  const cudaWhy = cudaUnavailable(arch, { sae: options.sae });
  if (!cudaWhy && options.batch && AUTO_PICKS_CUDA) return onCuda(notes);
  notes.push(
    `cuda: ${
      cudaWhy ??
        (AUTO_PICKS_CUDA
          ? "not tried (no batch size given)"
          : "loads here, but auto does not pick it before its parity has run on a GPU " +
            "(docs/GPU.md); train.engine cuda uses it")
    }`,
  );
  const cpuWhy = cpuEngineUnavailable(arch, options);
  const gpuWhy = await webgpuUnavailable(arch, { allowSoftware: false, sae: options.sae });
  if (gpuWhy) notes.push(`webgpu: ${gpuWhy}`);
  if (cpuWhy) notes.push(`cpu: ${cpuWhy}`);
  if (!gpuWhy && !cpuWhy && options.batch) {
    const d = init.params[arch.decoderParam].shape[1];
    const race = await raceEngines({
      webgpu: () => createWebGpuEngine(arch, init, options),
      cpu: () => Promise.resolve(createCpuEngine(arch, init, options).engine),
    }, { batch: options.batch, d, hyper: { lr: 1e-6, lambda: 0 } });
    notes.push(`timed ms/step on [${options.batch}, ${d}]: ${race.describe}`);
    if (race.winner === "webgpu") return await onWebGpu(notes);
  } else if (!gpuWhy && !cpuWhy) {
    notes.push("webgpu: not timed (no batch size given); cpu chosen");
  }
  if (!gpuWhy && cpuWhy) return await onWebGpu(notes);
  if (!cpuWhy) return onCpu(notes);
  return record(new TfjsEngine(arch, init, options), { used: "reference", notes });
}

/** How an engine made by createEngine was chosen (null for one made otherwise). */
export function engineChoice(engine: Engine): EngineChoice | null {
  return CHOICES.get(engine) ?? null;
}

/** The GEMM under a CPU engine (provider, threads, why a faster one was skipped), else null. */
export function engineGemm(engine: Engine): GemmInfo | null {
  return CHOICES.get(engine)?.gemm ?? null;
}
