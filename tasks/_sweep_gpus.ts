// The GPUs of a local sweep whose runs train on the cuda engine: which runs do, the machine's CUDA
// devices (read once in this process, which keeps no context), each run's device-memory estimate,
// the refusal of runs too big for every GPU, the placer that gives each run a GPU and a
// reservation when it fits (lib/executor/gpu_slots.ts), and the placement a dry run shows.
// Runs on the cpu, webgpu or reference engine are not placed: their processes start as before.
import type { RunPlan } from "../lib/sweep/plan.ts";
import type { EngineName } from "../lib/engine/names.ts";
import type { RunPlacer } from "../lib/executor/local.ts";
import {
  GPU_PLACEMENT_ENV,
  type GpuDevice,
  type GpuPlacement,
  GpuSlots,
  reservationBytes,
  tooBigForGpus,
} from "../lib/executor/gpu_slots.ts";
import { formatBytes } from "../lib/train/memory_estimate.ts";
import { UsageError } from "../lib/errors.ts";

/** A sweep's GPUs and the estimate of each of its cuda runs. */
export interface SweepGpus {
  devices: GpuDevice[];
  /** Engine bytes per run id, for the runs that train on the cuda engine. */
  estimates: Map<string, number>;
}

/**
 * The runs that will train on the cuda engine: `--engine cuda` or `train.engine: cuda`, and
 * `auto` where auto picks cuda (create_engine.ts AUTO_PICKS_CUDA) for an architecture with its
 * kernels. Loads no CUDA library.
 */
export async function cudaPlans(
  plans: readonly RunPlan[],
  flag: EngineName | undefined,
): Promise<RunPlan[]> {
  const { AUTO_PICKS_CUDA } = await import("../lib/engine/create_engine.ts");
  const { cudaKernelMissing } = await import("../lib/engine/cuda/engine_plan.ts");
  const { getArchitecture } = await import("../lib/sae/registry.ts");
  return plans.filter((p) => {
    const engine = flag ?? p.config.train.engine;
    if (engine === "cuda") return true;
    if (engine !== "auto" || !AUTO_PICKS_CUDA) return false;
    const sae = p.config.sae;
    return cudaKernelMissing(getArchitecture(sae.architecture), sae) === null;
  });
}

/**
 * The machine's CUDA devices, read through the driver API in this process without keeping a
 * context, or why there are none (the driver, cuBLAS or NVRTC missing, no device).
 */
export async function cudaDevices(): Promise<GpuDevice[] | string> {
  const { tryCudaInventory } = await import("../lib/engine/cuda/gpu_inventory.ts");
  return tryCudaInventory();
}

/**
 * The estimate of each of the `cuda` runs on `devices`. `dModel(plan)`: the run's activation
 * width, undefined where the data could not be read (a dry run lists such runs without one).
 */
export async function sweepGpus(
  devices: GpuDevice[],
  cuda: readonly RunPlan[],
  dModel: (plan: RunPlan) => number | undefined,
): Promise<SweepGpus> {
  const { cudaRunBytes } = await import("../lib/engine/cuda/run_bytes.ts");
  const { getArchitecture } = await import("../lib/sae/registry.ts");
  const estimates = new Map<string, number>();
  for (const plan of cuda) {
    const d = dModel(plan);
    if (d === undefined) continue;
    const { sae, train } = plan.config;
    const arch = getArchitecture(sae.architecture);
    estimates.set(plan.runId, cudaRunBytes(arch, sae, { d, batch: train.batch_size }));
  }
  return { devices, estimates };
}

/** The refusal (exit 2) of every run too big for all the GPUs, or undefined when each fits one. */
export function gpuRefusal(gpus: SweepGpus): UsageError | undefined {
  const lines = [...gpus.estimates].map(([runId, estimate]) =>
    tooBigForGpus({ runId, estimate }, gpus.devices)
  ).filter((line): line is string => line !== null);
  if (lines.length === 0) return undefined;
  return new UsageError(
    lines.length === 1
      ? `${lines[0]} (nothing trained)`
      : `${lines.length} runs do not fit any GPU (nothing trained):\n  ${lines.join("\n  ")}`,
    {
      hint: "lower sae.width or train.batch_size for these runs, free GPU memory, or leave them " +
        "out with --filter; --force tries anyway (the run then takes the largest GPU alone)",
    },
  );
}

/**
 * Gives each cuda run a GPU when its reservation fits (CUDA_VISIBLE_DEVICES and the placement in
 * its environment); other runs start with nothing added. `waiting(plan)` says what a run that
 * cannot start waits for.
 */
export function gpuPlacer(gpus: SweepGpus): RunPlacer & { waiting(plan: RunPlan): string } {
  const slots = new GpuSlots(gpus.devices);
  return {
    claim(plan): Record<string, string> | null {
      const estimate = gpus.estimates.get(plan.runId);
      if (estimate === undefined) return {};
      const placed = slots.place(plan.runId, estimate);
      if (!placed) return null;
      return {
        CUDA_VISIBLE_DEVICES: placed.cuda_visible_devices,
        [GPU_PLACEMENT_ENV]: JSON.stringify(placed),
      };
    },
    release(plan) {
      slots.release(plan.runId);
    },
    waiting(plan) {
      const estimate = gpus.estimates.get(plan.runId);
      if (estimate === undefined) return `${plan.runId} waits for a run to end`;
      const rooms = gpus.devices.map((g) => `GPU ${g.index} ${formatBytes(slots.room(g.index))}`);
      return `${plan.runId} waits for GPU memory: it reserves ${
        formatBytes(reservationBytes(estimate))
      }, room left: ${rooms.join(", ")}`;
    },
  };
}

/** The placement of a run as a dry run shows it: `GPU 0, 1.2 GiB`, `waits, 1.2 GiB`, `-`. */
export function previewPlacement(
  gpus: SweepGpus,
  plans: readonly RunPlan[],
  jobs: number,
): Map<string, string> {
  const slots = new GpuSlots(gpus.devices);
  const out = new Map<string, string>();
  let started = 0;
  for (const plan of plans) {
    const estimate = gpus.estimates.get(plan.runId);
    if (estimate === undefined) continue;
    const size = formatBytes(reservationBytes(estimate));
    if (tooBigForGpus({ runId: plan.runId, estimate }, gpus.devices)) {
      out.set(plan.runId, `too big, ${size}`);
      continue;
    }
    const placed: GpuPlacement | null = started < jobs ? slots.place(plan.runId, estimate) : null;
    if (placed) started++;
    out.set(plan.runId, placed ? `GPU ${placed.device}, ${size}` : `waits, ${size}`);
  }
  return out;
}

/** The GPUs, for the line a sweep prints: `GPU 0 (NVIDIA H200, CUDA_VISIBLE_DEVICES=0): ...`. */
export function describeGpus(gpus: SweepGpus): string {
  return gpus.devices.map((g) =>
    `GPU ${g.index} (${g.name}, CUDA_VISIBLE_DEVICES=${g.visibleAs}): ` +
    `${formatBytes(g.free)} free of ${formatBytes(g.total)}`
  ).join("; ");
}
