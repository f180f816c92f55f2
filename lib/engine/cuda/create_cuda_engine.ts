// Whether the cuda engine can train an architecture here (its step description, the driver, a
// device, cuBLAS and NVRTC), and its creation. Loaded by lib/engine/create_engine.ts.
import type { InitResult, SaeConfig } from "../types.ts";
import type { EngineArchitecture } from "../architecture.ts";
import { SaeSweepError } from "../../errors.ts";
import { cudaKernelMissing } from "./engine_plan.ts";
import { openCudaDevice } from "./device.ts";
import { CudaEngine } from "./cuda_engine.ts";
import type { Precision } from "../names.ts";

export interface CudaCreateOptions {
  sae: SaeConfig;
  adamEps: number;
  gradClip: number | null;
  /** The run's batch size: the engine's buffers are sized for it. */
  batch?: number;
  precision?: Precision;
  /** Sparse products for k-sparse codes: true always, false never, unset by the engine's rule. */
  sparse?: boolean;
}

/**
 * Why the cuda engine cannot train `arch` with `sae` here, or null when it can: the architecture's
 * kernels, then the libraries and a device (opening the device once per process).
 */
export function cudaUnavailable(
  arch: EngineArchitecture,
  options: { sae?: SaeConfig } = {},
): string | null {
  const why = cudaKernelMissing(arch, options.sae);
  if (why) return why;
  try {
    openCudaDevice();
  } catch (err) {
    if (err instanceof SaeSweepError) return err.message;
    throw err;
  }
  return null;
}

export function createCudaEngine(
  arch: EngineArchitecture,
  init: InitResult,
  options: CudaCreateOptions,
): CudaEngine {
  if (!options.batch) throw new Error("the cuda engine needs the run's batch size");
  return new CudaEngine(openCudaDevice(), arch, init, { ...options, batch: options.batch });
}
