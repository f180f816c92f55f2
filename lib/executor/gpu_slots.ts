// Placement of a sweep's cuda runs on the machine's GPUs: each run reserves its estimated device
// memory (plus a margin and the CUDA context) on one GPU, and starts only while the reservations
// on that GPU fit the free memory the sweep saw before any run started; otherwise it waits for a
// run to end. The GPU with the most room left is chosen, so with several GPUs the first runs go
// one to each. Pure bookkeeping: the free memory is read once (lib/engine/cuda/gpu_inventory.ts),
// not again while runs train (they allocate lazily, so a second reading would not see them).
import { formatBytes } from "../train/memory_estimate.ts";
import type { CudaGpu } from "../engine/cuda/gpu_inventory.ts";
import type { GpuPlacement } from "../store/records.ts";

/** The environment variable carrying a run's GpuPlacement (JSON) to its process. */
export const GPU_PLACEMENT_ENV = "SAESWEEP_GPU_PLACEMENT";

/** A GPU runs may be placed on, as the sweep read it before starting any run. */
export type GpuDevice = CudaGpu;
export type { GpuPlacement };

/** Head room on top of the estimate (percent of it): allocator rounding, cuBLAS, NVRTC. */
export const ESTIMATE_MARGIN_PERCENT = 10;
/**
 * Device memory a run's process takes besides the engine's buffers: its CUDA context, cuBLAS's
 * workspace and the loaded kernels. An assumption (512 MiB), not a measurement: nothing here ran
 * on a GPU.
 */
export const CONTEXT_BYTES = 512 * 2 ** 20;

/** Bytes a run reserves on its GPU for an engine estimate of `estimate` bytes. */
export function reservationBytes(estimate: number): number {
  return Math.ceil(estimate + (estimate * ESTIMATE_MARGIN_PERCENT) / 100) + CONTEXT_BYTES;
}

/** One GPU, for messages: `GPU 0 (NVIDIA H200): 139.5 GiB free of 140 GiB`. */
export function describeGpu(gpu: GpuDevice): string {
  return `GPU ${gpu.index} (${gpu.name}): ${formatBytes(gpu.free)} free of ${
    formatBytes(gpu.total)
  }`;
}

/**
 * Why a run of `estimate` engine bytes can never start on these GPUs (its reservation exceeds
 * every GPU's free memory), naming the run, or null when it fits one of them empty.
 */
export function tooBigForGpus(
  run: { runId: string; estimate: number },
  devices: readonly GpuDevice[],
): string | null {
  const need = reservationBytes(run.estimate);
  if (devices.some((g) => need <= g.free)) return null;
  return `run ${run.runId} needs about ${formatBytes(need)} of GPU memory ` +
    `(the cuda engine's buffers ${formatBytes(run.estimate)}, +${ESTIMATE_MARGIN_PERCENT}%, ` +
    `+${formatBytes(CONTEXT_BYTES)} for the CUDA context); it fits no GPU: ` +
    devices.map(describeGpu).join(", ");
}

/** The reservations on a machine's GPUs. */
export class GpuSlots {
  readonly devices: readonly GpuDevice[];
  readonly #held = new Map<string, { device: number; bytes: number }>();

  constructor(devices: readonly GpuDevice[]) {
    this.devices = devices;
  }

  /** Bytes still unreserved on device `index`. */
  room(index: number): number {
    let used = 0;
    for (const h of this.#held.values()) if (h.device === index) used += h.bytes;
    return this.devices[index].free - used;
  }

  /**
   * Reserves room for `runId` (`estimate` engine bytes) on the GPU with the most room left where
   * it fits, and says where; null when it fits none now (it waits for a release). A reservation
   * larger than every GPU (a run tooBigForGpus() names, trained under --force) is cut to the
   * largest GPU's free memory: it then runs alone there.
   */
  place(runId: string, estimate: number): GpuPlacement | null {
    const largest = Math.max(...this.devices.map((g) => g.free));
    const bytes = Math.min(reservationBytes(estimate), largest);
    let best: GpuDevice | undefined;
    for (const g of this.devices) {
      if (bytes <= this.room(g.index) && (!best || this.room(g.index) > this.room(best.index))) {
        best = g;
      }
    }
    if (!best) return null;
    const sharing = [...this.#held].filter(([, h]) => h.device === best.index).map(([id]) => id);
    this.#held.set(runId, { device: best.index, bytes });
    return {
      device: best.index,
      cuda_visible_devices: best.visibleAs,
      device_name: best.name,
      estimate_bytes: estimate,
      reservation_bytes: bytes,
      device_free_bytes: best.free,
      sharing_with: sharing,
    };
  }

  /** Frees `runId`'s reservation (no-op when it holds none). */
  release(runId: string): void {
    this.#held.delete(runId);
  }
}
